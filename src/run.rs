//! `vigil run`: the engine over Kafka, live.
//!
//! One consumer group over the configured input topics, each with its format. Records are
//! judged in small batches (up to `max_batch`, waiting at most `max_wait_ms` for one to
//! fill); every decision goes to the decisions and alerts topics, enforce-mode actions as
//! signed CAEP SETs to the CAEP topic, undecodable records to the dead-letter topic with
//! their origin and reason. Input offsets are stored (`enable.auto.offset.store=false`)
//! only after every output of the batch is acknowledged, and committed by librdkafka's
//! auto-commit and on shutdown: at-least-once, and the ids make duplicates recognisable.
//! The loop finishes a batch before it polls again, so a rebalance never gives away a
//! partition with work in flight, and a slow broker slows consumption (back-pressure)
//! instead of dropping anything.
//!
//! With a state folder (`[state] dir`), the engine's state is checkpointed to redb with
//! the next offset of every input partition it reflects, and offsets are stored for the
//! broker only once the checkpoint that covers them is durable. After a restart (or a
//! SIGKILL) the group resumes at or before the checkpoint, and records the state already
//! reflects are passed over unjudged (no baseline counts an event twice) and their offsets
//! stored, so the group's commit catches up with the state even when no new record comes
//! after them. Decisions of records after the last checkpoint are made again, with the
//! same ids.

use crate::config::{CaepConfig, Config, KafkaConfig};
use crate::replay::{
    archive_error, archive_signal, flatten, oversized, Outcome, ReplayError, Summary,
};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_engine::Engine;
use vigil_ingest::enrich::Enricher;
use vigil_ingest::Format;
use vigil_rules::Rules;
use vigil_schemas::caep::CaepIdentity;
use vigil_schemas::{Decision, Origin, Timestamp};
use vigil_sinks::caep::Signer;
use vigil_sinks::kafka::{CaepOutput, KafkaOutputs, OutputTopics};

/// Most batches whose outputs may be awaiting acknowledgement at once.
pub const MAX_IN_FLIGHT: usize = 64;

/// A judged batch whose outputs are on their way.
struct InFlight {
    acknowledged: tokio::task::JoinHandle<Result<(), rdkafka::error::KafkaError>>,
    decisions: Vec<Decision>,
    offsets: TopicPartitionList,
    records: u64,
}

/// The client settings shared by consumer and producer: brokers and pass-through
/// properties.
pub fn client_config(kafka: &KafkaConfig) -> ClientConfig {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &kafka.brokers);
    for (key, value) in &kafka.properties {
        client.set(key, value);
    }
    client
}

/// Loads the CAEP signing key; errors name the field and the file.
pub fn caep_output(caep: &CaepConfig) -> Result<CaepOutput, ReplayError> {
    let pem = std::fs::read_to_string(&caep.key_file).map_err(|error| {
        ReplayError::Setup(format!(
            "`caep.key_file`: cannot read `{}`: {error}",
            caep.key_file.display()
        ))
    })?;
    let signer = Signer::from_pem(&pem, &caep.kid).map_err(|error| {
        ReplayError::Setup(format!(
            "`caep.key_file` `{}`: {error}",
            caep.key_file.display()
        ))
    })?;
    Ok(CaepOutput {
        identity: CaepIdentity {
            issuer: caep.issuer.clone(),
            audience: caep.audience.clone(),
            subject_issuer: caep.subject_issuer.clone(),
            simple_subjects: caep.simple_subjects,
        },
        signer,
    })
}

/// Everything `run` needs, built and checked before connecting.
pub struct Runner {
    kafka: KafkaConfig,
    consumer: StreamConsumer,
    outputs: KafkaOutputs,
    /// Each input topic's format, and its name shared by every origin read from it.
    formats: HashMap<String, (Format, Arc<str>)>,
    engine: Engine,
    enricher: Enricher,
    handled: Arc<std::sync::atomic::AtomicU64>,
    /// With a state folder: when to checkpoint, and the positions judged since the last
    /// checkpoint.
    durable: Option<DurableInputs>,
    /// Batches whose outputs await acknowledgement, oldest first.
    in_flight: std::collections::VecDeque<InFlight>,
    /// The Parquet archive (`[archive] dir`), and when its buffers were last written out.
    archive: Option<(vigil_sinks::archive::Archive, Instant)>,
    /// The archive folder and the days it keeps (`[archive] retention_days`): older days
    /// are pruned each time the buffers are written out.
    retention: Option<(std::path::PathBuf, u32)>,
}

/// How often a live run writes the archive's buffers out, so files appear while it runs.
pub const ARCHIVE_FLUSH: Duration = Duration::from_secs(60);

/// Input positions against the state store.
struct DurableInputs {
    every_events: u64,
    interval: Duration,
    last: Instant,
    /// Next offset per (topic, partition) reflected by the state at start: records
    /// before it were judged before the restart.
    restored: HashMap<(String, i32), i64>,
    /// Next offset per (topic, partition) judged since start.
    judged: BTreeMap<(String, i32), i64>,
    /// Whether anything was judged since the last checkpoint.
    changed: bool,
}

/// The state-store key of a partition's position.
fn position_key(topic: &str, partition: i32) -> String {
    format!("kafka:{topic}:{partition}")
}

fn parse_position_key(key: &str) -> Option<(String, i32)> {
    let rest = key.strip_prefix("kafka:")?;
    let (topic, partition) = rest.rsplit_once(':')?;
    Some((topic.to_string(), partition.parse().ok()?))
}

fn kafka_error(what: &str) -> impl Fn(rdkafka::error::KafkaError) -> ReplayError + '_ {
    move |error| ReplayError::Run(format!("{what}: {error}"))
}

impl Runner {
    /// Builds consumer, producer, engine and enrichment from a validated config.
    pub fn new(config: &Config, rules: Arc<Rules>) -> Result<Runner, ReplayError> {
        let caep = config.caep.as_ref().map(caep_output).transpose()?;
        Runner::with_caep(config, rules, caep)
    }

    /// As [`Runner::new`], with the CAEP signer given instead of read from `[caep]`.
    pub fn with_caep(
        config: &Config,
        rules: Arc<Rules>,
        caep: Option<CaepOutput>,
    ) -> Result<Runner, ReplayError> {
        let kafka = config.kafka.clone().ok_or_else(|| {
            ReplayError::Setup("`kafka`: the config has no [kafka] section".to_string())
        })?;
        let enricher = Enricher::open(&config.enrich)
            .map_err(|error| ReplayError::Setup(error.to_string()))?;
        let client = client_config(&kafka);
        let consumer: StreamConsumer = client
            .clone()
            .set("group.id", &kafka.group_id)
            .set("enable.auto.offset.store", "false")
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            .set("auto.offset.reset", "earliest")
            // Revocations are only useful while the session is live: never let the
            // broker hold a fetch for long waiting for more bytes.
            .set("fetch.wait.max.ms", "5")
            .create()
            .map_err(kafka_error("cannot create the Kafka consumer"))?;
        let topics: Vec<&str> = kafka
            .inputs
            .iter()
            .map(|input| input.topic.as_str())
            .collect();
        consumer
            .subscribe(&topics)
            .map_err(kafka_error("cannot subscribe to the input topics"))?;
        let outputs = KafkaOutputs::new(
            &client,
            OutputTopics {
                decisions: kafka.outputs.decisions.clone(),
                alerts: kafka.outputs.alerts.clone(),
                caep: kafka.outputs.caep.clone(),
                dead_letter: kafka.outputs.dead_letter.clone(),
            },
            caep,
        )
        .map_err(kafka_error("cannot create the Kafka producer"))?;
        let formats = kafka
            .inputs
            .iter()
            .map(|input| {
                let name: Arc<str> = Arc::from(input.topic.as_str());
                (input.topic.clone(), (input.format, name))
            })
            .collect();
        let (mut engine, durable) = match &config.state.dir {
            Some(dir) => {
                let store = vigil_engine::store::Store::open(dir)
                    .map_err(|error| ReplayError::Setup(format!("`state.dir`: {error}")))?;
                let engine = Engine::with_store(
                    rules,
                    config.engine.shard_count(),
                    Arc::new(store),
                    config.state.limits(),
                )
                .map_err(|error| ReplayError::Setup(format!("`state.dir`: {error}")))?;
                let restored = engine
                    .restored_positions()
                    .iter()
                    .filter_map(|(key, offset)| {
                        Some((parse_position_key(key)?, i64::try_from(*offset).ok()?))
                    })
                    .collect();
                let durable = DurableInputs {
                    every_events: config.state.checkpoint_events,
                    interval: Duration::from_millis(config.state.checkpoint_interval_ms),
                    last: Instant::now(),
                    restored,
                    judged: BTreeMap::new(),
                    changed: false,
                };
                (engine, Some(durable))
            }
            None => (Engine::new(rules, config.engine.shard_count()), None),
        };
        let archive = match &config.archive.dir {
            Some(dir) => Some((
                config
                    .open_archive(dir)
                    .map_err(|error| ReplayError::Setup(format!("`archive.dir`: {error}")))?,
                Instant::now(),
            )),
            None => None,
        };
        engine.keep_signals(archive.is_some());
        let retention = config
            .archive
            .dir
            .clone()
            .zip(config.archive.retention_days);
        Ok(Runner {
            archive,
            retention,
            engine,
            kafka,
            consumer,
            outputs,
            formats,
            enricher,
            handled: Arc::default(),
            durable,
            in_flight: std::collections::VecDeque::new(),
        })
    }

    /// Checkpoints the state with the positions judged so far, and stores for the broker
    /// the offsets of the previous checkpoint, now durable.
    fn checkpoint(&mut self) -> Result<(), ReplayError> {
        let Some(durable) = self.durable.as_mut() else {
            return Ok(());
        };
        let positions = durable
            .judged
            .iter()
            .map(|((topic, partition), offset)| {
                (position_key(topic, *partition), (*offset).max(0) as u64)
            })
            .collect();
        durable.changed = false;
        durable.last = Instant::now();
        let previous = self
            .engine
            .checkpoint(positions)
            .map_err(|error| ReplayError::Run(format!("checkpoint failed: {error}")))?;
        self.store_durable(previous)
    }

    /// Stores for the broker the offsets of a checkpoint known to be durable.
    fn store_durable(&self, positions: Option<Vec<(String, u64)>>) -> Result<(), ReplayError> {
        let Some(positions) = positions else {
            return Ok(());
        };
        let mut offsets = TopicPartitionList::new();
        for (key, offset) in positions {
            if let Some((topic, partition)) = parse_position_key(&key) {
                let _ = offsets.add_partition_offset(
                    &topic,
                    partition,
                    Offset::Offset(i64::try_from(offset).unwrap_or(i64::MAX)),
                );
            }
        }
        self.store_for_broker(&offsets);
        Ok(())
    }

    /// Stores offsets whose state is durable, for the next commit.
    fn store_for_broker(&self, offsets: &TopicPartitionList) {
        if offsets.count() > 0 {
            if let Err(error) = self.consumer.store_offsets(offsets) {
                // A partition given away in a rebalance cannot be stored; its new owner
                // resumes from the last commit.
                tracing::debug!(%error, "cannot store checkpointed offsets");
            }
        }
    }

    /// Finishes the checkpoint in flight and writes a last one (shutdown).
    fn final_checkpoint(&mut self) -> Result<(), ReplayError> {
        if self.durable.is_none() {
            return Ok(());
        }
        self.checkpoint()?;
        let last = self
            .engine
            .finish_checkpoint()
            .map_err(|error| ReplayError::Run(format!("checkpoint failed: {error}")))?;
        self.store_durable(last)
    }

    /// Records whose outputs are acknowledged and offsets stored, as the loop goes.
    pub fn handled(&self) -> Arc<std::sync::atomic::AtomicU64> {
        self.handled.clone()
    }

    /// Consumes until `shutdown` resolves, calling `on_decision` for each decision after
    /// it is acknowledged; then flushes outputs and commits the stored offsets.
    pub async fn run<S, D>(
        &mut self,
        shutdown: S,
        mut on_decision: D,
    ) -> Result<Summary, ReplayError>
    where
        S: std::future::Future<Output = ()>,
        D: FnMut(&Decision),
    {
        let started = Instant::now();
        let mut summary = Summary::default();
        tokio::pin!(shutdown);
        self.outputs.warm_up(Duration::from_secs(10)).await;
        loop {
            let waiting = !self.in_flight.is_empty();
            let checkpoint_due = self
                .durable
                .as_ref()
                .map(|durable| tokio::time::Instant::from_std(durable.last + durable.interval));
            let first = tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = async {
                    match checkpoint_due {
                        Some(due) => tokio::time::sleep_until(due).await,
                        None => std::future::pending().await,
                    }
                } => {
                    // Quiet input: checkpoint what was judged, and let the last
                    // checkpoint's offsets be committed.
                    self.settle(true, &mut summary, &mut on_decision).await?;
                    if self.durable.as_ref().is_some_and(|durable| durable.changed) {
                        self.checkpoint()?;
                    } else if let Some(durable) = self.durable.as_mut() {
                        durable.last = Instant::now();
                        let done = self.engine.poll_checkpoint().map_err(|error| {
                            ReplayError::Run(format!("checkpoint failed: {error}"))
                        })?;
                        self.store_durable(done)?;
                    }
                    continue;
                }
                received = self.consumer.recv() => received,
                // Quiet input with outputs in flight: settle them as they are acknowledged.
                () = async {
                    if waiting {
                        tokio::time::sleep(Duration::from_millis(1)).await
                    } else {
                        std::future::pending().await
                    }
                } => {
                    self.settle(false, &mut summary, &mut on_decision).await?;
                    continue;
                }
            };
            let first = match first {
                Ok(message) => message.detach(),
                Err(error) => {
                    tracing::warn!(%error, "Kafka consumer error");
                    continue;
                }
            };
            let mut batch = vec![first];
            let deadline =
                tokio::time::Instant::now() + Duration::from_millis(self.kafka.max_wait_ms);
            while batch.len() < self.kafka.max_batch {
                match tokio::time::timeout_at(deadline, self.consumer.recv()).await {
                    Ok(Ok(message)) => batch.push(message.detach()),
                    Ok(Err(error)) => tracing::warn!(%error, "Kafka consumer error"),
                    Err(_) => break,
                }
            }
            self.process(&batch, &mut summary).await?;
            self.settle(false, &mut summary, &mut on_decision).await?;
            if let Some(durable) = &self.durable {
                if self.engine.events_since_checkpoint() >= durable.every_events
                    || durable.last.elapsed() >= durable.interval
                {
                    // A checkpoint covers only positions whose outputs are acknowledged.
                    self.settle(true, &mut summary, &mut on_decision).await?;
                    self.checkpoint()?;
                } else {
                    let done = self
                        .engine
                        .poll_checkpoint()
                        .map_err(|error| ReplayError::Run(format!("checkpoint failed: {error}")))?;
                    self.store_durable(done)?;
                }
            }
        }
        self.settle(true, &mut summary, &mut on_decision).await?;
        self.outputs
            .flush(Duration::from_secs(30))
            .map_err(kafka_error("cannot flush the outputs"))?;
        self.final_checkpoint()?;
        if let Some((archive, _)) = self.archive.take() {
            archive.finish().map_err(archive_error)?;
        }
        if let Err(error) = self.consumer.commit_consumer_state(CommitMode::Sync) {
            // Nothing stored yet (no records) is not an error worth failing on.
            tracing::debug!(%error, "final commit");
        }
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// Settles the batches whose outputs are acknowledged, oldest first (all of them when
    /// `all`, and the oldest while more than [`MAX_IN_FLIGHT`] are out): counts and hands
    /// on their decisions and stores their offsets.
    async fn settle<D: FnMut(&Decision)>(
        &mut self,
        all: bool,
        summary: &mut Summary,
        on_decision: &mut D,
    ) -> Result<(), ReplayError> {
        while let Some(front) = self.in_flight.front() {
            let must_wait = all || self.in_flight.len() > MAX_IN_FLIGHT;
            if !must_wait && !front.acknowledged.is_finished() {
                break;
            }
            let Some(done) = self.in_flight.pop_front() else {
                break;
            };
            done.acknowledged
                .await
                .map_err(|error| ReplayError::Run(format!("output task failed: {error}")))?
                .map_err(kafka_error("an output was not acknowledged"))?;
            for decision in &done.decisions {
                summary.count_decision(decision);
                on_decision(decision);
            }
            // With a state store, offsets are stored once the checkpoint covering them is
            // durable (`store_durable`); without one, as soon as the outputs are
            // acknowledged.
            if self.durable.is_none() {
                self.consumer
                    .store_offsets(&done.offsets)
                    .map_err(kafka_error("cannot store input offsets"))?;
            }
            self.handled
                .fetch_add(done.records, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }

    async fn process(
        &mut self,
        batch: &[rdkafka::message::OwnedMessage],
        summary: &mut Summary,
    ) -> Result<(), ReplayError> {
        let mut envelopes = Vec::with_capacity(batch.len());
        let mut deliveries = Vec::new();
        let mut offsets = TopicPartitionList::new();
        // Next offsets of records passed over as already in the durable state.
        let mut resumed = BTreeMap::new();
        for message in batch {
            summary.read += 1;
            if let Some(durable) = self.durable.as_mut() {
                let key = (message.topic().to_string(), message.partition());
                if durable
                    .restored
                    .get(&key)
                    .is_some_and(|next| message.offset() < *next)
                {
                    // Judged into the state before the restart; its outputs were
                    // acknowledged before that checkpoint.
                    summary.resumed += 1;
                    resumed.insert(key, message.offset() + 1);
                    continue;
                }
                durable.judged.insert(key, message.offset() + 1);
                durable.changed = true;
            }
            let (format, topic) = match self.formats.get(message.topic()) {
                Some((format, name)) => (*format, name.clone()),
                None => (Format::Auto, Arc::from(message.topic())),
            };
            let origin = Origin::Kafka {
                topic,
                partition: message.partition(),
                offset: message.offset(),
            };
            let _ = offsets.add_partition_offset(
                message.topic(),
                message.partition(),
                Offset::Offset(message.offset() + 1),
            );
            let payload = message.payload().unwrap_or_default();
            let mut outcomes = Vec::new();
            if payload.len() > vigil_ingest::MAX_RECORD_BYTES {
                outcomes.push(oversized(origin.clone(), payload.len() as u64, payload));
            } else {
                flatten(
                    vigil_ingest::decode(format, payload),
                    &origin,
                    payload,
                    &self.enricher,
                    &mut outcomes,
                );
            }
            for outcome in outcomes {
                match outcome {
                    Outcome::Event(envelope) => envelopes.push(envelope),
                    Outcome::Skipped(reason) => {
                        *summary.skipped.entry(reason.to_string()).or_default() += 1
                    }
                    Outcome::Rejected(reject) => {
                        summary.rejected += 1;
                        tracing::warn!(origin = %origin, reason = %reject.reason, "dead letter");
                        let headers = message.headers().map(|headers| headers.as_borrowed());
                        deliveries.push(
                            self.outputs
                                .send_dead_letter(payload, headers, &origin, &reject.reason)
                                .await
                                .map_err(kafka_error("cannot send a dead letter"))?,
                        );
                    }
                }
            }
        }
        // Their state is durable already, so their offsets can be committed now: a
        // restart whose checkpoint is ahead of the group's commit (killed before the
        // auto-commit) catches the commit up even when nothing after it is new.
        let mut passed_over = TopicPartitionList::new();
        for ((topic, partition), next) in &resumed {
            let _ = passed_over.add_partition_offset(topic, *partition, Offset::Offset(*next));
        }
        self.store_for_broker(&passed_over);
        if let Some((archive, _)) = &mut self.archive {
            for envelope in &envelopes {
                archive.event(envelope).map_err(archive_error)?;
            }
        }
        let output = self.engine.process(envelopes);
        summary.engine.merge(output.stats);
        // Wall time for `decided_at` and `iat` (the rules never read a clock; the live
        // path stamps when it decided).
        let now = Timestamp::now();
        let mut decisions = output.decisions;
        for decision in &mut decisions {
            decision.decided_at = now;
        }
        if let Some((archive, last)) = &mut self.archive {
            for record in &output.signals {
                archive_signal(archive, record)?;
            }
            for decision in &decisions {
                archive.decision(decision).map_err(archive_error)?;
            }
            archive.end_batch().map_err(archive_error)?;
            if last.elapsed() >= ARCHIVE_FLUSH {
                archive.flush().map_err(archive_error)?;
                *last = Instant::now();
                if let Some((dir, days)) = &self.retention {
                    let before = vigil_sinks::archive::retention_cutoff(now, *days);
                    vigil_sinks::archive::prune(dir, &before).map_err(archive_error)?;
                }
            }
        }
        for decision in &decisions {
            deliveries.extend(
                self.outputs
                    .send_decision(decision, now.as_secs())
                    .await
                    .map_err(kafka_error("cannot send a decision"))?,
            );
        }
        let acknowledged = tokio::spawn(async move {
            for delivery in deliveries {
                delivery.acknowledged().await?;
            }
            Ok(())
        });
        self.in_flight.push_back(InFlight {
            acknowledged,
            decisions,
            offsets,
            records: batch.len() as u64,
        });
        Ok(())
    }
}
