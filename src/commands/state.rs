//! `vigil state`: what a state folder holds about one identity, and forgetting one.
//!
//! Both work on a stopped engine's folder: redb locks the file while `vigil run` or
//! `vigil replay` has it open, and the error says so.

use crate::error::{Error, StateError};
use std::path::{Path, PathBuf};
use vigil_engine::store::Store;

/// What to do with a state folder.
#[derive(clap::Subcommand)]
pub enum StateAction {
    /// Print what vigil believes is normal for an identity, as JSON.
    Inspect {
        /// The identity.
        identity: String,
        /// The state folder.
        #[arg(long)]
        state: PathBuf,
    },
    /// Drop an identity's state (re-provisioned user, privacy request).
    Forget {
        /// The identity.
        identity: String,
        /// The state folder.
        #[arg(long)]
        state: PathBuf,
    },
}

/// Runs `vigil state`.
pub fn command(action: StateAction) -> Result<(), Error> {
    match action {
        StateAction::Inspect { identity, state } => {
            let text = inspect(&state, &identity)?;
            std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())
                .map_err(StateError::Write)?;
        }
        StateAction::Forget { identity, state } => {
            forget(&state, &identity)?;
            eprintln!("forgot `{identity}` in `{}`", state.display());
        }
    }
    Ok(())
}

fn open(dir: &Path) -> Result<Store, StateError> {
    if !dir.join(vigil_engine::store::STATE_FILE).is_file() {
        return Err(StateError::NotAState {
            dir: dir.to_path_buf(),
            file: vigil_engine::store::STATE_FILE,
        });
    }
    Store::open(dir).map_err(StateError::Open)
}

/// The stored state of `identity` as pretty JSON: its profile (learning start, countries,
/// ASNs, devices and clients with counts and last sighting, hour-of-week habits), travel
/// history, auth windows, device postures, access baselines, agent scope and sessions.
pub fn inspect(dir: &Path, identity: &str) -> Result<String, StateError> {
    let store = open(dir)?;
    let reader = store.reader().map_err(StateError::Store)?;
    let identity = &*vigil_schemas::canonical_identity(identity);
    let state = reader
        .identity(identity)
        .map_err(StateError::Store)?
        .ok_or_else(|| no_identity(dir, identity))?;
    let document = serde_json::json!({
        "identity": identity,
        "state": state,
    });
    serde_json::to_string_pretty(&document)
        .map(|text| text + "\n")
        .map_err(|error| StateError::Write(error.into()))
}

fn no_identity(dir: &Path, identity: &str) -> StateError {
    StateError::NoIdentity {
        identity: identity.to_string(),
        dir: dir.to_path_buf(),
    }
}

/// Forgets `identity` (any case of an e-mail address): its row, the devices it owns, its
/// attempts in the spray tracker and its place among agents' principals, rewriting the
/// file so no old page keeps it; an error when it had no row.
pub fn forget(dir: &Path, identity: &str) -> Result<(), StateError> {
    let store = open(dir)?;
    match store.forget(identity) {
        Ok(true) => Ok(()),
        Ok(false) => Err(no_identity(dir, identity)),
        Err(error) => Err(StateError::Store(error)),
    }
}
