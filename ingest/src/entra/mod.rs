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
//! Graph list response `{"value": [...]}`) is a [`Decoded::Batch`]: every record decoded
//! on its own, a bad one an error in its place that loses nothing else.
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
//! - `country`: Entra writes ISO alpha-2 already; other spellings (Panther's "United
//!   States") are looked up, as [`crate::vendor::geo`] does for every vendor.
//!
//! The record is parsed to a [`serde_json::Value`] and read with [`crate::vendor`]'s value
//! readers rather than borrowed structs: field types vary between exports
//! (`autonomousSystemNumber` and `resultType` come as numbers or strings, top-level
//! `location` is a string in diagnostic records and an object in Graph) and Panther's
//! exports lowercase some keys.

use crate::decode::{parse_ip, DecodeError, Decoded, Format};
use crate::vendor::{
    asn, batch, bounded_id, field, geo, integer, normalize_factor, not_an_object, number,
    parse_object, path, says_unanswered, text, timestamp,
};
use serde_json::Value;
use vigil_schemas::{
    AuthAction, AuthDetail, CompactString, Detail, Event, Geo, IdentityType, Outcome, Timestamp,
};

/// The format every error of this decoder names.
const FORMAT: Format = Format::Entra;

/// Why a diagnostic record of another category is skipped.
const SKIP_CATEGORY: &str = "entra diagnostic record of a category other than sign-in logs";

/// Why an Office 365 audit record other than a logon is skipped.
const SKIP_OPERATION: &str =
    "office 365 audit record other than `UserLoggedIn` or `UserLoginFailed`";

/// Why an empty batch is skipped.
const SKIP_EMPTY_BATCH: &str = "entra batch (`records` or `value`) with no records";

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

/// Decodes one Entra record, or every record of a batch.
pub(crate) fn decode(record: &[u8]) -> Result<Decoded, DecodeError> {
    let value = parse_object(FORMAT, record)?;
    if let Some((wrapper, members)) = members(&value) {
        return Ok(batch(
            FORMAT,
            wrapper,
            members,
            SKIP_EMPTY_BATCH,
            decode_one,
        ));
    }
    decode_one(&value)
}

/// The wrapper name and records of a batch: `records` (Event Hub) or `value` (Graph list
/// response; a sign-in has no `value` of its own).
fn members(value: &Value) -> Option<(&'static str, &[Value])> {
    if let Some(records) = field(value, "records").and_then(Value::as_array) {
        return Some(("records", records));
    }
    if field(value, "createdDateTime").is_some() {
        return None;
    }
    let page = field(value, "value").and_then(Value::as_array)?;
    Some(("value", page))
}

/// Decodes one record of any of the three shapes.
fn decode_one(record: &Value) -> Result<Decoded, DecodeError> {
    if !record.is_object() {
        return Err(not_an_object(FORMAT));
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
    let identity = bounded_id(FORMAT, sign_in_identity(sign_in, principal), identity_field)?
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
    let autonomous_system = integer(field(sign_in, "autonomousSystemNumber")).and_then(asn);
    Ok(Decoded::Event(Box::new(Event {
        time,
        identity: Some(identity),
        identity_type: if principal.is_service() {
            IdentityType::Service
        } else {
            IdentityType::User
        },
        session_id: bounded_id(FORMAT, session, "sessionId")?,
        device_id: bounded_id(
            FORMAT,
            text(path(sign_in, &["deviceDetail", "deviceId"])),
            "deviceDetail.deviceId",
        )?,
        ip,
        geo: location(field(sign_in, "location")),
        asn: autonomous_system,
        user_agent: text(field(sign_in, "userAgent")).map(String::from),
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
        return timestamp(FORMAT, &created, "createdDateTime");
    }
    match envelope.and_then(|envelope| text(field(envelope, "time"))) {
        Some(time) => timestamp(FORMAT, &time, "time"),
        None => Err(DecodeError::missing(FORMAT, "createdDateTime")),
    }
}

/// The stated result: `status.errorCode`, else the diagnostic `resultType` (a code as a
/// number or string, or the words `Success` / `Failure` in some exports).
fn result_code(envelope: Option<&Value>, sign_in: &Value) -> Result<ResultCode, DecodeError> {
    if let Some(code) = integer(path(sign_in, &["status", "errorCode"])) {
        return Ok(ResultCode::Code(code));
    }
    let result_type = envelope.and_then(|envelope| field(envelope, "resultType"));
    if let Some(code) = integer(result_type) {
        return Ok(ResultCode::Code(code));
    }
    let Some(result_type) = text(result_type) else {
        return Err(DecodeError::missing(FORMAT, "status.errorCode"));
    };
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
    if says_unanswered(details) {
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
        (Some(reason), _) => Some(reason.into()),
        (None, Some(additional)) => Some(additional.into()),
        (None, None) => match code {
            ResultCode::Code(code) => Some(format!("error code {code}")),
            ResultCode::UnnamedFailure => None,
        },
    }
}

/// The identity of the principal (see the module docs for the order of preference).
fn sign_in_identity(sign_in: &Value, principal: Principal) -> Option<CompactString> {
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
fn sign_in_app(sign_in: &Value, principal: Principal) -> Option<CompactString> {
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
fn sign_in_factor(sign_in: &Value, outcome: Outcome) -> Option<CompactString> {
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
                .and_then(|method| normalize_factor(&method))
        })
}

/// The normalised factor of one `authenticationDetails` step.
fn step_factor(step: &Value) -> Option<CompactString> {
    normalize_factor(&text(field(step, "authenticationMethod"))?)
}

/// Where the client was: Entra's `location` object (a string `location` in a diagnostic
/// envelope is not read).
fn location(value: Option<&Value>) -> Option<Geo> {
    let place = value.filter(|place| place.is_object())?;
    let coordinates = field(place, "geoCoordinates");
    let coordinate = |name: &str| number(coordinates.and_then(|point| field(point, name)));
    geo(
        coordinate("latitude"),
        coordinate("longitude"),
        text(field(place, "city")).as_deref(),
        text(field(place, "countryOrRegion")).as_deref(),
    )
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
    let identity = bounded_id(
        FORMAT,
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
            .map(String::from)
            .or_else(|| stated_code.map(|code| format!("error code {code}"))),
    };
    let ip = text(field(record, "ClientIP"))
        .or_else(|| text(field(record, "ActorIpAddress")))
        .and_then(|address| parse_ip(&address));
    Ok(Decoded::Event(Box::new(Event {
        time: timestamp(FORMAT, &time_text, "CreationTime")?,
        identity: Some(identity),
        identity_type,
        session_id: None,
        device_id: None,
        ip,
        geo: None,
        asn: None,
        user_agent: extended_property(record, "UserAgent").map(String::from),
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
fn extended_property(record: &Value, name: &str) -> Option<CompactString> {
    let properties = field(record, "ExtendedProperties").and_then(Value::as_array)?;
    properties
        .iter()
        .find(|property| field(property, "Name").and_then(Value::as_str) == Some(name))
        .and_then(|property| text(field(property, "Value")))
}

#[cfg(test)]
pub(crate) mod tests;
