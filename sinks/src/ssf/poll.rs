//! Poll delivery (RFC 8936): the receiver acknowledges what it processed and asks for
//! more; vigil answers with the oldest SETs of the stream, waiting up to
//! `poll_wait_seconds` for one when none is there (long polling).

use super::manage::own_mut;
use super::stream::{Delivery, PollRequest};
use super::{Caller, Meta, SsfError, Transmitter};
use std::time::{Duration, Instant};

impl Transmitter {
    /// Answers one poll: the body `{"sets": {jti: SET, ...}, "moreAvailable": bool}`, SETs
    /// in the order they were queued.
    pub async fn poll(
        &self,
        caller: Caller,
        id: &str,
        request: PollRequest,
    ) -> Result<String, SsfError> {
        let name = self.0.receivers[caller.0].name.clone();
        let max = request
            .max_events
            .unwrap_or(self.0.config.max_poll_events)
            .min(self.0.config.max_poll_events);
        let mut delivered: Vec<(u64, Meta)> = Vec::new();
        let mut failed: Vec<(u64, Meta)> = Vec::new();
        {
            let mut state = self.state();
            let live = own_mut(&mut state, &name, id)?;
            if !matches!(live.stream.delivery, Delivery::Poll) {
                return Err(SsfError::bad_request(
                    "this stream delivers by push; it cannot be polled",
                ));
            }
            for jti in &request.ack {
                if let Some(sequence) = live.jtis.get(jti).copied() {
                    if let Some(meta) = live.take(sequence) {
                        delivered.push((sequence, meta));
                    }
                }
            }
            for (jti, error) in &request.set_errs {
                if let Some(sequence) = live.jtis.get(jti).copied() {
                    tracing::warn!(stream = %id, %jti, err = error["err"].as_str().unwrap_or(""), description = error["description"].as_str().unwrap_or(""), "the receiver could not process a SET");
                    if let Some(meta) = live.take(sequence) {
                        failed.push((sequence, meta));
                    }
                }
            }
        }
        self.acknowledged(id, delivered, true);
        self.acknowledged(id, failed, false);
        let deadline = Instant::now() + Duration::from_secs(self.0.config.poll_wait_seconds);
        let (picks, more) = loop {
            let notify = {
                let mut state = self.state();
                own_mut(&mut state, &name, id)?.notify.clone()
            };
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (picks, more) = {
                let mut state = self.state();
                let live = own_mut(&mut state, &name, id)?;
                let mut deliverable = live
                    .queue
                    .iter()
                    .filter(|(_, meta)| live.deliverable(meta))
                    .map(|(sequence, meta)| (*sequence, meta.jti.clone()));
                let picks: Vec<(u64, String)> = deliverable.by_ref().take(max).collect();
                (picks, deliverable.next().is_some())
            };
            if !picks.is_empty() || max == 0 || request.return_immediately {
                break (picks, more);
            }
            if Instant::now() >= deadline {
                break (picks, more);
            }
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(deadline.into()) => {}
            }
        };
        let sequences: Vec<u64> = picks.iter().map(|(sequence, _)| *sequence).collect();
        let tokens = self
            .0
            .outbox
            .tokens(id, &sequences)
            .map_err(SsfError::internal)?;
        let mut body = String::from("{\"sets\":{");
        let mut first = true;
        for ((_, jti), token) in picks.iter().zip(tokens) {
            let Some(token) = token else {
                continue;
            };
            if !first {
                body.push(',');
            }
            first = false;
            body.push_str(&serde_json::Value::from(jti.as_str()).to_string());
            body.push(':');
            body.push_str(&serde_json::Value::from(token).to_string());
        }
        body.push_str("},\"moreAvailable\":");
        body.push_str(if more { "true" } else { "false" });
        body.push('}');
        Ok(body)
    }
}
