//! The decoder interface shared by every input format, and format detection.

use serde::Deserialize;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use vigil_schemas::Event;

/// Records larger than this are rejected before parsing: no IdP record comes near it, and
/// a bound keeps a hostile producer from making vigil allocate without limit.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// An input format, as named on the command line and in configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Recognise the format of each record by its fields.
    Auto,
    /// vigil's own v1 contract (see DESIGN.md).
    Native,
    /// OCSF Authentication, class 3002.
    Ocsf,
    /// Okta System Log.
    Okta,
    /// Microsoft Entra ID sign-in logs (Event Hub / Log Analytics, and Graph `signIn`).
    Entra,
    /// AWS CloudTrail `ConsoleLogin`.
    Cloudtrail,
    /// Auth0 tenant logs.
    Auth0,
    /// Google Workspace Reports API, `login` application.
    Gws,
}

impl Format {
    /// Every concrete format (all but `auto`).
    pub const CONCRETE: [Format; 7] = [
        Format::Native,
        Format::Ocsf,
        Format::Okta,
        Format::Entra,
        Format::Cloudtrail,
        Format::Auth0,
        Format::Gws,
    ];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Native => "native",
            Format::Ocsf => "ocsf",
            Format::Okta => "okta",
            Format::Entra => "entra",
            Format::Cloudtrail => "cloudtrail",
            Format::Auth0 => "auth0",
            Format::Gws => "gws",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Format::Auto]
            .into_iter()
            .chain(Format::CONCRETE)
            .find(|format| format.as_str() == text)
            .ok_or_else(|| {
                format!("unknown format `{text}`: expected auto, native, ocsf, okta, entra, cloudtrail, auth0 or gws")
            })
    }
}

/// What a decoder made of one well-formed record.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// An event vigil judges.
    Event(Box<Event>),
    /// A valid record that is not an authentication, posture or access event of interest
    /// (an Okta group change, a CloudTrail `PutObject`): counted, not rejected.
    Skipped(&'static str),
}

/// Why a record could not be decoded; it goes to the rejects / dead-letter destination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to decode `{format}` event: {reason}")]
pub struct DecodeError {
    /// The format that was tried.
    pub format: Format,
    /// What was wrong, naming the field.
    pub reason: String,
}

impl DecodeError {
    /// An error of a format with a reason.
    pub fn new(format: Format, reason: impl Into<String>) -> DecodeError {
        DecodeError { format, reason: reason.into() }
    }

    /// A required field was absent or empty.
    pub fn missing(format: Format, field: &str) -> DecodeError {
        DecodeError::new(format, format!("missing field `{field}`"))
    }

    /// A field was present but its value made no sense.
    pub fn invalid(format: Format, field: &str, problem: impl fmt::Display) -> DecodeError {
        DecodeError::new(format, format!("invalid field `{field}`: {problem}"))
    }

    /// The record was not JSON of the expected shape.
    pub fn json(format: Format, error: &serde_json::Error) -> DecodeError {
        DecodeError::new(format, format!("malformed JSON: {error}"))
    }
}

/// Parses a client address as vendors write it: plain, or with a port
/// (`1.2.3.4:5678`, `[::1]:443`). Empty strings and placeholders give `None`.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = text.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    None
}

/// `Some` for a non-empty, non-placeholder string (vendors write `""`, `"null"`, `"-"`, `"unknown"`).
pub fn present(text: Option<&str>) -> Option<String> {
    let text = text?.trim();
    let placeholder = text.is_empty()
        || text.eq_ignore_ascii_case("null")
        || text == "-"
        || text.eq_ignore_ascii_case("unknown");
    (!placeholder).then(|| text.to_string())
}

/// The fields whose presence tells formats apart, read in one pass without allocating.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Sniff<'a> {
    #[serde(borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
    class_uid: Option<serde::de::IgnoredAny>,
    #[serde(rename = "eventType")]
    event_type: Option<serde::de::IgnoredAny>,
    published: Option<serde::de::IgnoredAny>,
    #[serde(rename = "eventName")]
    event_name: Option<serde::de::IgnoredAny>,
    #[serde(rename = "eventSource")]
    event_source: Option<serde::de::IgnoredAny>,
    #[serde(rename = "createdDateTime")]
    created_date_time: Option<serde::de::IgnoredAny>,
    category: Option<serde::de::IgnoredAny>,
    properties: Option<serde::de::IgnoredAny>,
    #[serde(rename = "userPrincipalName")]
    user_principal_name: Option<serde::de::IgnoredAny>,
    log_id: Option<serde::de::IgnoredAny>,
    data: Option<serde::de::IgnoredAny>,
    json: Option<serde::de::IgnoredAny>,
    #[serde(rename = "type")]
    auth0_type: Option<serde::de::IgnoredAny>,
    date: Option<serde::de::IgnoredAny>,
    id: Option<serde_json::Value>,
    actor: Option<serde::de::IgnoredAny>,
    events: Option<serde::de::IgnoredAny>,
}

/// Recognises the format of one record by the fields only that format has.
pub fn detect(record: &[u8]) -> Result<Format, DecodeError> {
    let sniff: Sniff<'_> =
        serde_json::from_slice(record).map_err(|error| DecodeError::json(Format::Auto, &error))?;
    let kind = sniff.kind.as_deref();
    let format = if matches!(kind, Some("auth" | "posture" | "access")) {
        Format::Native
    } else if kind == Some("admin#reports#activity")
        || sniff.id.as_ref().and_then(|id| id.get("applicationName")).is_some()
        || (sniff.id.is_some() && sniff.actor.is_some() && sniff.events.is_some())
    {
        Format::Gws
    } else if sniff.class_uid.is_some() {
        Format::Ocsf
    } else if sniff.event_type.is_some() && sniff.published.is_some() {
        Format::Okta
    } else if sniff.event_name.is_some() && sniff.event_source.is_some() {
        Format::Cloudtrail
    } else if sniff.created_date_time.is_some()
        || sniff.user_principal_name.is_some()
        || (sniff.category.is_some() && sniff.properties.is_some())
    {
        Format::Entra
    } else if sniff.log_id.is_some() || sniff.json.is_some() || (sniff.auth0_type.is_some() && sniff.date.is_some()) || sniff.data.is_some() {
        Format::Auth0
    } else {
        return Err(DecodeError::new(
            Format::Auto,
            "unrecognised record: no field of any known format (`kind`, `class_uid`, `eventType`, `eventName`, `createdDateTime`, `log_id`, `id.applicationName`)",
        ));
    };
    Ok(format)
}
