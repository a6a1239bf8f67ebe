//! Outputs behind one trait: what the pipeline hands every output, and the
//! acknowledgement each send returns. A file is acknowledged once written (handed to the
//! operating system at [`Output::flush`]); a Kafka send once the broker has it. The
//! pipeline commits an input position only when every output's acknowledgement for the
//! records before it has come, so a new output (an SSF outbox) plugs in without touching
//! the loop.

use crate::SinkError;
use std::future::Future;
use std::pin::Pin;
use vigil_schemas::{Decision, Envelope, HealthAlert, RecordHeader, Reject, SignalRecord};

/// A boxed future an output returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An output's acknowledgement of one send: done at once, or a future that resolves when
/// the destination has it.
#[must_use = "an acknowledgement must be awaited before the input position is committed"]
pub struct Ack(Option<BoxFuture<'static, Result<(), SinkError>>>);

impl Ack {
    /// Acknowledged already (written to a local file or buffer).
    pub fn done() -> Ack {
        Ack(None)
    }

    /// Acknowledged when `future` resolves.
    pub fn pending(future: impl Future<Output = Result<(), SinkError>> + Send + 'static) -> Ack {
        Ack(Some(Box::pin(future)))
    }

    /// The future to await, if the send is not acknowledged yet.
    pub fn into_pending(self) -> Option<BoxFuture<'static, Result<(), SinkError>>> {
        self.0
    }
}

/// A record that could not be judged: the reject as written to files, and the record as it
/// came (bytes and headers) for a dead letter.
#[derive(Debug, Clone, Copy)]
pub struct Rejected<'a> {
    /// Origin, reason and a bounded copy of the record.
    pub reject: &'a Reject,
    /// The record's bytes.
    pub payload: &'a [u8],
    /// The record's headers (Kafka).
    pub headers: &'a [RecordHeader],
}

/// What one judged batch gave, in event-time order.
#[derive(Debug, Clone, Copy)]
pub struct Judged<'a> {
    /// Every detector hit (when some output wants history).
    pub signals: &'a [SignalRecord],
    /// The decisions.
    pub decisions: &'a [Decision],
}

/// Where results go.
pub trait Output: Send {
    /// The output's name, in logs, errors and metrics.
    fn name(&self) -> &'static str;

    /// Whether events and signals are wanted too (the archive).
    fn wants_history(&self) -> bool {
        false
    }

    /// Connects before the first send (a Kafka producer learns its topics' leaders).
    fn start(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// A batch's decoded events, before they are judged (when [`Output::wants_history`]).
    fn events(&mut self, _envelopes: &[Envelope]) -> Result<(), SinkError> {
        Ok(())
    }

    /// A batch's records that could not be judged.
    fn rejects<'a>(
        &'a mut self,
        _rejected: &'a [Rejected<'a>],
    ) -> BoxFuture<'a, Result<Ack, SinkError>> {
        Box::pin(async { Ok(Ack::done()) })
    }

    /// A judged batch's signals and decisions.
    fn judged<'a>(&'a mut self, judged: Judged<'a>) -> BoxFuture<'a, Result<Ack, SinkError>>;

    /// What the output has taken so far, by kind (the archive: rows per table), for
    /// metrics; counts only grow.
    fn written(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }

    /// Records the output could not take and went on without, by reason (a record the
    /// broker refuses for its size; archive rows it could not write), for metrics and
    /// alerts; counts only grow.
    fn dropped(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }

    /// An alert about vigil itself for the SOC, sent where decision alerts go (Kafka's
    /// alerts topic); best effort: not acknowledged, nothing waits for it.
    fn health<'a>(&'a mut self, _alert: &'a HealthAlert) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    /// Hands everything sent so far on (to the operating system): called before each
    /// checkpoint, so a decision is never covered by a checkpoint without having been
    /// written.
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Writes out and closes, at the end of the run.
    fn finish(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}
