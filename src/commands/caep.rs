//! `vigil caep`: the signing key as receivers see it.

use crate::compose;
use crate::config::Config;
use crate::error::{Error, SetupError};
use std::path::PathBuf;

/// What to do with the CAEP signing key.
#[derive(clap::Subcommand)]
pub enum CaepAction {
    /// Print the JWK Set receivers verify vigil's SETs with (the public key of `[caep]
    /// key_file`, under its `kid`): to publish where the Shared Signals transmitter is not
    /// reachable, or to check a rotation.
    Jwks {
        /// Config file (TOML) with a `[caep]` section.
        #[arg(long)]
        config: PathBuf,
    },
}

/// Runs `vigil caep`.
pub fn command(action: CaepAction, out: &mut dyn std::io::Write) -> Result<(), Error> {
    match action {
        CaepAction::Jwks { config } => {
            let loaded = Config::load(&config).map_err(SetupError::from)?;
            let Some(caep) = &loaded.caep else {
                return Err(SetupError::Usage(format!(
                    "`{}` has no [caep] section",
                    config.display()
                ))
                .into());
            };
            let signer = compose::caep_signer(caep)?;
            let text = serde_json::to_string_pretty(&signer.jwks()).unwrap_or_default();
            writeln!(out, "{text}").map_err(|source| Error::Io {
                what: "cannot write the JWK Set",
                source,
            })
        }
    }
}
