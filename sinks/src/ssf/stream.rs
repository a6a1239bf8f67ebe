//! Streams as the Shared Signals Framework describes them: the configuration a receiver
//! and vigil manage together, the requests that change it, and which events and subjects
//! a stream carries.

use super::config::DefaultSubjects;
use super::SsfError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Push delivery (RFC 8935).
pub const PUSH: &str = "urn:ietf:rfc:8935";
/// Poll delivery (RFC 8936).
pub const POLL: &str = "urn:ietf:rfc:8936";
/// The SSF verification event.
pub const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
/// The SSF stream-updated event.
pub const STREAM_UPDATED: &str =
    "https://schemas.openid.net/secevent/ssf/event-type/stream-updated";

/// 1,024 characters of description: enough for a person; the spec lets a transmitter
/// truncate.
const MAX_DESCRIPTION_CHARS: usize = 1024;
/// Event types a receiver may request in one stream.
const MAX_EVENTS_REQUESTED: usize = 64;
/// Longest URL or header value taken from a receiver.
const MAX_VALUE_CHARS: usize = 4096;
/// Subjects added to or removed from one stream.
pub const MAX_SUBJECTS: usize = 10_000;

/// Whether a stream delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// SETs are delivered.
    Enabled,
    /// SETs are held and delivered once enabled again.
    Paused,
    /// SETs are dropped.
    Disabled,
}

impl Status {
    /// The status as the spec writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Enabled => "enabled",
            Status::Paused => "paused",
            Status::Disabled => "disabled",
        }
    }
}

/// How a stream's SETs reach the receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method")]
pub enum Delivery {
    /// vigil POSTs each SET to the receiver.
    #[serde(rename = "urn:ietf:rfc:8935")]
    Push {
        /// Where.
        endpoint_url: String,
        /// The `Authorization` header value to send, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authorization_header: Option<String>,
    },
    /// The receiver polls vigil's endpoint for the stream.
    #[serde(rename = "urn:ietf:rfc:8936")]
    Poll,
}

/// A stream as kept in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stream {
    /// Unique id.
    pub id: String,
    /// The receiver that owns it.
    pub receiver: String,
    /// `aud` of its SETs.
    pub aud: String,
    /// Delivery method.
    pub delivery: Delivery,
    /// Event types the receiver asked for (as given).
    pub events_requested: Option<Vec<String>>,
    /// The receiver's description.
    pub description: Option<String>,
    /// Whether it delivers.
    pub status: Status,
    /// Why it has that status.
    pub reason: Option<String>,
    /// Subjects of the stream when they are chosen one by one.
    pub default_subjects: DefaultSubjects,
    /// Subjects the receiver added.
    pub added: Vec<Value>,
    /// Subjects the receiver removed.
    pub removed: Vec<Value>,
}

/// The `delivery` member of a request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryRequest {
    /// `urn:ietf:rfc:8935` or `urn:ietf:rfc:8936`.
    pub method: String,
    /// Push: the receiver's URL; poll: vigil's (must match when given).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Push: the `Authorization` header value vigil sends.
    #[serde(default)]
    pub authorization_header: Option<String>,
}

/// A create, update (PATCH) or replace (PUT) request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamRequest {
    /// The stream (update and replace).
    #[serde(default)]
    pub stream_id: Option<String>,
    /// Delivery method; poll when absent at creation.
    #[serde(default)]
    pub delivery: Option<DeliveryRequest>,
    /// Event types wanted.
    #[serde(default)]
    pub events_requested: Option<Vec<String>>,
    /// For people.
    #[serde(default)]
    pub description: Option<String>,
    /// Transmitter-supplied: must match when given.
    #[serde(default)]
    pub iss: Option<String>,
    /// Transmitter-supplied: must match when given.
    #[serde(default)]
    pub aud: Option<Value>,
    /// Transmitter-supplied: must match when given.
    #[serde(default)]
    pub events_supported: Option<Vec<String>>,
    /// Transmitter-supplied: must match the value before the update when given.
    #[serde(default)]
    pub events_delivered: Option<Vec<String>>,
    /// Transmitter-supplied: must match when given.
    #[serde(default)]
    pub min_verification_interval: Option<u64>,
    /// Transmitter-supplied (vigil sets none): must be absent.
    #[serde(default)]
    pub inactivity_timeout: Option<u64>,
}

/// A status update.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// The stream.
    pub stream_id: String,
    /// The new status.
    pub status: Status,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Adding or removing a subject.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectRequest {
    /// The stream.
    pub stream_id: String,
    /// The subject (RFC 9493 subject identifier).
    pub subject: Value,
    /// Whether the receiver verified the subject (add only; informational).
    #[serde(default)]
    pub verified: Option<bool>,
}

/// A verification request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The stream.
    pub stream_id: String,
    /// Echoed in the verification event.
    #[serde(default)]
    pub state: Option<String>,
}

/// A poll (RFC 8936 section 2.4): acknowledgements and errors for SETs received, and how
/// many more to return.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollRequest {
    /// Most SETs to return (0: acknowledge only).
    #[serde(default, rename = "maxEvents")]
    pub max_events: Option<usize>,
    /// Answer at once even when no SET is available.
    #[serde(default, rename = "returnImmediately")]
    pub return_immediately: bool,
    /// `jti`s of SETs received and processed.
    #[serde(default)]
    pub ack: Vec<String>,
    /// `jti`s of SETs the receiver could not process, with why.
    #[serde(default, rename = "setErrs")]
    pub set_errs: serde_json::Map<String, Value>,
}

fn bad(message: impl Into<String>) -> SsfError {
    SsfError::bad_request(message)
}

fn bounded(value: &str, field: &str) -> Result<(), SsfError> {
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(bad(format!(
            "`{field}` is longer than {MAX_VALUE_CHARS} characters"
        )));
    }
    Ok(())
}

/// Whether `url` may receive pushed SETs: `https`, or plain `http` to a loopback host.
pub fn check_push_url(url: &str) -> Result<(), SsfError> {
    bounded(url, "delivery.endpoint_url")?;
    let parsed = reqwest::Url::parse(url)
        .map_err(|error| bad(format!("`delivery.endpoint_url` is not a URL: {error}")))?;
    if parsed.fragment().is_some() {
        return Err(bad("`delivery.endpoint_url` must not have a fragment"));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&parsed) => Ok(()),
        "http" => Err(bad(
            "`delivery.endpoint_url`: plain http is accepted for loopback receivers only; use https",
        )),
        other => Err(bad(format!(
            "`delivery.endpoint_url`: scheme `{other}` is not http(s)"
        ))),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    }
}

/// The description as kept: truncated to [`MAX_DESCRIPTION_CHARS`].
pub fn description(text: Option<String>) -> Option<String> {
    text.map(|text| text.chars().take(MAX_DESCRIPTION_CHARS).collect())
}

/// Checks requested event types (unknown ones are kept and ignored, as the spec says).
pub fn check_events_requested(events: &Option<Vec<String>>) -> Result<(), SsfError> {
    let Some(events) = events else {
        return Ok(());
    };
    if events.len() > MAX_EVENTS_REQUESTED {
        return Err(bad(format!(
            "`events_requested` lists more than {MAX_EVENTS_REQUESTED} event types"
        )));
    }
    for event in events {
        bounded(event, "events_requested")?;
    }
    Ok(())
}

/// The delivery a request asks for (`poll_url`: vigil's poll endpoint of the stream).
pub fn delivery(request: Option<&DeliveryRequest>, poll_url: &str) -> Result<Delivery, SsfError> {
    let Some(request) = request else {
        return Ok(Delivery::Poll);
    };
    match request.method.as_str() {
        PUSH => {
            let url = request
                .endpoint_url
                .clone()
                .ok_or_else(|| bad("push delivery needs `delivery.endpoint_url`"))?;
            check_push_url(&url)?;
            if let Some(header) = &request.authorization_header {
                bounded(header, "delivery.authorization_header")?;
                if reqwest::header::HeaderValue::from_str(header).is_err() {
                    return Err(bad(
                        "`delivery.authorization_header` is not a valid header value",
                    ));
                }
            }
            Ok(Delivery::Push {
                endpoint_url: url,
                authorization_header: request.authorization_header.clone(),
            })
        }
        POLL => {
            if request.authorization_header.is_some() {
                return Err(bad(
                    "`delivery.authorization_header` applies to push delivery only",
                ));
            }
            match &request.endpoint_url {
                Some(url) if url != poll_url => Err(bad(
                    "`delivery.endpoint_url` of a poll stream is vigil's; leave it out",
                )),
                _ => Ok(Delivery::Poll),
            }
        }
        other => Err(bad(format!(
            "delivery method `{other}` is not supported (`{PUSH}` or `{POLL}`)"
        ))),
    }
}

/// Checks a subject is an RFC 9493 subject identifier (an object with a string `format`).
pub fn check_subject(subject: &Value) -> Result<(), SsfError> {
    let format = subject
        .get("format")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("`subject` must be an object with a string `format`"))?;
    if format == "complex" {
        let members = subject.as_object().map_or(0, |object| object.len());
        if members < 2 {
            return Err(bad("a complex `subject` needs at least one member"));
        }
        for (name, member) in subject.as_object().into_iter().flatten() {
            if name != "format" && member.get("format").and_then(Value::as_str).is_none() {
                return Err(bad(format!(
                    "member `{name}` of the complex `subject` must be a subject identifier"
                )));
            }
        }
    }
    if subject.to_string().len() > MAX_VALUE_CHARS {
        return Err(bad(format!(
            "`subject` is longer than {MAX_VALUE_CHARS} bytes"
        )));
    }
    Ok(())
}

/// Whether two subjects match (SSF 1.0, Subject Matching): simple subjects when equal;
/// complex ones when every member defined in both is equal; a simple subject matches a
/// complex one holding it as a member.
pub fn subjects_match(one: &Value, other: &Value) -> bool {
    let complex = |value: &Value| value.get("format").and_then(Value::as_str) == Some("complex");
    match (complex(one), complex(other)) {
        (false, false) => one == other,
        (true, true) => {
            let (Some(left), Some(right)) = (one.as_object(), other.as_object()) else {
                return false;
            };
            left.iter()
                .filter(|(name, _)| name.as_str() != "format")
                .all(|(name, value)| right.get(name).is_none_or(|theirs| theirs == value))
        }
        (true, false) => member_of(other, one),
        (false, true) => member_of(one, other),
    }
}

fn member_of(simple: &Value, complex: &Value) -> bool {
    complex.as_object().is_some_and(|members| {
        members
            .iter()
            .any(|(name, member)| name != "format" && member == simple)
    })
}

impl Stream {
    /// Whether the stream carries events about `subject`.
    pub fn carries(&self, subject: &Value) -> bool {
        let listed = |list: &[Value]| list.iter().any(|one| subjects_match(one, subject));
        match self.default_subjects {
            DefaultSubjects::All => !listed(&self.removed),
            DefaultSubjects::None => listed(&self.added),
        }
    }

    /// Adds a subject (taking it off the removed list).
    pub fn add_subject(&mut self, subject: Value) -> Result<(), SsfError> {
        self.removed.retain(|one| one != &subject);
        if !self.added.contains(&subject) {
            if self.added.len() >= MAX_SUBJECTS {
                return Err(bad(format!(
                    "a stream holds at most {MAX_SUBJECTS} subjects"
                )));
            }
            self.added.push(subject);
        }
        Ok(())
    }

    /// Removes a subject (putting it on the removed list).
    pub fn remove_subject(&mut self, subject: Value) -> Result<(), SsfError> {
        self.added.retain(|one| one != &subject);
        if !self.removed.contains(&subject) {
            if self.removed.len() >= MAX_SUBJECTS {
                return Err(bad(format!(
                    "a stream holds at most {MAX_SUBJECTS} subjects"
                )));
            }
            self.removed.push(subject);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn complex_subjects_match_on_the_members_both_define() {
        let tenant = json!({"format": "complex", "tenant": {"format": "opaque", "id": "t1"}});
        let event = json!({"format": "complex", "tenant": {"format": "opaque", "id": "t1"},
            "user": {"format": "email", "email": "jdoe@example.com"}});
        assert!(subjects_match(&tenant, &event));
        let narrower = json!({"format": "complex", "user": {"format": "email", "email": "jdoe@example.com"},
            "device": {"format": "opaque", "id": "d"}});
        let user_only =
            json!({"format": "complex", "user": {"format": "email", "email": "jdoe@example.com"}});
        assert!(subjects_match(&narrower, &user_only));
        let other_group = json!({"format": "complex", "user": {"format": "email", "email": "jdoe@example.com"},
            "group": {"format": "opaque", "id": "2"}});
        let group = json!({"format": "complex", "user": {"format": "email", "email": "jdoe@example.com"},
            "group": {"format": "opaque", "id": "1"}});
        assert!(!subjects_match(&group, &other_group));
        let simple = json!({"format": "email", "email": "jdoe@example.com"});
        assert!(subjects_match(&simple, &event));
        assert!(!subjects_match(
            &json!({"format": "email", "email": "x@example.com"}),
            &event
        ));
    }

    #[test]
    fn default_subjects_all_or_none() {
        let mut stream = Stream {
            id: "s".into(),
            receiver: "r".into(),
            aud: "a".into(),
            delivery: Delivery::Poll,
            events_requested: None,
            description: None,
            status: Status::Enabled,
            reason: None,
            default_subjects: DefaultSubjects::All,
            added: Vec::new(),
            removed: Vec::new(),
        };
        let alice = json!({"format": "email", "email": "alice@example.com"});
        assert!(stream.carries(&alice));
        stream.remove_subject(alice.clone()).unwrap();
        assert!(!stream.carries(&alice));
        stream.add_subject(alice.clone()).unwrap();
        assert!(stream.carries(&alice));
        stream.default_subjects = DefaultSubjects::None;
        assert!(stream.carries(&alice));
        assert!(!stream.carries(&json!({"format": "email", "email": "bob@example.com"})));
    }

    #[test]
    fn push_urls_are_https_or_loopback_http() {
        check_push_url("https://receiver.example.com/events").unwrap();
        check_push_url("http://127.0.0.1:8080/events").unwrap();
        check_push_url("http://[::1]:8080/events").unwrap();
        check_push_url("http://localhost/events").unwrap();
        let error = check_push_url("http://receiver.example.com/events").unwrap_err();
        assert_eq!(error.status, 400);
        assert!(error.message.contains("loopback"));
        assert!(check_push_url("ftp://x/").is_err());
        assert!(check_push_url("not a url").is_err());
    }

    #[test]
    fn a_poll_request_reads_the_rfc_8936_names() {
        let request: PollRequest = serde_json::from_str(
            r#"{"maxEvents": 5, "returnImmediately": true, "ack": ["a"], "setErrs": {"b": {"err": "invalid_key", "description": "x"}}}"#,
        )
        .unwrap();
        assert_eq!(request.max_events, Some(5));
        assert!(request.return_immediately);
        assert_eq!(request.set_errs.len(), 1);
        assert!(serde_json::from_str::<PollRequest>(r#"{"maxevents": 5}"#).is_err());
    }
}
