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

use crate::config::{CaepConfig, Config, KafkaConfig};
use crate::replay::{flatten, oversized, Outcome, ReplayError, Summary};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::HashMap;
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

/// Now, for `decided_at` and `iat` (the rules never read a clock; the live path stamps
/// when it decided).
fn wall_clock() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX))
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
        Ok(Runner {
            engine: Engine::new(rules, config.engine.shard_count()),
            kafka,
            consumer,
            outputs,
            formats,
            enricher,
            handled: Arc::default(),
        })
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
        loop {
            let first = tokio::select! {
                biased;
                () = &mut shutdown => break,
                received = self.consumer.recv() => received,
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
            self.process(&batch, &mut summary, &mut on_decision).await?;
        }
        self.outputs
            .flush(Duration::from_secs(30))
            .map_err(kafka_error("cannot flush the outputs"))?;
        if let Err(error) = self.consumer.commit_consumer_state(CommitMode::Sync) {
            // Nothing stored yet (no records) is not an error worth failing on.
            tracing::debug!(%error, "final commit");
        }
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    async fn process<D: FnMut(&Decision)>(
        &mut self,
        batch: &[rdkafka::message::OwnedMessage],
        summary: &mut Summary,
        on_decision: &mut D,
    ) -> Result<(), ReplayError> {
        let mut envelopes = Vec::with_capacity(batch.len());
        let mut deliveries = Vec::new();
        let mut offsets = TopicPartitionList::new();
        for message in batch {
            summary.read += 1;
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
        let output = self.engine.process(envelopes);
        summary.engine.merge(output.stats);
        let now = wall_clock();
        let mut decisions = output.decisions;
        for decision in &mut decisions {
            decision.decided_at = now;
            deliveries.extend(
                self.outputs
                    .send_decision(decision, now.as_secs())
                    .await
                    .map_err(kafka_error("cannot send a decision"))?,
            );
        }
        for delivery in deliveries {
            delivery
                .acknowledged()
                .await
                .map_err(kafka_error("an output was not acknowledged"))?;
        }
        for decision in &decisions {
            summary.count_decision(decision);
            on_decision(decision);
        }
        self.consumer
            .store_offsets(&offsets)
            .map_err(kafka_error("cannot store input offsets"))?;
        self.handled
            .fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}
