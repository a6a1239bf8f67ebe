//! `vigil archive`: retention and privacy in the archive.

use crate::config::Config;
use crate::error::{Error, SetupError};
use std::path::PathBuf;

/// What to do to the archive.
#[derive(clap::Subcommand)]
pub enum ArchiveAction {
    /// Remove the days before a date (`YYYY-MM-DD`) from every table: `--before`, else
    /// today minus the config's `[archive] retention_days`.
    Prune {
        /// The first day kept.
        #[arg(long)]
        before: Option<String>,
        /// Config file (TOML) with `[archive] retention_days` (and `dir`).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The archive folder; default the config's `[archive] dir`, else `archive`.
        #[arg(long)]
        archive: Option<PathBuf>,
    },
    /// Rewrite the files holding an identity's rows without them (a privacy request).
    Forget {
        /// The identity.
        identity: String,
        /// The archive folder.
        #[arg(long, default_value = "archive")]
        archive: PathBuf,
    },
}

/// Runs `vigil archive`.
pub fn command(action: ArchiveAction) -> Result<(), Error> {
    match action {
        ArchiveAction::Prune {
            before,
            config,
            archive,
        } => {
            let config = match config {
                Some(path) => Config::load(&path).map_err(SetupError::from)?,
                None => Config::default(),
            };
            let archive = archive
                .or(config.archive.dir.clone())
                .unwrap_or_else(|| PathBuf::from("archive"));
            let before = match (before, config.archive.retention_days) {
                (Some(before), _) => before,
                (None, Some(days)) => {
                    vigil_sinks::archive::retention_cutoff(vigil_schemas::Timestamp::now(), days)
                }
                (None, None) => return Err(SetupError::Usage(
                    "give `--before YYYY-MM-DD`, or a `--config` with `[archive] retention_days`"
                        .into(),
                )
                .into()),
            };
            let valid = before.len() == 10
                && vigil_schemas::Timestamp::parse(&format!("{before}T00:00:00Z")).is_ok();
            if !valid {
                return Err(SetupError::Usage(format!(
                    "`--before {before}`: expected a date, YYYY-MM-DD"
                ))
                .into());
            }
            let removed = vigil_sinks::archive::prune(&archive, &before)?;
            eprintln!("removed {} day folders before {before}", removed.len());
        }
        ArchiveAction::Forget { identity, archive } => {
            let done = vigil_sinks::archive::forget(&archive, &identity)?;
            eprintln!(
                "removed {} rows of `{identity}` from {} files",
                done.rows, done.files
            );
        }
    }
    Ok(())
}
