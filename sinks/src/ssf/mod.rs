//! vigil as an OpenID Shared Signals (SSF 1.0) transmitter: receivers configured in
//! `[ssf]` create streams over HTTP (the server crate routes the endpoints here) and get
//! every CAEP Security Event Token vigil decides, pushed to them (RFC 8935) or polled by
//! them (RFC 8936).
//!
//! Guarantees:
//! - **Durable**: a decision's SETs are in the outbox (redb, [`outbox`]) before the
//!   pipeline's acknowledgement of its batch resolves, so an input position is never
//!   committed ahead of them; a crash or restart delivers what the outbox holds.
//! - **At least once, same `jti`**: a SET leaves the outbox only once its receiver
//!   acknowledged it (202, a poll `ack`) or vigil gave up on it (a 400 with an RFC 8935
//!   error code, a disabled stream, the retry horizon); a crash between acknowledgement
//!   and removal delivers it again, with the same `jti` (the decision id).
//! - **Ordered per subject, parallel across subjects**: on a push stream at most one SET
//!   of a subject is in flight, and the next one goes only once it is acknowledged; polls
//!   return SETs in the order they were queued.
//! - **Isolated**: a receiver sees and changes only its own streams; a stream of another
//!   receiver answers 404, as one that does not exist. Bearer tokens are compared as
//!   SHA-256 digests and never logged.
//!
//! Status: `enabled` delivers; `paused` holds CAEP events and delivers them once enabled
//! again; `disabled` drops them. SSF control events (verification, stream-updated) are
//! delivered whatever the status, so a receiver learns why its stream stopped. Push
//! failures back off exponentially (1 s doubling to 5 min) per stream; a 401 three times
//! in a row pauses the stream, a 403 disables it, a 429 waits its `Retry-After`.

pub mod config;
mod manage;
pub mod outbox;
mod output;
mod poll;
mod push;
pub mod stream;

pub use config::{DefaultSubjects, Receiver, ReceiverConfig, SsfConfig};
pub use outbox::{Outbox, OutboxError};
pub use output::SsfOutput;
pub use stream::{PollRequest, StatusRequest, StreamRequest, SubjectRequest, VerifyRequest};

use crate::caep::Signer;
use serde_json::{json, Value};
use sha2::Digest as _;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use stream::{Delivery, Status, Stream};
use tokio::sync::Notify;
use vigil_schemas::caep::CaepIdentity;
use vigil_schemas::metrics::{label, Kind, Metric, Registry};
use vigil_schemas::Timestamp;

/// Where each endpoint is served, relative to the issuer.
pub mod paths {
    /// Discovery (SSF 1.0 section 7.2).
    pub const CONFIGURATION: &str = "/.well-known/ssf-configuration";
    /// The JWK Set.
    pub const JWKS: &str = "/ssf/jwks.json";
    /// Create, read, update, replace, delete streams.
    pub const STREAMS: &str = "/ssf/stream";
    /// Read and update a stream's status.
    pub const STATUS: &str = "/ssf/status";
    /// Add a subject.
    pub const ADD_SUBJECT: &str = "/ssf/subjects:add";
    /// Remove a subject.
    pub const REMOVE_SUBJECT: &str = "/ssf/subjects:remove";
    /// Ask for a verification event.
    pub const VERIFY: &str = "/ssf/verify";
    /// Poll a stream: this prefix and the stream id.
    pub const POLL: &str = "/ssf/poll/";
}

/// Metric names.
pub mod names {
    /// SETs put in the outbox, by receiver and stream.
    pub const QUEUED: &str = "vigil_ssf_sets_queued_total";
    /// SETs acknowledged by their receiver.
    pub const DELIVERED: &str = "vigil_ssf_sets_delivered_total";
    /// Push attempts that failed and will be retried.
    pub const RETRIED: &str = "vigil_ssf_sets_retried_total";
    /// SETs given up on (rejected by the receiver, dropped by a disabled stream, past
    /// the retry horizon).
    pub const FAILED: &str = "vigil_ssf_sets_failed_total";
    /// SETs in the outbox.
    pub const DEPTH: &str = "vigil_ssf_outbox_depth";
    /// 1 while a stream's push delivery fails.
    pub const FAILING: &str = "vigil_ssf_stream_failing";
    /// Seconds from a decision to its receiver's acknowledgement of the SET.
    pub const ACKNOWLEDGED_SECONDS: &str = "vigil_ssf_acknowledged_seconds";
}

static METRICS: [Metric; 7] = [
    Metric {
        name: names::QUEUED,
        kind: Kind::Counter,
        help: "SETs put in the outbox, by receiver and stream.",
        labelled: true,
    },
    Metric {
        name: names::DELIVERED,
        kind: Kind::Counter,
        help: "SETs acknowledged by their receiver.",
        labelled: true,
    },
    Metric {
        name: names::RETRIED,
        kind: Kind::Counter,
        help: "Push attempts that failed and will be retried.",
        labelled: true,
    },
    Metric {
        name: names::FAILED,
        kind: Kind::Counter,
        help:
            "SETs given up on: rejected, dropped by a disabled stream, or past the retry horizon.",
        labelled: true,
    },
    Metric {
        name: names::DEPTH,
        kind: Kind::Gauge,
        help: "SETs in the outbox, by stream.",
        labelled: true,
    },
    Metric {
        name: names::FAILING,
        kind: Kind::Gauge,
        help: "1 while a stream's push delivery fails.",
        labelled: true,
    },
    Metric {
        name: names::ACKNOWLEDGED_SECONDS,
        kind: Kind::Histogram,
        help: "Seconds from a decision to its receiver's acknowledgement of the SET.",
        labelled: true,
    },
];

/// A request the transmitter refuses, with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SsfError {
    /// The HTTP status.
    pub status: u16,
    /// Why, for the caller (never a token).
    pub message: String,
    /// Seconds to wait (429).
    pub retry_after: Option<u64>,
}

impl SsfError {
    fn new(status: u16, message: impl Into<String>) -> SsfError {
        SsfError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: the request is malformed or invalid.
    pub fn bad_request(message: impl Into<String>) -> SsfError {
        SsfError::new(400, message)
    }

    /// 401: no valid bearer token.
    pub fn unauthorized(message: impl Into<String>) -> SsfError {
        SsfError::new(401, message)
    }

    fn not_found(id: &str) -> SsfError {
        SsfError::new(404, format!("no stream `{id}` for this receiver"))
    }

    fn internal(error: OutboxError) -> SsfError {
        tracing::error!(%error, "SSF outbox failed");
        SsfError::new(500, "the outbox failed; try again")
    }
}

/// Who calls: an authenticated receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller(usize);

/// What the transmitter needs besides its config.
pub struct Settings {
    /// The issuer (`iss` of every SET and the discovery document's `issuer`).
    pub issuer: String,
    /// `[ssf]`.
    pub config: SsfConfig,
    /// The receivers, tokens resolved.
    pub receivers: Vec<Receiver>,
    /// How users and devices become subjects (`[caep]`).
    pub subjects: CaepIdentity,
    /// The signing key.
    pub signer: Signer,
}

/// A SET's place in a stream's queue (its token stays in the outbox).
#[derive(Debug, Clone)]
struct Meta {
    jti: String,
    subject: u64,
    control: bool,
    kid: String,
    decided: i64,
    queued: i64,
}

/// A stream and its delivery state.
struct Live {
    stream: Stream,
    queue: BTreeMap<u64, Meta>,
    jtis: HashMap<String, u64>,
    /// Subjects with a SET in flight (push).
    busy: HashSet<u64>,
    /// No push before this (backing off).
    retry_at: Option<Instant>,
    backoff: Duration,
    failing_since: Option<Instant>,
    last_error: Option<String>,
    unauthorized: u32,
    last_verification: Option<Instant>,
    notify: Arc<Notify>,
    pushing: bool,
}

impl Live {
    fn new(stream: Stream) -> Live {
        Live {
            stream,
            queue: BTreeMap::new(),
            jtis: HashMap::new(),
            busy: HashSet::new(),
            retry_at: None,
            backoff: Duration::ZERO,
            failing_since: None,
            last_error: None,
            unauthorized: 0,
            last_verification: None,
            notify: Arc::new(Notify::new()),
            pushing: false,
        }
    }

    fn deliverable(&self, meta: &Meta) -> bool {
        meta.control || self.stream.status == Status::Enabled
    }

    /// Queues an outbox entry (its token stays in the outbox).
    fn queue_entry(&mut self, sequence: u64, entry: outbox::Entry) {
        self.jtis.insert(entry.jti.clone(), sequence);
        self.queue.insert(
            sequence,
            Meta {
                jti: entry.jti,
                subject: entry.subject,
                control: entry.control,
                kid: entry.kid,
                decided: entry.decided,
                queued: entry.queued,
            },
        );
    }

    fn take(&mut self, sequence: u64) -> Option<Meta> {
        let meta = self.queue.remove(&sequence)?;
        self.jtis.remove(&meta.jti);
        Some(meta)
    }
}

#[derive(Default)]
struct State {
    streams: BTreeMap<String, Live>,
    /// Pending SETs per signing key.
    kids: BTreeMap<String, usize>,
}

struct Inner {
    issuer: String,
    config: SsfConfig,
    receivers: Vec<Receiver>,
    subjects: CaepIdentity,
    signer: Signer,
    outbox: Outbox,
    keys: Mutex<BTreeMap<String, Value>>,
    state: Mutex<State>,
    metrics: Registry,
    http: reqwest::Client,
    sequence: AtomicU64,
}

/// The transmitter: streams, the outbox and delivery. Cheap to clone.
#[derive(Clone)]
pub struct Transmitter(Arc<Inner>);

impl std::fmt::Debug for Transmitter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "Transmitter({})", self.0.issuer)
    }
}

/// Which subject a SET is about, for ordering: the identity of a decision, the stream of
/// a control event.
fn subject_key(name: &str) -> u64 {
    let digest = sha2::Sha256::digest(name.as_bytes());
    u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ])
}

/// Equal digests, compared without an early exit.
fn same_digest(one: &[u8; 32], other: &[u8; 32]) -> bool {
    one.iter()
        .zip(other.iter())
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

fn stream_labels(stream: &Stream) -> vigil_schemas::metrics::Labels {
    vec![
        label("receiver", stream.receiver.clone()),
        label("stream", stream.id.clone()),
    ]
}

/// 10 s: a receiver that takes longer to answer one POST is treated as down.
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

impl Transmitter {
    /// A transmitter over `outbox`, restoring its streams and pending SETs.
    pub fn new(settings: Settings, outbox: Outbox) -> Result<Transmitter, OutboxError> {
        let loaded = outbox.load()?;
        let current = settings.signer.jwks()["keys"][0].clone();
        outbox.remember_key(settings.signer.kid(), &current)?;
        let mut keys = loaded.keys;
        keys.insert(settings.signer.kid().to_string(), current);
        let mut state = State::default();
        for stream in loaded.streams {
            if !settings.receivers.iter().any(|r| r.name == stream.receiver) {
                tracing::warn!(stream = %stream.id, receiver = %stream.receiver, "stream of a receiver no longer configured: kept, not served");
                continue;
            }
            state.streams.insert(stream.id.clone(), Live::new(stream));
        }
        for (stream, sequence, entry) in loaded.entries {
            let Some(live) = state.streams.get_mut(&stream) else {
                continue;
            };
            *state.kids.entry(entry.kid.clone()).or_default() += 1;
            live.queue_entry(sequence, entry);
        }
        let http = reqwest::Client::builder()
            .timeout(PUSH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(settings.config.push_concurrency)
            .build()
            .map_err(|error| OutboxError::Client(error.to_string()))?;
        Ok(Transmitter(Arc::new(Inner {
            issuer: settings.issuer.trim_end_matches('/').to_string(),
            config: settings.config,
            receivers: settings.receivers,
            subjects: settings.subjects,
            signer: settings.signer,
            outbox,
            keys: Mutex::new(keys),
            state: Mutex::new(state),
            metrics: Registry::new(&METRICS),
            http,
            sequence: AtomicU64::new(loaded.next_sequence),
        })))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts push delivery for the push streams restored from the outbox (on the
    /// current tokio runtime).
    pub fn start(&self) {
        let ids: Vec<String> = self.state().streams.keys().cloned().collect();
        for id in ids {
            self.ensure_pushing(&id);
        }
    }

    fn ensure_pushing(&self, id: &str) {
        let start = {
            let mut state = self.state();
            match state.streams.get_mut(id) {
                Some(live)
                    if matches!(live.stream.delivery, Delivery::Push { .. }) && !live.pushing =>
                {
                    live.pushing = true;
                    true
                }
                _ => false,
            }
        };
        if start {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(push::deliver(self.clone(), id.to_string()));
                }
                Err(_) => {
                    if let Some(live) = self.state().streams.get_mut(id) {
                        live.pushing = false;
                    }
                }
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.0.issuer)
    }

    fn poll_url(&self, id: &str) -> String {
        self.url(&format!("{}{id}", paths::POLL))
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.0.issuer
    }

    /// The discovery document (`/.well-known/ssf-configuration`).
    pub fn configuration(&self) -> Value {
        json!({
            "spec_version": "1_0",
            "issuer": self.0.issuer,
            "jwks_uri": self.url(paths::JWKS),
            "delivery_methods_supported": [stream::PUSH, stream::POLL],
            "configuration_endpoint": self.url(paths::STREAMS),
            "status_endpoint": self.url(paths::STATUS),
            "add_subject_endpoint": self.url(paths::ADD_SUBJECT),
            "remove_subject_endpoint": self.url(paths::REMOVE_SUBJECT),
            "verification_endpoint": self.url(paths::VERIFY),
            "authorization_schemes": [{ "spec_urn": "urn:ietf:rfc:6750" }, { "spec_urn": "urn:ietf:rfc:6749" }],
            "default_subjects": match self.0.config.default_subjects {
                DefaultSubjects::All => "ALL",
                DefaultSubjects::None => "NONE",
            },
        })
    }

    /// The JWK Set: the current key, and every earlier key whose SETs are still pending.
    pub fn jwks(&self) -> Value {
        let pending: Vec<String> = {
            let state = self.state();
            state
                .kids
                .iter()
                .filter(|(_, count)| **count > 0)
                .map(|(kid, _)| kid.clone())
                .collect()
        };
        let keys = self
            .0
            .keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let current = self.0.signer.kid();
        let published: Vec<&Value> = keys
            .iter()
            .filter(|(kid, _)| kid.as_str() == current || pending.contains(kid))
            .map(|(_, jwk)| jwk)
            .collect();
        json!({ "keys": published })
    }

    /// The receiver a bearer token (`Authorization` header value) belongs to.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, SsfError> {
        let header =
            authorization.ok_or_else(|| SsfError::unauthorized("a bearer token is required"))?;
        let (scheme, token) = header
            .trim()
            .split_once(' ')
            .ok_or_else(|| SsfError::unauthorized("a bearer token is required"))?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(SsfError::unauthorized("a bearer token is required"));
        }
        let digest = config::token_digest(token.trim());
        let mut found = None;
        for (index, receiver) in self.0.receivers.iter().enumerate() {
            if same_digest(&receiver.token_sha256, &digest) {
                found = Some(index);
            }
        }
        found
            .map(Caller)
            .ok_or_else(|| SsfError::unauthorized("the bearer token is not valid"))
    }

    /// The name of the caller.
    pub fn receiver_name(&self, caller: Caller) -> &str {
        &self.0.receivers[caller.0].name
    }

    fn receiver_of(&self, stream: &Stream) -> Option<&Receiver> {
        self.0.receivers.iter().find(|r| r.name == stream.receiver)
    }

    /// Appends SETs to the outbox (durably), then to their streams' queues.
    fn commit(&self, items: Vec<(String, u64, outbox::Entry)>) -> Result<(), OutboxError> {
        let refs: Vec<(&str, u64, &outbox::Entry)> = items
            .iter()
            .map(|(stream, sequence, entry)| (stream.as_str(), *sequence, entry))
            .collect();
        self.0.outbox.append(&refs)?;
        let mut orphans = Vec::new();
        {
            let mut state = self.state();
            let mut queued: BTreeMap<String, f64> = BTreeMap::new();
            for (stream, sequence, entry) in items {
                let State { streams, kids } = &mut *state;
                let Some(live) = streams.get_mut(&stream) else {
                    orphans.push((stream, sequence));
                    continue;
                };
                *kids.entry(entry.kid.clone()).or_default() += 1;
                live.queue_entry(sequence, entry);
                *queued.entry(stream).or_default() += 1.0;
            }
            for (stream, count) in queued {
                if let Some(live) = state.streams.get(&stream) {
                    live.notify.notify_waiters();
                    let labels = stream_labels(&live.stream);
                    self.0
                        .metrics
                        .update(|series| series.add(names::QUEUED, labels, count));
                }
            }
        }
        let orphans: Vec<(&str, u64)> = orphans
            .iter()
            .map(|(stream, sequence)| (stream.as_str(), *sequence))
            .collect();
        self.0.outbox.remove(&orphans)
    }

    /// Puts the SETs of enforce-mode decisions on every stream that carries them (signed
    /// for each stream's audience), durably.
    pub fn enqueue(&self, decisions: &[vigil_schemas::Decision]) -> Result<usize, OutboxError> {
        struct Target {
            id: String,
            stream: Stream,
            delivered: Vec<&'static str>,
        }
        let targets: Vec<Target> = {
            let state = self.state();
            state
                .streams
                .values()
                .filter(|live| live.stream.status != Status::Disabled)
                .map(|live| Target {
                    id: live.stream.id.clone(),
                    delivered: self.delivered(&live.stream),
                    stream: live.stream.clone(),
                })
                .collect()
        };
        if targets.is_empty() {
            return Ok(0);
        }
        let now = Timestamp::now();
        let identity = CaepIdentity {
            issuer: self.0.issuer.clone(),
            ..self.0.subjects.clone()
        };
        let kid = self.0.signer.kid().to_string();
        // What to sign, in order: (stream, SET for its audience, subject, decided).
        let mut unsigned = Vec::new();
        for decision in decisions {
            let subject = subject_key(&decision.identity);
            for set in vigil_schemas::caep::sets_for(decision, &identity, now.as_secs()) {
                let Some(kind) = set.events.keys().next().cloned() else {
                    continue;
                };
                let subject_json = serde_json::to_value(&set.sub_id).unwrap_or(Value::Null);
                for target in &targets {
                    if !target.delivered.contains(&kind.as_str())
                        || !target.stream.carries(&subject_json)
                    {
                        continue;
                    }
                    let mut for_stream = set.clone();
                    for_stream.aud = target.stream.aud.clone();
                    unsigned.push((&target.id, for_stream, subject, decision.decided_at.0));
                }
            }
        }
        // Signing is the costly part (RS256 about 1 ms a SET here): on every core; the
        // order, and so the sequence numbers, stay as above.
        let tokens: Vec<String> = {
            use rayon::prelude::*;
            unsigned
                .par_iter()
                .map(|(_, set, _, _)| self.0.signer.sign(set))
                .collect()
        };
        let mut items = Vec::with_capacity(unsigned.len());
        for ((id, set, subject, decided), token) in unsigned.into_iter().zip(tokens) {
            let entry = outbox::Entry {
                token,
                jti: set.jti,
                subject,
                control: false,
                kid: kid.clone(),
                decided,
                queued: now.0,
            };
            let sequence = self.0.sequence.fetch_add(1, Ordering::Relaxed);
            items.push((id.clone(), sequence, entry));
        }
        let count = items.len();
        if count > 0 {
            self.commit(items)?;
        }
        Ok(count)
    }

    /// Whether any stream could take a SET (no work at all otherwise).
    pub fn has_streams(&self) -> bool {
        !self.state().streams.is_empty()
    }

    /// SETs waiting in the outbox, over every stream.
    pub fn depth(&self) -> usize {
        self.state()
            .streams
            .values()
            .map(|live| live.queue.len())
            .sum()
    }

    /// The transmitter's metrics in the Prometheus text format.
    pub fn render_metrics(&self, text: &mut String) {
        let gauges: Vec<(vigil_schemas::metrics::Labels, usize, bool)> = {
            let state = self.state();
            state
                .streams
                .values()
                .map(|live| {
                    (
                        stream_labels(&live.stream),
                        live.queue.len(),
                        live.failing_since.is_some(),
                    )
                })
                .collect()
        };
        self.0.metrics.update(|series| {
            for (labels, depth, failing) in gauges {
                series.set(names::DEPTH, labels.clone(), depth as f64);
                series.set(names::FAILING, labels, if failing { 1.0 } else { 0.0 });
            }
        });
        self.0.metrics.render_into(text);
    }

    /// A metric's value (tests, summaries).
    pub fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0.metrics.value(name, labels)
    }

    /// SETs acknowledged: counted, latency observed, kid counts lowered, removed from the
    /// outbox (not durably).
    fn acknowledged(&self, id: &str, done: Vec<(u64, Meta)>, delivered: bool) {
        if done.is_empty() {
            return;
        }
        let now = Timestamp::now();
        let labels = {
            let mut state = self.state();
            for (_, meta) in &done {
                if let Some(count) = state.kids.get_mut(&meta.kid) {
                    *count = count.saturating_sub(1);
                }
            }
            state
                .streams
                .get(id)
                .map(|live| stream_labels(&live.stream))
        };
        if let Some(labels) = labels {
            self.0.metrics.update(|series| {
                if delivered {
                    series.add(names::DELIVERED, labels.clone(), done.len() as f64);
                    for (_, meta) in &done {
                        let seconds = now.0.saturating_sub(meta.decided).max(0) as f64 / 1e6;
                        series.observe(names::ACKNOWLEDGED_SECONDS, labels.clone(), seconds);
                    }
                } else {
                    series.add(names::FAILED, labels.clone(), done.len() as f64);
                }
            });
        }
        let items: Vec<(&str, u64)> = done.iter().map(|(sequence, _)| (id, *sequence)).collect();
        if let Err(error) = self.0.outbox.remove(&items) {
            tracing::warn!(%error, stream = %id, "cannot remove acknowledged SETs: they will be delivered again");
        }
    }
}

#[cfg(test)]
mod tests;
