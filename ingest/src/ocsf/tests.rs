//! Tests of the OCSF decoder.

use super::*;
use crate::testdata;
use crate::testdata::auth;
use std::path::{Path, PathBuf};

/// The OCSF project's examples, verbatim.
pub(crate) const EXAMPLES: &str = "ocsf/examples";
/// How the OCSF events among the examples are named (the rest are raw vendor records,
/// mapping code and documentation).
pub(crate) const EXAMPLE_SUFFIXES: [&str; 3] = [".ocsf", "OCSF_authentication.json", "_0.json"];
/// Okta `user.session.start` mapped to OCSF 1.3.0.
const OKTA_OCSF: &str = "ocsf/examples/mappings/markdown/Okta/v1.3.0/System Logs/Authentication/samples/authentication.ocsf";
/// The raw Okta record the Okta example was mapped from.
const OKTA_RAW: &str = "ocsf/examples/mappings/markdown/Okta/v1.3.0/System Logs/Authentication/samples/authentication.raw";
/// Windows 4625, a failed logon, OCSF 1.0.0-rc.2.
const WINDOWS_4625: &str =
    "ocsf/examples/mappings/markdown/Microsoft/Windows Events/4625/4625_0.json";
/// Windows 4624, a service logon.
const WINDOWS_4624: &str =
    "ocsf/examples/mappings/markdown/Microsoft/Windows Events/4624/4624_0.json";
/// AWS CloudTrail `ConsoleLogin` in OCSF 1.1.0 (bloblang mapping).
const AWS_1_1: &str =
    "ocsf/examples/mappings/bloblang/AWS/CloudTrail/v1.1.0/Authentication/OCSF_authentication.json";
/// The same login in 1.1.0 without `status_id`.
const AWS_1_1_MARKDOWN: &str = "ocsf/examples/mappings/markdown/AWS/v1.1.0/CloudTrail/Authentication/samples/authentication.ocsf";
/// The same login in 1.0.0-rc.2.
const AWS_RC2: &str = "ocsf/examples/mappings/markdown/AWS/v1.0.0-rc.2/CloudTrail/Authentication/samples/authentication.ocsf";
/// Upstream has a trailing comma after `api.service`: not JSON.
pub(crate) const AWS_1_5_BROKEN: &str =
    "mappings/markdown/AWS/v1.5.0/CloudTrail/Authentication/samples/authentication.ocsf";
/// GitHub `business.sso_response`: a logon with neither `status_id` nor `status`.
const GITHUB: &str = "ocsf/examples/mappings/markdown/GitHub/v1.3.0/Github Audit Logs/Authentication/samples/authentication.ocsf";

/// A whole shared sample file (the examples are pretty-printed, one record a file).
fn read(relative: &str) -> Option<String> {
    Some(std::fs::read_to_string(testdata::shared(relative)?).expect("sample readable"))
}

/// A timestamp from RFC 3339 text.
fn time(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// Decodes through the crate's entry point, as replay does.
fn decode_json(json: &str) -> Result<Decoded, DecodeError> {
    crate::decode(Format::Ocsf, json.as_bytes())
}

/// A minimal Authentication event with extra fields, for synthetic cases.
fn record(extra: &str) -> String {
    format!(r#"{{"class_uid":3002,"time":1714557600000,"user":{{"name":"alice"}}{extra}}}"#)
}

/// Every file under `dir` whose name ends with one of `suffixes`, sorted.
pub(crate) fn files(dir: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(folder).expect("examples readable") {
            let path = entry.expect("entry readable").path();
            if path.is_dir() {
                pending.push(path);
            } else if suffixes
                .iter()
                .any(|suffix| path.to_string_lossy().ends_with(suffix))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn okta_example_decodes_field_by_field() {
    let Some(text) = read(OKTA_OCSF) else { return };
    let event = testdata::event(Format::Ocsf, &text);
    // `time` is 1723564700: seconds, not the schema's milliseconds.
    assert_eq!(event.time, time("2024-08-13T15:58:20Z"));
    assert_eq!(
        event.identity.as_deref(),
        Some("john.doe@example.com"),
        "`user.email_addr` before `user.name`"
    );
    assert_eq!(event.identity_type, IdentityType::User);
    assert_eq!(
        event.session_id.as_deref(),
        Some("idxBager62CSveUkTxvgRtonA"),
        "`actor.session.uid`"
    );
    assert_eq!(event.device_id.as_deref(), Some("guofdhyjex1feOgbN1d9"));
    assert_eq!(event.ip, Some("10.0.0.1".parse().unwrap()));
    let geo = event.geo.clone().unwrap();
    // `location.country` is "United States", a name where the schema wants alpha-2.
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
        event.app, None,
        "no `service`; `dst_endpoint.svc_name` is a URL path"
    );
    assert_eq!(
        event.event_id.as_deref(),
        Some("dc9fd3c0-598c-11ef-8478-2b7584bf8d5a")
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
fn okta_example_agrees_with_its_raw_okta_record() {
    let (Some(mapped), Some(raw)) = (read(OKTA_OCSF), read(OKTA_RAW)) else {
        return;
    };
    let from_ocsf = testdata::event(Format::Ocsf, &mapped);
    let from_okta = testdata::event(Format::Okta, &raw);
    // The mapping truncated the time to seconds and left the targets (the app) unmapped.
    assert_eq!(from_okta.time.as_secs(), from_ocsf.time.as_secs());
    assert_eq!(from_okta.app.as_deref(), Some("Okta Admin Console"));
    let comparable = |event: &Event| Event {
        time: Timestamp(0),
        app: None,
        ..event.clone()
    };
    assert_eq!(comparable(&from_ocsf), comparable(&from_okta));
}

#[test]
fn windows_failed_logon_field_by_field() {
    let Some(text) = read(WINDOWS_4625) else {
        return;
    };
    let event = testdata::event(Format::Ocsf, &text);
    assert_eq!(event.time, time("2020-10-08T16:41:47Z"));
    // The subject is `user`, not the `actor.user` "-" of the requesting process.
    assert_eq!(
        event.identity.as_deref(),
        Some("EC2AMAZ-6KJ2BPP\\Administrator")
    );
    assert_eq!(event.identity_type, IdentityType::User);
    assert_eq!(
        event.session_id.as_deref(),
        Some("0x0"),
        "`actor.session.uid`, the caller's logon id"
    );
    assert_eq!(
        event.device_id.as_deref(),
        Some("EC2AMAZ-6KJ2BPP"),
        "`device.hostname`"
    );
    assert_eq!(event.ip, None, "`src_endpoint.ip` is \"-\"");
    assert_eq!(
        (
            event.geo.clone(),
            event.asn,
            event.user_agent.clone(),
            event.app.clone()
        ),
        (None, None, None, None)
    );
    assert_eq!(
        event.event_id.as_deref(),
        Some("a738d6e6-4ebd-49bb-805e-45d0604a1bef")
    );
    let detail = auth(&event);
    assert_eq!(
        (detail.action, detail.outcome, detail.factor.as_deref()),
        (AuthAction::Login, Outcome::Failure, None)
    );
    assert_eq!(
        detail.reason.as_deref(),
        Some("Unknown user name or bad password.")
    );
}

#[test]
fn windows_service_logon_is_a_service_identity() {
    let Some(text) = read(WINDOWS_4624) else {
        return;
    };
    let event = testdata::event(Format::Ocsf, &text);
    assert_eq!(event.time, time("2021-03-12T15:48:14Z"));
    assert_eq!(event.identity.as_deref(), Some("NT AUTHORITY\\SYSTEM"));
    assert_eq!(
        event.identity_type,
        IdentityType::Service,
        "`logon_type_id` 5, OS Service"
    );
    assert_eq!(
        event.session_id.as_deref(),
        Some("0x3E7"),
        "`session.uid` before `actor.session.uid`"
    );
    assert_eq!(
        event.device_id.as_deref(),
        Some("win-dc-725.attackrange.local")
    );
    assert_eq!(
        (auth(&event).action, auth(&event).outcome),
        (AuthAction::Login, Outcome::Success)
    );
}

#[test]
fn aws_console_logins_across_schema_versions() {
    let Some(text) = read(AWS_1_1) else { return };
    let event = testdata::event(Format::Ocsf, &text);
    assert_eq!(event.time, time("2023-11-10T16:24:34Z"));
    assert_eq!(
        event.identity.as_deref(),
        Some("arn:aws:iam::111122223333:user/anaya"),
        "`user.uid`"
    );
    assert_eq!(event.ip, Some("192.0.2.0".parse().unwrap()));
    assert!(event
        .user_agent
        .as_deref()
        .unwrap()
        .contains("Chrome/67.0.3396.99"));
    assert_eq!(
        event.event_id.as_deref(),
        Some("fed06f42-cb12-4764-8c69-example")
    );
    assert_eq!(
        event.app, None,
        "`api.service.name` is the API, not a service signed in to"
    );
    let detail = auth(&event);
    assert_eq!(
        (detail.action, detail.outcome, detail.factor.as_deref()),
        (AuthAction::Login, Outcome::Success, Some("mfa"))
    );
    // No `status_id`: `status` "Success" says it.
    let Some(markdown) = read(AWS_1_1_MARKDOWN) else {
        return;
    };
    let event = testdata::event(Format::Ocsf, &markdown);
    assert_eq!(
        (auth(&event).outcome, event.time),
        (Outcome::Success, time("2023-11-10T16:24:34Z"))
    );
    // 1.0.0-rc.2: `mfa` instead of `is_mfa`, `user.uid` is the principal id.
    let Some(candidate) = read(AWS_RC2) else {
        return;
    };
    let event = testdata::event(Format::Ocsf, &candidate);
    assert_eq!(event.time, time("2022-11-10T16:24:34Z"));
    assert_eq!(event.identity.as_deref(), Some("AIDACKCEVSQ6C2EXAMPLE"));
    assert_eq!(auth(&event).factor.as_deref(), Some("mfa"));
    assert_eq!(
        event.event_id.as_deref(),
        Some("fed06f42-cb12-4764-8c69-121063dc79b9")
    );
}

#[test]
fn auto_detection_routes_examples_here() {
    for relative in [OKTA_OCSF, WINDOWS_4625, AWS_1_1] {
        let Some(text) = read(relative) else { return };
        assert_eq!(
            crate::detect(text.as_bytes()),
            Ok(Format::Ocsf),
            "{relative}"
        );
        assert_eq!(
            crate::decode(Format::Auto, text.as_bytes()),
            decode_json(&text)
        );
    }
}

#[test]
fn github_sso_without_status_is_skipped() {
    let Some(text) = read(GITHUB) else { return };
    assert_eq!(decode_json(&text), Ok(Decoded::Skipped(SKIP_OUTCOME)));
}

#[test]
fn every_example_decodes_skips_or_is_the_broken_one() {
    let Some(root) = testdata::shared(EXAMPLES) else {
        return;
    };
    let (mut events, mut skipped, mut broken) = (0, 0, 0);
    for path in files(&root, &EXAMPLE_SUFFIXES) {
        let text = std::fs::read_to_string(&path).expect("example readable");
        let name = path.to_string_lossy().to_string();
        match decode_json(&text) {
            Ok(Decoded::Event(event)) => {
                assert!(event.identity.is_some(), "{name}");
                events += 1;
            }
            Ok(Decoded::Skipped(_)) => skipped += 1,
            Ok(batch @ Decoded::Batch(_)) => panic!("{name}: unexpected {batch:?}"),
            Err(error) if name.ends_with(AWS_1_5_BROKEN) => {
                assert!(
                    error
                        .reason
                        .starts_with("malformed JSON: key must be a string"),
                    "{error}"
                );
                broken += 1;
            }
            Err(error) => panic!("{name}: {error}"),
        }
    }
    assert_eq!((events, skipped, broken), (10, 1, 1));
}

#[test]
fn activities_map_to_actions() {
    let action_of = |activity: i64| match decode_json(&record(&format!(
        r#","activity_id":{activity},"status_id":1"#
    ))) {
        Ok(Decoded::Event(event)) => Ok(event.auth().unwrap().action),
        Ok(Decoded::Skipped(reason)) => Err(reason),
        Ok(batch @ Decoded::Batch(_)) => panic!("unexpected {batch:?}"),
        Err(error) => panic!("{error}"),
    };
    assert_eq!(action_of(1), Ok(AuthAction::Login));
    assert_eq!(action_of(2), Ok(AuthAction::Logout));
    assert_eq!(action_of(3), Ok(AuthAction::Login));
    assert_eq!(action_of(4), Ok(AuthAction::TokenRefresh));
    assert_eq!(action_of(5), Ok(AuthAction::TokenRefresh));
    assert_eq!(action_of(6), Ok(AuthAction::Login));
    assert_eq!(action_of(7), Err(SKIP_ACCOUNT_SWITCH));
    assert_eq!(action_of(0), Err(SKIP_ACTIVITY));
    assert_eq!(action_of(99), Err(SKIP_ACTIVITY));
}

#[test]
fn status_and_reason() {
    let detail = |extra: &str| {
        testdata::event(Format::Ocsf, &record(extra))
            .auth()
            .unwrap()
            .clone()
    };
    let failed = detail(
        r#","activity_id":1,"status_id":2,"status":"Failure","status_code":"INVALID_CREDENTIALS""#,
    );
    assert_eq!(
        (failed.outcome, failed.reason.as_deref()),
        (Outcome::Failure, Some("INVALID_CREDENTIALS"))
    );
    let denied = detail(r#","activity_id":1,"status_id":99,"status":"Denied""#);
    assert_eq!(
        (denied.outcome, denied.reason.as_deref()),
        (Outcome::Denied, Some("Denied"))
    );
    let bare = detail(r#","activity_id":1,"status_id":2,"status":"Failure""#);
    assert_eq!(bare.reason, None, "a caption is no reason");
    let succeeded = detail(r#","activity_id":1,"status_id":1,"status_detail":"LOGON_OK""#);
    assert_eq!(
        (succeeded.outcome, succeeded.reason),
        (Outcome::Success, None)
    );
    let logoff = detail(r#","activity_id":2"#);
    assert_eq!(
        (logoff.action, logoff.outcome),
        (AuthAction::Logout, Outcome::Success)
    );
    assert_eq!(
        decode_json(&record(r#","activity_id":1,"status_id":0"#)),
        Ok(Decoded::Skipped(SKIP_OUTCOME))
    );
}

#[test]
fn time_units_range_and_fallback() {
    let time_of = |time_fields: &str| {
        let json = format!(
            r#"{{"class_uid":3002,"activity_id":1,"status_id":1,"user":{{"name":"a"}}{time_fields}}}"#
        );
        decode_json(&json).map(|decoded| match decoded {
            Decoded::Event(event) => event.time,
            Decoded::Skipped(reason) => panic!("{reason}"),
            batch @ Decoded::Batch(_) => panic!("unexpected {batch:?}"),
        })
    };
    assert_eq!(
        time_of(r#","time":1699633474123"#),
        Ok(time("2023-11-10T16:24:34.123Z"))
    );
    assert_eq!(
        time_of(r#","time":1699633474"#),
        Ok(time("2023-11-10T16:24:34Z"))
    );
    assert_eq!(
        time_of(r#","time":"1699633474123""#),
        Ok(time("2023-11-10T16:24:34.123Z"))
    );
    assert_eq!(
        time_of(r#","time_dt":"2023-11-10T11:24:34.000-05:00""#),
        Ok(time("2023-11-10T16:24:34Z"))
    );
    let errors = [
        (r#""#, "missing field `time`"),
        (r#","time_dt":"last tuesday""#, "invalid field `time_dt`"),
        (r#","time":1e300"#, "invalid field `time`"),
        (r#","time":-1e18"#, "invalid field `time`"),
    ];
    for (fields, reason) in errors {
        let error = time_of(fields).unwrap_err();
        assert!(error.reason.contains(reason), "{fields} -> {error}");
    }
    assert_eq!(time("0001-01-01T00:00:00Z").0 as f64, MIN_MICROS);
    assert_eq!(time("9999-12-31T23:59:59.999999Z").0 as f64, MAX_MICROS);
}

#[test]
fn auth_factors_and_identity_choices() {
    let event = |extra: &str| {
        testdata::event(
            Format::Ocsf,
            &record(&format!(r#","activity_id":1,"status_id":1{extra}"#)),
        )
    };
    let factors = r#","auth_factors":[{"factor_type":"Password","factor_type_id":11},{"factor_type":"Push Notification","factor_type_id":5}]"#;
    assert_eq!(
        auth(&event(factors)).factor.as_deref(),
        Some("push"),
        "the second factor"
    );
    let only_password = r#","auth_factors":[{"factor_type_id":11}],"is_mfa":false"#;
    assert_eq!(
        auth(&event(only_password)).factor.as_deref(),
        Some("password")
    );
    let vendor = r#","auth_factors":["junk",{"factor_type":"YubiKey Bio","factor_type_id":99}]"#;
    assert_eq!(auth(&event(vendor)).factor.as_deref(), Some("yubikey bio"));
    assert_eq!(auth(&event("")).factor, None);

    let json = r#"{"class_uid":3002,"activity_id":1,"status_id":1,"time":1,"actor":{"user":{"uid":"S-1-5-21","name":"-"}},"user":{"name":"unknown"}}"#;
    let fallback = testdata::event(Format::Ocsf, json);
    assert_eq!(
        fallback.identity.as_deref(),
        Some("S-1-5-21"),
        "`user` has no usable id, `actor.user` does"
    );
    let machine = r#"{"class_uid":3002,"activity_id":1,"status_id":1,"time":1,"user":{"name":"HOST1$","domain":"CORP"}}"#;
    let machine = testdata::event(Format::Ocsf, machine);
    assert_eq!(
        (machine.identity.as_deref(), machine.identity_type),
        (Some("CORP\\HOST1$"), IdentityType::Service)
    );
    let admin = r#"{"class_uid":3002,"activity_id":1,"status_id":1,"time":1,"user":{"email_addr":"root@example.com","type_id":2}}"#;
    assert_eq!(
        testdata::event(Format::Ocsf, admin).identity_type,
        IdentityType::User
    );
}

#[test]
fn source_endpoint_location_and_service() {
    let json = r#"{"class_uid":3002,"activity_id":1,"status_id":1,"time":1714557600000,"user":{"email_addr":"a@example.com"},
        "src_endpoint":{"ip":"89.160.20.128","location":{"coordinates":[15.62,58.41],"country":"SE","city":"Linköping"},"autonomous_system":{"number":29518}},
        "service":{"name":"Salesforce"},"session":{"uid":"s-1"},"device":{"uid":"d-1","hostname":"laptop"},"http_request":{"user_agent":"curl/8"}}"#;
    let event = testdata::event(Format::Ocsf, json);
    assert_eq!(event.ip, Some("89.160.20.128".parse().unwrap()));
    let geo = event.geo.clone().unwrap();
    assert_eq!(
        (
            geo.lat,
            geo.lon,
            geo.city.as_deref(),
            geo.country.as_deref()
        ),
        (Some(58.41), Some(15.62), Some("Linköping"), Some("SE"))
    );
    assert_eq!(event.asn, Some(29518));
    assert_eq!(event.app.as_deref(), Some("Salesforce"));
    assert_eq!(
        (event.session_id.as_deref(), event.device_id.as_deref()),
        (Some("s-1"), Some("d-1"))
    );
    assert_eq!(event.user_agent.as_deref(), Some("curl/8"));
    let named = json
        .replace(r#""country":"SE""#, r#""country":"Sweden""#)
        .replace(
            r#""coordinates":[15.62,58.41]"#,
            r#""lat":"58.41","long":15.62"#,
        );
    let geo = testdata::event(Format::Ocsf, &named).geo.unwrap();
    assert_eq!(
        (geo.lat, geo.lon, geo.country.as_deref()),
        (Some(58.41), Some(15.62), Some("SE"))
    );
}

#[test]
fn skips_other_classes_and_errors_name_the_field() {
    assert_eq!(
        decode_json(r#"{"class_uid":3001,"activity_id":1}"#),
        Ok(Decoded::Skipped(SKIP_CLASS))
    );
    assert_eq!(
        decode_json(r#"{"class_uid":"4001"}"#),
        Ok(Decoded::Skipped(SKIP_CLASS))
    );
    let huge = "x".repeat(crate::native::MAX_ID_BYTES + 1);
    let cases = [
        (
            r#"{"activity_id":1}"#.to_string(),
            "missing field `class_uid`",
        ),
        (
            r#"{"class_uid":3002,"status_id":1}"#.to_string(),
            "missing field `activity_id`",
        ),
        (
            r#"{"class_uid":3002,"activity_id":1,"status_id":1,"time":1,"user":{"name":"-"}}"#
                .to_string(),
            "missing field `user`",
        ),
        (
            record(&format!(
                r#","activity_id":1,"status_id":1,"session":{{"uid":"{huge}"}}"#
            )),
            "invalid field `session.uid`",
        ),
        ("[3002]".to_string(), "not a JSON object"),
        ("{\"class_uid\":".to_string(), "malformed JSON"),
    ];
    for (json, reason) in cases {
        let error = decode_json(&json).unwrap_err();
        assert_eq!(error.format, Format::Ocsf);
        assert!(error.reason.contains(reason), "{json} -> {error}");
    }
}
