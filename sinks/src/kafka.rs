//! Kafka outputs: decisions, SOC alerts, CAEP Security Event Tokens and dead letters, from
//! one idempotent producer (`enable.idempotence`: no duplicates or reordering from
//! retries within a session), keyed by identity so one identity's records stay in order.
//!
//! Every send returns a [`Delivery`] to await: the caller stores its input offsets only
//! after the outputs of the records before them are acknowledged (at-least-once). A full
//! producer queue is waited out, never dropped (back-pressure).
//!
//! No record can stop the run: a dead letter is cut to a byte budget below the producer's
//! `message.max.bytes` (flagged `vigil.truncated`), and a record the producer or broker
//! refuses for what it is (its size or content) is replaced by a small stub dead letter
//! that says what was lost and why, counted in [`Output::dropped`]. Errors of the cluster
//! itself (authorization, a fatal producer state, a timeout) still end the run, whose
//! offsets then stay uncommitted.

use crate::caep::Signer;
use crate::{Ack, BoxFuture, Judged, Output, Rejected, SinkError};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::ClientConfig;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vigil_schemas::caep::{sets_for, CaepIdentity};
use vigil_schemas::{Decision, HealthAlert, Mode, Origin, RecordHeader};

/// Where each output goes.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputTopics {
    /// Every decision, in the JSON contract of DESIGN.md.
    pub decisions: String,
    /// Every decision with a one-line headline, for the SOC.
    pub alerts: String,
    /// Signed SETs of enforce-mode decisions, for enforcement points.
    pub caep: String,
    /// Records that could not be decoded, with their origin and the reason.
    pub dead_letter: String,
}

/// CAEP signing: who vigil is and the key it signs with.
#[derive(Debug)]
pub struct CaepOutput {
    /// Issuer, audience, subject issuer.
    pub identity: CaepIdentity,
    /// The signing key.
    pub signer: Signer,
}

/// A send in flight: the broker's acknowledgement to come, and what was sent (for a stub
/// should the broker refuse the record).
pub struct Delivery {
    future: Option<DeliveryFuture>,
    sent: Sent,
}

/// What one produced record was: enough to say what was lost.
#[derive(Debug)]
struct Sent {
    topic: String,
    key: Vec<u8>,
    bytes: usize,
}

impl Delivery {
    /// Waits for the broker's acknowledgement.
    pub async fn acknowledged(self) -> Result<(), KafkaError> {
        acknowledgement(self.future).await
    }
}

/// The broker's answer to a send (none to wait for: a record refused before it was sent).
async fn acknowledgement(future: Option<DeliveryFuture>) -> Result<(), KafkaError> {
    let Some(future) = future else {
        return Ok(());
    };
    match future.await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((error, _))) => Err(error),
        Err(_) => Err(KafkaError::Canceled),
    }
}

/// The most bytes of one produced record when `message.max.bytes` is not configured
/// (librdkafka's default).
pub const DEFAULT_MESSAGE_MAX_BYTES: usize = 1_000_000;

/// Room left under `message.max.bytes` for the record's framing (batch and record
/// headers, lengths, CRC).
const FRAMING_BYTES: usize = 4 * 1024;

/// Whether a produce error concerns only the record sent (its size or content), so the run
/// goes on without it, rather than the cluster or the producer.
pub fn refused_for_itself(error: &KafkaError) -> bool {
    matches!(
        error,
        KafkaError::MessageProduction(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::MessageBatchTooLarge
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::InvalidRecord
                | RDKafkaErrorCode::InvalidTimestamp
                | RDKafkaErrorCode::PolicyViolation
                | RDKafkaErrorCode::BadMessage
                | RDKafkaErrorCode::InvalidArgument
        )
    )
}

/// Records refused for themselves, and the stub dead letters that stand for them.
#[derive(Clone)]
struct Drops {
    producer: FutureProducer,
    dead_letter: String,
    counts: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

impl Drops {
    /// Counts and logs a refused record and sends its stub (a failing stub is logged only).
    fn refused(&self, sent: &Sent, error: &KafkaError) -> Option<DeliveryFuture> {
        let reason = match error {
            KafkaError::MessageProduction(
                RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::MessageBatchTooLarge,
            ) => "too_large",
            _ => "refused",
        };
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(reason).or_default() += 1;
        }
        tracing::error!(
            topic = sent.topic,
            key = %String::from_utf8_lossy(&sent.key),
            bytes = sent.bytes,
            %error,
            "a record was refused for itself: a stub dead letter stands for it"
        );
        if sent.topic == self.dead_letter && sent.key.starts_with(STUB_KEY_PREFIX) {
            return None;
        }
        let stub = serde_json::json!({
            "topic": sent.topic,
            "key": String::from_utf8_lossy(&sent.key),
            "bytes": sent.bytes,
            "error": error.to_string(),
        });
        let payload = serde_json::to_vec(&stub).unwrap_or_default();
        let reason = format!("cannot produce to `{}`: {error}", sent.topic);
        let mut key = STUB_KEY_PREFIX.to_vec();
        key.extend_from_slice(&sent.key[..sent.key.len().min(1024)]);
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "vigil.reason",
                value: Some(reason.as_str()),
            })
            .insert(Header {
                key: "vigil.stub",
                value: Some("true"),
            });
        let record = FutureRecord::to(&self.dead_letter)
            .key(&key)
            .payload(&payload)
            .headers(headers);
        match self.producer.send_result(record) {
            Ok(future) => Some(future),
            Err((error, _)) => {
                tracing::error!(%error, "cannot send a stub dead letter");
                None
            }
        }
    }

    /// Awaits a delivery; a record the broker refused for itself is counted and stubbed
    /// instead of failing the batch.
    async fn settle(&self, delivery: Delivery) -> Result<(), KafkaError> {
        let Delivery { future, sent } = delivery;
        match acknowledgement(future).await {
            Err(error) if refused_for_itself(&error) => {
                if let Some(stub) = self.refused(&sent, &error) {
                    if let Ok(Err((error, _))) = stub.await {
                        tracing::error!(%error, "a stub dead letter was not acknowledged");
                    }
                }
                Ok(())
            }
            Err(error) => {
                tracing::error!(
                    topic = sent.topic,
                    key = %String::from_utf8_lossy(&sent.key),
                    bytes = sent.bytes,
                    %error,
                    "an output was not acknowledged"
                );
                Err(error)
            }
            Ok(()) => Ok(()),
        }
    }
}

/// The key prefix of stub dead letters (a stub is never stubbed again).
const STUB_KEY_PREFIX: &[u8] = b"vigil.stub:";

/// The producer and where it sends.
pub struct KafkaOutputs {
    producer: FutureProducer,
    topics: OutputTopics,
    caep: Option<CaepOutput>,
    /// The most bytes a produced record may take (below `message.max.bytes`).
    budget: usize,
    drops: Drops,
}

/// One line a SOC analyst reads first.
pub fn headline(decision: &Decision) -> String {
    let mode = if decision.mode == Mode::Monitor {
        " (monitor)"
    } else {
        ""
    };
    let reason = decision
        .reasons
        .first()
        .map_or_else(String::new, |reason| format!(": {}", reason.detail));
    format!(
        "{} {}{mode} — risk {:.1} {} — rule {}{reason}",
        decision.action.as_str(),
        decision.identity,
        decision.risk.score,
        decision.risk.level.as_str(),
        decision.rule
    )
}

impl KafkaOutputs {
    /// An idempotent producer over `client` (brokers and security settings already set).
    pub fn new(
        client: &ClientConfig,
        topics: OutputTopics,
        caep: Option<CaepOutput>,
    ) -> Result<KafkaOutputs, KafkaError> {
        let producer: FutureProducer = client
            .clone()
            .set("enable.idempotence", "true")
            .set("linger.ms", "1")
            .create()?;
        let limit = client
            .get("message.max.bytes")
            .and_then(|value| value.parse::<usize>().ok())
            .unwrap_or(DEFAULT_MESSAGE_MAX_BYTES);
        let drops = Drops {
            producer: producer.clone(),
            dead_letter: topics.dead_letter.clone(),
            counts: Arc::default(),
        };
        Ok(KafkaOutputs {
            producer,
            topics,
            caep,
            budget: limit.saturating_sub(FRAMING_BYTES).max(FRAMING_BYTES),
            drops,
        })
    }

    /// Enqueues one record, waiting while the local queue is full; a record the producer
    /// refuses for itself (too large) is counted and a stub dead letter stands for it.
    async fn enqueue(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: Option<OwnedHeaders>,
    ) -> Result<Delivery, KafkaError> {
        let sent = || Sent {
            topic: topic.to_string(),
            key: key.to_vec(),
            bytes: payload.len(),
        };
        loop {
            let mut record = FutureRecord::to(topic).key(key).payload(payload);
            if let Some(headers) = headers.clone() {
                record = record.headers(headers);
            }
            match self.producer.send_result(record) {
                Ok(future) => {
                    return Ok(Delivery {
                        future: Some(future),
                        sent: sent(),
                    })
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, _)) if refused_for_itself(&error) => {
                    let sent = sent();
                    let future = self.drops.refused(&sent, &error);
                    return Ok(Delivery { future, sent });
                }
                Err((error, _)) => return Err(error),
            }
        }
    }

    /// Sends a decision to the decisions and alerts topics and, for enforce-mode actions
    /// other than alerts, its signed SETs to the CAEP topic; `now` is `iat`.
    pub async fn send_decision(
        &self,
        decision: &Decision,
        now: i64,
    ) -> Result<Vec<Delivery>, KafkaError> {
        let key = decision.identity.as_bytes();
        let json = serde_json::to_vec(decision).unwrap_or_default();
        let mut deliveries = vec![
            self.enqueue(&self.topics.decisions, key, &json, None)
                .await?,
        ];
        let mut alert = serde_json::to_value(decision).unwrap_or_default();
        alert["headline"] = headline(decision).into();
        let alert = serde_json::to_vec(&alert).unwrap_or_default();
        deliveries.push(self.enqueue(&self.topics.alerts, key, &alert, None).await?);
        if let Some(caep) = &self.caep {
            for set in sets_for(decision, &caep.identity, now) {
                let token = caep.signer.sign(&set);
                let headers = OwnedHeaders::new().insert(Header {
                    key: "content-type",
                    value: Some("application/secevent+jwt"),
                });
                deliveries.push(
                    self.enqueue(&self.topics.caep, key, token.as_bytes(), Some(headers))
                        .await?,
                );
            }
        }
        Ok(deliveries)
    }

    /// Sends an undecodable record to the dead-letter topic: its original bytes and
    /// headers, plus `vigil.origin` (topic/partition@offset) and `vigil.reason`. The whole
    /// stays within the byte budget: original headers that would take more than a quarter
    /// of it are left out (`vigil.headers_dropped` says how many), and the payload is cut
    /// to what remains (`vigil.truncated` gives its full length).
    pub async fn send_dead_letter(
        &self,
        payload: &[u8],
        original: &[RecordHeader],
        origin: &Origin,
        reason: &str,
    ) -> Result<Delivery, KafkaError> {
        let letter = dead_letter(self.budget, payload, original, origin, reason);
        self.enqueue(
            &self.topics.dead_letter,
            letter.key.as_bytes(),
            letter.payload,
            Some(letter.headers),
        )
        .await
    }

    /// Connects and learns the output topics' leaders before the first decision, so the
    /// first revocation after a start does not wait for connection set-up, metadata and
    /// the idempotent producer's id (measured: 840 ms on loopback, during which input
    /// backs up). A failure is logged, not fatal: topics may be created on first use.
    pub async fn warm_up(&self, timeout: Duration) {
        let producer = self.producer.clone();
        let topics = [
            self.topics.decisions.clone(),
            self.topics.alerts.clone(),
            self.topics.caep.clone(),
            self.topics.dead_letter.clone(),
        ];
        let fetched = tokio::task::spawn_blocking(move || {
            for topic in &topics {
                if let Err(error) = producer.client().fetch_metadata(Some(topic), timeout) {
                    tracing::warn!(%error, topic, "cannot fetch the output topic's metadata");
                }
            }
        })
        .await;
        if let Err(error) = fetched {
            tracing::warn!(%error, "output warm-up failed");
        }
    }

    /// Waits until everything sent is acknowledged (or `timeout` passes).
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.producer.flush(Timeout::After(timeout))
    }
}

fn kafka_error(what: &'static str) -> impl Fn(KafkaError) -> SinkError {
    move |source| SinkError::Kafka { what, source }
}

/// A dead letter laid out within `budget` bytes.
struct DeadLetter<'a> {
    key: String,
    payload: &'a [u8],
    headers: OwnedHeaders,
}

fn header_bytes(key: &str, value: Option<&[u8]>) -> usize {
    key.len() + value.map_or(0, <[u8]>::len) + 8
}

fn dead_letter<'a>(
    budget: usize,
    payload: &'a [u8],
    original: &[RecordHeader],
    origin: &Origin,
    reason: &str,
) -> DeadLetter<'a> {
    let key = origin.to_string();
    let reason = &reason[..reason.floor_char_boundary(vigil_schemas::Reject::MAX_REASON_BYTES)];
    let originals: usize = original
        .iter()
        .map(|header| header_bytes(&header.key, header.value.as_deref()))
        .sum();
    let keep_originals = originals <= budget / 4;
    let mut headers = OwnedHeaders::new();
    let mut used = key.len()
        + header_bytes("vigil.origin", Some(key.as_bytes()))
        + header_bytes("vigil.reason", Some(reason.as_bytes()))
        + header_bytes("vigil.truncated", Some(b"18446744073709551615"))
        + header_bytes("vigil.headers_dropped", Some(b"4294967295"));
    if keep_originals {
        for header in original {
            headers = headers.insert(Header {
                key: &header.key,
                value: header.value.as_deref(),
            });
        }
        used += originals;
    }
    headers = headers
        .insert(Header {
            key: "vigil.origin",
            value: Some(key.as_str()),
        })
        .insert(Header {
            key: "vigil.reason",
            value: Some(reason),
        });
    if !keep_originals {
        headers = headers.insert(Header {
            key: "vigil.headers_dropped",
            value: Some(original.len().to_string().as_str()),
        });
    }
    let room = budget.saturating_sub(used);
    let payload = if payload.len() > room {
        headers = headers.insert(Header {
            key: "vigil.truncated",
            value: Some(payload.len().to_string().as_str()),
        });
        &payload[..room]
    } else {
        payload
    };
    DeadLetter {
        key,
        payload,
        headers,
    }
}

/// Waits for every delivery of a batch; one refused for itself is stubbed, not fatal.
fn acknowledged(drops: &Drops, deliveries: Vec<Delivery>) -> Ack {
    if deliveries.is_empty() {
        return Ack::done();
    }
    let drops = drops.clone();
    Ack::pending(async move {
        for delivery in deliveries {
            drops
                .settle(delivery)
                .await
                .map_err(kafka_error("an output was not acknowledged"))?;
        }
        Ok(())
    })
}

impl Output for KafkaOutputs {
    fn name(&self) -> &'static str {
        "kafka"
    }

    fn start(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(self.warm_up(Duration::from_secs(10)))
    }

    fn rejects<'a>(
        &'a mut self,
        rejected: &'a [Rejected<'a>],
    ) -> BoxFuture<'a, Result<Ack, SinkError>> {
        Box::pin(async move {
            let mut deliveries = Vec::with_capacity(rejected.len());
            for one in rejected {
                deliveries.push(
                    self.send_dead_letter(
                        one.payload,
                        one.headers,
                        &one.reject.origin,
                        &one.reject.reason,
                    )
                    .await
                    .map_err(kafka_error("cannot send a dead letter"))?,
                );
            }
            Ok(acknowledged(&self.drops, deliveries))
        })
    }

    fn health<'a>(&'a mut self, alert: &'a HealthAlert) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let json = serde_json::to_vec(alert).unwrap_or_default();
            let headers = OwnedHeaders::new().insert(Header {
                key: "vigil.kind",
                value: Some(HealthAlert::KIND),
            });
            let sent = self
                .enqueue(&self.topics.alerts, b"vigil", &json, Some(headers))
                .await;
            // Delivered in the background; a failure is in the log, as the alert is.
            if let Err(error) = sent {
                tracing::error!(%error, "cannot send a health alert");
            }
        })
    }

    fn judged<'a>(&'a mut self, judged: Judged<'a>) -> BoxFuture<'a, Result<Ack, SinkError>> {
        Box::pin(async move {
            let mut deliveries = Vec::new();
            for decision in judged.decisions {
                // `decided_at` is when the live loop decided: the SETs' `iat`.
                deliveries.extend(
                    self.send_decision(decision, decision.decided_at.as_secs())
                        .await
                        .map_err(kafka_error("cannot send a decision"))?,
                );
            }
            Ok(acknowledged(&self.drops, deliveries))
        })
    }

    fn dropped(&self) -> Vec<(&'static str, u64)> {
        self.drops
            .counts
            .lock()
            .map(|counts| {
                counts
                    .iter()
                    .map(|(reason, count)| (*reason, *count))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        KafkaOutputs::flush(self, Duration::from_secs(30))
            .map_err(kafka_error("cannot flush the outputs"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::{Headers, Message};
    use rdkafka::mocking::MockCluster;
    use vigil_schemas::{Action, Risk, RiskLevel, Timestamp};

    fn decision(rule: String) -> Decision {
        Decision {
            id: "d-1".into(),
            time: Timestamp(1),
            decided_at: Timestamp(1),
            identity: "ana@example.com".into(),
            session_id: None,
            device_id: None,
            action: Action::Alert,
            mode: Mode::Enforce,
            risk: Risk {
                score: 50.0,
                level: RiskLevel::of(50.0),
            },
            reasons: Vec::new(),
            rule,
            assurance_level: None,
            trigger: Origin::Kafka {
                topic: "in".into(),
                partition: 0,
                offset: 7,
            },
        }
    }

    fn topics() -> OutputTopics {
        OutputTopics {
            decisions: "decisions".into(),
            alerts: "alerts".into(),
            caep: "caep".into(),
            dead_letter: "dead".into(),
        }
    }

    #[tokio::test]
    async fn a_record_too_large_is_stubbed_counted_and_the_next_one_goes() {
        let cluster = MockCluster::new(1).unwrap();
        for topic in ["decisions", "alerts", "caep", "dead"] {
            cluster.create_topic(topic, 1, 1).unwrap();
        }
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("message.max.bytes", "20000");
        let mut outputs = KafkaOutputs::new(&client, topics(), None).unwrap();
        let big = decision("r".repeat(30_000));
        let small = decision("small".into());
        let judged = Judged {
            signals: &[],
            decisions: &[big, small],
        };
        let ack = outputs.judged(judged).await.unwrap();
        if let Some(pending) = ack.into_pending() {
            pending.await.unwrap();
        }
        // Decision and alert of the big one refused locally; the small one's two sent.
        assert_eq!(outputs.dropped(), vec![("too_large", 2)]);
        outputs.finish().unwrap();
        let reader: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", "reader")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        reader.subscribe(&["decisions", "dead"]).unwrap();
        let (mut decisions, mut stubs) = (Vec::new(), Vec::new());
        let started = std::time::Instant::now();
        while (decisions.is_empty() || stubs.len() < 2)
            && started.elapsed() < Duration::from_secs(20)
        {
            let Some(Ok(message)) = reader.poll(Duration::from_millis(100)) else {
                continue;
            };
            let payload: serde_json::Value =
                serde_json::from_slice(message.payload().unwrap()).unwrap();
            if message.topic() == "dead" {
                let headers = message.headers().unwrap();
                assert!(headers
                    .iter()
                    .any(|header| header.key == "vigil.stub" && header.value == Some(b"true")));
                stubs.push(payload);
            } else {
                decisions.push(payload);
            }
        }
        assert_eq!(decisions.len(), 1);
        assert_eq!(decisions[0]["rule"], "small");
        assert_eq!(stubs.len(), 2);
        let stubbed: Vec<&str> = stubs
            .iter()
            .map(|stub| stub["topic"].as_str().unwrap())
            .collect();
        assert_eq!(stubbed, ["decisions", "alerts"]);
        assert!(stubs.iter().all(
            |stub| stub["key"] == "ana@example.com" && stub["bytes"].as_u64().unwrap() > 30_000
        ));
    }

    #[test]
    fn a_dead_letter_fits_its_budget() {
        let origin = Origin::Kafka {
            topic: "in".into(),
            partition: 3,
            offset: 9,
        };
        let headers = vec![RecordHeader {
            key: "big".into(),
            value: Some(vec![b'h'; 5_000]),
        }];
        let payload = vec![b'p'; 50_000];
        let letter = dead_letter(10_000, &payload, &headers, &origin, &"why ".repeat(1_000));
        let names: Vec<(String, Option<String>)> = letter
            .headers
            .iter()
            .map(|header| {
                (
                    header.key.to_string(),
                    header
                        .value
                        .map(|value| String::from_utf8_lossy(value).into_owned()),
                )
            })
            .collect();
        let total = letter.key.len()
            + letter.payload.len()
            + names
                .iter()
                .map(|(key, value)| key.len() + value.as_ref().map_or(0, String::len))
                .sum::<usize>();
        assert!(total <= 10_000, "{total}");
        assert!(letter.payload.len() > 7_000);
        let value = |name: &str| {
            names
                .iter()
                .find(|(key, _)| key == name)
                .and_then(|(_, value)| value.clone())
        };
        assert_eq!(value("vigil.truncated").as_deref(), Some("50000"));
        assert_eq!(value("vigil.headers_dropped").as_deref(), Some("1"));
        assert_eq!(value("big"), None);
        assert!(value("vigil.reason").unwrap().len() <= vigil_schemas::Reject::MAX_REASON_BYTES);
        // Small headers and payload pass whole.
        let letter = dead_letter(10_000, b"{not json", &headers[..0], &origin, "bad");
        assert_eq!(letter.payload, b"{not json");
        assert_eq!(letter.headers.count(), 2);
    }
}
