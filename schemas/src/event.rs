//! The normalized event every decoder produces and every detector reads (wire contract v1).

use crate::Timestamp;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// Who or what an identity is; baselines and detectors treat them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityType {
    /// A person.
    #[default]
    User,
    /// A service account or workload identity.
    Service,
    /// An AI agent acting with tools, often on behalf of a user.
    Agent,
}

impl IdentityType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityType::User => "user",
            IdentityType::Service => "service",
            IdentityType::Agent => "agent",
        }
    }
}

/// What an authentication event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthAction {
    /// A primary sign-in (password, SSO, passkey).
    Login,
    /// A second-factor challenge (push, OTP, WebAuthn).
    Mfa,
    /// A sign-out.
    Logout,
    /// A refresh of an existing session's tokens.
    TokenRefresh,
}

impl AuthAction {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthAction::Login => "login",
            AuthAction::Mfa => "mfa",
            AuthAction::Logout => "logout",
            AuthAction::TokenRefresh => "token_refresh",
        }
    }
}

/// How an authentication attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Accepted.
    Success,
    /// Rejected credentials or an error.
    Failure,
    /// Refused by the user (an MFA push answered "no") or by policy.
    Denied,
    /// No answer in time (an MFA push left unanswered).
    Timeout,
}

impl Outcome {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
            Outcome::Timeout => "timeout",
        }
    }
}

/// Where an event came from, as reported by the vendor or found in a geo database.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Geo {
    /// Latitude in degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Longitude in degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<CompactString>,
    /// City name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<CompactString>,
    /// Radius in km within which the true location lies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_km: Option<f64>,
}

impl Geo {
    /// Both coordinates, when both are present, finite and on the globe.
    pub fn coordinates(&self) -> Option<(f64, f64)> {
        let (lat, lon) = (self.lat?, self.lon?);
        let valid = lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0;
        valid.then_some((lat, lon))
    }

    /// "City, CC" or whichever part is known, for explanations.
    pub fn place(&self) -> String {
        match (&self.city, &self.country) {
            (Some(city), Some(country)) => format!("{city}, {country}"),
            (Some(city), None) => city.as_str().to_string(),
            (None, Some(country)) => country.as_str().to_string(),
            (None, None) => match self.coordinates() {
                Some((lat, lon)) => format!("({lat:.2}, {lon:.2})"),
                None => "unknown place".to_string(),
            },
        }
    }
}

/// Fields only authentication events carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthDetail {
    /// What was attempted.
    pub action: AuthAction,
    /// How it ended.
    pub outcome: Outcome,
    /// The factor used (`password`, `push`, `otp`, `sms`, `webauthn`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<CompactString>,
    /// The vendor's reason for a failure, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The health checks of a device-posture event; `None` means the check was not reported.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PostureChecks {
    /// Endpoint detection and response agent running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edr_running: Option<bool>,
    /// Disk encryption on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_encrypted: Option<bool>,
    /// Days since the last OS patch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_patch_age_days: Option<u32>,
    /// Rooted or jailbroken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jailbroken: Option<bool>,
    /// Host firewall on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<bool>,
}

/// Fields only device-posture events carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostureDetail {
    /// The management system's verdict.
    pub compliant: bool,
    /// The individual checks behind it.
    #[serde(default)]
    pub checks: PostureChecks,
}

/// Fields only access events (proxy, API, agent tool calls) carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessDetail {
    /// What was accessed (URL, API, dataset).
    pub resource: String,
    /// Verb (`GET`, `read`, `delete`, `tool_call`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<CompactString>,
    /// Bytes transferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Status code of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// For AI agents: the tool called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<CompactString>,
    /// For AI agents: the identity the agent acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<CompactString>,
}

/// What kind of event this is, with the fields of that kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Detail {
    /// An authentication log record.
    Auth(AuthDetail),
    /// A device-posture report.
    Posture(PostureDetail),
    /// An access log record.
    Access(AccessDetail),
}

/// The kind of an event, without its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// See [`Detail::Auth`].
    Auth,
    /// See [`Detail::Posture`].
    Posture,
    /// See [`Detail::Access`].
    Access,
}

impl EventKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Auth => "auth",
            EventKind::Posture => "posture",
            EventKind::Access => "access",
        }
    }
}

/// One normalized event, whatever vendor it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened (event time, not arrival time).
    pub time: Timestamp,
    /// The subject: user principal, service account or agent id. Required except for
    /// posture events, whose owner may be learned from the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<CompactString>,
    /// Human, service or agent.
    #[serde(default)]
    pub identity_type: IdentityType,
    /// The IdP or proxy session this event belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<CompactString>,
    /// The device, as the IdP or MDM knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<CompactString>,
    /// The client's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// Where the client was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo: Option<Geo>,
    /// The client's autonomous system number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// The client's user agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The application signed in to or used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<CompactString>,
    /// The vendor's id for this record (Okta `uuid`, Entra `id`, CloudTrail `eventID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<CompactString>,
    /// The kind and its own fields.
    #[serde(flatten)]
    pub detail: Detail,
}

/// The most bytes of a field that names something (identity, session, device, app, tool,
/// principal, factor): longer is not a name but an attack on memory and on every output
/// that repeats it, so the event is rejected. Decoders refuse such a field as they read it;
/// [`Event::bound`] holds every decoder's output to it.
pub const MAX_NAME_BYTES: usize = 1024;

/// The most bytes kept of a free-text field (user agent, resource, failure reason): longer
/// text is cut, marked with `…`.
pub const MAX_TEXT_BYTES: usize = 2048;

fn name_within(field: &'static str, value: Option<&str>) -> Result<(), String> {
    match value {
        Some(value) if value.len() > MAX_NAME_BYTES => Err(format!(
            "field `{field}` is {} bytes, over the limit of {MAX_NAME_BYTES}",
            value.len()
        )),
        _ => Ok(()),
    }
}

/// An identity in its one canonical form, whatever the source wrote: trimmed, and an
/// e-mail address or user principal name (anything with `@`) lowercased, as every IdP
/// compares them (Entra's `Alice@Example.com` and Okta's `alice@example.com` are one
/// person). Other ids (service accounts, agents, ARNs) keep their case. Decoders' output
/// and every identity a person types (`vigil state`, `vigil archive forget`, the identity
/// endpoint) go through this.
pub fn canonical_identity(identity: &str) -> std::borrow::Cow<'_, str> {
    let trimmed = identity.trim();
    if trimmed.contains('@') && trimmed.chars().any(char::is_uppercase) {
        std::borrow::Cow::Owned(trimmed.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(trimmed)
    }
}

fn canonicalize(value: &mut Option<CompactString>) {
    if let Some(text) = value {
        if let std::borrow::Cow::Owned(canonical) = canonical_identity(text) {
            *text = CompactString::from(canonical);
        } else if text.len() != text.trim().len() {
            *text = CompactString::from(text.trim());
        }
    }
}

fn cut_text(value: &mut String) {
    if value.len() > MAX_TEXT_BYTES {
        *value = crate::truncate(std::mem::take(value), MAX_TEXT_BYTES);
    }
}

impl Event {
    /// Puts identities in their canonical form ([`canonical_identity`]) and holds the
    /// event to the size bounds every decoder's output keeps: a name over
    /// [`MAX_NAME_BYTES`] is an error naming the field; free text is cut at
    /// [`MAX_TEXT_BYTES`]. Decisions, alerts, SETs and archive rows repeat these values,
    /// so this bounds every output's size.
    pub fn bound(&mut self) -> Result<(), String> {
        canonicalize(&mut self.identity);
        name_within("identity", self.identity.as_deref())?;
        name_within("session_id", self.session_id.as_deref())?;
        name_within("device_id", self.device_id.as_deref())?;
        name_within("app", self.app.as_deref())?;
        name_within("event_id", self.event_id.as_deref())?;
        if let Some(geo) = &self.geo {
            name_within("geo.country", geo.country.as_deref())?;
            name_within("geo.city", geo.city.as_deref())?;
        }
        if let Some(agent) = &mut self.user_agent {
            cut_text(agent);
        }
        match &mut self.detail {
            Detail::Auth(auth) => {
                name_within("factor", auth.factor.as_deref())?;
                if let Some(reason) = &mut auth.reason {
                    cut_text(reason);
                }
            }
            Detail::Posture(_) => {}
            Detail::Access(access) => {
                canonicalize(&mut access.on_behalf_of);
                name_within("action", access.action.as_deref())?;
                name_within("tool", access.tool.as_deref())?;
                name_within("on_behalf_of", access.on_behalf_of.as_deref())?;
                cut_text(&mut access.resource);
            }
        }
        Ok(())
    }
}

impl Event {
    /// The kind of this event.
    pub fn kind(&self) -> EventKind {
        match self.detail {
            Detail::Auth(_) => EventKind::Auth,
            Detail::Posture(_) => EventKind::Posture,
            Detail::Access(_) => EventKind::Access,
        }
    }

    /// The authentication fields, for auth events.
    pub fn auth(&self) -> Option<&AuthDetail> {
        match &self.detail {
            Detail::Auth(auth) => Some(auth),
            _ => None,
        }
    }

    /// The access fields, for access events.
    pub fn access(&self) -> Option<&AccessDetail> {
        match &self.detail {
            Detail::Access(access) => Some(access),
            _ => None,
        }
    }

    /// The posture fields, for posture events.
    pub fn posture(&self) -> Option<&PostureDetail> {
        match &self.detail {
            Detail::Posture(posture) => Some(posture),
            _ => None,
        }
    }

    /// A bare event of a kind at a time, for building events in code and tests.
    pub fn new(time: Timestamp, identity: Option<&str>, detail: Detail) -> Event {
        Event {
            time,
            identity: identity.map(CompactString::from),
            identity_type: IdentityType::User,
            session_id: None,
            device_id: None,
            ip: None,
            geo: None,
            asn: None,
            user_agent: None,
            app: None,
            event_id: None,
            detail,
        }
    }
}

/// Where a record was read: a file and line, or a Kafka topic, partition and offset.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Origin {
    /// A line of a file (1-based).
    File {
        /// The file's path as given (shared: every record of a file points at one copy).
        file: Arc<str>,
        /// 1-based line number.
        line: u64,
    },
    /// A Kafka record.
    Kafka {
        /// Topic.
        topic: Arc<str>,
        /// Partition.
        partition: i32,
        /// Offset.
        offset: i64,
    },
}

impl Origin {
    /// Writes what `Display` shows (`file:line`, `topic/partition@offset`) piece by piece,
    /// numbers by `itoa`: the archive writes one origin per event, and with `write!` its
    /// per-event path spent 28% more instructions (callgrind, with addresses; issue 6).
    pub fn write_to(&self, out: &mut impl fmt::Write) -> fmt::Result {
        let mut number = itoa::Buffer::new();
        match self {
            Origin::File { file, line } => {
                out.write_str(file)?;
                out.write_char(':')?;
                out.write_str(number.format(*line))
            }
            Origin::Kafka {
                topic,
                partition,
                offset,
            } => {
                out.write_str(topic)?;
                out.write_char('/')?;
                out.write_str(number.format(*partition))?;
                out.write_char('@')?;
                out.write_str(number.format(*offset))
            }
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(formatter)
    }
}

/// Tags an enrichment step attaches to an event's IP from configured lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IpTags {
    /// The address is one of the organisation's egress ranges.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub corporate: bool,
    /// The address is one of the organisation's VPN ranges.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub vpn: bool,
    /// The address is private, loopback or otherwise not routable on the internet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub non_public: bool,
    /// The address is on a configured anonymizer list (Tor exits, open proxies, commercial
    /// VPN exits).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anonymizer: bool,
    /// The address is on a configured threat-intelligence list.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub threat: bool,
}

impl IpTags {
    /// Whether location-based detectors should ignore this address: the egress point
    /// says nothing about where the person is.
    pub fn location_exempt(self) -> bool {
        self.corporate || self.vpn || self.non_public
    }
}

/// An event as the engine receives it: decoded, enriched, with its origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The event, boxed: envelopes move through queues and shards, and an event is a few
    /// hundred bytes.
    pub event: Box<Event>,
    /// Where it was read.
    pub origin: Origin,
    /// What enrichment learned about its IP.
    pub tags: IpTags,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_fields_are_plain_json_strings() {
        let json = r#"{"time":"2026-03-01T09:00:00Z","identity":"agent-7","identity_type":"agent","session_id":"s1","device_id":"a-device-id-longer-than-24-bytes","geo":{"country":"GB","city":"London"},"app":"crm","event_id":"e1","kind":"access","resource":"crm/contacts","action":"tool_call","tool":"export","on_behalf_of":"bob@example.com"}"#;
        let event: Event = serde_json::from_str(json).unwrap();
        assert_eq!(
            event.device_id.as_deref(),
            Some("a-device-id-longer-than-24-bytes")
        );
        assert_eq!(serde_json::to_string(&event).unwrap(), json);
    }

    #[test]
    fn origins_read_as_file_and_line_or_topic_partition_and_offset() {
        let file = Origin::File {
            file: "logs/okta.jsonl".into(),
            line: 1041,
        };
        assert_eq!(file.to_string(), "logs/okta.jsonl:1041");
        let kafka = Origin::Kafka {
            topic: "auth".into(),
            partition: 3,
            offset: 9_007_199_254_740_993,
        };
        assert_eq!(kafka.to_string(), "auth/3@9007199254740993");
        let negative = Origin::Kafka {
            topic: "auth".into(),
            partition: -1,
            offset: -1,
        };
        assert_eq!(negative.to_string(), "auth/-1@-1");
        let mut text = String::from("x ");
        file.write_to(&mut text).unwrap();
        assert_eq!(text, "x logs/okta.jsonl:1041");
    }
}
