//! Decoder for the Okta System Log (`/api/v1/logs` records as the API, event hooks,
//! Elastic's integration and Panther write them).
//!
//! Sign-ins, MFA challenges and sign-outs become auth events; every other event type
//! (group changes, policy evaluations, admin actions) is [`Decoded::Skipped`] with a reason.
//!
//! Okta's records are wide and their exporters disagree on details, so the record is read
//! leniently: only the fields vigil keeps are parsed (borrowed when unescaped), a field of
//! an unexpected JSON type reads as absent instead of failing the record, Panther's
//! lower-cased keys (`eventtype`, `authenticationcontext`) and space-separated timestamps
//! are accepted, and unusable client addresses (`"null"`, `"redacted"`) are dropped. Only a
//! missing or unreadable event type, time or actor rejects a record of interest.
//!
//! The record is read with the typed lenient readers of [`crate::vendor`].
//!
//! A push that Okta only sent (`system.push.send_factor_verify_push`, logged `SUCCESS` once
//! the notification left) is skipped: it is a prompt, and the answer (approved, denied or
//! none) is a later record, so a sent push must never count as an approved second factor.

use crate::decode::{parse_ip, DecodeError, Decoded, Format};
use crate::vendor::{
    bounded_id, event_time, geo, normalize_factor, not_an_object, says_unanswered, LooseList,
    LooseNumber, LooseObject, LooseText,
};
use serde::Deserialize;
use vigil_schemas::{
    AuthAction, AuthDetail, CompactString, Detail, Event, Geo, IdentityType, Outcome,
};

const FORMAT: Format = Format::Okta;

// ---------------------------------------------------------------------------------------
// The Okta record.
// ---------------------------------------------------------------------------------------

/// The fields of an Okta System Log record that vigil reads. Aliases accept the
/// lower-cased keys some Panther exports write.
#[derive(Deserialize, Default)]
#[serde(default)]
struct OktaRecord<'a> {
    /// `user.session.start`, `user.authentication.auth_via_mfa`, ...
    #[serde(borrow, rename = "eventType", alias = "eventtype")]
    event_type: LooseText<'a>,
    /// Event time, RFC 3339 (`2024-08-13T15:58:20.353Z`) or Panther's `2022-03-22 14:21:53.225`.
    #[serde(borrow)]
    published: LooseText<'a>,
    /// Panther's normalized event time, used only when `published` is absent.
    #[serde(borrow)]
    p_event_time: LooseText<'a>,
    /// Okta's id of the record.
    #[serde(borrow)]
    uuid: LooseText<'a>,
    /// Who acted.
    #[serde(borrow)]
    actor: LooseObject<Actor<'a>>,
    /// The client the request came from.
    #[serde(borrow)]
    client: LooseObject<Client<'a>>,
    /// The device Okta (Identity Engine, Okta Verify) knows.
    #[serde(borrow)]
    device: LooseObject<Device<'a>>,
    /// Session and credential.
    #[serde(
        borrow,
        rename = "authenticationContext",
        alias = "authenticationcontext"
    )]
    authentication_context: LooseObject<AuthenticationContext<'a>>,
    /// Event-type specific details (the MFA factor).
    #[serde(borrow, rename = "debugContext", alias = "debugcontext")]
    debug_context: LooseObject<DebugContext<'a>>,
    /// Result and reason.
    #[serde(borrow)]
    outcome: LooseObject<OktaOutcome<'a>>,
    /// Network owner of the client address.
    #[serde(rename = "securityContext", alias = "securitycontext")]
    security_context: LooseObject<SecurityContext>,
    /// The chain of addresses the request passed.
    #[serde(borrow)]
    request: LooseObject<Request<'a>>,
    /// What the event was about (the app signed in to, the user, the authenticator).
    #[serde(borrow)]
    target: LooseList<Target<'a>>,
}

/// `actor`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Actor<'a> {
    /// Okta's user id (`00u...`).
    #[serde(borrow)]
    id: LooseText<'a>,
    /// `User`, `SystemPrincipal`, `PublicClientApp`, ...
    #[serde(borrow, rename = "type")]
    actor_type: LooseText<'a>,
    /// The login, usually an email address.
    #[serde(borrow, rename = "alternateId", alias = "alternateid")]
    alternate_id: LooseText<'a>,
}

/// `client`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Client<'a> {
    /// The client's address.
    #[serde(borrow, rename = "ipAddress", alias = "ipaddress")]
    ip_address: LooseText<'a>,
    /// The browser or app.
    #[serde(borrow, rename = "userAgent", alias = "useragent")]
    user_agent: LooseObject<UserAgent<'a>>,
    /// Okta's location of the address.
    #[serde(borrow, rename = "geographicalContext", alias = "geographicalcontext")]
    geographical_context: LooseObject<GeographicalContext<'a>>,
}

/// `client.userAgent`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct UserAgent<'a> {
    /// The header as sent.
    #[serde(borrow, rename = "rawUserAgent", alias = "rawuseragent")]
    raw_user_agent: LooseText<'a>,
}

/// `client.geographicalContext` and `request.ipChain[].geographicalContext`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct GeographicalContext<'a> {
    /// City name.
    #[serde(borrow)]
    city: LooseText<'a>,
    /// Country name ("United States").
    #[serde(borrow)]
    country: LooseText<'a>,
    /// Coordinates.
    geolocation: LooseObject<Geolocation>,
}

impl GeographicalContext<'_> {
    /// The location in vigil's form, when anything usable is known.
    fn geo(&self) -> Option<Geo> {
        let (lat, lon) = self
            .geolocation
            .get()
            .map_or((None, None), |point| (point.lat.0, point.lon.0));
        geo(lat, lon, self.city.get(), self.country.get())
    }
}

/// `geographicalContext.geolocation`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Geolocation {
    /// Latitude.
    lat: LooseNumber,
    /// Longitude.
    lon: LooseNumber,
}

/// `device` (Okta Identity Engine).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Device<'a> {
    /// Okta's device id (`guo...`).
    #[serde(borrow)]
    id: LooseText<'a>,
}

/// `authenticationContext`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct AuthenticationContext<'a> {
    /// The Okta session (`102...`, `idx...`).
    #[serde(borrow, rename = "externalSessionId", alias = "externalsessionid")]
    external_session_id: LooseText<'a>,
    /// `PASSWORD`, `OTP`, `SMS`, `EMAIL`, `ASSERTION`, ...
    #[serde(borrow, rename = "credentialType", alias = "credentialtype")]
    credential_type: LooseText<'a>,
}

/// `debugContext`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct DebugContext<'a> {
    /// The details.
    #[serde(borrow, rename = "debugData", alias = "debugdata")]
    debug_data: LooseObject<DebugData<'a>>,
}

/// `debugContext.debugData`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct DebugData<'a> {
    /// The MFA factor (`OKTA_VERIFY_PUSH`, `FIDO_WEBAUTHN`, `SMS_FACTOR`, ...).
    #[serde(borrow)]
    factor: LooseText<'a>,
    /// Okta's fingerprint of the browser or device (Classic engine).
    #[serde(borrow, rename = "deviceFingerprint", alias = "devicefingerprint")]
    device_fingerprint: LooseText<'a>,
}

/// `outcome`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct OktaOutcome<'a> {
    /// `SUCCESS`, `FAILURE`, `DENY`, `ALLOW`, `CHALLENGE`, `SKIPPED`, `UNKNOWN`.
    #[serde(borrow)]
    result: LooseText<'a>,
    /// Why (`INVALID_CREDENTIALS`, `VERIFICATION_ERROR`, `LOCKED_OUT`, free text).
    #[serde(borrow)]
    reason: LooseText<'a>,
}

/// `securityContext`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct SecurityContext {
    /// The client's autonomous system.
    #[serde(rename = "asNumber", alias = "asnumber")]
    as_number: LooseNumber,
}

/// `request`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Request<'a> {
    /// The addresses the request passed, client first.
    #[serde(borrow, rename = "ipChain", alias = "ipchain")]
    ip_chain: LooseList<IpChainEntry<'a>>,
}

/// `request.ipChain[]`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct IpChainEntry<'a> {
    /// The address.
    #[serde(borrow)]
    ip: LooseText<'a>,
    /// Okta's location of it.
    #[serde(borrow, rename = "geographicalContext", alias = "geographicalcontext")]
    geographical_context: LooseObject<GeographicalContext<'a>>,
}

/// `target[]`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Target<'a> {
    /// `AppInstance`, `User`, `AuthenticatorEnrollment`, ...
    #[serde(borrow, rename = "type")]
    target_type: LooseText<'a>,
    /// Human name ("Okta Admin Console").
    #[serde(borrow, rename = "displayName", alias = "displayname")]
    display_name: LooseText<'a>,
    /// Login or app label.
    #[serde(borrow, rename = "alternateId", alias = "alternateid")]
    alternate_id: LooseText<'a>,
}

// ---------------------------------------------------------------------------------------
// Mapping.
// ---------------------------------------------------------------------------------------

/// What an event type of interest becomes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Interest {
    /// The action.
    action: AuthAction,
    /// The factor when the record names none (`push` for push events).
    factor_hint: Option<&'static str>,
    /// The outcome whatever `outcome.result` says (a `deny_push` is a refusal even though
    /// Okta logs it with `SUCCESS`).
    forced_outcome: Option<Outcome>,
    /// A verification with a password is a primary sign-in step, not a second factor.
    password_means_login: bool,
}

impl Interest {
    /// An action with nothing special.
    const fn plain(action: AuthAction) -> Interest {
        Interest {
            action,
            factor_hint: None,
            forced_outcome: None,
            password_means_login: false,
        }
    }
}

/// Why a `policy.evaluate_sign_on` is skipped.
const SKIP_POLICY: &str = "okta `policy.evaluate_sign_on` is a policy decision, not a sign-in";
/// Why any other event type is skipped.
const SKIP_OTHER: &str = "okta event type is not a sign-in, mfa or sign-out";
/// Why an event whose result is not final is skipped.
const SKIP_OUTCOME: &str = "okta `outcome.result` is not final (challenge, skipped, unknown)";
/// Why a sent push is skipped: Okta logs the sending with `SUCCESS` whatever the user does.
const SKIP_PUSH_SENT: &str = "okta push sent: a prompt, not an answer";

/// The event types vigil judges, and what they become.
fn classify(event_type: &str) -> Result<Interest, &'static str> {
    let is = |name: &str| event_type.eq_ignore_ascii_case(name);
    if is("user.session.start") || is("user.authentication.sso") {
        return Ok(Interest::plain(AuthAction::Login));
    }
    if is("user.session.end") {
        return Ok(Interest::plain(AuthAction::Logout));
    }
    if is("user.authentication.auth_via_mfa") {
        return Ok(Interest::plain(AuthAction::Mfa));
    }
    if is("user.authentication.verify") {
        return Ok(Interest {
            password_means_login: true,
            ..Interest::plain(AuthAction::Mfa)
        });
    }
    if is("system.push.send_factor_verify_push") {
        return Err(SKIP_PUSH_SENT);
    }
    if is("user.mfa.okta_verify.deny_push") {
        return Ok(Interest {
            factor_hint: Some("push"),
            forced_outcome: Some(Outcome::Denied),
            ..Interest::plain(AuthAction::Mfa)
        });
    }
    let via_prefix = "user.authentication.auth_via_";
    let is_via = event_type
        .get(..via_prefix.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(via_prefix));
    if is_via {
        return Ok(Interest::plain(AuthAction::Login));
    }
    if is("policy.evaluate_sign_on") {
        return Err(SKIP_POLICY);
    }
    Err(SKIP_OTHER)
}

/// Whether a lowercase reason says the user refused an MFA challenge.
fn says_refused(reason: &str) -> bool {
    ["reject", "denied by user", "user denied"]
        .iter()
        .any(|needle| reason.contains(needle))
}

/// The outcome of an event of interest; `Ok(None)` when Okta's result is not final.
fn outcome(
    raw: Option<&OktaOutcome<'_>>,
    interest: Interest,
    action: AuthAction,
) -> Result<Option<Outcome>, DecodeError> {
    if let Some(forced) = interest.forced_outcome {
        return Ok(Some(forced));
    }
    // Not `get()`: `UNKNOWN` is one of Okta's results here, not a placeholder.
    let result = raw
        .and_then(|outcome| outcome.result.0.as_deref())
        .map(str::trim)
        .filter(|result| !result.is_empty())
        .ok_or_else(|| DecodeError::missing(FORMAT, "outcome.result"))?;
    let is = |name: &str| result.eq_ignore_ascii_case(name);
    if is("SUCCESS") || is("ALLOW") {
        return Ok(Some(Outcome::Success));
    }
    if is("DENY") {
        return Ok(Some(Outcome::Denied));
    }
    if !is("FAILURE") {
        return Ok(None);
    }
    // A failure's reason tells an unanswered or refused challenge from a wrong answer.
    let reason = raw
        .and_then(|outcome| outcome.reason.get())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if says_unanswered(&reason) {
        return Ok(Some(Outcome::Timeout));
    }
    if action == AuthAction::Mfa && says_refused(&reason) {
        return Ok(Some(Outcome::Denied));
    }
    Ok(Some(Outcome::Failure))
}

/// Human or service, from `actor.type`.
fn identity_type(actor_type: Option<&str>) -> IdentityType {
    let Some(actor_type) = actor_type else {
        return IdentityType::User;
    };
    let service = ["SystemPrincipal", "PublicClientApp", "AppInstance"]
        .iter()
        .any(|name| actor_type.eq_ignore_ascii_case(name));
    if service {
        IdentityType::Service
    } else {
        IdentityType::User
    }
}

/// The user agent of requests Okta makes itself on a user's behalf.
const OKTA_ITSELF: &str = "Okta-Integrations";

/// The client's address and its vendor location: `client`, else the first usable entry of
/// `request.ipChain`.
fn client_address(raw: &OktaRecord<'_>) -> (Option<std::net::IpAddr>, Option<Geo>) {
    let client = raw.client.get();
    let chain = raw
        .request
        .get()
        .map_or(&[][..], |request| request.ip_chain.0.as_slice());
    let client_ip = client
        .and_then(|client| client.ip_address.get())
        .and_then(parse_ip);
    let chain_ip = || {
        chain
            .iter()
            .find_map(|entry| entry.ip.get().and_then(parse_ip))
    };
    let client_geo = client
        .and_then(|client| client.geographical_context.get())
        .and_then(GeographicalContext::geo);
    let chain_geo = || {
        chain.iter().find_map(|entry| {
            entry
                .geographical_context
                .get()
                .and_then(GeographicalContext::geo)
        })
    };
    (client_ip.or_else(chain_ip), client_geo.or_else(chain_geo))
}

/// The app signed in to: the first `AppInstance` target.
fn app(targets: &[Target<'_>]) -> Option<CompactString> {
    let instance = targets.iter().find(|target| {
        target
            .target_type
            .get()
            .is_some_and(|kind| kind.eq_ignore_ascii_case("AppInstance"))
    })?;
    instance
        .display_name
        .get()
        .or_else(|| instance.alternate_id.get())
        .map(CompactString::from)
}

/// Decodes one Okta System Log record.
pub(crate) fn decode(record: &[u8]) -> Result<Decoded, DecodeError> {
    let parsed: LooseObject<OktaRecord<'_>> =
        serde_json::from_slice(record).map_err(|error| DecodeError::json(FORMAT, &error))?;
    // Read through `LooseObject`: a derived struct would read an array as its fields.
    let Some(raw) = parsed.0 else {
        return Err(not_an_object(FORMAT));
    };
    let event_type = raw
        .event_type
        .get()
        .ok_or_else(|| DecodeError::missing(FORMAT, "eventType"))?;
    let interest = match classify(event_type) {
        Ok(interest) => interest,
        Err(reason) => return Ok(Decoded::Skipped(reason)),
    };
    let time = event_time(
        FORMAT,
        "published",
        raw.published.get(),
        raw.p_event_time.get(),
    )?;
    let actor = raw.actor.get();
    let login = actor.and_then(|actor| actor.alternate_id.get().or_else(|| actor.id.get()));
    let identity = bounded_id(FORMAT, login, "actor.alternateId")?
        .ok_or_else(|| DecodeError::missing(FORMAT, "actor.alternateId"))?;

    let authentication = raw.authentication_context.get();
    let debug_data = raw
        .debug_context
        .get()
        .and_then(|context| context.debug_data.get());
    let vendor_factor = debug_data
        .and_then(|data| data.factor.get())
        .or_else(|| authentication.and_then(|context| context.credential_type.get()));
    let factor = vendor_factor
        .and_then(normalize_factor)
        .or_else(|| interest.factor_hint.map(CompactString::from));
    let action = if interest.password_means_login && factor.as_deref() == Some("password") {
        AuthAction::Login
    } else {
        interest.action
    };
    let Some(outcome) = outcome(raw.outcome.get(), interest, action)? else {
        return Ok(Decoded::Skipped(SKIP_OUTCOME));
    };
    let reason = match outcome {
        Outcome::Success => None,
        _ => raw
            .outcome
            .get()
            .and_then(|outcome| outcome.reason.get())
            .map(str::to_string),
    };

    let session = authentication.and_then(|context| context.external_session_id.get());
    let device = raw
        .device
        .get()
        .and_then(|device| device.id.get())
        .or_else(|| debug_data.and_then(|data| data.device_fingerprint.get()));
    let client = raw.client.get();
    let user_agent = client
        .and_then(|client| client.user_agent.get())
        .and_then(|agent| agent.raw_user_agent.get());
    // Okta acting for the user from its own servers (the Admin Console's requests show
    // Okta's addresses and the agent `Okta-Integrations`, as Okta's support documents):
    // where it came from says nothing about where the user is or what they hold.
    let by_okta = user_agent.is_some_and(|agent| agent.eq_ignore_ascii_case(OKTA_ITSELF));
    let (ip, geo) = if by_okta {
        (None, None)
    } else {
        client_address(&raw)
    };
    Ok(Decoded::Event(Box::new(Event {
        time,
        identity: Some(identity),
        identity_type: identity_type(actor.and_then(|actor| actor.actor_type.get())),
        session_id: bounded_id(FORMAT, session, "authenticationContext.externalSessionId")?,
        device_id: bounded_id(FORMAT, device, "device.id")?,
        ip,
        geo,
        asn: raw
            .security_context
            .get()
            .and_then(|context| context.as_number.asn())
            .filter(|_| !by_okta),
        user_agent: user_agent.filter(|_| !by_okta).map(str::to_string),
        app: app(&raw.target.0),
        event_id: raw.uuid.get().map(CompactString::from),
        detail: Detail::Auth(AuthDetail {
            action,
            outcome,
            factor,
            reason,
        }),
    })))
}

#[cfg(test)]
pub(crate) mod tests;
