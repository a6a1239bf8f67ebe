//! `ssf/push` and `ssf/latency`: the Shared Signals transmitter pushing SETs (RFC 8935) to
//! a receiver on loopback that answers 202 at once, with its outbox in a redb file.
//!
//! - `ssf/push`: N SETs for many subjects are signed and appended to the outbox, then the
//!   push rate is the SETs acknowledged per second from the first POST to the last 202
//!   (delivery alone), for RS256 (the CAEP interoperability profile) and ES256; the
//!   signing-and-append rate is reported beside it.
//! - `ssf/latency`: one decision every 10 ms (100 SETs/s) goes to the transmitter as the
//!   pipeline's output would hand it (sign, durable append, push); the time from handing
//!   the decision over to the receiver's 202 is measured per SET: p50, p99, max.
//!
//! Run: `cargo bench --bench ssf` (`VIGIL_BENCH_SETS` and `VIGIL_BENCH_SECONDS` change the
//! push count and the latency run's length).

mod common;
use common::env_or;

use base64::Engine as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vigil_schemas::caep::CaepIdentity;
use vigil_schemas::{Action, Decision, Mode, Origin, Reason, Risk, RiskLevel, Timestamp};
use vigil_sinks::caep::Signer;
use vigil_sinks::ssf::config::{token_digest, EVENT_TYPES};
use vigil_sinks::ssf::{Outbox, Receiver, Settings, SsfConfig, StreamRequest, Transmitter};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOKEN: &str = "bench-receiver-token-0001";

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// A receiver that notes when each SET arrived and answers 202.
async fn receiver(arrivals: Arrivals) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move |body: String| {
            let arrivals = arrivals.clone();
            async move {
                let now = Instant::now();
                let claims = body
                    .split('.')
                    .nth(1)
                    .and_then(|part| {
                        base64::engine::general_purpose::URL_SAFE_NO_PAD
                            .decode(part)
                            .ok()
                    })
                    .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
                    .unwrap_or_default();
                if let Some(jti) = claims["jti"].as_str() {
                    arrivals.lock().unwrap().insert(jti.to_string(), now);
                }
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn transmitter(folder: &std::path::Path, key: &str) -> Transmitter {
    let pem = std::fs::read_to_string(format!(
        "{}/sinks/tests/keys/{key}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let settings = Settings {
        issuer: "http://127.0.0.1:9464".into(),
        config: SsfConfig::default(),
        receivers: vec![Receiver {
            name: "bench".into(),
            token_sha256: token_digest(TOKEN),
            audience: "https://receiver.example.com".into(),
            events: EVENT_TYPES.iter().map(|(_, uri)| *uri).collect(),
            max_streams: 1,
        }],
        subjects: CaepIdentity {
            issuer: String::new(),
            audience: String::new(),
            subject_issuer: "https://idp.example.com/".into(),
            simple_subjects: false,
        },
        signer: Signer::from_pem(&pem, "bench").unwrap(),
    };
    let outbox = Outbox::open(&folder.join("ssf.redb")).unwrap();
    Transmitter::new(settings, outbox).unwrap()
}

fn revoke(n: u64, subjects: u64) -> Decision {
    Decision {
        id: format!("00000000-0000-5000-8000-{n:012}"),
        time: Timestamp::now(),
        decided_at: Timestamp::now(),
        identity: format!("user{:05}@example.com", n % subjects),
        session_id: Some(format!("s-{n}")),
        device_id: Some(format!("d-{}", n % subjects)),
        action: Action::RevokeSession,
        mode: Mode::Enforce,
        risk: Risk {
            score: 99.0,
            level: RiskLevel::High,
        },
        reasons: vec![Reason {
            detector: vigil_schemas::Detector::ImpossibleTravel,
            score: 100.0,
            detail: "6,385 km in 47 min".into(),
        }],
        rule: "revoke-impossible-travel".into(),
        assurance_level: None,
        trigger: Origin::File {
            file: "bench".into(),
            line: n,
        },
    }
}

fn push_stream(transmitter: &Transmitter, url: &str) {
    let caller = transmitter
        .authenticate(Some(&format!("Bearer {TOKEN}")))
        .unwrap();
    let request: StreamRequest = serde_json::from_value(serde_json::json!({
        "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": url}
    }))
    .unwrap();
    transmitter.create(caller, request).unwrap();
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// `ssf/push` for one key: signing-and-append rate, then push rate.
async fn push(key: &str, algorithm: &str, sets: u64) {
    let folder = tempfile::tempdir().unwrap();
    let arrivals: Arrivals = Arc::default();
    let url = receiver(arrivals.clone()).await;
    let transmitter = transmitter(folder.path(), key);
    // The receiver is not pushed to until the outbox is full: the stream is created with
    // its delivery paused, then enabled.
    push_stream(&transmitter, &url);
    let caller = transmitter
        .authenticate(Some(&format!("Bearer {TOKEN}")))
        .unwrap();
    let id = transmitter.read(caller, None).unwrap()[0]["stream_id"]
        .as_str()
        .unwrap()
        .to_string();
    let status = |status: &str| -> vigil_sinks::ssf::StatusRequest {
        serde_json::from_value(serde_json::json!({"stream_id": id, "status": status})).unwrap()
    };
    transmitter.set_status(caller, status("paused")).unwrap();
    let decisions: Vec<Decision> = (0..sets).map(|n| revoke(n, 5_000)).collect();
    let started = Instant::now();
    for batch in decisions.chunks(1024) {
        transmitter.enqueue(batch).unwrap();
    }
    let enqueue_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    transmitter.set_status(caller, status("enabled")).unwrap();
    while transmitter.depth() > 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let push_seconds = started.elapsed().as_secs_f64();
    let delivered = arrivals.lock().unwrap().len() as f64;
    println!(
        "ssf/push {algorithm}: {sets} SETs to 5,000 subjects; signed and appended durably at {:.0} SETs/s; pushed at {:.0} SETs/s ({delivered} acknowledged in {push_seconds:.2} s)",
        sets as f64 / enqueue_seconds,
        delivered / push_seconds,
    );
}

/// `ssf/latency`: 100 SETs/s, decision handed over to receiver's 202.
async fn latency(seconds: u64) {
    let folder = tempfile::tempdir().unwrap();
    let arrivals: Arrivals = Arc::default();
    let url = receiver(arrivals.clone()).await;
    let transmitter = transmitter(folder.path(), "test-rs256.pem");
    push_stream(&transmitter, &url);
    let mut handed: HashMap<String, Instant> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let count = seconds * 100;
    for n in 0..count {
        tick.tick().await;
        let decision = revoke(n, 1_000);
        handed.insert(decision.id.clone(), Instant::now());
        let writing = transmitter.clone();
        tokio::task::spawn_blocking(move || writing.enqueue(&[decision]).unwrap())
            .await
            .unwrap();
    }
    while transmitter.depth() > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let arrivals = arrivals.lock().unwrap();
    let mut millis: Vec<f64> = handed
        .iter()
        .filter_map(|(jti, at)| Some(arrivals.get(jti)?.duration_since(*at).as_secs_f64() * 1e3))
        .collect();
    millis.sort_by(f64::total_cmp);
    println!(
        "ssf/latency RS256: {} SETs at 100/s, decision handed over to the receiver's 202: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        millis.len(),
        percentile(&millis, 50.0),
        percentile(&millis, 99.0),
        millis.last().copied().unwrap_or(f64::NAN),
    );
}

fn main() {
    let sets = env_or("VIGIL_BENCH_SETS", 20_000) as u64;
    let seconds = env_or("VIGIL_BENCH_SECONDS", 20) as u64;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        push("test-es256.pem", "ES256", sets).await;
        push("test-rs256.pem", "RS256", sets).await;
        latency(seconds).await;
    });
}
