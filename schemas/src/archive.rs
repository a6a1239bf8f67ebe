//! Arrow schemas of the archive's tables, as written to Parquet under
//! `<archive>/<table>/date=YYYY-MM-DD/` (the `date` partition column is in the path, not
//! in the files). Times are microseconds since the epoch, UTC.

use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use std::sync::Arc;

/// The tables, by folder name.
pub const TABLES: [&str; 3] = ["events", "signals", "decisions"];

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

/// `signals`: every detector hit, with score, confidence and evidence (JSON text).
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

/// A table's schema by name.
pub fn schema(table: &str) -> Option<Arc<Schema>> {
    match table {
        "events" => Some(events()),
        "signals" => Some(signals()),
        "decisions" => Some(decisions()),
        _ => None,
    }
}
