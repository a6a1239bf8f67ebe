//! The stored state format: `tests/fixtures/state-v1.bin` is one identity's state as
//! version 1 wrote it (the richest identity of a simulated month, with sessions, travel,
//! access baselines and failures). This build must decode it, and while the format is
//! still version 1, encode it back to the same bytes. When the format changes, the new
//! version must still decode this file (a migration), and this test says so. Version 2
//! (32-bit device fingerprints in a session's context, peaks in tenths) reads it as is.
//!
//! Regenerate (only when deliberately starting a new version, keeping the old file):
//! `VIGIL_WRITE_STATE_FIXTURE=1 cargo test --test state_format`.

mod common;

use vigil_engine::store::{decode, encode, Store, FORMAT_VERSION};
use vigil_rules::IdentityState;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/state-v1.bin");

#[test]
fn version_1_state_still_decodes() {
    if std::env::var_os("VIGIL_WRITE_STATE_FIXTURE").is_some() {
        write_fixture();
    }
    let bytes = std::fs::read(FIXTURE).expect("the version 1 fixture");
    assert_eq!(bytes[0], 1, "the fixture is version 1");
    let state: IdentityState = decode("the fixture", &bytes).expect("version 1 decodes");
    assert!(state.profile.first_seen().is_some());
    assert!(!state.profile.countries.is_empty());
    assert!(!state.travel.fixes().is_empty());
    assert!(state.access.learned(None) > 0);
    if FORMAT_VERSION == 1 {
        assert_eq!(encode(&state), bytes, "version 1 encodes to the same bytes");
    } else {
        // Migrated: written in this version, it reads back the same.
        let again = encode(&state);
        assert_eq!(again[0], FORMAT_VERSION);
        let back: IdentityState = decode("the migrated fixture", &again).unwrap();
        assert_eq!(back, state);
    }
}

fn write_fixture() {
    let folder = tempfile::tempdir().unwrap();
    let (input, _) = common::simulated_input(folder.path(), 60, 30, 3, 0.3);
    vigil::replay::replay(&vigil::replay::ReplayOptions {
        inputs: vec![input],
        format: vigil_ingest::Format::Native,
        policy: None,
        config: None,
        output: folder.path().join("decisions.jsonl"),
        rejects: None,
        state: Some(folder.path().join("state")),
        archive: None,
    })
    .unwrap();
    let store = Store::open(&folder.path().join("state")).unwrap();
    let (_, richest) = store
        .identities()
        .unwrap()
        .into_iter()
        .filter(|(identity, _)| identity.starts_with("user"))
        .max_by_key(|(_, bytes)| bytes.len())
        .unwrap();
    std::fs::create_dir_all(std::path::Path::new(FIXTURE).parent().unwrap()).unwrap();
    std::fs::write(FIXTURE, richest).unwrap();
}
