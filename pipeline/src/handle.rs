//! The engine handle: other parts (the HTTP server) send requests into the live loop over
//! a bounded channel and get answers. The loop serves them ahead of batching: while it
//! waits for input, and before each batch it reads, so an answer never waits for a batch
//! to fill. Requests only read state; everything that changes state is an event.

use tokio::sync::{mpsc, oneshot};
use vigil_engine::Engine;

/// Requests waiting for the loop at most; past that, senders wait (bounded, as every
/// channel in vigil).
pub const REQUEST_QUEUE: usize = 64;

/// A question for the live loop.
#[derive(Debug)]
#[non_exhaustive]
pub enum Request {
    /// What the engine holds about one identity, as `vigil state inspect` prints it.
    Inspect {
        /// The identity.
        identity: String,
        /// Where the answer goes: the document, or none for an unknown identity.
        reply: oneshot::Sender<Result<Option<serde_json::Value>, String>>,
    },
}

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandleError {
    /// The loop is not running (not started yet, or stopped).
    #[error("the engine is not running")]
    NotRunning,
    /// The engine could not read its state.
    #[error("the engine could not read its state: {0}")]
    State(String),
}

/// A cloneable way to ask the live loop.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    sender: mpsc::Sender<Request>,
}

impl EngineHandle {
    /// A handle and the receiving end the loop serves.
    pub(crate) fn new() -> (EngineHandle, mpsc::Receiver<Request>) {
        let (sender, receiver) = mpsc::channel(REQUEST_QUEUE);
        (EngineHandle { sender }, receiver)
    }

    /// The state of `identity` now (`{"identity": ..., "state": ...}`), or none when the
    /// engine holds nothing about it.
    pub async fn inspect(&self, identity: &str) -> Result<Option<serde_json::Value>, HandleError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Request::Inspect {
                identity: vigil_schemas::canonical_identity(identity).into_owned(),
                reply,
            })
            .await
            .map_err(|_| HandleError::NotRunning)?;
        answer
            .await
            .map_err(|_| HandleError::NotRunning)?
            .map_err(HandleError::State)
    }
}

/// Answers one request from the engine's state.
pub(crate) fn serve(engine: &Engine, request: Request) {
    match request {
        Request::Inspect { identity, reply } => {
            let _ = reply.send(inspect(engine, &identity));
        }
    }
}

/// The identity's state in memory, else in the store (an identity evicted from memory).
fn inspect(engine: &Engine, identity: &str) -> Result<Option<serde_json::Value>, String> {
    fn document<T: serde::Serialize>(identity: &str, state: &T) -> serde_json::Value {
        serde_json::json!({
            "identity": identity,
            "state": state,
        })
    }
    if let Some(state) = engine.identity(identity) {
        return Ok(Some(document(identity, state)));
    }
    let Some(store) = engine.store() else {
        return Ok(None);
    };
    let reader = store.reader().map_err(|error| error.to_string())?;
    let stored = reader
        .identity(identity)
        .map_err(|error| error.to_string())?;
    Ok(stored.map(|state| document(identity, &state)))
}
