//! Tests of the Okta decoder.

use super::*;
use crate::native::MAX_ID_BYTES;
use crate::testdata;
use crate::testdata::auth;
use vigil_schemas::Timestamp;

/// The Elastic integration's 20 pipeline-test events, one per line.
pub(crate) const ELASTIC: &str = "elastic-integrations/okta/test-okta-system-events.log";
/// Panther's rule-test records: one `{rule_id, test_name, expected_result, log}` per line.
pub(crate) const PANTHER: &str = "panther-analysis/okta_systemlog.labeled.jsonl";
/// The OCSF project's raw Okta `user.session.start` (one pretty-printed record).
pub(crate) const OCSF_RAW: &str = "ocsf/examples/mappings/markdown/Okta/v1.3.0/System Logs/Authentication/samples/authentication.raw";

/// A timestamp from RFC 3339 text.
fn time(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// Decodes through the crate's entry point, as replay does.
fn decode_json(json: &str) -> Result<Decoded, DecodeError> {
    crate::decode(Format::Okta, json.as_bytes())
}

/// A minimal record of an event type with an outcome, for synthetic cases.
fn record(event_type: &str, result: &str, reason: &str, extra: &str) -> String {
    format!(
        r#"{{"eventType":"{event_type}","published":"2024-05-01T10:00:00.000Z","uuid":"u1","actor":{{"id":"00u1","type":"User","alternateId":"alice@example.com"}},"outcome":{{"result":"{result}","reason":"{reason}"}}{extra}}}"#
    )
}

#[test]
fn okta_acting_itself_says_nothing_about_where_the_user_is() {
    let client = r#","client":{"ipAddress":"44.238.82.114","userAgent":{"rawUserAgent":"Okta-Integrations"},"geographicalContext":{"country":"United States","geolocation":{"lat":45.8,"lon":-119.7}}},"securityContext":{"asNumber":16509},"authenticationContext":{"externalSessionId":"s1"}"#;
    let Ok(Decoded::Event(event)) =
        decode_json(&record("user.session.start", "SUCCESS", "", client))
    else {
        panic!("decodes")
    };
    assert_eq!(
        (event.ip, event.geo, event.asn, event.user_agent),
        (None, None, None, None)
    );
    assert_eq!(event.session_id.as_deref(), Some("s1"));
    // Anyone else's client is kept.
    let browser = client.replace("Okta-Integrations", "Mozilla/5.0");
    let Ok(Decoded::Event(event)) =
        decode_json(&record("user.session.start", "SUCCESS", "", &browser))
    else {
        panic!("decodes")
    };
    assert_eq!(event.asn, Some(16509));
    assert!(event.ip.is_some() && event.geo.is_some() && event.user_agent.is_some());
}

#[test]
fn elastic_login_decodes_field_by_field() {
    let Some(lines) = testdata::lines(ELASTIC) else {
        return;
    };
    let event = testdata::event(Format::Okta, &lines[1]);
    assert_eq!(event.time, time("2020-02-14T20:18:57.718Z"));
    assert_eq!(event.identity.as_deref(), Some("xxxxxx@elastic.co"));
    assert_eq!(event.identity_type, IdentityType::User);
    assert_eq!(
        event.session_id.as_deref(),
        Some("102bZDNFfWaQSyEZQuDgWt-uQ")
    );
    assert_eq!(
        event.device_id.as_deref(),
        Some("541daf91d15bef64a7e08c946fd9a9d0"),
        "debugData.deviceFingerprint"
    );
    assert_eq!(event.ip, Some("175.16.199.1".parse().unwrap()));
    let geo = event.geo.clone().unwrap();
    // Vendor geo as recorded (the address was swapped for a test address, the place was not).
    assert_eq!(
        (
            geo.lat,
            geo.lon,
            geo.city.as_deref(),
            geo.country.as_deref()
        ),
        (Some(37.7201), Some(-121.919), Some("Dublin"), Some("US"))
    );
    assert_eq!(event.asn, None, "securityContext.asNumber is null");
    assert_eq!(
        event.user_agent.as_deref(),
        Some("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:72.0) Gecko/20100101 Firefox/72.0")
    );
    assert_eq!(event.app, None, "no AppInstance target");
    assert_eq!(
        event.event_id.as_deref(),
        Some("3aeede38-4f67-11ea-abd3-1f5d113f2546")
    );
    let detail = auth(&event);
    assert_eq!(
        (
            detail.action,
            detail.outcome,
            detail.factor.as_deref(),
            detail.reason.as_deref()
        ),
        (AuthAction::Login, Outcome::Success, None, None)
    );
}

#[test]
fn elastic_logout_without_client_address_uses_ip_chain() {
    let Some(lines) = testdata::lines(ELASTIC) else {
        return;
    };
    // Line 10: `client.ipAddress` is the string "null".
    let event = testdata::event(Format::Okta, &lines[9]);
    assert_eq!(event.time, time("2020-02-14T22:18:51.843Z"));
    assert_eq!(event.identity.as_deref(), Some("xxxxxx@elastic.co"));
    assert_eq!(
        event.session_id.as_deref(),
        Some("102nZHzd6OHSfGG51vsoc22gw")
    );
    assert_eq!(event.ip, Some("175.16.199.1".parse().unwrap()));
    assert_eq!(event.device_id, None);
    assert_eq!(
        event.event_id.as_deref(),
        Some("faf7398a-4f77-11ea-97fb-5925e98228bd")
    );
    let detail = auth(&event);
    assert_eq!(
        (detail.action, detail.outcome),
        (AuthAction::Logout, Outcome::Success)
    );
}

#[test]
fn elastic_login_with_asn_and_test_address() {
    let Some(lines) = testdata::lines(ELASTIC) else {
        return;
    };
    let event = testdata::event(Format::Okta, &lines[12]);
    assert_eq!(event.time, time("2022-05-11T09:25:18.716Z"));
    assert_eq!(event.identity.as_deref(), Some("test@test.com"));
    assert_eq!(event.session_id.as_deref(), Some("xxxxxx"));
    assert_eq!(event.ip, Some("81.2.69.144".parse().unwrap()));
    let geo = event.geo.clone().unwrap();
    assert_eq!(
        (
            geo.lat,
            geo.lon,
            geo.city.as_deref(),
            geo.country.as_deref()
        ),
        (Some(39.1469), Some(-77.5903), Some("Ashburn"), Some("US"))
    );
    assert_eq!(event.asn, Some(14618));
    assert_eq!(event.user_agent.as_deref(), Some("blah"));
    assert_eq!(
        event.device_id, None,
        "`device` is null and there is no fingerprint"
    );
    assert_eq!(auth(&event).action, AuthAction::Login);
}

#[test]
fn elastic_verify_events_are_mfa() {
    let Some(lines) = testdata::lines(ELASTIC) else {
        return;
    };
    let event = testdata::event(Format::Okta, &lines[13]);
    assert_eq!(event.time, time("2022-05-11T09:27:08.708Z"));
    assert_eq!(event.identity.as_deref(), Some("test1@test.com"));
    assert_eq!(event.ip, Some("67.43.156.14".parse().unwrap()));
    assert_eq!(event.asn, Some(7922));
    assert_eq!(
        event.geo.as_ref().and_then(|geo| geo.city.as_deref()),
        Some("Purcellville")
    );
    let detail = auth(&event);
    assert_eq!(
        (detail.action, detail.outcome, detail.factor.as_deref()),
        (AuthAction::Mfa, Outcome::Success, None)
    );
    // Line 15: a redacted place, "City" / "Country" at (0, 0): the coordinates and the
    // unknown country are dropped, the city is kept verbatim.
    let redacted = testdata::event(Format::Okta, &lines[14]);
    assert_eq!(
        redacted.geo,
        Some(Geo {
            city: Some("City".into()),
            ..Geo::default()
        })
    );
    assert_eq!(redacted.user_agent, None, "rawUserAgent \"unknown\"");
    assert_eq!(redacted.asn, Some(1828));
    assert_eq!(
        redacted.session_id.as_deref(),
        Some("102qmxOh1EdTHqn1_86CB9fzA")
    );
}

#[test]
fn elastic_mfa_factors_are_normalised() {
    let Some(lines) = testdata::lines(ELASTIC) else {
        return;
    };
    let push = testdata::event(Format::Okta, &lines[15]);
    assert_eq!(push.time, time("2023-02-06T08:56:36.909Z"));
    assert_eq!(push.identity.as_deref(), Some("user@domain.com"));
    assert_eq!(push.ip, Some("127.0.0.1".parse().unwrap()));
    let geo = push.geo.clone().unwrap();
    assert_eq!(
        (
            geo.lat,
            geo.lon,
            geo.city.as_deref(),
            geo.country.as_deref()
        ),
        (Some(47.0511), Some(8.3056), Some("Lucerne"), Some("CH"))
    );
    assert_eq!(push.asn, Some(3303));
    assert!(push
        .user_agent
        .as_deref()
        .unwrap()
        .contains("OktaVerify/7.12.0"));
    let detail = auth(&push);
    assert_eq!(
        (detail.action, detail.outcome, detail.factor.as_deref()),
        (AuthAction::Mfa, Outcome::Success, Some("push"))
    );
    let webauthn = testdata::event(Format::Okta, &lines[16]);
    assert_eq!(webauthn.identity.as_deref(), Some("name@domain.com"));
    assert_eq!(
        webauthn.geo.as_ref().and_then(|geo| geo.country.as_deref()),
        Some("DE")
    );
    assert_eq!(webauthn.asn, Some(62336));
    assert_eq!(auth(&webauthn).factor.as_deref(), Some("webauthn"));
}

#[test]
fn elastic_samples_all_decode_or_skip() {
    let Some(lines) = testdata::lines(ELASTIC) else {
        return;
    };
    assert_eq!(lines.len(), 20);
    let (mut events, mut policy, mut other) = (0, 0, 0);
    for (index, line) in lines.iter().enumerate() {
        match decode_json(line) {
            Ok(Decoded::Event(_)) => events += 1,
            Ok(Decoded::Skipped(SKIP_POLICY)) => policy += 1,
            Ok(Decoded::Skipped(SKIP_OTHER)) => other += 1,
            unexpected => panic!("line {}: {unexpected:?}", index + 1),
        }
    }
    // 4 policy.evaluate_sign_on; group.user_membership.add and app.user_management.
    assert_eq!((events, policy, other), (14, 4, 2));
}

#[test]
fn auto_detection_routes_elastic_samples_here() {
    let Some(lines) = testdata::lines(ELASTIC) else {
        return;
    };
    for line in &lines {
        assert_eq!(crate::detect(line.as_bytes()), Ok(Format::Okta));
        assert_eq!(
            crate::decode(Format::Auto, line.as_bytes()),
            decode_json(line)
        );
    }
}

#[test]
fn panther_samples_decode_skip_or_name_the_broken_field() {
    let Some(logs) = testdata::panther_logs(PANTHER) else {
        return;
    };
    assert_eq!(logs.len(), 88);
    // Rule fixtures that are genuinely unusable as events, by 1-based line.
    let broken = [
        (2, "missing field `outcome.result`"),
        (4, "missing field `outcome.result`"),
        (41, "invalid field `published`"),
        (42, "invalid field `published`"),
        (43, "invalid field `published`"),
        (44, "invalid field `published`"),
        (50, "missing field `published`"),
        (51, "missing field `published`"),
        (71, "missing field `eventType`"),
        (83, "missing field `eventType`"),
        (84, "missing field `published`"),
    ];
    let (mut events, mut skipped) = (0, 0);
    for (index, (test_name, log)) in logs.iter().enumerate() {
        let line = index + 1;
        let expected_error = broken
            .iter()
            .find(|(broken_line, _)| *broken_line == line)
            .map(|(_, reason)| *reason);
        match (decode_json(log), expected_error) {
            (Ok(Decoded::Event(_)), None) => events += 1,
            (Ok(Decoded::Skipped(_)), None) => skipped += 1,
            (Err(error), Some(reason)) => assert!(
                error.reason.contains(reason),
                "line {line} ({test_name}): {error}"
            ),
            (other, expected) => {
                panic!("line {line} ({test_name}): got {other:?}, expected error {expected:?}")
            }
        }
    }
    assert_eq!((events, skipped), (26, 51));
}

#[test]
fn panther_lowercase_keys_and_space_separated_time() {
    let Some(logs) = testdata::panther_logs(PANTHER) else {
        return;
    };
    // Line 7: `eventtype`, `authenticationcontext`, `securitycontext`; "2022-06-22 18:18:29.015".
    let event = testdata::event(Format::Okta, &logs[6].1);
    assert_eq!(event.time, time("2022-06-22T18:18:29.015Z"));
    assert_eq!(event.identity.as_deref(), Some("homer.simpson@duff.com"));
    assert_eq!(event.session_id.as_deref(), Some("100-abc-9999"));
    assert_eq!(event.asn, Some(701));
    assert_eq!(event.ip, Some("1.3.2.4".parse().unwrap()));
    let geo = event.geo.clone().unwrap();
    assert_eq!(
        (
            geo.lat,
            geo.lon,
            geo.city.as_deref(),
            geo.country.as_deref()
        ),
        (Some(20.0), Some(-25.0), Some("Springfield"), Some("US"))
    );
    assert_eq!(event.event_id.as_deref(), Some("AbC-123-XyZ"));
    let detail = auth(&event);
    assert_eq!(
        (detail.action, detail.outcome, detail.reason.as_deref()),
        (
            AuthAction::Login,
            Outcome::Failure,
            Some("INVALID_CREDENTIALS")
        )
    );
    // Line 21: `user.authentication.auth_via_IDP` is a sign-in.
    assert_eq!(
        auth(&testdata::event(Format::Okta, &logs[20].1)).action,
        AuthAction::Login
    );
    // Line 40: a FastPass phishing block is a failed MFA with Okta's reason verbatim.
    let blocked = testdata::event(Format::Okta, &logs[39].1);
    let detail = auth(&blocked);
    assert_eq!(
        (detail.action, detail.outcome, detail.reason.as_deref()),
        (
            AuthAction::Mfa,
            Outcome::Failure,
            Some("FastPass declined phishing attempt")
        )
    );
}

#[test]
fn panther_nanosecond_time_app_target_and_p_event_time() {
    let Some(logs) = testdata::panther_logs(PANTHER) else {
        return;
    };
    // Line 23: "2024-04-02 19:17:37.621000000" and an `AppInstance` target.
    let event = testdata::event(Format::Okta, &logs[22].1);
    assert_eq!(event.time, time("2024-04-02T19:17:37.621Z"));
    assert_eq!(event.app.as_deref(), Some("Okta Dashboard"));
    assert_eq!(
        event.session_id.as_deref(),
        Some("idxvF50v_5sT2-GOA7_K0Amyw")
    );
    assert_eq!(event.asn, Some(7018));
    assert_eq!(
        event.event_id.as_deref(),
        Some("aac560bd-f125-11ee-9caa-cd5d09945def")
    );
    assert_eq!(
        auth(&testdata::event(Format::Okta, &logs[23].1)).outcome,
        Outcome::Failure
    );
    // Line 68: no `published`, Panther's `p_event_time` stands in; `alternateId` "admin".
    let failed = testdata::event(Format::Okta, &logs[67].1);
    assert_eq!(failed.time, time("2021-06-04T09:59:53.650807Z"));
    assert_eq!(failed.identity.as_deref(), Some("admin"));
    assert_eq!(failed.ip, Some("111.111.111.111".parse().unwrap()));
    assert_eq!(
        (
            failed.geo.clone(),
            failed.session_id.clone(),
            failed.event_id.clone()
        ),
        (None, None, None)
    );
    let detail = auth(&failed);
    assert_eq!(
        (detail.outcome, detail.reason.as_deref()),
        (Outcome::Failure, Some("VERIFICATION_ERROR"))
    );
    // Line 88: Okta's own place wins, Panther's `p_enrichment` is ignored.
    let rogue = testdata::event(Format::Okta, &logs[87].1);
    assert_eq!(
        rogue.geo.as_ref().and_then(|geo| geo.country.as_deref()),
        Some("RU")
    );
    assert_eq!(rogue.app.as_deref(), Some("My Okta App"));
}

#[test]
fn ocsf_example_raw_okta_login() {
    let Some(path) = testdata::shared(OCSF_RAW) else {
        return;
    };
    let text = std::fs::read_to_string(path).expect("sample readable");
    let event = testdata::event(Format::Okta, &text);
    assert_eq!(event.time, time("2024-08-13T15:58:20.353Z"));
    assert_eq!(event.identity.as_deref(), Some("john.doe@example.com"));
    assert_eq!(event.identity_type, IdentityType::User);
    assert_eq!(
        event.session_id.as_deref(),
        Some("idxBager62CSveUkTxvgRtonA")
    );
    assert_eq!(
        event.device_id.as_deref(),
        Some("guofdhyjex1feOgbN1d9"),
        "top-level `device.id`"
    );
    assert_eq!(event.ip, Some("10.0.0.1".parse().unwrap()));
    let geo = event.geo.clone().unwrap();
    assert_eq!(
        (
            geo.lat,
            geo.lon,
            geo.city.as_deref(),
            geo.country.as_deref()
        ),
        (Some(40.3157), Some(-74.01), Some("New York"), Some("US"))
    );
    assert_eq!(event.asn, Some(394089));
    assert!(event
        .user_agent
        .as_deref()
        .unwrap()
        .contains("Chrome/127.0.0.0"));
    assert_eq!(
        event.app.as_deref(),
        Some("Okta Admin Console"),
        "the AppInstance, not the AuthenticatorEnrollment"
    );
    assert_eq!(
        event.event_id.as_deref(),
        Some("dc9fd3c0-598c-11ef-8478-2b7584bf8d5a")
    );
    let detail = auth(&event);
    assert_eq!(
        (detail.action, detail.outcome, detail.factor.as_deref()),
        (AuthAction::Login, Outcome::Success, None)
    );
}

#[test]
fn push_challenges_refusals_and_timeouts() {
    let deny = testdata::event(
        Format::Okta,
        &record("user.mfa.okta_verify.deny_push", "SUCCESS", "", ""),
    );
    let detail = auth(&deny);
    assert_eq!(
        (detail.action, detail.outcome, detail.factor.as_deref()),
        (AuthAction::Mfa, Outcome::Denied, Some("push"))
    );
    assert_eq!(
        detail.reason, None,
        "Okta gives no reason, and `SUCCESS` is the logging's"
    );
    // A sent push is a prompt: `SUCCESS` says the notification left, not that the user
    // approved it, so it is never an approved second factor, whatever its result.
    for result in ["SUCCESS", "FAILURE", "DENY"] {
        let sent = record("system.push.send_factor_verify_push", result, "", "");
        assert_eq!(
            decode_json(&sent),
            Ok(Decoded::Skipped(SKIP_PUSH_SENT)),
            "{result}"
        );
    }
    let factor = r#","debugContext":{"debugData":{"factor":"OKTA_VERIFY_PUSH"}}"#;
    let rejected = testdata::event(
        Format::Okta,
        &record(
            "user.authentication.auth_via_mfa",
            "FAILURE",
            "User rejected Okta push verify",
            factor,
        ),
    );
    let detail = auth(&rejected);
    assert_eq!(
        (detail.outcome, detail.reason.as_deref()),
        (Outcome::Denied, Some("User rejected Okta push verify"))
    );
    let unanswered = testdata::event(
        Format::Okta,
        &record(
            "user.authentication.auth_via_mfa",
            "FAILURE",
            "Okta Verify push timeout",
            factor,
        ),
    );
    assert_eq!(auth(&unanswered).outcome, Outcome::Timeout);
    let refused = testdata::event(
        Format::Okta,
        &record("user.session.start", "DENY", "Denied by policy", ""),
    );
    assert_eq!(auth(&refused).outcome, Outcome::Denied);
    let password_expired = testdata::event(
        Format::Okta,
        &record("user.session.start", "FAILURE", "PASSWORD_EXPIRED", ""),
    );
    assert_eq!(auth(&password_expired).outcome, Outcome::Failure);
}

#[test]
fn verification_with_a_password_is_a_login() {
    let password =
        r#","authenticationContext":{"credentialType":"PASSWORD","externalSessionId":"idx1"}"#;
    let event = testdata::event(
        Format::Okta,
        &record(
            "user.authentication.verify",
            "FAILURE",
            "INVALID_CREDENTIALS",
            password,
        ),
    );
    let detail = auth(&event);
    assert_eq!(
        (detail.action, detail.outcome, detail.factor.as_deref()),
        (AuthAction::Login, Outcome::Failure, Some("password"))
    );
    assert_eq!(event.session_id.as_deref(), Some("idx1"));
    let sms = r#","authenticationContext":{"credentialType":"SMS"}"#;
    let event = testdata::event(
        Format::Okta,
        &record("user.authentication.verify", "SUCCESS", "", sms),
    );
    assert_eq!(
        (auth(&event).action, auth(&event).factor.as_deref()),
        (AuthAction::Mfa, Some("sms"))
    );
    let sso = r#","target":[{"type":"AppInstance","alternateId":"Salesforce"}]"#;
    let event = testdata::event(
        Format::Okta,
        &record("user.authentication.sso", "SUCCESS", "", sso),
    );
    assert_eq!(
        (auth(&event).action, event.app.as_deref()),
        (AuthAction::Login, Some("Salesforce"))
    );
}

#[test]
fn actor_type_and_identity_fallback() {
    let json = r#"{"eventType":"user.session.start","published":"2024-05-01T10:00:00Z","actor":{"id":"spr1","type":"SystemPrincipal","alternateId":"unknown"},"outcome":{"result":"SUCCESS"}}"#;
    let event = testdata::event(Format::Okta, json);
    assert_eq!(
        (event.identity.as_deref(), event.identity_type),
        (Some("spr1"), IdentityType::Service)
    );
    let client = json.replace("SystemPrincipal", "PublicClientApp");
    assert_eq!(
        testdata::event(Format::Okta, &client).identity_type,
        IdentityType::Service
    );
}

#[test]
fn skips_policy_other_types_and_unfinished_outcomes() {
    let skip = |json: String| match decode_json(&json) {
        Ok(Decoded::Skipped(reason)) => reason,
        other => panic!("expected a skip from {json}, got {other:?}"),
    };
    assert_eq!(
        skip(record("policy.evaluate_sign_on", "ALLOW", "", "")),
        SKIP_POLICY
    );
    assert_eq!(
        skip(record("group.user_membership.add", "SUCCESS", "", "")),
        SKIP_OTHER
    );
    assert_eq!(
        skip(record("user.account.lock", "SUCCESS", "", "")),
        SKIP_OTHER
    );
    assert_eq!(
        skip(record("user.session.start", "CHALLENGE", "", "")),
        SKIP_OUTCOME
    );
    assert_eq!(
        skip(record(
            "user.authentication.auth_via_mfa",
            "UNKNOWN",
            "",
            ""
        )),
        SKIP_OUTCOME
    );
    // A skip needs no time, actor or outcome.
    assert_eq!(
        skip(r#"{"eventType":"app.user_management"}"#.to_string()),
        SKIP_OTHER
    );
}

#[test]
fn errors_name_the_field() {
    let huge = "x".repeat(MAX_ID_BYTES + 1);
    let cases = [
        (r#"{"published":"2024-05-01T10:00:00Z"}"#.to_string(), "`eventType`"),
        (r#"{"eventType":"user.session.start","outcome":{"result":"SUCCESS"},"actor":{"alternateId":"a"}}"#.to_string(), "`published`"),
        (r#"{"eventType":"user.session.start","published":"yesterday","actor":{"alternateId":"a"}}"#.to_string(), "`published`"),
        (r#"{"eventType":"user.session.start","published":"2024-05-01T10:00:00Z","outcome":{"result":"SUCCESS"}}"#.to_string(), "`actor.alternateId`"),
        (r#"{"eventType":"user.session.start","published":"2024-05-01T10:00:00Z","actor":{"alternateId":"a"}}"#.to_string(), "`outcome.result`"),
        (record("user.session.start", "SUCCESS", "", &format!(r#","authenticationContext":{{"externalSessionId":"{huge}"}}"#)), "`authenticationContext.externalSessionId`"),
        ("[1, 2]".to_string(), "not a JSON object"),
        ("42".to_string(), "not a JSON object"),
        ("{\"eventType\": ".to_string(), "malformed JSON"),
    ];
    for (json, field) in cases {
        let error = decode_json(&json).unwrap_err();
        assert_eq!(error.format, Format::Okta);
        assert!(error.to_string().contains(field), "{json} -> {error}");
    }
}

#[test]
fn wrong_json_types_read_as_absent() {
    let json = r#"{"eventType":"user.session.start","published":"2024-05-01T10:00:00Z","actor":{"alternateId":"alice","id":7},
        "client":{"ipAddress":"redacted","userAgent":"not an object","geographicalContext":{"country":"Germany","geolocation":{"lat":"52.5","lon":"13.4"}}},
        "request":{"ipChain":["junk",{"ip":"89.160.20.128:443"}]},"securityContext":{"asNumber":"3301"},"target":{"type":"AppInstance"},
        "device":[],"debugContext":{"debugData":"text"},"outcome":{"result":"success","reason":{"nested":true}}}"#;
    let event = testdata::event(Format::Okta, json);
    assert_eq!(
        event.ip,
        Some("89.160.20.128".parse().unwrap()),
        "`redacted` dropped, chain entry with a port used"
    );
    let geo = event.geo.clone().unwrap();
    assert_eq!(
        (geo.lat, geo.lon, geo.country.as_deref()),
        (Some(52.5), Some(13.4), Some("DE"))
    );
    assert_eq!(event.asn, Some(3301));
    assert_eq!(
        (
            event.user_agent.clone(),
            event.app.clone(),
            event.device_id.clone()
        ),
        (None, None, None)
    );
    assert_eq!(auth(&event).outcome, Outcome::Success);
}
