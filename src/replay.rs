//! `vigil replay`: the engine over files, deterministic, for backtests and tests.
//!
//! Records are read in batches; each batch is decoded and enriched on all cores, then
//! judged by the sharded engine, and its decisions are written in event-time order. A
//! malformed record goes to the rejects file with its file, line and reason, and the run
//! goes on; a missing input, a bad config or a bad policy stops the run before anything is
//! written.

use crate::config::Config;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use vigil_engine::{BatchStats, Engine};
use vigil_ingest::enrich::Enricher;
use vigil_ingest::file::{LineBatch, LineReader};
use vigil_ingest::{Decoded, Format};
use vigil_rules::{Policy, Rules};
use vigil_schemas::{Decision, Envelope, Origin};
use vigil_sinks::{JsonLines, Reject};

/// What to replay and where to write.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Input files of JSON lines (`-` for standard input).
    pub inputs: Vec<PathBuf>,
    /// Their format.
    pub format: Format,
    /// A policy file, overriding the config's.
    pub policy: Option<PathBuf>,
    /// A config file.
    pub config: Option<PathBuf>,
    /// Where decisions go (`-` for standard output).
    pub output: PathBuf,
    /// Where rejected records go; default: beside the output, `<output>.rejects.jsonl`.
    pub rejects: Option<PathBuf>,
}

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The run was set up wrongly (missing input, bad config or policy): exit code 2.
    #[error("{0}")]
    Setup(String),
    /// Something failed while running (a write): exit code 1.
    #[error("{0}")]
    Run(String),
}

impl ReplayError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            ReplayError::Setup(_) => 2,
            ReplayError::Run(_) => 1,
        }
    }
}

/// Counts of one run, printed as the summary.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Records read.
    pub read: u64,
    /// Records skipped as not of interest, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Records rejected.
    pub rejected: u64,
    /// Decisions by action and mode.
    pub decisions: BTreeMap<(String, String), u64>,
    /// Decisions by detector among their reasons.
    pub decisions_by_detector: BTreeMap<String, u64>,
    /// The engine's counts over all batches: events judged, unowned posture events,
    /// signals by detector, policy errors by rule.
    pub engine: BatchStats,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl Summary {
    /// Total decisions.
    pub fn decision_count(&self) -> u64 {
        self.decisions.values().sum()
    }

    /// Events judged.
    pub fn events(&self) -> u64 {
        self.engine.judged
    }

    /// Total skipped.
    pub fn skipped_count(&self) -> u64 {
        self.skipped.values().sum()
    }

    pub(crate) fn count_decision(&mut self, decision: &Decision) {
        *self
            .decisions
            .entry((
                decision.action.as_str().to_string(),
                decision.mode.as_str().to_string(),
            ))
            .or_default() += 1;
        for reason in &decision.reasons {
            *self
                .decisions_by_detector
                .entry(reason.detector.as_str().to_string())
                .or_default() += 1;
        }
    }
}

fn rate(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(formatter, "records read      {:>10}", self.read)?;
        writeln!(formatter, "events judged     {:>10}", self.engine.judged)?;
        writeln!(formatter, "skipped           {:>10}", self.skipped_count())?;
        for (reason, count) in &self.skipped {
            writeln!(formatter, "  {count:>8}  {reason}")?;
        }
        writeln!(formatter, "rejected          {:>10}", self.rejected)?;
        if self.engine.unowned > 0 {
            writeln!(formatter, "posture, no owner {:>10}", self.engine.unowned)?;
        }
        writeln!(formatter, "decisions         {:>10}", self.decision_count())?;
        for ((action, mode), count) in &self.decisions {
            writeln!(formatter, "  {count:>8}  {action} ({mode})")?;
        }
        if !self.decisions_by_detector.is_empty() {
            writeln!(formatter, "decisions by detector")?;
            for (detector, count) in &self.decisions_by_detector {
                writeln!(formatter, "  {count:>8}  {detector}")?;
            }
        }
        if !self.engine.signals.is_empty() {
            writeln!(formatter, "signals")?;
            let signals: BTreeMap<&str, u64> = self
                .engine
                .signals
                .iter()
                .map(|(detector, count)| (detector.as_str(), *count))
                .collect();
            for (detector, count) in signals {
                writeln!(formatter, "  {count:>8}  {detector}")?;
            }
        }
        let policy_errors: BTreeMap<&String, &vigil_engine::PolicyErrors> =
            self.engine.policy_errors.iter().collect();
        for (rule, errors) in policy_errors {
            writeln!(
                formatter,
                "policy errors     {:>10}  rule `{rule}`: {} (first at {})",
                errors.count, errors.first_message, errors.first_trigger
            )?;
        }
        write!(
            formatter,
            "elapsed           {:>10.3} s  ({:.0} events/s)",
            self.seconds,
            rate(self.read, self.seconds)
        )
    }
}

/// Loads config and policy as `replay` does: errors name the file and field.
pub fn load_rules(
    config_path: Option<&Path>,
    policy_override: Option<&Path>,
) -> Result<(Config, Arc<Rules>), ReplayError> {
    let config = match config_path {
        Some(path) => Config::load(path).map_err(|error| ReplayError::Setup(error.to_string()))?,
        None => Config::default(),
    };
    let policy_path = policy_override
        .map(Path::to_path_buf)
        .or_else(|| config.policy.clone());
    let policy = match &policy_path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|error| {
                ReplayError::Setup(format!("cannot read policy `{}`: {error}", path.display()))
            })?;
            Policy::from_yaml(&text, &path.display().to_string())
                .map_err(|error| ReplayError::Setup(error.to_string()))?
        }
        None => Policy::default_policy(),
    };
    let rules = Arc::new(Rules {
        config: config.rules.clone(),
        policy,
    });
    Ok((config, rules))
}

/// What decoding one record gave.
pub(crate) enum Outcome {
    Event(Envelope),
    Skipped(&'static str),
    Rejected(Reject),
}

/// The rejection of a record longer than [`vigil_ingest::MAX_RECORD_BYTES`] (files and
/// Kafka alike).
pub(crate) fn oversized(origin: Origin, length: u64, bytes: &[u8]) -> Outcome {
    let reason = format!(
        "record of {length} bytes exceeds the limit of {} bytes",
        vigil_ingest::MAX_RECORD_BYTES
    );
    Outcome::Rejected(Reject::new(origin, reason, bytes))
}

/// Flattens one decoder result (a batch member may itself be a batch) into outcomes.
pub(crate) fn flatten(
    result: Result<Decoded, vigil_ingest::DecodeError>,
    origin: &Origin,
    bytes: &[u8],
    enricher: &Enricher,
    outcomes: &mut Vec<Outcome>,
) {
    match result {
        Ok(Decoded::Event(mut event)) => {
            let tags = enricher.enrich(&mut event);
            outcomes.push(Outcome::Event(Envelope {
                event,
                origin: origin.clone(),
                tags,
            }));
        }
        Ok(Decoded::Skipped(reason)) => outcomes.push(Outcome::Skipped(reason)),
        Ok(Decoded::Batch(members)) => {
            for member in members {
                flatten(member, origin, bytes, enricher, outcomes);
            }
        }
        Err(error) => outcomes.push(Outcome::Rejected(Reject::new(
            origin.clone(),
            error.to_string(),
            bytes,
        ))),
    }
}

fn decode_one(
    batch: &LineBatch,
    index: usize,
    format: Format,
    enricher: &Enricher,
    outcomes: &mut Vec<Outcome>,
) {
    let span = &batch.lines[index];
    let origin = Origin::File {
        file: batch.file.clone(),
        line: span.line,
    };
    let bytes = batch.bytes(span);
    if let Some(length) = span.oversized {
        outcomes.push(oversized(origin, length, bytes));
        return;
    }
    flatten(
        vigil_ingest::decode(format, bytes),
        &origin,
        bytes,
        enricher,
        outcomes,
    );
}

/// Decodes a batch on `threads` threads, keeping record order (parts in order, each in
/// order: concatenating them would only move every outcome once more).
fn decode_batch(
    batch: &LineBatch,
    format: Format,
    enricher: &Enricher,
    threads: usize,
) -> Vec<Vec<Outcome>> {
    let count = batch.len();
    let threads = threads.clamp(1, count.max(1));
    let decode_range = |range: std::ops::Range<usize>| {
        let mut outcomes = Vec::with_capacity(range.len());
        for index in range {
            decode_one(batch, index, format, enricher, &mut outcomes);
        }
        outcomes
    };
    if threads == 1 {
        return vec![decode_range(0..count)];
    }
    // Several chunks per thread so a slow chunk does not leave a core idle; rayon's
    // persistent workers keep their allocator caches warm across batches.
    let chunk = count.div_ceil(threads * 4).max(1);
    (0..count.div_ceil(chunk))
        .into_par_iter()
        .map(|part| decode_range((part * chunk)..((part + 1) * chunk).min(count)))
        .collect()
}

/// The replay pipeline over already-loaded rules: usable by the CLI, tests and benches.
pub struct Pipeline {
    engine: Engine,
    enricher: Enricher,
    format: Format,
    threads: usize,
    batch_size: usize,
}

impl Pipeline {
    /// A pipeline with its engine.
    pub fn new(config: &Config, rules: Arc<Rules>, enricher: Enricher, format: Format) -> Pipeline {
        let threads = config.engine.shard_count();
        Pipeline {
            engine: Engine::new(rules, threads),
            enricher,
            format,
            threads,
            batch_size: config.engine.batch_size,
        }
    }

    /// The engine, for inspection.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Replays one reader to the end, calling `on_decision` and `on_reject` in order.
    pub fn run<D, R>(
        &mut self,
        reader: &mut LineReader,
        summary: &mut Summary,
        mut on_decision: D,
        mut on_reject: R,
    ) -> Result<(), ReplayError>
    where
        D: FnMut(&Decision) -> Result<(), ReplayError>,
        R: FnMut(&Reject) -> Result<(), ReplayError>,
    {
        // The reader runs one batch ahead on its own thread, so reading overlaps decoding
        // and judging; two batches circulate between it and the pipeline (bounded: the
        // reader waits when the pipeline is behind, nothing is dropped).
        let batch_size = self.batch_size;
        let name = reader.name().to_string();
        std::thread::scope(|scope| {
            let (filled_sender, filled) =
                std::sync::mpsc::sync_channel::<std::io::Result<LineBatch>>(1);
            let (recycle, recycled) = std::sync::mpsc::sync_channel::<LineBatch>(2);
            scope.spawn(move || {
                let mut spare = vec![LineBatch::default(), LineBatch::default()];
                loop {
                    let mut batch = spare
                        .pop()
                        .or_else(|| recycled.recv().ok())
                        .unwrap_or_default();
                    match reader.fill(&mut batch, batch_size) {
                        Ok(true) => {
                            if filled_sender.send(Ok(batch)).is_err() {
                                return;
                            }
                        }
                        Ok(false) => return,
                        Err(error) => {
                            let _ = filled_sender.send(Err(error));
                            return;
                        }
                    }
                }
            });
            // Decoding batch N+1 overlaps judging batch N: both halves are parallel
            // inside, and rayon's work stealing keeps both cores busy across the seam.
            let mut pending: Option<Vec<Envelope>> = None;
            for received in filled {
                let batch = received.map_err(|error| {
                    ReplayError::Run(format!("failed to read `{name}`: {error}"))
                })?;
                summary.read += batch.len() as u64;
                let (format, threads) = (self.format, self.threads);
                let (enricher, engine) = (&self.enricher, &mut self.engine);
                let judging = pending.take();
                let (outcomes, judged) = rayon::join(
                    || decode_batch(&batch, format, enricher, threads),
                    || judging.map(|envelopes| engine.process(envelopes)),
                );
                let _ = recycle.try_send(batch);
                if let Some(output) = judged {
                    record_output(output, summary, &mut on_decision)?;
                }
                pending = Some(sort_outcomes(outcomes, summary, &mut on_reject)?);
            }
            if let Some(envelopes) = pending {
                record_output(self.engine.process(envelopes), summary, &mut on_decision)?;
            }
            Ok(())
        })
    }
}

/// Splits decoded outcomes: events to judge, skips counted, rejects handed on.
fn sort_outcomes<R>(
    outcomes: Vec<Vec<Outcome>>,
    summary: &mut Summary,
    on_reject: &mut R,
) -> Result<Vec<Envelope>, ReplayError>
where
    R: FnMut(&Reject) -> Result<(), ReplayError>,
{
    let mut envelopes = Vec::with_capacity(outcomes.iter().map(Vec::len).sum());
    for outcome in outcomes.into_iter().flatten() {
        match outcome {
            Outcome::Event(envelope) => envelopes.push(envelope),
            Outcome::Skipped(reason) => {
                *summary.skipped.entry(reason.to_string()).or_default() += 1
            }
            Outcome::Rejected(reject) => {
                summary.rejected += 1;
                on_reject(&reject)?;
            }
        }
    }
    Ok(envelopes)
}

/// Counts a judged batch and hands on its decisions, in order.
fn record_output<D>(
    output: vigil_engine::BatchOutput,
    summary: &mut Summary,
    on_decision: &mut D,
) -> Result<(), ReplayError>
where
    D: FnMut(&Decision) -> Result<(), ReplayError>,
{
    summary.engine.merge(output.stats);
    for decision in &output.decisions {
        summary.count_decision(decision);
        on_decision(decision)?;
    }
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

/// Runs a replay end to end.
pub fn replay(options: &ReplayOptions) -> Result<Summary, ReplayError> {
    if options.inputs.is_empty() {
        return Err(ReplayError::Setup(
            "no input: give at least one `--input PATH`".into(),
        ));
    }
    for input in &options.inputs {
        if input != Path::new("-") && !input.is_file() {
            return Err(ReplayError::Setup(format!(
                "input file `{}` does not exist or is not a file",
                input.display()
            )));
        }
    }
    let (config, rules) = load_rules(options.config.as_deref(), options.policy.as_deref())?;
    let enricher =
        Enricher::open(&config.enrich).map_err(|error| ReplayError::Setup(error.to_string()))?;
    let started = Instant::now();
    let mut pipeline = Pipeline::new(&config, rules, enricher, options.format);
    let mut decisions = JsonLines::create(&options.output)
        .map_err(|error| ReplayError::Setup(error.to_string()))?;
    let rejects_path = options
        .rejects
        .clone()
        .unwrap_or_else(|| default_rejects_path(&options.output));
    let mut rejects: Option<JsonLines> = None;
    let mut summary = Summary::default();
    for input in &options.inputs {
        let mut reader = LineReader::open(input).map_err(|error| {
            ReplayError::Setup(format!("cannot open input `{}`: {error}", input.display()))
        })?;
        pipeline.run(
            &mut reader,
            &mut summary,
            |decision| {
                decisions
                    .write(decision)
                    .map_err(|error| ReplayError::Run(error.to_string()))
            },
            |reject| {
                if rejects.is_none() {
                    rejects = Some(
                        JsonLines::create(&rejects_path)
                            .map_err(|error| ReplayError::Run(error.to_string()))?,
                    );
                }
                match rejects.as_mut() {
                    Some(sink) => sink
                        .write(reject)
                        .map_err(|error| ReplayError::Run(error.to_string())),
                    None => Ok(()),
                }
            },
        )?;
    }
    decisions
        .finish()
        .map_err(|error| ReplayError::Run(error.to_string()))?;
    if let Some(sink) = rejects {
        sink.finish()
            .map_err(|error| ReplayError::Run(error.to_string()))?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
