//! Arrow schemas of the archive's tables, as written to Parquet under
//! `<archive>/<table>/date=YYYY-MM-DD/` (the `date` partition column is in the path, not
//! in the files). Times are microseconds since the epoch, UTC.

use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use std::sync::Arc;

/// The tables, by folder name.
pub const TABLES: [&str; 4] = ["events", "signals", "decisions", "sessions"];

fn time(name: &str) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        false,
    )
}

fn text(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

/// `events`: every judged event, normalized, with its origin.
pub fn events() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        time("time"),
        text("identity", false),
        text("identity_type", false),
        text("kind", false),
        text("action", true),
        text("outcome", true),
        text("session_id", true),
        text("device_id", true),
        text("ip", true),
        text("country", true),
        text("city", true),
        Field::new("lat", DataType::Float64, true),
        Field::new("lon", DataType::Float64, true),
        Field::new("asn", DataType::UInt32, true),
        text("user_agent", true),
        text("app", true),
        text("resource", true),
        Field::new("bytes", DataType::UInt64, true),
        Field::new("status", DataType::UInt16, true),
        text("tool", true),
        text("on_behalf_of", true),
        Field::new("compliant", DataType::Boolean, true),
        text("origin", false),
    ]))
}

/// `signals`: every detector hit, with score, confidence, evidence (JSON text) and the
/// session's risk after the event that raised it.
pub fn signals() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        time("time"),
        text("identity", false),
        text("session_id", true),
        text("detector", false),
        Field::new("score", DataType::Float64, false),
        Field::new("confidence", DataType::Float64, false),
        text("detail", false),
        text("evidence", true),
        Field::new("session_risk", DataType::Float64, true),
        text("origin", false),
    ]))
}

/// The struct of one reason of a decision.
pub fn reason_fields() -> Fields {
    Fields::from(vec![
        text("detector", false),
        Field::new("score", DataType::Float64, false),
        text("detail", false),
    ])
}

/// `decisions`: the decision contract of DESIGN.md, reasons as a list of structs.
pub fn decisions() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        text("id", false),
        time("time"),
        time("decided_at"),
        text("identity", false),
        text("session_id", true),
        text("device_id", true),
        text("action", false),
        text("mode", false),
        Field::new("risk_score", DataType::Float64, false),
        text("risk_level", false),
        Field::new(
            "reasons",
            DataType::List(Arc::new(Field::new(
                "item",
                DataType::Struct(reason_fields()),
                true,
            ))),
            false,
        ),
        text("rule", false),
        text("assurance_level", true),
        text("trigger", false),
    ]))
}

fn texts(name: &str) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        false,
    )
}

/// What a `sessions` row records (its `change` column).
pub const SESSION_CHANGES: [&str; 8] = [
    "established",
    "new_address",
    "risk",
    "action",
    "revoked",
    "ended",
    "expired",
    "seen",
];

/// `sessions`: one row per change of a session's state, each a snapshot of the whole
/// session after the change (`version` counts a session's rows, from 1). `change` is one
/// of [`SESSION_CHANGES`]: established (first event), new_address (an address or
/// country not seen in the session before), risk (peak risk entered a higher level),
/// action (an enforced decision), revoked (an enforced revocation), ended (sign-out),
/// expired (idle past the session timeout), seen (newer events, written when the archive
/// is flushed, so the latest row's `last_seen` is current).
pub fn sessions() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        time("time"),
        text("identity", false),
        text("identity_type", false),
        text("session_id", false),
        Field::new("version", DataType::UInt32, false),
        text("change", false),
        text("device_id", true),
        time("established_at"),
        time("last_seen"),
        Field::new(
            "ended_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new(
            "revoked_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("events", DataType::UInt64, false),
        texts("ips"),
        texts("countries"),
        Field::new("peak_risk", DataType::Float64, false),
        texts("actions"),
    ]))
}

/// A table's schema by name.
pub fn schema(table: &str) -> Option<Arc<Schema>> {
    match table {
        "events" => Some(events()),
        "signals" => Some(signals()),
        "decisions" => Some(decisions()),
        "sessions" => Some(sessions()),
        _ => None,
    }
}
