//! The record step: bytes to an enriched [`Envelope`], a skip or a [`Reject`], for files
//! and Kafka alike. A record longer than [`MAX_RECORD_BYTES`] or one whose time cannot be
//! judged is rejected with the reason; a vendor batch gives one outcome per member.

use crate::enrich::Enricher;
use crate::source::RecordBatch;
use crate::{DecodeError, Decoded, MAX_RECORD_BYTES};
use rayon::prelude::*;
use vigil_schemas::{Envelope, Origin, Reject, Timestamp};

/// What one record (or one member of a vendor batch) gave.
#[derive(Debug)]
pub enum Outcome {
    /// An event to judge.
    Event(Envelope),
    /// A well-formed record of no interest, with the reason.
    Skipped(&'static str),
    /// A record that cannot be judged, and the index of the record in its batch (for a
    /// dead letter of the record as it came).
    Rejected {
        /// What and why.
        reject: Reject,
        /// Why, as one of a few kinds (a bounded metric label).
        kind: RejectKind,
        /// The record's index in its batch.
        record: usize,
    },
}

/// Why a record was rejected, in a few kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectKind {
    /// Longer than [`MAX_RECORD_BYTES`].
    Oversized,
    /// Its time is before 2000 or too far ahead of this machine's clock.
    ImplausibleTime,
    /// Not a record of its format (malformed, or a required field missing or wrong).
    Undecodable,
}

impl RejectKind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectKind::Oversized => "oversized",
            RejectKind::ImplausibleTime => "implausible_time",
            RejectKind::Undecodable => "undecodable",
        }
    }
}

/// Events before this (2000-01-01) are not logs of a live system: a broken or hostile
/// timestamp.
pub const EARLIEST_EVENT: Timestamp = Timestamp(946_684_800_000_000);

/// How far ahead of this machine's clock an event may be (clock skew between sources).
pub const MAX_AHEAD_SECS: i64 = 86_400;

/// Why an event's time cannot be judged, if it cannot: one event stamped in the year 9000
/// would move its identity's clock so far that every later event looks years late, and
/// one from 1900 would sit in every baseline as the oldest sighting.
fn implausible_time(time: Timestamp) -> Option<String> {
    if time < EARLIEST_EVENT {
        return Some(format!(
            "event time {time} is before {EARLIEST_EVENT}: not a log of a live system"
        ));
    }
    let latest = Timestamp(
        Timestamp::now()
            .0
            .saturating_add(MAX_AHEAD_SECS.saturating_mul(1_000_000)),
    );
    (time > latest).then(|| {
        format!("event time {time} is more than {MAX_AHEAD_SECS} s ahead of this machine's clock")
    })
}

/// Flattens one decoder result (a batch member may itself be a batch) into outcomes.
fn flatten(
    result: Result<Decoded, DecodeError>,
    origin: &Origin,
    (bytes, record): (&[u8], usize),
    enricher: &Enricher,
    outcomes: &mut Vec<Outcome>,
) {
    let rejected = |reason: String, kind: RejectKind| Outcome::Rejected {
        reject: Reject::new(origin.clone(), reason, bytes),
        kind,
        record,
    };
    match result {
        Ok(Decoded::Event(mut event)) => {
            if let Some(reason) = implausible_time(event.time) {
                outcomes.push(rejected(reason, RejectKind::ImplausibleTime));
                return;
            }
            let tags = enricher.enrich(&mut event);
            outcomes.push(Outcome::Event(Envelope {
                event,
                origin: origin.clone(),
                tags,
            }));
        }
        Ok(Decoded::Skipped(reason)) => outcomes.push(Outcome::Skipped(reason)),
        Ok(Decoded::Batch(members)) => {
            for member in members {
                flatten(member, origin, (bytes, record), enricher, outcomes);
            }
        }
        Err(error) => outcomes.push(rejected(error.to_string(), RejectKind::Undecodable)),
    }
}

/// Decodes, time-checks and enriches the record at `index` of `batch`.
pub fn decode_record(
    batch: &RecordBatch,
    index: usize,
    enricher: &Enricher,
    outcomes: &mut Vec<Outcome>,
) {
    let span = &batch.records[index];
    let origin = batch.origin(span);
    let bytes = batch.bytes(span);
    let length = span
        .oversized
        .or_else(|| (bytes.len() > MAX_RECORD_BYTES).then_some(bytes.len() as u64));
    if let Some(length) = length {
        let reason =
            format!("record of {length} bytes exceeds the limit of {MAX_RECORD_BYTES} bytes");
        outcomes.push(Outcome::Rejected {
            reject: Reject::new(origin, reason, bytes),
            kind: RejectKind::Oversized,
            record: index,
        });
        return;
    }
    let format = batch.stream(span).format;
    flatten(
        crate::decode(format, bytes),
        &origin,
        (bytes, index),
        enricher,
        outcomes,
    );
}

/// Decodes a batch on `threads` threads, keeping record order (parts in order, each in
/// order: concatenating them would only move every outcome once more).
pub fn decode_batch(batch: &RecordBatch, enricher: &Enricher, threads: usize) -> Vec<Vec<Outcome>> {
    let count = batch.len();
    let threads = threads.clamp(1, count.max(1));
    let decode_range = |range: std::ops::Range<usize>| {
        let mut outcomes = Vec::with_capacity(range.len());
        for index in range {
            decode_record(batch, index, enricher, &mut outcomes);
        }
        outcomes
    };
    if threads == 1 {
        return vec![decode_range(0..count)];
    }
    // Several chunks per thread so a slow chunk does not leave a core idle; rayon's
    // persistent workers keep their allocator caches warm across batches.
    let chunk = count.div_ceil(threads * 4).max(1);
    (0..count.div_ceil(chunk))
        .into_par_iter()
        .map(|part| decode_range((part * chunk)..((part + 1) * chunk).min(count)))
        .collect()
}
