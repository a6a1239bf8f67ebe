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

/// How far ahead of this machine's clock an event may be by default (clock skew between
/// sources): minutes, not hours. An event stamped ahead moves its identity's clock, the
/// hour bucket of its access volume, the spray window and the session timers to its time;
/// a day ahead would blind them for a day.
pub const DEFAULT_MAX_CLOCK_SKEW_SECS: i64 = 300;

/// The time bounds an event must fall in to be judged.
#[derive(Debug, Clone, Copy)]
pub struct TimeBounds {
    /// The latest time accepted: this machine's clock plus the allowed skew.
    latest: Timestamp,
    skew_secs: i64,
}

impl TimeBounds {
    /// Bounds as of now, with `skew_secs` of clock skew allowed.
    pub fn now(skew_secs: i64) -> TimeBounds {
        TimeBounds {
            latest: Timestamp(
                Timestamp::now()
                    .0
                    .saturating_add(skew_secs.saturating_mul(1_000_000)),
            ),
            skew_secs,
        }
    }

    /// Why an event's time cannot be judged, if it cannot: one event stamped in the year
    /// 9000 would move its identity's clock so far that every later event looks years
    /// late, and one from 1900 would sit in every baseline as the oldest sighting.
    fn implausible(&self, time: Timestamp) -> Option<String> {
        if time < EARLIEST_EVENT {
            return Some(format!(
                "event time {time} is before {EARLIEST_EVENT}: not a log of a live system"
            ));
        }
        (time > self.latest).then(|| {
            format!(
                "event time {time} is more than {} s ahead of this machine's clock \
                 (max_clock_skew)",
                self.skew_secs
            )
        })
    }
}

/// The rejected members of one record: counted, the first one's reason kept.
#[derive(Default)]
struct Rejections {
    first: Option<(String, RejectKind)>,
    count: u64,
}

impl Rejections {
    fn add(&mut self, reason: impl FnOnce() -> String, kind: RejectKind) {
        if self.first.is_none() {
            self.first = Some((reason(), kind));
        }
        self.count += 1;
    }
}

/// Flattens one decoder result (a batch member may itself be a batch) into outcomes; a
/// failing member is counted in `rejections`, so a record yields at most one reject however
/// many members fail (a hostile `{"Records":[1,1,1,...]}` would otherwise copy the record
/// once per member). Returns how many members it saw.
fn flatten(
    result: Result<Decoded, DecodeError>,
    origin: &Origin,
    (enricher, bounds): (&Enricher, &TimeBounds),
    outcomes: &mut Vec<Outcome>,
    rejections: &mut Rejections,
) -> u64 {
    match result {
        Ok(Decoded::Event(mut event)) => {
            if let Some(reason) = bounds.implausible(event.time) {
                rejections.add(|| reason, RejectKind::ImplausibleTime);
                return 1;
            }
            if let Err(reason) = event.bound() {
                rejections.add(|| reason, RejectKind::Undecodable);
                return 1;
            }
            let tags = enricher.enrich(&mut event);
            outcomes.push(Outcome::Event(Envelope {
                event,
                origin: origin.clone(),
                tags,
            }));
            1
        }
        Ok(Decoded::Skipped(reason)) => {
            outcomes.push(Outcome::Skipped(reason));
            1
        }
        Ok(Decoded::Batch(members)) => members
            .into_iter()
            .map(|member| flatten(member, origin, (enricher, bounds), outcomes, rejections))
            .sum(),
        Err(error) => {
            rejections.add(|| error.to_string(), RejectKind::Undecodable);
            1
        }
    }
}

/// Decodes, time-checks and enriches the record at `index` of `batch`.
pub fn decode_record(
    batch: &RecordBatch,
    index: usize,
    (enricher, bounds): (&Enricher, &TimeBounds),
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
    let mut rejections = Rejections::default();
    let members = flatten(
        crate::decode(format, bytes),
        &origin,
        (enricher, bounds),
        outcomes,
        &mut rejections,
    );
    if let Some((reason, kind)) = rejections.first {
        let reason = if rejections.count > 1 || members > 1 {
            format!(
                "{} of the record's {members} events rejected; the first: {reason}",
                rejections.count
            )
        } else {
            reason
        };
        let mut reject = Reject::new(origin, reason, bytes);
        reject.count = rejections.count;
        outcomes.push(Outcome::Rejected {
            reject,
            kind,
            record: index,
        });
    }
}

/// Decodes a batch on `threads` threads, keeping record order (parts in order, each in
/// order: concatenating them would only move every outcome once more). Events more than
/// `max_clock_skew_secs` ahead of this machine's clock are rejected.
pub fn decode_batch(
    batch: &RecordBatch,
    enricher: &Enricher,
    max_clock_skew_secs: i64,
    threads: usize,
) -> Vec<Vec<Outcome>> {
    let bounds = TimeBounds::now(max_clock_skew_secs);
    let count = batch.len();
    let threads = threads.clamp(1, count.max(1));
    let decode_range = |range: std::ops::Range<usize>| {
        let mut outcomes = Vec::with_capacity(range.len());
        for index in range {
            decode_record(batch, index, (enricher, &bounds), &mut outcomes);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Stream;
    use crate::Format;

    fn decoded(format: Format, records: &[&[u8]]) -> Vec<Outcome> {
        let mut batch = RecordBatch::default();
        let stream = batch.stream_index(
            &Stream::Kafka {
                topic: "in".into(),
                partition: 0,
            },
            format,
        );
        for (offset, record) in records.iter().enumerate() {
            batch.push(stream, offset as u64, record);
        }
        let enricher = Enricher::default();
        decode_batch(&batch, &enricher, DEFAULT_MAX_CLOCK_SKEW_SECS, 1)
            .into_iter()
            .flatten()
            .collect()
    }

    fn rejects(outcomes: &[Outcome]) -> Vec<(&Reject, RejectKind)> {
        outcomes
            .iter()
            .filter_map(|outcome| match outcome {
                Outcome::Rejected { reject, kind, .. } => Some((reject, *kind)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_hostile_batch_gives_one_reject_with_its_count() {
        let mut record = b"{\"Records\":[".to_vec();
        for member in 0..5_000 {
            if member > 0 {
                record.push(b',');
            }
            record.push(b'1');
        }
        record.extend_from_slice(b"]}");
        for format in [Format::Auto, Format::Cloudtrail] {
            let outcomes = decoded(format, &[&record]);
            let rejects = rejects(&outcomes);
            assert_eq!(rejects.len(), 1, "{format:?}");
            let (reject, kind) = rejects[0];
            assert_eq!(reject.count, 5_000);
            assert_eq!(kind, RejectKind::Undecodable);
            assert!(reject
                .reason
                .starts_with("5000 of the record's 5000 events rejected"));
            assert_eq!(reject.record.len(), record.len());
        }
    }

    #[test]
    fn a_plain_reject_keeps_its_reason_and_a_count_of_one() {
        let outcomes = decoded(Format::Native, &[b"{not json"]);
        let rejects = rejects(&outcomes);
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].0.count, 1);
        assert!(!rejects[0].0.reason.contains("of the record's"));
        let json = serde_json::to_string(rejects[0].0).unwrap();
        assert!(!json.contains("\"count\""), "{json}");
    }

    #[test]
    fn long_names_are_rejected_and_long_text_is_cut() {
        let long = "a".repeat(10_000);
        let identity = format!(
            r#"{{"time":"2026-01-01T00:00:00Z","kind":"auth","identity":"{long}","action":"login","outcome":"success"}}"#
        );
        let outcomes = decoded(Format::Native, &[identity.as_bytes()]);
        let rejects = rejects(&outcomes);
        assert_eq!(rejects.len(), 1);
        assert!(
            rejects[0].0.reason.contains("`identity`: 10000 bytes"),
            "{}",
            rejects[0].0.reason
        );
        let agent = format!(
            r#"{{"time":"2026-01-01T00:00:00Z","kind":"auth","identity":"ann","user_agent":"{long}","action":"login","outcome":"success"}}"#
        );
        let outcomes = decoded(Format::Native, &[agent.as_bytes()]);
        let Outcome::Event(envelope) = &outcomes[0] else {
            panic!("{outcomes:?}");
        };
        let kept = envelope.event.user_agent.as_deref().unwrap();
        assert!(kept.len() <= vigil_schemas::MAX_TEXT_BYTES && kept.ends_with('…'));
    }
}
