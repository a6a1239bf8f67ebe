//! The decoder interface shared by every input format, and format detection.

use crate::vendor::{LooseFirst, LooseObject, LooseText};
use serde::de::IgnoredAny;
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
    /// A vendor batch (an Event Hub `records` array, a CloudTrail `Records` file, a Graph
    /// `value` page): each member decoded on its own, so one bad member loses nothing else.
    Batch(Vec<Result<Decoded, DecodeError>>),
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
        DecodeError {
            format,
            reason: reason.into(),
        }
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
    meaningful(text).map(str::to_string)
}

/// The trimmed text, unless absent or a placeholder (`""`, `"null"`, `"-"`, `"unknown"`, in
/// any case): the borrowing form of [`present`], and the one home of the placeholder rule.
pub(crate) fn meaningful(text: Option<&str>) -> Option<&str> {
    let text = text?.trim();
    let placeholder = text.is_empty()
        || text.eq_ignore_ascii_case("null")
        || text == "-"
        || text.eq_ignore_ascii_case("unknown");
    (!placeholder).then_some(text)
}

/// The fields whose presence tells formats apart, read in one pass without keeping what
/// is not needed: a field that tells only by being there is skipped (`IgnoredAny`) and
/// flagged, `kind` and `p_log_type` are borrowed, and a wrapper's first member is read the
/// same way (boxed), its other members skipped. See [`SniffVisitor`] for the reading.
#[derive(Default)]
struct Sniff<'a> {
    /// vigil's own record kind (`auth`, `posture`, `access`), or Google's activity kind.
    kind: LooseText<'a>,
    /// Panther's name of the log type it exported (`Okta.SystemLog`, `AWS.CloudTrail`).
    p_log_type: LooseText<'a>,
    /// A Google Workspace activity's `id` object.
    id: LooseObject<IdSniff>,
    /// An EventBridge envelope's event.
    detail: LooseObject<Box<Sniff<'a>>>,
    /// An Event Hub batch (`records`).
    records: LooseFirst<Box<Sniff<'a>>>,
    /// A CloudTrail log file (`Records`).
    records_file: LooseFirst<Box<Sniff<'a>>>,
    /// A Microsoft Graph list response (`value`).
    value: LooseFirst<Box<Sniff<'a>>>,
    /// The fields that tell by their presence.
    has: Presence,
}

/// Which of the telling fields a record has (see [`Presence::flag`] for the names).
#[derive(Default)]
struct Presence {
    class_uid: bool,
    event_type: bool,
    published: bool,
    p_event_time: bool,
    event_name: bool,
    event_source: bool,
    event_time: bool,
    user_identity: bool,
    created_date_time: bool,
    category: bool,
    properties: bool,
    user_principal_name: bool,
    operation: bool,
    workload: bool,
    record_type: bool,
    log_id: bool,
    data: bool,
    json: bool,
    auth0_type: bool,
    date: bool,
    actor: bool,
    events: bool,
    detail_type: bool,
}

impl Presence {
    /// The flag of a field name, found by its first byte among the few names sharing it
    /// (a record's keys are mostly names of no interest, and this is the hot path).
    fn flag(&mut self, name: &str) -> Option<&mut bool> {
        let flag = match name.as_bytes().first()? {
            b'a' if name == "actor" => &mut self.actor,
            b'c' => match name {
                "class_uid" => &mut self.class_uid,
                "category" => &mut self.category,
                "createdDateTime" => &mut self.created_date_time,
                _ => return None,
            },
            b'd' => match name {
                "data" => &mut self.data,
                "date" => &mut self.date,
                "detail-type" => &mut self.detail_type,
                _ => return None,
            },
            b'e' => match name {
                // Panther lowercases some Okta keys.
                "eventType" | "eventtype" => &mut self.event_type,
                "eventName" => &mut self.event_name,
                "eventSource" => &mut self.event_source,
                "eventTime" => &mut self.event_time,
                "events" => &mut self.events,
                _ => return None,
            },
            b'j' if name == "json" => &mut self.json,
            b'l' if name == "log_id" => &mut self.log_id,
            b'p' => match name {
                "published" => &mut self.published,
                "p_event_time" => &mut self.p_event_time,
                "properties" => &mut self.properties,
                _ => return None,
            },
            b't' if name == "type" => &mut self.auth0_type,
            b'u' => match name {
                "userIdentity" => &mut self.user_identity,
                "userPrincipalName" => &mut self.user_principal_name,
                _ => return None,
            },
            b'O' if name == "Operation" => &mut self.operation,
            b'R' if name == "RecordType" => &mut self.record_type,
            b'W' if name == "Workload" => &mut self.workload,
            _ => return None,
        };
        Some(flag)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Sniff<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SniffVisitor {
            lifetime: std::marker::PhantomData,
        })
    }
}

/// Reads a JSON object into a [`Sniff`]: the kept fields by name, every other value
/// skipped and its name looked up in [`Presence::flag`].
struct SniffVisitor<'a> {
    /// Ties the visitor to the borrowed text's lifetime.
    lifetime: std::marker::PhantomData<&'a ()>,
}

impl<'de: 'a, 'a> serde::de::Visitor<'de> for SniffVisitor<'a> {
    type Value = Sniff<'a>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut sniff = Sniff::default();
        while let Some(key) = map.next_key::<LooseText<'de>>()? {
            let name = key.0.as_deref().unwrap_or_default();
            match name {
                "kind" => sniff.kind = map.next_value()?,
                "p_log_type" => sniff.p_log_type = map.next_value()?,
                "id" => sniff.id = map.next_value()?,
                "detail" => sniff.detail = map.next_value()?,
                "records" => sniff.records = map.next_value()?,
                "Records" => sniff.records_file = map.next_value()?,
                "value" => sniff.value = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    if let Some(flag) = sniff.has.flag(name) {
                        *flag = true;
                    }
                }
            }
        }
        Ok(sniff)
    }
}

/// The fields of a Google Workspace activity's `id` object.
#[derive(Deserialize, Default)]
#[serde(default)]
struct IdSniff {
    #[serde(rename = "applicationName")]
    application_name: Option<IgnoredAny>,
}

impl Sniff<'_> {
    /// The format of one record by its own fields, the first rule that matches winning.
    fn record_format(&self) -> Option<Format> {
        // vigil's own contract first: it is the hot path.
        if matches!(self.kind.get(), Some("auth" | "posture" | "access")) {
            return Some(Format::Native);
        }
        if let Some(format) = self.p_log_type.get().and_then(panther_format) {
            return Some(format);
        }
        let gws_id = self.id.get();
        let gws = self.kind.get() == Some("admin#reports#activity")
            || gws_id.is_some_and(|id| id.application_name.is_some())
            || (gws_id.is_some() && self.has.actor && self.has.events);
        if gws {
            return Some(Format::Gws);
        }
        if self.has.class_uid {
            return Some(Format::Ocsf);
        }
        // Okta: `eventType` with its `published`, or with Panther's time in its place (a
        // CloudTrail record has an `eventType` too, but always an `eventName`).
        let okta_time = self.has.published || (self.has.p_event_time && !self.has.event_name);
        if self.has.event_type && okta_time {
            return Some(Format::Okta);
        }
        // CloudTrail: `eventName` with its `eventSource`, or where an export dropped that,
        // with `userIdentity` (no other format has it) and a time.
        let cloudtrail_identity =
            self.has.user_identity && (self.has.event_time || self.has.p_event_time);
        if self.has.event_name && (self.has.event_source || cloudtrail_identity) {
            return Some(Format::Cloudtrail);
        }
        let entra = self.has.created_date_time
            || self.has.user_principal_name
            || (self.has.category && self.has.properties);
        let office_365 = self.has.operation && (self.has.workload || self.has.record_type);
        if entra || office_365 {
            return Some(Format::Entra);
        }
        let auth0 = self.has.log_id
            || self.has.json
            || (self.has.auth0_type && self.has.date)
            || self.has.data;
        auth0.then_some(Format::Auth0)
    }

    /// The format of a wrapper's contents: an EventBridge envelope of a CloudTrail event,
    /// or a batch (`Records`, `records`, `value`) decided by its first member's fields.
    /// Only the Entra and CloudTrail decoders read batches (CloudTrail not Graph's
    /// `value`); an empty batch, or one whose first member says nothing, goes to the
    /// decoder whose vendor writes that wrapper, which judges every member on its own.
    fn batch_format(&self) -> Result<Option<Format>, DecodeError> {
        let detail_event = self
            .detail
            .get()
            .is_some_and(|detail| detail.has.event_name);
        if self.has.detail_type && detail_event {
            return Ok(Some(Format::Cloudtrail));
        }
        let wrappers = [
            ("Records", &self.records_file, Format::Cloudtrail),
            ("records", &self.records, Format::Entra),
            ("value", &self.value, Format::Entra),
        ];
        for (name, wrapper, vendor) in wrappers {
            if !wrapper.array {
                continue;
            }
            return match wrapper.first.as_deref().and_then(Sniff::record_format) {
                None => Ok(Some(vendor)),
                Some(Format::Entra) => Ok(Some(Format::Entra)),
                Some(Format::Cloudtrail) if name != "value" => Ok(Some(Format::Cloudtrail)),
                Some(other) => Err(DecodeError::new(
                    Format::Auto,
                    format!("unrecognised batch: `{name}` holds `{other}` records, and only entra and cloudtrail batches are read"),
                )),
            };
        }
        Ok(None)
    }
}

/// Whether a record opens with a native `kind` (`{"kind":"auth",`, whitespace allowed): the
/// native hot path's check, on bytes, before any parse. Only literal bytes match (an escaped
/// key or value goes to the full sniff), so a match is a record whose first key is `kind`
/// with a native value; whether the rest is valid JSON is the native decoder's to say.
fn opens_as_native(record: &[u8]) -> bool {
    /// The bytes after `token`, once leading whitespace is skipped.
    fn after<'r>(bytes: &'r [u8], token: &[u8]) -> Option<&'r [u8]> {
        bytes.trim_ascii_start().strip_prefix(token)
    }
    let value = after(record, b"{")
        .and_then(|rest| after(rest, b"\"kind\""))
        .and_then(|rest| after(rest, b":"));
    let Some(value) = value else { return false };
    [&b"\"auth\""[..], b"\"posture\"", b"\"access\""]
        .iter()
        .filter_map(|kind| after(value, kind))
        .any(|rest| matches!(rest.trim_ascii_start().first(), Some(b',' | b'}')))
}

/// The format of a Panther log type, for the decoders that read it.
fn panther_format(log_type: &str) -> Option<Format> {
    let format = match log_type {
        "Okta.SystemLog" => Format::Okta,
        "AWS.CloudTrail" => Format::Cloudtrail,
        "Azure.Audit" => Format::Entra,
        "GSuite.ActivityEvent" | "GSuite.Reports" => Format::Gws,
        "Auth0.Events" => Format::Auth0,
        other if other.starts_with("Microsoft365.Audit.") => Format::Entra,
        _ => return None,
    };
    Some(format)
}

/// Recognises the format of one record by the fields only that format has (see
/// [`Sniff::record_format`]), else by what its wrapper holds (see [`Sniff::batch_format`]).
/// A native record that opens with its `kind`, as vigil writes them, is told from its first
/// bytes without a parse (see [`opens_as_native`]).
pub fn detect(record: &[u8]) -> Result<Format, DecodeError> {
    if opens_as_native(record) {
        return Ok(Format::Native);
    }
    let sniff: Sniff<'_> =
        serde_json::from_slice(record).map_err(|error| DecodeError::json(Format::Auto, &error))?;
    if let Some(format) = sniff.record_format() {
        return Ok(format);
    }
    if let Some(format) = sniff.batch_format()? {
        return Ok(format);
    }
    Err(DecodeError::new(
        Format::Auto,
        "unrecognised record: no field of any known format (`kind`, `p_log_type`, `class_uid`, `eventType`, `eventName`, `createdDateTime`, `Operation`, `log_id`, `id.applicationName`, `detail-type`, `records`, `Records`, `value`)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    /// How a sample file holds its records.
    #[derive(Clone, Copy)]
    enum Holds {
        /// One record a line.
        Lines,
        /// Panther rule tests: the record is each line's `log`.
        Panther,
        /// One pretty-printed record.
        Whole,
    }

    /// Every sample file the decoder tests read, with the format it is of.
    fn samples() -> Vec<(Format, String, Holds)> {
        use Holds::{Lines, Panther, Whole};
        let mut samples = vec![
            (Format::Okta, crate::okta::tests::ELASTIC, Lines),
            (Format::Okta, crate::okta::tests::PANTHER, Panther),
            (Format::Okta, crate::okta::tests::OCSF_RAW, Whole),
            (Format::Entra, crate::entra::tests::ELASTIC, Lines),
            (Format::Entra, crate::entra::tests::PANTHER_AZURE, Panther),
            (Format::Entra, crate::entra::tests::PANTHER_M365, Panther),
            (Format::Entra, crate::entra::tests::GRAPH_RESPONSE, Whole),
            (
                Format::Cloudtrail,
                crate::cloudtrail::tests::PANTHER,
                Panther,
            ),
            (
                Format::Cloudtrail,
                crate::cloudtrail::tests::SCENARIO_ATTACKER,
                Lines,
            ),
            (
                Format::Cloudtrail,
                crate::cloudtrail::tests::SCENARIO_VICTIM,
                Lines,
            ),
            (
                Format::Cloudtrail,
                crate::cloudtrail::tests::OCSF_IDENTITY_CENTER,
                Whole,
            ),
            (Format::Auth0, crate::auth0::tests::SUCCESS_SAMPLES, Lines),
            (Format::Auth0, crate::auth0::tests::FAILURE_SAMPLES, Lines),
            (Format::Auth0, crate::auth0::tests::PANTHER_SAMPLES, Panther),
            (Format::Gws, crate::gws::tests::ELASTIC_SAMPLES, Lines),
            (Format::Gws, crate::gws::tests::PANTHER_SAMPLES, Panther),
        ];
        for console_login in crate::cloudtrail::tests::OCSF_CONSOLE_LOGINS {
            samples.push((Format::Cloudtrail, console_login, Whole));
        }
        let mut owned: Vec<(Format, String, Holds)> = samples
            .into_iter()
            .map(|(format, relative, holds)| (format, relative.to_string(), holds))
            .collect();
        let examples = crate::ocsf::tests::EXAMPLES;
        if let Some(root) = testdata::shared(examples) {
            let suffixes = crate::ocsf::tests::EXAMPLE_SUFFIXES;
            for path in crate::ocsf::tests::files(&root, &suffixes) {
                let relative = path.strip_prefix(&root).expect("under the examples");
                let relative = format!("{examples}/{}", relative.display());
                owned.push((Format::Ocsf, relative, Whole));
            }
        }
        owned
    }

    /// The records of a sample file, `None` when the file is absent outside CI.
    fn records(relative: &str, holds: Holds) -> Option<Vec<String>> {
        match holds {
            Holds::Lines => testdata::lines(relative),
            Holds::Panther => testdata::panther_logs(relative)
                .map(|logs| logs.into_iter().map(|(_, log)| log).collect()),
            Holds::Whole => testdata::whole(relative).map(|record| vec![record]),
        }
    }

    #[test]
    fn every_decoder_sample_is_detected_as_its_own_format() {
        let mut checked = 0;
        for (format, relative, holds) in samples() {
            let Some(records) = records(&relative, holds) else {
                continue;
            };
            for record in records {
                let detected = detect(record.as_bytes());
                match crate::decode(format, record.as_bytes()) {
                    Ok(_) => assert_eq!(detected, Ok(format), "{relative}: {record}"),
                    // Fixtures trimmed past use (no time, no event type) may go unrecognised,
                    // never taken for another format.
                    Err(_) => assert!(
                        detected.is_err() || detected == Ok(format),
                        "{relative}: {detected:?} for {record}"
                    ),
                }
                checked += 1;
            }
        }
        if testdata::shared(crate::ocsf::tests::EXAMPLES).is_some() {
            // 109 Okta, 12 OCSF, 58 Entra, 56 CloudTrail, 67 Auth0 and 40 Google records.
            assert_eq!(checked, 342);
        }
    }

    #[test]
    fn native_first_whatever_else_the_record_has() {
        let record = br#"{"kind":"auth","p_log_type":"Okta.SystemLog","eventType":"x","published":"y","records":[]}"#;
        assert_eq!(detect(record), Ok(Format::Native));
        // Not opening with `kind`, or spelled with an escape: the full sniff still knows it.
        let later = br#"{"p_log_type":"Okta.SystemLog","kind":"posture"}"#;
        assert_eq!(detect(later), Ok(Format::Native));
        assert_eq!(detect(br#"{"\u006bind":"access"}"#), Ok(Format::Native));
        assert!(detect(br#"{"kind":"weird"}"#).is_err());
        assert!(
            detect(br#"{"kind":"auth"#).is_err(),
            "cut before the value ends"
        );
    }

    #[test]
    fn native_opening_is_read_from_the_bytes() {
        for opening in [
            r#"{"kind":"auth","time":"x"}"#,
            r#" { "kind" : "posture" , "time":"x"}"#,
            "{\n  \"kind\": \"access\"\n}",
            r#"{"kind":"auth"}"#,
        ] {
            assert!(opens_as_native(opening.as_bytes()), "{opening}");
        }
        for other in [
            r#"{"kind":"authx","time":"x"}"#,
            r#"{"kind":"auth"#,
            r#"{"kind":"Auth","time":"x"}"#,
            r#"{"time":"x","kind":"auth"}"#,
            r#"{"kind":["auth"]}"#,
            r#"["kind","auth"]"#,
            r#"{"kind":"#,
            "",
        ] {
            assert!(!opens_as_native(other.as_bytes()), "{other}");
        }
    }

    #[test]
    fn panther_log_type_names_the_format() {
        let cases = [
            (
                r#"{"p_log_type":"Okta.SystemLog","eventType":"logout"}"#,
                Format::Okta,
            ),
            (
                r#"{"p_log_type":"AWS.CloudTrail","eventName":"ConsoleLogin"}"#,
                Format::Cloudtrail,
            ),
            (
                r#"{"p_log_type":"Azure.Audit","category":"AuditLogs"}"#,
                Format::Entra,
            ),
            (
                r#"{"p_log_type":"Microsoft365.Audit.AzureActiveDirectory"}"#,
                Format::Entra,
            ),
            (
                r#"{"p_log_type":"GSuite.ActivityEvent","name":"login_success"}"#,
                Format::Gws,
            ),
            (r#"{"p_log_type":"Auth0.Events","type":"s"}"#, Format::Auth0),
        ];
        for (record, format) in cases {
            assert_eq!(detect(record.as_bytes()), Ok(format), "{record}");
        }
        // A log type no decoder reads decides nothing; the fields still do.
        let other = r#"{"p_log_type":"Duo.Authentication","eventType":"x","published":"y"}"#;
        assert_eq!(detect(other.as_bytes()), Ok(Format::Okta));
    }

    #[test]
    fn okta_and_cloudtrail_without_their_usual_fields() {
        let cases = [
            (
                r#"{"eventType":"user.session.start","p_event_time":"2024-05-01 10:00:00"}"#,
                Ok(Format::Okta),
            ),
            (
                r#"{"eventtype":"user.session.start","published":"2024-05-01T10:00:00Z"}"#,
                Ok(Format::Okta),
            ),
            // CloudTrail has an `eventType` too, and Panther's time beside it.
            (
                r#"{"eventType":"AwsConsoleSignIn","eventName":"ConsoleLogin","p_event_time":"2024-05-01 10:00:00","userIdentity":{}}"#,
                Ok(Format::Cloudtrail),
            ),
            (
                r#"{"eventName":"ConsoleLogin","eventTime":"2024-05-01T10:00:00Z","userIdentity":{"type":"Root"}}"#,
                Ok(Format::Cloudtrail),
            ),
            (
                r#"{"eventName":"ConsoleLogin","p_event_time":"2024-05-01 10:00:00","userIdentity":{"type":"Root"}}"#,
                Ok(Format::Cloudtrail),
            ),
        ];
        for (record, expected) in cases {
            assert_eq!(detect(record.as_bytes()), expected, "{record}");
        }
        for unrecognised in [
            r#"{"eventType":"user.session.start"}"#,
            r#"{"eventName":"ConsoleLogin","eventTime":"2024-05-01T10:00:00Z"}"#,
            r#"{"eventName":"ConsoleLogin","userIdentity":{}}"#,
        ] {
            assert!(detect(unrecognised.as_bytes()).is_err(), "{unrecognised}");
        }
    }

    #[test]
    fn office_365_records_are_entra() {
        let logon = r#"{"CreationTime":"2022-12-12T15:57:57","Operation":"UserLoginFailed","RecordType":15,"UserId":"a@example.com"}"#;
        assert_eq!(detect(logon.as_bytes()), Ok(Format::Entra));
        let exchange = r#"{"Operation":"MailItemsAccessed","Workload":"Exchange"}"#;
        assert_eq!(detect(exchange.as_bytes()), Ok(Format::Entra));
        assert!(detect(br#"{"Operation":"Something"}"#).is_err());
    }

    #[test]
    fn wrappers_are_decided_by_their_first_member() {
        let cloudtrail = r#"{"eventName":"PutObject","eventSource":"s3.amazonaws.com"}"#;
        let entra = r#"{"category":"SignInLogs","properties":{}}"#;
        let okta = r#"{"eventType":"user.session.start","published":"2024-05-01T10:00:00Z"}"#;
        let cases = [
            (
                format!(r#"{{"Records":[{cloudtrail},1,"two"]}}"#),
                Ok(Format::Cloudtrail),
            ),
            (
                format!(r#"{{"records":[{entra},{cloudtrail}]}}"#),
                Ok(Format::Entra),
            ),
            (
                format!(r#"{{"records":[{cloudtrail}]}}"#),
                Ok(Format::Cloudtrail),
            ),
            (
                format!(r#"{{"value":[{entra}],"@odata.context":"x"}}"#),
                Ok(Format::Entra),
            ),
            // A first member that says nothing goes to the vendor that writes the wrapper.
            (r#"{"Records":[]}"#.to_string(), Ok(Format::Cloudtrail)),
            (r#"{"records":[]}"#.to_string(), Ok(Format::Entra)),
            (r#"{"value":[42]}"#.to_string(), Ok(Format::Entra)),
            (
                r#"{"records":[{"records":[]}]}"#.to_string(),
                Ok(Format::Entra),
            ),
            (
                format!(
                    r#"{{"version":"0","id":"e-1","detail-type":"AWS API Call via CloudTrail","detail":{cloudtrail}}}"#
                ),
                Ok(Format::Cloudtrail),
            ),
        ];
        for (record, expected) in cases {
            assert_eq!(detect(record.as_bytes()), expected, "{record}");
        }
        for unread in [
            format!(r#"{{"value":[{cloudtrail}]}}"#),
            format!(r#"{{"records":[{okta}]}}"#),
            r#"{"records":"not an array"}"#.to_string(),
            r#"{"detail-type":"Scheduled Event","detail":{}}"#.to_string(),
        ] {
            assert!(detect(unread.as_bytes()).is_err(), "{unread}");
        }
        let error = detect(format!(r#"{{"value":[{okta}]}}"#).as_bytes()).unwrap_err();
        assert_eq!(error.reason, "unrecognised batch: `value` holds `okta` records, and only entra and cloudtrail batches are read");
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_shaped_records(json in testdata::shaped_records()) {
            let _ = detect(json.as_bytes());
            let _ = crate::decode(Format::Auto, json.as_bytes());
        }

        #[test]
        fn native_openings_agree_with_the_full_sniff(
            kind in "(auth|posture|access|other)",
            space in "[ \n]{0,2}",
            rest in "[{}\\[\\]\":,. a-z0-9]{0,40}",
        ) {
            let record = format!("{{{space}\"kind\"{space}:{space}\"{kind}\"{space}{rest}");
            if opens_as_native(record.as_bytes()) {
                let sniff: Result<Sniff<'_>, _> = serde_json::from_str(&record);
                if let Ok(sniff) = sniff {
                    proptest::prop_assert_eq!(sniff.record_format(), Some(Format::Native));
                }
            }
        }
    }
}
