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
//!
//! A topic deleted and created again under the same name is another stream: each stored
//! position keeps a mark of the record before it (a fingerprint of its key, payload and
//! timestamp), and at resume that record is fetched once per partition. A different
//! record there, or a partition now shorter than the position, means the topic is new:
//! its position is dropped and the partition read from its beginning (the group's old
//! commit may lie inside the new topic). An empty partition (new, or emptied by
//! retention) or a topic gone has nothing the state could reflect, so its position is
//! dropped too; a record past the position (retention removed the marked one), or no
//! answer, keeps it.

use crate::source::{Position, Readiness, RecordBatch, Source, SourceError, Stream};
use crate::Format;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vigil_schemas::{Progress, RecordHeader};

/// One input topic and its records' format.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaInput {
    /// The topic.
    pub topic: String,
    /// Its format.
    pub format: Format,
}

/// Tracks whether the group has given this member partitions (readiness), and each
/// assigned partition's lag from librdkafka's statistics; starts the partitions of
/// topics created again at their beginning.
struct Assignment {
    assigned: Arc<AtomicBool>,
    lag: Arc<Mutex<Vec<(Stream, i64)>>>,
    /// Partitions of topics created again since the state was written: read from their
    /// beginning once assigned, not from the group's commit of the old topic.
    rewind: Arc<Mutex<HashSet<(String, i32)>>>,
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
    fn pre_rebalance(
        &self,
        _consumer: &rdkafka::consumer::BaseConsumer<Self>,
        rebalance: &Rebalance<'_>,
    ) {
        let Rebalance::Assign(partitions) = rebalance else {
            return;
        };
        let mut rewind = self
            .rewind
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if rewind.is_empty() {
            return;
        }
        // The offsets given here are where the assignment starts (librdkafka's way to
        // override the committed ones).
        rewind.retain(|(topic, partition)| {
            match partitions.find_partition(topic, *partition) {
                Some(mut assigned) => {
                    if let Err(error) = assigned.set_offset(Offset::Beginning) {
                        tracing::error!(topic, partition, %error, "cannot read a recreated topic from its beginning");
                    }
                    false
                }
                None => true,
            }
        });
    }

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
    /// The brokers and settings, for the consumer that checks marks at resume.
    client: ClientConfig,
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
    /// Shared with the consumer's context ([`Assignment::rewind`]).
    rewind: Arc<Mutex<HashSet<(String, i32)>>>,
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

/// How long resume waits for the records before the restored positions.
const CHECK_MARKS_FOR: Duration = Duration::from_secs(10);

/// A record's mark ([`Progress::mark`]): a fingerprint of its key, payload and
/// timestamp, never 0.
fn mark(message: &impl Message) -> u64 {
    use std::hash::Hasher;
    let mut hasher = rustc_hash::FxHasher::default();
    let key = message.key().unwrap_or_default();
    hasher.write_usize(key.len());
    hasher.write(key);
    let payload = message.payload().unwrap_or_default();
    hasher.write_usize(payload.len());
    hasher.write(payload);
    hasher.write_i64(message.timestamp().to_millis().unwrap_or(i64::MIN));
    hasher.finish().max(1)
}

/// What the record before a restored position says of its partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// The marked record, or none of the records before the position left (retention):
    /// the state reflects this partition.
    Same,
    /// Another record there, or the partition is shorter: a topic created again.
    Recreated,
    /// The partition is empty, or the topic is gone: nothing to pass over.
    Nothing,
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
        let rewind = Arc::new(Mutex::new(HashSet::new()));
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
                rewind: rewind.clone(),
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
            client: client.clone(),
            formats,
            max_batch: max_batch.max(1),
            max_wait,
            first: None,
            restored: HashMap::new(),
            reflected: HashMap::new(),
            assigned,
            lag,
            rewind,
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

    /// Fetches the record before each restored position that has a mark, and says what
    /// it shows of the partition. Positions without a mark (written before marks were
    /// kept), and partitions the broker cannot be asked about now, are not in the answer.
    fn check_marks(&self, restored: &[((String, i32), i64, u64)]) -> HashMap<(String, i32), Found> {
        let mut found = HashMap::new();
        let marked: Vec<&((String, i32), i64, u64)> = restored
            .iter()
            .filter(|(_, next, mark)| *mark != 0 && *next > 0)
            .collect();
        if marked.is_empty() {
            return found;
        }
        let checker: BaseConsumer = match self
            .client
            .clone()
            // Assigned its partitions, never joining this group nor committing to it
            // (librdkafka wants a group for any assignment).
            .set("group.id", "vigil.mark-check")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "5")
            .create()
        {
            Ok(checker) => checker,
            Err(error) => {
                tracing::warn!(%error, "cannot check the input positions' marks");
                return found;
            }
        };
        let mut expected: HashMap<(String, i32), (i64, u64)> = HashMap::new();
        let mut assignment = TopicPartitionList::new();
        let mut topics: Vec<&str> = marked
            .iter()
            .map(|((topic, _), _, _)| topic.as_str())
            .collect();
        topics.sort_unstable();
        topics.dedup();
        for topic in topics {
            let metadata = match checker.fetch_metadata(Some(topic), CHECK_MARKS_FOR) {
                Ok(metadata) => metadata,
                Err(error) => {
                    tracing::warn!(topic, %error, "cannot check the input positions' marks: the positions are kept");
                    continue;
                }
            };
            let partitions: HashSet<i32> = metadata
                .topics()
                .iter()
                .filter(|entry| entry.name() == topic && entry.error().is_none())
                .flat_map(|entry| entry.partitions().iter().map(|partition| partition.id()))
                .collect();
            for ((name, partition), next, mark) in
                marked.iter().filter(|(key, _, _)| key.0 == topic)
            {
                let key = (name.clone(), *partition);
                if !partitions.contains(partition) {
                    found.insert(key, Found::Nothing);
                    continue;
                }
                let _ = assignment.add_partition_offset(name, *partition, Offset::Offset(next - 1));
                expected.insert(key, (next - 1, *mark));
            }
        }
        if expected.is_empty() {
            return found;
        }
        if let Err(error) = checker.assign(&assignment) {
            tracing::warn!(%error, "cannot check the input positions' marks: the positions are kept");
            return found;
        }
        let deadline = std::time::Instant::now() + CHECK_MARKS_FOR;
        let mut answered = 0;
        while answered < expected.len() && std::time::Instant::now() < deadline {
            match checker.poll(Duration::from_millis(100)) {
                Some(Ok(message)) => {
                    let key = (message.topic().to_string(), message.partition());
                    let Some((offset, expected_mark)) = expected.get(&key).copied() else {
                        continue;
                    };
                    let verdict = match message.offset().cmp(&offset) {
                        std::cmp::Ordering::Equal if mark(&message) == expected_mark => Found::Same,
                        std::cmp::Ordering::Equal | std::cmp::Ordering::Less => Found::Recreated,
                        std::cmp::Ordering::Greater => Found::Same,
                    };
                    if let std::collections::hash_map::Entry::Vacant(entry) = found.entry(key) {
                        entry.insert(verdict);
                        answered += 1;
                    }
                }
                Some(Err(error)) => tracing::debug!(%error, "checking the input positions' marks"),
                None => {}
            }
        }
        for (key, (offset, _)) in expected {
            if found.contains_key(&key) {
                continue;
            }
            // No record at or after the one before the position (some brokers answer
            // only from a batch's first record): an empty partition has nothing to pass
            // over; otherwise the position is kept, as it is when the broker is silent.
            match checker.fetch_watermarks(&key.0, key.1, CHECK_MARKS_FOR) {
                Ok((low, high)) if low >= high => {
                    found.insert(key, Found::Nothing);
                }
                answer => tracing::warn!(
                    topic = key.0,
                    partition = key.1,
                    offset,
                    ?answer,
                    "the record before the state's position was not returned: the position is kept"
                ),
            }
        }
        found
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
    fn resume(&mut self, positions: &BTreeMap<String, Progress>) -> Result<(), SourceError> {
        let restored: Vec<((String, i32), i64, u64)> = positions
            .iter()
            .filter_map(|(key, progress)| match Stream::from_key(key)? {
                Stream::Kafka { topic, partition } => Some((
                    (topic.to_string(), partition),
                    i64::try_from(progress.next).ok()?,
                    progress.mark,
                )),
                Stream::File { .. } => None,
            })
            .collect();
        let found = self.check_marks(&restored);
        let mut rewind = Vec::new();
        for (key, next, _) in restored {
            match found.get(&key).copied().unwrap_or(Found::Same) {
                Found::Same => {
                    self.restored.insert(key, next);
                }
                Found::Recreated => {
                    tracing::warn!(
                        topic = key.0,
                        partition = key.1,
                        position = next,
                        "the input topic was created again since the state was written: \
                         its records are judged from its beginning"
                    );
                    rewind.push(key);
                }
                Found::Nothing => tracing::info!(
                    topic = key.0,
                    partition = key.1,
                    position = next,
                    "the input partition is empty or gone: nothing to pass over"
                ),
            }
        }
        // Partitions assigned already are sought now; the others start at their beginning
        // when the group assigns them.
        let assignment = self.consumer.assignment().unwrap_or_default();
        let mut later = self
            .rewind
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (topic, partition) in rewind {
            if assignment.find_partition(&topic, partition).is_none() {
                later.insert((topic, partition));
                continue;
            }
            let sought = self
                .consumer
                .seek(&topic, partition, Offset::Beginning, CHECK_MARKS_FOR);
            if let Err(error) = sought {
                tracing::error!(topic, partition, %error, "cannot read a recreated topic from its beginning");
            }
        }
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
        let mut next: BTreeMap<(Arc<str>, i32), (i64, u64)> = BTreeMap::new();
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
                    next.insert(
                        (topic, received.partition()),
                        (received.offset() + 1, mark(&received)),
                    );
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
            .map(|((topic, partition), (offset, mark))| Position {
                stream: Stream::Kafka { topic, partition },
                next: u64::try_from(offset).unwrap_or(0),
                mark,
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
