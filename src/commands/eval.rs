//! `vigil eval`: decisions scored against the labels of simulated traffic.

use crate::error::Error;
use std::path::PathBuf;

/// What to score.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// Decisions, as JSON lines (what `vigil replay` writes).
    #[arg(long)]
    decisions: PathBuf,
    /// Labels, as JSON lines (what `vigil simulate --labels` writes).
    #[arg(long)]
    labels: PathBuf,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil eval`.
pub fn command(args: EvalArgs) -> Result<(), Error> {
    let report = vigil_backtest::eval::evaluate_files(&args.decisions, &args.labels)?;
    let text = if args.json {
        serde_json::to_string_pretty(&report)
            .map(|json| json + "\n")
            .map_err(std::io::Error::from)
    } else {
        Ok(vigil_backtest::eval::render_table(&report))
    };
    text.and_then(|text| std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes()))
        .map_err(|source| Error::Io {
            what: "failed to write the report",
            source,
        })
}
