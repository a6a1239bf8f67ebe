//! `vigil replay`: the engine over files, deterministic, for backtests and tests.
//!
//! Records are read in batches; each batch is decoded and enriched on all cores, then
//! judged by the sharded engine, and its decisions are written in event-time order. A
//! malformed record goes to the rejects file with its file, line and reason, and the run
//! goes on; a missing input, a bad config or a bad policy stops the run before anything is
//! written.
//!
//! With a state folder (`--state DIR` or `[state] dir`), the engine's state is
//! checkpointed to redb with the lines of each input it reflects, and a later run with the
//! same folder resumes after them: a backtest can go on day by day, and a killed replay
//! started again judges every event exactly once into its state. Decisions made after the
//! last checkpoint of a killed run are made again (same ids) and appended.

use crate::config::{Config, StateConfig};
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
use vigil_schemas::{Decision, Envelope, Origin, Timestamp};
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
    /// A state folder to resume from and checkpoint to (overrides `[state] dir`).
    pub state: Option<PathBuf>,
    /// An archive folder: events, signals and decisions as Parquet for `vigil sql`.
    pub archive: Option<PathBuf>,
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
    /// Records passed over because the restored state already reflects them (`vigil
    /// run` after a restart).
    pub resumed: u64,
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
        if self.resumed > 0 {
            writeln!(formatter, "already in state  {:>10}", self.resumed)?;
        }
        if self.engine.state_errors > 0 {
            writeln!(
                formatter,
                "state unreadable  {:>10}",
                self.engine.state_errors
            )?;
        }
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

/// Events before this (2000-01-01) are not logs of a live system: a broken or hostile
/// timestamp.
pub const EARLIEST_EVENT: Timestamp = Timestamp(946_684_800_000_000);

/// How far ahead of this machine's clock an event may be (clock skew between sources).
pub const MAX_AHEAD_SECS: i64 = 86_400;

/// Why an event's time cannot be judged, if it cannot: one event stamped in the year 9000
/// would move its identity's clock so far that every later event looks years late, and
/// one from 1900 would sit in every baseline as the oldest sighting.
fn implausible_time(time: Timestamp) -> Option<String> {
    if time < EARLIEST_EVENT {
        return Some(format!(
            "event time {time} is before {EARLIEST_EVENT}: not a log of a live system"
        ));
    }
    let latest = Timestamp(
        Timestamp::now()
            .0
            .saturating_add(MAX_AHEAD_SECS.saturating_mul(1_000_000)),
    );
    (time > latest).then(|| {
        format!("event time {time} is more than {MAX_AHEAD_SECS} s ahead of this machine's clock")
    })
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
            if let Some(reason) = implausible_time(event.time) {
                outcomes.push(Outcome::Rejected(Reject::new(
                    origin.clone(),
                    reason,
                    bytes,
                )));
                return;
            }
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

/// Where a replay's results go.
pub trait ReplaySink {
    /// One decision, in order.
    fn decision(&mut self, decision: &Decision) -> Result<(), ReplayError>;
    /// One rejected record.
    fn reject(&mut self, reject: &Reject) -> Result<(), ReplayError>;
    /// Hands everything so far to the operating system: called before each checkpoint,
    /// so a decision is never covered by a checkpoint without having been written.
    fn flush(&mut self) -> Result<(), ReplayError>;
    /// Whether events and signals are wanted too (the archive).
    fn wants_history(&self) -> bool {
        false
    }
    /// One decoded event, before it is judged (when [`ReplaySink::wants_history`]).
    fn event(&mut self, _envelope: &Envelope) -> Result<(), ReplayError> {
        Ok(())
    }
    /// One detector hit (when [`ReplaySink::wants_history`]).
    fn signal(&mut self, _signal: &vigil_engine::SignalRecord) -> Result<(), ReplayError> {
        Ok(())
    }
    /// A batch's events, signals and decisions are all in.
    fn end_batch(&mut self) -> Result<(), ReplayError> {
        Ok(())
    }
}

/// When a replay with a state folder checkpoints.
#[derive(Debug, Clone, Copy)]
struct Checkpoints {
    every_events: u64,
    interval: std::time::Duration,
}

/// The replay pipeline over already-loaded rules: usable by the CLI, tests and benches.
pub struct Pipeline {
    engine: Engine,
    enricher: Enricher,
    format: Format,
    threads: usize,
    batch_size: usize,
    checkpoints: Option<Checkpoints>,
}

/// The key of a file's position in the state store.
fn position_key(name: &str) -> String {
    let path = Path::new(name);
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    format!("file:{}", absolute.display())
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
            checkpoints: None,
        }
    }

    /// A pipeline whose engine keeps its state in `dir`, resuming from it.
    pub fn with_state(
        config: &Config,
        rules: Arc<Rules>,
        enricher: Enricher,
        format: Format,
        dir: &Path,
        state: &StateConfig,
    ) -> Result<Pipeline, ReplayError> {
        let threads = config.engine.shard_count();
        let store = vigil_engine::store::Store::open(dir)
            .map_err(|error| ReplayError::Setup(error.to_string()))?;
        let engine = Engine::with_store(rules, threads, Arc::new(store), state.limits())
            .map_err(|error| ReplayError::Setup(error.to_string()))?;
        Ok(Pipeline {
            engine,
            enricher,
            format,
            threads,
            batch_size: config.engine.batch_size,
            checkpoints: Some(Checkpoints {
                every_events: state.checkpoint_events,
                interval: std::time::Duration::from_millis(state.checkpoint_interval_ms),
            }),
        })
    }

    /// The engine, for inspection.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether the state folder already holds a position for any input (a resumed run).
    pub fn resuming(&self) -> bool {
        !self.engine.restored_positions().is_empty()
    }

    /// Checkpoints the state with `position` lines of the input `key` consumed.
    fn checkpoint(
        &mut self,
        key: &str,
        position: u64,
        sink: &mut dyn ReplaySink,
    ) -> Result<(), ReplayError> {
        sink.flush()?;
        self.engine
            .checkpoint(vec![(key.to_string(), position)])
            .map_err(|error| ReplayError::Run(error.to_string()))?;
        Ok(())
    }

    /// Replays one reader to the end (with a state folder: from where the state says it
    /// was left), handing decisions and rejects to `sink` in order.
    pub fn run(
        &mut self,
        reader: &mut LineReader,
        summary: &mut Summary,
        sink: &mut dyn ReplaySink,
    ) -> Result<(), ReplayError> {
        let name = reader.name().to_string();
        let key = self.checkpoints.map(|_| position_key(&name));
        let history = sink.wants_history();
        self.engine.keep_signals(history);
        if let Some(key) = &key {
            let done = self
                .engine
                .restored_positions()
                .get(key)
                .copied()
                .unwrap_or(0);
            if done > 0 {
                tracing::info!(input = %name, lines = done, "resuming after the lines already judged");
                reader.skip_lines(done).map_err(|error| {
                    ReplayError::Run(format!("failed to read `{name}`: {error}"))
                })?;
            }
        }
        // The reader runs one batch ahead on its own thread, so reading overlaps decoding
        // and judging; two batches circulate between it and the pipeline (bounded: the
        // reader waits when the pipeline is behind, nothing is dropped).
        let batch_size = self.batch_size;
        let mut last_checkpoint = Instant::now();
        let mut end_line = 0;
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
            let mut pending: Option<(Vec<Envelope>, u64)> = None;
            for received in filled {
                let batch = received.map_err(|error| {
                    ReplayError::Run(format!("failed to read `{name}`: {error}"))
                })?;
                summary.read += batch.len() as u64;
                let (format, threads) = (self.format, self.threads);
                let (enricher, engine) = (&self.enricher, &mut self.engine);
                let judging = pending.take();
                let batch_end = batch.end_line;
                let (outcomes, judged) = rayon::join(
                    || decode_batch(&batch, format, enricher, threads),
                    || judging.map(|(envelopes, end)| (engine.process(envelopes), end)),
                );
                let _ = recycle.try_send(batch);
                if let Some((output, end)) = judged {
                    record_output(output, summary, sink)?;
                    end_line = end;
                    if let (Some(key), Some(every)) = (&key, self.checkpoints) {
                        if self.engine.events_since_checkpoint() >= every.every_events
                            || last_checkpoint.elapsed() >= every.interval
                        {
                            self.checkpoint(key, end_line, sink)?;
                            last_checkpoint = Instant::now();
                        }
                    }
                }
                let envelopes = sort_outcomes(outcomes, summary, sink)?;
                if history {
                    for envelope in &envelopes {
                        sink.event(envelope)?;
                    }
                }
                pending = Some((envelopes, batch_end));
            }
            if let Some((envelopes, end)) = pending {
                record_output(self.engine.process(envelopes), summary, sink)?;
                end_line = end;
            }
            Ok::<(), ReplayError>(())
        })?;
        if let Some(key) = &key {
            if end_line > 0 {
                self.checkpoint(key, end_line, sink)?;
            }
            self.engine
                .finish_checkpoint()
                .map_err(|error| ReplayError::Run(error.to_string()))?;
        }
        Ok(())
    }
}

/// Splits decoded outcomes: events to judge, skips counted, rejects handed on.
fn sort_outcomes(
    outcomes: Vec<Vec<Outcome>>,
    summary: &mut Summary,
    sink: &mut dyn ReplaySink,
) -> Result<Vec<Envelope>, ReplayError> {
    let mut envelopes = Vec::with_capacity(outcomes.iter().map(Vec::len).sum());
    for outcome in outcomes.into_iter().flatten() {
        match outcome {
            Outcome::Event(envelope) => envelopes.push(envelope),
            Outcome::Skipped(reason) => {
                *summary.skipped.entry(reason.to_string()).or_default() += 1
            }
            Outcome::Rejected(reject) => {
                summary.rejected += 1;
                sink.reject(&reject)?;
            }
        }
    }
    Ok(envelopes)
}

/// Counts a judged batch and hands on its decisions, in order.
fn record_output(
    output: vigil_engine::BatchOutput,
    summary: &mut Summary,
    sink: &mut dyn ReplaySink,
) -> Result<(), ReplayError> {
    summary.engine.merge(output.stats);
    for signal in &output.signals {
        sink.signal(signal)?;
    }
    for decision in &output.decisions {
        summary.count_decision(decision);
        sink.decision(decision)?;
    }
    sink.end_batch()
}

/// Decisions and rejects to JSON-lines files (the rejects file is created at the first
/// reject), and events, signals and decisions to the archive when there is one.
struct FileSinks {
    decisions: JsonLines,
    rejects: Option<JsonLines>,
    rejects_path: PathBuf,
    append: bool,
    archive: Option<vigil_sinks::archive::Archive>,
}

pub(crate) fn archive_error(error: vigil_sinks::archive::ArchiveError) -> ReplayError {
    ReplayError::Run(error.to_string())
}

/// Archives one kept signal (files, Kafka and the archive bench alike).
pub fn archive_signal(
    archive: &mut vigil_sinks::archive::Archive,
    record: &vigil_engine::SignalRecord,
) -> Result<(), ReplayError> {
    archive
        .signal(
            record.time,
            &record.identity,
            record.session_id.as_deref(),
            &record.signal,
            record.risk,
            &record.origin,
        )
        .map_err(archive_error)
}

fn run_error(error: vigil_sinks::SinkError) -> ReplayError {
    ReplayError::Run(error.to_string())
}

impl ReplaySink for FileSinks {
    fn decision(&mut self, decision: &Decision) -> Result<(), ReplayError> {
        if let Some(archive) = &mut self.archive {
            archive.decision(decision).map_err(archive_error)?;
        }
        self.decisions.write(decision).map_err(run_error)
    }

    fn wants_history(&self) -> bool {
        self.archive.is_some()
    }

    fn event(&mut self, envelope: &Envelope) -> Result<(), ReplayError> {
        match &mut self.archive {
            Some(archive) => archive.event(envelope).map_err(archive_error),
            None => Ok(()),
        }
    }

    fn signal(&mut self, record: &vigil_engine::SignalRecord) -> Result<(), ReplayError> {
        match &mut self.archive {
            Some(archive) => archive_signal(archive, record),
            None => Ok(()),
        }
    }

    fn end_batch(&mut self) -> Result<(), ReplayError> {
        match &mut self.archive {
            Some(archive) => archive.end_batch().map_err(archive_error),
            None => Ok(()),
        }
    }

    fn reject(&mut self, reject: &Reject) -> Result<(), ReplayError> {
        let sink = match &mut self.rejects {
            Some(sink) => sink,
            None => {
                let opened = if self.append {
                    JsonLines::append(&self.rejects_path)
                } else {
                    JsonLines::create(&self.rejects_path)
                };
                self.rejects.insert(opened.map_err(run_error)?)
            }
        };
        sink.write(reject).map_err(run_error)
    }

    fn flush(&mut self) -> Result<(), ReplayError> {
        self.decisions.flush().map_err(run_error)?;
        if let Some(rejects) = &mut self.rejects {
            rejects.flush().map_err(run_error)?;
        }
        Ok(())
    }
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
    let state_dir = options.state.as_ref().or(config.state.dir.as_ref());
    let mut pipeline = match state_dir {
        Some(dir) => {
            if options.inputs.iter().any(|input| input == Path::new("-")) {
                return Err(ReplayError::Setup(
                    "`--state` needs input files: standard input has no position to resume from"
                        .into(),
                ));
            }
            Pipeline::with_state(&config, rules, enricher, options.format, dir, &config.state)?
        }
        None => Pipeline::new(&config, rules, enricher, options.format),
    };
    // A resumed run adds to what the interrupted one wrote.
    let append = pipeline.resuming();
    let decisions = if append {
        JsonLines::append(&options.output)
    } else {
        JsonLines::create(&options.output)
    }
    .map_err(|error| ReplayError::Setup(error.to_string()))?;
    let mut sinks = FileSinks {
        decisions,
        rejects: None,
        rejects_path: options
            .rejects
            .clone()
            .unwrap_or_else(|| default_rejects_path(&options.output)),
        append,
        archive: options
            .archive
            .as_ref()
            .or(config.archive.dir.as_ref())
            .map(|dir| config.open_archive(dir))
            .transpose()
            .map_err(|error| ReplayError::Setup(error.to_string()))?,
    };
    let mut summary = Summary::default();
    for input in &options.inputs {
        let mut reader = LineReader::open(input).map_err(|error| {
            ReplayError::Setup(format!("cannot open input `{}`: {error}", input.display()))
        })?;
        pipeline.run(&mut reader, &mut summary, &mut sinks)?;
    }
    sinks.decisions.finish().map_err(run_error)?;
    if let Some(archive) = sinks.archive.take() {
        archive.finish().map_err(archive_error)?;
    }
    if let Some(sink) = sinks.rejects {
        sink.finish().map_err(run_error)?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
