//! Decoder for AWS CloudTrail sign-in records.
//!
//! Decoded (all from `signin.amazonaws.com`):
//! - `ConsoleLogin`: a console sign-in by an IAM user, the root user or a federated role;
//! - `GetSigninToken`: temporary credentials exchanged for a console session at the
//!   federation endpoint (how SSO portals, and attackers with stolen keys, reach the
//!   console), a `login` with no factor;
//! - `ExternalIdPDirectoryLogin`: an IAM Identity Center sign-in through an external IdP;
//! - `UserAuthentication`: an IAM Identity Center sign-in that passed every challenge;
//! - `CredentialVerification`: one credential checked during an Identity Center sign-in. A
//!   failed password is a failed `login`; a second factor is an `mfa` event either way; a
//!   verified password is skipped, since `UserAuthentication` records the sign-in.
//!
//! Skipped: `CredentialChallenge` (a prompt for a credential, with no outcome) and every
//! other event name (API calls, service events).
//!
//! Mapping decisions:
//! - `outcome`: `responseElements.<eventName>` (or `serviceEventDetails.<eventName>`)
//!   `Success` / `Failure`; without it, CloudTrail's convention applies: an `errorCode` or
//!   `errorMessage` means failure, none means success. CloudTrail never says why beyond
//!   `errorMessage` (the `reason`), so there is no `denied` or `timeout`.
//! - `identity`: the ARN, the stable id CloudTrail gives. A failed `ConsoleLogin` of an IAM
//!   user carries no ARN, only `userName` and `accountId`, so the ARN is rebuilt as
//!   `arn:<partition>:iam::<account>:user/<userName>` (the same as the real ARN unless the
//!   user has an IAM path), and `arn:<partition>:iam::<account>:root` for the root user,
//!   so failures and successes of one user share an identity. Assumed roles use the
//!   session ARN (`assumed-role/<role>/<session name>`; for IAM Identity Center the session
//!   name is the person), else `principalId`, else the issuing role. Identity Center users
//!   use the user name they typed, else their identity-store user id.
//! - `identity_type`: `service` for `AWSService`, `user` for everything else: a console
//!   sign-in is a browser session, even through a role.
//! - `factor` of a `ConsoleLogin`: with `MFAUsed` `Yes` the second factor, from the
//!   `MFAIdentifier` ARN (`u2f/` security key or passkey = `webauthn`, `mfa/` virtual or
//!   hardware TOTP device = `otp`, unknown = `mfa`); with `No`, `password` for IAM users and
//!   root, and none for federated sign-ins (the IdP checked the factors, CloudTrail does
//!   not know which). Identity Center events name their `CredentialType`.
//! - `session_id`: `additionalEventData.AuthWorkflowID` (it ties the records of one Identity
//!   Center sign-in), else the temporary access key (`ASIA...`) of a role session.
//! - `ip`: `sourceIPAddress` when it is an address; AWS writes a service host name
//!   (`signin.amazonaws.com`) or `AWS Internal` instead for calls made by AWS, giving none.
//! - `time`: `eventTime`, else Panther's `p_event_time` (exports from Panther's data lake).
//!
//! A CloudTrail log file (`{"Records": [...]}`) is a [`Decoded::Batch`], every record
//! decoded on its own (a bad one is an error in its place and loses nothing else); an
//! EventBridge envelope (`{"detail-type": ..., "detail": {...}}`) is decoded as its
//! `detail`. Records are read with [`crate::vendor`]'s value readers.

use crate::decode::{parse_ip, DecodeError, Decoded, Format};
use crate::vendor::{
    batch, bounded_id, event_time, field, normalize_factor, not_an_object, parse_object, path,
    string, text,
};
use serde_json::Value;
use vigil_schemas::{AuthAction, AuthDetail, CompactString, Detail, Event, IdentityType, Outcome};

/// The format every error of this decoder names.
const FORMAT: Format = Format::Cloudtrail;

/// Why an event that is not a sign-in is skipped.
const SKIP_NOT_SIGN_IN: &str = "cloudtrail event other than a sign-in";

/// Why a `CredentialChallenge` is skipped.
const SKIP_CHALLENGE: &str = "cloudtrail `CredentialChallenge` asks for a credential; `CredentialVerification` has the outcome";

/// Why a verified password of an Identity Center sign-in is skipped.
const SKIP_PASSWORD_STEP: &str =
    "cloudtrail `CredentialVerification` of a password that passed: `UserAuthentication` records the sign-in";

/// Why an empty log file is skipped.
const SKIP_EMPTY_BATCH: &str = "cloudtrail `Records` with no records";

/// The console sign-in application.
const CONSOLE_APP: &str = "aws-console";

/// The sign-in events this decoder reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignInEvent {
    /// `ConsoleLogin`.
    ConsoleLogin,
    /// `GetSigninToken`.
    GetSigninToken,
    /// `ExternalIdPDirectoryLogin`.
    ExternalIdpDirectoryLogin,
    /// `UserAuthentication`.
    UserAuthentication,
    /// `CredentialVerification`.
    CredentialVerification,
}

/// Decodes one CloudTrail record, or every record of a log file.
pub(crate) fn decode(record: &[u8]) -> Result<Decoded, DecodeError> {
    let value = parse_object(FORMAT, record)?;
    if let Some(records) = field(&value, "Records").and_then(Value::as_array) {
        return Ok(batch(
            FORMAT,
            "Records",
            records,
            SKIP_EMPTY_BATCH,
            decode_one,
        ));
    }
    if field(&value, "detail-type").is_some() {
        if let Some(detail) = field(&value, "detail").filter(|detail| detail.is_object()) {
            return decode_one(detail);
        }
    }
    decode_one(&value)
}

/// Decodes one CloudTrail record.
fn decode_one(record: &Value) -> Result<Decoded, DecodeError> {
    if !record.is_object() {
        return Err(not_an_object(FORMAT));
    }
    let event_name = text(field(record, "eventName"))
        .ok_or_else(|| DecodeError::missing(FORMAT, "eventName"))?;
    let sign_in = match event_name.as_str() {
        "ConsoleLogin" => SignInEvent::ConsoleLogin,
        "GetSigninToken" => SignInEvent::GetSigninToken,
        "ExternalIdPDirectoryLogin" => SignInEvent::ExternalIdpDirectoryLogin,
        "UserAuthentication" => SignInEvent::UserAuthentication,
        "CredentialVerification" => SignInEvent::CredentialVerification,
        "CredentialChallenge" => return Ok(Decoded::Skipped(SKIP_CHALLENGE)),
        _ => return Ok(Decoded::Skipped(SKIP_NOT_SIGN_IN)),
    };
    let time = event_time(
        FORMAT,
        "eventTime",
        string(field(record, "eventTime")),
        string(field(record, "p_event_time")),
    )?;
    let outcome = outcome(record, &event_name)?;
    let credential_type = text(path(record, &["additionalEventData", "CredentialType"]));
    let action = match sign_in {
        SignInEvent::CredentialVerification => {
            let password = credential_type
                .as_deref()
                .is_none_or(|credential| credential.eq_ignore_ascii_case("password"));
            match (password, outcome) {
                (true, Outcome::Success) => return Ok(Decoded::Skipped(SKIP_PASSWORD_STEP)),
                (true, _) => AuthAction::Login,
                (false, _) => AuthAction::Mfa,
            }
        }
        _ => AuthAction::Login,
    };
    let (identity, identity_type) = identity(record);
    let identity = bounded_id(FORMAT, identity, "userIdentity.arn")?
        .ok_or_else(|| DecodeError::missing(FORMAT, "userIdentity.arn"))?;
    let factor = match sign_in {
        SignInEvent::ConsoleLogin => console_factor(record),
        SignInEvent::GetSigninToken | SignInEvent::ExternalIdpDirectoryLogin => None,
        SignInEvent::UserAuthentication | SignInEvent::CredentialVerification => {
            credential_type.as_deref().and_then(normalize_factor)
        }
    };
    let reason = match outcome {
        Outcome::Success => None,
        _ => text(field(record, "errorMessage"))
            .or_else(|| text(field(record, "errorCode")))
            .map(String::from),
    };
    let app = match sign_in {
        SignInEvent::ConsoleLogin | SignInEvent::GetSigninToken => {
            Some(CompactString::from(CONSOLE_APP))
        }
        _ => text(field(record, "eventSource")),
    };
    Ok(Decoded::Event(Box::new(Event {
        time,
        identity: Some(identity),
        identity_type,
        session_id: bounded_id(
            FORMAT,
            session(record),
            "additionalEventData.AuthWorkflowID",
        )?,
        device_id: None,
        ip: text(field(record, "sourceIPAddress")).and_then(|address| parse_ip(&address)),
        geo: None,
        asn: None,
        user_agent: text(field(record, "userAgent")).map(String::from),
        app,
        event_id: text(field(record, "eventID")),
        detail: Detail::Auth(AuthDetail {
            action,
            outcome,
            factor,
            reason,
        }),
    })))
}

/// How the sign-in ended (see the module docs).
fn outcome(record: &Value, event_name: &str) -> Result<Outcome, DecodeError> {
    let stated = text(path(record, &["responseElements", event_name]))
        .or_else(|| text(path(record, &["serviceEventDetails", event_name])));
    match stated {
        Some(result) if result.eq_ignore_ascii_case("success") => Ok(Outcome::Success),
        Some(result) if result.eq_ignore_ascii_case("failure") => Ok(Outcome::Failure),
        Some(result) => Err(DecodeError::invalid(
            FORMAT,
            &format!("responseElements.{event_name}"),
            format!("`{result}` is neither `Success` nor `Failure`"),
        )),
        None if field(record, "errorCode").is_some() || field(record, "errorMessage").is_some() => {
            Ok(Outcome::Failure)
        }
        None => Ok(Outcome::Success),
    }
}

/// The identity and its type (see the module docs for the order of preference).
fn identity(record: &Value) -> (Option<CompactString>, IdentityType) {
    let Some(user) = field(record, "userIdentity").filter(|user| user.is_object()) else {
        return (None, IdentityType::User);
    };
    let user_type = text(field(user, "type")).unwrap_or_default();
    let arn = text(field(user, "arn"));
    let user_name = text(field(user, "userName"));
    let principal_id = text(field(user, "principalId"));
    let identity = match user_type.as_str() {
        "Root" => arn
            .or_else(|| rebuilt_arn(record, "root"))
            .or(principal_id)
            .or(user_name),
        "IAMUser" => arn
            .or_else(|| {
                user_name
                    .as_ref()
                    .and_then(|name| rebuilt_arn(record, &format!("user/{name}")))
            })
            .or(user_name)
            .or(principal_id),
        "AssumedRole" => arn
            .or(principal_id)
            .or_else(|| text(path(user, &["sessionContext", "sessionIssuer", "arn"])))
            .or_else(|| text(path(user, &["sessionContext", "sessionIssuer", "userName"]))),
        "IdentityCenterUser" | "Unknown" => {
            text(path(record, &["additionalEventData", "UserName"]))
                .or(user_name)
                .or_else(|| text(path(user, &["onBehalfOf", "userId"])))
                .or(arn)
        }
        "AWSService" => text(field(user, "invokedBy")).or(principal_id),
        _ => arn.or(user_name).or(principal_id),
    };
    let identity_type = if user_type == "AWSService" {
        IdentityType::Service
    } else {
        IdentityType::User
    };
    (identity, identity_type)
}

/// `arn:<partition>:iam::<account>:<resource>` for the account signed in to, when the
/// account id is a real one (12 digits; fixtures write `redacted`).
fn rebuilt_arn(record: &Value, resource: &str) -> Option<CompactString> {
    let account = text(path(record, &["userIdentity", "accountId"]))
        .or_else(|| text(field(record, "recipientAccountId")))
        .filter(|account| {
            account.len() == 12 && account.bytes().all(|byte| byte.is_ascii_digit())
        })?;
    let region = text(field(record, "awsRegion")).unwrap_or_default();
    let partition = if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    Some(CompactString::from(format!(
        "arn:{partition}:iam::{account}:{resource}"
    )))
}

/// The factor of a `ConsoleLogin` (see the module docs).
fn console_factor(record: &Value) -> Option<CompactString> {
    let mfa_used = text(path(record, &["additionalEventData", "MFAUsed"]));
    if mfa_used
        .as_deref()
        .is_some_and(|used| used.eq_ignore_ascii_case("yes"))
    {
        let device =
            text(path(record, &["additionalEventData", "MFAIdentifier"])).unwrap_or_default();
        let factor = if device.contains(":u2f/") {
            "webauthn"
        } else if device.contains(":mfa/") {
            "otp"
        } else {
            "mfa"
        };
        return Some(CompactString::from(factor));
    }
    let user_type = text(path(record, &["userIdentity", "type"])).unwrap_or_default();
    let federated = matches!(user_type.as_str(), "AssumedRole" | "FederatedUser")
        || text(path(record, &["additionalEventData", "SamlProviderArn"])).is_some();
    if federated || mfa_used.is_none() {
        return None;
    }
    Some(CompactString::from("password"))
}

/// The session: the Identity Center `AuthWorkflowID`, else a role session's temporary key.
fn session(record: &Value) -> Option<CompactString> {
    if let Some(workflow) = text(path(record, &["additionalEventData", "AuthWorkflowID"])) {
        return Some(workflow);
    }
    text(path(record, &["userIdentity", "accessKeyId"])).filter(|key| key.starts_with("ASIA"))
}

#[cfg(test)]
pub(crate) mod tests;
