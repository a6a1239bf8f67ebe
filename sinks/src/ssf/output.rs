//! The transmitter as a pipeline output: each judged batch's enforce-mode decisions are
//! signed and appended to the outbox by one writer thread, in batch order, and the
//! batch's acknowledgement resolves once the append is durable.

use super::Transmitter;
use crate::{Ack, BoxFuture, Judged, Output, SinkError};
use vigil_schemas::{Action, Decision, Mode};

/// Batches waiting for the writer: as many as the pipeline keeps in flight.
const QUEUE: usize = 64;

struct Job {
    decisions: Vec<Decision>,
    done: tokio::sync::oneshot::Sender<Result<(), super::OutboxError>>,
}

/// SETs of decisions to Shared Signals receivers.
pub struct SsfOutput {
    transmitter: Transmitter,
    jobs: Option<std::sync::mpsc::SyncSender<Job>>,
    writer: Option<std::thread::JoinHandle<()>>,
    queued: u64,
}

impl SsfOutput {
    /// An output feeding `transmitter`.
    pub fn new(transmitter: Transmitter) -> SsfOutput {
        let (jobs, incoming) = std::sync::mpsc::sync_channel::<Job>(QUEUE);
        let writing = transmitter.clone();
        let writer = std::thread::Builder::new()
            .name("vigil-ssf-outbox".into())
            .spawn(move || {
                for job in incoming {
                    let result = writing.enqueue(&job.decisions).map(|_| ());
                    let _ = job.done.send(result);
                }
            })
            .ok();
        SsfOutput {
            transmitter,
            jobs: Some(jobs),
            writer,
            queued: 0,
        }
    }

    /// The transmitter.
    pub fn transmitter(&self) -> &Transmitter {
        &self.transmitter
    }
}

impl Output for SsfOutput {
    fn name(&self) -> &'static str {
        "ssf"
    }

    fn start(&mut self) -> BoxFuture<'_, ()> {
        self.transmitter.start();
        Box::pin(async {})
    }

    fn judged<'a>(&'a mut self, judged: Judged<'a>) -> BoxFuture<'a, Result<Ack, SinkError>> {
        let decisions: Vec<Decision> = judged
            .decisions
            .iter()
            .filter(|decision| decision.mode == Mode::Enforce && decision.action != Action::Alert)
            .cloned()
            .collect();
        if decisions.is_empty() || !self.transmitter.has_streams() {
            return Box::pin(async { Ok(Ack::done()) });
        }
        self.queued += decisions.len() as u64;
        let (done, acknowledged) = tokio::sync::oneshot::channel();
        let sent = match &self.jobs {
            Some(jobs) => jobs.send(Job { decisions, done }).is_ok(),
            None => false,
        };
        Box::pin(async move {
            if !sent {
                return Err(SinkError::Ssf(super::OutboxError::Closed));
            }
            Ok(Ack::pending(async move {
                match acknowledged.await {
                    Ok(result) => result.map_err(SinkError::Ssf),
                    Err(_) => Err(SinkError::Ssf(super::OutboxError::Closed)),
                }
            }))
        })
    }

    fn written(&self) -> Vec<(&'static str, u64)> {
        vec![("decisions", self.queued)]
    }
}

impl Drop for SsfOutput {
    /// The writer ends with its queue (the pipeline has awaited every batch's
    /// acknowledgement before an output is dropped).
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}
