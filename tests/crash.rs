//! Crash recovery: `vigil replay --state` killed with SIGKILL at random points, started
//! again each time, ends with the same state as an uninterrupted run over the same input,
//! and every decision of the uninterrupted run was written (at least once, same ids).
//!
//! Checkpoints are taken after every batch of 256 events, so a checkpoint is being
//! committed for much of the run and kills land inside one as often as between two.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
mod common;

use vigil_engine::store::Store;

const CONFIG: &str = "[engine]\nshards = 2\nbatch_size = 256\n\n[state]\ncheckpoint_events = 1\n";

fn replay(folder: &Path, state: &str, output: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vigil"));
    command
        .args([
            "replay",
            "--input",
            "events.jsonl",
            "--config",
            "vigil.toml",
            "--state",
            state,
            "--output",
            output,
        ])
        .current_dir(folder)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn decision_ids(path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .map(|line| {
            let decision: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("a torn line in {}: {error}", path.display()));
            decision["id"].as_str().unwrap().to_string()
        })
        .collect()
}

/// A small deterministic generator for kill times (no dependency for one number).
struct Jitter(u64);

impl Jitter {
    fn next_millis(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low)
    }
}

#[test]
fn sigkill_at_random_points_loses_nothing_and_counts_nothing_twice() {
    let folder = tempfile::tempdir().unwrap();
    common::simulated_input(folder.path(), 150, 16, 21, 0.1);
    std::fs::write(folder.path().join("vigil.toml"), CONFIG).unwrap();

    // The reference: one uninterrupted run.
    let reference = replay(folder.path(), "reference-state", "reference.jsonl")
        .output()
        .unwrap();
    assert!(
        reference.status.success(),
        "{}",
        String::from_utf8_lossy(&reference.stderr)
    );
    let expected: BTreeSet<String> = decision_ids(&folder.path().join("reference.jsonl"))
        .into_iter()
        .collect();
    assert!(
        expected.len() >= 10,
        "the input should yield decisions to lose, got {}",
        expected.len()
    );

    // The same input, killed again and again.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill-time seed {seed}");
    let mut jitter = Jitter(seed);
    let mut kills = 0;
    let mut attempts = 0;
    let started = Instant::now();
    loop {
        attempts += 1;
        let mut child = replay(folder.path(), "crash-state", "crash.jsonl")
            .spawn()
            .unwrap();
        if kills < 6 {
            std::thread::sleep(Duration::from_millis(jitter.next_millis(150, 900)));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
                continue;
            }
        }
        let status = child.wait().unwrap();
        assert!(status.success(), "the final run failed");
        if kills >= 5 {
            break;
        }
        // Finished before a kill landed: start over with a fresh state, earlier kills.
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "runs finish too fast to be killed ({attempts} attempts)"
        );
        std::fs::remove_dir_all(folder.path().join("crash-state")).unwrap();
        std::fs::remove_file(folder.path().join("crash.jsonl")).unwrap();
        kills = 0;
    }
    eprintln!("{kills} kills in {attempts} runs");

    let written = decision_ids(&folder.path().join("crash.jsonl"));
    let got: BTreeSet<String> = written.iter().cloned().collect();
    let missing: Vec<&String> = expected.difference(&got).collect();
    let extra: Vec<&String> = got.difference(&expected).collect();
    assert!(missing.is_empty(), "decisions lost: {missing:?}");
    assert!(extra.is_empty(), "decisions no clean run makes: {extra:?}");
    eprintln!(
        "{} decisions expected, {} written ({} repeated after kills)",
        expected.len(),
        written.len(),
        written.len() - got.len()
    );

    let reference = Store::open(&folder.path().join("reference-state")).unwrap();
    let crashed = Store::open(&folder.path().join("crash-state")).unwrap();
    let (reference_identities, crashed_identities) = (
        reference.identities().unwrap(),
        crashed.identities().unwrap(),
    );
    assert_eq!(reference_identities.len(), crashed_identities.len());
    for (left, right) in reference_identities.iter().zip(&crashed_identities) {
        assert_eq!(left.0, right.0);
        assert!(
            left.1 == right.1,
            "the state of {} differs from the uninterrupted run's",
            left.0
        );
    }
    let (reference, crashed) = (reference.restore().unwrap(), crashed.restore().unwrap());
    assert_eq!(
        reference.positions.values().collect::<Vec<_>>(),
        crashed.positions.values().collect::<Vec<_>>()
    );
    assert_eq!(reference.devices, crashed.devices);
    assert_eq!(
        reference.events, crashed.events,
        "events judged into the state"
    );
}
