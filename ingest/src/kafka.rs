//! Kafka source: one consumer group over the input topics, each with its format.
//!
//! Offsets are stored (`enable.auto.offset.store=false`) only when the pipeline commits
//! positions whose outputs are acknowledged (and, with a state store, whose state is
//! durable), and committed by librdkafka's auto-commit and on [`Source::close`]:
//! at-least-once. After a restart, records the restored state already reflects are passed
//! over unjudged (no baseline counts an event twice) and their offsets stored at once, so
//! the group's commit catches up with the state even when no new record follows them.
//! Likewise a partition that goes to another member and comes back resumes from the
//! group's last commit, behind what this process judged: those records are passed over,
//! so a rebalance never counts an event twice.

use crate::source::{Position, Readiness, RecordBatch, Source, SourceError, Stream};
use crate::Format;
use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vigil_schemas::RecordHeader;

/// One input topic and its records' format.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaInput {
    /// The topic.
    pub topic: String,
    /// Its format.
    pub format: Format,
}

/// Tracks whether the group has given this member partitions (readiness), and each
/// assigned partition's lag from librdkafka's statistics.
struct Assignment {
    assigned: Arc<AtomicBool>,
    lag: Arc<Mutex<Vec<(Stream, i64)>>>,
}

impl ClientContext for Assignment {
    fn stats(&self, statistics: rdkafka::Statistics) {
        let mut lags = Vec::new();
        for (topic, report) in &statistics.topics {
            let name: Arc<str> = Arc::from(topic.as_str());
            for (partition, state) in &report.partitions {
                // librdkafka reports the internal partition -1 and -1 for unknown lag.
                if *partition >= 0 && state.consumer_lag >= 0 {
                    lags.push((
                        Stream::Kafka {
                            topic: name.clone(),
                            partition: *partition,
                        },
                        state.consumer_lag,
                    ));
                }
            }
        }
        *self
            .lag
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = lags;
    }
}

impl ConsumerContext for Assignment {
    fn post_rebalance(
        &self,
        _consumer: &rdkafka::consumer::BaseConsumer<Self>,
        rebalance: &Rebalance<'_>,
    ) {
        match rebalance {
            Rebalance::Assign(partitions) => self
                .assigned
                .store(partitions.count() > 0, Ordering::Relaxed),
            Rebalance::Revoke(_) => self.assigned.store(false, Ordering::Relaxed),
            Rebalance::Error(error) => tracing::warn!(%error, "consumer group rebalance failed"),
        }
    }
}

/// The consumer group as a [`Source`].
pub struct KafkaSource {
    consumer: StreamConsumer<Assignment>,
    /// Each input topic's format, and its name shared by every origin read from it.
    formats: HashMap<String, (Format, Arc<str>)>,
    max_batch: usize,
    max_wait: Duration,
    /// A record received while waiting, for the next batch.
    first: Option<OwnedMessage>,
    /// Next offset per (topic, partition) the restored state reflects.
    restored: HashMap<(String, i32), i64>,
    /// Next offset per (topic, partition) judged by this process (durable or not).
    reflected: HashMap<(String, i32), i64>,
    assigned: Arc<AtomicBool>,
    lag: Arc<Mutex<Vec<(Stream, i64)>>>,
}

/// What became of one message.
enum Taken {
    /// Added to the batch, to judge.
    New,
    /// Passed over: the durable state reflects it (its next offset, to store now).
    Durable(i64),
    /// Passed over: judged by this process already, not yet durable (its offset is
    /// stored with a later checkpoint's).
    Again,
}

/// How often librdkafka reports statistics (consumer lag).
const STATISTICS_INTERVAL_MS: &str = "5000";

fn kafka_error(what: &'static str) -> impl Fn(rdkafka::error::KafkaError) -> SourceError {
    move |source| SourceError::Kafka { what, source }
}

impl KafkaSource {
    /// A member of `group_id` over `inputs`, with `client`'s brokers and settings; batches
    /// of up to `max_batch` records, waiting at most `max_wait` for one to fill.
    pub fn new(
        client: &ClientConfig,
        group_id: &str,
        inputs: &[KafkaInput],
        max_batch: usize,
        max_wait: Duration,
    ) -> Result<KafkaSource, SourceError> {
        let assigned = Arc::new(AtomicBool::new(false));
        let lag = Arc::new(Mutex::new(Vec::new()));
        let consumer: StreamConsumer<Assignment> = client
            .clone()
            .set("group.id", group_id)
            .set("enable.auto.offset.store", "false")
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            .set("auto.offset.reset", "earliest")
            // Revocations are only useful while the session is live: never let the
            // broker hold a fetch for long waiting for more bytes.
            .set("fetch.wait.max.ms", "5")
            .set("statistics.interval.ms", STATISTICS_INTERVAL_MS)
            .create_with_context(Assignment {
                assigned: assigned.clone(),
                lag: lag.clone(),
            })
            .map_err(kafka_error("cannot create the Kafka consumer"))?;
        let topics: Vec<&str> = inputs.iter().map(|input| input.topic.as_str()).collect();
        consumer
            .subscribe(&topics)
            .map_err(kafka_error("cannot subscribe to the input topics"))?;
        let formats = inputs
            .iter()
            .map(|input| {
                let name: Arc<str> = Arc::from(input.topic.as_str());
                (input.topic.clone(), (input.format, name))
            })
            .collect();
        Ok(KafkaSource {
            consumer,
            formats,
            max_batch: max_batch.max(1),
            max_wait,
            first: None,
            restored: HashMap::new(),
            reflected: HashMap::new(),
            assigned,
            lag,
        })
    }

    /// Adds one message to `batch`, or passes over one the state already reflects
    /// (returning its next offset).
    fn take(&self, message: &OwnedMessage, batch: &mut RecordBatch) -> Taken {
        let key = (message.topic().to_string(), message.partition());
        if self
            .restored
            .get(&key)
            .is_some_and(|next| message.offset() < *next)
        {
            // Judged into the state before the restart; its outputs were acknowledged
            // before that checkpoint.
            batch.passed_over += 1;
            return Taken::Durable(message.offset() + 1);
        }
        if self
            .reflected
            .get(&key)
            .is_some_and(|next| message.offset() < *next)
        {
            // Judged by this process already: the partition went to another member and
            // came back, and the group resumes it from its last commit, behind what the
            // state holds. Judging it again would count it twice.
            batch.passed_over += 1;
            return Taken::Again;
        }
        let (format, topic) = match self.formats.get(message.topic()) {
            Some((format, name)) => (*format, name.clone()),
            None => (Format::Auto, Arc::from(message.topic())),
        };
        let stream = Stream::Kafka {
            topic,
            partition: message.partition(),
        };
        let index = batch.stream_index(&stream, format);
        let sequence = u64::try_from(message.offset()).unwrap_or(0);
        let record = batch.push(index, sequence, message.payload().unwrap_or_default());
        if let Some(headers) = message.headers() {
            let headers = headers
                .iter()
                .map(|header| RecordHeader {
                    key: header.key.to_string(),
                    value: header.value.map(<[u8]>::to_vec),
                })
                .collect();
            batch.headers.push((record, headers));
        }
        Taken::New
    }

    /// Stores offsets for the group's next commit.
    fn store(&self, offsets: &TopicPartitionList) -> Result<(), SourceError> {
        if offsets.count() == 0 {
            return Ok(());
        }
        self.consumer
            .store_offsets(offsets)
            .map_err(kafka_error("cannot store input offsets"))
    }
}

impl Source for KafkaSource {
    fn resume(&mut self, positions: &BTreeMap<String, u64>) -> Result<(), SourceError> {
        self.restored = positions
            .iter()
            .filter_map(|(key, next)| match Stream::from_key(key)? {
                Stream::Kafka { topic, partition } => {
                    Some(((topic.to_string(), partition), i64::try_from(*next).ok()?))
                }
                Stream::File { .. } => None,
            })
            .collect();
        Ok(())
    }

    fn read_ahead(&self) -> bool {
        false
    }

    async fn ready(&mut self, wait: bool) -> Result<Readiness, SourceError> {
        if self.first.is_some() {
            return Ok(Readiness::Ready);
        }
        let received = if wait {
            self.consumer.recv().await
        } else {
            // A timeout polls the receive once before its clock: a record already in the
            // consumer's queue is taken, nothing is waited for.
            match tokio::time::timeout(Duration::ZERO, self.consumer.recv()).await {
                Ok(received) => received,
                Err(_) => return Ok(Readiness::Idle),
            }
        };
        match received {
            Ok(message) => {
                self.first = Some(message.detach());
                Ok(Readiness::Ready)
            }
            Err(error) => {
                tracing::warn!(%error, "Kafka consumer error");
                Ok(Readiness::Idle)
            }
        }
    }

    async fn next_batch(&mut self, batch: &mut RecordBatch) -> Result<bool, SourceError> {
        batch.clear();
        while self.first.is_none() {
            self.ready(true).await?;
        }
        let mut passed_over: BTreeMap<(String, i32), i64> = BTreeMap::new();
        let mut next: BTreeMap<(Arc<str>, i32), i64> = BTreeMap::new();
        let mut taken = 0;
        let deadline = tokio::time::Instant::now() + self.max_wait;
        let mut message = self.first.take();
        while let Some(received) = message.take() {
            taken += 1;
            match self.take(&received, batch) {
                Taken::Durable(offset) => {
                    passed_over
                        .insert((received.topic().to_string(), received.partition()), offset);
                }
                Taken::Again => {}
                Taken::New => {
                    let topic = match self.formats.get(received.topic()) {
                        Some((_, name)) => name.clone(),
                        None => Arc::from(received.topic()),
                    };
                    next.insert((topic, received.partition()), received.offset() + 1);
                    self.reflected.insert(
                        (received.topic().to_string(), received.partition()),
                        received.offset() + 1,
                    );
                }
            }
            if taken >= self.max_batch {
                break;
            }
            match tokio::time::timeout_at(deadline, self.consumer.recv()).await {
                Ok(Ok(more)) => message = Some(more.detach()),
                Ok(Err(error)) => tracing::warn!(%error, "Kafka consumer error"),
                Err(_) => break,
            }
        }
        batch.positions = next
            .into_iter()
            .map(|((topic, partition), offset)| Position {
                stream: Stream::Kafka { topic, partition },
                next: u64::try_from(offset).unwrap_or(0),
            })
            .collect();
        // Their state is durable already, so their offsets can be committed now: a
        // restart whose checkpoint is ahead of the group's commit (killed before the
        // auto-commit) catches the commit up even when nothing after it is new.
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), next) in &passed_over {
            let _ = offsets.add_partition_offset(topic, *partition, Offset::Offset(*next));
        }
        if let Err(error) = self.store(&offsets) {
            // A partition given away in a rebalance cannot be stored; its new owner
            // resumes from the last commit.
            tracing::debug!(%error, "cannot store the offsets of records passed over");
        }
        Ok(true)
    }

    fn commit(&mut self, positions: &[Position]) -> Result<(), SourceError> {
        let mut offsets = TopicPartitionList::new();
        for position in positions {
            if let Stream::Kafka { topic, partition } = &position.stream {
                let offset = i64::try_from(position.next).unwrap_or(i64::MAX);
                let _ = offsets.add_partition_offset(topic, *partition, Offset::Offset(offset));
            }
        }
        self.store(&offsets)
    }

    fn assigned(&self) -> bool {
        self.assigned.load(Ordering::Relaxed)
    }

    fn lag(&self) -> Vec<(Stream, i64)> {
        self.lag
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn close(&mut self) {
        if let Err(error) = self.consumer.commit_consumer_state(CommitMode::Sync) {
            // Nothing stored yet (no records) is not an error worth failing on.
            tracing::debug!(%error, "final commit");
        }
    }
}
