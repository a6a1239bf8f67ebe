//! `vigil replay`: the engine over files, deterministic, for backtests and tests.
//!
//! Each input runs through the one pipeline ([`vigil_pipeline`]) with a file source:
//! records are read in batches, decoded and enriched on all cores, judged by the sharded
//! engine, and their decisions written in event-time order. A malformed record goes to the
//! rejects file with its file, line and reason, and the run goes on; a missing input, a
//! bad config or a bad policy stops the run before anything is written.
//!
//! With a state folder (`--state DIR` or `[state] dir`), the engine's state is
//! checkpointed to redb with the lines of each input it reflects, and a later run with the
//! same folder resumes after them: a backtest can go on day by day, and a killed replay
//! started again judges every event exactly once into its state. Decisions made after the
//! last checkpoint of a killed run are made again (same ids) and appended.

use crate::compose;
use crate::error::{Error, SetupError};
use std::path::{Path, PathBuf};
use std::time::Instant;
use vigil_ingest::enrich::Enricher;
use vigil_ingest::file::FileSource;
use vigil_ingest::Format;
use vigil_pipeline::{Pipeline, Summary};
use vigil_sinks::{DecisionsFile, JsonLines, Output, RejectsFile};

/// What to replay and where to write (the command's arguments).
#[derive(Debug, Clone, clap::Args)]
pub struct ReplayOptions {
    /// Input files of JSON lines (`-` for standard input).
    #[arg(long = "input", required = true, num_args = 1..)]
    pub inputs: Vec<PathBuf>,
    /// Input format: auto, native, ocsf, okta, entra, cloudtrail, auth0, gws.
    #[arg(long, default_value = "auto")]
    pub format: Format,
    /// Policy file (YAML), overriding the config's; default: the built-in policy.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Config file (TOML).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where decisions go (`-` for standard output).
    #[arg(long)]
    pub output: PathBuf,
    /// Where rejected records go; default `<output>.rejects.jsonl`.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// State folder: resume from it and checkpoint to it (a killed or finished replay
    /// goes on where it stopped); overrides `[state] dir`.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Archive folder: events, signals and decisions as Parquet, for `vigil sql`.
    #[arg(long)]
    pub archive: Option<PathBuf>,
}

/// Runs `vigil replay`, printing the summary.
pub fn command(options: &ReplayOptions) -> Result<(), Error> {
    let summary = replay(options)?;
    eprintln!("{summary}");
    Ok(())
}

/// The default rejects path: `decisions.jsonl` -> `decisions.rejects.jsonl`.
pub fn default_rejects_path(output: &Path) -> PathBuf {
    if output == Path::new("-") {
        return PathBuf::from("rejects.jsonl");
    }
    let stem = output
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "decisions".to_string());
    output.with_file_name(format!("{stem}.rejects.jsonl"))
}

/// Checks the inputs before anything is opened.
fn check_inputs(options: &ReplayOptions) -> Result<(), SetupError> {
    if options.inputs.is_empty() {
        return Err(SetupError::Usage(
            "no input: give at least one `--input PATH`".into(),
        ));
    }
    for input in &options.inputs {
        if input != Path::new("-") && !input.is_file() {
            return Err(SetupError::MissingInput(input.clone()));
        }
    }
    Ok(())
}

/// Runs a replay end to end.
pub fn replay(options: &ReplayOptions) -> Result<Summary, Error> {
    check_inputs(options)?;
    let (config, rules) =
        compose::load_rules(options.config.as_deref(), options.policy.as_deref())?;
    let enricher = Enricher::open(&config.enrich).map_err(SetupError::from)?;
    let started = Instant::now();
    let state_dir = options.state.as_ref().or(config.state.dir.as_ref());
    if state_dir.is_some() && options.inputs.iter().any(|input| input == Path::new("-")) {
        return Err(SetupError::Usage(
            "`--state` needs input files: standard input has no position to resume from".into(),
        )
        .into());
    }
    let engine = compose::engine(&config, rules, state_dir.map(PathBuf::as_path))?;
    // A resumed run adds to what the interrupted one wrote.
    let append = !engine.restored_positions().is_empty();
    let decisions = if append {
        JsonLines::append(&options.output)
    } else {
        JsonLines::create(&options.output)
    }
    .map_err(SetupError::from)?;
    let rejects_path = options
        .rejects
        .clone()
        .unwrap_or_else(|| default_rejects_path(&options.output));
    let mut outputs: Vec<Box<dyn Output>> = vec![
        Box::new(DecisionsFile::new(decisions)),
        Box::new(RejectsFile::new(rejects_path, append)),
    ];
    if let Some(dir) = options.archive.as_ref().or(config.archive.dir.as_ref()) {
        outputs.push(Box::new(compose::archive_output(&config, dir, false)?));
    }
    let mut pipeline = Pipeline::new(engine, enricher, outputs, compose::options(&config, false));
    // Decoding and judging run on rayon's workers; the loop itself needs one thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SetupError::Runtime)?;
    for input in &options.inputs {
        let mut source = FileSource::open(input, options.format, config.engine.batch_size)
            .map_err(SetupError::from)?;
        runtime.block_on(pipeline.run(&mut source, std::future::pending(), |_| {}))?;
    }
    let mut summary = pipeline.finish()?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
