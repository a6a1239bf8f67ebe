//! Sources behind one trait: records read in batches, each with the stream it came from
//! (a file; a Kafka topic partition) and its place in it, and one [`Position`] type for
//! where a stream's reading has got to.
//!
//! A source hands out [`RecordBatch`]es; the pipeline decodes and judges them and tells
//! the source, through [`Source::commit`], which positions are safe: their outputs are
//! acknowledged and, with a state store, their state is durable. A file source has nothing
//! to commit; a Kafka source stores the offsets for the group's next commit.

use crate::Format;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use vigil_schemas::{Origin, Progress, RecordHeader};

/// Where records come from: one file, or one partition of a Kafka topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Stream {
    /// A file of JSON lines.
    File {
        /// The path as given, as origins name it.
        name: Arc<str>,
        /// The absolute path, as the state store keys its position (a relative path given
        /// from another folder is still the same file).
        absolute: Arc<str>,
    },
    /// A partition of a Kafka topic.
    Kafka {
        /// The topic.
        topic: Arc<str>,
        /// The partition.
        partition: i32,
    },
}

impl Stream {
    /// The stream of a file: its absolute path when it exists (`-`, standard input, as is).
    pub fn file(name: &str) -> Stream {
        let path = std::path::Path::new(name);
        let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        Stream::File {
            name: Arc::from(name),
            absolute: Arc::from(absolute.display().to_string()),
        }
    }

    /// The input it belongs to, as metrics label it: the file's name or the topic.
    pub fn input(&self) -> &str {
        match self {
            Stream::File { name, .. } => name,
            Stream::Kafka { topic, .. } => topic,
        }
    }

    /// The key of this stream's position in the state store: `file:<absolute path>` or
    /// `kafka:<topic>:<partition>`.
    pub fn key(&self) -> String {
        match self {
            Stream::File { absolute, .. } => format!("file:{absolute}"),
            Stream::Kafka { topic, partition } => format!("kafka:{topic}:{partition}"),
        }
    }

    /// The stream a state-store key names ([`Stream::key`] read back; a file's name is
    /// then its absolute path).
    pub fn from_key(key: &str) -> Option<Stream> {
        if let Some(absolute) = key.strip_prefix("file:") {
            let absolute: Arc<str> = Arc::from(absolute);
            return Some(Stream::File {
                name: absolute.clone(),
                absolute,
            });
        }
        let (topic, partition) = key.strip_prefix("kafka:")?.rsplit_once(':')?;
        Some(Stream::Kafka {
            topic: Arc::from(topic),
            partition: partition.parse().ok()?,
        })
    }

    /// The origin of the record at `sequence` (a line number; an offset).
    pub fn origin(&self, sequence: u64) -> Origin {
        match self {
            Stream::File { name, .. } => Origin::File {
                file: name.clone(),
                line: sequence,
            },
            Stream::Kafka { topic, partition } => Origin::Kafka {
                topic: topic.clone(),
                partition: *partition,
                offset: i64::try_from(sequence).unwrap_or(i64::MAX),
            },
        }
    }
}

/// How far a stream has been read: the next line or offset to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position {
    /// The stream.
    pub stream: Stream,
    /// The next record's line (files: lines read, blank ones included) or offset.
    pub next: u64,
    /// A fingerprint of the record before `next` (Kafka), 0 when none is kept (files).
    pub mark: u64,
}

impl Position {
    /// The state store's key of the stream (see [`Stream::key`]).
    pub fn key(&self) -> String {
        self.stream.key()
    }

    /// The position as the state store keeps it.
    pub fn progress(&self) -> Progress {
        Progress {
            next: self.next,
            mark: self.mark,
        }
    }

    /// A position the state store kept under `key` (None when the key names no stream).
    pub fn stored(key: &str, progress: Progress) -> Option<Position> {
        Some(Position {
            stream: Stream::from_key(key)?,
            next: progress.next,
            mark: progress.mark,
        })
    }
}

/// One record of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSpan {
    /// Index of its stream in the batch ([`RecordBatch::stream`]).
    pub stream: u32,
    /// Its 1-based line in a file, or its offset in a partition.
    pub sequence: u64,
    /// Start of its bytes in the batch buffer.
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
    /// Its full length when it was longer than [`crate::MAX_RECORD_BYTES`] and cut.
    pub oversized: Option<u64>,
}

/// The streams of a batch, with the format each is decoded with.
#[derive(Debug, Clone)]
pub struct StreamFormat {
    /// The stream.
    pub stream: Stream,
    /// Its records' format.
    pub format: Format,
}

/// Records of one or more streams, in one buffer, in the order they were read.
#[derive(Debug, Default)]
pub struct RecordBatch {
    pub(crate) data: Vec<u8>,
    /// The records.
    pub records: Vec<RecordSpan>,
    pub(crate) streams: Vec<StreamFormat>,
    /// Headers of the records that have any, by record index (most have none).
    pub(crate) headers: Vec<(usize, Vec<RecordHeader>)>,
    /// The next position of each stream once this batch is judged.
    pub positions: Vec<Position>,
    /// Records read and passed over unjudged, because the state already reflects them
    /// (a restart resumed before its checkpoint).
    pub passed_over: u64,
}

impl RecordBatch {
    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.data.clear();
        self.records.clear();
        self.streams.clear();
        self.headers.clear();
        self.positions.clear();
        self.passed_over = 0;
    }

    /// A record's bytes.
    pub fn bytes(&self, span: &RecordSpan) -> &[u8] {
        &self.data[span.start..span.end]
    }

    /// A record's stream and format.
    pub fn stream(&self, span: &RecordSpan) -> &StreamFormat {
        &self.streams[span.stream as usize]
    }

    /// A record's origin.
    pub fn origin(&self, span: &RecordSpan) -> Origin {
        self.stream(span).stream.origin(span.sequence)
    }

    /// The headers of the record at `index`.
    pub fn headers(&self, index: usize) -> &[RecordHeader] {
        self.headers
            .iter()
            .find(|(record, _)| *record == index)
            .map_or(&[], |(_, headers)| headers.as_slice())
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The index of `stream` among the batch's streams, adding it when new.
    pub fn stream_index(&mut self, stream: &Stream, format: Format) -> u32 {
        match self
            .streams
            .iter()
            .position(|known| known.stream == *stream)
        {
            Some(index) => index as u32,
            None => {
                self.streams.push(StreamFormat {
                    stream: stream.clone(),
                    format,
                });
                (self.streams.len() - 1) as u32
            }
        }
    }

    /// Appends a record of the stream at `stream` (from [`RecordBatch::stream_index`]);
    /// its index.
    pub fn push(&mut self, stream: u32, sequence: u64, bytes: &[u8]) -> usize {
        let start = self.data.len();
        self.data.extend_from_slice(bytes);
        self.records.push(RecordSpan {
            stream,
            sequence,
            start,
            end: self.data.len(),
            oversized: None,
        });
        self.records.len() - 1
    }
}

/// Whether a source has records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// A record is ready: [`Source::next_batch`] returns at least one.
    Ready,
    /// Nothing is ready now (only when not asked to wait).
    Idle,
    /// The input has ended (files; Kafka never ends).
    Ended,
}

/// Why a source failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A file could not be opened or read.
    #[error("failed to read `{name}`: {source}")]
    Read {
        /// The file.
        name: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The Kafka client failed.
    #[cfg(feature = "kafka")]
    #[error("{what}: {source}")]
    Kafka {
        /// What was being done.
        what: &'static str,
        /// Cause.
        source: rdkafka::error::KafkaError,
    },
}

/// Records in batches, resumable from positions, committed once safe.
pub trait Source: Send {
    /// Starts after the positions the state store holds (keys of [`Stream::key`]): a file
    /// skips the lines already judged, a Kafka source passes over the records before them
    /// (unless the record before a position is not the one its mark names: the stream is
    /// another of the same name, and its records are new).
    fn resume(&mut self, positions: &BTreeMap<String, Progress>) -> Result<(), SourceError>;

    /// Whether to read the next batch while the previous one is judged (files: reading
    /// is always progress), or to finish each batch first (Kafka: a rebalance never
    /// takes a partition with work in flight).
    fn read_ahead(&self) -> bool;

    /// Whether a record is ready; with `wait`, waits for one or for the end. Cancel-safe:
    /// a record received while waiting is kept for the next batch.
    fn ready(&mut self, wait: bool) -> impl Future<Output = Result<Readiness, SourceError>> + Send;

    /// Refills `batch` with the next records (at least one once [`Source::ready`] said
    /// so); false at the end of the input.
    fn next_batch(
        &mut self,
        batch: &mut RecordBatch,
    ) -> impl Future<Output = Result<bool, SourceError>> + Send;

    /// Positions whose outputs are acknowledged and, with a state store, whose state is
    /// durable: a Kafka source stores them for the group's commit.
    fn commit(&mut self, positions: &[Position]) -> Result<(), SourceError>;

    /// Whether the source has its inputs (a Kafka group member with partitions assigned;
    /// a file once open).
    fn assigned(&self) -> bool {
        true
    }

    /// Records behind the end of each input partition, as last reported (Kafka).
    fn lag(&self) -> Vec<(Stream, i64)> {
        Vec::new()
    }

    /// Commits what was stored and lets go of the inputs.
    fn close(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_as_their_streams() {
        let kafka = Stream::Kafka {
            topic: Arc::from("vigil.auth:eu"),
            partition: 7,
        };
        assert_eq!(kafka.key(), "kafka:vigil.auth:eu:7");
        assert_eq!(Stream::from_key(&kafka.key()), Some(kafka));
        let file = Stream::file("/no/such/events.jsonl");
        assert_eq!(file.key(), "file:/no/such/events.jsonl");
        assert_eq!(
            Stream::from_key(&file.key()).map(|stream| stream.key()),
            Some(file.key())
        );
        assert_eq!(Stream::from_key("kafka:topic:x"), None);
        assert_eq!(Stream::from_key("s3:bucket"), None);
    }
}
