//! Decoder for OCSF Authentication events (class 3002, schema 1.0 to 1.9).
//!
//! Logons, Kerberos ticket requests and logoffs become auth events; other OCSF classes,
//! account switches (`su`, `runas`) and activities the producer could not name (`0`, `99`)
//! are [`Decoded::Skipped`] with a reason.
//!
//! Producers follow the schema loosely, so the record is read leniently (see
//! [`crate::okta::LooseText`]) and a few common deviations are accepted: `time` in seconds
//! instead of milliseconds (the OCSF project's own Okta example), `status` without
//! `status_id`, a country name instead of its alpha-2 code, the deprecated
//! `location.coordinates` pair, and 1.0.0-rc.2's `mfa` for `is_mfa`.
//!
//! Field choices:
//! - the identity is the authentication's subject, `user`, falling back to `actor.user`
//!   (for Windows logons they differ: the actor is the requesting process's account);
//!   within it `email_addr`, then `name` (as `DOMAIN\name` when a domain is given), then
//!   `uid`, then `uid_alt`;
//! - the app is `service.name` ("the service or gateway to which the user is being
//!   authenticated"); top-level `app` is the product that reported the event, not the app
//!   signed in to, and is not used;
//! - the device is `device.uid`, else `device.hostname`: for Windows logons that is the
//!   host logged on to, not the client's device.

use crate::decode::{parse_ip, DecodeError, Decoded, Format};
use crate::okta::{
    bounded_id, normalize_factor, vendor_geo, LooseList, LooseNumber, LooseObject, LooseText,
    NOT_AN_OBJECT,
};
use serde::Deserialize;
use vigil_schemas::{AuthAction, AuthDetail, Detail, Event, Geo, IdentityType, Outcome, Timestamp};

const FORMAT: Format = Format::Ocsf;

/// The OCSF class this decoder reads.
const AUTHENTICATION_CLASS: i64 = 3002;

/// Epoch values below this magnitude are read as seconds rather than milliseconds: 1e11 ms
/// is 1973-03-03 and 1e11 s is the year 5138, so no authentication log is ambiguous, and
/// producers do write seconds (the OCSF project's Okta example has `time` 1723564700).
const SECONDS_BELOW: f64 = 1e11;

/// 0001-01-01T00:00:00Z in microseconds: [`Timestamp`] is written as RFC 3339, whose
/// years run from 1 to 9999.
const MIN_MICROS: f64 = -62_135_596_800_000_000.0;
/// 9999-12-31T23:59:59.999999Z in microseconds, see [`MIN_MICROS`].
const MAX_MICROS: f64 = 253_402_300_799_999_999.0;

/// Why a record of another class is skipped.
const SKIP_CLASS: &str = "ocsf class is not authentication (`class_uid` 3002)";
/// Why an account switch is skipped.
const SKIP_ACCOUNT_SWITCH: &str = "ocsf account switch (`activity_id` 7) is not a sign-in";
/// Why an unnamed activity is skipped.
const SKIP_ACTIVITY: &str =
    "ocsf authentication activity is unknown or other (`activity_id` 0, 99 or unlisted)";
/// Why an authentication whose outcome cannot be told is skipped.
const SKIP_OUTCOME: &str =
    "ocsf authentication outcome is unknown (`status_id` and `status` absent, 0 or 99)";

/// The fields of an OCSF Authentication event that vigil reads.
#[derive(Deserialize, Default)]
#[serde(default)]
struct OcsfRecord<'a> {
    /// 3002 for Authentication.
    class_uid: LooseNumber,
    /// 1 Logon, 2 Logoff, 3 Authentication Ticket, 4 Service Ticket Request, 5 Service
    /// Ticket Renew, 6 Preauth, 7 Account Switch, 0 Unknown, 99 Other.
    activity_id: LooseNumber,
    /// 1 Success, 2 Failure, 0 Unknown, 99 Other.
    status_id: LooseNumber,
    /// The status caption, or the source's label when `status_id` is 99.
    #[serde(borrow)]
    status: LooseText<'a>,
    /// Why, in words ("Unknown user name or bad password.").
    #[serde(borrow)]
    status_detail: LooseText<'a>,
    /// The source's code (`0xC000006D`).
    #[serde(borrow)]
    status_code: LooseText<'a>,
    /// Epoch milliseconds.
    time: LooseNumber,
    /// RFC 3339, from the `datetime` profile.
    #[serde(borrow)]
    time_dt: LooseText<'a>,
    /// The subject of the authentication.
    #[serde(borrow)]
    user: LooseObject<User<'a>>,
    /// Who requested it.
    #[serde(borrow)]
    actor: LooseObject<Actor<'a>>,
    /// The session.
    #[serde(borrow)]
    session: LooseObject<Session<'a>>,
    /// The device (the host profile's reporting device).
    #[serde(borrow)]
    device: LooseObject<Device<'a>>,
    /// Where the attempt came from.
    #[serde(borrow)]
    src_endpoint: LooseObject<Endpoint<'a>>,
    /// The HTTP request behind it.
    #[serde(borrow)]
    http_request: LooseObject<HttpRequest<'a>>,
    /// The service authenticated to.
    #[serde(borrow)]
    service: LooseObject<Service<'a>>,
    /// The record's id.
    #[serde(borrow)]
    metadata: LooseObject<Metadata<'a>>,
    /// Whether MFA was used (`mfa` in 1.0.0-rc.2).
    #[serde(borrow, alias = "mfa")]
    is_mfa: LooseText<'a>,
    /// The factors used.
    #[serde(borrow)]
    auth_factors: LooseList<AuthFactor<'a>>,
    /// 1 System, 4 Batch and 5 OS Service are logons of services.
    logon_type_id: LooseNumber,
}

/// The `user` object.
#[derive(Deserialize, Default)]
#[serde(default)]
struct User<'a> {
    /// Email address.
    #[serde(borrow)]
    email_addr: LooseText<'a>,
    /// Username.
    #[serde(borrow)]
    name: LooseText<'a>,
    /// Domain of the username (Windows, LDAP).
    #[serde(borrow)]
    domain: LooseText<'a>,
    /// Unique id (SID, ARN, IdP id).
    #[serde(borrow)]
    uid: LooseText<'a>,
    /// Alternate id.
    #[serde(borrow)]
    uid_alt: LooseText<'a>,
    /// 1 User, 2 Admin, 3 System, 4 Service, 99 Other.
    type_id: LooseNumber,
}

impl User<'_> {
    /// The identity this user is known by: see the module documentation.
    fn identifier(&self) -> Option<String> {
        if let Some(email) = self.email_addr.get() {
            return Some(email.to_string());
        }
        if let Some(name) = self.name.get() {
            let qualified = name.contains('@') || name.contains('\\');
            return match self.domain.get() {
                Some(domain) if !qualified => Some(format!("{domain}\\{name}")),
                _ => Some(name.to_string()),
            };
        }
        self.uid
            .get()
            .or_else(|| self.uid_alt.get())
            .map(str::to_string)
    }

    /// Whether the user is a system or service account.
    fn is_service(&self) -> bool {
        let by_type = matches!(self.type_id.integer(), Some(3 | 4));
        // Windows computer accounts end with `$`.
        let machine_account = self.name.get().is_some_and(|name| name.ends_with('$'));
        by_type || machine_account
    }
}

/// The `actor` object.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Actor<'a> {
    /// The requesting user.
    #[serde(borrow)]
    user: LooseObject<User<'a>>,
    /// The requesting session.
    #[serde(borrow)]
    session: LooseObject<Session<'a>>,
}

/// The `session` object.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Session<'a> {
    /// The session id.
    #[serde(borrow)]
    uid: LooseText<'a>,
}

/// The `device` object.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Device<'a> {
    /// The device id.
    #[serde(borrow)]
    uid: LooseText<'a>,
    /// The hostname.
    #[serde(borrow)]
    hostname: LooseText<'a>,
}

/// The `src_endpoint` object.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Endpoint<'a> {
    /// The address.
    #[serde(borrow)]
    ip: LooseText<'a>,
    /// Where it is.
    #[serde(borrow)]
    location: LooseObject<Location<'a>>,
    /// Who routes it.
    autonomous_system: LooseObject<AutonomousSystem>,
}

/// The `location` object.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Location<'a> {
    /// Latitude.
    lat: LooseNumber,
    /// Longitude.
    long: LooseNumber,
    /// `[longitude, latitude]`, deprecated since 1.2.0; any JSON value, read by
    /// [`coordinate_pair`].
    coordinates: serde_json::Value,
    /// City.
    #[serde(borrow)]
    city: LooseText<'a>,
    /// Alpha-2 code by the schema, a country name in practice too.
    #[serde(borrow)]
    country: LooseText<'a>,
}

impl Location<'_> {
    /// The location in vigil's form, when anything usable is known.
    fn geo(&self) -> Option<Geo> {
        let (lat, lon) = match (self.lat.0, self.long.0) {
            (Some(lat), Some(lon)) => (Some(lat), Some(lon)),
            _ => coordinate_pair(&self.coordinates),
        };
        vendor_geo(lat, lon, self.city.get(), self.country.get())
    }
}

/// `location.coordinates`, a GeoJSON `[longitude, latitude]` pair: the first two
/// elements when the value is an array of exactly two finite numbers.
fn coordinate_pair(value: &serde_json::Value) -> (Option<f64>, Option<f64>) {
    let Some([longitude, latitude]) = value.as_array().map(Vec::as_slice) else {
        return (None, None);
    };
    let finite = |number: &serde_json::Value| number.as_f64().filter(|number| number.is_finite());
    match (finite(latitude), finite(longitude)) {
        (Some(latitude), Some(longitude)) => (Some(latitude), Some(longitude)),
        _ => (None, None),
    }
}

/// The `autonomous_system` object.
#[derive(Deserialize, Default)]
#[serde(default)]
struct AutonomousSystem {
    /// The AS number.
    number: LooseNumber,
}

/// The `http_request` object.
#[derive(Deserialize, Default)]
#[serde(default)]
struct HttpRequest<'a> {
    /// The `User-Agent` header.
    #[serde(borrow)]
    user_agent: LooseText<'a>,
}

/// The `service` object.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Service<'a> {
    /// The service's name.
    #[serde(borrow)]
    name: LooseText<'a>,
}

/// The `metadata` object.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Metadata<'a> {
    /// The record's unique id.
    #[serde(borrow)]
    uid: LooseText<'a>,
}

/// An `auth_factors[]` element.
#[derive(Deserialize, Default)]
#[serde(default)]
struct AuthFactor<'a> {
    /// The factor's caption or the source's name for it.
    #[serde(borrow)]
    factor_type: LooseText<'a>,
    /// 1 SMS, 2 Security Question, 3 Phone Call, 4 Biometric, 5 Push Notification,
    /// 6 Hardware Token, 7 OTP, 8 Email, 9 U2F, 10 WebAuthn, 11 Password, 99 Other.
    factor_type_id: LooseNumber,
}

impl AuthFactor<'_> {
    /// The factor in vigil's vocabulary.
    fn name(&self) -> Option<String> {
        let known = match self.factor_type_id.integer() {
            Some(1) => "sms",
            Some(2) => "security_question",
            Some(3) => "voice",
            Some(4) => "biometric",
            Some(5) => "push",
            Some(6 | 7) => "otp",
            Some(8) => "email",
            Some(9 | 10) => "webauthn",
            Some(11) => "password",
            _ => return self.factor_type.get().and_then(normalize_factor),
        };
        Some(known.to_string())
    }
}

/// What an activity becomes.
fn action(activity_id: i64) -> Result<AuthAction, &'static str> {
    match activity_id {
        // A Kerberos TGT request (3) and preauthentication (6) are where the password is
        // checked: sign-ins, and their failures are password failures.
        1 | 3 | 6 => Ok(AuthAction::Login),
        2 => Ok(AuthAction::Logout),
        // Service tickets are obtained and renewed with an existing TGT: the session goes on.
        4 | 5 => Ok(AuthAction::TokenRefresh),
        7 => Err(SKIP_ACCOUNT_SWITCH),
        _ => Err(SKIP_ACTIVITY),
    }
}

/// The outcome, from `status_id`, else from the `status` label.
fn outcome(raw: &OcsfRecord<'_>) -> Option<Outcome> {
    match raw.status_id.integer() {
        Some(1) => return Some(Outcome::Success),
        Some(2) => return Some(Outcome::Failure),
        _ => {}
    }
    let label = raw.status.get()?.to_ascii_lowercase();
    match label.as_str() {
        "success" | "succeeded" | "ok" => Some(Outcome::Success),
        "failure" | "failed" | "fail" | "error" => Some(Outcome::Failure),
        "denied" | "deny" | "blocked" | "rejected" => Some(Outcome::Denied),
        "timeout" | "timed out" | "expired" => Some(Outcome::Timeout),
        _ => None,
    }
}

/// The vendor's reason for an outcome other than success: `status_detail`, else
/// `status_code`, else a `status` that is more than a caption.
fn reason(raw: &OcsfRecord<'_>) -> Option<String> {
    if let Some(detail) = raw.status_detail.get().or_else(|| raw.status_code.get()) {
        return Some(detail.to_string());
    }
    let status = raw.status.get()?;
    let caption = ["success", "failure", "unknown", "other"]
        .iter()
        .any(|caption| status.eq_ignore_ascii_case(caption));
    (!caption).then(|| status.to_string())
}

/// An epoch value (milliseconds, or seconds below [`SECONDS_BELOW`]) as a timestamp.
fn epoch_time(value: f64) -> Result<Timestamp, DecodeError> {
    let micros = if value.abs() < SECONDS_BELOW {
        value * 1e6
    } else {
        value * 1e3
    };
    if !(MIN_MICROS..=MAX_MICROS).contains(&micros) {
        return Err(DecodeError::invalid(
            FORMAT,
            "time",
            format!("{value} is outside the years 1 to 9999"),
        ));
    }
    Ok(Timestamp(micros.round() as i64))
}

/// The event time: `time`, else `time_dt`.
fn event_time(raw: &OcsfRecord<'_>) -> Result<Timestamp, DecodeError> {
    if let Some(value) = raw.time.0 {
        return epoch_time(value);
    }
    let text = raw
        .time_dt
        .get()
        .ok_or_else(|| DecodeError::missing(FORMAT, "time"))?;
    Timestamp::parse(text).map_err(|error| DecodeError::invalid(FORMAT, "time_dt", error))
}

/// The factor used: the first factor other than a password (the second factor says more),
/// else the first; else `mfa` when only `is_mfa` says one was used.
fn factor(raw: &OcsfRecord<'_>) -> Option<String> {
    let names: Vec<String> = raw
        .auth_factors
        .0
        .iter()
        .filter_map(AuthFactor::name)
        .collect();
    let strongest = names
        .iter()
        .find(|name| name.as_str() != "password")
        .or_else(|| names.first());
    if let Some(name) = strongest {
        return Some(name.clone());
    }
    let mfa = raw
        .is_mfa
        .get()
        .is_some_and(|flag| flag.eq_ignore_ascii_case("true"));
    mfa.then(|| "mfa".to_string())
}

/// Decodes one OCSF record.
pub(crate) fn decode(record: &[u8]) -> Result<Decoded, DecodeError> {
    let parsed: LooseObject<OcsfRecord<'_>> =
        serde_json::from_slice(record).map_err(|error| DecodeError::json(FORMAT, &error))?;
    let Some(raw) = parsed.0 else {
        return Err(DecodeError::new(FORMAT, NOT_AN_OBJECT));
    };
    let class = raw
        .class_uid
        .integer()
        .ok_or_else(|| DecodeError::missing(FORMAT, "class_uid"))?;
    if class != AUTHENTICATION_CLASS {
        return Ok(Decoded::Skipped(SKIP_CLASS));
    }
    let activity = raw
        .activity_id
        .integer()
        .ok_or_else(|| DecodeError::missing(FORMAT, "activity_id"))?;
    let action = match action(activity) {
        Ok(action) => action,
        Err(reason) => return Ok(Decoded::Skipped(reason)),
    };
    let outcome = match (outcome(&raw), action) {
        (Some(outcome), _) => outcome,
        // Logoffs often carry no status: a session that ended, ended.
        (None, AuthAction::Logout) => Outcome::Success,
        (None, _) => return Ok(Decoded::Skipped(SKIP_OUTCOME)),
    };
    let time = event_time(&raw)?;

    let actor = raw.actor.get();
    let subject = [raw.user.get(), actor.and_then(|actor| actor.user.get())]
        .into_iter()
        .flatten()
        .find_map(|user| user.identifier().map(|identifier| (user, identifier)));
    let Some((subject, identifier)) = subject else {
        return Err(DecodeError::missing(FORMAT, "user"));
    };
    let identity = bounded_id(FORMAT, Some(&identifier), "user")?;
    let service_logon = matches!(raw.logon_type_id.integer(), Some(1 | 4 | 5));
    let identity_type = if subject.is_service() || service_logon {
        IdentityType::Service
    } else {
        IdentityType::User
    };

    let session = raw
        .session
        .get()
        .and_then(|session| session.uid.get())
        .or_else(|| {
            actor
                .and_then(|actor| actor.session.get())
                .and_then(|session| session.uid.get())
        });
    let device = raw
        .device
        .get()
        .and_then(|device| device.uid.get().or_else(|| device.hostname.get()));
    let source = raw.src_endpoint.get();
    let reason = match outcome {
        Outcome::Success => None,
        _ => reason(&raw),
    };
    Ok(Decoded::Event(Box::new(Event {
        time,
        identity,
        identity_type,
        session_id: bounded_id(FORMAT, session, "session.uid")?,
        device_id: bounded_id(FORMAT, device, "device.uid")?,
        ip: source.and_then(|source| source.ip.get()).and_then(parse_ip),
        geo: source
            .and_then(|source| source.location.get())
            .and_then(Location::geo),
        asn: source
            .and_then(|source| source.autonomous_system.get())
            .and_then(|system| system.number.asn()),
        user_agent: raw
            .http_request
            .get()
            .and_then(|request| request.user_agent.get())
            .map(str::to_string),
        app: raw
            .service
            .get()
            .and_then(|service| service.name.get())
            .map(str::to_string),
        event_id: raw
            .metadata
            .get()
            .and_then(|metadata| metadata.uid.get())
            .map(str::to_string),
        detail: Detail::Auth(AuthDetail {
            action,
            outcome,
            factor: factor(&raw),
            reason,
        }),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;
    use proptest::prelude::*;
    use std::path::{Path, PathBuf};

    /// The OCSF project's examples, verbatim.
    const EXAMPLES: &str = "ocsf/examples";
    /// Okta `user.session.start` mapped to OCSF 1.3.0.
    const OKTA_OCSF: &str = "ocsf/examples/mappings/markdown/Okta/v1.3.0/System Logs/Authentication/samples/authentication.ocsf";
    /// The raw Okta record the Okta example was mapped from.
    const OKTA_RAW: &str = "ocsf/examples/mappings/markdown/Okta/v1.3.0/System Logs/Authentication/samples/authentication.raw";
    /// Windows 4625, a failed logon, OCSF 1.0.0-rc.2.
    const WINDOWS_4625: &str =
        "ocsf/examples/mappings/markdown/Microsoft/Windows Events/4625/4625_0.json";
    /// Windows 4624, a service logon.
    const WINDOWS_4624: &str =
        "ocsf/examples/mappings/markdown/Microsoft/Windows Events/4624/4624_0.json";
    /// AWS CloudTrail `ConsoleLogin` in OCSF 1.1.0 (bloblang mapping).
    const AWS_1_1: &str = "ocsf/examples/mappings/bloblang/AWS/CloudTrail/v1.1.0/Authentication/OCSF_authentication.json";
    /// The same login in 1.1.0 without `status_id`.
    const AWS_1_1_MARKDOWN: &str = "ocsf/examples/mappings/markdown/AWS/v1.1.0/CloudTrail/Authentication/samples/authentication.ocsf";
    /// The same login in 1.0.0-rc.2.
    const AWS_RC2: &str = "ocsf/examples/mappings/markdown/AWS/v1.0.0-rc.2/CloudTrail/Authentication/samples/authentication.ocsf";
    /// Upstream has a trailing comma after `api.service`: not JSON.
    const AWS_1_5_BROKEN: &str =
        "mappings/markdown/AWS/v1.5.0/CloudTrail/Authentication/samples/authentication.ocsf";
    /// GitHub `business.sso_response`: a logon with neither `status_id` nor `status`.
    const GITHUB: &str = "ocsf/examples/mappings/markdown/GitHub/v1.3.0/Github Audit Logs/Authentication/samples/authentication.ocsf";

    /// A whole shared sample file (the examples are pretty-printed, one record a file).
    fn read(relative: &str) -> Option<String> {
        Some(std::fs::read_to_string(testdata::shared(relative)?).expect("sample readable"))
    }

    /// A timestamp from RFC 3339 text.
    fn time(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    /// The auth fields of an event that must have them.
    fn auth(event: &Event) -> &AuthDetail {
        event.auth().unwrap()
    }

    /// Decodes through the crate's entry point, as replay does.
    fn decode_json(json: &str) -> Result<Decoded, DecodeError> {
        crate::decode(Format::Ocsf, json.as_bytes())
    }

    /// A minimal Authentication event with extra fields, for synthetic cases.
    fn record(extra: &str) -> String {
        format!(r#"{{"class_uid":3002,"time":1714557600000,"user":{{"name":"alice"}}{extra}}}"#)
    }

    /// Every file under `dir` whose name ends with one of `suffixes`, sorted.
    fn files(dir: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(folder) = pending.pop() {
            for entry in std::fs::read_dir(folder).expect("examples readable") {
                let path = entry.expect("entry readable").path();
                if path.is_dir() {
                    pending.push(path);
                } else if suffixes
                    .iter()
                    .any(|suffix| path.to_string_lossy().ends_with(suffix))
                {
                    found.push(path);
                }
            }
        }
        found.sort();
        found
    }

    #[test]
    fn okta_example_decodes_field_by_field() {
        let Some(text) = read(OKTA_OCSF) else { return };
        let event = testdata::event(Format::Ocsf, &text);
        // `time` is 1723564700: seconds, not the schema's milliseconds.
        assert_eq!(event.time, time("2024-08-13T15:58:20Z"));
        assert_eq!(
            event.identity.as_deref(),
            Some("john.doe@example.com"),
            "`user.email_addr` before `user.name`"
        );
        assert_eq!(event.identity_type, IdentityType::User);
        assert_eq!(
            event.session_id.as_deref(),
            Some("idxBager62CSveUkTxvgRtonA"),
            "`actor.session.uid`"
        );
        assert_eq!(event.device_id.as_deref(), Some("guofdhyjex1feOgbN1d9"));
        assert_eq!(event.ip, Some("10.0.0.1".parse().unwrap()));
        let geo = event.geo.clone().unwrap();
        // `location.country` is "United States", a name where the schema wants alpha-2.
        assert_eq!(
            (
                geo.lat,
                geo.lon,
                geo.city.as_deref(),
                geo.country.as_deref()
            ),
            (Some(40.3157), Some(-74.01), Some("New York"), Some("US"))
        );
        assert_eq!(event.asn, Some(394089));
        assert!(event
            .user_agent
            .as_deref()
            .unwrap()
            .contains("Chrome/127.0.0.0"));
        assert_eq!(
            event.app, None,
            "no `service`; `dst_endpoint.svc_name` is a URL path"
        );
        assert_eq!(
            event.event_id.as_deref(),
            Some("dc9fd3c0-598c-11ef-8478-2b7584bf8d5a")
        );
        let detail = auth(&event);
        assert_eq!(
            (
                detail.action,
                detail.outcome,
                detail.factor.as_deref(),
                detail.reason.as_deref()
            ),
            (AuthAction::Login, Outcome::Success, None, None)
        );
    }

    #[test]
    fn okta_example_agrees_with_its_raw_okta_record() {
        let (Some(mapped), Some(raw)) = (read(OKTA_OCSF), read(OKTA_RAW)) else {
            return;
        };
        let from_ocsf = testdata::event(Format::Ocsf, &mapped);
        let from_okta = testdata::event(Format::Okta, &raw);
        // The mapping truncated the time to seconds and left the targets (the app) unmapped.
        assert_eq!(from_okta.time.as_secs(), from_ocsf.time.as_secs());
        assert_eq!(from_okta.app.as_deref(), Some("Okta Admin Console"));
        let comparable = |event: &Event| Event {
            time: Timestamp(0),
            app: None,
            ..event.clone()
        };
        assert_eq!(comparable(&from_ocsf), comparable(&from_okta));
    }

    #[test]
    fn windows_failed_logon_field_by_field() {
        let Some(text) = read(WINDOWS_4625) else {
            return;
        };
        let event = testdata::event(Format::Ocsf, &text);
        assert_eq!(event.time, time("2020-10-08T16:41:47Z"));
        // The subject is `user`, not the `actor.user` "-" of the requesting process.
        assert_eq!(
            event.identity.as_deref(),
            Some("EC2AMAZ-6KJ2BPP\\Administrator")
        );
        assert_eq!(event.identity_type, IdentityType::User);
        assert_eq!(
            event.session_id.as_deref(),
            Some("0x0"),
            "`actor.session.uid`, the caller's logon id"
        );
        assert_eq!(
            event.device_id.as_deref(),
            Some("EC2AMAZ-6KJ2BPP"),
            "`device.hostname`"
        );
        assert_eq!(event.ip, None, "`src_endpoint.ip` is \"-\"");
        assert_eq!(
            (
                event.geo.clone(),
                event.asn,
                event.user_agent.clone(),
                event.app.clone()
            ),
            (None, None, None, None)
        );
        assert_eq!(
            event.event_id.as_deref(),
            Some("a738d6e6-4ebd-49bb-805e-45d0604a1bef")
        );
        let detail = auth(&event);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::Login, Outcome::Failure, None)
        );
        assert_eq!(
            detail.reason.as_deref(),
            Some("Unknown user name or bad password.")
        );
    }

    #[test]
    fn windows_service_logon_is_a_service_identity() {
        let Some(text) = read(WINDOWS_4624) else {
            return;
        };
        let event = testdata::event(Format::Ocsf, &text);
        assert_eq!(event.time, time("2021-03-12T15:48:14Z"));
        assert_eq!(event.identity.as_deref(), Some("NT AUTHORITY\\SYSTEM"));
        assert_eq!(
            event.identity_type,
            IdentityType::Service,
            "`logon_type_id` 5, OS Service"
        );
        assert_eq!(
            event.session_id.as_deref(),
            Some("0x3E7"),
            "`session.uid` before `actor.session.uid`"
        );
        assert_eq!(
            event.device_id.as_deref(),
            Some("win-dc-725.attackrange.local")
        );
        assert_eq!(
            (auth(&event).action, auth(&event).outcome),
            (AuthAction::Login, Outcome::Success)
        );
    }

    #[test]
    fn aws_console_logins_across_schema_versions() {
        let Some(text) = read(AWS_1_1) else { return };
        let event = testdata::event(Format::Ocsf, &text);
        assert_eq!(event.time, time("2023-11-10T16:24:34Z"));
        assert_eq!(
            event.identity.as_deref(),
            Some("arn:aws:iam::111122223333:user/anaya"),
            "`user.uid`"
        );
        assert_eq!(event.ip, Some("192.0.2.0".parse().unwrap()));
        assert!(event
            .user_agent
            .as_deref()
            .unwrap()
            .contains("Chrome/67.0.3396.99"));
        assert_eq!(
            event.event_id.as_deref(),
            Some("fed06f42-cb12-4764-8c69-example")
        );
        assert_eq!(
            event.app, None,
            "`api.service.name` is the API, not a service signed in to"
        );
        let detail = auth(&event);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::Login, Outcome::Success, Some("mfa"))
        );
        // No `status_id`: `status` "Success" says it.
        let Some(markdown) = read(AWS_1_1_MARKDOWN) else {
            return;
        };
        let event = testdata::event(Format::Ocsf, &markdown);
        assert_eq!(
            (auth(&event).outcome, event.time),
            (Outcome::Success, time("2023-11-10T16:24:34Z"))
        );
        // 1.0.0-rc.2: `mfa` instead of `is_mfa`, `user.uid` is the principal id.
        let Some(candidate) = read(AWS_RC2) else {
            return;
        };
        let event = testdata::event(Format::Ocsf, &candidate);
        assert_eq!(event.time, time("2022-11-10T16:24:34Z"));
        assert_eq!(event.identity.as_deref(), Some("AIDACKCEVSQ6C2EXAMPLE"));
        assert_eq!(auth(&event).factor.as_deref(), Some("mfa"));
        assert_eq!(
            event.event_id.as_deref(),
            Some("fed06f42-cb12-4764-8c69-121063dc79b9")
        );
    }

    #[test]
    fn auto_detection_routes_examples_here() {
        for relative in [OKTA_OCSF, WINDOWS_4625, AWS_1_1] {
            let Some(text) = read(relative) else { return };
            assert_eq!(
                crate::detect(text.as_bytes()),
                Ok(Format::Ocsf),
                "{relative}"
            );
            assert_eq!(
                crate::decode(Format::Auto, text.as_bytes()),
                decode_json(&text)
            );
        }
    }

    #[test]
    fn github_sso_without_status_is_skipped() {
        let Some(text) = read(GITHUB) else { return };
        assert_eq!(decode_json(&text), Ok(Decoded::Skipped(SKIP_OUTCOME)));
    }

    #[test]
    fn every_example_decodes_skips_or_is_the_broken_one() {
        let Some(root) = testdata::shared(EXAMPLES) else {
            return;
        };
        let (mut events, mut skipped, mut broken) = (0, 0, 0);
        for path in files(&root, &[".ocsf", "OCSF_authentication.json", "_0.json"]) {
            let text = std::fs::read_to_string(&path).expect("example readable");
            let name = path.to_string_lossy().to_string();
            match decode_json(&text) {
                Ok(Decoded::Event(event)) => {
                    assert!(event.identity.is_some(), "{name}");
                    events += 1;
                }
                Ok(Decoded::Skipped(_)) => skipped += 1,
                Err(error) if name.ends_with(AWS_1_5_BROKEN) => {
                    assert!(
                        error
                            .reason
                            .starts_with("malformed JSON: key must be a string"),
                        "{error}"
                    );
                    broken += 1;
                }
                Err(error) => panic!("{name}: {error}"),
            }
        }
        assert_eq!((events, skipped, broken), (10, 1, 1));
    }

    #[test]
    fn activities_map_to_actions() {
        let action_of = |activity: i64| match decode_json(&record(&format!(
            r#","activity_id":{activity},"status_id":1"#
        ))) {
            Ok(Decoded::Event(event)) => Ok(event.auth().unwrap().action),
            Ok(Decoded::Skipped(reason)) => Err(reason),
            Err(error) => panic!("{error}"),
        };
        assert_eq!(action_of(1), Ok(AuthAction::Login));
        assert_eq!(action_of(2), Ok(AuthAction::Logout));
        assert_eq!(action_of(3), Ok(AuthAction::Login));
        assert_eq!(action_of(4), Ok(AuthAction::TokenRefresh));
        assert_eq!(action_of(5), Ok(AuthAction::TokenRefresh));
        assert_eq!(action_of(6), Ok(AuthAction::Login));
        assert_eq!(action_of(7), Err(SKIP_ACCOUNT_SWITCH));
        assert_eq!(action_of(0), Err(SKIP_ACTIVITY));
        assert_eq!(action_of(99), Err(SKIP_ACTIVITY));
    }

    #[test]
    fn status_and_reason() {
        let detail = |extra: &str| {
            testdata::event(Format::Ocsf, &record(extra))
                .auth()
                .unwrap()
                .clone()
        };
        let failed = detail(
            r#","activity_id":1,"status_id":2,"status":"Failure","status_code":"INVALID_CREDENTIALS""#,
        );
        assert_eq!(
            (failed.outcome, failed.reason.as_deref()),
            (Outcome::Failure, Some("INVALID_CREDENTIALS"))
        );
        let denied = detail(r#","activity_id":1,"status_id":99,"status":"Denied""#);
        assert_eq!(
            (denied.outcome, denied.reason.as_deref()),
            (Outcome::Denied, Some("Denied"))
        );
        let bare = detail(r#","activity_id":1,"status_id":2,"status":"Failure""#);
        assert_eq!(bare.reason, None, "a caption is no reason");
        let succeeded = detail(r#","activity_id":1,"status_id":1,"status_detail":"LOGON_OK""#);
        assert_eq!(
            (succeeded.outcome, succeeded.reason),
            (Outcome::Success, None)
        );
        let logoff = detail(r#","activity_id":2"#);
        assert_eq!(
            (logoff.action, logoff.outcome),
            (AuthAction::Logout, Outcome::Success)
        );
        assert_eq!(
            decode_json(&record(r#","activity_id":1,"status_id":0"#)),
            Ok(Decoded::Skipped(SKIP_OUTCOME))
        );
    }

    #[test]
    fn time_units_range_and_fallback() {
        let time_of = |time_fields: &str| {
            let json = format!(
                r#"{{"class_uid":3002,"activity_id":1,"status_id":1,"user":{{"name":"a"}}{time_fields}}}"#
            );
            decode_json(&json).map(|decoded| match decoded {
                Decoded::Event(event) => event.time,
                Decoded::Skipped(reason) => panic!("{reason}"),
            })
        };
        assert_eq!(
            time_of(r#","time":1699633474123"#),
            Ok(time("2023-11-10T16:24:34.123Z"))
        );
        assert_eq!(
            time_of(r#","time":1699633474"#),
            Ok(time("2023-11-10T16:24:34Z"))
        );
        assert_eq!(
            time_of(r#","time":"1699633474123""#),
            Ok(time("2023-11-10T16:24:34.123Z"))
        );
        assert_eq!(
            time_of(r#","time_dt":"2023-11-10T11:24:34.000-05:00""#),
            Ok(time("2023-11-10T16:24:34Z"))
        );
        let errors = [
            (r#""#, "missing field `time`"),
            (r#","time_dt":"last tuesday""#, "invalid field `time_dt`"),
            (r#","time":1e300"#, "invalid field `time`"),
            (r#","time":-1e18"#, "invalid field `time`"),
        ];
        for (fields, reason) in errors {
            let error = time_of(fields).unwrap_err();
            assert!(error.reason.contains(reason), "{fields} -> {error}");
        }
        assert_eq!(time("0001-01-01T00:00:00Z").0 as f64, MIN_MICROS);
        assert_eq!(time("9999-12-31T23:59:59.999999Z").0 as f64, MAX_MICROS);
    }

    #[test]
    fn auth_factors_and_identity_choices() {
        let event = |extra: &str| {
            testdata::event(
                Format::Ocsf,
                &record(&format!(r#","activity_id":1,"status_id":1{extra}"#)),
            )
        };
        let factors = r#","auth_factors":[{"factor_type":"Password","factor_type_id":11},{"factor_type":"Push Notification","factor_type_id":5}]"#;
        assert_eq!(
            auth(&event(factors)).factor.as_deref(),
            Some("push"),
            "the second factor"
        );
        let only_password = r#","auth_factors":[{"factor_type_id":11}],"is_mfa":false"#;
        assert_eq!(
            auth(&event(only_password)).factor.as_deref(),
            Some("password")
        );
        let vendor =
            r#","auth_factors":["junk",{"factor_type":"YubiKey Bio","factor_type_id":99}]"#;
        assert_eq!(auth(&event(vendor)).factor.as_deref(), Some("yubikey bio"));
        assert_eq!(auth(&event("")).factor, None);

        let json = r#"{"class_uid":3002,"activity_id":1,"status_id":1,"time":1,"actor":{"user":{"uid":"S-1-5-21","name":"-"}},"user":{"name":"unknown"}}"#;
        let fallback = testdata::event(Format::Ocsf, json);
        assert_eq!(
            fallback.identity.as_deref(),
            Some("S-1-5-21"),
            "`user` has no usable id, `actor.user` does"
        );
        let machine = r#"{"class_uid":3002,"activity_id":1,"status_id":1,"time":1,"user":{"name":"HOST1$","domain":"CORP"}}"#;
        let machine = testdata::event(Format::Ocsf, machine);
        assert_eq!(
            (machine.identity.as_deref(), machine.identity_type),
            (Some("CORP\\HOST1$"), IdentityType::Service)
        );
        let admin = r#"{"class_uid":3002,"activity_id":1,"status_id":1,"time":1,"user":{"email_addr":"root@example.com","type_id":2}}"#;
        assert_eq!(
            testdata::event(Format::Ocsf, admin).identity_type,
            IdentityType::User
        );
    }

    #[test]
    fn source_endpoint_location_and_service() {
        let json = r#"{"class_uid":3002,"activity_id":1,"status_id":1,"time":1714557600000,"user":{"email_addr":"a@example.com"},
            "src_endpoint":{"ip":"89.160.20.128","location":{"coordinates":[15.62,58.41],"country":"SE","city":"Linköping"},"autonomous_system":{"number":29518}},
            "service":{"name":"Salesforce"},"session":{"uid":"s-1"},"device":{"uid":"d-1","hostname":"laptop"},"http_request":{"user_agent":"curl/8"}}"#;
        let event = testdata::event(Format::Ocsf, json);
        assert_eq!(event.ip, Some("89.160.20.128".parse().unwrap()));
        let geo = event.geo.clone().unwrap();
        assert_eq!(
            (
                geo.lat,
                geo.lon,
                geo.city.as_deref(),
                geo.country.as_deref()
            ),
            (Some(58.41), Some(15.62), Some("Linköping"), Some("SE"))
        );
        assert_eq!(event.asn, Some(29518));
        assert_eq!(event.app.as_deref(), Some("Salesforce"));
        assert_eq!(
            (event.session_id.as_deref(), event.device_id.as_deref()),
            (Some("s-1"), Some("d-1"))
        );
        assert_eq!(event.user_agent.as_deref(), Some("curl/8"));
        let named = json
            .replace(r#""country":"SE""#, r#""country":"Sweden""#)
            .replace(
                r#""coordinates":[15.62,58.41]"#,
                r#""lat":"58.41","long":15.62"#,
            );
        let geo = testdata::event(Format::Ocsf, &named).geo.unwrap();
        assert_eq!(
            (geo.lat, geo.lon, geo.country.as_deref()),
            (Some(58.41), Some(15.62), Some("SE"))
        );
    }

    #[test]
    fn skips_other_classes_and_errors_name_the_field() {
        assert_eq!(
            decode_json(r#"{"class_uid":3001,"activity_id":1}"#),
            Ok(Decoded::Skipped(SKIP_CLASS))
        );
        assert_eq!(
            decode_json(r#"{"class_uid":"4001"}"#),
            Ok(Decoded::Skipped(SKIP_CLASS))
        );
        let huge = "x".repeat(crate::native::MAX_ID_BYTES + 1);
        let cases = [
            (
                r#"{"activity_id":1}"#.to_string(),
                "missing field `class_uid`",
            ),
            (
                r#"{"class_uid":3002,"status_id":1}"#.to_string(),
                "missing field `activity_id`",
            ),
            (
                r#"{"class_uid":3002,"activity_id":1,"status_id":1,"time":1,"user":{"name":"-"}}"#
                    .to_string(),
                "missing field `user`",
            ),
            (
                record(&format!(
                    r#","activity_id":1,"status_id":1,"session":{{"uid":"{huge}"}}"#
                )),
                "invalid field `session.uid`",
            ),
            ("[3002]".to_string(), "not a JSON object"),
            ("{\"class_uid\":".to_string(), "malformed JSON"),
        ];
        for (json, reason) in cases {
            let error = decode_json(&json).unwrap_err();
            assert_eq!(error.format, Format::Ocsf);
            assert!(error.reason.contains(reason), "{json} -> {error}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn never_panics_on_json_like_text(text in "[{}\\[\\]\":,. a-zA-Z0-9_@-]{0,200}") {
            let _ = decode(text.as_bytes());
        }

        #[test]
        fn never_panics_on_ocsf_shaped_records(json in crate::okta::tests::shaped_records()) {
            let _ = decode(json.as_bytes());
        }
    }
}
