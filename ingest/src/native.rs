//! Decoder for vigil's native v1 contract: one flat JSON object per record.
//!
//! This is the hot path of replay and of the Kafka source, so the record is read in one
//! pass into borrowed fields and only the strings the event keeps are allocated.

use crate::decode::{parse_ip, DecodeError, Decoded, Format};
use serde::Deserialize;
use vigil_schemas::{
    AccessDetail, AuthAction, AuthDetail, CompactString, Detail, Event, Geo, IdentityType, Outcome,
    PostureChecks, PostureDetail, Timestamp,
};

/// Identities, sessions and devices longer than this are rejected: real ones are short,
/// and a megabyte identity would poison every map it is a key of (the schema's bound).
pub const MAX_ID_BYTES: usize = vigil_schemas::MAX_NAME_BYTES;

mod scan;

#[derive(Deserialize, Default)]
struct NativeRecord<'a> {
    #[serde(borrow)]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    time: Option<Text<'a>>,
    #[serde(borrow)]
    identity: Option<Text<'a>>,
    identity_type: Option<IdentityType>,
    #[serde(borrow)]
    session_id: Option<Text<'a>>,
    #[serde(borrow)]
    device_id: Option<Text<'a>>,
    #[serde(borrow)]
    ip: Option<Text<'a>>,
    geo: Option<Geo>,
    asn: Option<u32>,
    #[serde(borrow)]
    user_agent: Option<Text<'a>>,
    #[serde(borrow)]
    app: Option<Text<'a>>,
    #[serde(borrow)]
    event_id: Option<Text<'a>>,
    // auth
    #[serde(borrow)]
    action: Option<Text<'a>>,
    outcome: Option<Outcome>,
    #[serde(borrow)]
    factor: Option<Text<'a>>,
    #[serde(borrow)]
    reason: Option<Text<'a>>,
    // posture
    compliant: Option<bool>,
    checks: Option<PostureChecks>,
    // access
    #[serde(borrow)]
    resource: Option<Text<'a>>,
    bytes: Option<u64>,
    status: Option<u16>,
    #[serde(borrow)]
    tool: Option<Text<'a>>,
    #[serde(borrow)]
    on_behalf_of: Option<Text<'a>>,
}

const FORMAT: Format = Format::Native;

/// A string field read without allocating when it has no escapes (`Option<Cow<str>>`
/// fields do not borrow with serde's derive; this does). One with escapes is unescaped
/// into a [`CompactString`], inline when short, so the short fields never go through an
/// intermediate `String`.
enum Text<'a> {
    /// Borrowed from the record.
    Borrowed(&'a str),
    /// Unescaped by the JSON reader.
    Unescaped(CompactString),
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                text: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(Text::Borrowed(text))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text::Unescaped(CompactString::from(text)))
            }
            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Self::Value, E> {
                Ok(Text::Unescaped(CompactString::from(text)))
            }
        }
        deserializer.deserialize_str(Visitor(std::marker::PhantomData))
    }
}

impl<'a> Text<'a> {
    /// The text as a `String`, for the long fields (user agent, reason, resource).
    fn into_owned(self) -> String {
        match self {
            Text::Borrowed(text) => text.to_string(),
            Text::Unescaped(text) => text.into_string(),
        }
    }

    /// The text as a `CompactString`, for the short fields: built straight from the
    /// borrowed text, so one that fits inline allocates nothing.
    fn into_compact(self) -> CompactString {
        match self {
            Text::Borrowed(text) => CompactString::from(text),
            Text::Unescaped(text) => text,
        }
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Text::Borrowed(text) => text,
            Text::Unescaped(text) => text,
        }
    }
}

fn required<'a>(value: &'a Option<Text<'_>>, field: &str) -> Result<&'a str, DecodeError> {
    match value.as_deref() {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(DecodeError::missing(FORMAT, field)),
    }
}

fn bounded_id(value: Option<Text<'_>>, field: &str) -> Result<Option<CompactString>, DecodeError> {
    match value {
        None => Ok(None),
        Some(text) if text.is_empty() => Ok(None),
        Some(text) if text.len() > MAX_ID_BYTES => Err(DecodeError::invalid(
            FORMAT,
            field,
            format!(
                "{} bytes, more than the limit of {MAX_ID_BYTES}",
                text.len()
            ),
        )),
        Some(text) => Ok(Some(text.into_compact())),
    }
}

fn auth_action(text: &str) -> Result<AuthAction, DecodeError> {
    match text {
        "login" => Ok(AuthAction::Login),
        "mfa" => Ok(AuthAction::Mfa),
        "logout" => Ok(AuthAction::Logout),
        "token_refresh" => Ok(AuthAction::TokenRefresh),
        other => Err(DecodeError::invalid(
            FORMAT,
            "action",
            format!("`{other}` is not one of login, mfa, logout, token_refresh"),
        )),
    }
}

/// Longest city name kept: real ones are far shorter, and a bound keeps a hostile record
/// from planting megabytes in a profile.
pub const MAX_CITY_BYTES: usize = 128;

fn validate_geo(geo: Option<Geo>) -> Result<Option<Geo>, DecodeError> {
    let Some(mut geo) = geo else { return Ok(None) };
    if let Some(country) = geo.country.as_mut() {
        // ISO 3166-1 alpha-2; `de` and `DE` must be one country in a profile.
        if country.len() != 2 || !country.bytes().all(|byte| byte.is_ascii_alphabetic()) {
            return Err(DecodeError::invalid(
                FORMAT,
                "geo.country",
                format!(
                    "`{}` is not an ISO 3166-1 alpha-2 code",
                    country.chars().take(16).collect::<String>()
                ),
            ));
        }
        country.make_ascii_uppercase();
    }
    if geo
        .city
        .as_ref()
        .is_some_and(|city| city.len() > MAX_CITY_BYTES)
    {
        return Err(DecodeError::invalid(
            FORMAT,
            "geo.city",
            format!("longer than {MAX_CITY_BYTES} bytes"),
        ));
    }
    let partial = geo.lat.is_some() != geo.lon.is_some();
    if partial || (geo.lat.is_some() && geo.coordinates().is_none()) {
        return Err(DecodeError::invalid(
            FORMAT,
            "geo",
            "`lat` and `lon` must both be given, within ±90 and ±180",
        ));
    }
    if let Some(accuracy) = geo.accuracy_km {
        if !(accuracy.is_finite() && accuracy >= 0.0) {
            return Err(DecodeError::invalid(
                FORMAT,
                "geo.accuracy_km",
                "must be a non-negative number",
            ));
        }
    }
    Ok(Some(geo))
}

/// Names the field behind a type error (`asn` given as a string, an unknown `outcome`):
/// the record is read again, on this error path only, tracking the path.
fn describe(text: &str, error: &serde_json::Error) -> DecodeError {
    if error.is_syntax() || error.is_eof() {
        return DecodeError::json(FORMAT, error);
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, NativeRecord<'_>>(&mut deserializer) {
        Err(tracked)
            if !tracked.path().to_string().is_empty() && tracked.path().to_string() != "." =>
        {
            DecodeError::invalid(FORMAT, &tracked.path().to_string(), tracked.inner())
        }
        _ => DecodeError::json(FORMAT, error),
    }
}

/// Decodes one native v1 record.
pub(crate) fn decode(record: &[u8]) -> Result<Decoded, DecodeError> {
    // Validating UTF-8 once for the whole record is cheaper than serde_json checking
    // every string it reads.
    let text = std::str::from_utf8(record)
        .map_err(|error| DecodeError::new(FORMAT, format!("record is not valid UTF-8: {error}")))?;
    let raw: NativeRecord<'_> = match scan::scan(text) {
        Some(raw) => raw,
        None => match serde_json::from_str(text) {
            Ok(raw) => raw,
            Err(error) => return Err(describe(text, &error)),
        },
    };
    event(raw)
}

/// The event of a record read.
fn event(raw: NativeRecord<'_>) -> Result<Decoded, DecodeError> {
    let kind = required(&raw.kind, "kind")?;
    let time_text = required(&raw.time, "time")?;
    let time =
        Timestamp::parse(time_text).map_err(|error| DecodeError::invalid(FORMAT, "time", error))?;
    let detail = match kind {
        "auth" => Detail::Auth(AuthDetail {
            action: auth_action(required(&raw.action, "action")?)?,
            outcome: raw
                .outcome
                .ok_or_else(|| DecodeError::missing(FORMAT, "outcome"))?,
            factor: raw.factor.map(Text::into_compact),
            reason: raw.reason.map(Text::into_owned),
        }),
        "posture" => {
            if raw.device_id.as_deref().is_none_or(str::is_empty) {
                return Err(DecodeError::missing(FORMAT, "device_id"));
            }
            Detail::Posture(PostureDetail {
                compliant: raw
                    .compliant
                    .ok_or_else(|| DecodeError::missing(FORMAT, "compliant"))?,
                checks: raw.checks.unwrap_or_default(),
            })
        }
        "access" => Detail::Access(AccessDetail {
            resource: required(&raw.resource, "resource")?.to_string(),
            action: raw.action.map(Text::into_compact),
            bytes: raw.bytes,
            status: raw.status,
            tool: raw.tool.map(Text::into_compact),
            on_behalf_of: bounded_id(raw.on_behalf_of, "on_behalf_of")?,
        }),
        other => {
            return Err(DecodeError::invalid(
                FORMAT,
                "kind",
                format!("`{other}` is not one of auth, posture, access"),
            ))
        }
    };
    let identity = bounded_id(raw.identity, "identity")?;
    if identity.is_none() && kind != "posture" {
        return Err(DecodeError::missing(FORMAT, "identity"));
    }
    let ip = match raw.ip.as_deref() {
        None | Some("") => None,
        Some(text) => Some(parse_ip(text).ok_or_else(|| {
            DecodeError::invalid(FORMAT, "ip", format!("`{text}` is not an IP address"))
        })?),
    };
    Ok(Decoded::Event(Box::new(Event {
        time,
        identity,
        identity_type: raw.identity_type.unwrap_or_default(),
        session_id: bounded_id(raw.session_id, "session_id")?,
        device_id: bounded_id(raw.device_id, "device_id")?,
        ip,
        geo: validate_geo(raw.geo)?,
        asn: raw.asn,
        user_agent: raw.user_agent.map(Text::into_owned),
        app: raw.app.map(Text::into_compact),
        event_id: raw.event_id.map(Text::into_compact),
        detail,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Event {
        match decode(json.as_bytes()).unwrap() {
            Decoded::Event(event) => *event,
            Decoded::Skipped(reason) => panic!("skipped: {reason}"),
            batch @ Decoded::Batch(_) => panic!("unexpected {batch:?}"),
        }
    }

    #[test]
    fn decodes_auth_field_by_field() {
        let decoded = event(
            r#"{"kind":"auth","time":"2026-03-01T09:00:00Z","identity":"alice@example.com","identity_type":"user","action":"mfa","outcome":"denied","session_id":"s1","device_id":"d1","ip":"81.2.69.142","geo":{"lat":51.5,"lon":-0.1,"country":"GB","city":"London","accuracy_km":10},"asn":1234,"user_agent":"ua","app":"okta","factor":"push","extra":"ignored"}"#,
        );
        assert_eq!(
            decoded.time,
            Timestamp::parse("2026-03-01T09:00:00Z").unwrap()
        );
        assert_eq!(decoded.identity.as_deref(), Some("alice@example.com"));
        assert_eq!(decoded.session_id.as_deref(), Some("s1"));
        assert_eq!(decoded.device_id.as_deref(), Some("d1"));
        assert_eq!(decoded.ip, Some("81.2.69.142".parse().unwrap()));
        let geo = decoded.geo.clone().unwrap();
        assert_eq!(
            (
                geo.lat,
                geo.lon,
                geo.country.as_deref(),
                geo.city.as_deref(),
                geo.accuracy_km
            ),
            (
                Some(51.5),
                Some(-0.1),
                Some("GB"),
                Some("London"),
                Some(10.0)
            )
        );
        assert_eq!(decoded.asn, Some(1234));
        let auth = decoded.auth().unwrap();
        assert_eq!(
            (auth.action, auth.outcome, auth.factor.as_deref()),
            (AuthAction::Mfa, Outcome::Denied, Some("push"))
        );
    }

    #[test]
    fn decodes_posture_and_access() {
        let posture = event(
            r#"{"kind":"posture","time":"2026-03-01T09:00:00Z","device_id":"d1","compliant":false,"checks":{"edr_running":false,"os_patch_age_days":40}}"#,
        );
        let detail = posture.posture().unwrap();
        assert!(!detail.compliant);
        assert_eq!(detail.checks.edr_running, Some(false));
        assert_eq!(detail.checks.os_patch_age_days, Some(40));
        assert_eq!(posture.identity, None);
        let access = event(
            r#"{"kind":"access","time":"2026-03-01T09:00:00Z","identity":"agent-7","identity_type":"agent","resource":"crm/contacts","action":"tool_call","bytes":512,"status":200,"tool":"export","on_behalf_of":"bob"}"#,
        );
        let detail = access.access().unwrap();
        assert_eq!(access.identity_type, IdentityType::Agent);
        assert_eq!(
            (
                detail.resource.as_str(),
                detail.bytes,
                detail.status,
                detail.tool.as_deref(),
                detail.on_behalf_of.as_deref()
            ),
            (
                "crm/contacts",
                Some(512),
                Some(200),
                Some("export"),
                Some("bob")
            )
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                r#"{"kind":"auth","time":"2026-03-01T09:00:00Z","action":"login","outcome":"success"}"#,
                "`identity`",
            ),
            (
                r#"{"kind":"auth","identity":"a","action":"login","outcome":"success"}"#,
                "`time`",
            ),
            (
                r#"{"kind":"auth","time":"not a time","identity":"a","action":"login","outcome":"success"}"#,
                "`time`",
            ),
            (
                r#"{"kind":"auth","time":"2026-03-01T09:00:00Z","identity":"a","action":"dance","outcome":"success"}"#,
                "`action`",
            ),
            (
                r#"{"kind":"auth","time":"2026-03-01T09:00:00Z","identity":"a","action":"login","outcome":"success","ip":"999.1.1.1"}"#,
                "`ip`",
            ),
            (
                r#"{"kind":"auth","time":"2026-03-01T09:00:00Z","identity":"a","action":"login","outcome":"success","geo":{"lat":95,"lon":0}}"#,
                "`geo`",
            ),
            (
                r#"{"kind":"posture","time":"2026-03-01T09:00:00Z","compliant":true}"#,
                "`device_id`",
            ),
            (
                r#"{"kind":"access","time":"2026-03-01T09:00:00Z","identity":"a"}"#,
                "`resource`",
            ),
            (
                r#"{"kind":"weird","time":"2026-03-01T09:00:00Z"}"#,
                "`kind`",
            ),
        ];
        for (json, field) in cases {
            let error = decode(json.as_bytes()).unwrap_err();
            assert!(error.to_string().contains(field), "{json} -> {error}");
        }
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let decoded = event(
            r#"{"kind":"auth","time":"2026-03-01T09:00:00Z","identity":"zo\u00eb@example.com","action":"login","outcome":"failure","factor":"pa\u0073\u0073word","reason":"bad \"password\" for user zo\u00eb@example.com","user_agent":"Mozilla\/5.0 (X11; Linux x86_64) Firefox\/131.0"}"#,
        );
        assert_eq!(decoded.identity.as_deref(), Some("zoë@example.com"));
        assert_eq!(
            decoded.user_agent.as_deref(),
            Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0")
        );
        let auth = decoded.auth().unwrap();
        assert_eq!(auth.factor.as_deref(), Some("password"));
        assert_eq!(
            auth.reason.as_deref(),
            Some("bad \"password\" for user zoë@example.com")
        );
    }

    #[test]
    fn type_errors_name_the_field() {
        let cases = [
            (
                r#"{"kind":"auth","time":"2026-03-01T09:00:00Z","identity":"a","action":"login","outcome":"success","asn":"3320"}"#,
                "`asn`",
            ),
            (
                r#"{"kind":"auth","time":"2026-03-01T09:00:00Z","identity":"a","action":"login","outcome":"ok"}"#,
                "`outcome`",
            ),
            (
                r#"{"kind":"auth","time":"2026-03-01T09:00:00Z","identity":"a","action":"login","outcome":"success","geo":{"lat":"north"}}"#,
                "`geo.lat`",
            ),
            (
                r#"{"kind":"posture","time":"2026-03-01T09:00:00Z","device_id":"d","compliant":true,"checks":{"os_patch_age_days":-3}}"#,
                "`checks.os_patch_age_days`",
            ),
        ];
        for (json, field) in cases {
            let error = decode(json.as_bytes()).unwrap_err().to_string();
            assert!(error.contains(field), "{json} -> {error}");
        }
    }

    #[test]
    fn countries_are_alpha2_upper_case_and_cities_bounded() {
        let lower = event(
            r#"{"kind":"auth","time":"2026-03-01T09:00:00Z","identity":"a","action":"login","outcome":"success","geo":{"country":"de"}}"#,
        );
        assert_eq!(lower.geo.unwrap().country.as_deref(), Some("DE"));
        let named = r#"{"kind":"auth","time":"2026-03-01T09:00:00Z","identity":"a","action":"login","outcome":"success","geo":{"country":"Germany"}}"#;
        assert!(decode(named.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("`geo.country`"));
        let city = "x".repeat(MAX_CITY_BYTES + 1);
        let long = format!(
            r#"{{"kind":"auth","time":"2026-03-01T09:00:00Z","identity":"a","action":"login","outcome":"success","geo":{{"city":"{city}"}}}}"#
        );
        assert!(decode(long.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("`geo.city`"));
    }

    #[test]
    fn rejects_huge_identity() {
        let identity = "x".repeat(MAX_ID_BYTES + 1);
        let json = format!(
            r#"{{"kind":"auth","time":"2026-03-01T09:00:00Z","identity":"{identity}","action":"login","outcome":"success"}}"#
        );
        assert!(decode(json.as_bytes())
            .unwrap_err()
            .reason
            .contains("limit"));
    }
}
