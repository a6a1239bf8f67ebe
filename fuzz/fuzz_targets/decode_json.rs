//! Well-formed JSON of any shape, with the field names vendors use, through every
//! decoder: reaches the field-level checks that random bytes rarely get past.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use vigil_ingest::Format;

/// Field names the decoders read, so generated objects hit real code paths.
const KEYS: &[&str] = &[
    "kind", "time", "identity", "identity_type", "action", "outcome", "session_id",
    "device_id", "ip", "geo", "lat", "lon", "country", "city", "accuracy_km", "asn",
    "user_agent", "app", "factor", "resource", "bytes", "status", "tool", "on_behalf_of",
    "compliant", "checks", "edr_running", "disk_encrypted", "os_patch_age_days", "jailbroken",
    "firewall", "class_uid", "activity_id", "status_id", "user", "src_endpoint", "metadata",
    "published", "eventType", "actor", "client", "outcome", "result", "ipAddress", "geographicalContext",
    "geolocation", "alternateId", "displayMessage", "createdDateTime", "userPrincipalName",
    "status", "errorCode", "location", "deviceDetail", "properties", "records", "Records",
    "value", "eventTime", "eventName", "eventSource", "userIdentity", "sourceIPAddress",
    "responseElements", "ConsoleLogin", "additionalEventData", "date", "type", "user_id",
    "user_name", "details", "id", "actor", "events", "name", "parameters", "ipAddress",
];

#[derive(Arbitrary, Debug)]
enum Shape {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Time(u32, u8),
    Address([u8; 4]),
    List(Vec<Shape>),
    Object(Vec<(u8, Shape)>),
}

fn build(shape: &Shape, depth: u32) -> Value {
    match shape {
        Shape::Null => Value::Null,
        Shape::Bool(value) => Value::Bool(*value),
        Shape::Int(value) => Value::from(*value),
        Shape::Float(value) => serde_json::Number::from_f64(*value).map_or(Value::Null, Value::Number),
        Shape::Text(text) => Value::String(text.clone()),
        Shape::Time(seconds, style) => {
            let seconds = 1_500_000_000u64 + u64::from(*seconds);
            let (days, rest) = (seconds / 86_400, seconds % 86_400);
            let text = format!(
                "2017-07-{:02}T{:02}:{:02}:{:02}{}",
                1 + days % 28,
                rest / 3600,
                rest / 60 % 60,
                rest % 60,
                ["Z", ".123Z", "+02:00", ".0000000Z", ""][usize::from(*style) % 5]
            );
            Value::String(text)
        }
        Shape::Address(octets) => Value::String(std::net::Ipv4Addr::from(*octets).to_string()),
        Shape::List(items) if depth < 8 => {
            Value::Array(items.iter().map(|item| build(item, depth + 1)).collect())
        }
        Shape::Object(fields) if depth < 8 => {
            let mut object = Map::new();
            for (key, value) in fields {
                object.insert(KEYS[usize::from(*key) % KEYS.len()].to_string(), build(value, depth + 1));
            }
            Value::Object(object)
        }
        _ => Value::Null,
    }
}

fuzz_target!(|shape: Shape| {
    let record = serde_json::to_vec(&build(&shape, 0)).unwrap_or_default();
    for format in std::iter::once(Format::Auto).chain(Format::CONCRETE) {
        let _ = vigil_ingest::decode(format, &record);
    }
});
