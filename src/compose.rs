//! Config composition: the rules, engine, archive and pipeline options a config asks for,
//! built the same way for files and Kafka. Every error names the file or field.

use crate::config::Config;
use crate::error::SetupError;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use vigil_engine::Engine;
use vigil_pipeline::{Cadence, Options};
use vigil_rules::{Policy, Rules};
use vigil_sinks::archive::{ArchiveOutput, LiveFlush};

/// How often a live run writes the archive's buffers out, so files appear while it runs.
pub const ARCHIVE_FLUSH: Duration = Duration::from_secs(60);

/// Loads the config (defaults without one) and the policy it names, or `policy_override`
/// (the built-in policy without either).
pub fn load_rules(
    config_path: Option<&Path>,
    policy_override: Option<&Path>,
) -> Result<(Config, Arc<Rules>), SetupError> {
    let config = match config_path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let policy_path = policy_override
        .map(Path::to_path_buf)
        .or_else(|| config.policy.clone());
    let policy = match &policy_path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| SetupError::PolicyFile {
                path: path.clone(),
                source,
            })?;
            Policy::from_yaml(&text, &path.display().to_string())?
        }
        None => Policy::default_policy(),
    };
    let rules = Arc::new(Rules {
        config: config.rules.clone(),
        policy,
    });
    Ok((config, rules))
}

/// The engine, with its state in `state_dir` (restored from it) when one is given.
pub fn engine(
    config: &Config,
    rules: Arc<Rules>,
    state_dir: Option<&Path>,
) -> Result<Engine, SetupError> {
    let shards = config.engine.shard_count();
    let Some(dir) = state_dir else {
        return Ok(Engine::new(rules, shards));
    };
    let store = vigil_engine::store::Store::open(dir).map_err(SetupError::State)?;
    Engine::with_store(rules, shards, Arc::new(store), config.state.limits())
        .map_err(SetupError::State)
}

/// The pipeline's options: decoding threads, checkpoint cadence, live or replay.
pub fn options(config: &Config, live: bool) -> Options {
    Options {
        threads: config.engine.shard_count(),
        checkpoints: Some(Cadence {
            every_events: config.state.checkpoint_events,
            interval: Duration::from_millis(config.state.checkpoint_interval_ms),
        }),
        live,
    }
}

/// The archive in `dir` as an output; a live run writes it out every [`ARCHIVE_FLUSH`]
/// and prunes the days past `[archive] retention_days`.
pub fn archive_output(
    config: &Config,
    dir: &Path,
    live: bool,
) -> Result<ArchiveOutput, SetupError> {
    let archive = config.open_archive(dir).map_err(SetupError::Archive)?;
    let live = live.then(|| LiveFlush {
        every: ARCHIVE_FLUSH,
        retention: config
            .archive
            .retention_days
            .map(|days| (dir.to_path_buf(), days)),
    });
    Ok(ArchiveOutput::new(archive, live))
}
