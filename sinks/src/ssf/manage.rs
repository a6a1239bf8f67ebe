//! Stream management (SSF 1.0 section 8): create, read, update, replace and delete
//! streams, read and change their status, add and remove subjects, and verification,
//! each for the authenticated receiver's own streams only.

use super::stream::{self, Delivery, Status, Stream};
use super::{
    names, outbox, stream_labels, subject_key, Caller, Live, SsfError, State, StatusRequest,
    StreamRequest, SubjectRequest, Transmitter, VerifyRequest,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use vigil_schemas::caep::{SecurityEventToken, SubjectId};
use vigil_schemas::Timestamp;

impl Transmitter {
    /// The event types a stream delivers: supported for its receiver, and requested.
    pub(super) fn delivered(&self, stream: &Stream) -> Vec<&'static str> {
        let supported = self
            .receiver_of(stream)
            .map(|receiver| receiver.events.clone())
            .unwrap_or_default();
        match &stream.events_requested {
            None => supported,
            Some(requested) => supported
                .into_iter()
                .filter(|uri| requested.iter().any(|wanted| wanted == uri))
                .collect(),
        }
    }

    fn view(&self, stream: &Stream) -> Value {
        let delivery = match &stream.delivery {
            Delivery::Push {
                endpoint_url,
                authorization_header,
            } => {
                let mut delivery = json!({ "method": stream::PUSH, "endpoint_url": endpoint_url });
                if let Some(header) = authorization_header {
                    delivery["authorization_header"] = header.clone().into();
                }
                delivery
            }
            Delivery::Poll => {
                json!({ "method": stream::POLL, "endpoint_url": self.poll_url(&stream.id) })
            }
        };
        let supported = self
            .receiver_of(stream)
            .map(|receiver| receiver.events.clone())
            .unwrap_or_default();
        let mut view = json!({
            "stream_id": stream.id,
            "iss": self.0.issuer,
            "aud": stream.aud,
            "delivery": delivery,
            "events_supported": supported,
            "events_delivered": self.delivered(stream),
            "min_verification_interval": self.0.config.min_verification_interval_seconds,
        });
        if let Some(requested) = &stream.events_requested {
            view["events_requested"] = json!(requested);
        }
        if let Some(description) = &stream.description {
            view["description"] = description.clone().into();
        }
        view
    }

    /// Transmitter-supplied members of a request must match what vigil holds.
    fn check_supplied(&self, request: &StreamRequest, current: &Value) -> Result<(), SsfError> {
        let mismatch = |field: &str| {
            SsfError::bad_request(format!(
                "`{field}` is set by vigil and does not match; leave it out or send the value vigil returned"
            ))
        };
        if request
            .iss
            .as_deref()
            .is_some_and(|iss| iss != self.0.issuer)
        {
            return Err(mismatch("iss"));
        }
        if let Some(aud) = &request.aud {
            let matches = match aud {
                Value::String(one) => current["aud"] == *one,
                Value::Array(many) => many.len() == 1 && many[0] == current["aud"],
                _ => false,
            };
            if !matches {
                return Err(mismatch("aud"));
            }
        }
        if let Some(supported) = &request.events_supported {
            if json!(supported) != current["events_supported"] {
                return Err(mismatch("events_supported"));
            }
        }
        if let Some(delivered) = &request.events_delivered {
            if json!(delivered) != current["events_delivered"] {
                return Err(mismatch("events_delivered"));
            }
        }
        if request
            .min_verification_interval
            .is_some_and(|seconds| seconds != self.0.config.min_verification_interval_seconds)
        {
            return Err(mismatch("min_verification_interval"));
        }
        if request.inactivity_timeout.is_some() {
            return Err(mismatch("inactivity_timeout"));
        }
        Ok(())
    }

    /// Creates a stream for the caller (201 with its configuration).
    pub fn create(&self, caller: Caller, request: StreamRequest) -> Result<Value, SsfError> {
        let receiver = &self.0.receivers[caller.0];
        if request.stream_id.is_some() {
            return Err(SsfError::bad_request("`stream_id` is set by vigil"));
        }
        if receiver.max_streams == 0 {
            return Err(SsfError::new(403, "this receiver may not create streams"));
        }
        stream::check_events_requested(&request.events_requested)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let stream = Stream {
            delivery: stream::delivery(request.delivery.as_ref(), &self.poll_url(&id))?,
            id: id.clone(),
            receiver: receiver.name.clone(),
            aud: receiver.audience.clone(),
            events_requested: request.events_requested.clone(),
            description: stream::description(request.description.clone()),
            status: Status::Enabled,
            reason: None,
            default_subjects: self.0.config.default_subjects,
            added: Vec::new(),
            removed: Vec::new(),
        };
        let view = self.view(&stream);
        self.check_supplied(&request, &view)?;
        {
            let mut state = self.state();
            let owned = state
                .streams
                .values()
                .filter(|live| live.stream.receiver == receiver.name)
                .count();
            if owned >= receiver.max_streams {
                return Err(SsfError::new(
                    409,
                    format!(
                        "this receiver has {owned} stream(s), its limit; read, update or delete them"
                    ),
                ));
            }
            self.0
                .outbox
                .put_stream(&stream)
                .map_err(SsfError::internal)?;
            state.streams.insert(id.clone(), Live::new(stream));
        }
        tracing::info!(receiver = %receiver.name, stream = %id, "SSF stream created");
        self.ensure_pushing(&id);
        Ok(view)
    }

    /// The caller's stream `id` (None: all of them, as a list).
    pub fn read(&self, caller: Caller, id: Option<&str>) -> Result<Value, SsfError> {
        let name = &self.0.receivers[caller.0].name;
        let state = self.state();
        match id {
            Some(id) => {
                let live = own(&state, name, id)?;
                Ok(self.view(&live.stream))
            }
            None => Ok(Value::Array(
                state
                    .streams
                    .values()
                    .filter(|live| &live.stream.receiver == name)
                    .map(|live| self.view(&live.stream))
                    .collect(),
            )),
        }
    }

    /// Updates (PATCH: only the members given) or replaces (PUT: missing
    /// receiver-supplied members are removed) a stream's configuration.
    pub fn update(
        &self,
        caller: Caller,
        request: StreamRequest,
        replace: bool,
    ) -> Result<Value, SsfError> {
        let name = &self.0.receivers[caller.0].name;
        let id = request
            .stream_id
            .clone()
            .ok_or_else(|| SsfError::bad_request("`stream_id` is required"))?;
        stream::check_events_requested(&request.events_requested)?;
        let poll_url = self.poll_url(&id);
        let view = {
            let mut state = self.state();
            let live = own_mut(&mut state, name, &id)?;
            let current = self.view(&live.stream);
            self.check_supplied(&request, &current)?;
            let mut updated = live.stream.clone();
            if replace {
                updated.delivery = stream::delivery(request.delivery.as_ref(), &poll_url)?;
                updated.events_requested = request.events_requested.clone();
                updated.description = stream::description(request.description.clone());
            } else {
                if let Some(delivery) = &request.delivery {
                    updated.delivery = stream::delivery(Some(delivery), &poll_url)?;
                }
                if request.events_requested.is_some() {
                    updated.events_requested = request.events_requested.clone();
                }
                if request.description.is_some() {
                    updated.description = stream::description(request.description.clone());
                }
            }
            self.0
                .outbox
                .put_stream(&updated)
                .map_err(SsfError::internal)?;
            live.stream = updated;
            live.notify.notify_waiters();
            self.view(&live.stream)
        };
        self.ensure_pushing(&id);
        Ok(view)
    }

    /// Deletes a stream and the SETs it holds.
    pub fn delete(&self, caller: Caller, id: &str) -> Result<(), SsfError> {
        let name = &self.0.receivers[caller.0].name;
        let mut state = self.state();
        own(&state, name, id)?;
        self.0
            .outbox
            .delete_stream(id)
            .map_err(SsfError::internal)?;
        if let Some(live) = state.streams.remove(id) {
            for meta in live.queue.values() {
                if let Some(count) = state.kids.get_mut(&meta.kid) {
                    *count = count.saturating_sub(1);
                }
            }
            live.notify.notify_waiters();
            let labels = [("stream", id)];
            self.0.metrics.update(|series| {
                series.remove(names::DEPTH, &labels);
                series.remove(names::FAILING, &labels);
            });
        }
        tracing::info!(receiver = %name, stream = %id, "SSF stream deleted");
        Ok(())
    }

    fn status_view(live: &Live) -> Value {
        let mut view =
            json!({ "stream_id": live.stream.id, "status": live.stream.status.as_str() });
        let reason = match (&live.failing_since, &live.last_error) {
            (Some(since), Some(error)) if live.stream.status == Status::Enabled => Some(format!(
                "delivery failing for {} s: {error}",
                since.elapsed().as_secs()
            )),
            _ => live
                .stream
                .reason
                .clone()
                .or_else(|| live.last_error.clone()),
        };
        if let Some(reason) = reason {
            view["reason"] = reason.into();
        }
        view
    }

    /// A stream's status.
    pub fn status(&self, caller: Caller, id: &str) -> Result<Value, SsfError> {
        let name = &self.0.receivers[caller.0].name;
        let state = self.state();
        Ok(Transmitter::status_view(own(&state, name, id)?))
    }

    /// Changes a stream's status at the receiver's request.
    pub fn set_status(&self, caller: Caller, request: StatusRequest) -> Result<Value, SsfError> {
        let name = &self.0.receivers[caller.0].name;
        own(&self.state(), name, &request.stream_id)?;
        let reason = request
            .reason
            .map(|reason| reason.chars().take(1024).collect());
        self.change_status(&request.stream_id, request.status, reason)
    }

    /// Sets a stream's status; a change sends a stream-updated event, and disabling drops
    /// the CAEP events it holds.
    pub(super) fn change_status(
        &self,
        id: &str,
        status: Status,
        reason: Option<String>,
    ) -> Result<Value, SsfError> {
        let (changed, dropped, view) = {
            let mut state = self.state();
            let live = state
                .streams
                .get_mut(id)
                .ok_or_else(|| SsfError::not_found(id))?;
            let changed = live.stream.status != status;
            let mut updated = live.stream.clone();
            updated.status = status;
            updated.reason = reason.clone();
            self.0
                .outbox
                .put_stream(&updated)
                .map_err(SsfError::internal)?;
            live.stream = updated;
            if status == Status::Enabled {
                live.unauthorized = 0;
            }
            let mut dropped = Vec::new();
            if status == Status::Disabled {
                let caep: Vec<u64> = live
                    .queue
                    .iter()
                    .filter(|(_, meta)| !meta.control)
                    .map(|(sequence, _)| *sequence)
                    .collect();
                for sequence in caep {
                    if let Some(meta) = live.take(sequence) {
                        dropped.push((sequence, meta));
                    }
                }
            }
            live.notify.notify_waiters();
            let view = Transmitter::status_view(live);
            let labels = stream_labels(&live.stream);
            if !dropped.is_empty() {
                self.0.metrics.update(|series| {
                    series.add(names::FAILED, labels.clone(), dropped.len() as f64)
                });
            }
            for (_, meta) in &dropped {
                if let Some(count) = state.kids.get_mut(&meta.kid) {
                    *count = count.saturating_sub(1);
                }
            }
            (changed, dropped, view)
        };
        if !dropped.is_empty() {
            tracing::warn!(stream = %id, dropped = dropped.len(), "SSF stream disabled: its pending SETs are dropped");
            let items: Vec<(&str, u64)> = dropped
                .iter()
                .map(|(sequence, _)| (id, *sequence))
                .collect();
            self.0.outbox.remove(&items).map_err(SsfError::internal)?;
        }
        if changed {
            tracing::info!(stream = %id, status = status.as_str(), reason = reason.as_deref().unwrap_or(""), "SSF stream status changed");
            let mut event = json!({ "status": status.as_str() });
            if let Some(reason) = &reason {
                event["reason"] = reason.clone().into();
            }
            self.control(id, stream::STREAM_UPDATED, event)?;
        }
        Ok(view)
    }

    /// Adds a subject to a stream.
    pub fn add_subject(&self, caller: Caller, request: SubjectRequest) -> Result<(), SsfError> {
        self.change_subjects(caller, request, true)
    }

    /// Removes a subject from a stream.
    pub fn remove_subject(&self, caller: Caller, request: SubjectRequest) -> Result<(), SsfError> {
        self.change_subjects(caller, request, false)
    }

    fn change_subjects(
        &self,
        caller: Caller,
        request: SubjectRequest,
        add: bool,
    ) -> Result<(), SsfError> {
        if !add && request.verified.is_some() {
            return Err(SsfError::bad_request(
                "`verified` applies to adding a subject only",
            ));
        }
        stream::check_subject(&request.subject)?;
        let name = &self.0.receivers[caller.0].name;
        let mut state = self.state();
        let live = own_mut(&mut state, name, &request.stream_id)?;
        let mut updated = live.stream.clone();
        if add {
            updated.add_subject(request.subject)?;
        } else {
            updated.remove_subject(request.subject)?;
        }
        self.0
            .outbox
            .put_stream(&updated)
            .map_err(SsfError::internal)?;
        live.stream = updated;
        Ok(())
    }

    /// Sends a verification event carrying the receiver's `state`.
    pub fn verify(&self, caller: Caller, request: VerifyRequest) -> Result<(), SsfError> {
        let name = &self.0.receivers[caller.0].name;
        if request
            .state
            .as_ref()
            .is_some_and(|state| state.len() > 4096)
        {
            return Err(SsfError::bad_request("`state` is longer than 4096 bytes"));
        }
        {
            let mut state = self.state();
            let live = own_mut(&mut state, name, &request.stream_id)?;
            let interval = Duration::from_secs(self.0.config.min_verification_interval_seconds);
            if let Some(last) = live.last_verification {
                let elapsed = last.elapsed();
                if elapsed < interval {
                    let mut error = SsfError::new(
                        429,
                        format!("one verification per {} s per stream", interval.as_secs()),
                    );
                    error.retry_after = Some((interval - elapsed).as_secs().max(1));
                    return Err(error);
                }
            }
            live.last_verification = Some(Instant::now());
        }
        let mut event = json!({});
        if let Some(state) = request.state {
            event["state"] = state.into();
        }
        self.control(&request.stream_id, stream::VERIFICATION, event)
    }

    /// Queues an SSF control event (verification, stream-updated) on a stream.
    fn control(&self, id: &str, event_type: &str, event: Value) -> Result<(), SsfError> {
        let aud = {
            let state = self.state();
            match state.streams.get(id) {
                Some(live) => live.stream.aud.clone(),
                None => return Err(SsfError::not_found(id)),
            }
        };
        let now = Timestamp::now();
        let jti = uuid::Uuid::new_v4().to_string();
        let set = SecurityEventToken {
            iss: self.0.issuer.clone(),
            jti: jti.clone(),
            iat: now.as_secs(),
            aud,
            txn: jti.clone(),
            sub_id: SubjectId::Opaque { id: id.to_string() },
            events: BTreeMap::from([(event_type.to_string(), event)]),
        };
        let entry = outbox::Entry {
            token: self.0.signer.sign(&set),
            jti,
            subject: subject_key(&format!("stream\u{1f}{id}")),
            control: true,
            kid: self.0.signer.kid().to_string(),
            decided: now.0,
            queued: now.0,
        };
        let sequence = self.0.sequence.fetch_add(1, Ordering::Relaxed);
        self.commit(vec![(id.to_string(), sequence, entry)])
            .map_err(SsfError::internal)
    }
}

pub(super) fn own<'a>(state: &'a State, receiver: &str, id: &str) -> Result<&'a Live, SsfError> {
    state
        .streams
        .get(id)
        .filter(|live| live.stream.receiver == receiver)
        .ok_or_else(|| SsfError::not_found(id))
}

pub(super) fn own_mut<'a>(
    state: &'a mut State,
    receiver: &str,
    id: &str,
) -> Result<&'a mut Live, SsfError> {
    state
        .streams
        .get_mut(id)
        .filter(|live| live.stream.receiver == receiver)
        .ok_or_else(|| SsfError::not_found(id))
}
