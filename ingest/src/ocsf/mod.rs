//! Decoder for OCSF Authentication events (class 3002, schema 1.0 to 1.9).
//!
//! Logons, Kerberos ticket requests and logoffs become auth events; other OCSF classes,
//! account switches (`su`, `runas`) and activities the producer could not name (`0`, `99`)
//! are [`Decoded::Skipped`] with a reason.
//!
//! Producers follow the schema loosely, so the record is read with the typed lenient
//! readers of [`crate::vendor`] and a few common deviations are accepted: `time` in seconds
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
use crate::vendor::{
    bounded_id, geo, normalize_factor, not_an_object, number, timestamp, LooseList, LooseNumber,
    LooseObject, LooseText,
};
use serde::Deserialize;
use vigil_schemas::{
    AuthAction, AuthDetail, CompactString, Detail, Event, Geo, IdentityType, Outcome, Timestamp,
};

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
    fn identifier(&self) -> Option<CompactString> {
        if let Some(email) = self.email_addr.get() {
            return Some(CompactString::from(email));
        }
        if let Some(name) = self.name.get() {
            let qualified = name.contains('@') || name.contains('\\');
            return match self.domain.get() {
                Some(domain) if !qualified => {
                    Some(CompactString::from(format!("{domain}\\{name}")))
                }
                _ => Some(CompactString::from(name)),
            };
        }
        self.uid
            .get()
            .or_else(|| self.uid_alt.get())
            .map(CompactString::from)
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
        geo(lat, lon, self.city.get(), self.country.get())
    }
}

/// `location.coordinates`, a GeoJSON `[longitude, latitude]` pair: both when the value is
/// an array of exactly two finite numbers (or numeric strings).
fn coordinate_pair(value: &serde_json::Value) -> (Option<f64>, Option<f64>) {
    let Some([longitude, latitude]) = value.as_array().map(Vec::as_slice) else {
        return (None, None);
    };
    match (number(Some(latitude)), number(Some(longitude))) {
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
    fn name(&self) -> Option<CompactString> {
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
        Some(CompactString::from(known))
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
    timestamp(FORMAT, text, "time_dt")
}

/// The factor used: the first factor other than a password (the second factor says more),
/// else the first; else `mfa` when only `is_mfa` says one was used.
fn factor(raw: &OcsfRecord<'_>) -> Option<CompactString> {
    let names: Vec<CompactString> = raw
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
    mfa.then(|| CompactString::from("mfa"))
}

/// Decodes one OCSF record.
pub(crate) fn decode(record: &[u8]) -> Result<Decoded, DecodeError> {
    let parsed: LooseObject<OcsfRecord<'_>> =
        serde_json::from_slice(record).map_err(|error| DecodeError::json(FORMAT, &error))?;
    // Read through `LooseObject`: a derived struct would read an array as its fields.
    let Some(raw) = parsed.0 else {
        return Err(not_an_object(FORMAT));
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
    let identity = bounded_id(FORMAT, Some(identifier), "user")?;
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
            .map(CompactString::from),
        event_id: raw
            .metadata
            .get()
            .and_then(|metadata| metadata.uid.get())
            .map(CompactString::from),
        detail: Detail::Auth(AuthDetail {
            action,
            outcome,
            factor: factor(&raw),
            reason,
        }),
    })))
}

#[cfg(test)]
pub(crate) mod tests;
