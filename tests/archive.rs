//! The archive end to end: `vigil replay --archive` writes events, signals and decisions
//! as Parquet, and the cookbook's queries through `vigil sql` agree with the decisions
//! the replay wrote as JSON lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

mod common;

use vigil::simulate::SimulateOptions;

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

    // Time from an identity's first signal of the day to its revocation.
    let delays = rows(
        folder.path(),
        "SELECT d.identity, d.time, \
                (CAST(d.time AS BIGINT) - CAST(min(s.time) AS BIGINT)) / 1000000.0 AS seconds \
         FROM decisions d JOIN signals s ON s.identity = d.identity AND s.date = d.date AND s.time <= d.time \
         WHERE d.action = 'revoke_session' GROUP BY d.identity, d.time ORDER BY d.time",
    );
    assert!(!delays.is_empty());
    assert!(delays
        .iter()
        .all(|row| row["seconds"].as_f64().unwrap() >= 0.0));

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
    for table in ["events", "signals", "decisions"] {
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
        err.contains("SELEC") && err.contains("in: SELEC * FROM decisions"),
        "{err}"
    );
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
