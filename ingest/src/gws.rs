//! Decoder for Google Workspace Reports API activities of the `login` application.
//!
//! An activity (`kind: admin#reports#activity`) names its application, time and id in `id`,
//! its subject in `actor` and carries one or more `events`, each a `{type, name,
//! parameters}`. The API writes `events` as an array; Elastic's pipeline fixtures as one
//! object. Panther's `GSuite.ActivityEvent` flattens one event into the activity
//! (`type`, `name` and `parameters` at the top, parameters as a `name -> value` object)
//! and keeps its own event time in `p_event_time`; that shape is read too.
//!
//! Of an activity with several events, the first sign-in event of interest is decoded:
//! `login_success`, `login_failure`, `login_challenge`, `login_verification`, `logout`.
//! Account warnings (`suspicious_login*`, `account_disabled_*`, `gov_attack_warning`), risky
//! sensitive action verdicts and every other application are skipped with a reason.
//!
//! The activity is read with [`crate::vendor`]'s value readers; a country (`regionCode`) is
//! kept only when it is a real ISO 3166-1 code, as for every vendor.

use crate::decode::{present, DecodeError, Decoded, Format};
use crate::vendor::{
    address, asn, bounded_id, event_time, field, geo, integer, normalize_factor, object,
    parse_object, required_string, string, text,
};
use serde_json::Value;
use vigil_schemas::{
    AuthAction, AuthDetail, CompactString, Detail, Event, Geo, IdentityType, Outcome,
};

/// The format named in this decoder's errors.
const FORMAT: Format = Format::Gws;

/// The `app` of every event: the sign-in is to Google Workspace itself.
const APP: &str = "google-workspace";

/// The only Reports API application this decoder reads.
const LOGIN_APPLICATION: &str = "login";

/// Why an activity of another application is skipped.
const OTHER_APPLICATION: &str = "google workspace activity of an application other than `login`";

/// Why a sign-in without a subject is skipped.
const NO_USER: &str = "google workspace sign-in names no user (`actor.email`)";

/// What a `login` event name means to vigil.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Meaning {
    /// A sign-in event; the outcome of challenges comes from `login_challenge_status`.
    Auth(AuthAction),
    /// Anything else, with the reason it is skipped.
    Skip(&'static str),
}

/// Maps a `login` event name (see Google's "Login Audit activity events") to what vigil
/// makes of it.
fn classify(name: &str) -> Meaning {
    match name {
        "login_success" | "login_failure" => Meaning::Auth(AuthAction::Login),
        "login_challenge" | "login_verification" => Meaning::Auth(AuthAction::Mfa),
        "logout" => Meaning::Auth(AuthAction::Logout),
        // Google's after-the-fact verdicts on a sign-in already logged as `login_success`
        // (with `is_suspicious`): decoding them would count the sign-in twice.
        "suspicious_login"
        | "suspicious_login_less_secure_app"
        | "suspicious_programmatic_login" => Meaning::Skip(
            "google workspace suspicious-login warning about an earlier sign-in, not an attempt",
        ),
        "gov_attack_warning" => {
            Meaning::Skip("google workspace government-backed attack warning, not an attempt")
        }
        "risky_sensitive_action_allowed" | "risky_sensitive_action_blocked" => {
            Meaning::Skip("google workspace verdict on a sensitive action, not a sign-in")
        }
        other if other.starts_with("account_disabled_") => {
            Meaning::Skip("google workspace account-disabled warning, not an attempt")
        }
        _ => Meaning::Skip("google workspace `login` event that is not a sign-in of interest"),
    }
}

/// The events of an activity: the `events` array or object, else the activity itself when
/// Panther flattened one event into it.
fn events(activity: &Value) -> Result<Vec<&Value>, DecodeError> {
    match field(activity, "events") {
        Some(Value::Array(items)) => {
            if items.is_empty() {
                return Err(DecodeError::invalid(
                    FORMAT,
                    "events",
                    "no event in the activity",
                ));
            }
            if !items.iter().all(Value::is_object) {
                return Err(DecodeError::invalid(FORMAT, "events", "expected objects"));
            }
            Ok(items.iter().collect())
        }
        Some(single @ Value::Object(_)) => Ok(vec![single]),
        Some(Value::Null) | None
            if field(activity, "name").is_some() || field(activity, "type").is_some() =>
        {
            Ok(vec![activity])
        }
        Some(Value::Null) | None => Err(DecodeError::missing(FORMAT, "events")),
        Some(_) => Err(DecodeError::invalid(
            FORMAT,
            "events",
            "expected an array or an object",
        )),
    }
}

/// What an activity holds for vigil.
enum Choice<'a> {
    /// Its first sign-in event of interest, with the event's name and action.
    SignIn(&'a Value, &'a str, AuthAction),
    /// No sign-in event of interest: the reason the first event is skipped.
    Skip(&'static str),
}

/// The first event of interest of an activity, or the reason its first event is skipped.
fn first_of_interest<'a>(events: &[&'a Value], flattened: bool) -> Result<Choice<'a>, DecodeError> {
    let name_prefix = if flattened { "" } else { "events." };
    let mut first_skip = None;
    for event in events {
        let name = required_string(FORMAT, event, name_prefix, "name")?;
        match classify(name) {
            Meaning::Auth(action) => return Ok(Choice::SignIn(event, name, action)),
            Meaning::Skip(reason) => {
                first_skip.get_or_insert(reason);
            }
        }
    }
    Ok(Choice::Skip(first_skip.unwrap_or(
        "google workspace activity without a sign-in event",
    )))
}

/// Every string value of a parameter, as written, whether the API wrote it (`[{name, value
/// | multiValue | intValue | boolValue}]`) or Panther did (`{name: value}`).
fn parameter<'a>(event: &'a Value, wanted: &str) -> Vec<&'a str> {
    let value = match field(event, "parameters") {
        Some(Value::Array(parameters)) => parameters
            .iter()
            .find(|parameter| string(field(parameter, "name")) == Some(wanted))
            .and_then(|parameter| {
                field(parameter, "value").or_else(|| field(parameter, "multiValue"))
            }),
        Some(parameters @ Value::Object(_)) => field(parameters, wanted),
        _ => None,
    };
    match value {
        Some(Value::String(single)) => vec![single.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The factor of an event: for sign-ins the login type (`google_password`, `saml`,
/// `exchange`, ...) else the first challenge method; for challenges the first method other
/// than the password the challenge follows.
fn factor(event: &Value, action: AuthAction) -> Option<CompactString> {
    let methods = parameter(event, "login_challenge_method");
    let mut method_factors = methods.iter().filter_map(|method| normalize_factor(method));
    match action {
        AuthAction::Login => parameter(event, "login_type")
            .first()
            .and_then(|login_type| normalize_factor(login_type))
            .or_else(|| method_factors.next()),
        AuthAction::Mfa => {
            let all: Vec<CompactString> = method_factors.collect();
            let second = all.iter().find(|factor| factor.as_str() != "password");
            second.or(all.first()).cloned()
        }
        AuthAction::Logout | AuthAction::TokenRefresh => None,
    }
}

/// The outcome of a challenge from `login_challenge_status` (`Challenge Passed.`, `passed`,
/// `Challenge Failed`).
fn challenge_outcome(event: &Value) -> Result<Outcome, DecodeError> {
    let Some(status) = parameter(event, "login_challenge_status").first().copied() else {
        return Err(DecodeError::missing(FORMAT, "login_challenge_status"));
    };
    let normalised = status.trim().trim_end_matches('.').to_ascii_lowercase();
    let verdict = normalised.strip_prefix("challenge ").unwrap_or(&normalised);
    match verdict {
        "passed" => Ok(Outcome::Success),
        "failed" => Ok(Outcome::Failure),
        _ => Err(DecodeError::invalid(
            FORMAT,
            "login_challenge_status",
            format!("`{status}` is neither `Challenge Passed` nor `Challenge Failed`"),
        )),
    }
}

/// How the event ended, and Google's reason for a failed sign-in (`login_failure_type`).
fn outcome_and_reason(
    event: &Value,
    name: &str,
    action: AuthAction,
) -> Result<(Outcome, Option<String>), DecodeError> {
    match (action, name) {
        (AuthAction::Mfa, _) => Ok((challenge_outcome(event)?, None)),
        (_, "login_failure") => {
            let reason = parameter(event, "login_failure_type")
                .first()
                .and_then(|reason| present(Some(reason)));
            Ok((Outcome::Failure, reason))
        }
        _ => Ok((Outcome::Success, None)),
    }
}

/// The subject: the actor's email, or the OAuth client key of an API caller.
fn identity(activity: &Value) -> Result<Option<(CompactString, IdentityType)>, DecodeError> {
    let Some(actor) = field(activity, "actor").filter(|actor| actor.is_object()) else {
        return Ok(None);
    };
    let identity_type = if string(field(actor, "callerType")) == Some("KEY") {
        IdentityType::Service
    } else {
        IdentityType::User
    };
    let Some((identity, field_name)) = string(field(actor, "email"))
        .map(|email| (email, "actor.email"))
        .or_else(|| string(field(actor, "key")).map(|key| (key, "actor.key")))
    else {
        return Ok(None);
    };
    let identity = bounded_id(FORMAT, Some(identity), field_name)?;
    Ok(identity.map(|identity| (identity, identity_type)))
}

/// The country and autonomous system Google reports for the address (`networkInfo`).
fn network(activity: &Value) -> (Option<Geo>, Option<u32>) {
    let Some(info) = field(activity, "networkInfo").filter(|info| info.is_object()) else {
        return (None, None);
    };
    let region = string(field(info, "regionCode"));
    let autonomous_system = field(info, "ipAsn")
        .and_then(Value::as_array)
        .and_then(|numbers| {
            numbers
                .iter()
                .find_map(|number| integer(Some(number)).and_then(asn))
        });
    (geo(None, None, None, region), autonomous_system)
}

/// Decodes one Google Workspace Reports API activity.
pub(crate) fn decode(record: &[u8]) -> Result<Decoded, DecodeError> {
    let activity = parse_object(FORMAT, record)?;
    let id =
        object(FORMAT, &activity, "", "id")?.ok_or_else(|| DecodeError::missing(FORMAT, "id"))?;
    if required_string(FORMAT, id, "id.", "applicationName")? != LOGIN_APPLICATION {
        return Ok(Decoded::Skipped(OTHER_APPLICATION));
    }
    let events = events(&activity)?;
    let flattened = !matches!(
        field(&activity, "events"),
        Some(Value::Array(_) | Value::Object(_))
    );
    let (event, name, action) = match first_of_interest(&events, flattened)? {
        Choice::SignIn(event, name, action) => (event, name, action),
        Choice::Skip(reason) => return Ok(Decoded::Skipped(reason)),
    };
    let time = event_time(
        FORMAT,
        "id.time",
        string(field(id, "time")),
        string(field(&activity, "p_event_time")),
    )?;
    let Some((identity, identity_type)) = identity(&activity)? else {
        return Ok(Decoded::Skipped(NO_USER));
    };
    let ip = address(FORMAT, string(field(&activity, "ipAddress")), "ipAddress")?;
    let (outcome, reason) = outcome_and_reason(event, name, action)?;
    let (location, autonomous_system) = network(&activity);
    Ok(Decoded::Event(Box::new(Event {
        time,
        identity: Some(identity),
        identity_type,
        session_id: None,
        device_id: None,
        ip,
        geo: location,
        asn: autonomous_system,
        user_agent: None,
        app: Some(CompactString::from(APP)),
        event_id: text(field(id, "uniqueQualifier")),
        detail: Detail::Auth(AuthDetail {
            action,
            outcome,
            factor: factor(event, action),
            reason,
        }),
    })))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::native::MAX_ID_BYTES;
    use crate::testdata;
    use crate::testdata::auth;
    use vigil_schemas::Timestamp;

    /// A shared sample file (see `shared/data/*/SOURCES.md`).
    pub(crate) const ELASTIC_SAMPLES: &str = "elastic-integrations/google_workspace/test-login.log";
    /// A shared sample file (see `shared/data/*/SOURCES.md`).
    pub(crate) const PANTHER_SAMPLES: &str =
        "panther-analysis/gsuite_activityevent_login.labeled.jsonl";

    /// The reason of a record that must be skipped.
    fn skipped(record: &str) -> &'static str {
        testdata::skipped(Format::Gws, record)
    }

    #[test]
    fn decodes_elastic_login_failure_field_by_field() {
        let Some(lines) = testdata::lines(ELASTIC_SAMPLES) else {
            return;
        };
        assert_eq!(lines.len(), 17);
        let event = testdata::event(Format::Gws, &lines[9]);
        assert_eq!(
            event.time,
            Timestamp::parse("2020-10-02T15:00:00Z").unwrap()
        );
        assert_eq!(event.identity.as_deref(), Some("foo@bar.com"));
        assert_eq!(event.identity_type, IdentityType::User);
        assert_eq!(event.ip, Some("67.43.156.13".parse().unwrap()));
        assert_eq!(event.event_id.as_deref(), Some("1"));
        assert_eq!(event.app.as_deref(), Some("google-workspace"));
        assert_eq!(
            (
                event.session_id.as_deref(),
                event.device_id.as_deref(),
                event.user_agent.as_deref()
            ),
            (None, None, None)
        );
        assert_eq!((event.geo.as_ref(), event.asn), (None, None));
        let detail = auth(&event);
        assert_eq!(
            (detail.action, detail.outcome),
            (AuthAction::Login, Outcome::Failure)
        );
        assert_eq!(detail.factor.as_deref(), Some("exchange"));
        assert_eq!(
            detail.reason.as_deref(),
            Some("login_failure_access_code_disallowed")
        );
    }

    #[test]
    fn decodes_elastic_sign_ins_challenges_and_logout() {
        let Some(lines) = testdata::lines(ELASTIC_SAMPLES) else {
            return;
        };
        let expected = [
            (10, AuthAction::Mfa, Outcome::Success, Some("backup_code")),
            (11, AuthAction::Mfa, Outcome::Success, Some("backup_code")),
            (12, AuthAction::Logout, Outcome::Success, None),
            (13, AuthAction::Login, Outcome::Success, Some("exchange")),
            (14, AuthAction::Login, Outcome::Success, Some("password")),
        ];
        for (index, action, outcome, factor) in expected {
            let event = testdata::event(Format::Gws, &lines[index]);
            let detail = auth(&event);
            assert_eq!(
                (detail.action, detail.outcome, detail.factor.as_deref()),
                (action, outcome, factor),
                "line {index}"
            );
            assert_eq!(detail.reason, None, "line {index}");
            assert_eq!(
                event.identity.as_deref(),
                Some("foo@bar.com"),
                "line {index}"
            );
        }
        // The API's own shape: string ids, `multiValue`, lowercase status.
        let security_key = testdata::event(Format::Gws, &lines[16]);
        assert_eq!(
            security_key.time,
            Timestamp::parse("2025-02-27T05:59:58.481Z").unwrap()
        );
        assert_eq!(
            security_key.identity.as_deref(),
            Some("tl.zeous.daclitan@company.com")
        );
        assert_eq!(security_key.ip, Some("81.2.69.144".parse().unwrap()));
        assert_eq!(security_key.event_id.as_deref(), Some("123"));
        let detail = auth(&security_key);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::Mfa, Outcome::Success, Some("webauthn"))
        );
    }

    #[test]
    fn skips_elastic_account_warnings() {
        let Some(lines) = testdata::lines(ELASTIC_SAMPLES) else {
            return;
        };
        let expected = [
            (0, "account-disabled"),
            (1, "suspicious-login"),
            (2, "suspicious-login"),
            (3, "suspicious-login"),
            (4, "account-disabled"),
            (5, "account-disabled"),
            (6, "account-disabled"),
            (7, "account-disabled"),
            (8, "government-backed"),
            (15, "sensitive action"),
        ];
        for (index, words) in expected {
            assert!(skipped(&lines[index]).contains(words), "line {index}");
        }
    }

    #[test]
    fn every_panther_log_decodes_skips_or_names_what_is_missing() {
        let Some(logs) = testdata::panther_logs(PANTHER_SAMPLES) else {
            return;
        };
        assert_eq!(logs.len(), 23);
        let mut events = Vec::new();
        for (name, log) in &logs {
            match crate::decode(Format::Gws, log.as_bytes()) {
                Ok(Decoded::Event(event)) => events.push((name.as_str(), *event)),
                Ok(Decoded::Skipped(_)) => {}
                Ok(batch @ Decoded::Batch(_)) => panic!("{name}: unexpected {batch:?}"),
                // Panther's hand-written rule fixtures often keep only the fields a rule
                // reads: without an event time (or an event name) a record cannot be judged.
                Err(error) => assert!(
                    error.reason == "missing field `id.time`"
                        || error.reason == "missing field `name`",
                    "{name}: {error}"
                ),
            }
        }
        let names: Vec<&str> = events.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "Standard.BruteForceByIP / GSuite - Failed Login Event",
                "Standard.BruteForceByUser / GSuite - Failed Login Event"
            ]
        );
        let (_, failure) = &events[0];
        assert_eq!(
            failure.time,
            Timestamp::parse("2021-06-04T09:59:53.650807Z").unwrap()
        );
        assert_eq!(failure.identity.as_deref(), Some("bob@example.com"));
        assert_eq!(failure.ip, Some("111.111.111.111".parse().unwrap()));
        assert_eq!(failure.event_id, None);
        let detail = auth(failure);
        assert_eq!(
            (
                detail.action,
                detail.outcome,
                detail.factor.as_deref(),
                detail.reason.as_deref()
            ),
            (AuthAction::Login, Outcome::Failure, None, None)
        );
    }

    #[test]
    fn panther_records_say_why_they_are_not_events() {
        let Some(logs) = testdata::panther_logs(PANTHER_SAMPLES) else {
            return;
        };
        let outcome = |test_name: &str| {
            let (_, log) = logs
                .iter()
                .find(|(name, _)| name == test_name)
                .expect("panther test present");
            decode(log.as_bytes())
        };
        let no_time = outcome("GSuite.LoginType / Login With Approved Type").unwrap_err();
        assert_eq!(no_time.reason, "missing field `id.time`");
        let no_name = outcome("GSuite.GoogleAccess / Normal Login Event").unwrap_err();
        assert_eq!(no_name.reason, "missing field `name`");
        assert_eq!(
            outcome("GSuite.LoginType / Saml Login Event"),
            Ok(Decoded::Skipped(OTHER_APPLICATION))
        );
        assert_eq!(
            outcome("GSuite.LoginType / Non-Login event"),
            Ok(Decoded::Skipped(OTHER_APPLICATION))
        );
        assert_eq!(
            outcome("Standard.BruteForceByIP / GSuite - Normal Login Event"),
            Ok(Decoded::Skipped(NO_USER))
        );
        let Ok(Decoded::Skipped(reason)) =
            outcome("GSuite.SuspiciousLogins / Account Warning For Suspicious Login")
        else {
            panic!("suspicious login not skipped")
        };
        assert!(reason.contains("suspicious-login"));
    }

    #[test]
    fn takes_the_first_sign_in_of_an_activity_and_its_network() {
        let record = r#"{"kind":"admin#reports#activity","id":{"time":"2024-05-01T10:00:00.5Z","uniqueQualifier":"-42","applicationName":"login","customerId":"C1"},
            "actor":{"callerType":"USER","email":"ann@example.com","profileId":"7"},"ipAddress":"2001:db8::1","networkInfo":{"ipAsn":[64500],"regionCode":"de","subdivisionCode":"DE-BE"},
            "events":[{"type":"account_warning","name":"suspicious_login","parameters":[]},
                      {"type":"login","name":"login_challenge","parameters":[{"name":"login_challenge_method","multiValue":["password","google_prompt"]},{"name":"login_challenge_status","value":"Challenge Failed"}]},
                      {"type":"login","name":"login_success","parameters":[]}]}"#;
        let event = testdata::event(Format::Gws, record);
        assert_eq!(
            event.time,
            Timestamp::parse("2024-05-01T10:00:00.5Z").unwrap()
        );
        assert_eq!(event.event_id.as_deref(), Some("-42"));
        assert_eq!(event.ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(event.asn, Some(64500));
        assert_eq!(
            event.geo.as_ref().and_then(|geo| geo.country.as_deref()),
            Some("DE")
        );
        let detail = auth(&event);
        assert_eq!(
            (detail.action, detail.outcome, detail.factor.as_deref()),
            (AuthAction::Mfa, Outcome::Failure, Some("push"))
        );

        let api_key = r#"{"id":{"time":"2024-05-01T10:00:00Z","applicationName":"login"},"actor":{"callerType":"KEY","key":"svc-key"},
            "events":[{"name":"login_success","parameters":[{"name":"login_type","value":"saml"}]}]}"#;
        let event = testdata::event(Format::Gws, api_key);
        assert_eq!(
            (event.identity.as_deref(), event.identity_type),
            (Some("svc-key"), IdentityType::Service)
        );
        assert_eq!(auth(&event).factor.as_deref(), Some("saml"));

        let only_warnings = r#"{"id":{"applicationName":"login"},"events":[{"name":"account_disabled_hijacked"},{"name":"2sv_enroll"}]}"#;
        assert!(skipped(only_warnings).contains("account-disabled"));
    }

    #[test]
    fn errors_name_the_field() {
        let long_email = "x".repeat(MAX_ID_BYTES + 1);
        let long_record = format!(
            r#"{{"id":{{"time":"2024-05-01T10:00:00Z","applicationName":"login"}},"actor":{{"email":"{long_email}"}},"events":[{{"name":"logout"}}]}}"#
        );
        let cases = [
            ("\"login\"", "`record`"),
            (r#"{"kind":"admin#reports#activity"}"#, "missing field `id`"),
            (
                r#"{"id":{"time":"2024-05-01T10:00:00Z"},"events":[]}"#,
                "missing field `id.applicationName`",
            ),
            (
                r#"{"id":{"applicationName":"login"},"actor":{"email":"a@b.c"}}"#,
                "missing field `events`",
            ),
            (
                r#"{"id":{"applicationName":"login"},"events":[]}"#,
                "invalid field `events`",
            ),
            (
                r#"{"id":{"applicationName":"login"},"events":[{"type":"login"}]}"#,
                "missing field `events.name`",
            ),
            (
                r#"{"id":{"applicationName":"login","time":"soon"},"events":{"name":"logout"}}"#,
                "invalid field `id.time`",
            ),
            (
                r#"{"id":{"applicationName":"login","time":"2024-05-01T10:00:00Z"},"actor":{"email":"a@b.c"},"ipAddress":"1.2.3","events":{"name":"logout"}}"#,
                "invalid field `ipAddress`",
            ),
            (
                r#"{"id":{"applicationName":"login","time":"2024-05-01T10:00:00Z"},"actor":{"email":"a@b.c"},"events":{"name":"login_challenge"}}"#,
                "missing field `login_challenge_status`",
            ),
            (
                r#"{"id":{"applicationName":"login","time":"2024-05-01T10:00:00Z"},"actor":{"email":"a@b.c"},"events":{"name":"login_verification","parameters":[{"name":"login_challenge_status","value":"Maybe"}]}}"#,
                "invalid field `login_challenge_status`",
            ),
            (long_record.as_str(), "invalid field `actor.email`"),
            (r#"{"id":{"applicationName""#, "malformed JSON"),
        ];
        for (record, expected) in cases {
            let error = decode(record.as_bytes()).unwrap_err();
            assert_eq!(error.format, Format::Gws);
            assert!(error.to_string().contains(expected), "{record} -> {error}");
        }
    }

    #[test]
    fn detect_recognises_api_shaped_samples_and_never_names_another_format() {
        let Some(lines) = testdata::lines(ELASTIC_SAMPLES) else {
            return;
        };
        for line in &lines {
            assert_eq!(crate::detect(line.as_bytes()), Ok(Format::Gws), "{line}");
        }
        let Some(logs) = testdata::panther_logs(PANTHER_SAMPLES) else {
            return;
        };
        for (name, log) in &logs {
            let record: Value = serde_json::from_str(log).unwrap();
            let detected = crate::detect(log.as_bytes());
            if record.get("kind").is_some() {
                assert_eq!(detected, Ok(Format::Gws), "{name}");
            } else {
                // Panther's flattened events without `kind` are recognised by their
                // `p_log_type` or their `id.applicationName` when they have either; they
                // must never be taken for another format.
                assert!(
                    detected.is_err() || detected == Ok(Format::Gws),
                    "{name}: {detected:?}"
                );
            }
        }
    }

    proptest::proptest! {

        #[test]
        fn never_panics_on_odd_field_values(
            name in "(login_[a-z]{0,12}|logout|[a-z_]{0,8})",
            time in ".{0,32}",
            status in ".{0,20}",
            method in ".{0,12}",
            address in ".{0,24}",
            asn in proptest::prelude::any::<i64>(),
        ) {
            let record = serde_json::json!({
                "id": {"applicationName": "login", "time": time, "uniqueQualifier": asn},
                "actor": {"email": "a@b.c"},
                "ipAddress": address,
                "networkInfo": {"ipAsn": [asn], "regionCode": method},
                "events": [{"name": name, "parameters": [
                    {"name": "login_challenge_status", "value": status},
                    {"name": "login_challenge_method", "multiValue": [method, 3]},
                    {"name": "login_type"},
                ]}],
            });
            let _ = decode(record.to_string().as_bytes());
        }
    }
}
