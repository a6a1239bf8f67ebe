//! Tests of the CloudTrail decoder.

use super::*;
use crate::native::MAX_ID_BYTES;
use crate::testdata;
use crate::testdata::auth;
use vigil_schemas::Timestamp;

/// Panther's CloudTrail sign-in rule fixtures.
pub(crate) const PANTHER: &str = "panther-analysis/aws_cloudtrail_consolelogin.labeled.jsonl";

/// The raw CloudTrail samples of the OCSF mapping examples.
pub(crate) const OCSF_CONSOLE_LOGINS: [&str; 4] = [
    "ocsf/examples/mappings/markdown/AWS/v1.0.0-rc.2/CloudTrail/Authentication/samples/authentication.raw",
    "ocsf/examples/mappings/markdown/AWS/v1.1.0/CloudTrail/Authentication/samples/authentication.raw",
    "ocsf/examples/mappings/bloblang/AWS/CloudTrail/v1.0.0/Authentication/samples/authentication.raw",
    "ocsf/examples/mappings/bloblang/AWS/CloudTrail/v1.1.0/Authentication/authentication.raw",
];

/// The Identity Center sample of the OCSF 1.5.0 mapping.
pub(crate) const OCSF_IDENTITY_CENTER: &str =
    "ocsf/examples/mappings/markdown/AWS/v1.5.0/CloudTrail/Authentication/samples/authentication.raw";

/// Panther's compromised-root scenario: the attacker's CloudTrail records.
pub(crate) const SCENARIO_ATTACKER: &str =
    "panther-analysis/test_scenarios/compromised-root-creds/attacker_cloudtrail.jsonl";

/// Panther's compromised-root scenario: the victim's CloudTrail records.
pub(crate) const SCENARIO_VICTIM: &str =
    "panther-analysis/test_scenarios/compromised-root-creds/victim_cloudtrail.jsonl";

/// A timestamp the test knows to be valid.
fn time(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
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
    let Some(attacker) = testdata::lines(SCENARIO_ATTACKER) else {
        return;
    };
    let Some(victim) = testdata::lines(SCENARIO_VICTIM) else {
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
                Decoded::Batch(_) => panic!("unexpected {decoded:?}"),
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
fn envelopes_decode_their_event() {
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
    let bridge = format!(
        r#"{{"version":"0","detail-type":"AWS Console Sign In via CloudTrail","source":"aws.signin","detail":{login}}}"#
    );
    assert_eq!(testdata::event(Format::Cloudtrail, &bridge), expected);
    assert_eq!(crate::detect(bridge.as_bytes()), Ok(Format::Cloudtrail));
    assert_eq!(
        decode(br#"{"eventName":"PutObject"}"#).unwrap(),
        Decoded::Skipped(SKIP_NOT_SIGN_IN)
    );
}

#[test]
fn log_files_decode_every_record_on_its_own() {
    let login = r#"{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","eventTime":"2026-03-01T09:00:00Z","recipientAccountId":"123456789012","userIdentity":{"type":"IAMUser","userName":"bob"},"responseElements":{"ConsoleLogin":"Success"}}"#;
    let put_object = r#"{"eventName":"PutObject","eventSource":"s3.amazonaws.com","eventTime":"2026-03-01T09:00:01Z"}"#;
    let broken = r#"{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root"}}"#;
    let file = format!(r#"{{"Records":[{login},{put_object},{broken},{login}]}}"#);
    let event = Decoded::Event(Box::new(testdata::event(Format::Cloudtrail, login)));
    let Ok(Decoded::Batch(members)) = decode(file.as_bytes()) else {
        panic!("expected a batch")
    };
    assert_eq!(members.len(), 4);
    assert_eq!(members[0], Ok(event.clone()));
    assert_eq!(members[1], Ok(Decoded::Skipped(SKIP_NOT_SIGN_IN)));
    let error = members[2].clone().unwrap_err();
    assert_eq!(
        error.to_string(),
        "failed to decode `cloudtrail` event: member 2 of `Records`: missing field `eventTime`"
    );
    assert_eq!(members[3], Ok(event), "nothing after a bad member is lost");
    assert_eq!(
        crate::decode(Format::Auto, file.as_bytes()),
        decode(file.as_bytes())
    );
    let garbage = format!(r#"{{"Records":[42,{put_object}]}}"#);
    let Ok(Decoded::Batch(members)) = decode(garbage.as_bytes()) else {
        panic!("expected a batch")
    };
    assert!(members[0]
        .as_ref()
        .unwrap_err()
        .reason
        .contains("not a JSON object"));
    assert_eq!(members[1], Ok(Decoded::Skipped(SKIP_NOT_SIGN_IN)));
    assert_eq!(
        decode(br#"{"Records":[]}"#),
        Ok(Decoded::Skipped(SKIP_EMPTY_BATCH))
    );
    assert_eq!(crate::detect(br#"{"Records":[]}"#), Ok(Format::Cloudtrail));
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
    fn never_panics_on_cut_or_altered_records(cut in 0usize..400, byte in proptest::prelude::any::<u8>()) {
        let record = r#"{"Records":[{"eventName":"ConsoleLogin","eventTime":"2026-03-01T09:00:00Z","awsRegion":"us-gov-west-1","userIdentity":{"type":"IAMUser","userName":"b","accountId":"123456789012"},"additionalEventData":{"MFAUsed":"Yes","MFAIdentifier":"arn:aws:iam::1:u2f/x"},"responseElements":{"ConsoleLogin":"Failure"},"sourceIPAddress":"[::1]:443"}]}"#;
        let mut bytes = record.as_bytes().to_vec();
        let index = cut % bytes.len();
        bytes[index] = byte;
        let _ = decode(&bytes);
        let _ = decode(&bytes[..index]);
    }
}
