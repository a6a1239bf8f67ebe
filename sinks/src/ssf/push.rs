//! Push delivery (RFC 8935): one task per push stream POSTs each SET to the receiver's
//! endpoint, at most one SET per subject in flight, up to `push_concurrency` subjects at
//! once, and backs off while the receiver fails.

use super::stream::{Delivery, Status};
use super::{names, stream_labels, Meta, Transmitter};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// First wait after a failure; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between attempts: 5 min, so a receiver back from an outage gets its SETs
/// within minutes.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// 401s in a row before the stream is paused: a token rotating at the receiver may fail
/// once or twice.
const UNAUTHORIZED_LIMIT: u32 = 3;
/// Longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// Queue entries looked at per round: enough to find `push_concurrency` distinct subjects
/// without walking a long backlog each time.
const SCAN: usize = 4096;

/// What the receiver made of one SET.
#[derive(Debug)]
enum Outcome {
    /// 2xx: delivered.
    Delivered,
    /// Try again later (transport error, 5xx, other 4xx), after `after` if the receiver
    /// said so.
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// 400 with an RFC 8935 error: this SET will never be taken.
    Rejected { err: String, description: String },
    /// 401.
    Unauthorized,
    /// 403.
    Forbidden,
}

async fn send(
    http: &reqwest::Client,
    url: &str,
    authorization: Option<&str>,
    token: String,
) -> Outcome {
    let mut request = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/secevent+jwt")
        .header(reqwest::header::ACCEPT, "application/json")
        .body(token);
    if let Some(value) = authorization {
        request = request.header(reqwest::header::AUTHORIZATION, value);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            let kind = if error.is_timeout() {
                "timed out"
            } else if error.is_connect() {
                "cannot connect"
            } else {
                "transport error"
            };
            return Outcome::Retry {
                error: format!("{kind}: {}", error.without_url()),
                after: None,
            };
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(|seconds| Duration::from_secs(seconds).min(MAX_RETRY_AFTER));
    match status {
        200..=299 => Outcome::Delivered,
        401 => Outcome::Unauthorized,
        403 => Outcome::Forbidden,
        400 => {
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            Outcome::Rejected {
                err: body["err"]
                    .as_str()
                    .unwrap_or("invalid_request")
                    .chars()
                    .take(64)
                    .collect(),
                description: body["description"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .take(256)
                    .collect(),
            }
        }
        429 => Outcome::Retry {
            error: "the receiver answered 429 Too Many Requests".into(),
            after: retry_after,
        },
        other => Outcome::Retry {
            error: format!("the receiver answered {other}"),
            after: retry_after,
        },
    }
}

/// A SET on its way: sequence, subject, jti.
type Sent = (u64, u64, String, Outcome);

/// Delivers stream `id` until it is deleted or stops being a push stream.
pub(super) async fn deliver(transmitter: Transmitter, id: String) {
    let concurrency = transmitter.0.config.push_concurrency;
    let mut sending: JoinSet<Sent> = JoinSet::new();
    loop {
        let notify = match transmitter.state().streams.get(&id) {
            Some(live) => live.notify.clone(),
            None => return,
        };
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let Some((picks, retry_at, url, authorization)) =
            pick(&transmitter, &id, concurrency.saturating_sub(sending.len()))
        else {
            sending.shutdown().await;
            return;
        };
        if !picks.is_empty() {
            let sequences: Vec<u64> = picks.iter().map(|(sequence, _, _)| *sequence).collect();
            let tokens = match transmitter.0.outbox.tokens(&id, &sequences) {
                Ok(tokens) => tokens,
                Err(error) => {
                    tracing::error!(%error, stream = %id, "cannot read SETs from the outbox");
                    vec![None; sequences.len()]
                }
            };
            for ((sequence, subject, jti), token) in picks.into_iter().zip(tokens) {
                let Some(token) = token else {
                    // Gone from the outbox (acknowledged meanwhile): free the subject.
                    release(&transmitter, &id, subject);
                    continue;
                };
                let http = transmitter.0.http.clone();
                let url = url.clone();
                let authorization = authorization.clone();
                sending.spawn(async move {
                    let outcome = send(&http, &url, authorization.as_deref(), token).await;
                    (sequence, subject, jti, outcome)
                });
            }
            continue;
        }
        let wait = async {
            match retry_at {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(joined) = sending.join_next(), if !sending.is_empty() => {
                let mut results = Vec::new();
                if let Ok(sent) = joined {
                    results.push(sent);
                }
                while let Some(joined) = sending.try_join_next() {
                    if let Ok(sent) = joined {
                        results.push(sent);
                    }
                }
                settle(&transmitter, &id, results);
            }
            () = &mut notified => {}
            () = wait => {}
        }
    }
}

/// Picks SETs to send now: the first deliverable one of each subject not in flight.
/// None when the stream is gone or no longer pushes.
#[allow(clippy::type_complexity)]
fn pick(
    transmitter: &Transmitter,
    id: &str,
    room: usize,
) -> Option<(
    Vec<(u64, u64, String)>,
    Option<Instant>,
    String,
    Option<String>,
)> {
    let mut state = transmitter.state();
    let live = state.streams.get_mut(id)?;
    let Delivery::Push {
        endpoint_url,
        authorization_header,
    } = &live.stream.delivery
    else {
        live.pushing = false;
        return None;
    };
    let (url, authorization) = (endpoint_url.clone(), authorization_header.clone());
    let now = Instant::now();
    let mut picks = Vec::new();
    let waiting = live.retry_at.is_some_and(|at| at > now);
    // While failing, one SET probes the receiver at a time.
    let room = if live.failing_since.is_some() {
        room.min(1usize.saturating_sub(live.busy.len()))
    } else {
        room
    };
    if !waiting && room > 0 {
        let mut seen: HashSet<u64> = HashSet::new();
        for (sequence, meta) in live.queue.iter().take(SCAN) {
            if picks.len() >= room {
                break;
            }
            // An earlier SET of the subject (in flight, or held) goes first.
            if !seen.insert(meta.subject) || live.busy.contains(&meta.subject) {
                continue;
            }
            if !live.deliverable(meta) {
                continue;
            }
            picks.push((*sequence, meta.subject, meta.jti.clone()));
        }
        for (_, subject, _) in &picks {
            live.busy.insert(*subject);
        }
    }
    let retry_at = live.retry_at.filter(|at| *at > now);
    Some((picks, retry_at, url, authorization))
}

/// Frees a subject whose SET was not sent.
fn release(transmitter: &Transmitter, id: &str, subject: u64) {
    if let Some(live) = transmitter.state().streams.get_mut(id) {
        live.busy.remove(&subject);
    }
}

/// Applies what the receiver said about each SET.
fn settle(transmitter: &Transmitter, id: &str, results: Vec<Sent>) {
    let mut delivered: Vec<(u64, Meta)> = Vec::new();
    let mut rejected: Vec<(u64, Meta)> = Vec::new();
    let mut status_change: Option<(Status, String)> = None;
    let horizon = Duration::from_secs(transmitter.0.config.retry_horizon_seconds);
    {
        let mut state = transmitter.state();
        let Some(live) = state.streams.get_mut(id) else {
            return;
        };
        let labels = stream_labels(&live.stream);
        let now = Instant::now();
        let mut retried = 0u64;
        for (sequence, subject, jti, outcome) in results {
            live.busy.remove(&subject);
            match outcome {
                Outcome::Delivered => {
                    if let Some(meta) = live.take(sequence) {
                        delivered.push((sequence, meta));
                    }
                    live.failing_since = None;
                    live.last_error = None;
                    live.backoff = std::time::Duration::ZERO;
                    live.retry_at = None;
                    live.unauthorized = 0;
                }
                Outcome::Rejected { err, description } => {
                    tracing::warn!(stream = %id, %jti, err = %err, description = %description, "the receiver rejected a SET; it is not sent again");
                    if let Some(meta) = live.take(sequence) {
                        rejected.push((sequence, meta));
                    }
                }
                Outcome::Forbidden => {
                    tracing::warn!(stream = %id, %jti, "the receiver answered 403 Forbidden: disabling the stream");
                    status_change = Some((
                        Status::Disabled,
                        "the receiver answered 403 Forbidden to a pushed SET".to_string(),
                    ));
                    if live.stream.status == Status::Disabled {
                        // Already disabled: a control event it refuses is given up.
                        if let Some(meta) = live.take(sequence) {
                            rejected.push((sequence, meta));
                        }
                    }
                }
                Outcome::Unauthorized => {
                    // SETs sent together count as one answer.
                    if live.retry_at.is_none_or(|at| at <= now) {
                        live.unauthorized += 1;
                    }
                    retried += 1;
                    let error = format!(
                        "the receiver answered 401 Unauthorized ({} in a row)",
                        live.unauthorized
                    );
                    tracing::warn!(stream = %id, %jti, "{error}");
                    back_off(live, now, error, None);
                    if live.unauthorized >= UNAUTHORIZED_LIMIT {
                        status_change = Some((
                            Status::Paused,
                            format!("the receiver answered 401 Unauthorized {UNAUTHORIZED_LIMIT} times in a row: check the stream's authorization_header"),
                        ));
                    }
                }
                Outcome::Retry { error, after } => {
                    retried += 1;
                    tracing::debug!(stream = %id, %jti, %error, "push failed; retrying");
                    back_off(live, now, error, after);
                }
            }
        }
        if retried > 0 {
            transmitter
                .0
                .metrics
                .update(|series| series.add(names::RETRIED, labels, retried as f64));
        }
        // Past the horizon: the SETs queued before it are given up.
        if live
            .failing_since
            .is_some_and(|since| now.duration_since(since) >= horizon)
        {
            let cutoff = vigil_schemas::Timestamp::now().0
                - i64::try_from(horizon.as_micros()).unwrap_or(i64::MAX);
            let stale: Vec<u64> = live
                .queue
                .iter()
                .filter(|(_, meta)| meta.queued <= cutoff && !live.busy.contains(&meta.subject))
                .map(|(sequence, _)| *sequence)
                .collect();
            if !stale.is_empty() {
                tracing::error!(stream = %id, dropped = stale.len(), error = live.last_error.as_deref().unwrap_or(""), "push delivery failed past the retry horizon: SETs given up");
                live.last_error = Some(format!(
                    "gave up on {} SET(s) after {} s of failed delivery: {}",
                    stale.len(),
                    horizon.as_secs(),
                    live.last_error.clone().unwrap_or_default()
                ));
            }
            for sequence in stale {
                if let Some(meta) = live.take(sequence) {
                    rejected.push((sequence, meta));
                }
            }
        }
    }
    transmitter.acknowledged(id, delivered, true);
    transmitter.acknowledged(id, rejected, false);
    if let Some((status, reason)) = status_change {
        let current = transmitter
            .state()
            .streams
            .get(id)
            .map(|live| live.stream.status);
        if current.is_some_and(|current| current != status) {
            if let Err(error) = transmitter.change_status(id, status, Some(reason)) {
                tracing::error!(%error, stream = %id, "cannot change the stream's status");
            }
        }
    }
}

/// Waits longer after a failure: failures of SETs sent together (answered within one
/// wait) count once.
fn back_off(live: &mut super::Live, now: Instant, error: String, after: Option<Duration>) {
    live.failing_since.get_or_insert(now);
    live.last_error = Some(error);
    let waiting = live.retry_at.is_some_and(|at| at > now);
    if !waiting {
        live.backoff = if live.backoff.is_zero() {
            FIRST_BACKOFF
        } else {
            (live.backoff * 2).min(MAX_BACKOFF)
        };
    }
    let wait = after.unwrap_or(live.backoff);
    let at = now + wait;
    live.retry_at = Some(live.retry_at.map_or(at, |current| current.max(at)));
}
