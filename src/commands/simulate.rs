//! `vigil simulate`: simulated traffic and its labels to files.

use crate::error::Error;
use std::io::Write;
use std::path::{Path, PathBuf};
use vigil_backtest::simulate::{simulate_to, write_labels, Mix, SimulateOptions};

/// What to simulate and where to write it.
#[derive(clap::Args)]
pub struct SimulateArgs {
    /// Identities.
    #[arg(long, default_value_t = 1000)]
    identities: usize,
    /// Days.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Attacks per identity over the run.
    #[arg(long, default_value_t = 0.05)]
    attack_rate: f64,
    /// Which attacks: `classic` (textbook), `subtle` (failed brute force, slow spray,
    /// quiet exfiltration, confused deputy) or `all` (half and half).
    #[arg(long, default_value = "classic", value_parser = parse_mix)]
    mix: Mix,
    /// Output file (`-` for standard output).
    #[arg(long)]
    output: PathBuf,
    /// Where the ground truth goes (attacks and sessions, JSON lines) for `vigil eval`.
    #[arg(long)]
    labels: Option<PathBuf>,
}

fn parse_mix(name: &str) -> Result<Mix, String> {
    Mix::parse(name).ok_or_else(|| format!("`{name}` is not a mix: classic, subtle or all"))
}

fn create(path: &Path) -> Result<Box<dyn Write>, Error> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::BufWriter::new(std::io::stdout())));
    }
    let file = std::fs::File::create(path).map_err(|source| Error::Io {
        what: "cannot create the output",
        source: std::io::Error::new(source.kind(), format!("`{}`: {source}", path.display())),
    })?;
    Ok(Box::new(std::io::BufWriter::new(file)))
}

fn written(source: std::io::Error) -> Error {
    Error::Io {
        what: "failed to write the simulation",
        source,
    }
}

/// Runs `vigil simulate`.
pub fn command(args: SimulateArgs) -> Result<(), Error> {
    let options = SimulateOptions {
        identities: args.identities,
        days: args.days,
        seed: args.seed,
        attack_rate: args.attack_rate,
        mix: args.mix,
        ..SimulateOptions::default()
    };
    let mut writer = create(&args.output)?;
    let simulation = simulate_to(&options, &mut writer).map_err(written)?;
    writer.flush().map_err(written)?;
    if let Some(path) = &args.labels {
        let mut writer = create(path)?;
        write_labels(&simulation.labels, &mut writer).map_err(written)?;
        writer.flush().map_err(written)?;
    }
    eprintln!("{}", simulation.stats);
    Ok(())
}
