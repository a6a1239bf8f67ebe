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
//!
//! The log is read with [`crate::vendor`]'s value readers; its `location_info` goes through
//! [`crate::vendor::geo`] like every vendor's location.

use crate::decode::{DecodeError, Decoded, Format};
use crate::vendor::{
    address, bounded_id, field, geo, normalize_factor, number, object, parse_object,
    required_string, string, timestamp,
};
use serde_json::Value;
use vigil_schemas::{
    AuthAction, AuthDetail, CompactString, Detail, Event, Geo, IdentityType, Outcome,
};

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
    log: &'a Value,
    /// How field names are prefixed in errors: `""`, `"data."`, `"json."` or `"json.data."`.
    path: &'static str,
    /// The `log_id` a log-stream wrapper carries beside `data`.
    wrapper_log_id: Option<&'a str>,
}

/// Finds the log object in a raw log, a `{log_id, data}` stream record or a `{"json"}` wrapper.
fn locate(root: &Value) -> Result<Located<'_>, DecodeError> {
    // A raw log names its type at the top; wrappers never do.
    let names_type = |object: &Value| field(object, "type").is_some_and(Value::is_string);
    if names_type(root) {
        return Ok(Located {
            log: root,
            path: "",
            wrapper_log_id: None,
        });
    }
    let (outer, outer_path) = match object(FORMAT, root, "", "json")? {
        Some(inner) if names_type(inner) => {
            return Ok(Located {
                log: inner,
                path: "json.",
                wrapper_log_id: None,
            });
        }
        Some(inner) => (inner, "json."),
        None => (root, ""),
    };
    let Some(data) = object(FORMAT, outer, outer_path, "data")? else {
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
    Ok(Located {
        log: data,
        path,
        wrapper_log_id: string(field(outer, "log_id")),
    })
}

/// A member of the log as an owned string, unless absent, a placeholder or not a string.
fn owned(object: &Value, key: &str) -> Option<String> {
    string(field(object, key)).map(str::to_string)
}

/// The subject of the event and the member it was read from: the user name (an email for
/// database and most social connections), else the user id; for client credentials the
/// application's `client_id`.
fn identity(log: &Value, service: bool) -> Option<(&str, &'static str)> {
    let user_keys: &[&'static str] = if service {
        &["user_name", "user_id", "client_id"]
    } else {
        &["user_name", "user_id"]
    };
    user_keys
        .iter()
        .find_map(|key| string(field(log, key)).map(|value| (value, *key)))
}

/// The Auth0 session and the member it was read from: `details.session_id`, or an OIDC
/// `sid` where that is all there is. `session_connection` is not used: it names the
/// connection the session was made with, not the session.
fn session_id<'a>(log: &'a Value, details: Option<&'a Value>) -> Option<(&'a str, &'static str)> {
    let from_details = |key: &str| details.and_then(|details| string(field(details, key)));
    if let Some(session) = from_details("session_id") {
        return Some((session, "details.session_id"));
    }
    for key in ["session_id", "sid"] {
        if let Some(session) = string(field(log, key)) {
            return Some((session, key));
        }
    }
    from_details("sid").map(|session| (session, "details.sid"))
}

/// Auth0's own geolocation of the IP (`location_info`), coordinates written as numbers or,
/// by older SDKs, as strings (see [`geo`] for what is kept).
fn location(location_info: Option<&Value>) -> Option<Geo> {
    let place = location_info?;
    geo(
        number(field(place, "latitude")),
        number(field(place, "longitude")),
        string(field(place, "city_name")),
        string(field(place, "country_code")),
    )
}

/// The primary factor of a login from its prompts: a password prompt, else the strategy of
/// the first federated or passwordless authentication prompt.
fn factor_from_prompts(details: Option<&Value>) -> Option<CompactString> {
    let prompts = field(details?, "prompts")?.as_array()?;
    prompts
        .iter()
        .filter(|prompt| prompt.is_object())
        .find_map(|prompt| {
            let name = string(field(prompt, "name"))?;
            if !name.contains("authenticate") {
                return None;
            }
            if name.contains("password") {
                return Some(CompactString::from(PASSWORD));
            }
            string(field(prompt, "strategy")).and_then(normalize_factor)
        })
}

/// The factor of an event: what its code implies, else for second factors the Guardian
/// authenticator type, else for logins the prompts, the connection strategy and its type.
fn factor(
    log: &Value,
    details: Option<&Value>,
    action: AuthAction,
    implied: Option<&'static str>,
) -> Option<CompactString> {
    if let Some(implied) = implied {
        return Some(CompactString::from(implied));
    }
    match action {
        AuthAction::Mfa => details
            .and_then(|details| field(details, "authenticator"))
            .and_then(|authenticator| string(field(authenticator, "type")))
            .and_then(normalize_factor),
        AuthAction::Login => factor_from_prompts(details)
            .or_else(|| string(field(log, "strategy")).and_then(normalize_factor))
            .or_else(|| {
                let database = string(field(log, "strategy_type")) == Some("database");
                database.then(|| CompactString::from(PASSWORD))
            }),
        AuthAction::Logout | AuthAction::TokenRefresh => None,
    }
}

/// Why an attempt did not succeed: the description, else the error message of the details.
fn reason(log: &Value, details: Option<&Value>, outcome: Outcome) -> Option<String> {
    if outcome == Outcome::Success {
        return None;
    }
    owned(log, "description").or_else(|| owned(field(details?, "error")?, "message"))
}

/// The client's address: `ip`, else `client_ip`; a value that is present but no address is
/// an error.
fn client_ip(log: &Value, path: &str) -> Result<Option<std::net::IpAddr>, DecodeError> {
    for key in ["ip", "client_ip"] {
        if let Some(text) = string(field(log, key)) {
            return address(FORMAT, Some(text), format_args!("{path}{key}"));
        }
    }
    Ok(None)
}

/// Decodes one Auth0 tenant log record.
pub(crate) fn decode(record: &[u8]) -> Result<Decoded, DecodeError> {
    let root = parse_object(FORMAT, record)?;
    let Located {
        log,
        path,
        wrapper_log_id,
    } = locate(&root)?;
    let code = required_string(FORMAT, log, path, "type")?;
    let (action, outcome, implied_factor, service) = match classify(code) {
        Meaning::Skip(reason) => return Ok(Decoded::Skipped(reason)),
        Meaning::Auth {
            action,
            outcome,
            factor,
            service,
        } => (action, outcome, factor, service),
    };
    let date = required_string(FORMAT, log, path, "date")?;
    let time = timestamp(FORMAT, date, format_args!("{path}date"))?;
    let Some((identity, identity_key)) = identity(log, service) else {
        return Ok(Decoded::Skipped(NO_USER));
    };
    let identity = bounded_id(FORMAT, Some(identity), format_args!("{path}{identity_key}"))?;
    let details = object(FORMAT, log, path, "details")?;
    let session_id = match session_id(log, details) {
        Some((session, key)) => bounded_id(FORMAT, Some(session), format_args!("{path}{key}"))?,
        None => None,
    };
    let device_id = string(field(log, "device_id"))
        .or_else(|| details.and_then(|details| string(field(details, "device_id"))));
    let device_id = bounded_id(FORMAT, device_id, format_args!("{path}device_id"))?;
    let location_info = object(FORMAT, log, path, "location_info")?;
    let event_id = string(field(log, "log_id"))
        .or(wrapper_log_id)
        .or_else(|| string(field(log, "_id")))
        .map(CompactString::from);
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
        geo: location(location_info),
        asn: None,
        user_agent: owned(log, "user_agent"),
        app: string(field(log, "client_name")).map(CompactString::from),
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
pub(crate) mod tests;
