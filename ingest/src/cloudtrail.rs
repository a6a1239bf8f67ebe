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
//! A CloudTrail log file (`{"Records": [...]}`) is decoded to its first record that is not
//! skipped, and an EventBridge envelope (`{"detail-type": ..., "detail": {...}}`) to its
//! `detail`; the rest of a file is dropped, so sources should split files upstream.

use crate::decode::{parse_ip, present, DecodeError, Decoded, Format};
use crate::native::MAX_ID_BYTES;
use serde_json::Value;
use vigil_schemas::{AuthAction, AuthDetail, Detail, Event, IdentityType, Outcome, Timestamp};

/// The format every error of this decoder names.
const FORMAT: Format = Format::Cloudtrail;

/// Why an event that is not a sign-in is skipped.
const SKIP_NOT_SIGN_IN: &str = "cloudtrail event other than a sign-in";

/// Why a `CredentialChallenge` is skipped.
const SKIP_CHALLENGE: &str = "cloudtrail `CredentialChallenge` asks for a credential; `CredentialVerification` has the outcome";

/// Why a verified password of an Identity Center sign-in is skipped.
const SKIP_PASSWORD_STEP: &str =
    "cloudtrail `CredentialVerification` of a password that passed: `UserAuthentication` records the sign-in";

/// Why a log file with nothing but skipped records is skipped.
const SKIP_BATCH: &str = "cloudtrail `Records` without a sign-in event";

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

/// Decodes one CloudTrail record (or the first sign-in of a log file).
pub(crate) fn decode(record: &[u8]) -> Result<Decoded, DecodeError> {
    let value: Value =
        serde_json::from_slice(record).map_err(|error| DecodeError::json(FORMAT, &error))?;
    if let Some(records) = field(&value, "Records").and_then(Value::as_array) {
        return decode_batch(records);
    }
    if field(&value, "detail-type").is_some() {
        if let Some(detail) = field(&value, "detail").filter(|detail| detail.is_object()) {
            return decode_one(detail);
        }
    }
    decode_one(&value)
}

/// The first record of a log file that is not skipped, decoded.
fn decode_batch(records: &[Value]) -> Result<Decoded, DecodeError> {
    for record in records {
        match decode_one(record) {
            Ok(Decoded::Skipped(_)) => continue,
            other => return other,
        }
    }
    Ok(Decoded::Skipped(SKIP_BATCH))
}

/// Decodes one CloudTrail record.
fn decode_one(record: &Value) -> Result<Decoded, DecodeError> {
    if !record.is_object() {
        return Err(DecodeError::new(FORMAT, "expected a JSON object"));
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
    let time = event_time(record)?;
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
    let identity = bounded(identity, "userIdentity.arn")?
        .ok_or_else(|| DecodeError::missing(FORMAT, "userIdentity.arn"))?;
    let factor = match sign_in {
        SignInEvent::ConsoleLogin => console_factor(record),
        SignInEvent::GetSigninToken | SignInEvent::ExternalIdpDirectoryLogin => None,
        SignInEvent::UserAuthentication | SignInEvent::CredentialVerification => {
            credential_type.as_deref().map(credential_factor)
        }
    };
    let reason = match outcome {
        Outcome::Success => None,
        _ => text(field(record, "errorMessage")).or_else(|| text(field(record, "errorCode"))),
    };
    let app = match sign_in {
        SignInEvent::ConsoleLogin | SignInEvent::GetSigninToken => Some(CONSOLE_APP.to_string()),
        _ => text(field(record, "eventSource")),
    };
    Ok(Decoded::Event(Box::new(Event {
        time,
        identity: Some(identity),
        identity_type,
        session_id: bounded(session(record), "additionalEventData.AuthWorkflowID")?,
        device_id: None,
        ip: text(field(record, "sourceIPAddress")).and_then(|address| parse_ip(&address)),
        geo: None,
        asn: None,
        user_agent: text(field(record, "userAgent")),
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

/// When the event happened: `eventTime`, else Panther's `p_event_time`.
fn event_time(record: &Value) -> Result<Timestamp, DecodeError> {
    let (name, time) = match text(field(record, "eventTime")) {
        Some(time) => ("eventTime", time),
        None => match text(field(record, "p_event_time")) {
            Some(time) => ("p_event_time", time),
            None => return Err(DecodeError::missing(FORMAT, "eventTime")),
        },
    };
    Timestamp::parse(&time).map_err(|error| DecodeError::invalid(FORMAT, name, error))
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
fn identity(record: &Value) -> (Option<String>, IdentityType) {
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
fn rebuilt_arn(record: &Value, resource: &str) -> Option<String> {
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
    Some(format!("arn:{partition}:iam::{account}:{resource}"))
}

/// The factor of a `ConsoleLogin` (see the module docs).
fn console_factor(record: &Value) -> Option<String> {
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
        return Some(factor.to_string());
    }
    let user_type = text(path(record, &["userIdentity", "type"])).unwrap_or_default();
    let federated = matches!(user_type.as_str(), "AssumedRole" | "FederatedUser")
        || text(path(record, &["additionalEventData", "SamlProviderArn"])).is_some();
    if federated || mfa_used.is_none() {
        return None;
    }
    Some("password".to_string())
}

/// An Identity Center `CredentialType` in vigil's factor vocabulary; others lowercased.
fn credential_factor(credential_type: &str) -> String {
    let factor = match credential_type.to_ascii_uppercase().as_str() {
        "PASSWORD" => "password",
        "TOTP" | "SOFTWARE_TOKEN" | "HARDWARE_TOKEN" => "otp",
        "WEBAUTHN" | "FIDO" | "PASSKEY" => "webauthn",
        "SMARTCARD" => "certificate",
        "EMAIL_OTP" | "EMAIL" => "email",
        "SMS" => "sms",
        _ => return credential_type.to_lowercase(),
    };
    factor.to_string()
}

/// The session: the Identity Center `AuthWorkflowID`, else a role session's temporary key.
fn session(record: &Value) -> Option<String> {
    if let Some(workflow) = text(path(record, &["additionalEventData", "AuthWorkflowID"])) {
        return Some(workflow);
    }
    text(path(record, &["userIdentity", "accessKeyId"])).filter(|key| key.starts_with("ASIA"))
}

/// A key of a JSON object, matched exactly and then ignoring ASCII case.
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

    /// Panther's CloudTrail sign-in rule fixtures.
    const PANTHER: &str = "panther-analysis/aws_cloudtrail_consolelogin.labeled.jsonl";

    /// The raw CloudTrail samples of the OCSF mapping examples.
    const OCSF_CONSOLE_LOGINS: [&str; 4] = [
        "ocsf/examples/mappings/markdown/AWS/v1.0.0-rc.2/CloudTrail/Authentication/samples/authentication.raw",
        "ocsf/examples/mappings/markdown/AWS/v1.1.0/CloudTrail/Authentication/samples/authentication.raw",
        "ocsf/examples/mappings/bloblang/AWS/CloudTrail/v1.0.0/Authentication/samples/authentication.raw",
        "ocsf/examples/mappings/bloblang/AWS/CloudTrail/v1.1.0/Authentication/authentication.raw",
    ];

    /// The Identity Center sample of the OCSF 1.5.0 mapping.
    const OCSF_IDENTITY_CENTER: &str =
        "ocsf/examples/mappings/markdown/AWS/v1.5.0/CloudTrail/Authentication/samples/authentication.raw";

    /// A timestamp the test knows to be valid.
    fn time(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    /// The auth fields of an event that must be an auth event.
    fn auth(event: &Event) -> &AuthDetail {
        event.auth().expect("an auth event")
    }

    /// The `log` of the Panther fixture with this test name, as JSON text.
    fn panther_log(test: &str) -> Option<String> {
        let lines = testdata::lines(PANTHER)?;
        let found = lines.iter().find_map(|line| {
            let labeled: Value = serde_json::from_str(line).expect("fixture is JSON");
            (labeled["test_name"] == test).then(|| labeled["log"].to_string())
        });
        Some(found.unwrap_or_else(|| panic!("no fixture {test}")))
    }

    /// An Identity Center record built on the shape of AWS's documented examples.
    fn identity_center(event_name: &str, credential_type: &str, result: &str) -> String {
        format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IdentityCenterUser","accountId":"123456789012","onBehalfOf":{{"userId":"e3644802-3061","identityStoreArn":"arn:aws:identitystore::123456789012:identitystore/d-9911111111"}}}},"eventTime":"2024-09-19T16:32:46Z","eventSource":"signin.amazonaws.com","eventName":"{event_name}","awsRegion":"eu-central-1","sourceIPAddress":"81.2.69.142","userAgent":"Mozilla/5.0","additionalEventData":{{"AuthWorkflowID":"da3f6703-d4a3","CredentialType":"{credential_type}","UserName":"test"}},"eventID":"e1","eventType":"AwsServiceEvent","serviceEventDetails":{{"{event_name}":"{result}"}}}}"#
        )
    }

    #[test]
    fn ocsf_console_logins_field_by_field() {
        for (index, relative) in OCSF_CONSOLE_LOGINS.iter().enumerate() {
            let Some(path) = testdata::shared(relative) else {
                return;
            };
            let record = std::fs::read_to_string(path).unwrap();
            let event = testdata::event(Format::Cloudtrail, &record);
            let (expected_time, expected_id) = if index == 1 {
                ("2023-11-10T16:24:34Z", "fed06f42-cb12-4764-8c69-example")
            } else {
                (
                    "2022-11-10T16:24:34Z",
                    "fed06f42-cb12-4764-8c69-121063dc79b9",
                )
            };
            assert_eq!(event.time, time(expected_time), "{relative}");
            assert_eq!(event.event_id.as_deref(), Some(expected_id));
            assert_eq!(
                event.identity.as_deref(),
                Some("arn:aws:iam::111122223333:user/anaya")
            );
            assert_eq!(event.identity_type, IdentityType::User);
            assert_eq!(event.ip, Some("192.0.2.0".parse().unwrap()));
            assert_eq!(
                event.user_agent.as_deref(),
                Some("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/67.0.3396.99 Safari/537.36")
            );
            assert_eq!(event.app.as_deref(), Some("aws-console"));
            assert_eq!(
                (
                    event.session_id.as_deref(),
                    event.device_id.as_deref(),
                    event.geo.as_ref(),
                    event.asn
                ),
                (None, None, None, None)
            );
            let detail = auth(&event);
            assert_eq!(
                (detail.action, detail.outcome),
                (AuthAction::Login, Outcome::Success)
            );
            // `MFAIdentifier` is a `u2f/` device: a security key.
            assert_eq!(
                (detail.factor.as_deref(), detail.reason.as_deref()),
                (Some("webauthn"), None)
            );
        }
    }

    #[test]
    fn ocsf_identity_center_challenge_is_skipped() {
        let Some(path) = testdata::shared(OCSF_IDENTITY_CENTER) else {
            return;
        };
        let record = std::fs::read(path).unwrap();
        assert_eq!(decode(&record).unwrap(), Decoded::Skipped(SKIP_CHALLENGE));
    }

    #[test]
    fn every_panther_log_decodes_or_is_broken_for_a_stated_reason() {
        let Some(lines) = testdata::lines(PANTHER) else {
            return;
        };
        assert_eq!(lines.len(), 35);
        // Fixtures trimmed to what one rule reads: these have no usable time at all.
        let broken = [
            ("Failed Console Login", "missing field `eventTime`"),
            ("Successful Console Login", "missing field `eventTime`"),
            (
                "Failed Console Login - Root User",
                "missing field `eventTime`",
            ),
            (
                "Root User Failed Activity",
                "invalid field `eventTime`: invalid timestamp `redacted`",
            ),
        ];
        let mut events = 0;
        for line in &lines {
            let labeled: Value = serde_json::from_str(line).unwrap();
            let test_name = labeled["test_name"].as_str().unwrap();
            let result = decode(labeled["log"].to_string().as_bytes());
            match broken.iter().find(|(name, _)| *name == test_name) {
                Some((_, reason)) => {
                    let error = result.expect_err(test_name);
                    assert!(error.reason.starts_with(reason), "{test_name}: {error}");
                }
                None => match result {
                    Ok(Decoded::Event(_)) => events += 1,
                    other => panic!("{test_name}: {other:?}"),
                },
            }
        }
        assert_eq!(events, 31);
    }

    #[test]
    fn panther_failed_login_without_arn_shares_the_identity_of_success() {
        let Some(failed) = panther_log("Unsuccessful Login w/ MFA") else {
            return;
        };
        let Some(succeeded) = panther_log("Successful Login w/ MFA") else {
            return;
        };
        let failed = testdata::event(Format::Cloudtrail, &failed);
        let succeeded = testdata::event(Format::Cloudtrail, &succeeded);
        assert_eq!(
            failed.identity.as_deref(),
            Some("arn:aws:iam::111122223333:user/anaya")
        );
        assert_eq!(failed.identity, succeeded.identity);
        assert_eq!(failed.time, time("2022-11-10T16:24:34Z"));
        assert_eq!(
            failed.event_id.as_deref(),
            Some("d38ce1b3-4575-4cb8-a632-611b8243bfc3")
        );
        let detail = auth(&failed);
        assert_eq!(
            (detail.action, detail.outcome),
            (AuthAction::Login, Outcome::Failure)
        );
        // `MFAUsed` is `Yes` without an `MFAIdentifier`: some second factor.
        assert_eq!(
            (detail.factor.as_deref(), detail.reason.as_deref()),
            (Some("mfa"), Some("Failed authentication"))
        );
        assert_eq!(auth(&succeeded).factor.as_deref(), Some("webauthn"));
    }

    #[test]
    fn panther_sso_role_login_field_by_field() {
        let Some(log) = panther_log("Console Login") else {
            return;
        };
        let event = testdata::event(Format::Cloudtrail, &log);
        assert_eq!(event.time, time("2024-06-02T19:41:40Z"));
        assert_eq!(
            event.identity.as_deref(),
            Some("arn:aws:sts::187901811700:assumed-role/AWSReservedSSO_DevAdmin_635426549a280cc6/nicholas.hakmiller")
        );
        assert_eq!(event.identity_type, IdentityType::User);
        assert_eq!(event.session_id.as_deref(), Some("ASIASXP6SDP2HUZY3TOB"));
        assert_eq!(event.ip, Some("73.252.165.138".parse().unwrap()));
        assert_eq!(
            event.event_id.as_deref(),
            Some("364ad368-42bf-4e05-a500-971ddfe8ebff")
        );
        let detail = auth(&event);
        // Federated through IAM Identity Center: `MFAUsed` `No` says nothing of the IdP's factors.
        assert_eq!(
            (detail.outcome, detail.factor.as_deref()),
            (Outcome::Success, None)
        );
    }

    #[test]
    fn panther_root_get_signin_token_and_trimmed_fixtures() {
        let Some(root) = panther_log("Successful Root Login") else {
            return;
        };
        let event = testdata::event(Format::Cloudtrail, &root);
        assert_eq!(
            event.identity.as_deref(),
            Some("arn:aws:iam::123456789012:root")
        );
        assert_eq!(event.ip, Some("111.111.111.111".parse().unwrap()));
        assert_eq!(
            (auth(&event).outcome, auth(&event).factor.as_deref()),
            (Outcome::Success, Some("password"))
        );

        let Some(token) = panther_log("Suspicious GetSigninToken") else {
            return;
        };
        let event = testdata::event(Format::Cloudtrail, &token);
        assert_eq!(
            event.identity.as_deref(),
            Some("arn:aws:sts::123456789012:assumed-role/MyRole/session")
        );
        assert_eq!(event.session_id.as_deref(), Some("ASIAIOSFODNN7EXAMPLE"));
        assert_eq!(event.user_agent.as_deref(), Some("python-requests/2.28.0"));
        assert_eq!(event.ip, Some("203.0.113.50".parse().unwrap()));
        assert_eq!(event.time, time("2024-01-15T10:30:00Z"));
        assert_eq!(event.app.as_deref(), Some("aws-console"));
        let detail = auth(&event);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::Login, Outcome::Success, None)
        );

        // An assumed role without ARN or principal: the issuing role's name is all there is.
        let Some(role) = panther_log("AssumeRole from MFA User Session") else {
            return;
        };
        assert_eq!(
            testdata::event(Format::Cloudtrail, &role)
                .identity
                .as_deref(),
            Some("asdsda")
        );
        // Panther's own event time stands in for a missing `eventTime`.
        let Some(trimmed) = panther_log("No MFA - authenticated from session with MFA") else {
            return;
        };
        let event = testdata::event(Format::Cloudtrail, &trimmed);
        assert_eq!(event.time, time("2019-01-01T00:20:04Z"));
        assert_eq!(auth(&event).outcome, Outcome::Success);
        // No account anywhere: the user name is kept as it is.
        let Some(bare) = panther_log("Normal Console Login - CloudTrail") else {
            return;
        };
        assert_eq!(
            testdata::event(Format::Cloudtrail, &bare)
                .identity
                .as_deref(),
            Some("some_user")
        );
    }

    #[test]
    fn compromised_root_scenario() {
        let directory = "panther-analysis/test_scenarios/compromised-root-creds";
        let Some(attacker) = testdata::lines(&format!("{directory}/attacker_cloudtrail.jsonl"))
        else {
            return;
        };
        let Some(victim) = testdata::lines(&format!("{directory}/victim_cloudtrail.jsonl")) else {
            return;
        };
        let decode_all = |lines: &[String]| -> Vec<Decoded> {
            lines
                .iter()
                .map(|line| decode(line.as_bytes()).unwrap())
                .collect()
        };
        let logins = |decoded: &[Decoded]| -> Vec<(Outcome, String)> {
            decoded
                .iter()
                .filter_map(|decoded| match decoded {
                    Decoded::Event(event) => {
                        assert_eq!(
                            event.identity.as_deref(),
                            Some("arn:aws:iam::493859302102:root")
                        );
                        Some((auth(event).outcome, event.ip.unwrap().to_string()))
                    }
                    Decoded::Skipped(reason) => {
                        assert_eq!(*reason, SKIP_NOT_SIGN_IN);
                        None
                    }
                })
                .collect()
        };
        let attacker_logins = logins(&decode_all(&attacker));
        let attacker_ip = "92.55.146.245".to_string();
        assert_eq!(
            attacker_logins,
            vec![
                (Outcome::Failure, attacker_ip.clone()),
                (Outcome::Failure, attacker_ip.clone()),
                (Outcome::Failure, attacker_ip.clone()),
                (Outcome::Success, attacker_ip),
            ]
        );
        let victim_logins = logins(&decode_all(&victim));
        assert_eq!(
            victim_logins,
            vec![(Outcome::Success, "71.253.251.71".to_string()); 3]
        );
    }

    #[test]
    fn identity_center_sign_in_steps() {
        let password_failed = testdata::event(
            Format::Cloudtrail,
            &identity_center("CredentialVerification", "PASSWORD", "Failure"),
        );
        assert_eq!(password_failed.identity.as_deref(), Some("test"));
        assert_eq!(password_failed.session_id.as_deref(), Some("da3f6703-d4a3"));
        assert_eq!(password_failed.app.as_deref(), Some("signin.amazonaws.com"));
        let detail = auth(&password_failed);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::Login, Outcome::Failure, Some("password"))
        );
        let password_passed = identity_center("CredentialVerification", "PASSWORD", "Success");
        assert_eq!(
            decode(password_passed.as_bytes()).unwrap(),
            Decoded::Skipped(SKIP_PASSWORD_STEP)
        );
        let totp = testdata::event(
            Format::Cloudtrail,
            &identity_center("CredentialVerification", "TOTP", "Failure"),
        );
        assert_eq!(
            (
                auth(&totp).action,
                auth(&totp).outcome,
                auth(&totp).factor.as_deref()
            ),
            (AuthAction::Mfa, Outcome::Failure, Some("otp"))
        );
        let signed_in = testdata::event(
            Format::Cloudtrail,
            &identity_center("UserAuthentication", "WEBAUTHN", "Success"),
        );
        assert_eq!(
            (
                auth(&signed_in).action,
                auth(&signed_in).outcome,
                auth(&signed_in).factor.as_deref()
            ),
            (AuthAction::Login, Outcome::Success, Some("webauthn"))
        );
        let external = testdata::event(
            Format::Cloudtrail,
            &identity_center("ExternalIdPDirectoryLogin", "", "Failure"),
        );
        assert_eq!(auth(&external).outcome, Outcome::Failure);
    }

    #[test]
    fn service_host_names_are_not_addresses() {
        for source in ["signin.amazonaws.com", "AWS Internal"] {
            let record = format!(
                r#"{{"eventName":"ConsoleLogin","eventTime":"2026-03-01T09:00:00Z","sourceIPAddress":"{source}","userIdentity":{{"type":"AWSService","invokedBy":"sso.amazonaws.com"}},"responseElements":{{"ConsoleLogin":"Success"}}}}"#
            );
            let event = testdata::event(Format::Cloudtrail, &record);
            assert_eq!(event.ip, None);
            assert_eq!(
                (event.identity.as_deref(), event.identity_type),
                (Some("sso.amazonaws.com"), IdentityType::Service)
            );
        }
    }

    #[test]
    fn wrappers_decode_their_first_sign_in() {
        let login = r#"{"eventName":"ConsoleLogin","eventTime":"2026-03-01T09:00:00Z","awsRegion":"cn-north-1","recipientAccountId":"123456789012","userIdentity":{"type":"IAMUser","userName":"bob"},"errorMessage":"Failed authentication"}"#;
        let expected = testdata::event(Format::Cloudtrail, login);
        assert_eq!(
            expected.identity.as_deref(),
            Some("arn:aws-cn:iam::123456789012:user/bob")
        );
        assert_eq!(
            (auth(&expected).outcome, auth(&expected).reason.as_deref()),
            (Outcome::Failure, Some("Failed authentication"))
        );
        let file = format!(
            r#"{{"Records":[{{"eventName":"PutObject","eventSource":"s3.amazonaws.com"}},{login}]}}"#
        );
        assert_eq!(testdata::event(Format::Cloudtrail, &file), expected);
        let bridge = format!(
            r#"{{"version":"0","detail-type":"AWS Console Sign In via CloudTrail","source":"aws.signin","detail":{login}}}"#
        );
        assert_eq!(testdata::event(Format::Cloudtrail, &bridge), expected);
        assert_eq!(
            decode(br#"{"Records":[]}"#).unwrap(),
            Decoded::Skipped(SKIP_BATCH)
        );
        assert_eq!(
            decode(br#"{"eventName":"PutObject"}"#).unwrap(),
            Decoded::Skipped(SKIP_NOT_SIGN_IN)
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (r#"{"eventTime":"2026-03-01T09:00:00Z"}"#, "`eventName`"),
            (
                r#"{"eventName":"ConsoleLogin","userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root"}}"#,
                "`eventTime`",
            ),
            (
                r#"{"eventName":"ConsoleLogin","eventTime":"2026-03-01T09:00:00Z"}"#,
                "`userIdentity.arn`",
            ),
            (
                r#"{"eventName":"ConsoleLogin","eventTime":"2026-03-01T09:00:00Z","userIdentity":{"type":"IAMUser","userName":"a"},"responseElements":{"ConsoleLogin":"Maybe"}}"#,
                "`responseElements.ConsoleLogin`",
            ),
            (r#"[1]"#, "JSON object"),
            (r#"{"eventName":"#, "malformed JSON"),
        ];
        for (json, expected) in cases {
            let error = decode(json.as_bytes()).unwrap_err();
            assert_eq!(error.format, Format::Cloudtrail);
            assert!(error.to_string().contains(expected), "{json} -> {error}");
        }
        let name = "x".repeat(MAX_ID_BYTES + 1);
        let huge = format!(
            r#"{{"eventName":"ConsoleLogin","eventTime":"2026-03-01T09:00:00Z","userIdentity":{{"type":"IAMUser","arn":"{name}"}}}}"#
        );
        assert!(decode(huge.as_bytes())
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
            let record = r#"{"Records":[{"eventName":"ConsoleLogin","eventTime":"2026-03-01T09:00:00Z","awsRegion":"us-gov-west-1","userIdentity":{"type":"IAMUser","userName":"b","accountId":"123456789012"},"additionalEventData":{"MFAUsed":"Yes","MFAIdentifier":"arn:aws:iam::1:u2f/x"},"responseElements":{"ConsoleLogin":"Failure"},"sourceIPAddress":"[::1]:443"}]}"#;
            let mut bytes = record.as_bytes().to_vec();
            let index = cut % bytes.len();
            bytes[index] = byte;
            let _ = decode(&bytes);
            let _ = decode(&bytes[..index]);
        }
    }
}
