//! Golden replay scenarios: `tests/fixtures/<case>/input.jsonl` through `vigil replay`,
//! compared with `expected.json` (and `vigil.toml` / `policy.yaml` when the case has
//! them). Every detector has an attack case and a classic-false-positive case.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use vigil::replay::{replay, ReplayOptions};
use vigil_ingest::Format;

#[derive(Debug, Deserialize, PartialEq)]
struct Expected {
    line: u64,
    identity: String,
    action: String,
    rule: String,
    mode: String,
    detectors: Vec<String>,
}

#[derive(Deserialize)]
struct Case {
    description: String,
    decisions: Vec<Expected>,
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("schemas/json")
        .join(name);
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("schema readable"))
            .expect("schema is JSON");
    jsonschema::validator_for(&document).expect("schema compiles")
}

fn read_decisions(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("decisions written")
        .lines()
        .map(|line| serde_json::from_str(line).expect("decision is JSON"))
        .collect()
}

fn run_case(case_dir: &Path, output_dir: &Path) -> Vec<serde_json::Value> {
    let config = case_dir.join("vigil.toml");
    let policy = case_dir.join("policy.yaml");
    let output = output_dir.join(format!(
        "{}.jsonl",
        case_dir.file_name().unwrap().to_string_lossy()
    ));
    let options = ReplayOptions {
        inputs: vec![case_dir.join("input.jsonl")],
        format: Format::Native,
        policy: policy.exists().then_some(policy),
        config: config.exists().then_some(config),
        output: output.clone(),
        rejects: None,
        state: None,
        archive: None,
    };
    let summary =
        replay(&options).unwrap_or_else(|error| panic!("{}: {error}", case_dir.display()));
    assert_eq!(
        summary.rejected,
        0,
        "{}: fixture records must all decode",
        case_dir.display()
    );
    read_decisions(&output)
}

#[test]
fn every_fixture_yields_exactly_its_expected_decisions() {
    let output_dir = tempfile::tempdir().unwrap();
    let decision_schema = schema("decision.v1.schema.json");
    let event_schema = schema("event.v1.schema.json");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 10,
        "expected an attack and a false-positive case per detector"
    );
    let mut failures = Vec::new();
    for case_dir in &cases {
        let case: Case =
            serde_json::from_str(&std::fs::read_to_string(case_dir.join("expected.json")).unwrap())
                .unwrap();
        for line in std::fs::read_to_string(case_dir.join("input.jsonl"))
            .unwrap()
            .lines()
        {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(
                event_schema.is_valid(&event),
                "{}: input does not match the event schema: {line}",
                case_dir.display()
            );
        }
        let decisions = run_case(case_dir, output_dir.path());
        for decision in &decisions {
            let errors: Vec<String> = decision_schema
                .iter_errors(decision)
                .map(|error| error.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{}: decision does not match its schema: {errors:?}\n{decision}",
                case_dir.display()
            );
        }
        let got: Vec<Expected> = decisions
            .iter()
            .map(|decision| {
                let mut detectors: Vec<String> = decision["reasons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|reason| reason["detector"].as_str().unwrap().to_string())
                    .collect();
                detectors.sort();
                Expected {
                    line: decision["trigger"]["line"].as_u64().unwrap(),
                    identity: decision["identity"].as_str().unwrap().to_string(),
                    action: decision["action"].as_str().unwrap().to_string(),
                    rule: decision["rule"].as_str().unwrap().to_string(),
                    mode: decision["mode"].as_str().unwrap().to_string(),
                    detectors,
                }
            })
            .collect();
        let expected: Vec<Expected> = case
            .decisions
            .into_iter()
            .map(|mut expected| {
                expected.detectors.sort();
                expected
            })
            .collect();
        if got != expected {
            failures.push(format!(
                "{} ({}):\n  expected {expected:?}\n  got      {got:?}",
                case_dir.display(),
                case.description
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_detector_has_an_attack_and_a_false_positive_case() {
    let names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for detector in vigil_schemas::Detector::ALL.map(|detector| detector.as_str()) {
        assert!(
            names
                .iter()
                .any(|name| name == &format!("{detector}_attack")),
            "{detector}: no attack case"
        );
        assert!(
            names
                .iter()
                .any(|name| name.starts_with(&format!("{detector}_false_positive"))),
            "{detector}: no false-positive case"
        );
    }
}

#[test]
fn attack_decisions_explain_themselves() {
    let output_dir = tempfile::tempdir().unwrap();
    let decisions = run_case(
        &fixtures().join("impossible_travel_attack"),
        output_dir.path(),
    );
    let travel = decisions[0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|reason| reason["detector"] == "impossible_travel")
        .unwrap();
    assert_eq!(
        travel["detail"],
        "6,385 km in 47 min (8,100 km/h): Berlin, DE -> New York, US"
    );
}

#[test]
fn the_native_examples_match_their_schemas() {
    let event_schema = schema("event.v1.schema.json");
    let decision_schema = schema("decision.v1.schema.json");
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas/examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(examples).unwrap() {
        let path = entry.unwrap().path();
        let document: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let is_decision = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("decision");
        let validator = if is_decision {
            &decision_schema
        } else {
            &event_schema
        };
        let errors: Vec<String> = validator
            .iter_errors(&document)
            .map(|error| error.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        if is_decision {
            let decision: vigil_schemas::Decision =
                serde_json::from_value(document).expect("decision example decodes as a Decision");
            assert_eq!(decision.reasons.len(), 2);
        } else {
            let bytes = serde_json::to_vec(&document).unwrap();
            assert!(
                matches!(
                    vigil_ingest::decode(Format::Native, &bytes),
                    Ok(vigil_ingest::Decoded::Event(_))
                ),
                "{}",
                path.display()
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 5);
    // The schema rejects what the decoder rejects.
    for invalid in [
        r#"{"kind":"auth","time":"2026-03-02T08:00:00Z","action":"login","outcome":"success"}"#,
        r#"{"kind":"auth","time":"yesterday","identity":"a","action":"login","outcome":"success"}"#,
        r#"{"kind":"posture","time":"2026-03-02T08:00:00Z","compliant":true}"#,
        r#"{"kind":"access","time":"2026-03-02T08:00:00Z","identity":"a"}"#,
    ] {
        let document: serde_json::Value = serde_json::from_str(invalid).unwrap();
        assert!(
            !event_schema.is_valid(&document),
            "schema accepted {invalid}"
        );
        assert!(
            vigil_ingest::decode(Format::Native, invalid.as_bytes()).is_err(),
            "decoder accepted {invalid}"
        );
    }
}

/// `../shared/data/<relative>` beside the repository, or `None` outside CI when absent
/// (in CI a missing sample fails the test).
fn shared_sample(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(relative);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "golden sample {} missing in CI",
        path.display()
    );
    None
}

#[test]
fn real_vendor_logs_replay_end_to_end_with_auto_detection() {
    // (file, records, judged, skipped, rejected): every record is read, recognised and
    // either judged or skipped as not of interest; none is rejected.
    let cases = [
        (
            "elastic-integrations/okta/test-okta-system-events.log",
            20,
            14,
            6,
            0,
        ),
        (
            "elastic-integrations/azure_signinlogs/test-signinlogs-raw.log",
            5,
            0,
            5,
            0,
        ),
        (
            "elastic-integrations/google_workspace/test-login.log",
            17,
            7,
            10,
            0,
        ),
        (
            "elastic-integrations/auth0/test-login-failure.events.jsonl",
            5,
            2,
            3,
            0,
        ),
        (
            "elastic-integrations/auth0/test-login-success.first5.events.jsonl",
            5,
            5,
            0,
            0,
        ),
        (
            "panther-analysis/test_scenarios/compromised-root-creds/attacker_cloudtrail.jsonl",
            12,
            4,
            8,
            0,
        ),
        (
            "panther-analysis/test_scenarios/compromised-root-creds/attacker_okta.jsonl",
            2,
            2,
            0,
            0,
        ),
        (
            "panther-analysis/test_scenarios/compromised-root-creds/victim_cloudtrail.jsonl",
            4,
            3,
            1,
            0,
        ),
    ];
    let output_dir = tempfile::tempdir().unwrap();
    for (relative, records, judged, skipped, rejected) in cases {
        let Some(input) = shared_sample(relative) else {
            continue;
        };
        let options = ReplayOptions {
            inputs: vec![input],
            format: Format::Auto,
            policy: None,
            config: None,
            output: output_dir.path().join("decisions.jsonl"),
            rejects: Some(output_dir.path().join("rejects.jsonl")),
            state: None,
            archive: None,
        };
        let summary = replay(&options).unwrap_or_else(|error| panic!("{relative}: {error}"));
        let got = (
            summary.read,
            summary.events(),
            summary.skipped_count(),
            summary.rejected,
        );
        assert_eq!(
            got,
            (records, judged, skipped, rejected),
            "{relative}:\n{summary}"
        );
    }
}
