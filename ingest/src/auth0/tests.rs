//! Tests of the Auth0 decoder.

use super::*;
use crate::native::MAX_ID_BYTES;
use crate::testdata;
use crate::testdata::auth;
use vigil_schemas::Timestamp;

/// A shared sample file (see `shared/data/*/SOURCES.md`).
pub(crate) const SUCCESS_SAMPLES: &str =
    "elastic-integrations/auth0/test-login-success.first5.events.jsonl";
/// A shared sample file (see `shared/data/*/SOURCES.md`).
pub(crate) const FAILURE_SAMPLES: &str =
    "elastic-integrations/auth0/test-login-failure.events.jsonl";
/// A shared sample file (see `shared/data/*/SOURCES.md`).
pub(crate) const PANTHER_SAMPLES: &str = "panther-analysis/auth0_events.labeled.jsonl";

/// The reason of a record that must be skipped.
fn skipped(record: &str) -> &'static str {
    testdata::skipped(Format::Auth0, record)
}

/// The `log` of the Panther rule test whose name contains `test_name`.
fn panther_log(test_name: &str) -> Option<String> {
    let logs = testdata::panther_logs(PANTHER_SAMPLES)?;
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
    let raw_in_json = testdata::event(Format::Auth0, &format!(r#"{{"json":{}}}"#, record["data"]));
    assert_eq!(raw_in_json, stream);
}

#[test]
fn every_panther_log_decodes_or_skips() {
    let Some(logs) = testdata::panther_logs(PANTHER_SAMPLES) else {
        return;
    };
    assert_eq!(logs.len(), 57);
    let mut events = Vec::new();
    for (name, log) in &logs {
        match crate::decode(Format::Auth0, log.as_bytes()) {
            Ok(Decoded::Event(event)) => events.push((name.clone(), *event)),
            Ok(Decoded::Skipped(_)) => {}
            Ok(batch @ Decoded::Batch(_)) => panic!("{name}: unexpected {batch:?}"),
            Err(error) => panic!("{name}: {error}"),
        }
    }
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Auth0.Leaked.Password.Login.Attempt / FCOA Event",
            "Auth0.Limits / Limit WC Event",
            "Auth0.RefreshToken.Reuse / Auth0 Bot Detection Policy Disabled",
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

    let Some(reuse) = panther_log("Auth0.RefreshToken.Reuse / Auth0 Bot") else {
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

    // Coordinates off the globe are dropped; an alpha-3 code is still a country.
    let off_globe = r#"{"date":"2024-05-01T10:00:00Z","type":"s","user_name":"ann@example.com",
        "location_info":{"country_code":"GBR","city_name":"","latitude":95,"longitude":0}}"#;
    let geo = testdata::event(Format::Auth0, off_globe).geo.unwrap();
    assert_eq!(
        (geo.lat, geo.country.as_deref(), geo.city),
        (None, Some("GB"), None)
    );
    let unknown = off_globe.replace("GBR", "XX");
    assert_eq!(testdata::event(Format::Auth0, &unknown).geo, None);
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
        skipped(r#"{"date":"2024-05-01T10:00:00Z","type":"w","user_name":"a"}"#).contains("`w`")
    );
    assert!(skipped(r#"{"type":"gd_send_pn"}"#).contains("guardian"));
    assert!(skipped(r#"{"type":"some_future_code"}"#).contains("not an authentication event"));
    assert_eq!(
        skipped(r#"{"date":"2024-05-01T10:00:00Z","type":"limit_mu","ip":"1.2.3.4","user_id":""}"#),
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
    if let Some(logs) = testdata::panther_logs(PANTHER_SAMPLES) {
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
