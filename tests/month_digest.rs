//! A simulated month through `vigil replay` gives byte-identical decisions from one
//! version to the next: the digest below must hold after every change that means to keep
//! behaviour (taken before the pipeline was rewritten, commit ef6c2e1; taken again after
//! the subtle variants of issue 25, whose simulator adds look-alikes to the month itself
//! and whose detectors decide differently by design). A change that means to alter
//! decisions updates it, and says why in its commit.

use sha2::{Digest, Sha256};
use vigil::replay::{replay, ReplayOptions};
use vigil_backtest::simulate::{simulate_to, SimulateOptions};
use vigil_ingest::Format;

/// SHA-256 of the decisions file of the month below, as `vigil replay` wrote it after
/// issue 25.
const DECISIONS_SHA256: &str = "98beecbf7893023f14dfce410b728346b02b2e9316491871f62d10299e6136ee";

#[test]
fn a_simulated_month_gives_the_same_decisions_byte_for_byte() {
    // Decision ids and triggers name the input as given: a relative name in a folder of
    // its own keeps them the same wherever the test runs (this binary has one test, so
    // changing its folder disturbs no other).
    let folder = tempfile::tempdir().unwrap();
    std::env::set_current_dir(folder.path()).unwrap();
    let events = std::path::PathBuf::from("events.jsonl");
    let options = SimulateOptions {
        identities: 150,
        days: 30,
        seed: 7,
        attack_rate: 0.2,
        ..SimulateOptions::default()
    };
    let mut writer = std::io::BufWriter::new(std::fs::File::create(&events).unwrap());
    let simulation = simulate_to(&options, &mut writer).unwrap();
    std::io::Write::flush(&mut writer).unwrap();
    drop(writer);
    let output = std::path::PathBuf::from("decisions.jsonl");
    let summary = replay(&ReplayOptions {
        inputs: vec![events],
        format: Format::Native,
        policy: None,
        config: None,
        output: output.clone(),
        rejects: None,
        state: None,
        archive: None,
    })
    .unwrap();
    assert_eq!(summary.read, simulation.stats.events);
    assert!(summary.decision_count() > 50, "{summary}");
    let decisions = std::fs::read(&output).unwrap();
    // `VIGIL_DIGEST_KEEP=FILE` keeps the decisions, to diff two versions' outputs.
    if let Some(keep) = std::env::var_os("VIGIL_DIGEST_KEEP") {
        std::fs::write(keep, &decisions).unwrap();
    }
    let digest: String = Sha256::digest(&decisions)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    assert_eq!(
        digest,
        DECISIONS_SHA256,
        "{} decisions in {} bytes",
        summary.decision_count(),
        decisions.len()
    );
}
