//! Tests of the Entra decoder.

use super::*;
use crate::country::to_alpha2;
use crate::native::MAX_ID_BYTES;
use crate::testdata;
use crate::testdata::auth;

/// The Event Hub sample of elastic's azure integration.
pub(crate) const ELASTIC: &str = "elastic-integrations/azure_signinlogs/test-signinlogs-raw.log";

/// Panther's Azure sign-in and audit rule fixtures.
pub(crate) const PANTHER_AZURE: &str = "panther-analysis/azure_audit_signin.labeled.jsonl";

/// Panther's Office 365 Entra fixtures.
pub(crate) const PANTHER_M365: &str = "panther-analysis/m365_aad.labeled.jsonl";

/// Microsoft's example of a Graph `signIn` list response (one sign-in).
pub(crate) const GRAPH_RESPONSE: &str = "ms-graph-docs/signin-get.v1.response.json";

/// A small Graph sign-in for hand-made cases.
const GRAPH_RECORD: &str = r#"{"id":"e1","createdDateTime":"2026-03-01T09:00:00Z","userPrincipalName":"Alice@Example.com","ipAddress":"81.2.69.142","appDisplayName":"Portal","status":{"errorCode":0}}"#;

/// A timestamp the test knows to be valid.
fn time(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
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
    let Some(path) = testdata::shared(GRAPH_RESPONSE) else {
        return;
    };
    let response = std::fs::read_to_string(path).unwrap();
    // The file is a Graph list response: a batch of its one sign-in.
    let Ok(Decoded::Batch(members)) = decode(response.as_bytes()) else {
        panic!("expected a batch")
    };
    let [Ok(Decoded::Event(boxed))] = members.as_slice() else {
        panic!("expected one event, got {members:?}")
    };
    let event: &Event = boxed;
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
    let detail = auth(event);
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
    assert_eq!(&testdata::event(Format::Entra, &single), event);
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
                Ok(batch @ Decoded::Batch(_)) => panic!("unexpected {batch:?}"),
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
    assert_eq!(geo.country.as_deref(), to_alpha2("China"));
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
        batch @ Decoded::Batch(_) => panic!("unexpected {batch:?}"),
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
    let Decoded::Event(event) = with_status(500121, "MFA denied; user declined the authentication")
    else {
        panic!()
    };
    assert_eq!(
        auth(&event).reason.as_deref(),
        Some("Authentication failed during strong authentication request. (MFA denied; user declined the authentication)")
    );
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
fn identity_is_lowercased_upn() {
    let event = testdata::event(Format::Entra, GRAPH_RECORD);
    assert_eq!(event.identity.as_deref(), Some("alice@example.com"));
}

#[test]
fn batches_decode_every_member_on_its_own() {
    let event = testdata::event(Format::Entra, GRAPH_RECORD);
    let records = format!(
        r#"{{"records":[{{"category":"AuditLogs","properties":{{}}}},{{"category":"SignInLogs","properties":{GRAPH_RECORD}}},{{"category":"SignInLogs","properties":{{"userPrincipalName":"b@example.com"}}}},[1],{{"category":"SignInLogs","properties":{GRAPH_RECORD}}}]}}"#
    );
    let Ok(Decoded::Batch(members)) = decode(records.as_bytes()) else {
        panic!("expected a batch")
    };
    assert_eq!(members.len(), 5);
    assert_eq!(members[0], Ok(Decoded::Skipped(SKIP_CATEGORY)));
    assert_eq!(members[1], Ok(Decoded::Event(Box::new(event.clone()))));
    let no_time = members[2].clone().unwrap_err();
    assert_eq!(no_time.format, Format::Entra);
    assert_eq!(
        no_time.reason,
        "member 2 of `records`: missing field `createdDateTime`"
    );
    let not_an_object = members[3].clone().unwrap_err();
    assert!(
        not_an_object.reason.starts_with("member 3 of `records`: "),
        "{not_an_object}"
    );
    assert_eq!(members[4], members[1], "nothing after a bad member is lost");
    // A Graph page, and the same page through format detection.
    let page = format!(r#"{{"@odata.context":"x","value":[{GRAPH_RECORD},{GRAPH_RECORD}]}}"#);
    let expected = Decoded::Batch(vec![
        Ok(Decoded::Event(Box::new(event.clone()))),
        Ok(Decoded::Event(Box::new(event))),
    ]);
    assert_eq!(decode(page.as_bytes()), Ok(expected.clone()));
    assert_eq!(crate::decode(Format::Auto, page.as_bytes()), Ok(expected));
    for empty in [r#"{"records":[]}"#, r#"{"value":[]}"#] {
        assert_eq!(
            decode(empty.as_bytes()),
            Ok(Decoded::Skipped(SKIP_EMPTY_BATCH))
        );
        assert_eq!(crate::detect(empty.as_bytes()), Ok(Format::Entra));
    }
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
    fn never_panics_on_cut_or_altered_records(cut in 0usize..400, byte in proptest::prelude::any::<u8>()) {
        let record = format!(r#"{{"category":"SignInLogs","time":"2026-03-01T09:00:00Z","resultType":"500121","properties":{{"userPrincipalName":"a@b","location":{{"city":"x","countryOrRegion":"Fr","geoCoordinates":{{"latitude":"91","longitude":"1e400"}}}},"autonomousSystemNumber":"99999999999","authenticationDetails":[{{"authenticationMethod":7}}],"inner":{GRAPH_RECORD}}}}}"#);
        let mut bytes = record.into_bytes();
        let index = cut % bytes.len();
        bytes[index] = byte;
        let _ = decode(&bytes);
        let _ = decode(&bytes[..index]);
    }
}
