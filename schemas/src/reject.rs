//! A record that could not be decoded, as written to the rejects file and, on the Kafka
//! path, described beside the dead letter: produced by `ingest`'s record step, written by
//! `sinks`.

use serde::{Deserialize, Serialize};

/// A record that could not be decoded: what it was, where it came from, and why. A vendor
/// batch (a CloudTrail `Records` array) whose members fail gives one reject for the
/// record, with the count, never one copy per member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reject {
    /// Where it was read (file and line, or topic, partition and offset).
    #[serde(flatten)]
    pub origin: crate::Origin,
    /// Why it was rejected, naming the field; cut at [`Reject::MAX_REASON_BYTES`].
    pub reason: String,
    /// How many events of the record were rejected: more than one only for a vendor
    /// batch, whose first failure is the reason.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u64,
    /// The record as read, lossily decoded as UTF-8, cut at [`Reject::MAX_KEPT_BYTES`].
    pub record: String,
    /// Whether `record` was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

fn one() -> u64 {
    1
}

fn is_one(count: &u64) -> bool {
    *count == 1
}

impl Reject {
    /// The most bytes of a rejected record kept in the rejects file: enough to see what
    /// it was, without copying a hostile megabyte record.
    pub const MAX_KEPT_BYTES: usize = 64 * 1024;

    /// The most bytes of a reason: reasons quote values of the record, and a reason is a
    /// Kafka header and a log line.
    pub const MAX_REASON_BYTES: usize = 1024;

    /// A reject of `record` read at `origin`.
    pub fn new(origin: crate::Origin, reason: String, record: &[u8]) -> Reject {
        let kept = &record[..record.len().min(Self::MAX_KEPT_BYTES)];
        Reject {
            origin,
            reason: truncate(reason, Self::MAX_REASON_BYTES),
            count: 1,
            record: String::from_utf8_lossy(kept).into_owned(),
            truncated: kept.len() < record.len(),
        }
    }
}

/// `text` cut to at most `max` bytes at a character boundary, marked with `…` when cut.
pub fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max.saturating_sub('…'.len_utf8());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_cut_at_a_character_boundary() {
        let reason = "é".repeat(2000);
        let origin = crate::Origin::File {
            file: "f".into(),
            line: 1,
        };
        let reject = Reject::new(origin, reason, b"x");
        assert!(reject.reason.len() <= Reject::MAX_REASON_BYTES);
        assert!(reject.reason.ends_with('…'));
        assert_eq!(truncate("short".into(), 10), "short");
    }
}
