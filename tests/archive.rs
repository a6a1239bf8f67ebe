//! The archive end to end: `vigil replay --archive` writes events, signals and decisions
//! as Parquet, and the cookbook's queries through `vigil sql` agree with the decisions
//! the replay wrote as JSON lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

mod common;

use vigil_backtest::simulate::SimulateOptions;

fn sql(folder: &Path, query: &str, format: &str) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["sql", query, "--archive", "archive", "--format", format])
        .current_dir(folder)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn rows(folder: &Path, query: &str) -> Vec<serde_json::Value> {
    let (code, out, err) = sql(folder, query, "json");
    assert_eq!(code, Some(0), "{err}");
    out.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn replay_writes_an_archive_that_sql_answers() {
    let folder = tempfile::tempdir().unwrap();
    let (input, events) = common::simulated_input(folder.path(), 120, 15, 11, 0.3);
    let summary = vigil::replay::replay(&vigil::replay::ReplayOptions {
        inputs: vec![input],
        format: vigil_ingest::Format::Native,
        policy: None,
        config: None,
        output: folder.path().join("decisions.jsonl"),
        rejects: None,
        state: None,
        archive: Some(folder.path().join("archive")),
    })
    .unwrap();
    let decisions: Vec<serde_json::Value> =
        std::fs::read_to_string(folder.path().join("decisions.jsonl"))
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
    assert!(decisions.len() >= 10);
    // Hive partitions, complete files only.
    let days: BTreeSet<String> = std::fs::read_dir(folder.path().join("archive/events"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // Fifteen local days of people around the world span a few more UTC days.
    assert!((15..=17).contains(&days.len()), "{days:?}");
    assert!(days.iter().all(|day| day.starts_with("date=2026-03-")));

    // Every event and decision is there.
    let count = rows(folder.path(), "SELECT count(*) AS n FROM events");
    assert_eq!(count[0]["n"], summary.events());
    let count = rows(folder.path(), "SELECT count(*) AS n FROM decisions");
    assert_eq!(count[0]["n"], decisions.len());
    let signals = rows(folder.path(), "SELECT count(*) AS n FROM signals");
    let raised: u64 = summary.engine.signals.values().sum();
    assert_eq!(signals[0]["n"], raised);

    // Sessions revoked in a period, with their reasons.
    let revoked = rows(
        folder.path(),
        "SELECT identity, session_id, rule, reasons[1]['detector'] AS first_reason \
         FROM decisions WHERE action = 'revoke_session' AND mode = 'enforce' \
         AND date BETWEEN '2026-03-01' AND '2026-03-31' ORDER BY time, id",
    );
    let expected: Vec<(String, String)> = decisions
        .iter()
        .filter(|d| d["action"] == "revoke_session" && d["mode"] == "enforce")
        .filter(|d| d["time"].as_str().unwrap().starts_with("2026-03"))
        .map(|d| {
            (
                d["identity"].as_str().unwrap().to_string(),
                d["reasons"][0]["detector"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let got: Vec<(String, String)> = revoked
        .iter()
        .map(|row| {
            (
                row["identity"].as_str().unwrap().to_string(),
                row["first_reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got, expected);

    // One identity's timeline.
    let someone = decisions[0]["identity"].as_str().unwrap().to_string();
    let timeline = rows(
        folder.path(),
        &format!(
            "SELECT time, kind, action, country FROM events WHERE identity = '{someone}' ORDER BY time"
        ),
    );
    let in_input = events
        .split(|&byte| byte == b'\n')
        .filter(|line| {
            std::str::from_utf8(line)
                .is_ok_and(|text| text.contains(&format!("\"identity\":\"{someone}\"")))
        })
        .count();
    assert_eq!(timeline.len(), in_input);

    // Top identities by peak risk.
    let top = rows(
        folder.path(),
        "SELECT identity, max(risk_score) AS peak FROM decisions GROUP BY identity ORDER BY peak DESC, identity LIMIT 3",
    );
    let mut peaks: BTreeMap<String, f64> = BTreeMap::new();
    for decision in &decisions {
        let entry = peaks
            .entry(decision["identity"].as_str().unwrap().to_string())
            .or_insert(0.0);
        *entry = entry.max(decision["risk"]["score"].as_f64().unwrap());
    }
    let best = peaks.values().cloned().fold(0.0, f64::max);
    assert_eq!(top[0]["peak"].as_f64().unwrap(), best);

    // Monitor versus enforce per rule.
    let modes = rows(
        folder.path(),
        "SELECT rule, mode, count(*) AS n FROM decisions GROUP BY rule, mode ORDER BY rule, mode",
    );
    let mut expected_modes: BTreeMap<(String, String), u64> = BTreeMap::new();
    for decision in &decisions {
        *expected_modes
            .entry((
                decision["rule"].as_str().unwrap().to_string(),
                decision["mode"].as_str().unwrap().to_string(),
            ))
            .or_default() += 1;
    }
    let got_modes: BTreeMap<(String, String), u64> = modes
        .iter()
        .map(|row| {
            (
                (
                    row["rule"].as_str().unwrap().to_string(),
                    row["mode"].as_str().unwrap().to_string(),
                ),
                row["n"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got_modes, expected_modes);

    // Seconds from the first signal on a session to its revocation: per revocation,
    // then mean and p95 (a Zero Trust maturity metric).
    let per_revocation = "SELECT d.identity, d.session_id, d.time, \
                (CAST(d.time AS BIGINT) - CAST(min(s.time) AS BIGINT)) / 1000000.0 AS seconds \
         FROM decisions d JOIN signals s \
           ON s.identity = d.identity AND s.session_id = d.session_id AND s.time <= d.time \
         WHERE d.action = 'revoke_session' AND d.mode = 'enforce' \
         GROUP BY d.identity, d.session_id, d.time";
    let delays = rows(folder.path(), &format!("{per_revocation} ORDER BY d.time"));
    let signal_rows = rows(
        folder.path(),
        "SELECT identity, session_id, CAST(time AS BIGINT) AS micros FROM signals WHERE session_id IS NOT NULL",
    );
    let mut expected_delays = Vec::new();
    for decision in decisions
        .iter()
        .filter(|d| d["action"] == "revoke_session" && d["mode"] == "enforce")
    {
        let time = vigil_schemas::Timestamp::parse(decision["time"].as_str().unwrap())
            .unwrap()
            .0;
        let first = signal_rows
            .iter()
            .filter(|row| {
                row["identity"] == decision["identity"]
                    && row["session_id"] == decision["session_id"]
                    && row["micros"].as_i64().unwrap() <= time
            })
            .map(|row| row["micros"].as_i64().unwrap())
            .min();
        if let Some(first) = first {
            expected_delays.push((time - first) as f64 / 1e6);
        }
    }
    assert!(!expected_delays.is_empty());
    let mut got_delays: Vec<f64> = delays
        .iter()
        .map(|row| row["seconds"].as_f64().unwrap())
        .collect();
    got_delays.sort_by(f64::total_cmp);
    expected_delays.sort_by(f64::total_cmp);
    assert_eq!(got_delays, expected_delays);
    let metric = rows(
        folder.path(),
        &format!(
            "SELECT count(*) AS revocations, avg(seconds) AS mean_seconds, \
             approx_percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds) AS p95_seconds \
             FROM ({per_revocation})"
        ),
    );
    let mean = expected_delays.iter().sum::<f64>() / expected_delays.len() as f64;
    assert_eq!(metric[0]["revocations"], expected_delays.len());
    assert!((metric[0]["mean_seconds"].as_f64().unwrap() - mean).abs() < 1e-6);
    let p95 = metric[0]["p95_seconds"].as_f64().unwrap();
    let (low, high) = (
        expected_delays[0],
        expected_delays[expected_delays.len() - 1],
    );
    assert!(p95 >= low && p95 <= high && p95 >= mean.min(high), "{p95}");

    // Impossible-travel pairs with distance and speed, from the signals' evidence.
    let pairs = rows(
        folder.path(),
        "SELECT identity, time, json_get(evidence, 'from') AS from_place, \
                json_get(evidence, 'to') AS to_place, json_num(evidence, 'distance_km') AS km, \
                json_num(evidence, 'speed_kmh') AS kmh \
         FROM signals WHERE detector = 'impossible_travel' ORDER BY time, identity",
    );
    let travel = summary
        .engine
        .signals
        .get(&vigil_schemas::Detector::ImpossibleTravel)
        .copied()
        .unwrap_or(0);
    assert!(travel > 0);
    assert_eq!(pairs.len() as u64, travel);
    for pair in &pairs {
        assert!(
            pair["from_place"].is_string() && pair["to_place"].is_string(),
            "{pair}"
        );
        assert_ne!(pair["from_place"], pair["to_place"], "{pair}");
        assert!(pair["km"].as_f64().unwrap() > 500.0, "{pair}");
        // Speed is absent only when no time passed between the two places.
        if let Some(kmh) = pair["kmh"].as_f64() {
            assert!(kmh > 900.0, "{pair}");
        }
    }

    // Sessions: one row per change, and the latest state per session.
    let latest = rows(
        folder.path(),
        "SELECT identity, session_id, events, peak_risk, revoked_at, actions, change \
         FROM sessions_latest ORDER BY identity, session_id",
    );
    let mut per_session: BTreeMap<(String, String), u64> = BTreeMap::new();
    for line in events
        .split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
    {
        let event: serde_json::Value = serde_json::from_slice(line).unwrap();
        if let (Some(identity), Some(session)) =
            (event["identity"].as_str(), event["session_id"].as_str())
        {
            *per_session
                .entry((identity.to_string(), session.to_string()))
                .or_default() += 1;
        }
    }
    assert_eq!(latest.len(), per_session.len());
    for row in &latest {
        let key = (
            row["identity"].as_str().unwrap().to_string(),
            row["session_id"].as_str().unwrap().to_string(),
        );
        // Flushed at the end: every session's latest row has seen all its events.
        assert_eq!(
            row["events"].as_u64(),
            per_session.get(&key).copied(),
            "{row}"
        );
    }
    let revoked: BTreeSet<(String, String)> = latest
        .iter()
        .filter(|row| !row["revoked_at"].is_null())
        .map(|row| {
            (
                row["identity"].as_str().unwrap().to_string(),
                row["session_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let enforced = |action: &'static str| {
        decisions
            .iter()
            .filter(move |d| d["action"] == action && d["mode"] == "enforce")
    };
    for decision in enforced("revoke_session") {
        let key = (
            decision["identity"].as_str().unwrap().to_string(),
            decision["session_id"].as_str().unwrap().to_string(),
        );
        assert!(revoked.contains(&key), "{key:?} was revoked");
        let row = latest
            .iter()
            .find(|row| {
                row["identity"] == decision["identity"]
                    && row["session_id"] == decision["session_id"]
            })
            .unwrap();
        assert!(row["peak_risk"].as_f64().unwrap() >= decision["risk"]["score"].as_f64().unwrap());
        assert!(row["actions"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("revoke_session")));
    }
    let revoking: BTreeSet<&str> = enforced("revoke_session")
        .chain(enforced("revoke_all_sessions"))
        .chain(enforced("quarantine_device"))
        .map(|d| d["identity"].as_str().unwrap())
        .collect();
    assert!(revoked
        .iter()
        .all(|(identity, _)| revoking.contains(identity.as_str())));
    // Each session's rows count up from 1 and begin with `established`.
    let firsts = rows(
        folder.path(),
        "SELECT change, count(*) AS n FROM sessions WHERE version = 1 GROUP BY change",
    );
    assert_eq!(firsts.len(), 1, "{firsts:?}");
    assert_eq!(firsts[0]["change"], "established");
    assert_eq!(firsts[0]["n"], per_session.len());

    // Privacy: forget one identity everywhere; everyone else stays.
    let before = rows(folder.path(), "SELECT count(*) AS n FROM events")[0]["n"]
        .as_u64()
        .unwrap();
    let theirs = rows(
        folder.path(),
        &format!("SELECT count(*) AS n FROM events WHERE identity = '{someone}'"),
    )[0]["n"]
        .as_u64()
        .unwrap();
    assert!(theirs > 0);
    let forget = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["archive", "forget", &someone, "--archive", "archive"])
        .current_dir(folder.path())
        .output()
        .unwrap();
    assert!(forget.status.success());
    for table in ["events", "signals", "decisions", "sessions"] {
        let left = rows(
            folder.path(),
            &format!("SELECT count(*) AS n FROM {table} WHERE identity = '{someone}'"),
        );
        assert_eq!(left[0]["n"], 0, "{table}");
    }
    let after = rows(folder.path(), "SELECT count(*) AS n FROM events")[0]["n"]
        .as_u64()
        .unwrap();
    assert_eq!(after, before - theirs);

    // Retention: the days before a date go.
    let prune = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args([
            "archive",
            "prune",
            "--before",
            "2026-03-05",
            "--archive",
            "archive",
        ])
        .current_dir(folder.path())
        .output()
        .unwrap();
    assert!(prune.status.success());
    let old = rows(
        folder.path(),
        "SELECT count(*) AS n FROM events WHERE date < '2026-03-05'",
    );
    assert_eq!(old[0]["n"], 0);
    let kept = rows(folder.path(), "SELECT min(date) AS first FROM decisions");
    assert!(kept[0]["first"].as_str().unwrap() >= "2026-03-05");

    // A human reads a table; a wrong query names the position and exits 2.
    let (code, table, _) = sql(
        folder.path(),
        "SELECT rule, count(*) AS n FROM decisions GROUP BY rule ORDER BY rule",
        "table",
    );
    assert_eq!(code, Some(0));
    assert!(table.contains("| rule") && table.lines().last().unwrap().ends_with("rows"));
    let (code, _, err) = sql(folder.path(), "SELEC * FROM decisions", "table");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("| SELEC * FROM decisions") && err.contains("| ^ line 1, column 1"),
        "{err}"
    );
    let (code, _, err) = sql(
        folder.path(),
        "SELECT identity,\n       nonsense\nFROM decisions",
        "table",
    );
    assert_eq!(code, Some(2));
    assert!(
        err.contains("nonsense") && err.contains("line 2, column 8"),
        "{err}"
    );

    // Statements from standard input (the shell's path when it is not a terminal): each
    // runs, a failure is reported and counted, and the exit code says so.
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["sql", "--archive", "archive", "--format", "csv"])
        .current_dir(folder.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        b"-- two statements, one over two lines\nSELECT count(*) AS n\n  FROM decisions;\nSELECT 'a;b' AS text; SELEC 1;\n",
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2));
    assert!(out.contains("a;b"), "{out}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("1 statement(s) failed"));
}

/// Complete Parquet files under `dir`.
fn complete_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                complete_files(&path)
            } else {
                usize::from(
                    path.extension()
                        .is_some_and(|extension| extension == "parquet"),
                )
            }
        })
        .sum()
}

#[test]
fn a_killed_writer_leaves_only_readable_files() {
    let folder = tempfile::tempdir().unwrap();
    common::simulated_input(
        folder.path(),
        200,
        20,
        13,
        SimulateOptions::default().attack_rate,
    );
    // Small files and small batches: many files are being written when the kill lands.
    std::fs::write(
        folder.path().join("vigil.toml"),
        "[engine]\nbatch_size = 512\n\n[archive]\nrows_per_file = 2000\n",
    )
    .unwrap();
    let mut killed_with_files = 0;
    for (attempt, wait) in (300u64..2700).step_by(200).enumerate() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args([
                "replay",
                "--input",
                "events.jsonl",
                "--config",
                "vigil.toml",
                "--archive",
                "archive",
                "--output",
                &format!("decisions-{attempt}.jsonl"),
            ])
            .current_dir(folder.path())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(wait));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL, mid-write
            child.wait().unwrap();
            if complete_files(&folder.path().join("archive")) > 0 {
                killed_with_files += 1;
            }
        }
        // Whatever the kill left, every file DataFusion sees reads whole (`rows` fails
        // the test when the query does).
        if folder.path().join("archive/events").is_dir() {
            rows(folder.path(), "SELECT count(*) AS n FROM events");
            rows(folder.path(), "SELECT count(*) AS n FROM signals");
        }
    }
    assert!(
        killed_with_files > 0,
        "no kill landed while files were written"
    );
}
