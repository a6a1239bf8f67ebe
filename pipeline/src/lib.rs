//! vigil's one loop, for files and Kafka alike: a [`Source`]'s records through the record
//! step (decode, time check, enrich) and the engine, results to every [`Output`], input
//! positions committed, state checkpointed.
//!
//! Guarantees:
//! - **Order**: decisions reach every output in the order the engine made them (event
//!   time within a batch, batches in input order); a position is committed only after
//!   every output has acknowledged the results of the records before it.
//! - **Durability**: with a state store, the engine's state is checkpointed together with
//!   the positions it reflects, only once the outputs of those positions are acknowledged
//!   and flushed; a source is told a position is safe ([`Source::commit`]) only once the
//!   checkpoint that covers it is durable. A restart resumes after the checkpoint; results
//!   of records after it are made again, with the same ids.
//! - **Nothing lost**: a record that cannot be judged goes to every output's reject path
//!   (rejects file, dead-letter topic) with its origin and reason; the run goes on.
//! - **Back-pressure**: at most [`MAX_IN_FLIGHT`] batches await acknowledgement; past that
//!   the loop waits for the oldest, so a slow destination slows consumption instead of
//!   dropping anything.
//!
//! A file source reads one batch ahead, so decoding batch N+1 overlaps judging batch N
//! (both parallel inside; rayon's work stealing keeps the cores busy across the seam). A
//! Kafka source finishes each batch before it polls again, so a rebalance never gives
//! away a partition with work in flight.

pub mod handle;
mod summary;
pub mod telemetry;

pub use handle::{EngineHandle, HandleError};
pub use summary::Summary;
pub use telemetry::Telemetry;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_engine::store::{Positions, StoreError};
use vigil_engine::{BatchOutput, Engine};
use vigil_ingest::enrich::Enricher;
use vigil_ingest::source::{Position, Readiness, RecordBatch, Source, SourceError, Stream};
use vigil_ingest::step::{decode_batch, Outcome};
use vigil_schemas::{Decision, Envelope, HealthAlert, Reject, Timestamp};
use vigil_sinks::{BoxFuture, Judged, Output, Rejected, SinkError};

/// Most batches whose outputs may be awaiting acknowledgement at once.
pub const MAX_IN_FLIGHT: usize = 64;

/// How often a waiting loop looks at its source's assignment and lag.
const OBSERVE_EVERY: Duration = Duration::from_millis(250);

/// At most one health alert per output and reason in this time: a failing disk raises
/// one alert a minute with the count since the last, not one per batch.
const HEALTH_ALERT_EVERY: Duration = Duration::from_secs(60);

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// An output failed to take or acknowledge a send.
    #[error("output `{output}`: {source}")]
    Output {
        /// The output's name.
        output: &'static str,
        /// Cause.
        source: SinkError,
    },
    /// The task awaiting acknowledgements failed.
    #[error("an output task failed: {0}")]
    OutputTask(#[from] tokio::task::JoinError),
    /// A checkpoint of the state failed.
    #[error("checkpoint failed: {0}")]
    Checkpoint(#[from] StoreError),
}

/// When to checkpoint the state (with a state store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    /// After this many events judged since the last checkpoint.
    pub every_events: u64,
    /// Or after this long.
    pub interval: Duration,
}

/// How a pipeline runs.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Threads decoding a batch (the engine's shards).
    pub threads: usize,
    /// When to checkpoint, for an engine with a state store.
    pub checkpoints: Option<Cadence>,
    /// A live run: decisions are stamped with the wall-clock time they were made
    /// (`decided_at`, the SETs' `iat`); a replay keeps the engine's event-time stamp, so
    /// the same input gives byte-identical decisions.
    pub live: bool,
    /// How far ahead of this machine's clock an event may be (seconds).
    pub max_clock_skew_secs: i64,
}

/// A decoded batch waiting to be judged.
struct Decoded {
    envelopes: Vec<Envelope>,
    rest: Pending,
}

/// What a batch carries from decoding to settling, besides its events.
struct Pending {
    positions: Vec<Position>,
    records: u64,
    acks: Vec<Acknowledgement>,
}

/// A judged batch, with how long the engine took.
struct JudgedBatch {
    output: BatchOutput,
    seconds: f64,
    rest: Pending,
}

impl Decoded {
    fn judge(self, engine: &mut Engine) -> JudgedBatch {
        let started = Instant::now();
        let output = engine.process(self.envelopes);
        JudgedBatch {
            output,
            seconds: started.elapsed().as_secs_f64(),
            rest: self.rest,
        }
    }
}

/// One output's pending acknowledgement, named for errors.
type Acknowledgement = (&'static str, BoxFuture<'static, Result<(), SinkError>>);

/// A judged batch whose outputs are on their way.
struct InFlight {
    /// Resolves when every output has acknowledged the batch (none: all had at once).
    acknowledged: Option<tokio::task::JoinHandle<Result<(), RunError>>>,
    decisions: Vec<Decision>,
    positions: Vec<Position>,
    records: u64,
}

/// The loop's state across runs over several sources (files one after another).
pub struct Pipeline {
    engine: Engine,
    enricher: Enricher,
    outputs: Vec<Box<dyn Output>>,
    options: Options,
    summary: Summary,
    in_flight: VecDeque<InFlight>,
    /// Next position per stream judged since start (state-store key -> position).
    judged: BTreeMap<String, Position>,
    /// Whether anything was judged since the last checkpoint.
    changed: bool,
    last_checkpoint: Instant,
    handled: Arc<AtomicU64>,
    telemetry: Arc<Telemetry>,
    handle: EngineHandle,
    requests: tokio::sync::mpsc::Receiver<handle::Request>,
    /// Per output and reason: records dropped when the last health alert was raised, and
    /// when.
    alerted: BTreeMap<(&'static str, &'static str), (u64, Option<Instant>)>,
}

fn output_error(output: &'static str) -> impl Fn(SinkError) -> RunError {
    move |source| RunError::Output { output, source }
}

impl Pipeline {
    /// A pipeline judging with `engine` and sending to `outputs`.
    pub fn new(
        engine: Engine,
        enricher: Enricher,
        outputs: Vec<Box<dyn Output>>,
        options: Options,
    ) -> Pipeline {
        let checkpoints = options.checkpoints.filter(|_| engine.store().is_some());
        let mut engine = engine;
        engine.keep_signals(outputs.iter().any(|output| output.wants_history()));
        let telemetry = Arc::new(Telemetry::default());
        telemetry.set_live(options.live);
        telemetry.state_loaded();
        let (handle, requests) = EngineHandle::new();
        Pipeline {
            engine,
            enricher,
            outputs,
            options: Options {
                checkpoints,
                ..options
            },
            summary: Summary::default(),
            in_flight: VecDeque::new(),
            judged: BTreeMap::new(),
            changed: false,
            last_checkpoint: Instant::now(),
            handled: Arc::default(),
            telemetry,
            handle,
            requests,
            alerted: BTreeMap::new(),
        }
    }

    /// The run's metrics and health.
    pub fn telemetry(&self) -> Arc<Telemetry> {
        self.telemetry.clone()
    }

    /// A handle to ask the live loop questions.
    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// The engine, for inspection.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The counts so far.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Records whose outputs are acknowledged and positions committed, as the loop goes.
    pub fn handled(&self) -> Arc<AtomicU64> {
        self.handled.clone()
    }

    /// Runs `source` until it ends or `shutdown` resolves, calling `on_decision` for each
    /// decision once every output has acknowledged it; then settles what is in flight,
    /// flushes the outputs, checkpoints, and closes the source.
    pub async fn run<S, F, D>(
        &mut self,
        source: &mut S,
        shutdown: F,
        mut on_decision: D,
    ) -> Result<(), RunError>
    where
        S: Source,
        F: std::future::Future<Output = ()>,
        D: FnMut(&Decision),
    {
        source.resume(&self.engine.restored_positions())?;
        for output in &mut self.outputs {
            output.start().await;
        }
        self.telemetry.outputs_started();
        self.observe(source);
        tokio::pin!(shutdown);
        let mut observe = tokio::time::interval(OBSERVE_EVERY);
        let mut incoming = RecordBatch::default();
        let mut pending: Option<Decoded> = None;
        loop {
            // Questions first: an answer never waits for a batch.
            while let Ok(request) = self.requests.try_recv() {
                handle::serve(&self.engine, request);
            }
            let readiness = if pending.is_some() {
                source.ready(false).await?
            } else {
                let checkpoint_due = self.options.checkpoints.map(|cadence| {
                    tokio::time::Instant::from_std(self.last_checkpoint + cadence.interval)
                });
                let settle_due = (!self.in_flight.is_empty())
                    .then(|| tokio::time::Instant::now() + Duration::from_millis(1));
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    Some(request) = self.requests.recv() => {
                        handle::serve(&self.engine, request);
                        continue;
                    }
                    () = sleep_until(checkpoint_due) => {
                        self.quiet_checkpoint(source, &mut on_decision).await?;
                        continue;
                    }
                    // Quiet input with outputs in flight: settle them as they are
                    // acknowledged.
                    () = sleep_until(settle_due) => {
                        self.settle(false, source, &mut on_decision).await?;
                        continue;
                    }
                    _ = observe.tick() => {
                        self.observe(source);
                        self.raise_health(false).await;
                        continue;
                    }
                    ready = source.ready(true) => ready?,
                }
            };
            match readiness {
                Readiness::Ended => break,
                Readiness::Idle => {
                    if let Some(decoded) = pending.take() {
                        let judged = decoded.judge(&mut self.engine);
                        self.judged(judged, source, &mut on_decision).await?;
                    }
                }
                Readiness::Ready => {
                    if !source.next_batch(&mut incoming).await? {
                        break;
                    }
                    self.summary.read += incoming.len() as u64 + incoming.passed_over;
                    self.summary.resumed += incoming.passed_over;
                    self.telemetry.records_read(&incoming);
                    let judging = pending.take();
                    let (enricher, engine) = (&self.enricher, &mut self.engine);
                    let (threads, skew) = (self.options.threads, self.options.max_clock_skew_secs);
                    let batch = &incoming;
                    let (outcomes, judged) = rayon::join(
                        || decode_batch(batch, enricher, skew, threads),
                        || judging.map(|decoded| decoded.judge(engine)),
                    );
                    if let Some(judged) = judged {
                        self.judged(judged, source, &mut on_decision).await?;
                    }
                    let decoded = self.sort(outcomes, &incoming).await?;
                    if source.read_ahead() {
                        pending = Some(decoded);
                    } else {
                        let judged = decoded.judge(&mut self.engine);
                        self.judged(judged, source, &mut on_decision).await?;
                    }
                }
            }
        }
        if let Some(decoded) = pending.take() {
            let judged = decoded.judge(&mut self.engine);
            self.judged(judged, source, &mut on_decision).await?;
        }
        self.settle(true, source, &mut on_decision).await?;
        for output in &mut self.outputs {
            output.flush().map_err(output_error(output.name()))?;
        }
        self.final_checkpoint(source)?;
        source.close();
        self.observe(source);
        self.raise_health(true).await;
        Ok(())
    }

    /// Raises a health alert ([`HealthAlert`]) on every output for each output that went
    /// on without records since the last alert (once a [`HEALTH_ALERT_EVERY`], or now at
    /// the end of a run), and logs it.
    async fn raise_health(&mut self, ending: bool) {
        let mut alerts = Vec::new();
        for output in &self.outputs {
            for (reason, total) in output.dropped() {
                let (last_total, last_time) = self
                    .alerted
                    .entry((output.name(), reason))
                    .or_insert((0, None));
                let due = ending || last_time.is_none_or(|at| at.elapsed() >= HEALTH_ALERT_EVERY);
                if total > *last_total && due {
                    alerts.push(HealthAlert::output_dropped(
                        output.name(),
                        reason,
                        total - *last_total,
                        total,
                        Timestamp::now(),
                    ));
                    (*last_total, *last_time) = (total, Some(Instant::now()));
                }
            }
        }
        for alert in &alerts {
            tracing::error!(
                output = alert.output,
                reason = alert.reason,
                dropped = alert.dropped,
                total = alert.total,
                "{}",
                alert.headline
            );
            for output in &mut self.outputs {
                output.health(alert).await;
            }
        }
    }

    /// Answers requests until `shutdown` resolves: a run that has ended (a finished
    /// demo) goes on answering what its engine holds.
    pub async fn answer_until<F: std::future::Future<Output = ()>>(&mut self, shutdown: F) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => return,
                Some(request) = self.requests.recv() => handle::serve(&self.engine, request),
            }
        }
    }

    /// Looks at the source's assignment and lag, and at what the outputs have taken.
    fn observe<S: Source>(&self, source: &S) {
        self.telemetry.inputs_assigned(source.assigned());
        self.telemetry
            .identities(self.engine.identities(), self.engine.evictions());
        for output in &self.outputs {
            self.telemetry
                .output_written(output.name(), &output.written());
            self.telemetry
                .output_dropped(output.name(), &output.dropped());
        }
        for (stream, lag) in source.lag() {
            if let Stream::Kafka { topic, partition } = &stream {
                self.telemetry.consumer_lag(topic, *partition, lag);
            }
        }
    }

    /// Writes out and closes every output; the counts of every run so far.
    pub fn finish(&mut self) -> Result<Summary, RunError> {
        for output in &mut self.outputs {
            output.finish().map_err(output_error(output.name()))?;
        }
        Ok(std::mem::take(&mut self.summary))
    }

    /// Splits decoded outcomes: events to judge (and to the outputs that keep history),
    /// skips counted, rejects sent to every output.
    async fn sort(
        &mut self,
        outcomes: Vec<Vec<Outcome>>,
        batch: &RecordBatch,
    ) -> Result<Decoded, RunError> {
        let mut envelopes = Vec::with_capacity(outcomes.iter().map(Vec::len).sum());
        let mut rejects: Vec<(Reject, usize)> = Vec::new();
        for outcome in outcomes.into_iter().flatten() {
            match outcome {
                Outcome::Event(envelope) => envelopes.push(envelope),
                Outcome::Skipped(reason) => {
                    *self.summary.skipped.entry(reason.to_string()).or_default() += 1;
                    self.telemetry.records_skipped(reason);
                }
                Outcome::Rejected {
                    reject,
                    kind,
                    record,
                } => {
                    let input = batch.stream(&batch.records[record]).stream.input();
                    self.telemetry
                        .record_rejected(&reject, input, kind.as_str());
                    rejects.push((reject, record));
                }
            }
        }
        let mut acks = Vec::new();
        if !rejects.is_empty() {
            self.summary.rejected += rejects.len() as u64;
            let rejected: Vec<Rejected<'_>> = rejects
                .iter()
                .map(|(reject, record)| Rejected {
                    reject,
                    payload: batch.bytes(&batch.records[*record]),
                    headers: batch.headers(*record),
                })
                .collect();
            for output in &mut self.outputs {
                let name = output.name();
                let ack = output
                    .rejects(&rejected)
                    .await
                    .map_err(output_error(name))?;
                match ack.into_pending() {
                    Some(future) => acks.push((name, future)),
                    None => self.telemetry.output_result(name, true),
                }
            }
        }
        for output in &mut self.outputs {
            if output.wants_history() {
                output
                    .events(&envelopes)
                    .map_err(output_error(output.name()))?;
            }
        }
        Ok(Decoded {
            envelopes,
            rest: Pending {
                positions: batch.positions.clone(),
                records: batch.len() as u64 + batch.passed_over,
                acks,
            },
        })
    }

    /// Hands a judged batch to every output and puts it in flight; checkpoints when due.
    async fn judged<S: Source, D: FnMut(&Decision)>(
        &mut self,
        judged: JudgedBatch,
        source: &mut S,
        on_decision: &mut D,
    ) -> Result<(), RunError> {
        let JudgedBatch {
            output,
            seconds,
            rest,
        } = judged;
        let Pending {
            positions,
            records,
            mut acks,
        } = rest;
        self.telemetry.batch_judged(&output.stats, seconds);
        self.summary.engine.merge(output.stats);
        let mut decisions = output.decisions;
        if self.options.live {
            let now = Timestamp::now();
            for decision in &mut decisions {
                decision.decided_at = now;
            }
        }
        let judged = Judged {
            signals: &output.signals,
            decisions: &decisions,
        };
        for sink in &mut self.outputs {
            let name = sink.name();
            let ack = sink.judged(judged).await.map_err(output_error(name))?;
            match ack.into_pending() {
                Some(future) => acks.push((name, future)),
                None => self.telemetry.output_result(name, true),
            }
        }
        let acknowledged = (!acks.is_empty()).then(|| {
            let telemetry = self.telemetry.clone();
            tokio::spawn(async move {
                for (name, future) in acks {
                    let result = future.await;
                    telemetry.output_result(name, result.is_ok());
                    result.map_err(output_error(name))?;
                }
                Ok(())
            })
        });
        if self.options.checkpoints.is_some() {
            for position in &positions {
                self.judged.insert(position.key(), position.clone());
            }
            self.changed = true;
        }
        self.in_flight.push_back(InFlight {
            acknowledged,
            decisions,
            positions,
            records,
        });
        self.settle(false, source, on_decision).await?;
        let Some(cadence) = self.options.checkpoints else {
            return Ok(());
        };
        if self.engine.events_since_checkpoint() >= cadence.every_events
            || self.last_checkpoint.elapsed() >= cadence.interval
        {
            // A checkpoint covers only positions whose outputs are acknowledged.
            self.settle(true, source, on_decision).await?;
            self.checkpoint(source)
        } else {
            let done = self.engine.poll_checkpoint()?;
            self.commit_durable(source, done);
            Ok(())
        }
    }

    /// Settles the batches whose outputs are acknowledged, oldest first (all of them when
    /// `all`, and the oldest while more than [`MAX_IN_FLIGHT`] are out): counts and hands
    /// on their decisions and, without a state store, commits their positions.
    async fn settle<S: Source, D: FnMut(&Decision)>(
        &mut self,
        all: bool,
        source: &mut S,
        on_decision: &mut D,
    ) -> Result<(), RunError> {
        while let Some(front) = self.in_flight.front() {
            let must_wait = all || self.in_flight.len() > MAX_IN_FLIGHT;
            let finished = front
                .acknowledged
                .as_ref()
                .is_none_or(|task| task.is_finished());
            if !must_wait && !finished {
                break;
            }
            let Some(done) = self.in_flight.pop_front() else {
                break;
            };
            if let Some(task) = done.acknowledged {
                task.await??;
            }
            self.telemetry.decisions_acknowledged(&done.decisions);
            for decision in &done.decisions {
                self.summary.count_decision(decision);
                on_decision(decision);
            }
            // With a state store, positions are committed once the checkpoint covering
            // them is durable (`commit_durable`); without one, as soon as the outputs are
            // acknowledged.
            if self.options.checkpoints.is_none() {
                source.commit(&done.positions)?;
            }
            self.handled.fetch_add(done.records, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Checkpoints the state with the positions judged so far (every output flushed
    /// first), and commits the positions of the previous checkpoint, now durable.
    fn checkpoint<S: Source>(&mut self, source: &mut S) -> Result<(), RunError> {
        for output in &mut self.outputs {
            output.flush().map_err(output_error(output.name()))?;
        }
        let positions = self
            .judged
            .iter()
            .map(|(key, position)| (key.clone(), position.progress()))
            .collect();
        self.changed = false;
        self.last_checkpoint = Instant::now();
        let previous = self.engine.checkpoint(positions)?;
        self.telemetry.checkpointed(
            self.last_checkpoint.elapsed().as_secs_f64(),
            self.engine.last_checkpoint_bytes(),
        );
        self.commit_durable(source, previous);
        Ok(())
    }

    /// Quiet input: checkpoints what was judged, and lets the last checkpoint's positions
    /// be committed.
    async fn quiet_checkpoint<S: Source, D: FnMut(&Decision)>(
        &mut self,
        source: &mut S,
        on_decision: &mut D,
    ) -> Result<(), RunError> {
        self.settle(true, source, on_decision).await?;
        if self.changed {
            return self.checkpoint(source);
        }
        self.last_checkpoint = Instant::now();
        let done = self.engine.poll_checkpoint()?;
        self.commit_durable(source, done);
        Ok(())
    }

    /// Writes a last checkpoint and waits for it (the end of a run).
    fn final_checkpoint<S: Source>(&mut self, source: &mut S) -> Result<(), RunError> {
        if self.options.checkpoints.is_none() {
            return Ok(());
        }
        if self.changed {
            self.checkpoint(source)?;
        }
        let last = self.engine.finish_checkpoint()?;
        self.commit_durable(source, last);
        Ok(())
    }

    /// Commits the positions of a checkpoint known to be durable.
    fn commit_durable<S: Source>(&self, source: &mut S, positions: Option<Positions>) {
        let Some(positions) = positions else {
            return;
        };
        let positions: Vec<Position> = positions
            .into_iter()
            .filter_map(|(key, progress)| Position::stored(&key, progress))
            .collect();
        if let Err(error) = source.commit(&positions) {
            // A partition given away in a rebalance cannot be stored; its new owner
            // resumes from the last commit.
            tracing::debug!(%error, "cannot commit checkpointed positions");
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
