//! Decoder for Microsoft Entra ID (Azure AD) sign-in logs.
//!
//! Three shapes are read, told apart by their fields:
//! - Azure Monitor diagnostic records (Event Hub, Log Analytics, storage exports):
//!   `{time, category, resultType, resultDescription, callerIpAddress, properties: {signIn}}`.
//!   Only the sign-in categories are decoded (`SignInLogs`, `NonInteractiveUserSignInLogs`,
//!   `ServicePrincipalSignInLogs`, `MicrosoftServicePrincipalSignInLogs`,
//!   `ManagedIdentitySignInLogs`, `ADFSSignInLogs`); audit, provisioning and risk
//!   categories are skipped.
//! - Microsoft Graph `signIn` objects (`/auditLogs/signIns`), the same fields at the top.
//! - Office 365 Management Activity records of Entra logons (`Operation` `UserLoggedIn` /
//!   `UserLoginFailed`); every other operation is skipped.
//!
//! A batch wrapper (`{"records": [...]}` as Event Hub delivers diagnostic records, or a
//! Graph list response `{"value": [...]}`) is decoded to its first record that is not
//! skipped; the rest of the batch is dropped, so sources should split batches upstream.
//!
//! Mapping decisions:
//! - `action`: `token_refresh` for non-interactive user sign-ins (a client redeeming a
//!   refresh token or cookie without the user presenting a factor), except those that
//!   checked a password (a `Password` step, or a bad-password or lockout code), which are
//!   `login`: password sprays through non-interactive flows must count as logins. `mfa`
//!   for a failed second factor (error `500121`), `login` otherwise, service principals
//!   included.
//! - `outcome` from `status.errorCode` (else `resultType`), see [`verdict`]: interrupts
//!   (MFA required, "keep me signed in", consent, account picker) are skipped because the
//!   sign-in has not ended and its completion is logged as a later record; Conditional
//!   Access and assignment blocks are `denied`; a failed MFA step is `denied` when the user
//!   refused it, `timeout` when nobody answered, `failure` when a wrong code was entered.
//! - `identity`: the user principal name, lowercased (UPNs are case-insensitive, and a
//!   failed attempt carries the name as typed), else the user's object id. Service
//!   principals and managed identities use `servicePrincipalId` (stable, unique in the
//!   tenant; a display name is neither), else `appId`, else `servicePrincipalName`.
//! - `session_id`: `sessionId` (newer logs), else `correlationId`, which groups the records
//!   of one sign-in flow rather than a whole session.
//! - `country`: Entra writes ISO alpha-2 already; other spellings go through
//!   [`crate::country::to_alpha2`].
//!
//! The record is parsed to a [`serde_json::Value`] rather than borrowed structs: field types
//! vary between exports (`autonomousSystemNumber` and `resultType` come as numbers or
//! strings, top-level `location` is a string in diagnostic records and an object in Graph)
//! and Panther's exports lowercase some keys, which lookups here tolerate.

use crate::country::to_alpha2;
use crate::decode::{parse_ip, present, DecodeError, Decoded, Format};
use crate::native::MAX_ID_BYTES;
use serde_json::Value;
use vigil_schemas::{AuthAction, AuthDetail, Detail, Event, Geo, IdentityType, Outcome, Timestamp};

/// The format every error of this decoder names.
const FORMAT: Format = Format::Entra;

/// Why a diagnostic record of another category is skipped.
const SKIP_CATEGORY: &str = "entra diagnostic record of a category other than sign-in logs";

/// Why an Office 365 audit record other than a logon is skipped.
const SKIP_OPERATION: &str =
    "office 365 audit record other than `UserLoggedIn` or `UserLoginFailed`";

/// Why a batch with nothing but skipped records is skipped.
const SKIP_BATCH: &str = "entra batch without a sign-in record";

/// Entra's error code for a failed second factor ("Authentication failed during strong
/// authentication request"); the details say whether the user refused or did not answer.
const MFA_FAILED_CODE: i64 = 500_121;

/// What kind of principal signed in, which decides the action, identity and identity type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Principal {
    /// A person at a sign-in prompt.
    InteractiveUser,
    /// A client acting for a person with a refresh token or cookie.
    NonInteractiveUser,
    /// An application signing in with its own credentials.
    Application,
    /// An Azure managed identity.
    ManagedIdentity,
}

impl Principal {
    /// Whether the principal is a workload rather than a person.
    fn is_service(self) -> bool {
        matches!(self, Principal::Application | Principal::ManagedIdentity)
    }
}

/// The result a sign-in record states, before it is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResultCode {
    /// An Entra (AADSTS) error code; 0 is success.
    Code(i64),
    /// `resultType` said `Failure` without a code.
    UnnamedFailure,
}

/// How a sign-in record is judged from its result code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// The attempt ended with this outcome.
    Ended(Outcome),
    /// The attempt was interrupted and continues in a later record: skip with this reason.
    Interrupted(&'static str),
}

/// Decodes one Entra record (or the first sign-in of a batch).
pub(crate) fn decode(record: &[u8]) -> Result<Decoded, DecodeError> {
    let value: Value =
        serde_json::from_slice(record).map_err(|error| DecodeError::json(FORMAT, &error))?;
    if !value.is_object() {
        return Err(DecodeError::new(FORMAT, "expected a JSON object"));
    }
    if let Some(batch) = batch(&value) {
        return decode_batch(batch);
    }
    decode_one(&value)
}

/// The records of a batch wrapper: `records` (Event Hub) or `value` (Graph list response).
fn batch(value: &Value) -> Option<&Vec<Value>> {
    if let Some(records) = field(value, "records").and_then(Value::as_array) {
        return Some(records);
    }
    if field(value, "createdDateTime").is_some() {
        return None;
    }
    field(value, "value").and_then(Value::as_array)
}

/// The first record of a batch that is not skipped, decoded.
fn decode_batch(records: &[Value]) -> Result<Decoded, DecodeError> {
    for record in records {
        match decode_one(record) {
            Ok(Decoded::Skipped(_)) => continue,
            other => return other,
        }
    }
    Ok(Decoded::Skipped(SKIP_BATCH))
}

/// Decodes one record of any of the three shapes.
fn decode_one(record: &Value) -> Result<Decoded, DecodeError> {
    if !record.is_object() {
        return Err(DecodeError::new(FORMAT, "expected a JSON object"));
    }
    if let Some(properties) =
        field(record, "properties").filter(|properties| properties.is_object())
    {
        return decode_diagnostic(record, properties);
    }
    if field(record, "Operation").is_some()
        && (field(record, "Workload").is_some() || field(record, "RecordType").is_some())
    {
        return decode_management_activity(record);
    }
    let graph_fields = [
        "createdDateTime",
        "userPrincipalName",
        "servicePrincipalId",
        "appId",
    ];
    if graph_fields
        .iter()
        .any(|name| field(record, name).is_some())
    {
        let principal = graph_principal(record);
        return decode_sign_in(None, record, principal);
    }
    Err(DecodeError::new(
        FORMAT,
        "unrecognised record: none of `properties`, `createdDateTime`, `userPrincipalName` or `Operation`",
    ))
}

/// Decodes an Azure Monitor diagnostic record, skipping categories other than sign-ins.
fn decode_diagnostic(envelope: &Value, properties: &Value) -> Result<Decoded, DecodeError> {
    let principal = match text(field(envelope, "category")) {
        Some(category) => match category_principal(&category) {
            Some(principal) => principal,
            None => return Ok(Decoded::Skipped(SKIP_CATEGORY)),
        },
        None => graph_principal(properties),
    };
    decode_sign_in(Some(envelope), properties, principal)
}

/// The principal of a sign-in log category; `None` for categories that are not sign-ins.
fn category_principal(category: &str) -> Option<Principal> {
    let principal = match category.to_ascii_lowercase().as_str() {
        "signinlogs" | "adfssigninlogs" => Principal::InteractiveUser,
        "noninteractiveusersigninlogs" => Principal::NonInteractiveUser,
        "serviceprincipalsigninlogs" | "microsoftserviceprincipalsigninlogs" => {
            Principal::Application
        }
        "managedidentitysigninlogs" => Principal::ManagedIdentity,
        _ => return None,
    };
    Some(principal)
}

/// The principal of a Graph `signIn`: from `signInEventTypes` (beta and newer exports),
/// else from which identity fields are filled and `isInteractive`.
fn graph_principal(sign_in: &Value) -> Principal {
    let event_types = field(sign_in, "signInEventTypes").and_then(Value::as_array);
    for event_type in event_types.into_iter().flatten() {
        let principal = match event_type.as_str() {
            Some("interactiveUser") => Principal::InteractiveUser,
            Some("nonInteractiveUser") => Principal::NonInteractiveUser,
            Some("servicePrincipal") => Principal::Application,
            Some("managedIdentity") => Principal::ManagedIdentity,
            _ => continue,
        };
        return principal;
    }
    let has_user = text(field(sign_in, "userPrincipalName")).is_some()
        || text(field(sign_in, "userId")).is_some();
    if !has_user && text(field(sign_in, "servicePrincipalId")).is_some() {
        return Principal::Application;
    }
    if field(sign_in, "isInteractive") == Some(&Value::Bool(false)) {
        return Principal::NonInteractiveUser;
    }
    Principal::InteractiveUser
}

/// Decodes the sign-in fields (Graph `signIn`, or a diagnostic record's `properties` with
/// its envelope for the fields only the envelope has).
fn decode_sign_in(
    envelope: Option<&Value>,
    sign_in: &Value,
    principal: Principal,
) -> Result<Decoded, DecodeError> {
    let time = sign_in_time(envelope, sign_in)?;
    let code = result_code(envelope, sign_in)?;
    let details = failure_details(sign_in);
    let outcome = match verdict(code, &details.to_ascii_lowercase()) {
        Verdict::Ended(outcome) => outcome,
        Verdict::Interrupted(reason) => return Ok(Decoded::Skipped(reason)),
    };
    let action = match (code, principal) {
        (ResultCode::Code(MFA_FAILED_CODE), _) => AuthAction::Mfa,
        (_, Principal::NonInteractiveUser) if !checked_password(sign_in, code) => {
            AuthAction::TokenRefresh
        }
        _ => AuthAction::Login,
    };
    let identity_field = if principal.is_service() {
        "servicePrincipalId"
    } else {
        "userPrincipalName"
    };
    let identity = bounded(sign_in_identity(sign_in, principal), identity_field)?
        .ok_or_else(|| DecodeError::missing(FORMAT, identity_field))?;
    let reason = match outcome {
        Outcome::Success => None,
        _ => failure_reason(envelope, sign_in, code),
    };
    let session = text(field(sign_in, "sessionId"))
        .or_else(|| text(field(sign_in, "correlationId")))
        .or_else(|| envelope.and_then(|envelope| text(field(envelope, "correlationId"))));
    let ip = text(field(sign_in, "ipAddress"))
        .or_else(|| envelope.and_then(|envelope| text(field(envelope, "callerIpAddress"))))
        .and_then(|address| parse_ip(&address));
    let asn = integer(field(sign_in, "autonomousSystemNumber"))
        .and_then(|number| u32::try_from(number).ok())
        .filter(|number| *number > 0);
    Ok(Decoded::Event(Box::new(Event {
        time,
        identity: Some(identity),
        identity_type: if principal.is_service() {
            IdentityType::Service
        } else {
            IdentityType::User
        },
        session_id: bounded(session, "sessionId")?,
        device_id: bounded(
            text(path(sign_in, &["deviceDetail", "deviceId"])),
            "deviceDetail.deviceId",
        )?,
        ip,
        geo: geo(field(sign_in, "location")),
        asn,
        user_agent: text(field(sign_in, "userAgent")),
        app: sign_in_app(sign_in, principal),
        event_id: text(field(sign_in, "id")),
        detail: Detail::Auth(AuthDetail {
            action,
            outcome,
            factor: sign_in_factor(sign_in, outcome),
            reason,
        }),
    })))
}

/// Whether a sign-in checked a password: a `Password` step, or an error code only a
/// password check gives (50126 bad password, 50053 locked, 50034 no such user, 50056 no
/// password, 50055 expired password, 50064 credential validation failed).
fn checked_password(sign_in: &Value, code: ResultCode) -> bool {
    if let ResultCode::Code(50126 | 50053 | 50034 | 50056 | 50055 | 50064) = code {
        return true;
    }
    let steps = field(sign_in, "authenticationDetails").and_then(Value::as_array);
    steps
        .into_iter()
        .flatten()
        .any(|step| step_factor(step).as_deref() == Some("password"))
}

/// When the sign-in happened: `createdDateTime`, else the diagnostic record's `time`.
fn sign_in_time(envelope: Option<&Value>, sign_in: &Value) -> Result<Timestamp, DecodeError> {
    if let Some(created) = text(field(sign_in, "createdDateTime")) {
        return parse_time(&created, "createdDateTime");
    }
    match envelope.and_then(|envelope| text(field(envelope, "time"))) {
        Some(time) => parse_time(&time, "time"),
        None => Err(DecodeError::missing(FORMAT, "createdDateTime")),
    }
}

/// The stated result: `status.errorCode`, else the diagnostic `resultType` (a code as a
/// number or string, or the words `Success` / `Failure` in some exports).
fn result_code(envelope: Option<&Value>, sign_in: &Value) -> Result<ResultCode, DecodeError> {
    if let Some(code) = integer(path(sign_in, &["status", "errorCode"])) {
        return Ok(ResultCode::Code(code));
    }
    let Some(result_type) = envelope.and_then(|envelope| text(field(envelope, "resultType")))
    else {
        return Err(DecodeError::missing(FORMAT, "status.errorCode"));
    };
    if let Ok(code) = result_type.parse::<i64>() {
        return Ok(ResultCode::Code(code));
    }
    if result_type.eq_ignore_ascii_case("success") {
        return Ok(ResultCode::Code(0));
    }
    if result_type.eq_ignore_ascii_case("failure") {
        return Ok(ResultCode::UnnamedFailure);
    }
    Err(DecodeError::invalid(
        FORMAT,
        "resultType",
        format!("`{result_type}` is neither an error code nor `Success` / `Failure`"),
    ))
}

/// Judges a result code. `details` is the lowercased failure text, read only for `500121`.
///
/// | codes | meaning | verdict |
/// |---|---|---|
/// | 0 | success | success |
/// | 50140 | "keep me signed in" prompt | skipped: interrupt |
/// | 50074, 50076 | MFA required (strong auth, policy or location change) | skipped: interrupt |
/// | 50072, 50079 | user must register for MFA | skipped: interrupt |
/// | 50125 | password reset or registration prompt | skipped: interrupt |
/// | 50097 | device authentication required | skipped: interrupt |
/// | 50158 | external (third-party MFA) challenge not yet satisfied | skipped: interrupt |
/// | 50199 | "are you sure" confirmation (CMSI) | skipped: interrupt |
/// | 50058, 16000, 16001 | silent sign-in without session, account picker | skipped: interrupt |
/// | 65001 | consent required | skipped: interrupt |
/// | 500121 | MFA failed | `timeout` if nobody answered, `failure` for a wrong code, else `denied` |
/// | 53000, 53001, 53002, 53003, 53004, 53011, 530032, 50131 | blocked by Conditional Access or security policy | denied |
/// | 50105 | user not assigned to the application | denied |
/// | 50053 (locked or malicious IP), 50126 (bad password), 50034 (no such user), 50057 (disabled), 50055 (expired password), 7000215 (bad client secret), expired or revoked tokens, all others | | failure |
fn verdict(code: ResultCode, details: &str) -> Verdict {
    let code = match code {
        ResultCode::Code(code) => code,
        ResultCode::UnnamedFailure => return Verdict::Ended(Outcome::Failure),
    };
    match code {
        0 => Verdict::Ended(Outcome::Success),
        50140 => Verdict::Interrupted("entra \"keep me signed in\" interrupt (50140): the sign-in completes in a later record"),
        50074 | 50076 | 50072 | 50079 => {
            Verdict::Interrupted("entra MFA-required interrupt (50074, 50076, 50072, 50079): the MFA result is a later record")
        }
        50125 | 50097 | 50158 | 50199 | 50058 | 16000 | 16001 | 65001 => {
            Verdict::Interrupted("entra sign-in interrupt (prompt, consent or silent attempt): the sign-in completes in a later record")
        }
        MFA_FAILED_CODE => Verdict::Ended(mfa_failure_outcome(details)),
        53000 | 53001 | 53002 | 53003 | 53004 | 53011 | 530032 | 50131 | 50105 => Verdict::Ended(Outcome::Denied),
        _ => Verdict::Ended(Outcome::Failure),
    }
}

/// How a failed second factor ended, from Entra's wording ("MFA denied; user declined the
/// authentication", "MFA denied; user did not respond to mobile app notification",
/// "invalid verification code").
fn mfa_failure_outcome(details: &str) -> Outcome {
    let unanswered = [
        "did not respond",
        "not answered",
        "no response",
        "timed out",
        "timeout",
    ];
    if unanswered.iter().any(|marker| details.contains(marker)) {
        return Outcome::Timeout;
    }
    let wrong_code = [
        "invalid verification code",
        "incorrect verification code",
        "wrong code",
        "invalid code",
    ];
    if wrong_code.iter().any(|marker| details.contains(marker)) {
        return Outcome::Failure;
    }
    Outcome::Denied
}

/// The failure texts of a sign-in, joined, for reading how an MFA step ended.
fn failure_details(sign_in: &Value) -> String {
    let mut details = String::new();
    for name in ["failureReason", "additionalDetails"] {
        if let Some(part) = text(path(sign_in, &["status", name])) {
            details.push_str(&part);
            details.push('\n');
        }
    }
    let steps = field(sign_in, "authenticationDetails").and_then(Value::as_array);
    for step in steps.into_iter().flatten() {
        if let Some(part) = text(field(step, "authenticationStepResultDetail")) {
            details.push_str(&part);
            details.push('\n');
        }
    }
    details
}

/// The vendor's reason for a failure: `status.failureReason` (with `additionalDetails` in
/// brackets when there are both), else `resultDescription`, else the bare error code.
fn failure_reason(envelope: Option<&Value>, sign_in: &Value, code: ResultCode) -> Option<String> {
    let failure_reason = text(path(sign_in, &["status", "failureReason"]))
        .or_else(|| envelope.and_then(|envelope| text(field(envelope, "resultDescription"))));
    let additional = text(path(sign_in, &["status", "additionalDetails"]));
    match (failure_reason, additional) {
        (Some(reason), Some(additional)) if reason != additional => {
            Some(format!("{reason} ({additional})"))
        }
        (Some(reason), _) => Some(reason),
        (None, Some(additional)) => Some(additional),
        (None, None) => match code {
            ResultCode::Code(code) => Some(format!("error code {code}")),
            ResultCode::UnnamedFailure => None,
        },
    }
}

/// The identity of the principal (see the module docs for the order of preference).
fn sign_in_identity(sign_in: &Value, principal: Principal) -> Option<String> {
    if principal.is_service() {
        return ["servicePrincipalId", "appId", "servicePrincipalName"]
            .iter()
            .find_map(|name| text(field(sign_in, name)));
    }
    text(field(sign_in, "userPrincipalName"))
        .map(|name| name.to_lowercase())
        .or_else(|| text(field(sign_in, "userId")))
}

/// The application: for people the client app signed in to, for workloads the resource
/// they got a token for (their own app name would repeat the identity).
fn sign_in_app(sign_in: &Value, principal: Principal) -> Option<String> {
    let order: [&str; 3] = if principal.is_service() {
        ["resourceDisplayName", "appDisplayName", "resourceId"]
    } else {
        ["appDisplayName", "appId", "resourceDisplayName"]
    };
    order.iter().find_map(|name| text(field(sign_in, name)))
}

/// The factor of a sign-in: for a failure, the method of the step that failed; otherwise
/// the last method presented (`Previously satisfied` steps presented nothing); else the
/// legacy `mfaDetail.authMethod`.
fn sign_in_factor(sign_in: &Value, outcome: Outcome) -> Option<String> {
    let steps: &[Value] = field(sign_in, "authenticationDetails")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let failed_step = steps
        .iter()
        .filter(|_| outcome != Outcome::Success)
        .find(|step| field(step, "succeeded") == Some(&Value::Bool(false)))
        .and_then(step_factor);
    failed_step
        .or_else(|| steps.iter().rev().find_map(step_factor))
        .or_else(|| {
            text(path(sign_in, &["mfaDetail", "authMethod"]))
                .and_then(|method| normalise_factor(&method))
        })
}

/// The normalised factor of one `authenticationDetails` step.
fn step_factor(step: &Value) -> Option<String> {
    normalise_factor(&text(field(step, "authenticationMethod"))?)
}

/// Entra's method names (`Password`, `Mobile app notification`, `Text message`,
/// `OATH verification code`, `FIDO2 security key`, `PhoneAppNotification`, ...) to vigil's
/// factor vocabulary; unknown methods are kept, lowercased. `Previously satisfied` (MFA
/// met by a claim in the token) is no factor at all.
fn normalise_factor(method: &str) -> Option<String> {
    let lowered = method.trim().to_lowercase();
    if lowered.is_empty() || lowered == "previously satisfied" {
        return None;
    }
    let has = |needle: &str| lowered.contains(needle);
    let factor = if has("password") && !has("passwordless") {
        "password"
    } else if has("passkey")
        || has("fido")
        || has("security key")
        || has("windows hello")
        || has("platform credential")
    {
        "webauthn"
    } else if has("notification") || has("passwordless") {
        "push"
    } else if has("text message") || has("sms") {
        "sms"
    } else if has("voice") || has("phone call") {
        "voice"
    } else if has("email") {
        "email"
    } else if has("oath") || has("otp") || has("verification code") {
        "otp"
    } else if has("certificate") || has("x.509") || has("smart card") {
        "certificate"
    } else {
        return Some(lowered);
    };
    Some(factor.to_string())
}

/// Where the client was: Entra's `location` object (a string `location` in a diagnostic
/// envelope is not read).
fn geo(location: Option<&Value>) -> Option<Geo> {
    let location = location.filter(|location| location.is_object())?;
    let city = text(field(location, "city"));
    let country = text(field(location, "countryOrRegion")).and_then(|country| alpha2(&country));
    let coordinates = field(location, "geoCoordinates");
    let latitude = number(coordinates.and_then(|coordinates| field(coordinates, "latitude")));
    let longitude = number(coordinates.and_then(|coordinates| field(coordinates, "longitude")));
    let (lat, lon) = match (latitude, longitude) {
        (Some(lat), Some(lon)) if lat.abs() <= 90.0 && lon.abs() <= 180.0 => (Some(lat), Some(lon)),
        _ => (None, None),
    };
    if city.is_none() && country.is_none() && lat.is_none() {
        return None;
    }
    Some(Geo {
        lat,
        lon,
        country,
        city,
        accuracy_km: None,
    })
}

/// An ISO alpha-2 code: two ASCII letters uppercased, else a country name looked up.
fn alpha2(country: &str) -> Option<String> {
    if country.len() == 2 && country.bytes().all(|byte| byte.is_ascii_alphabetic()) {
        return Some(country.to_ascii_uppercase());
    }
    to_alpha2(country).map(str::to_string)
}

/// Decodes an Office 365 Management Activity record of an Entra logon.
fn decode_management_activity(record: &Value) -> Result<Decoded, DecodeError> {
    let operation = text(field(record, "Operation")).unwrap_or_default();
    let stated_code = integer(field(record, "ErrorNumber"));
    let outcome = match operation.as_str() {
        "UserLoggedIn" => Outcome::Success,
        "UserLoginFailed" => match verdict(
            stated_code.map_or(ResultCode::UnnamedFailure, ResultCode::Code),
            "",
        ) {
            Verdict::Ended(Outcome::Success) => Outcome::Failure,
            Verdict::Ended(outcome) => outcome,
            Verdict::Interrupted(reason) => return Ok(Decoded::Skipped(reason)),
        },
        _ => return Ok(Decoded::Skipped(SKIP_OPERATION)),
    };
    let time_text = text(field(record, "CreationTime"))
        .ok_or_else(|| DecodeError::missing(FORMAT, "CreationTime"))?;
    let identity = bounded(
        text(field(record, "UserId")).map(|user| user.to_lowercase()),
        "UserId",
    )?
    .ok_or_else(|| DecodeError::missing(FORMAT, "UserId"))?;
    // Office 365 `UserType`: 5 is an application, 6 a service principal.
    let identity_type = match integer(field(record, "UserType")) {
        Some(5 | 6) => IdentityType::Service,
        _ => IdentityType::User,
    };
    let reason = match outcome {
        Outcome::Success => None,
        _ => text(field(record, "LogonError"))
            .or_else(|| stated_code.map(|code| format!("error code {code}"))),
    };
    let ip = text(field(record, "ClientIP"))
        .or_else(|| text(field(record, "ActorIpAddress")))
        .and_then(|address| parse_ip(&address));
    Ok(Decoded::Event(Box::new(Event {
        time: parse_time(&time_text, "CreationTime")?,
        identity: Some(identity),
        identity_type,
        session_id: None,
        device_id: None,
        ip,
        geo: None,
        asn: None,
        user_agent: extended_property(record, "UserAgent"),
        app: text(field(record, "ApplicationId")),
        event_id: text(field(record, "Id")),
        detail: Detail::Auth(AuthDetail {
            action: AuthAction::Login,
            outcome,
            factor: None,
            reason,
        }),
    })))
}

/// A value of the Office 365 `ExtendedProperties` name/value list.
fn extended_property(record: &Value, name: &str) -> Option<String> {
    let properties = field(record, "ExtendedProperties").and_then(Value::as_array)?;
    properties
        .iter()
        .find(|property| field(property, "Name").and_then(Value::as_str) == Some(name))
        .and_then(|property| text(field(property, "Value")))
}

/// Parses a timestamp field, naming it on error.
fn parse_time(time: &str, name: &str) -> Result<Timestamp, DecodeError> {
    Timestamp::parse(time).map_err(|error| DecodeError::invalid(FORMAT, name, error))
}

/// A key of a JSON object, matched exactly and then ignoring ASCII case (Panther's Azure
/// exports lowercase some keys: `calleripaddress`, `resulttype`, `correlationid`).
fn field<'value>(value: &'value Value, name: &str) -> Option<&'value Value> {
    let object = value.as_object()?;
    if let Some(found) = object.get(name) {
        return Some(found);
    }
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, found)| found)
}

/// A nested key, one object level per name.
fn path<'value>(value: &'value Value, names: &[&str]) -> Option<&'value Value> {
    names
        .iter()
        .try_fold(value, |current, name| field(current, name))
}

/// A scalar as text: a string that is not a placeholder, or a number.
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(string) => present(Some(string.as_str())),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// An integer written as a JSON number or a string of digits.
fn integer(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(number) => number.as_i64(),
        Value::String(string) => string.trim().parse().ok(),
        _ => None,
    }
}

/// A finite number written as a JSON number or a numeric string.
fn number(value: Option<&Value>) -> Option<f64> {
    let parsed = match value? {
        Value::Number(number) => number.as_f64(),
        Value::String(string) => string.trim().parse().ok(),
        _ => None,
    };
    parsed.filter(|parsed| parsed.is_finite())
}

/// Rejects ids longer than [`MAX_ID_BYTES`], as the native decoder does.
fn bounded(value: Option<String>, name: &str) -> Result<Option<String>, DecodeError> {
    match value {
        Some(id) if id.len() > MAX_ID_BYTES => Err(DecodeError::invalid(
            FORMAT,
            name,
            format!("{} bytes, more than the limit of {MAX_ID_BYTES}", id.len()),
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    /// The Event Hub sample of elastic's azure integration.
    const ELASTIC: &str = "elastic-integrations/azure_signinlogs/test-signinlogs-raw.log";

    /// Panther's Azure sign-in and audit rule fixtures.
    const PANTHER_AZURE: &str = "panther-analysis/azure_audit_signin.labeled.jsonl";

    /// Panther's Office 365 Entra fixtures.
    const PANTHER_M365: &str = "panther-analysis/m365_aad.labeled.jsonl";

    /// A small Graph sign-in for hand-made cases.
    const GRAPH_RECORD: &str = r#"{"id":"e1","createdDateTime":"2026-03-01T09:00:00Z","userPrincipalName":"Alice@Example.com","ipAddress":"81.2.69.142","appDisplayName":"Portal","status":{"errorCode":0}}"#;

    /// A timestamp the test knows to be valid.
    fn time(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    /// The auth fields of an event that must be an auth event.
    fn auth(event: &Event) -> &AuthDetail {
        event.auth().expect("an auth event")
    }

    /// The `log` of the Panther fixture with this rule and test name, as JSON text.
    fn panther_log(file: &str, rule: &str, test: &str) -> Option<String> {
        let lines = testdata::lines(file)?;
        let found = lines.iter().find_map(|line| {
            let labeled: Value = serde_json::from_str(line).expect("fixture is JSON");
            let matches = labeled["rule_id"] == rule && labeled["test_name"] == test;
            matches.then(|| labeled["log"].to_string())
        });
        Some(found.unwrap_or_else(|| panic!("no fixture {rule} / {test}")))
    }

    /// A Graph record with one status, for the error-code table.
    fn with_status(code: i64, additional: &str) -> Decoded {
        let record = format!(
            r#"{{"createdDateTime":"2026-03-01T09:00:00Z","userPrincipalName":"a@example.com","status":{{"errorCode":{code},"failureReason":"Authentication failed during strong authentication request.","additionalDetails":"{additional}"}}}}"#
        );
        decode(record.as_bytes()).unwrap()
    }

    #[test]
    fn graph_sign_in_field_by_field() {
        let Some(path) = testdata::shared("ms-graph-docs/signin-get.v1.response.json") else {
            return;
        };
        let response = std::fs::read_to_string(path).unwrap();
        // The file is a Graph list response: the wrapper decodes to its first sign-in.
        let event = testdata::event(Format::Entra, &response);
        assert_eq!(event.time, time("2020-03-13T19:15:41.6195833Z"));
        assert_eq!(event.identity.as_deref(), Some("testaccount1@contoso.com"));
        assert_eq!(event.identity_type, IdentityType::User);
        assert_eq!(
            event.session_id.as_deref(),
            Some("d79f5bee-5860-4832-928f-3133e22ae912")
        );
        assert_eq!(event.device_id, None);
        assert_eq!(event.ip, Some("131.107.159.37".parse().unwrap()));
        let geo = event.geo.clone().unwrap();
        assert_eq!(geo.city.as_deref(), Some("Redmond"));
        assert_eq!(geo.country.as_deref(), Some("US"));
        assert_eq!(
            (geo.lat, geo.lon),
            (Some(47.68050003051758), Some(-122.12094116210938))
        );
        assert_eq!(event.asn, None);
        assert_eq!(event.user_agent, None);
        assert_eq!(event.app.as_deref(), Some("Graph explorer"));
        assert_eq!(
            event.event_id.as_deref(),
            Some("66ea54eb-6301-4ee5-be62-ff5a759b0100")
        );
        let detail = auth(&event);
        assert_eq!(
            (detail.action, detail.outcome),
            (AuthAction::Login, Outcome::Success)
        );
        assert_eq!(
            (detail.factor.as_deref(), detail.reason.as_deref()),
            (None, None)
        );
        // The bare signIn object decodes to the same event.
        let parsed: Value = serde_json::from_str(&response).unwrap();
        let single = parsed["value"][0].to_string();
        assert_eq!(testdata::event(Format::Entra, &single), event);
    }

    #[test]
    fn event_hub_samples_are_keep_me_signed_in_interrupts() {
        let Some(lines) = testdata::lines(ELASTIC) else {
            return;
        };
        assert_eq!(lines.len(), 5);
        for line in &lines {
            match decode(line.as_bytes()) {
                Ok(Decoded::Skipped(reason)) => assert!(reason.contains("50140"), "{reason}"),
                other => panic!("expected a 50140 skip, got {other:?}"),
            }
        }
    }

    #[test]
    fn event_hub_samples_field_by_field_once_completed() {
        let Some(lines) = testdata::lines(ELASTIC) else {
            return;
        };
        // The five samples are 50140 interrupts (skipped); the same records with the sign-in
        // completed (error code 0) show how every other field maps.
        let completed: Vec<Event> = lines
            .iter()
            .map(|line| {
                line.replace(r#""errorCode":50140"#, r#""errorCode":0"#)
                    .replace(r#""resultType":"50140""#, r#""resultType":"0""#)
            })
            .map(|line| testdata::event(Format::Entra, &line))
            .collect();
        let first = &completed[0];
        assert_eq!(first.time, time("2019-10-18T09:45:48.0729893Z"));
        assert_eq!(first.identity.as_deref(), Some("test@elastic.co"));
        assert_eq!(first.identity_type, IdentityType::User);
        assert_eq!(
            first.session_id.as_deref(),
            Some("8a4de8b5-095c-47d0-a96f-a75130c61d53")
        );
        assert_eq!(first.device_id, None);
        assert_eq!(first.ip, Some("81.2.69.144".parse().unwrap()));
        let geo = first.geo.clone().unwrap();
        assert_eq!(
            (geo.city.as_deref(), geo.country.as_deref()),
            (Some("Champs-Sur-Marne"), Some("FR"))
        );
        assert_eq!((geo.lat, geo.lon), (Some(48.12341234), Some(2.12341234)));
        assert_eq!(first.app.as_deref(), Some("Office 365"));
        assert_eq!(
            first.event_id.as_deref(),
            Some("8a4de8b5-095c-47d0-a96f-a75130c61d53")
        );
        assert_eq!(
            (
                auth(first).action,
                auth(first).outcome,
                auth(first).reason.as_deref()
            ),
            (AuthAction::Login, Outcome::Success, None)
        );
        // NonInteractiveUserSignInLogs: a token refresh; the UPN field holds an object id.
        assert_eq!(auth(&completed[1]).action, AuthAction::TokenRefresh);
        assert_eq!(
            completed[1].identity.as_deref(),
            Some("c3813493-bf92-5123-2717-8a8b2979c38b")
        );
        // Service principal, Microsoft service principal and managed identity categories:
        // workloads; `servicePrincipalId` is empty so the `appId` identifies them.
        for workload in &completed[2..] {
            assert_eq!(workload.identity_type, IdentityType::Service);
            assert_eq!(
                workload.identity.as_deref(),
                Some("8a4de8b5-095c-47d0-a96f-a75130c61d53")
            );
            assert_eq!(auth(workload).action, AuthAction::Login);
        }
    }

    #[test]
    fn every_panther_log_decodes_or_skips() {
        for file in [PANTHER_AZURE, PANTHER_M365] {
            let Some(lines) = testdata::lines(file) else {
                return;
            };
            let (mut events, mut skips) = (0, 0);
            for line in &lines {
                let labeled: Value = serde_json::from_str(line).unwrap();
                let log = &labeled["log"];
                let category = text(field(log, "category")).unwrap_or_default();
                match decode(log.to_string().as_bytes()) {
                    Ok(Decoded::Event(_)) => {
                        events += 1;
                        assert!(
                            category.ends_with("SignInLogs") || file == PANTHER_M365,
                            "{category} decoded"
                        );
                    }
                    Ok(Decoded::Skipped(_)) => {
                        skips += 1;
                        assert!(!category.ends_with("SignInLogs"), "sign-in skipped: {line}");
                    }
                    Err(error) => {
                        panic!("{} / {}: {error}", labeled["rule_id"], labeled["test_name"])
                    }
                }
            }
            let expected = if file == PANTHER_AZURE {
                (27, 21)
            } else {
                (2, 2)
            };
            assert_eq!((events, skips), expected, "{file}");
        }
    }

    #[test]
    fn panther_lockout_field_by_field() {
        let Some(log) = panther_log(
            PANTHER_AZURE,
            "Azure.Audit.ExcessiveAccountLockouts",
            "Account Lockout Error 50053",
        ) else {
            return;
        };
        let event = testdata::event(Format::Entra, &log);
        assert_eq!(event.time, time("2025-01-15T08:15:23.456Z"));
        assert_eq!(event.identity.as_deref(), Some("boromir@lotr.com"));
        assert_eq!(event.ip, Some("4.4.4.4".parse().unwrap()));
        assert_eq!(event.asn, Some(12345));
        let geo = event.geo.clone().unwrap();
        assert_eq!(
            (geo.city, geo.country.as_deref(), geo.lat),
            (None, Some("RU"), None)
        );
        assert_eq!(event.user_agent.as_deref(), Some("python-requests/2.28.0"));
        assert_eq!(event.app.as_deref(), Some("Microsoft Office"));
        assert_eq!(event.session_id.as_deref(), Some("lockout-attack-001"));
        let detail = auth(&event);
        assert_eq!(
            (detail.action, detail.outcome),
            (AuthAction::Login, Outcome::Failure)
        );
        assert_eq!(
            detail.reason.as_deref(),
            Some("The account is locked, you\u{2019}ve tried to sign in too many times with an incorrect user ID or password.")
        );
    }

    #[test]
    fn panther_service_principal_with_lowercased_keys() {
        let Some(log) = panther_log(
            PANTHER_AZURE,
            "Azure.Audit.ManyFailedSignIns",
            "Failed Sign-In",
        ) else {
            return;
        };
        let event = testdata::event(Format::Entra, &log);
        assert_eq!(event.time, time("2023-07-26T22:58:30.983201900Z"));
        assert_eq!(
            event.identity.as_deref(),
            Some("b1c34143-e405-4058-8e29-84596ad737b8")
        );
        assert_eq!(event.identity_type, IdentityType::Service);
        assert_eq!(event.ip, Some("12.12.12.12".parse().unwrap()));
        assert_eq!(
            event.session_id.as_deref(),
            Some("5889315c-c4ac-4807-99da-e17417eae786")
        );
        assert_eq!(event.app.as_deref(), Some("Azure Storage"));
        assert_eq!(
            event.event_id.as_deref(),
            Some("36658c78-02d9-4d8f-84ee-5ca4a3fdefef")
        );
        let geo = event.geo.clone().unwrap();
        assert_eq!(
            (geo.city.as_deref(), geo.country.as_deref()),
            (Some("Dublin"), Some("IE"))
        );
        assert_eq!(
            (geo.lat, geo.lon),
            (Some(51.35555555555555), Some(-5.244444444444444))
        );
        let detail = auth(&event);
        assert_eq!(
            (detail.action, detail.outcome, detail.reason.as_deref()),
            (
                AuthAction::Login,
                Outcome::Failure,
                Some("error code 7000215")
            )
        );
    }

    #[test]
    fn panther_legacy_auth_and_sessions() {
        let Some(legacy) = panther_log(
            PANTHER_AZURE,
            "Azure.Audit.LegacyAuth",
            "Sign-In with legacy auth",
        ) else {
            return;
        };
        let event = testdata::event(Format::Entra, &legacy);
        assert_eq!(event.identity.as_deref(), Some("eve@lexcorp.com"));
        assert_eq!(event.asn, Some(1234));
        assert_eq!(event.user_agent.as_deref(), Some("BAV2ROPC"));
        assert_eq!(event.app.as_deref(), Some("Office 365 Exchange Online"));
        assert_eq!(event.ip, Some("12.12.12.12".parse().unwrap()));
        assert_eq!(
            event.session_id.as_deref(),
            Some("9d5f7dd3-46a7-475a-9cc3-96160551ce49")
        );
        assert_eq!(
            (auth(&event).outcome, auth(&event).factor.as_deref()),
            (Outcome::Success, Some("password"))
        );

        let Some(graph) = panther_log(
            PANTHER_AZURE,
            "Azure.Audit.GraphSessionMultipleIPs",
            "Multiple IP Access to Same Microsoft Graph Session",
        ) else {
            return;
        };
        let event = testdata::event(Format::Entra, &graph);
        assert_eq!(event.session_id.as_deref(), Some("session-abc-123"));
        assert_eq!(event.time, time("2025-01-15T09:35:20.4567890Z"));
        assert_eq!(auth(&event).outcome, Outcome::Success);

        let Some(vscode) = panther_log(
            PANTHER_AZURE,
            "Azure.Audit.VSCodeOAuthPhishing",
            "VS Code to Microsoft Graph",
        ) else {
            return;
        };
        let event = testdata::event(Format::Entra, &vscode);
        assert_eq!(auth(&event).action, AuthAction::TokenRefresh);
        assert_eq!(event.app.as_deref(), Some("Visual Studio Code"));
    }

    #[test]
    fn panther_country_names_go_through_the_country_table() {
        let Some(log) = panther_log(
            PANTHER_AZURE,
            "Azure.Audit.MultipleProtectionAlerts",
            "Risk Event Counts Toward Threshold",
        ) else {
            return;
        };
        let event = testdata::event(Format::Entra, &log);
        let geo = event.geo.clone().unwrap();
        assert_eq!(geo.city.as_deref(), Some("Beijing"));
        assert_eq!(geo.country, to_alpha2("China").map(str::to_string));
    }

    #[test]
    fn panther_office_365_logons() {
        let Some(failed) = panther_log(
            PANTHER_M365,
            "Microsoft365.Brute.Force.Login.by.User",
            "Failed Login event",
        ) else {
            return;
        };
        let event = testdata::event(Format::Entra, &failed);
        assert_eq!(event.time, time("2022-12-12T15:57:57Z"));
        assert_eq!(
            event.identity.as_deref(),
            Some("sample.user@yourorg.onmicrosoft.com")
        );
        assert_eq!(event.ip, Some("1.2.3.4".parse().unwrap()));
        assert_eq!(event.event_id.as_deref(), Some("abc-def-123"));
        assert_eq!(event.app.as_deref(), Some("123-abc-sfa-321"));
        assert!(event
            .user_agent
            .as_deref()
            .unwrap()
            .starts_with("Mozilla/5.0 (Macintosh"));
        let detail = auth(&event);
        assert_eq!(
            (detail.outcome, detail.reason.as_deref()),
            (Outcome::Failure, Some("InvalidUserNameOrPassword"))
        );
        let Some(succeeded) = panther_log(
            PANTHER_M365,
            "Microsoft365.Brute.Force.Login.by.User",
            "Login Event",
        ) else {
            return;
        };
        assert_eq!(
            auth(&testdata::event(Format::Entra, &succeeded)).outcome,
            Outcome::Success
        );
        let Some(update) = panther_log(
            PANTHER_M365,
            "Microsoft365.MFA.Disabled",
            "MFA Remove event",
        ) else {
            return;
        };
        assert_eq!(
            decode(update.as_bytes()).unwrap(),
            Decoded::Skipped(SKIP_OPERATION)
        );
    }

    #[test]
    fn error_codes_map_to_outcomes() {
        let ended = |decoded: Decoded| match decoded {
            Decoded::Event(event) => (auth(&event).action, auth(&event).outcome),
            Decoded::Skipped(reason) => panic!("skipped: {reason}"),
        };
        assert_eq!(
            ended(with_status(0, "")),
            (AuthAction::Login, Outcome::Success)
        );
        assert_eq!(
            ended(with_status(50126, "")),
            (AuthAction::Login, Outcome::Failure)
        );
        assert_eq!(
            ended(with_status(50053, "")),
            (AuthAction::Login, Outcome::Failure)
        );
        assert_eq!(
            ended(with_status(53003, "")),
            (AuthAction::Login, Outcome::Denied)
        );
        assert_eq!(
            ended(with_status(50105, "")),
            (AuthAction::Login, Outcome::Denied)
        );
        assert_eq!(
            ended(with_status(
                500121,
                "MFA denied; user declined the authentication"
            )),
            (AuthAction::Mfa, Outcome::Denied)
        );
        assert_eq!(
            ended(with_status(
                500121,
                "MFA denied; user did not respond to mobile app notification"
            )),
            (AuthAction::Mfa, Outcome::Timeout)
        );
        assert_eq!(
            ended(with_status(500121, "Invalid verification code")),
            (AuthAction::Mfa, Outcome::Failure)
        );
        for interrupt in [50140, 50074, 50076, 50079, 50125, 50158, 65001] {
            assert!(
                matches!(with_status(interrupt, ""), Decoded::Skipped(_)),
                "{interrupt}"
            );
        }
    }

    #[test]
    fn non_interactive_password_checks_are_logins() {
        let refresh = r#"{"category":"NonInteractiveUserSignInLogs","properties":{"createdDateTime":"2026-03-01T09:00:00Z","userPrincipalName":"a@example.com","status":{"errorCode":70043}}}"#;
        let event = testdata::event(Format::Entra, refresh);
        assert_eq!(
            (auth(&event).action, auth(&event).outcome),
            (AuthAction::TokenRefresh, Outcome::Failure)
        );
        let spray = refresh.replace("70043", "50126");
        assert_eq!(
            auth(&testdata::event(Format::Entra, &spray)).action,
            AuthAction::Login
        );
        let password = refresh.replace("70043", "0").replace(
            r#""status""#,
            r#""authenticationDetails":[{"authenticationMethod":"Password"}],"status""#,
        );
        let event = testdata::event(Format::Entra, &password);
        assert_eq!(
            (auth(&event).action, auth(&event).factor.as_deref()),
            (AuthAction::Login, Some("password"))
        );
    }

    #[test]
    fn reason_joins_failure_reason_and_details() {
        let Decoded::Event(event) =
            with_status(500121, "MFA denied; user declined the authentication")
        else {
            panic!()
        };
        assert_eq!(
            auth(&event).reason.as_deref(),
            Some("Authentication failed during strong authentication request. (MFA denied; user declined the authentication)")
        );
    }

    #[test]
    fn factors_use_the_vocabulary() {
        let cases = [
            ("Password", Some("password")),
            ("Mobile app notification", Some("push")),
            ("PhoneAppNotification", Some("push")),
            ("Passwordless phone sign-in", Some("push")),
            ("Text message", Some("sms")),
            ("OneWaySMS", Some("sms")),
            ("TwoWayVoiceMobile", Some("voice")),
            ("Phone call", Some("voice")),
            ("OATH verification code", Some("otp")),
            ("PhoneAppOTP", Some("otp")),
            ("Email verification code", Some("email")),
            ("FIDO2 security key", Some("webauthn")),
            ("Passkey (Microsoft Authenticator)", Some("webauthn")),
            ("Windows Hello for Business", Some("webauthn")),
            ("X.509 Certificate", Some("certificate")),
            ("Temporary Access Pass", Some("temporary access pass")),
            ("Previously satisfied", None),
        ];
        for (method, factor) in cases {
            assert_eq!(normalise_factor(method).as_deref(), factor, "{method}");
        }
    }

    #[test]
    fn factor_of_a_failure_is_the_failed_step() {
        let record = r#"{"createdDateTime":"2026-03-01T09:00:00Z","userPrincipalName":"a@example.com","status":{"errorCode":500121},
            "authenticationDetails":[{"authenticationMethod":"Password","succeeded":true},{"authenticationMethod":"Mobile app notification","succeeded":false,"authenticationStepResultDetail":"MFA denied; user declined the authentication"}]}"#;
        let event = testdata::event(Format::Entra, record);
        assert_eq!(
            (auth(&event).factor.as_deref(), auth(&event).outcome),
            (Some("push"), Outcome::Denied)
        );
        let record = r#"{"createdDateTime":"2026-03-01T09:00:00Z","userPrincipalName":"a@example.com","status":{"errorCode":0},
            "authenticationDetails":[{"authenticationMethod":"Password","succeeded":true},{"authenticationMethod":"Previously satisfied","succeeded":true}],"mfaDetail":{"authMethod":"PhoneAppOTP"}}"#;
        assert_eq!(
            auth(&testdata::event(Format::Entra, record))
                .factor
                .as_deref(),
            Some("password")
        );
        let record = r#"{"createdDateTime":"2026-03-01T09:00:00Z","userPrincipalName":"a@example.com","status":{"errorCode":0},"mfaDetail":{"authMethod":"PhoneAppOTP"}}"#;
        assert_eq!(
            auth(&testdata::event(Format::Entra, record))
                .factor
                .as_deref(),
            Some("otp")
        );
    }

    #[test]
    fn identity_is_lowercased_upn_and_batches_decode_their_first_sign_in() {
        let event = testdata::event(Format::Entra, GRAPH_RECORD);
        assert_eq!(event.identity.as_deref(), Some("alice@example.com"));
        let batch = format!(
            r#"{{"records":[{{"category":"AuditLogs","properties":{{}}}},{{"category":"SignInLogs","properties":{GRAPH_RECORD}}}]}}"#
        );
        assert_eq!(testdata::event(Format::Entra, &batch), event);
        assert_eq!(
            decode(br#"{"records":[]}"#).unwrap(),
            Decoded::Skipped(SKIP_BATCH)
        );
        assert_eq!(
            decode(br#"{"value":[]}"#).unwrap(),
            Decoded::Skipped(SKIP_BATCH)
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                r#"{"userPrincipalName":"a@example.com","status":{"errorCode":0}}"#,
                "`createdDateTime`",
            ),
            (
                r#"{"createdDateTime":"yesterday","userPrincipalName":"a@example.com","status":{"errorCode":0}}"#,
                "`createdDateTime`",
            ),
            (
                r#"{"createdDateTime":"2026-03-01T09:00:00Z","userPrincipalName":"a@example.com"}"#,
                "`status.errorCode`",
            ),
            (
                r#"{"createdDateTime":"2026-03-01T09:00:00Z","appDisplayName":"x","status":{"errorCode":0}}"#,
                "`userPrincipalName`",
            ),
            (
                r#"{"category":"ServicePrincipalSignInLogs","time":"2026-03-01T09:00:00Z","properties":{"status":{"errorCode":0}}}"#,
                "`servicePrincipalId`",
            ),
            (
                r#"{"category":"SignInLogs","time":"2026-03-01T09:00:00Z","resultType":"maybe","properties":{"userPrincipalName":"a"}}"#,
                "`resultType`",
            ),
            (
                r#"{"Operation":"UserLoggedIn","RecordType":15,"UserId":"a@example.com"}"#,
                "`CreationTime`",
            ),
            (r#"{"hello":"world"}"#, "unrecognised record"),
            (r#"[1,2,3]"#, "JSON object"),
            (r#"{"userPrincipalName":"#, "malformed JSON"),
        ];
        for (json, expected) in cases {
            let error = decode(json.as_bytes()).unwrap_err();
            assert_eq!(error.format, Format::Entra);
            assert!(error.to_string().contains(expected), "{json} -> {error}");
        }
    }

    #[test]
    fn rejects_huge_identity() {
        let name = "x".repeat(MAX_ID_BYTES + 1);
        let record = format!(
            r#"{{"createdDateTime":"2026-03-01T09:00:00Z","userPrincipalName":"{name}","status":{{"errorCode":0}}}}"#
        );
        assert!(decode(record.as_bytes())
            .unwrap_err()
            .reason
            .contains("limit"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn never_panics_on_cut_or_altered_records(cut in 0usize..400, byte in proptest::prelude::any::<u8>()) {
            let record = format!(r#"{{"category":"SignInLogs","time":"2026-03-01T09:00:00Z","resultType":"500121","properties":{{"userPrincipalName":"a@b","location":{{"city":"x","countryOrRegion":"Fr","geoCoordinates":{{"latitude":"91","longitude":"1e400"}}}},"autonomousSystemNumber":"99999999999","authenticationDetails":[{{"authenticationMethod":7}}],"inner":{GRAPH_RECORD}}}}}"#);
            let mut bytes = record.into_bytes();
            let index = cut % bytes.len();
            bytes[index] = byte;
            let _ = decode(&bytes);
            let _ = decode(&bytes[..index]);
        }
    }
}
