//! The stored state format: `tests/fixtures/state-v1.bin` is one identity's state as
//! version 1 wrote it (the richest identity of a simulated month, with sessions, travel,
//! access baselines and failures). This build must decode it, and while the format is
//! still version 1, encode it back to the same bytes. When the format changes, the new
//! version must still decode this file (a migration), and this test says so. Version 2
//! (32-bit device fingerprints in a session's context, peaks in tenths) reads it as is.
//!
//! Regenerate (only when deliberately starting a new version, keeping the old file):
//! `VIGIL_WRITE_STATE_FIXTURE=1 cargo test --test state_format`.
//!
//! `tests/fixtures/state-v4.bin` and `state-v5.bin` hold states as versions 4 and 5 wrote
//! them (the richest identity of each kind and the largest rows of a simulated month,
//! each a little-endian u32 length and the row). Version 4 rows must decode (version 5
//! cut a profile's device fingerprints to 32 bits) and read back the same once written
//! again. In-memory layouts may change under a stored format (packed lists, parts moved
//! behind a box): every row of the current version's file must encode back to its exact
//! bytes. `VIGIL_WRITE_STATE_FIXTURE=5` writes the version 5 file (only when starting
//! that version).

mod common;

use vigil_engine::store::{decode, encode, Store, FORMAT_VERSION};
use vigil_rules::profile::Kind;
use vigil_rules::IdentityState;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/state-v1.bin");
const FIXTURE_V4: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/state-v4.bin");
const FIXTURE_V5: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/state-v5.bin");

/// The rows of a fixture of several.
fn rows_of(path: &str) -> Vec<Vec<u8>> {
    let file = std::fs::read(path).expect("the fixture");
    let mut rest = &file[..];
    let mut rows = Vec::new();
    while let Some((length, after)) = rest.split_first_chunk::<4>() {
        let (row, after) = after.split_at(u32::from_le_bytes(*length) as usize);
        rows.push(row.to_vec());
        rest = after;
    }
    assert!(rest.is_empty(), "the fixture ends after a whole row");
    rows
}

#[test]
fn version_1_state_still_decodes() {
    if std::env::var_os("VIGIL_WRITE_STATE_FIXTURE").is_some_and(|value| value == "1") {
        write_fixture();
    }
    let bytes = std::fs::read(FIXTURE).expect("the version 1 fixture");
    assert_eq!(bytes[0], 1, "the fixture is version 1");
    let state: IdentityState = decode("the fixture", &bytes).expect("version 1 decodes");
    assert!(state.profile.first_seen().is_some());
    assert!(!state.profile.known(Kind::Country).is_empty());
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

#[test]
fn version_4_states_still_decode() {
    let rows = rows_of(FIXTURE_V4);
    assert!(rows.len() >= 8, "{} rows", rows.len());
    let mut kinds = (false, false, false, false);
    for row in &rows {
        assert_eq!(row[0], 4, "the fixture is version 4");
        let state: IdentityState = decode("a fixture row", row).expect("version 4 decodes");
        kinds.0 |= state.profile.known(Kind::Country).len() > 1
            && state.profile.known(Kind::Device).len() > 1;
        kinds.1 |= state.scope().is_some();
        kinds.2 |= state.windows().is_some();
        kinds.3 |= !state.risks.sessions().is_empty();
        // Migrated: written in this version, it reads back the same.
        let again = encode(&state);
        assert_eq!(again[0], FORMAT_VERSION);
        let back: IdentityState = decode("the row again", &again).unwrap();
        assert_eq!(back, state);
    }
    assert_eq!(
        kinds,
        (true, true, true, true),
        "rows with two countries and devices, an agent scope, auth windows and sessions"
    );
}

#[test]
fn version_5_states_encode_back_to_their_bytes() {
    if std::env::var_os("VIGIL_WRITE_STATE_FIXTURE").is_some_and(|value| value == "5") {
        write_rows(FIXTURE_V5);
    }
    let rows = rows_of(FIXTURE_V5);
    assert_eq!(rows.len(), rows_of(FIXTURE_V4).len());
    for (index, row) in rows.iter().enumerate() {
        assert_eq!(row[0], 5, "the fixture is version 5");
        let state: IdentityState = decode("a fixture row", row).expect("version 5 decodes");
        let again = encode(&state);
        if FORMAT_VERSION == 5 {
            assert_eq!(&again, row, "row {index} encodes back to its bytes");
        }
        let back: IdentityState = decode("the row again", &again).unwrap();
        assert_eq!(back, state);
    }
}

/// Every stored row of a simulated month (60 identities, 30 days), by identity.
fn simulated_rows() -> Vec<(String, Vec<u8>)> {
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
    store.identities().unwrap()
}

/// Writes the largest rows of a simulated month, the first (largest) of each kind of
/// identity (people, services, agents) and the first with auth windows.
fn write_rows(path: &str) {
    let mut rows = simulated_rows();
    rows.sort_by_key(|(identity, bytes)| (std::cmp::Reverse(bytes.len()), identity.clone()));
    let kind = |identity: &str| {
        let prefix = identity.split(|c: char| !c.is_ascii_alphabetic()).next();
        prefix.map(str::to_string)
    };
    let mut chosen: Vec<usize> = (0..rows.len().min(8)).collect();
    let mut kinds_seen = Vec::new();
    let mut windows_seen = false;
    for (index, (identity, bytes)) in rows.iter().enumerate() {
        let windows = decode::<IdentityState>("a row", bytes)
            .unwrap()
            .windows()
            .is_some();
        let first_of_kind = !kinds_seen.contains(&kind(identity));
        let first_windows = windows && !windows_seen;
        kinds_seen.push(kind(identity));
        windows_seen |= windows;
        if (first_of_kind || first_windows) && !chosen.contains(&index) {
            chosen.push(index);
        }
    }
    let mut file = Vec::new();
    for index in chosen {
        let bytes = &rows[index].1;
        file.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        file.extend_from_slice(bytes);
    }
    std::fs::write(path, file).unwrap();
}

fn write_fixture() {
    let (_, richest) = simulated_rows()
        .into_iter()
        .filter(|(identity, _)| identity.starts_with("user"))
        .max_by_key(|(_, bytes)| bytes.len())
        .unwrap();
    std::fs::create_dir_all(std::path::Path::new(FIXTURE).parent().unwrap()).unwrap();
    std::fs::write(FIXTURE, richest).unwrap();
}
