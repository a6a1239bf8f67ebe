//! The `vigil` binary as users run it: exit codes, messages, rejects, determinism.

use std::path::Path;
use std::process::{Command, Output};

fn vigil(arguments: &[&str], directory: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(arguments)
        .current_dir(directory)
        .output()
        .expect("vigil runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const GOOD: &str = r#"{"kind":"auth","time":"2026-03-02T08:00:00Z","identity":"alice@example.com","action":"login","outcome":"success"}"#;

#[test]
fn a_missing_input_names_the_file_and_exits_2() {
    let folder = tempfile::tempdir().unwrap();
    let output = vigil(
        &[
            "replay",
            "--input",
            "nowhere.jsonl",
            "--output",
            "decisions.jsonl",
        ],
        folder.path(),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("`nowhere.jsonl`"),
        "{}",
        stderr(&output)
    );
    assert!(
        !folder.path().join("decisions.jsonl").exists(),
        "nothing is written before the run is set up"
    );
}

#[test]
fn a_bad_policy_names_the_file_and_field_and_exits_2() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("events.jsonl"), GOOD).unwrap();
    std::fs::write(
        folder.path().join("policy.yaml"),
        "version: 1\nrules:\n  - name: broken\n    when: 'risk.score >'\n    action: alert\n",
    )
    .unwrap();
    let output = vigil(
        &[
            "replay",
            "--input",
            "events.jsonl",
            "--policy",
            "policy.yaml",
            "--output",
            "decisions.jsonl",
        ],
        folder.path(),
    );
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("`policy.yaml`") && message.contains("rules[0].when"),
        "{message}"
    );
}

#[test]
fn a_bad_config_names_the_file_and_field_and_exits_2() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("events.jsonl"), GOOD).unwrap();
    std::fs::write(
        folder.path().join("vigil.toml"),
        "[rules.brute_force]\nfailures = 0\n",
    )
    .unwrap();
    let output = vigil(
        &[
            "replay",
            "--input",
            "events.jsonl",
            "--config",
            "vigil.toml",
            "--output",
            "decisions.jsonl",
        ],
        folder.path(),
    );
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("`vigil.toml`") && message.contains("rules.brute_force.failures"),
        "{message}"
    );
}

#[test]
fn malformed_records_go_to_rejects_and_the_run_goes_on() {
    let folder = tempfile::tempdir().unwrap();
    let input = format!(
        "{GOOD}\n{{not json\n\n{}\n{GOOD}\n\u{0}\u{ff}garbage\n",
        r#"{"kind":"auth","time":"2026-03-02T08:00:00Z","action":"login","outcome":"success"}"#
    );
    std::fs::write(folder.path().join("events.jsonl"), input).unwrap();
    let output = vigil(
        &[
            "replay",
            "--input",
            "events.jsonl",
            "--format",
            "native",
            "--output",
            "out/decisions.jsonl",
        ],
        folder.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary = stderr(&output);
    assert!(
        summary.contains("records read") && summary.contains("rejected                   3"),
        "{summary}"
    );
    let rejects =
        std::fs::read_to_string(folder.path().join("out/decisions.rejects.jsonl")).unwrap();
    let rejects: Vec<serde_json::Value> = rejects
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let lines: Vec<u64> = rejects
        .iter()
        .map(|reject| reject["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![2, 4, 6]);
    assert!(rejects
        .iter()
        .all(|reject| reject["file"] == "events.jsonl"));
    assert!(rejects[0]["reason"]
        .as_str()
        .unwrap()
        .contains("malformed JSON"));
    assert!(rejects[1]["reason"]
        .as_str()
        .unwrap()
        .contains("missing field `identity`"));
}

#[test]
fn replay_output_is_deterministic_across_runs_and_shard_counts() {
    let folder = tempfile::tempdir().unwrap();
    let simulated = vigil(
        &[
            "simulate",
            "--identities",
            "400",
            "--days",
            "20",
            "--seed",
            "3",
            "--attack-rate",
            "0.1",
            "--output",
            "events.jsonl",
        ],
        folder.path(),
    );
    assert!(simulated.status.success(), "{}", stderr(&simulated));
    std::fs::write(
        folder.path().join("one.toml"),
        "[engine]\nshards = 1\nbatch_size = 1000\n",
    )
    .unwrap();
    std::fs::write(
        folder.path().join("two.toml"),
        "[engine]\nshards = 2\nbatch_size = 1000\n",
    )
    .unwrap();
    std::fs::write(
        folder.path().join("three.toml"),
        "[engine]\nshards = 3\nbatch_size = 1000\n",
    )
    .unwrap();
    let mut outputs = Vec::new();
    for config in ["one.toml", "two.toml", "three.toml", "two.toml"] {
        let output_name = format!("decisions-{}-{}.jsonl", config, outputs.len());
        let run = vigil(
            &[
                "replay",
                "--input",
                "events.jsonl",
                "--config",
                config,
                "--output",
                &output_name,
            ],
            folder.path(),
        );
        assert!(run.status.success(), "{}", stderr(&run));
        outputs.push(std::fs::read(folder.path().join(&output_name)).unwrap());
    }
    assert!(
        outputs[0].len() > 1000,
        "the simulation should raise decisions"
    );
    assert!(
        outputs.iter().all(|output| output == &outputs[0]),
        "decisions differ between runs or shard counts"
    );
}

#[test]
fn demo_runs_on_embedded_defaults() {
    let folder = tempfile::tempdir().unwrap();
    let output = vigil(
        &["demo", "--identities", "120", "--days", "18"],
        folder.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("records read") && text.contains("next ("),
        "{text}"
    );
    // It wrote an archive and answered a question from it.
    assert!(folder.path().join("vigil-demo-archive/sessions").is_dir());
    assert!(
        text.contains("| identity") && text.contains("revoked_at"),
        "{text}"
    );
}

#[test]
fn eval_scores_decisions_against_labels_as_json() {
    let folder = tempfile::tempdir().unwrap();
    let attack = |id: &str, identity: &str, session: &str| {
        format!(
            r#"{{"record":"attack","id":"{id}","kind":"credential_theft","identities":["{identity}"],"keys":["{session}"],"start":"2026-03-02T08:00:00Z","completes":"2026-03-02T08:05:00Z","end":"2026-03-02T08:10:00Z","detectors":["impossible_travel"]}}"#
        )
    };
    let labels = [
        attack("a-1", "alice@example.com", "s-1"),
        attack("a-2", "bob@example.com", "s-2"),
        r#"{"record":"session","identity":"carol@example.com","identity_type":"user","session_id":"s-3","start":"2026-03-02T07:00:00Z"}"#.to_string(),
    ];
    std::fs::write(folder.path().join("labels.jsonl"), labels.join("\n")).unwrap();
    let decision = r#"{"id":"d-1","time":"2026-03-02T08:06:00Z","decided_at":"2026-03-02T08:06:00Z","identity":"alice@example.com","session_id":"s-1","action":"revoke_session","mode":"enforce","risk":{"score":85.0,"level":"high"},"reasons":[{"detector":"impossible_travel","score":85.0,"detail":"Paris then Sydney in 6 minutes"}],"rule":"revoke_on_travel","trigger":{"file":"events.jsonl","line":3}}"#;
    std::fs::write(
        folder.path().join("decisions.jsonl"),
        format!("{decision}\n"),
    )
    .unwrap();
    let output = vigil(
        &[
            "eval",
            "--decisions",
            "decisions.jsonl",
            "--labels",
            "labels.jsonl",
            "--json",
        ],
        folder.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["overall"]["recall"], 0.5);
    assert_eq!(report["overall"]["benign_sessions"], 1);
    let theft = report["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|kind| kind["kind"] == "credential_theft")
        .unwrap();
    assert_eq!(theft["recall"], 0.5);
    assert_eq!(theft["delay_from_completion"]["median_secs"], 60.0);
}

/// The issue's bar on a small run: every attack kind woven in is detected, and at most 1%
/// of benign sessions get an enforced action other than an alert; the decision on stolen
/// sessions, impossible travel and MFA fatigue comes on the completing event.
#[test]
fn simulate_replay_eval_meets_the_detection_bar() {
    let folder = tempfile::tempdir().unwrap();
    let run = |arguments: &[&str]| {
        let output = vigil(arguments, folder.path());
        assert!(
            output.status.success(),
            "{arguments:?}: {}",
            stderr(&output)
        );
        output
    };
    run(&[
        "simulate",
        "--identities",
        "300",
        "--days",
        "24",
        "--seed",
        "5",
        "--attack-rate",
        "0.3",
        "--output",
        "events.jsonl",
        "--labels",
        "labels.jsonl",
    ]);
    run(&[
        "replay",
        "--input",
        "events.jsonl",
        "--output",
        "decisions.jsonl",
    ]);
    let eval = run(&[
        "eval",
        "--decisions",
        "decisions.jsonl",
        "--labels",
        "labels.jsonl",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    let overall = &report["overall"];
    assert!(overall["attacks"].as_u64().unwrap() >= 40, "{overall}");
    assert!(overall["recall"].as_f64().unwrap() >= 0.95, "{overall}");
    assert!(
        overall["false_positive_rate"].as_f64().unwrap() <= 0.01,
        "{overall}"
    );
    for kind in report["kinds"].as_array().unwrap() {
        if kind["attacks"].as_u64().unwrap() == 0 {
            continue;
        }
        assert!(kind["recall"].as_f64().unwrap() >= 0.95, "{kind}");
        let name = kind["kind"].as_str().unwrap();
        if ["credential_theft", "session_theft", "mfa_fatigue"].contains(&name) {
            assert_eq!(kind["delay_from_completion"]["median_secs"], 0.0, "{kind}");
        }
    }
}

#[test]
fn run_names_the_config_file_and_field_before_connecting() {
    let folder = tempfile::tempdir().unwrap();
    let cases = [
        ("no-kafka.toml", "[engine]\nshards = 1\n", ["no-kafka.toml", "`kafka`"]),
        (
            "bad-key.toml",
            "[kafka]\nbrokers = \"127.0.0.1:1\"\ninputs = [{ topic = \"t\", format = \"okta\" }]\n\n[caep]\nissuer = \"i\"\naudience = \"a\"\nsubject_issuer = \"s\"\nkey_file = \"missing.pem\"\nkid = \"k\"\n",
            ["`caep.key_file`", "missing.pem"],
        ),
        (
            "bad-format.toml",
            "[kafka]\nbrokers = \"127.0.0.1:1\"\ninputs = [{ topic = \"t\", format = \"syslog\" }]\n",
            ["bad-format.toml", "syslog"],
        ),
    ];
    for (file, text, expected) in cases {
        std::fs::write(folder.path().join(file), text).unwrap();
        let output = vigil(&["run", "--config", file], folder.path());
        assert_eq!(output.status.code(), Some(2), "{file}");
        let message = stderr(&output);
        assert!(
            expected.iter().all(|part| message.contains(part)),
            "{file}: {message}"
        );
    }
}

#[test]
fn state_inspect_and_forget() {
    let folder = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (1..=3)
        .map(|day| GOOD.replace("2026-03-02", &format!("2026-03-0{day}")))
        .collect();
    std::fs::write(folder.path().join("events.jsonl"), lines.join("\n")).unwrap();
    let replay = vigil(
        &[
            "replay",
            "--input",
            "events.jsonl",
            "--state",
            "st",
            "--output",
            "d.jsonl",
        ],
        folder.path(),
    );
    assert!(replay.status.success(), "{}", stderr(&replay));
    let inspect = vigil(
        &["state", "inspect", "alice@example.com", "--state", "st"],
        folder.path(),
    );
    assert!(inspect.status.success(), "{}", stderr(&inspect));
    let document: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(document["identity"], "alice@example.com");
    assert_eq!(document["state"]["latest"], "2026-03-03T08:00:00Z");
    assert_eq!(
        document["state"]["profile"]["first_seen"],
        "2026-03-01T08:00:00Z"
    );

    let forget = vigil(
        &["state", "forget", "alice@example.com", "--state", "st"],
        folder.path(),
    );
    assert!(forget.status.success(), "{}", stderr(&forget));
    let gone = vigil(
        &["state", "inspect", "alice@example.com", "--state", "st"],
        folder.path(),
    );
    assert_eq!(gone.status.code(), Some(2));
    assert!(stderr(&gone).contains("no state for identity `alice@example.com`"));
    let nowhere = vigil(
        &["state", "inspect", "alice", "--state", "missing"],
        folder.path(),
    );
    assert_eq!(nowhere.status.code(), Some(2));
    assert!(
        stderr(&nowhere).contains("holds no vigil state"),
        "{}",
        stderr(&nowhere)
    );
}

#[test]
fn caep_jwks_publishes_the_key_under_its_thumbprint_and_warns_of_loose_permissions() {
    use std::os::unix::fs::PermissionsExt as _;
    let folder = tempfile::tempdir().unwrap();
    let key = folder.path().join("signing.pem");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/sinks/tests/keys/test-rs256.pem"
        ),
        &key,
    )
    .unwrap();
    std::fs::write(
        folder.path().join("vigil.toml"),
        "[caep]\nissuer = \"i\"\naudience = \"a\"\nsubject_issuer = \"s\"\nkey_file = \"signing.pem\"\n",
    )
    .unwrap();
    let jwks = |mode: u32| {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        let output = vigil(&["caep", "jwks", "--config", "vigil.toml"], folder.path());
        assert!(output.status.success(), "{}", stderr(&output));
        let set: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        (set, stderr(&output))
    };
    let (set, warnings) = jwks(0o600);
    assert!(!warnings.contains("chmod 600"), "{warnings}");
    let signer =
        vigil_sinks::caep::Signer::from_pem(&std::fs::read_to_string(&key).unwrap(), "").unwrap();
    let published = &set["keys"][0];
    assert_eq!(published["kid"], signer.thumbprint());
    assert_eq!(published["alg"], "RS256");
    assert_eq!(published["n"], signer.jwks()["keys"][0]["n"]);
    assert!(published.get("d").is_none(), "no private member");
    let (_, warnings) = jwks(0o644);
    assert!(warnings.contains("chmod 600"), "{warnings}");
    // No [caep]: a usage error naming the file.
    std::fs::write(folder.path().join("none.toml"), "").unwrap();
    let output = vigil(&["caep", "jwks", "--config", "none.toml"], folder.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("none.toml"));
}

/// Every file under `dir`, with its bytes lowercased, and for Parquet files also every
/// value decoded (their pages are compressed; their footers' statistics are not).
fn lowered_contents(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let mut text = String::from_utf8_lossy(&bytes).to_lowercase();
            if path.extension().is_some_and(|ext| ext == "parquet") {
                let reader =
                    datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                        std::fs::File::open(&path).unwrap(),
                    )
                    .unwrap()
                    .build()
                    .unwrap();
                let batches: Vec<_> = reader.map(Result::unwrap).collect();
                text.push_str(
                    &datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                        .unwrap()
                        .to_string()
                        .to_lowercase(),
                );
            }
            found.push((path, text));
        }
    }
    found
}

#[test]
fn forget_leaves_no_trace_of_an_identity_in_state_or_archive() {
    let folder = tempfile::tempdir().unwrap();
    let login = |day: u32,
                 hour: u32,
                 identity: &str,
                 outcome: &str,
                 ip: &str,
                 city: (&str, &str, f64, f64)| {
        format!(
            r#"{{"kind":"auth","time":"2026-03-{day:02}T{hour:02}:00:00Z","identity":"{identity}","action":"login","outcome":"{outcome}","session_id":"s-{identity}-{day}-{hour}","device_id":"laptop-{identity}","ip":"{ip}","geo":{{"city":"{}","country":"{}","lat":{},"lon":{}}}}}"#,
            city.0, city.1, city.2, city.3
        )
    };
    let berlin = ("Berlin", "DE", 52.52, 13.405);
    let new_york = ("New York", "US", 40.713, -74.006);
    let mut lines = Vec::new();
    for day in 1..=12 {
        // Alice as one IdP writes her (and once as another does: a case variant).
        let alice = if day == 5 {
            "Alice@Example.COM"
        } else {
            "alice@example.com"
        };
        lines.push(login(day, 8, alice, "success", "85.214.1.1", berlin));
        lines.push(login(
            day,
            9,
            "bob@example.com",
            "success",
            "85.214.1.2",
            berlin,
        ));
        // An agent acting for her.
        lines.push(format!(
            r#"{{"kind":"access","time":"2026-03-{day:02}T10:00:00Z","identity":"agent-7","identity_type":"agent","resource":"https://api.example.com/v1/tickets","tool":"read_ticket","on_behalf_of":"ALICE@example.com"}}"#
        ));
    }
    // Failures from one address (the spray tracker keeps them), then impossible travel.
    for minute in 0..3 {
        lines.push(
            login(
                13,
                7,
                "alice@example.com",
                "failure",
                "203.0.113.50",
                berlin,
            )
            .replace(":00:00Z", &format!(":0{minute}:00Z")),
        );
    }
    lines.push(login(
        13,
        8,
        "alice@example.com",
        "success",
        "85.214.1.1",
        berlin,
    ));
    lines.push(login(
        13,
        9,
        "alice@example.com",
        "success",
        "23.1.1.1",
        new_york,
    ));
    std::fs::write(folder.path().join("events.jsonl"), lines.join("\n")).unwrap();
    let replay = vigil(
        &[
            "replay",
            "--input",
            "events.jsonl",
            "--state",
            "st",
            "--archive",
            "ar",
            "--output",
            "d.jsonl",
        ],
        folder.path(),
    );
    assert!(replay.status.success(), "{}", stderr(&replay));
    let decisions = std::fs::read_to_string(folder.path().join("d.jsonl")).unwrap();
    assert!(
        decisions.contains("revoke-impossible-travel"),
        "{decisions}"
    );
    let mentions = |dir: &str| -> Vec<std::path::PathBuf> {
        lowered_contents(&folder.path().join(dir))
            .into_iter()
            .filter(|(_, text)| text.contains("alice@example.com"))
            .map(|(path, _)| path)
            .collect()
    };
    // Before: she is everywhere (so the search below can fail).
    assert!(!mentions("st").is_empty());
    assert!(mentions("ar").len() >= 4, "{:?}", mentions("ar"));

    let forget = vigil(
        &["state", "forget", "ALICE@EXAMPLE.COM", "--state", "st"],
        folder.path(),
    );
    assert!(forget.status.success(), "{}", stderr(&forget));
    let forget = vigil(
        &["archive", "forget", "Alice@Example.com", "--archive", "ar"],
        folder.path(),
    );
    assert!(forget.status.success(), "{}", stderr(&forget));
    assert_eq!(mentions("st"), Vec::<std::path::PathBuf>::new());
    assert_eq!(mentions("ar"), Vec::<std::path::PathBuf>::new());
    // Others are untouched: bob's state, and the agent's events (her name redacted).
    let bob = vigil(
        &["state", "inspect", "bob@example.com", "--state", "st"],
        folder.path(),
    );
    assert!(bob.status.success(), "{}", stderr(&bob));
    let agent = lowered_contents(&folder.path().join("ar/events"))
        .into_iter()
        .any(|(_, text)| text.contains("agent-7") && text.contains("[forgotten]"));
    assert!(agent, "the agent's rows stay, with her name replaced");
}
