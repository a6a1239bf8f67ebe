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
use vigil_sinks::caep::Signer;
use vigil_sinks::ssf::{Outbox, Transmitter};

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
        return Ok(Engine::new(rules, shards).with_limits(config.state.limits()));
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
        max_clock_skew_secs: config.engine.max_clock_skew.0,
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

/// Loads the CAEP signing key; errors name the field and the file.
pub fn caep_signer(caep: &crate::config::CaepConfig) -> Result<Signer, SetupError> {
    if let Some(mode) = readable_by_others(&caep.key_file) {
        tracing::warn!(
            path = %caep.key_file.display(),
            mode = format_args!("{mode:04o}"),
            "the CAEP signing key can be read by the file's group or by others: \
             `chmod 600` it (anyone who reads it can forge revocations)"
        );
    }
    let pem =
        std::fs::read_to_string(&caep.key_file).map_err(|source| SetupError::CaepKeyFile {
            path: caep.key_file.clone(),
            source,
        })?;
    let signer = Signer::from_pem(&pem, "").map_err(|source| SetupError::CaepKey {
        path: caep.key_file.clone(),
        source,
    })?;
    let kid = caep.kid.clone().unwrap_or_else(|| signer.thumbprint());
    Ok(signer.with_kid(kid))
}

/// The permission bits of `path` when its group or others may read or write it (Unix).
pub fn readable_by_others(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o7777;
        (mode & 0o066 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// How users and devices become SET subjects, from `[caep]`.
pub fn caep_identity(caep: &crate::config::CaepConfig) -> vigil_schemas::caep::CaepIdentity {
    vigil_schemas::caep::CaepIdentity {
        issuer: caep.issuer.clone(),
        audience: caep.audience.clone(),
        subject_issuer: caep.subject_issuer.clone(),
        simple_subjects: caep.simple_subjects,
    }
}

/// The Shared Signals transmitter `[ssf]` asks for (none without it), its outbox in the
/// state folder (in memory without one: pending SETs do not survive a restart).
pub fn transmitter(config: &Config) -> Result<Option<Transmitter>, SetupError> {
    let (Some(ssf), Some(caep)) = (&config.ssf, &config.caep) else {
        return Ok(None);
    };
    let receivers = ssf
        .receivers(Path::new("."), &caep.audience)
        .map_err(SetupError::Ssf)?;
    let outbox = match &config.state.dir {
        Some(dir) => Outbox::open(&dir.join(vigil_sinks::ssf::outbox::FILE)),
        None => {
            tracing::warn!("no `state.dir`: the SSF outbox is in memory and pending SETs do not survive a restart");
            Outbox::in_memory()
        }
    }
    .map_err(SetupError::Outbox)?;
    let settings = vigil_sinks::ssf::Settings {
        issuer: caep.issuer.clone(),
        config: ssf.clone(),
        receivers,
        subjects: caep_identity(caep),
        signer: caep_signer(caep)?,
    };
    Transmitter::new(settings, outbox)
        .map(Some)
        .map_err(SetupError::Outbox)
}
