//! Decoder for Auth0 tenant logs.
//!
//! Three shapes carry the same log object:
//! - the raw log of the Management API (`GET /api/v2/logs`): `{date, type, ...}`;
//! - the log-stream wrapper of webhooks and event buses: `{log_id, data: {...}}`;
//! - Elastic's input wrapper: `{"json": {...}}`, around either of the two above.
//!
//! Auth0 says what happened with a short type code (`s`, `fp`, `gd_auth_rejected`, ...).
//! [`classify`] maps the code of every authentication event vigil judges to an action and
//! an outcome; every other code (Management API calls, signups, MFA enrollments, sent
//! notifications) is skipped with a reason. Authentication events that name no user
//! (a failed login with a bad callback URL, an IP blocked across accounts) are skipped
//! too: vigil judges identities, and such a record has none.

use crate::decode::{parse_ip, present, DecodeError, Decoded, Format};
use crate::native::MAX_ID_BYTES;
use serde_json::{Map, Value};
use vigil_schemas::{AuthAction, AuthDetail, Detail, Event, Geo, IdentityType, Outcome, Timestamp};

/// The format named in this decoder's errors.
const FORMAT: Format = Format::Auth0;

/// The factor of password logins, in vigil's vocabulary.
const PASSWORD: &str = "password";
/// The factor of one-time codes from an authenticator app.
const OTP: &str = "otp";
/// The factor of push notifications answered in Guardian.
const PUSH: &str = "push";
/// The factor of security keys and passkeys.
const WEBAUTHN: &str = "webauthn";
/// Auth0's MFA recovery codes; vigil has no word of its own for them.
const RECOVERY_CODE: &str = "recovery_code";
/// Auth0's out-of-band MFA grant (push, SMS or voice; the log does not say which).
const OUT_OF_BAND: &str = "oob";

/// Why an authentication event without a user is skipped.
const NO_USER: &str = "auth0 authentication event names no user (`user_name`, `user_id`)";

/// What an Auth0 log type code means to vigil.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Meaning {
    /// An authentication event vigil judges.
    Auth {
        /// What was attempted.
        action: AuthAction,
        /// How it ended.
        outcome: Outcome,
        /// The factor the code itself implies (`fp` is a password, `gd_auth_rejected` a push).
        factor: Option<&'static str>,
        /// Whether the subject is an application (client credentials) rather than a person.
        service: bool,
    },
    /// Anything else, with the reason it is skipped.
    Skip(&'static str),
}

/// A primary sign-in of a person.
const fn login(outcome: Outcome, factor: Option<&'static str>) -> Meaning {
    Meaning::Auth {
        action: AuthAction::Login,
        outcome,
        factor,
        service: false,
    }
}

/// A primary sign-in of an application with its client credentials.
const fn service_login(outcome: Outcome) -> Meaning {
    Meaning::Auth {
        action: AuthAction::Login,
        outcome,
        factor: None,
        service: true,
    }
}

/// A second-factor challenge.
const fn mfa(outcome: Outcome, factor: Option<&'static str>) -> Meaning {
    Meaning::Auth {
        action: AuthAction::Mfa,
        outcome,
        factor,
        service: false,
    }
}

/// New tokens for an existing session or grant.
const fn token_refresh(outcome: Outcome) -> Meaning {
    Meaning::Auth {
        action: AuthAction::TokenRefresh,
        outcome,
        factor: None,
        service: false,
    }
}

/// A sign-out.
const fn logout(outcome: Outcome) -> Meaning {
    Meaning::Auth {
        action: AuthAction::Logout,
        outcome,
        factor: None,
        service: false,
    }
}

/// Maps an Auth0 log type code (see Auth0's "Log Event Type Codes") to what vigil makes of it.
fn classify(code: &str) -> Meaning {
    use Outcome::{Denied, Failure, Success};
    match code {
        // Primary logins: universal login, cross-origin (embedded) login, native social login.
        "s" | "scoa" | "sens" => login(Success, None),
        "f" | "fu" | "fc" | "fco" | "fcoa" | "fens" => login(Failure, None),
        "fp" => login(Failure, Some(PASSWORD)),
        // Resource-owner password grant.
        "sepft" => login(Success, Some(PASSWORD)),
        "fepft" => login(Failure, Some(PASSWORD)),
        // Passwordless one-time code grant.
        "sepotpft" => login(Success, Some(OTP)),
        "fepotpft" => login(Failure, Some(OTP)),
        // Device authorization grant: the user approved the device elsewhere.
        "sede" => login(Success, None),
        "fede" => login(Failure, None),
        // Attack protection refused the attempt: a breached password, brute force on one
        // account (`limit_wc`), too many attempts from one IP (`limit_mu`) or for one user.
        "pwd_leak" => login(Denied, Some(PASSWORD)),
        "limit_wc" | "limit_mu" | "limit_sul" => login(Denied, None),
        // Machine-to-machine: an application authenticating with its own credentials.
        "seccft" => service_login(Success),
        "feccft" => service_login(Failure),
        // Second factors: Guardian push / OTP / recovery, and the MFA grants of the API.
        "gd_auth_succeed" => mfa(Success, None),
        "gd_auth_failed" => mfa(Failure, None),
        "gd_auth_rejected" => mfa(Denied, Some(PUSH)),
        "gd_otp_rate_limit_exceed" => mfa(Denied, Some(OTP)),
        "gd_recovery_succeed" => mfa(Success, Some(RECOVERY_CODE)),
        "gd_recovery_failed" => mfa(Failure, Some(RECOVERY_CODE)),
        "gd_recovery_rate_limit_exceed" => mfa(Denied, Some(RECOVERY_CODE)),
        "gd_webauthn_challenge_failed" => mfa(Failure, Some(WEBAUTHN)),
        "seotpft" => mfa(Success, Some(OTP)),
        "feotpft" => mfa(Failure, Some(OTP)),
        "seoobft" => mfa(Success, Some(OUT_OF_BAND)),
        "feoobft" => mfa(Failure, Some(OUT_OF_BAND)),
        "sercft" => mfa(Success, Some(RECOVERY_CODE)),
        "fercft" => mfa(Failure, Some(RECOVERY_CODE)),
        // Tokens from an existing session or grant: silent authentication (`prompt=none`
        // against the Auth0 session), code and refresh-token exchanges. A reused rotating
        // refresh token (`ferrt`) is refused by policy: it signals a stolen token.
        "ssa" | "seacft" | "sertft" => token_refresh(Success),
        "fsa" | "feacft" | "fertft" => token_refresh(Failure),
        "ferrt" => token_refresh(Denied),
        "slo" => logout(Success),
        "flo" => logout(Failure),
        "mfar" => Meaning::Skip("auth0 `mfar` is a prompt for a second factor, not its outcome"),
        "w" => Meaning::Skip("auth0 `w` is a warning during login, not the outcome of an attempt"),
        "sapi" | "fapi" | "mgmt_api_read" => Meaning::Skip("auth0 management API operation"),
        "ss" | "fs" | "signup_pwd_leak" => Meaning::Skip("auth0 signup"),
        "cls" | "cs" | "fn" | "sv" | "fv" | "svr" | "fvr" => {
            Meaning::Skip("auth0 notification or verification message")
        }
        "scp" | "fcp" | "scpr" | "fcpr" | "fcph" | "reset_pwd_leak" | "sce" | "fce" | "scu"
        | "fcu" | "scpn" | "fcpn" | "du" | "sdu" | "fdu" | "ublkdu" => {
            Meaning::Skip("auth0 user account change")
        }
        other if other.starts_with("gd_") => Meaning::Skip(
            "auth0 guardian enrollment, notification or setting, not a challenge outcome",
        ),
        _ => Meaning::Skip("auth0 event type that is not an authentication event of interest"),
    }
}

/// The log object inside its wrappers, with the path to it for error messages.
struct Located<'a> {
    /// The log object itself.
    log: &'a Map<String, Value>,
    /// How field names are prefixed in errors: `""`, `"data."`, `"json."` or `"json.data."`.
    path: &'static str,
    /// The `log_id` a log-stream wrapper carries beside `data`.
    wrapper_log_id: Option<&'a str>,
}

/// A member that must be an object when present.
fn object_member<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<&'a Map<String, Value>>, DecodeError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(member)) => Ok(Some(member)),
        Some(_) => Err(DecodeError::invalid(FORMAT, field, "expected an object")),
    }
}

/// Finds the log object in a raw log, a `{log_id, data}` stream record or a `{"json"}` wrapper.
fn locate(root: &Value) -> Result<Located<'_>, DecodeError> {
    let Some(object) = root.as_object() else {
        return Err(DecodeError::invalid(
            FORMAT,
            "record",
            "expected a JSON object",
        ));
    };
    // A raw log names its type at the top; wrappers never do.
    if object.get("type").is_some_and(Value::is_string) {
        return Ok(Located {
            log: object,
            path: "",
            wrapper_log_id: None,
        });
    }
    let (outer, outer_path) = match object_member(object, "json", "json")? {
        Some(inner) if inner.get("type").is_some_and(Value::is_string) => {
            return Ok(Located {
                log: inner,
                path: "json.",
                wrapper_log_id: None,
            });
        }
        Some(inner) => (inner, "json."),
        None => (object, ""),
    };
    let data_field = if outer_path.is_empty() {
        "data"
    } else {
        "json.data"
    };
    let Some(data) = object_member(outer, "data", data_field)? else {
        // No wrapper we know: report the missing type of a raw log.
        return Ok(Located {
            log: outer,
            path: outer_path,
            wrapper_log_id: None,
        });
    };
    let path = if outer_path.is_empty() {
        "data."
    } else {
        "json.data."
    };
    let wrapper_log_id = outer.get("log_id").and_then(Value::as_str);
    Ok(Located {
        log: data,
        path,
        wrapper_log_id,
    })
}

/// A member as a string, `None` when absent, null or not a string.
fn text<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

/// A member that must be a non-empty string.
fn required_text<'a>(
    object: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<&'a str, DecodeError> {
    match object.get(key) {
        None | Some(Value::Null) => Err(DecodeError::missing(FORMAT, &format!("{path}{key}"))),
        Some(Value::String(value)) if value.trim().is_empty() => {
            Err(DecodeError::missing(FORMAT, &format!("{path}{key}")))
        }
        Some(Value::String(value)) => Ok(value),
        Some(_) => Err(DecodeError::invalid(
            FORMAT,
            &format!("{path}{key}"),
            "expected a string",
        )),
    }
}

/// An identifier kept by the event, refused when longer than [`MAX_ID_BYTES`].
fn bounded_id(value: Option<String>, path: &str, key: &str) -> Result<Option<String>, DecodeError> {
    match value {
        Some(id) if id.len() > MAX_ID_BYTES => Err(DecodeError::invalid(
            FORMAT,
            &format!("{path}{key}"),
            format!("{} bytes, more than the limit of {MAX_ID_BYTES}", id.len()),
        )),
        other => Ok(other),
    }
}

/// The subject of the event and the member it was read from: the user name (an email for
/// database and most social connections), else the user id; for client credentials the
/// application's `client_id`.
fn identity(log: &Map<String, Value>, service: bool) -> Option<(String, &'static str)> {
    let user_keys: &[&'static str] = if service {
        &["user_name", "user_id", "client_id"]
    } else {
        &["user_name", "user_id"]
    };
    user_keys
        .iter()
        .find_map(|key| present(text(log, key)).map(|value| (value, *key)))
}

/// The Auth0 session and the member it was read from: `details.session_id`, or an OIDC
/// `sid` where that is all there is. `session_connection` is not used: it names the
/// connection the session was made with, not the session.
fn session_id(
    log: &Map<String, Value>,
    details: Option<&Map<String, Value>>,
) -> Option<(String, &'static str)> {
    let from_details = |key: &str| details.and_then(|details| present(text(details, key)));
    if let Some(session) = from_details("session_id") {
        return Some((session, "details.session_id"));
    }
    for key in ["session_id", "sid"] {
        if let Some(session) = present(text(log, key)) {
            return Some((session, key));
        }
    }
    from_details("sid").map(|session| (session, "details.sid"))
}

/// A coordinate written as a number or, by older SDKs, as a string.
fn coordinate(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// Auth0's own geolocation of the IP (`location_info`). Coordinates off the globe, or the
/// `(0, 0)` placeholder, are dropped and the rest kept: geo decorates the event, it does not
/// make it.
fn geo(location: Option<&Map<String, Value>>) -> Option<Geo> {
    let location = location?;
    let mut geo = Geo {
        lat: coordinate(location.get("latitude")),
        lon: coordinate(location.get("longitude")),
        ..Geo::default()
    };
    let placeholder = geo.lat == Some(0.0) && geo.lon == Some(0.0);
    if placeholder || geo.coordinates().is_none() {
        geo.lat = None;
        geo.lon = None;
    }
    geo.country = text(location, "country_code")
        .map(str::trim)
        .filter(|code| code.len() == 2 && code.bytes().all(|byte| byte.is_ascii_alphabetic()))
        .map(str::to_ascii_uppercase);
    geo.city = present(text(location, "city_name"));
    let empty = geo.lat.is_none() && geo.country.is_none() && geo.city.is_none();
    (!empty).then_some(geo)
}

/// An Auth0 factor, strategy or prompt word in vigil's vocabulary (`password`, `push`, `otp`,
/// `sms`, `voice`, `email`, `webauthn`, `certificate`), else the vendor's word in lowercase.
fn normalise_factor(raw: &str) -> Option<String> {
    let lower = raw.trim().to_ascii_lowercase();
    let word = match lower.as_str() {
        "" | "none" | "unknown" | "null" => return None,
        // `auth0` is the strategy of database connections, `ad` of the AD/LDAP connector.
        "password" | "auth0" | "ad" | "auth0-adldap" => PASSWORD,
        "push" | "push-notification" | "push_notification" | "guardian" => PUSH,
        "otp" | "totp" | "hotp" => OTP,
        "sms" => "sms",
        "voice" => "voice",
        "email" => "email",
        "webauthn" | "webauthn-roaming" | "webauthn-platform" | "passkey" | "passkeys" => WEBAUTHN,
        "certificate" | "x509" | "mtls" => "certificate",
        "recovery-code" | "recovery_code" => RECOVERY_CODE,
        _ => return Some(lower),
    };
    Some(word.to_string())
}

/// The primary factor of a login from its prompts: a password prompt, else the strategy of
/// the first federated or passwordless authentication prompt.
fn factor_from_prompts(details: Option<&Map<String, Value>>) -> Option<String> {
    let prompts = details?.get("prompts")?.as_array()?;
    prompts
        .iter()
        .filter_map(Value::as_object)
        .find_map(|prompt| {
            let name = text(prompt, "name")?;
            if !name.contains("authenticate") {
                return None;
            }
            if name.contains("password") {
                return Some(PASSWORD.to_string());
            }
            text(prompt, "strategy").and_then(normalise_factor)
        })
}

/// The factor of an event: what its code implies, else for second factors the Guardian
/// authenticator type, else for logins the prompts, the connection strategy and its type.
fn factor(
    log: &Map<String, Value>,
    details: Option<&Map<String, Value>>,
    action: AuthAction,
    implied: Option<&'static str>,
) -> Option<String> {
    if let Some(implied) = implied {
        return Some(implied.to_string());
    }
    match action {
        AuthAction::Mfa => details
            .and_then(|details| details.get("authenticator"))
            .and_then(Value::as_object)
            .and_then(|authenticator| text(authenticator, "type"))
            .and_then(normalise_factor),
        AuthAction::Login => factor_from_prompts(details)
            .or_else(|| text(log, "strategy").and_then(normalise_factor))
            .or_else(|| {
                (text(log, "strategy_type") == Some("database")).then(|| PASSWORD.to_string())
            }),
        AuthAction::Logout | AuthAction::TokenRefresh => None,
    }
}

/// Why an attempt did not succeed: the description, else the error message of the details.
fn reason(
    log: &Map<String, Value>,
    details: Option<&Map<String, Value>>,
    outcome: Outcome,
) -> Option<String> {
    if outcome == Outcome::Success {
        return None;
    }
    present(text(log, "description")).or_else(|| {
        let error = details?.get("error")?.as_object()?;
        present(text(error, "message"))
    })
}

/// The client's address; a value that is present but no address is an error.
fn client_ip(
    log: &Map<String, Value>,
    path: &str,
) -> Result<Option<std::net::IpAddr>, DecodeError> {
    for key in ["ip", "client_ip"] {
        let Some(text) = present(text(log, key)) else {
            continue;
        };
        return match parse_ip(&text) {
            Some(ip) => Ok(Some(ip)),
            None => Err(DecodeError::invalid(
                FORMAT,
                &format!("{path}{key}"),
                format!("`{text}` is not an IP address"),
            )),
        };
    }
    Ok(None)
}

/// Decodes one Auth0 tenant log record.
pub(crate) fn decode(record: &[u8]) -> Result<Decoded, DecodeError> {
    let root: Value =
        serde_json::from_slice(record).map_err(|error| DecodeError::json(FORMAT, &error))?;
    let Located {
        log,
        path,
        wrapper_log_id,
    } = locate(&root)?;
    let code = required_text(log, path, "type")?;
    let (action, outcome, implied_factor, service) = match classify(code) {
        Meaning::Skip(reason) => return Ok(Decoded::Skipped(reason)),
        Meaning::Auth {
            action,
            outcome,
            factor,
            service,
        } => (action, outcome, factor, service),
    };
    let date = required_text(log, path, "date")?;
    let time = Timestamp::parse(date)
        .map_err(|error| DecodeError::invalid(FORMAT, &format!("{path}date"), error))?;
    let Some((identity, identity_key)) = identity(log, service) else {
        return Ok(Decoded::Skipped(NO_USER));
    };
    let identity = bounded_id(Some(identity), path, identity_key)?;
    let details = object_member(log, "details", &format!("{path}details"))?;
    let session_id = match session_id(log, details) {
        Some((session, key)) => bounded_id(Some(session), path, key)?,
        None => None,
    };
    let device_id = present(text(log, "device_id"))
        .or_else(|| details.and_then(|details| present(text(details, "device_id"))));
    let device_id = bounded_id(device_id, path, "device_id")?;
    let location = object_member(log, "location_info", &format!("{path}location_info"))?;
    let event_id = present(text(log, "log_id"))
        .or_else(|| present(wrapper_log_id))
        .or_else(|| present(text(log, "_id")));
    Ok(Decoded::Event(Box::new(Event {
        time,
        identity,
        identity_type: if service {
            IdentityType::Service
        } else {
            IdentityType::User
        },
        session_id,
        device_id,
        ip: client_ip(log, path)?,
        geo: geo(location),
        asn: None,
        user_agent: present(text(log, "user_agent")),
        app: present(text(log, "client_name")),
        event_id,
        detail: Detail::Auth(AuthDetail {
            action,
            outcome,
            factor: factor(log, details, action, implied_factor),
            reason: reason(log, details, outcome),
        }),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    /// A shared sample file (see `shared/data/*/SOURCES.md`).
    const SUCCESS_SAMPLES: &str =
        "elastic-integrations/auth0/test-login-success.first5.events.jsonl";
    /// A shared sample file (see `shared/data/*/SOURCES.md`).
    const FAILURE_SAMPLES: &str = "elastic-integrations/auth0/test-login-failure.events.jsonl";
    /// A shared sample file (see `shared/data/*/SOURCES.md`).
    const PANTHER_SAMPLES: &str = "panther-analysis/auth0_events.labeled.jsonl";

    /// The auth fields of an event that must be an auth event.
    fn auth(event: &Event) -> &AuthDetail {
        event.auth().expect("an auth event")
    }

    /// The reason of a record that must be skipped.
    fn skipped(record: &str) -> &'static str {
        match decode(record.as_bytes()) {
            Ok(Decoded::Skipped(reason)) => reason,
            other => panic!("expected a skip from {record}, got {other:?}"),
        }
    }

    /// The `log` member of every Panther rule test, re-serialised, with its test name.
    fn panther_logs() -> Option<Vec<(String, String)>> {
        let lines = testdata::lines(PANTHER_SAMPLES)?;
        let logs = lines
            .iter()
            .map(|line| {
                let test: Value = serde_json::from_str(line).expect("panther line is JSON");
                let name = format!("{} / {}", test["rule_id"], test["test_name"]);
                (name, test["log"].to_string())
            })
            .collect();
        Some(logs)
    }

    /// The `log` of the Panther rule test whose name contains `test_name`.
    fn panther_log(test_name: &str) -> Option<String> {
        let logs = panther_logs()?;
        let found = logs.into_iter().find(|(name, _)| name.contains(test_name));
        Some(found.expect("panther test present").1)
    }

    #[test]
    fn decodes_stream_success_field_by_field() {
        let Some(lines) = testdata::lines(SUCCESS_SAMPLES) else {
            return;
        };
        let event = testdata::event(Format::Auth0, &lines[0]);
        assert_eq!(
            event.time,
            Timestamp::parse("2021-11-04T00:15:10.706Z").unwrap()
        );
        assert_eq!(event.identity.as_deref(), Some("dev@test.com"));
        assert_eq!(event.identity_type, IdentityType::User);
        assert_eq!(
            event.session_id.as_deref(),
            Some("m5SgtzMKxmeNBxj_kCfUUJhzrSdfvLFu")
        );
        assert_eq!(event.device_id, None);
        assert_eq!(event.ip, Some("114.76.60.57".parse().unwrap()));
        assert_eq!(event.geo, None);
        assert_eq!(
            event.user_agent.as_deref(),
            Some("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/95.0.4638.69 Safari/537.36")
        );
        assert_eq!(event.app.as_deref(), Some("Default App"));
        assert_eq!(
            event.event_id.as_deref(),
            Some("90020211104001515271334544008635532534914988032684720226")
        );
        let detail = auth(&event);
        assert_eq!(
            (detail.action, detail.outcome),
            (AuthAction::Login, Outcome::Success)
        );
        assert_eq!(detail.factor.as_deref(), Some("password"));
        assert_eq!(detail.reason, None);
    }

    #[test]
    fn every_stream_success_is_a_password_or_sso_login() {
        let Some(lines) = testdata::lines(SUCCESS_SAMPLES) else {
            return;
        };
        assert_eq!(lines.len(), 5);
        for line in &lines {
            let event = testdata::event(Format::Auth0, line);
            assert_eq!(auth(&event).outcome, Outcome::Success, "{line}");
            assert!(event.session_id.is_some(), "{line}");
        }
        // The third login reused the Auth0 session: no prompt, no connection, no factor.
        let sso = testdata::event(Format::Auth0, &lines[2]);
        assert_eq!(sso.identity.as_deref(), Some("saikiran@test.com"));
        assert_eq!(
            sso.session_id.as_deref(),
            Some("1TAd-7tsPYzxWudzqfHYXN0e6q1D0GSc")
        );
        assert_eq!(
            sso.time,
            Timestamp::parse("2021-11-03T05:53:54.497Z").unwrap()
        );
        assert_eq!(auth(&sso).factor, None);
    }

    #[test]
    fn decodes_stream_failures_field_by_field() {
        let Some(lines) = testdata::lines(FAILURE_SAMPLES) else {
            return;
        };
        assert_eq!(lines.len(), 5);
        // Callback URL mismatch and a disabled connection: failed logins of nobody.
        for line in &lines[..3] {
            assert_eq!(skipped(line), NO_USER);
        }
        let unknown_user = testdata::event(Format::Auth0, &lines[3]);
        assert_eq!(
            unknown_user.time,
            Timestamp::parse("2021-11-03T03:07:24.384Z").unwrap()
        );
        assert_eq!(unknown_user.identity.as_deref(), Some("neo@gmail.com"));
        assert_eq!(unknown_user.ip, Some("81.2.69.143".parse().unwrap()));
        assert_eq!(unknown_user.app.as_deref(), Some("Default App"));
        assert_eq!(unknown_user.session_id, None);
        assert_eq!(
            unknown_user.event_id.as_deref(),
            Some("90020211103030725428115389447533113776256732300526485554")
        );
        let detail = auth(&unknown_user);
        assert_eq!(
            (detail.action, detail.outcome),
            (AuthAction::Login, Outcome::Failure)
        );
        assert_eq!(detail.factor.as_deref(), Some("password"));
        assert_eq!(detail.reason.as_deref(), Some("Wrong email or password."));

        let wrong_password = testdata::event(Format::Auth0, &lines[4]);
        assert_eq!(wrong_password.identity.as_deref(), Some("new@test.com"));
        assert_eq!(
            wrong_password.time,
            Timestamp::parse("2021-11-03T08:25:14.466Z").unwrap()
        );
        let detail = auth(&wrong_password);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::Login, Outcome::Failure, Some("password"))
        );
    }

    #[test]
    fn wrappers_decode_alike() {
        let Some(lines) = testdata::lines(SUCCESS_SAMPLES) else {
            return;
        };
        let stream = testdata::event(Format::Auth0, &lines[0]);
        let wrapped = testdata::event(Format::Auth0, &format!(r#"{{"json":{}}}"#, lines[0]));
        assert_eq!(wrapped, stream);
        let record: Value = serde_json::from_str(&lines[0]).unwrap();
        let raw = testdata::event(Format::Auth0, &record["data"].to_string());
        assert_eq!(raw, stream);
        let raw_in_json =
            testdata::event(Format::Auth0, &format!(r#"{{"json":{}}}"#, record["data"]));
        assert_eq!(raw_in_json, stream);
    }

    #[test]
    fn every_panther_log_decodes_or_skips() {
        let Some(logs) = panther_logs() else { return };
        assert_eq!(logs.len(), 57);
        let mut events = Vec::new();
        for (name, log) in &logs {
            match crate::decode(Format::Auth0, log.as_bytes()) {
                Ok(Decoded::Event(event)) => events.push((name.clone(), *event)),
                Ok(Decoded::Skipped(_)) => {}
                Err(error) => panic!("{name}: {error}"),
            }
        }
        let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                r#""Auth0.Leaked.Password.Login.Attempt" / "FCOA Event""#,
                r#""Auth0.Limits" / "Limit WC Event""#,
                r#""Auth0.RefreshToken.Reuse" / "Auth0 Bot Detection Policy Disabled""#,
            ]
        );
    }

    #[test]
    fn panther_leaked_password_is_a_denied_login() {
        let Some(log) = panther_log("Auth0.Leaked.Password.Login.Attempt") else {
            return;
        };
        let event = testdata::event(Format::Auth0, &log);
        assert_eq!(
            event.time,
            Timestamp::parse("2025-10-01T05:39:16.467Z").unwrap()
        );
        assert_eq!(event.identity.as_deref(), Some("denethor@lotr.com"));
        assert_eq!(
            event.ip,
            Some("2601:140:9702:ee80:9049:1f55:0:e970".parse().unwrap())
        );
        assert_eq!(event.app, None);
        assert_eq!(
            event.event_id.as_deref(),
            Some("90020251001053916537654000000000000001223372122475524001")
        );
        let detail = auth(&event);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::Login, Outcome::Denied, Some("password"))
        );
        assert!(detail
            .reason
            .as_deref()
            .unwrap()
            .starts_with("Someone behind the IP address"));
    }

    #[test]
    fn panther_blocked_account_and_reused_refresh_token_are_denied() {
        let Some(limit) = panther_log("Limit WC Event") else {
            return;
        };
        let event = testdata::event(Format::Auth0, &limit);
        assert_eq!(event.identity.as_deref(), Some("john@justice.org"));
        assert_eq!(event.ip, Some("1.2.3.4".parse().unwrap()));
        assert_eq!(
            event.time,
            Timestamp::parse("2025-09-30T21:23:49.689Z").unwrap()
        );
        assert_eq!(
            (auth(&event).action, auth(&event).outcome),
            (AuthAction::Login, Outcome::Denied)
        );

        let Some(reuse) = panther_log("Auth0.RefreshToken.Reuse\" / \"Auth0 Bot") else {
            return;
        };
        let event = testdata::event(Format::Auth0, &reuse);
        assert_eq!(
            event.identity.as_deref(),
            Some("google-oauth2|105261262156475850461")
        );
        assert_eq!(event.ip, Some("12.12.12.12".parse().unwrap()));
        let detail = auth(&event);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::TokenRefresh, Outcome::Denied, None)
        );
        assert_eq!(
            detail.reason.as_deref(),
            Some("Unsuccessful Refresh Token exchange, reused refresh token detected")
        );
    }

    #[test]
    fn panther_skips_say_why() {
        let Some(push_sent) = panther_log("Push Notification Fatigue") else {
            return;
        };
        assert!(skipped(&push_sent).contains("guardian"));
        let Some(management) = panther_log("Custom Role Created") else {
            return;
        };
        assert_eq!(skipped(&management), "auth0 management API operation");
        let Some(signup_leak) = panther_log("Auth0 Sign-up Password Leak Event") else {
            return;
        };
        assert_eq!(skipped(&signup_leak), "auth0 signup");
        // A failed cross-origin login that never got as far as a user.
        let Some(cross_origin) = panther_log("Auth0.CIC.Credential.Stuffing") else {
            return;
        };
        assert_eq!(skipped(&cross_origin), NO_USER);
    }

    #[test]
    fn maps_vendor_geolocation() {
        let record = r#"{"date":"2024-05-01T10:00:00Z","type":"s","user_name":"ann@example.com","ip":"81.2.69.142","log_id":"1",
            "location_info":{"country_code":"gb","country_code3":"GBR","city_name":"London","latitude":51.5142,"longitude":"-0.0931","time_zone":"Europe/London"}}"#;
        let geo = testdata::event(Format::Auth0, record).geo.unwrap();
        assert_eq!((geo.lat, geo.lon), (Some(51.5142), Some(-0.0931)));
        assert_eq!(
            (geo.country.as_deref(), geo.city.as_deref()),
            (Some("GB"), Some("London"))
        );

        let off_globe = r#"{"date":"2024-05-01T10:00:00Z","type":"s","user_name":"ann@example.com",
            "location_info":{"country_code":"GBR","city_name":"","latitude":95,"longitude":0}}"#;
        assert_eq!(testdata::event(Format::Auth0, off_globe).geo, None);
        let null_island = r#"{"date":"2024-05-01T10:00:00Z","type":"s","user_name":"ann@example.com",
            "location_info":{"country_code":"NL","latitude":0,"longitude":0}}"#;
        let geo = testdata::event(Format::Auth0, null_island).geo.unwrap();
        assert_eq!((geo.lat, geo.country.as_deref()), (None, Some("NL")));
    }

    #[test]
    fn maps_second_factors_services_and_sessions() {
        let rejected = testdata::event(
            Format::Auth0,
            r#"{"date":"2024-05-01T10:00:00Z","type":"gd_auth_rejected","user_id":"auth0|42","user_name":"ann@example.com","description":"User rejected the push","details":{"session_id":"s-1","device_id":"dev-9"}}"#,
        );
        let detail = auth(&rejected);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::Mfa, Outcome::Denied, Some("push"))
        );
        assert_eq!(detail.reason.as_deref(), Some("User rejected the push"));
        assert_eq!(
            (
                rejected.session_id.as_deref(),
                rejected.device_id.as_deref()
            ),
            (Some("s-1"), Some("dev-9"))
        );

        let succeeded = testdata::event(
            Format::Auth0,
            r#"{"date":"2024-05-01T10:00:00Z","type":"gd_auth_succeed","user_id":"auth0|42","details":{"authenticator":{"type":"webauthn-roaming"}}}"#,
        );
        assert_eq!(succeeded.identity.as_deref(), Some("auth0|42"));
        let detail = auth(&succeeded);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::Mfa, Outcome::Success, Some("webauthn"))
        );

        let machine = testdata::event(
            Format::Auth0,
            r#"{"date":"2024-05-01T10:00:00Z","type":"seccft","client_id":"cl-7","client_name":"billing-worker","user_id":"","ip":"10.0.0.8"}"#,
        );
        assert_eq!(
            (machine.identity.as_deref(), machine.identity_type),
            (Some("cl-7"), IdentityType::Service)
        );
        assert_eq!(machine.app.as_deref(), Some("billing-worker"));
        assert_eq!(
            (auth(&machine).action, auth(&machine).outcome),
            (AuthAction::Login, Outcome::Success)
        );

        let silent = testdata::event(
            Format::Auth0,
            r#"{"date":"2024-05-01T10:00:00Z","type":"ssa","user_name":"ann@example.com","session_connection":"Username-Password-Authentication","sid":"oidc-sid"}"#,
        );
        assert_eq!(silent.session_id.as_deref(), Some("oidc-sid"));
        assert_eq!(
            (auth(&silent).action, auth(&silent).factor.as_deref()),
            (AuthAction::TokenRefresh, None)
        );

        let social = testdata::event(
            Format::Auth0,
            r#"{"date":"2024-05-01T10:00:00Z","type":"s","user_name":"ann@example.com","strategy":"Google-OAuth2","details":{"prompts":[{"name":"federated-authenticate","strategy":"google-oauth2"}]}}"#,
        );
        assert_eq!(auth(&social).factor.as_deref(), Some("google-oauth2"));
        let passwordless = testdata::event(
            Format::Auth0,
            r#"{"date":"2024-05-01T10:00:00Z","type":"s","user_name":"ann@example.com","strategy":"email"}"#,
        );
        assert_eq!(auth(&passwordless).factor.as_deref(), Some("email"));

        let logout = testdata::event(
            Format::Auth0,
            r#"{"date":"2024-05-01T10:00:00Z","type":"slo","user_name":"ann@example.com","details":{"session_id":"s-1"}}"#,
        );
        assert_eq!(
            (auth(&logout).action, auth(&logout).outcome),
            (AuthAction::Logout, Outcome::Success)
        );
    }

    #[test]
    fn skips_prompts_warnings_and_unknown_codes() {
        assert!(
            skipped(r#"{"date":"2024-05-01T10:00:00Z","type":"mfar","user_name":"a"}"#)
                .contains("`mfar`")
        );
        assert!(
            skipped(r#"{"date":"2024-05-01T10:00:00Z","type":"w","user_name":"a"}"#)
                .contains("`w`")
        );
        assert!(skipped(r#"{"type":"gd_send_pn"}"#).contains("guardian"));
        assert!(skipped(r#"{"type":"some_future_code"}"#).contains("not an authentication event"));
        assert_eq!(
            skipped(
                r#"{"date":"2024-05-01T10:00:00Z","type":"limit_mu","ip":"1.2.3.4","user_id":""}"#
            ),
            NO_USER
        );
    }

    #[test]
    fn errors_name_the_field() {
        let long_name = "x".repeat(MAX_ID_BYTES + 1);
        let long_record =
            format!(r#"{{"date":"2024-05-01T10:00:00Z","type":"s","user_name":"{long_name}"}}"#);
        let cases = [
            (r#"[1,2]"#, "`record`"),
            (r#"{}"#, "missing field `type`"),
            (r#"{"log_id":"1","data":"text"}"#, "invalid field `data`"),
            (
                r#"{"log_id":"1","data":{"type":"s","user_name":"a"}}"#,
                "missing field `data.date`",
            ),
            (
                r#"{"json":{"log_id":"1","data":{"type":"s","date":"yesterday","user_name":"a"}}}"#,
                "invalid field `json.data.date`",
            ),
            (r#"{"json":{"type":7}}"#, "invalid field `json.type`"),
            (
                r#"{"date":"2024-05-01T10:00:00Z","type":"s","user_name":"a","ip":"999.1.1.1"}"#,
                "invalid field `ip`",
            ),
            (
                r#"{"date":"2024-05-01T10:00:00Z","type":"s","user_name":"a","details":[1]}"#,
                "invalid field `details`",
            ),
            (long_record.as_str(), "invalid field `user_name`"),
            (r#"{"date":"2024-05-01T10:00"#, "malformed JSON"),
        ];
        for (record, expected) in cases {
            let error = decode(record.as_bytes()).unwrap_err();
            assert_eq!(error.format, Format::Auth0);
            assert!(error.to_string().contains(expected), "{record} -> {error}");
        }
    }

    #[test]
    fn detect_recognises_every_sample() {
        let mut records: Vec<String> = [SUCCESS_SAMPLES, FAILURE_SAMPLES]
            .iter()
            .filter_map(|file| testdata::lines(file))
            .flatten()
            .collect();
        if let Some(logs) = panther_logs() {
            records.extend(logs.into_iter().map(|(_, log)| log));
        }
        for record in &records {
            assert_eq!(
                crate::detect(record.as_bytes()),
                Ok(Format::Auth0),
                "{record}"
            );
        }
        let raw = r#"{"date":"2024-05-01T10:00:00Z","type":"s","user_name":"a"}"#;
        assert_eq!(crate::detect(raw.as_bytes()), Ok(Format::Auth0));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn never_panics_on_odd_field_values(
            code in "[a-z_]{0,16}",
            date in ".{0,32}",
            ip in ".{0,24}",
            latitude in proptest::prelude::any::<f64>(),
            country in ".{0,4}",
        ) {
            let record = serde_json::json!({
                "log_id": "1",
                "data": {"type": code, "date": date, "user_name": "a", "ip": ip,
                         "location_info": {"latitude": latitude, "longitude": latitude, "country_code": country},
                         "details": {"prompts": [{"name": "prompt-authenticate"}, 3, null]}},
            });
            let _ = decode(record.to_string().as_bytes());
        }
    }
}
