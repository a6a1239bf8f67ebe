//! A record that could not be decoded, as written to the rejects file and, on the Kafka
//! path, described beside the dead letter: produced by `ingest`'s record step, written by
//! `sinks`.

use serde::{Deserialize, Serialize};

/// A record that could not be decoded: what it was, where it came from, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reject {
    /// Where it was read (file and line, or topic, partition and offset).
    #[serde(flatten)]
    pub origin: crate::Origin,
    /// Why it was rejected, naming the field.
    pub reason: String,
    /// The record as read, lossily decoded as UTF-8, cut at [`Reject::MAX_KEPT_BYTES`].
    pub record: String,
    /// Whether `record` was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Reject {
    /// The most bytes of a rejected record kept in the rejects file: enough to see what
    /// it was, without copying a hostile megabyte record.
    pub const MAX_KEPT_BYTES: usize = 64 * 1024;

    /// A reject of `record` read at `origin`.
    pub fn new(origin: crate::Origin, reason: String, record: &[u8]) -> Reject {
        let kept = &record[..record.len().min(Self::MAX_KEPT_BYTES)];
        Reject {
            origin,
            reason,
            record: String::from_utf8_lossy(kept).into_owned(),
            truncated: kept.len() < record.len(),
        }
    }
}

/// One header of an input record (a Kafka record's headers), kept so a dead letter carries
/// the record as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    /// The header's name.
    pub key: String,
    /// Its value, if any.
    pub value: Option<Vec<u8>>,
}
