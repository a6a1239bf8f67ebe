//! The Shared Signals endpoints, routed to the transmitter ([`vigil_sinks::ssf`]): HTTP in
//! and out only: authentication, content type, body size and JSON here; what a request
//! means there. Every error is `{"error": ...}` with the spec's status code; 401 carries
//! `WWW-Authenticate: Bearer`, 429 `Retry-After`; nothing a receiver sends can make a
//! handler panic, and no token reaches a log line or a response.

// A refused request's response is the error of these helpers: built once per request and
// returned at once, its size does not matter.
#![allow(clippy::result_large_err)]

use crate::{error, ServerState};
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use vigil_sinks::ssf::{paths, Caller, SsfError, Transmitter};

/// 64 KiB: a stream configuration, a subject or a poll with a thousand acknowledgements
/// fits many times over.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The SSF routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route(paths::CONFIGURATION, get(configuration))
        .route(
            &format!("{}/{{*issuer_path}}", paths::CONFIGURATION),
            get(configuration),
        )
        .route(paths::JWKS, get(jwks))
        .route(
            paths::STREAMS,
            post(create)
                .get(read)
                .patch(update)
                .put(replace)
                .delete(delete),
        )
        .route(paths::STATUS, get(status).post(set_status))
        .route(paths::ADD_SUBJECT, post(add_subject))
        .route(paths::REMOVE_SUBJECT, post(remove_subject))
        .route(paths::VERIFY, post(verify))
        .route(&format!("{}{{stream_id}}", paths::POLL), post(poll))
}

fn transmitter(state: &ServerState) -> Result<&Transmitter, Response> {
    state.ssf.as_ref().ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            "Shared Signals are not configured on this vigil (no [caep] and [ssf] sections)",
        )
    })
}

fn refused(refusal: SsfError) -> Response {
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = error(status, refusal.message);
    let headers = response.headers_mut();
    if refusal.status == 401 {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"vigil\""),
        );
    }
    if let Some(seconds) = refusal.retry_after {
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            headers.insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// The transmitter and the authenticated caller.
fn caller<'a>(
    state: &'a ServerState,
    headers: &HeaderMap,
) -> Result<(&'a Transmitter, Caller), Response> {
    let transmitter = transmitter(state)?;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let caller = transmitter.authenticate(authorization).map_err(refused)?;
    Ok((transmitter, caller))
}

/// A JSON body: `application/json`, at most [`MAX_BODY_BYTES`], of type `T` (unknown
/// members refused).
async fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be `application/json`",
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            )
        })?;
    serde_json::from_slice(&bytes).map_err(|problem| {
        error(
            StatusCode::BAD_REQUEST,
            format!("invalid JSON body: {problem}"),
        )
    })
}

/// The `stream_id` query parameter (the only one taken).
fn stream_id(query: &HashMap<String, String>, required: bool) -> Result<Option<String>, Response> {
    if let Some(other) = query.keys().find(|name| name.as_str() != "stream_id") {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("unknown query parameter `{other}`"),
        ));
    }
    match query.get("stream_id") {
        Some(id) => Ok(Some(id.clone())),
        None if required => Err(error(
            StatusCode::BAD_REQUEST,
            "the `stream_id` query parameter is required",
        )),
        None => Ok(None),
    }
}

fn no_store(status: StatusCode, body: Option<serde_json::Value>) -> Response {
    let mut response = match body {
        Some(body) => (status, Json(body)).into_response(),
        None => status.into_response(),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn answer(result: Result<serde_json::Value, SsfError>, status: StatusCode) -> Response {
    match result {
        Ok(body) => no_store(status, Some(body)),
        Err(refusal) => refused(refusal),
    }
}

fn empty(result: Result<(), SsfError>, status: StatusCode) -> Response {
    match result {
        Ok(()) => no_store(status, None),
        Err(refusal) => refused(refusal),
    }
}

/// Runs `then` with the transmitter, caller and parsed body, or answers the first
/// refusal.
macro_rules! with_body {
    ($state:expr, $headers:expr, $body:expr, |$transmitter:ident, $caller:ident, $request:ident| $then:expr) => {{
        let ($transmitter, $caller) = match caller(&$state, &$headers) {
            Ok(found) => found,
            Err(response) => return response,
        };
        let $request = match json_body(&$headers, $body).await {
            Ok(request) => request,
            Err(response) => return response,
        };
        $then
    }};
}

async fn configuration(State(state): State<ServerState>) -> Response {
    match transmitter(&state) {
        Ok(transmitter) => Json(transmitter.configuration()).into_response(),
        Err(response) => response,
    }
}

async fn jwks(State(state): State<ServerState>) -> Response {
    match transmitter(&state) {
        Ok(transmitter) => {
            let mut response = Json(transmitter.jwks()).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jwk-set+json"),
            );
            response
        }
        Err(response) => response,
    }
}

async fn create(State(state): State<ServerState>, headers: HeaderMap, body: Body) -> Response {
    with_body!(state, headers, body, |transmitter, caller, request| {
        answer(transmitter.create(caller, request), StatusCode::CREATED)
    })
}

async fn update(State(state): State<ServerState>, headers: HeaderMap, body: Body) -> Response {
    with_body!(state, headers, body, |transmitter, caller, request| {
        answer(transmitter.update(caller, request, false), StatusCode::OK)
    })
}

async fn replace(State(state): State<ServerState>, headers: HeaderMap, body: Body) -> Response {
    with_body!(state, headers, body, |transmitter, caller, request| {
        answer(transmitter.update(caller, request, true), StatusCode::OK)
    })
}

/// Runs `then` with the transmitter, caller and `stream_id` query parameter (required
/// or not), or answers the first refusal.
fn with_stream_id(
    state: &ServerState,
    headers: &HeaderMap,
    query: &Result<Query<HashMap<String, String>>, QueryRejection>,
    required: bool,
    then: impl FnOnce(&Transmitter, Caller, Option<String>) -> Response,
) -> Response {
    let (transmitter, caller) = match caller(state, headers) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let query = match query {
        Ok(Query(query)) => query,
        Err(rejection) => return error(StatusCode::BAD_REQUEST, rejection.body_text()),
    };
    match stream_id(query, required) {
        Ok(id) => then(transmitter, caller, id),
        Err(response) => response,
    }
}

async fn read(
    State(state): State<ServerState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    with_stream_id(
        &state,
        &headers,
        &query,
        false,
        |transmitter, caller, id| answer(transmitter.read(caller, id.as_deref()), StatusCode::OK),
    )
}

async fn delete(
    State(state): State<ServerState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    with_stream_id(&state, &headers, &query, true, |transmitter, caller, id| {
        let id = id.unwrap_or_default();
        empty(transmitter.delete(caller, &id), StatusCode::NO_CONTENT)
    })
}

async fn status(
    State(state): State<ServerState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    with_stream_id(&state, &headers, &query, true, |transmitter, caller, id| {
        let id = id.unwrap_or_default();
        answer(transmitter.status(caller, &id), StatusCode::OK)
    })
}

async fn set_status(State(state): State<ServerState>, headers: HeaderMap, body: Body) -> Response {
    with_body!(state, headers, body, |transmitter, caller, request| {
        answer(transmitter.set_status(caller, request), StatusCode::OK)
    })
}

async fn add_subject(State(state): State<ServerState>, headers: HeaderMap, body: Body) -> Response {
    with_body!(state, headers, body, |transmitter, caller, request| {
        empty(transmitter.add_subject(caller, request), StatusCode::OK)
    })
}

async fn remove_subject(
    State(state): State<ServerState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    with_body!(state, headers, body, |transmitter, caller, request| {
        empty(
            transmitter.remove_subject(caller, request),
            StatusCode::NO_CONTENT,
        )
    })
}

async fn verify(State(state): State<ServerState>, headers: HeaderMap, body: Body) -> Response {
    with_body!(state, headers, body, |transmitter, caller, request| {
        empty(transmitter.verify(caller, request), StatusCode::NO_CONTENT)
    })
}

async fn poll(
    State(state): State<ServerState>,
    Path(stream_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    with_body!(state, headers, body, |transmitter, caller, request| {
        match transmitter.poll(caller, &stream_id, request).await {
            Ok(text) => {
                let mut response =
                    ([(header::CONTENT_TYPE, "application/json")], text).into_response();
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
            Err(refusal) => refused(refusal),
        }
    })
}
