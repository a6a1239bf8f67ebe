//! Kafka outputs: decisions, SOC alerts, CAEP Security Event Tokens and dead letters, from
//! one idempotent producer (`enable.idempotence`: no duplicates or reordering from
//! retries within a session), keyed by identity so one identity's records stay in order.
//!
//! Every send returns a [`Delivery`] to await: the caller stores its input offsets only
//! after the outputs of the records before them are acknowledged (at-least-once). A full
//! producer queue is waited out, never dropped (back-pressure).

use crate::caep::Signer;
use crate::{Ack, BoxFuture, Judged, Output, Rejected, SinkError};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::ClientConfig;
use std::time::Duration;
use vigil_schemas::caep::{sets_for, CaepIdentity};
use vigil_schemas::{Decision, Mode, Origin, RecordHeader};

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

/// A send in flight.
pub struct Delivery(DeliveryFuture);

impl Delivery {
    /// Waits for the broker's acknowledgement.
    pub async fn acknowledged(self) -> Result<(), KafkaError> {
        match self.0.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err((error, _))) => Err(error),
            Err(_) => Err(KafkaError::Canceled),
        }
    }
}

/// The producer and where it sends.
pub struct KafkaOutputs {
    producer: FutureProducer,
    topics: OutputTopics,
    caep: Option<CaepOutput>,
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
        Ok(KafkaOutputs {
            producer,
            topics,
            caep,
        })
    }

    /// Enqueues one record, waiting while the local queue is full.
    async fn enqueue(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: Option<OwnedHeaders>,
    ) -> Result<Delivery, KafkaError> {
        loop {
            let mut record = FutureRecord::to(topic).key(key).payload(payload);
            if let Some(headers) = headers.clone() {
                record = record.headers(headers);
            }
            match self.producer.send_result(record) {
                Ok(future) => return Ok(Delivery(future)),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
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
    /// headers, plus `vigil.origin` (topic/partition@offset) and `vigil.reason`.
    pub async fn send_dead_letter(
        &self,
        payload: &[u8],
        original: &[RecordHeader],
        origin: &Origin,
        reason: &str,
    ) -> Result<Delivery, KafkaError> {
        let mut headers = OwnedHeaders::new();
        for header in original {
            headers = headers.insert(Header {
                key: &header.key,
                value: header.value.as_deref(),
            });
        }
        let origin_text = origin.to_string();
        headers = headers
            .insert(Header {
                key: "vigil.origin",
                value: Some(origin_text.as_str()),
            })
            .insert(Header {
                key: "vigil.reason",
                value: Some(reason),
            });
        self.enqueue(
            &self.topics.dead_letter,
            origin_text.as_bytes(),
            payload,
            Some(headers),
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

/// Waits for every delivery of a batch.
fn acknowledged(deliveries: Vec<Delivery>) -> Ack {
    if deliveries.is_empty() {
        return Ack::done();
    }
    Ack::pending(async move {
        for delivery in deliveries {
            delivery
                .acknowledged()
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
            Ok(acknowledged(deliveries))
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
            Ok(acknowledged(deliveries))
        })
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        KafkaOutputs::flush(self, Duration::from_secs(30))
            .map_err(kafka_error("cannot flush the outputs"))
    }
}
