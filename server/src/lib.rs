//! vigil's one HTTP home, on the pipeline's tokio runtime. It reaches the engine only
//! through the engine handle and reads the run's telemetry:
//!
//! - `GET /healthz`: 200 while the process serves (liveness).
//! - `GET /readyz`: 200 once the state is loaded, the outputs connected and the inputs
//!   assigned; 503 with the reason before.
//! - `GET /metrics`: the Prometheus text exposition of the run's metrics.
//! - `GET /v1/identities/{id}`: what the engine holds about an identity now (as `vigil
//!   state inspect` prints it), answered live by the loop; 404 for an unknown identity.
//! - The OpenID Shared Signals transmitter ([`ssf`]): `/.well-known/ssf-configuration`, the
//!   JWK Set, stream management, status, subjects, verification and polling, when a
//!   transmitter is configured.
//!
//! Every error is a JSON body `{"error": ...}` with its status code; no request can make a
//! handler panic.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use vigil_pipeline::{EngineHandle, HandleError, Telemetry};

pub mod ssf;

/// The default address (`[server] listen`): loopback only, on the port OpenTelemetry's
/// Prometheus exporter takes by convention.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::LOCALHOST,
    9464,
));

/// What the handlers read.
#[derive(Debug, Clone)]
pub struct ServerState {
    /// The run's metrics and health.
    pub telemetry: Arc<Telemetry>,
    /// Questions for the live loop.
    pub handle: EngineHandle,
    /// The Shared Signals transmitter, when configured.
    pub ssf: Option<vigil_sinks::ssf::Transmitter>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The address cannot be bound (in use, or not this machine's).
    #[error("cannot listen on `{address}`: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// A bound listener, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    address: SocketAddr,
}

impl Server {
    /// Binds `address` (port 0: one the OS picks).
    pub async fn bind(address: SocketAddr) -> Result<Server, ServerError> {
        let bind_error = |source| ServerError::Bind { address, source };
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(bind_error)?;
        let address = listener.local_addr().map_err(bind_error)?;
        Ok(Server { listener, address })
    }

    /// The address bound.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The base URL, for people and tests.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Serves on the current runtime until `shutdown` resolves.
    pub fn spawn(
        self,
        state: ServerState,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<std::io::Result<()>> {
        tracing::info!(address = %self.address, "serving HTTP");
        tokio::spawn(async move {
            axum::serve(self.listener, router(state))
                .with_graceful_shutdown(shutdown)
                .await
        })
    }
}

/// The routes.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/identities/{id}", get(identity))
        .merge(ssf::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// A JSON error with its status.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

async fn healthz() -> Response {
    Json(serde_json::json!({ "status": "up" })).into_response()
}

async fn readyz(State(state): State<ServerState>) -> Response {
    match state.telemetry.not_ready() {
        None => Json(serde_json::json!({ "status": "ready" })).into_response(),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "not_ready", "reason": reason })),
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<ServerState>) -> Response {
    let mut text = state.telemetry.render();
    if let Some(transmitter) = &state.ssf {
        transmitter.render_metrics(&mut text);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn identity(
    State(state): State<ServerState>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let id = match id {
        Ok(Path(id)) => id,
        Err(rejection) => return error(StatusCode::BAD_REQUEST, rejection.body_text()),
    };
    match state.handle.inspect(&id).await {
        Ok(Some(document)) => Json(document).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("no state for identity `{id}`"),
        ),
        Err(HandleError::NotRunning) => {
            error(StatusCode::SERVICE_UNAVAILABLE, "the engine is not running")
        }
        Err(other) => {
            tracing::warn!(error = %other, "identity request failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, other.to_string())
        }
    }
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such endpoint")
}

async fn method_not_allowed() -> Response {
    error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}
