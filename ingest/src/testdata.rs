//! Reading the shared golden samples (`../shared/data` beside the repository) and
//! generating vendor-shaped records, in tests.

use proptest::prelude::*;
use std::path::PathBuf;

/// The path of a file under `shared/data`, or `None` when the folder is absent outside
/// CI. In CI (`CI` set) a missing file fails the test instead of skipping it.
pub(crate) fn shared(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(relative);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "golden sample {} missing in CI",
        path.display()
    );
    eprintln!("skipping: {} not present", path.display());
    None
}

/// Every non-empty line of a shared sample file.
pub(crate) fn lines(relative: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(shared(relative)?).expect("sample readable");
    Some(
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// Decodes a record that must give an event.
pub(crate) fn event(format: crate::Format, record: &str) -> vigil_schemas::Event {
    match crate::decode(format, record.as_bytes()) {
        Ok(crate::Decoded::Event(event)) => *event,
        other => panic!("expected an event from {record}, got {other:?}"),
    }
}

/// The auth fields of an event that must be an auth event.
pub(crate) fn auth(event: &vigil_schemas::Event) -> &vigil_schemas::AuthDetail {
    event.auth().expect("an auth event")
}

/// The reason of a record of `format` that must be skipped.
pub(crate) fn skipped(format: crate::Format, record: &str) -> &'static str {
    match crate::decode(format, record.as_bytes()) {
        Ok(crate::Decoded::Skipped(reason)) => reason,
        other => panic!("expected a skip from {record}, got {other:?}"),
    }
}

/// The `log` of every line of a Panther rule-test file (`{rule_id, test_name, log}` per
/// line) as JSON text, with the test's name as `rule_id / test_name`.
pub(crate) fn panther_logs(relative: &str) -> Option<Vec<(String, String)>> {
    let logs = lines(relative)?
        .iter()
        .map(|line| {
            let labeled: serde_json::Value =
                serde_json::from_str(line).expect("panther line is JSON");
            let name = format!(
                "{} / {}",
                labeled["rule_id"].as_str().unwrap_or_default(),
                labeled["test_name"].as_str().unwrap_or_default()
            );
            (name, labeled["log"].to_string())
        })
        .collect();
    Some(logs)
}

/// A whole sample file (the pretty-printed examples hold one record a file).
pub(crate) fn whole(relative: &str) -> Option<String> {
    Some(std::fs::read_to_string(shared(relative)?).expect("sample readable"))
}

/// Field names of the vendor records (Okta and OCSF above all, and the wrappers and fields
/// format detection reads), for generated records that reach deep.
pub(crate) const FIELD_NAMES: &[&str] = &[
    "eventType",
    "eventtype",
    "published",
    "p_event_time",
    "uuid",
    "actor",
    "id",
    "type",
    "alternateId",
    "client",
    "ipAddress",
    "userAgent",
    "rawUserAgent",
    "geographicalContext",
    "city",
    "country",
    "geolocation",
    "lat",
    "lon",
    "device",
    "authenticationContext",
    "externalSessionId",
    "credentialType",
    "debugContext",
    "debugData",
    "factor",
    "deviceFingerprint",
    "outcome",
    "result",
    "reason",
    "securityContext",
    "asNumber",
    "request",
    "ipChain",
    "ip",
    "target",
    "displayName",
    "class_uid",
    "activity_id",
    "status_id",
    "status",
    "status_detail",
    "status_code",
    "time",
    "time_dt",
    "user",
    "email_addr",
    "name",
    "uid",
    "uid_alt",
    "domain",
    "type_id",
    "session",
    "hostname",
    "src_endpoint",
    "location",
    "long",
    "coordinates",
    "autonomous_system",
    "number",
    "http_request",
    "user_agent",
    "service",
    "metadata",
    "is_mfa",
    "mfa",
    "auth_factors",
    "factor_type",
    "factor_type_id",
    "logon_type_id",
    "p_log_type",
    "eventName",
    "eventSource",
    "eventTime",
    "userIdentity",
    "Operation",
    "Workload",
    "records",
    "Records",
    "value",
    "detail-type",
    "detail",
    "kind",
];

/// Values that steer generated records down the decoders' interesting paths.
pub(crate) const TELLING_STRINGS: &[&str] = &[
    "user.session.start",
    "user.session.end",
    "user.authentication.auth_via_mfa",
    "user.authentication.verify",
    "user.mfa.okta_verify.deny_push",
    "system.push.send_factor_verify_push",
    "user.authentication.auth_via_IDP",
    "policy.evaluate_sign_on",
    "2024-05-01T10:00:00Z",
    "2022-03-22 14:21:53.225",
    "9999-12-31T23:59:59.999999999Z",
    "SUCCESS",
    "FAILURE",
    "DENY",
    "CHALLENGE",
    "Success",
    "Failure",
    "User",
    "SystemPrincipal",
    "AppInstance",
    "OKTA_VERIFY_PUSH",
    "PASSWORD",
    "United States",
    "US",
    "1.2.3.4",
    "::1",
    "[::1]:443",
    "null",
    "unknown",
    "-",
    "",
    "alice@example.com",
    "timeout",
    "3002",
    "1699633474000",
    "Okta.SystemLog",
    "AWS.CloudTrail",
    "auth",
];

/// Generated JSON records whose keys are real field names, nested up to four deep.
pub(crate) fn shaped_records() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        prop::sample::select(vec![
            0_i64,
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            11,
            99,
            3002,
            1_723_564_700,
            1_699_633_474_000,
            -1,
            i64::MAX
        ])
        .prop_map(serde_json::Value::from),
        prop::sample::select(TELLING_STRINGS).prop_map(serde_json::Value::from),
        "\\PC{0,16}".prop_map(serde_json::Value::from),
    ];
    let value = leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop::sample::select(FIELD_NAMES).prop_map(str::to_string),
                inner,
                0..8
            )
            .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    });
    prop::collection::btree_map(
        prop::sample::select(FIELD_NAMES).prop_map(str::to_string),
        value,
        0..16,
    )
    .prop_map(|map| serde_json::Value::Object(map.into_iter().collect()).to_string())
}
