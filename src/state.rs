//! `vigil state`: what a state folder holds about one identity, and forgetting one.
//!
//! Both work on a stopped engine's folder: redb locks the file while `vigil run` or
//! `vigil replay` has it open, and the error says so.

use crate::replay::ReplayError;
use std::path::Path;
use vigil_engine::store::Store;

fn open(dir: &Path) -> Result<Store, ReplayError> {
    if !dir.join(vigil_engine::store::STATE_FILE).is_file() {
        return Err(ReplayError::Setup(format!(
            "`{}` holds no vigil state (no `{}`)",
            dir.display(),
            vigil_engine::store::STATE_FILE
        )));
    }
    Store::open(dir).map_err(|error| ReplayError::Setup(error.to_string()))
}

/// The stored state of `identity` as pretty JSON: its profile (learning start, countries,
/// ASNs, devices and clients with counts and last sighting, hour-of-week habits), travel
/// history, auth windows, device postures, access baselines, agent scope and sessions.
pub fn inspect(dir: &Path, identity: &str) -> Result<String, ReplayError> {
    let store = open(dir)?;
    let reader = store
        .reader()
        .map_err(|error| ReplayError::Run(error.to_string()))?;
    let state = reader
        .identity(identity)
        .map_err(|error| ReplayError::Run(error.to_string()))?
        .ok_or_else(|| {
            ReplayError::Setup(format!(
                "no state for identity `{identity}` in `{}`",
                dir.display()
            ))
        })?;
    let document = serde_json::json!({
        "identity": identity,
        "state": state,
    });
    serde_json::to_string_pretty(&document)
        .map(|text| text + "\n")
        .map_err(|error| ReplayError::Run(error.to_string()))
}

/// Drops `identity` and the device ownerships pointing at it; an error when it was not
/// stored.
pub fn forget(dir: &Path, identity: &str) -> Result<(), ReplayError> {
    let store = open(dir)?;
    match store.forget(identity) {
        Ok(true) => Ok(()),
        Ok(false) => Err(ReplayError::Setup(format!(
            "no state for identity `{identity}` in `{}`",
            dir.display()
        ))),
        Err(error) => Err(ReplayError::Run(error.to_string())),
    }
}
