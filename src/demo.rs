//! `vigil demo`: the main job on embedded defaults, no server and no file needed.
//!
//! Simulates three weeks of traffic for a few hundred identities with attacks woven in,
//! runs it through the same decode -> enrich -> engine -> policy pipeline as `vigil
//! replay`, prints the decisions as they are made, and ends with a summary and the
//! commands to try next.

use crate::config::Config;
use crate::replay::{load_rules, Pipeline, ReplayError, Summary};
use crate::report::render;
use crate::simulate::{simulate_to, SimulateOptions};
use std::io::Write;
use std::time::Instant;
use vigil_ingest::enrich::Enricher;
use vigil_ingest::file::LineReader;
use vigil_ingest::Format;
use vigil_schemas::{Action, Mode};

/// What the demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Identities simulated.
    pub identities: usize,
    /// Days simulated.
    pub days: u32,
    /// Seed.
    pub seed: u64,
    /// Print alerts too, not only enforcement decisions.
    pub all: bool,
}

/// Runs the demo, writing to `out`.
pub fn run(options: &DemoOptions, out: &mut dyn Write) -> Result<Summary, ReplayError> {
    let io_error = |error: std::io::Error| {
        ReplayError::Run(format!("failed to write the demo output: {error}"))
    };
    let simulate = SimulateOptions {
        identities: options.identities,
        days: options.days,
        seed: options.seed,
        // Dense enough that a few hundred identities show every kind of attack.
        attack_rate: 0.2,
        ..SimulateOptions::default()
    };
    let mut traffic = Vec::new();
    let generated = simulate_to(&simulate, &mut traffic).map_err(io_error)?;
    writeln!(
        out,
        "vigil demo: {} identities, {} days: {}\n",
        options.identities, options.days, generated.stats
    )
    .map_err(io_error)?;
    let (config, rules) = load_rules(None, None)?;
    let config = Config { ..config };
    let started = Instant::now();
    let mut pipeline = Pipeline::new(&config, rules, Enricher::default(), Format::Native);
    let mut reader = LineReader::new("demo".into(), Box::new(std::io::Cursor::new(traffic)));
    let mut summary = Summary::default();
    let mut hidden_alerts = 0u64;
    pipeline.run(
        &mut reader,
        &mut summary,
        |decision| {
            let quiet = decision.action == Action::Alert || decision.mode == Mode::Monitor;
            if quiet && !options.all {
                hidden_alerts += 1;
                return Ok(());
            }
            out.write_all(render(decision).as_bytes()).map_err(io_error)
        },
        |reject| {
            Err(ReplayError::Run(format!(
                "simulated record rejected: {}",
                reject.reason
            )))
        },
    )?;
    summary.seconds = started.elapsed().as_secs_f64();
    writeln!(out, "\n{summary}").map_err(io_error)?;
    if hidden_alerts > 0 {
        writeln!(out, "({hidden_alerts} alerts and monitor-mode decisions not shown: `vigil demo --all` shows them)").map_err(io_error)?;
    }
    writeln!(
        out,
        "\nnext (`vigil` is target/release/vigil after `cargo build --release`):\n  vigil simulate --identities 2000 --days 30 --output events.jsonl --labels labels.jsonl\n  vigil replay --input events.jsonl --output decisions.jsonl\n  vigil eval --decisions decisions.jsonl --labels labels.jsonl\n  vigil replay --input ../shared/data/elastic-integrations/okta/test-okta-system-events.log --format auto --output -"
    )
    .map_err(io_error)?;
    Ok(summary)
}
