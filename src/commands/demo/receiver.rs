//! The demo's Shared Signals receiver: what an IdP or a proxy does with vigil, in
//! process. It discovers the transmitter (`/.well-known/ssf-configuration`), fetches the
//! JWK Set from the `jwks_uri` it names, creates a push stream with its bearer token,
//! asks for a verification event, and then takes every SET POSTed to it (RFC 8935):
//! signature verified against the JWK Set, `iss` and `aud` checked, 202 on success and
//! an RFC 8935 error otherwise. `GET /received` shows what it got.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use vigil_sinks::caep::verify;

/// SETs kept for `GET /received`.
const KEPT: usize = 50;

/// What the receiver has seen.
#[derive(Debug, Default)]
pub struct View {
    /// SETs taken (signature and claims good).
    pub verified: u64,
    /// SETs refused.
    pub refused: u64,
    /// Taken SETs by event type (the URI's last segment).
    pub by_type: BTreeMap<String, u64>,
    /// The latest SETs' claims, newest last.
    pub latest: VecDeque<Value>,
    /// Whether the verification event came back with the state sent.
    pub verification_echoed: bool,
}

struct Shared {
    jwks: Mutex<Value>,
    jwks_uri: String,
    issuer: String,
    audience: Mutex<String>,
    state: String,
    view: Mutex<View>,
    http: reqwest::Client,
    /// Print each SET as it arrives (`vigil demo --serve`).
    announce: std::sync::atomic::AtomicBool,
}

/// A running demo receiver.
pub struct DemoReceiver {
    shared: Arc<Shared>,
    /// Where vigil pushes.
    pub endpoint: String,
    /// Its stream.
    pub stream_id: String,
    /// Where its view is served.
    pub view_url: String,
    /// The transmitter's JWK Set URL.
    pub jwks_uri: String,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn refuse(err: &str, description: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "err": err, "description": description })),
    )
        .into_response()
}

async fn take(shared: Arc<Shared>, headers: HeaderMap, body: String) -> Response {
    let media_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if media_type != "application/secevent+jwt" {
        lock(&shared.view).refused += 1;
        return refuse("invalid_request", format!("content type `{media_type}`"));
    }
    let mut verified = verify(body.trim(), &lock(&shared.jwks).clone());
    if verified.is_err() {
        // A key rotated since: fetch the JWK Set again, once.
        if let Ok(response) = shared.http.get(&shared.jwks_uri).send().await {
            if let Ok(jwks) = response.json::<Value>().await {
                *lock(&shared.jwks) = jwks.clone();
                verified = verify(body.trim(), &jwks);
            }
        }
    }
    let claims = match verified {
        Ok(claims) => claims,
        Err(error) => {
            lock(&shared.view).refused += 1;
            return refuse("invalid_key", error.to_string());
        }
    };
    if claims["iss"] != shared.issuer.as_str() {
        lock(&shared.view).refused += 1;
        return refuse("invalid_issuer", format!("iss {}", claims["iss"]));
    }
    if claims["aud"] != lock(&shared.audience).as_str() {
        lock(&shared.view).refused += 1;
        return refuse("invalid_audience", format!("aud {}", claims["aud"]));
    }
    let kind = claims["events"]
        .as_object()
        .and_then(|events| events.keys().next())
        .map(|uri| uri.rsplit('/').next().unwrap_or(uri).to_string())
        .unwrap_or_default();
    let mut view = lock(&shared.view);
    if kind == "verification"
        && claims["events"][vigil_sinks::ssf::stream::VERIFICATION]["state"]
            == shared.state.as_str()
    {
        view.verification_echoed = true;
    }
    if shared.announce.load(std::sync::atomic::Ordering::Relaxed) {
        let who = claims["sub_id"]["user"]["email"]
            .as_str()
            .or(claims["sub_id"]["email"].as_str())
            .or(claims["sub_id"]["user"]["sub"].as_str())
            .unwrap_or("");
        eprintln!(
            "  demo receiver <- {kind} {who} (jti {}, signature verified)",
            claims["jti"].as_str().unwrap_or("")
        );
    }
    view.verified += 1;
    *view.by_type.entry(kind).or_default() += 1;
    view.latest.push_back(claims);
    while view.latest.len() > KEPT {
        view.latest.pop_front();
    }
    StatusCode::ACCEPTED.into_response()
}

fn view_json(shared: &Shared) -> Value {
    let view = lock(&shared.view);
    json!({
        "verified": view.verified,
        "refused": view.refused,
        "by_type": view.by_type,
        "verification_echoed": view.verification_echoed,
        "latest": view.latest,
    })
}

impl DemoReceiver {
    /// Starts the receiver on loopback and sets up its stream at `issuer` with `token`.
    pub async fn start(issuer: &str, token: &str) -> Result<DemoReceiver, String> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|error| error.to_string())?;
        let discovery: Value = http
            .get(format!(
                "{issuer}{}",
                vigil_sinks::ssf::paths::CONFIGURATION
            ))
            .send()
            .await
            .map_err(|error| format!("discovery: {error}"))?
            .json()
            .await
            .map_err(|error| format!("discovery: {error}"))?;
        let text = |name: &str| discovery[name].as_str().unwrap_or_default().to_string();
        let jwks_uri = text("jwks_uri");
        let jwks: Value = http
            .get(&jwks_uri)
            .send()
            .await
            .map_err(|error| format!("JWK Set: {error}"))?
            .json()
            .await
            .map_err(|error| format!("JWK Set: {error}"))?;
        let shared = Arc::new(Shared {
            jwks: Mutex::new(jwks),
            jwks_uri: jwks_uri.clone(),
            issuer: text("issuer"),
            audience: Mutex::new(String::new()),
            state: uuid_like(),
            view: Mutex::new(View::default()),
            http: http.clone(),
            announce: std::sync::atomic::AtomicBool::new(false),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|error| error.to_string())?;
        let address = listener.local_addr().map_err(|error| error.to_string())?;
        let app = {
            let taking = shared.clone();
            let viewing = shared.clone();
            axum::Router::new()
                .route(
                    "/events",
                    axum::routing::post(move |headers: HeaderMap, body: String| {
                        take(taking.clone(), headers, body)
                    }),
                )
                .route(
                    "/received",
                    axum::routing::get(move || {
                        let viewing = viewing.clone();
                        async move { Json(view_json(&viewing)) }
                    }),
                )
        };
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let endpoint = format!("http://{address}/events");
        let created: Value = http
            .post(text("configuration_endpoint"))
            .bearer_auth(token)
            .json(&json!({
                "delivery": { "method": vigil_sinks::ssf::stream::PUSH, "endpoint_url": endpoint },
                "description": "vigil demo receiver",
            }))
            .send()
            .await
            .map_err(|error| format!("create stream: {error}"))?
            .error_for_status()
            .map_err(|error| format!("create stream: {error}"))?
            .json()
            .await
            .map_err(|error| format!("create stream: {error}"))?;
        *lock(&shared.audience) = created["aud"].as_str().unwrap_or_default().to_string();
        let stream_id = created["stream_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        http.post(text("verification_endpoint"))
            .bearer_auth(token)
            .json(&json!({ "stream_id": stream_id, "state": shared.state }))
            .send()
            .await
            .map_err(|error| format!("verification: {error}"))?
            .error_for_status()
            .map_err(|error| format!("verification: {error}"))?;
        Ok(DemoReceiver {
            shared,
            endpoint,
            stream_id,
            view_url: format!("http://{address}/received"),
            jwks_uri,
        })
    }

    /// What it has seen so far.
    pub fn view<T>(&self, read: impl FnOnce(&View) -> T) -> T {
        read(&lock(&self.shared.view))
    }

    /// Prints each SET as it arrives from now on.
    pub fn announce(&self) {
        self.shared
            .announce
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A random opaque value (the verification `state`, the demo's bearer token): 256 bits.
pub fn uuid_like() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}
