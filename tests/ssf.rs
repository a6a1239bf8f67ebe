//! vigil as a Shared Signals transmitter over real loopback HTTP: receivers running as
//! their own tasks discover it, fetch the JWK Set through discovery, create push and poll
//! streams, and check every SET they get with the conformance suite's per-SET checks
//! (`common::set_checks`); decisions come from the real pipeline over simulated traffic.

mod common;

use common::receiver::{out_of_order, Got, PushEndpoint, Receiver};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vigil_ingest::file::FileSource;
use vigil_ingest::Format;
use vigil_pipeline::Pipeline;
use vigil_schemas::caep::{sets_for, CaepIdentity};
use vigil_schemas::{Action, Decision, Mode};
use vigil_server::{Server, ServerState};
use vigil_sinks::caep::Signer;
use vigil_sinks::ssf::config::{token_digest, EVENT_TYPES};
use vigil_sinks::ssf::{Outbox, Receiver as Allowed, Settings, SsfConfig, SsfOutput, Transmitter};
use vigil_sinks::Output;

const PUSH_TOKEN: &str = "push-receiver-token-0001";
const POLL_TOKEN: &str = "poll-receiver-token-0002";
const OTHER_TOKEN: &str = "other-receiver-token-0003";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn allowed(name: &str, token: &str, max_streams: usize) -> Allowed {
    Allowed {
        name: name.into(),
        token_sha256: token_digest(token),
        audience: format!("https://{name}.example.com"),
        events: EVENT_TYPES.iter().map(|(_, uri)| *uri).collect(),
        max_streams,
    }
}

/// vigil's pipeline and transmitter on a server bound to loopback.
struct Vigil {
    url: String,
    transmitter: Transmitter,
    pipeline: Pipeline,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn vigil(config: SsfConfig) -> Vigil {
    let server = Server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let url = server.url();
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sinks/tests/keys/test-rs256.pem"
    ))
    .unwrap();
    let settings = Settings {
        issuer: url.clone(),
        config,
        receivers: vec![
            allowed("push", PUSH_TOKEN, 1),
            allowed("poll", POLL_TOKEN, 1),
            allowed("other", OTHER_TOKEN, 1),
        ],
        subjects: CaepIdentity {
            issuer: url.clone(),
            audience: String::new(),
            subject_issuer: "https://idp.example.com/".into(),
            simple_subjects: false,
        },
        signer: Signer::from_pem(&pem, "vigil-test").unwrap(),
    };
    let transmitter = Transmitter::new(settings, Outbox::in_memory().unwrap()).unwrap();
    let (config, rules) = vigil::compose::load_rules(None, None).unwrap();
    let engine = vigil::compose::engine(&config, rules, None).unwrap();
    let outputs: Vec<Box<dyn Output>> = vec![Box::new(SsfOutput::new(transmitter.clone()))];
    let enricher = vigil_ingest::enrich::Enricher::open(&config.enrich).unwrap();
    let pipeline = Pipeline::new(
        engine,
        enricher,
        outputs,
        vigil::compose::options(&config, true),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    server.spawn(
        ServerState {
            telemetry: pipeline.telemetry(),
            handle: pipeline.handle(),
            ssf: Some(transmitter.clone()),
        },
        async move {
            let _ = stopped.await;
        },
    );
    Vigil {
        url,
        transmitter,
        pipeline,
        _stop: stop,
    }
}

/// Runs the pipeline over simulated traffic; the (subject, jti) of every SET its
/// decisions make, in the order made.
async fn judge(vigil: &mut Vigil, folder: &std::path::Path, seed: u64) -> Vec<(String, String)> {
    let (input, _) = common::simulated_input(folder, 60, 14, seed, 0.4);
    let mut source = FileSource::open(&input, Format::Native, 512).unwrap();
    let mut decisions: Vec<Decision> = Vec::new();
    vigil
        .pipeline
        .run(&mut source, std::future::pending(), |decision| {
            decisions.push(decision.clone())
        })
        .await
        .unwrap();
    let identity = CaepIdentity {
        issuer: String::new(),
        audience: String::new(),
        subject_issuer: String::new(),
        simple_subjects: false,
    };
    decisions
        .iter()
        .filter(|decision| decision.mode == Mode::Enforce && decision.action != Action::Alert)
        .flat_map(|decision| {
            sets_for(decision, &identity, 0)
                .into_iter()
                .map(|set| (decision.identity.clone(), set.jti))
        })
        .collect()
}

async fn until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

fn assert_conformant(got: &[Got]) {
    for one in got {
        assert!(
            one.failures.is_empty(),
            "SET {} fails the conformance checks: {:?}",
            one.jti(),
            one.failures
        );
    }
}

fn jtis(got: &[Got]) -> std::collections::BTreeSet<String> {
    got.iter()
        .filter(|one| one.event_type.contains("/caep/"))
        .map(Got::jti)
        .collect()
}

async fn push_receiver(url: &str) -> (Receiver, PushEndpoint, Value) {
    let receiver = Receiver::discover(url, PUSH_TOKEN).await;
    let audience = Arc::new(Mutex::new(String::new()));
    let endpoint = PushEndpoint::start(
        receiver.jwks.clone(),
        receiver.issuer(),
        audience.clone(),
        "Bearer push-endpoint-secret",
    )
    .await;
    let stream = receiver
        .create_push(&endpoint.url, "Bearer push-endpoint-secret")
        .await;
    *audience.lock().unwrap() = stream["aud"].as_str().unwrap().to_string();
    (receiver, endpoint, stream)
}

#[test]
fn push_and_poll_receivers_get_every_set_conformant_and_in_order() {
    runtime().block_on(async {
        let folder = tempfile::tempdir().unwrap();
        let mut vigil = vigil(SsfConfig::default()).await;
        let (push, endpoint, push_stream) = push_receiver(&vigil.url).await;
        let poller = Receiver::discover(&vigil.url, POLL_TOKEN).await;
        let poll_stream = poller.create_poll().await;
        assert_eq!(
            push.verify(push_stream["stream_id"].as_str().unwrap(), "push-state")
                .await,
            204
        );
        assert_eq!(
            poller
                .verify(poll_stream["stream_id"].as_str().unwrap(), "poll-state")
                .await,
            204
        );

        let expected = judge(&mut vigil, folder.path(), 11).await;
        assert!(
            expected.len() >= 10,
            "the simulation makes SETs: {}",
            expected.len()
        );
        let wanted: std::collections::BTreeSet<String> =
            expected.iter().map(|(_, jti)| jti.clone()).collect();

        // Push: every SET arrives.
        let arrived = until(Duration::from_secs(60), || jtis(&endpoint.got()) == wanted).await;
        let pushed = endpoint.got();
        assert!(
            arrived,
            "pushed {} of {} SETs",
            jtis(&pushed).len(),
            wanted.len()
        );
        assert_conformant(&pushed);
        assert_eq!(
            out_of_order(&pushed, &expected),
            None,
            "push keeps each subject's order"
        );
        assert!(
            endpoint.protocol_errors.lock().unwrap().is_empty(),
            "{:?}",
            endpoint.protocol_errors.lock().unwrap()
        );
        assert!(pushed.iter().any(|one| one.claims["events"]
            [common::set_checks::SSF_VERIFICATION]["state"]
            == "push-state"));

        // Poll: small pages, acknowledged in the next poll.
        let mut polled: Vec<Got> = Vec::new();
        let mut ack: Vec<String> = Vec::new();
        let started = Instant::now();
        loop {
            let (page, more) = poller.poll(&poll_stream, &ack, 7, true).await;
            ack = page.iter().map(Got::jti).collect();
            polled.extend(page);
            if !more && ack.is_empty() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "polling did not end"
            );
        }
        assert_conformant(&polled);
        assert_eq!(jtis(&polled), wanted);
        assert_eq!(
            polled.len(),
            wanted.len() + 1,
            "each SET once, and the verification event"
        );
        assert_eq!(
            out_of_order(&polled, &expected),
            None,
            "polls keep each subject's order"
        );
        assert!(polled.iter().any(|one| one.claims["events"]
            [common::set_checks::SSF_VERIFICATION]["state"]
            == "poll-state"));
        assert_eq!(vigil.transmitter.depth(), 0);

        // Metrics: what was queued was delivered, on /metrics.
        let (_, _, text) = raw(
            "GET",
            &format!("{}/metrics", vigil.url),
            None,
            None,
            Vec::new(),
        )
        .await;
        let text = text.as_str().unwrap_or_default().to_string();
        let push_id = push_stream["stream_id"].as_str().unwrap();
        let delivered = common::metric(
            &text,
            &format!("vigil_ssf_sets_delivered_total{{receiver=\"push\",stream=\"{push_id}\"}}"),
        );
        assert_eq!(delivered, (wanted.len() + 1) as f64, "{text}");
        assert!(
            text.contains("vigil_ssf_acknowledged_seconds_bucket{receiver=\"push\""),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "vigil_ssf_outbox_depth{{receiver=\"poll\",stream=\"{}\"}} 0",
                poll_stream["stream_id"].as_str().unwrap()
            )),
            "{text}"
        );
    });
}

#[test]
fn a_push_receiver_down_for_seconds_gets_every_set_in_order_when_back() {
    runtime().block_on(async {
        let folder = tempfile::tempdir().unwrap();
        let mut vigil = vigil(SsfConfig::default()).await;
        let (push, endpoint, stream) = push_receiver(&vigil.url).await;
        let id = stream["stream_id"].as_str().unwrap().to_string();
        endpoint.down.store(true, Ordering::SeqCst);
        let down_at = Instant::now();
        let expected = judge(&mut vigil, folder.path(), 12).await;
        let wanted: std::collections::BTreeSet<String> =
            expected.iter().map(|(_, jti)| jti.clone()).collect();
        // Down for 12 s: vigil retries with backoff and says so.
        tokio::time::sleep(Duration::from_secs(12).saturating_sub(down_at.elapsed())).await;
        assert!(endpoint.got().is_empty());
        let (status, body) = push
            .call(
                "GET",
                &format!("{}?stream_id={id}", push.endpoint("status_endpoint")),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["status"], "enabled");
        assert!(
            body["reason"]
                .as_str()
                .unwrap_or("")
                .contains("delivery failing"),
            "{body}"
        );
        assert_eq!(vigil.transmitter.depth(), wanted.len());
        endpoint.down.store(false, Ordering::SeqCst);
        let back = Instant::now();
        let arrived = until(Duration::from_secs(60), || jtis(&endpoint.got()) == wanted).await;
        assert!(
            arrived,
            "pushed {} of {} after the outage",
            jtis(&endpoint.got()).len(),
            wanted.len()
        );
        let pushed = endpoint.got();
        assert_conformant(&pushed);
        assert_eq!(out_of_order(&pushed, &expected), None);
        // Backoff doubles from 1 s: the receiver back after 12 s is retried within 16 s.
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "took {:?}",
            back.elapsed()
        );
        let (_, body) = push
            .call(
                "GET",
                &format!("{}?stream_id={id}", push.endpoint("status_endpoint")),
                None,
            )
            .await;
        assert!(body.get("reason").is_none(), "{body}");
    });
}

#[test]
fn paused_holds_disabled_drops_and_enable_delivers_over_http() {
    runtime().block_on(async {
        let folder = tempfile::tempdir().unwrap();
        let mut vigil = vigil(SsfConfig::default()).await;
        let (push, endpoint, stream) = push_receiver(&vigil.url).await;
        let id = stream["stream_id"].as_str().unwrap().to_string();
        let status_url = push.endpoint("status_endpoint");
        let (status, body) = push
            .call(
                "POST",
                &status_url,
                Some(json!({"stream_id": id, "status": "paused"})),
            )
            .await;
        assert_eq!((status, body["status"].clone()), (200, json!("paused")));
        let expected = judge(&mut vigil, folder.path(), 13).await;
        let wanted: std::collections::BTreeSet<String> =
            expected.iter().map(|(_, jti)| jti.clone()).collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            jtis(&endpoint.got()).is_empty(),
            "a paused stream delivers nothing"
        );
        assert_eq!(
            vigil.transmitter.depth(),
            wanted.len(),
            "and holds every SET"
        );
        push.call(
            "POST",
            &status_url,
            Some(json!({"stream_id": id, "status": "enabled"})),
        )
        .await;
        assert!(until(Duration::from_secs(30), || jtis(&endpoint.got()) == wanted).await);
        assert_eq!(out_of_order(&endpoint.got(), &expected), None);
        let updates: Vec<String> = endpoint
            .got()
            .iter()
            .filter(|one| one.event_type == common::set_checks::SSF_STREAM_UPDATED)
            .map(|one| {
                one.claims["events"][common::set_checks::SSF_STREAM_UPDATED]["status"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(updates, vec!["paused", "enabled"]);
        assert_conformant(&endpoint.got());
        // Disabled: new decisions are dropped.
        push.call(
            "POST",
            &status_url,
            Some(json!({"stream_id": id, "status": "disabled"})),
        )
        .await;
        let before = jtis(&endpoint.got()).len();
        let folder2 = tempfile::tempdir().unwrap();
        let more = judge(&mut vigil, folder2.path(), 14).await;
        assert!(!more.is_empty());
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(jtis(&endpoint.got()).len(), before);
        assert_eq!(vigil.transmitter.depth(), 0);
    });
}

/// A raw request: status, headers, body.
async fn raw(
    method: &str,
    url: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut request = client.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.body(body).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    // JSON, or the text itself (the metrics).
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

#[test]
fn receivers_reach_only_their_own_streams_and_bad_requests_get_json_errors() {
    runtime().block_on(async {
        let vigil = vigil(SsfConfig::default()).await;
        let poll = Receiver::discover(&vigil.url, POLL_TOKEN).await;
        let stream = poll.create_poll().await;
        let id = stream["stream_id"].as_str().unwrap();
        let streams = poll.endpoint("configuration_endpoint");
        let other = Receiver::discover(&vigil.url, OTHER_TOKEN).await;
        // Another receiver: 404 everywhere, as if the stream did not exist.
        let with_id = format!("{streams}?stream_id={id}");
        assert_eq!(other.call("GET", &with_id, None).await.0, 404);
        assert_eq!(other.call("GET", &streams, None).await, (200, json!([])));
        assert_eq!(other.call("PATCH", &streams, Some(json!({"stream_id": id, "description": "x"}))).await.0, 404);
        assert_eq!(other.call("PUT", &streams, Some(json!({"stream_id": id}))).await.0, 404);
        assert_eq!(other.call("DELETE", &with_id, None).await.0, 404);
        assert_eq!(other.call("GET", &format!("{}?stream_id={id}", other.endpoint("status_endpoint")), None).await.0, 404);
        assert_eq!(other.call("POST", &other.endpoint("status_endpoint"), Some(json!({"stream_id": id, "status": "paused"}))).await.0, 404);
        assert_eq!(other.call("POST", &other.endpoint("add_subject_endpoint"), Some(json!({"stream_id": id, "subject": {"format": "email", "email": "a@b.c"}}))).await.0, 404);
        assert_eq!(other.call("POST", &other.endpoint("remove_subject_endpoint"), Some(json!({"stream_id": id, "subject": {"format": "email", "email": "a@b.c"}}))).await.0, 404);
        assert_eq!(other.call("POST", &other.endpoint("verification_endpoint"), Some(json!({"stream_id": id}))).await.0, 404);
        assert_eq!(other.call("POST", stream["delivery"]["endpoint_url"].as_str().unwrap(), Some(json!({}))).await.0, 404);
        // The owner: subjects, status, verification with its interval, the stream limit.
        assert_eq!(poll.call("POST", &poll.endpoint("add_subject_endpoint"), Some(json!({"stream_id": id, "subject": {"format": "email", "email": "a@b.c"}, "verified": true}))).await, (200, Value::Null));
        assert_eq!(poll.call("POST", &poll.endpoint("remove_subject_endpoint"), Some(json!({"stream_id": id, "subject": {"format": "email", "email": "a@b.c"}}))).await, (204, Value::Null));
        assert_eq!(poll.verify(id, "one").await, 204);
        let (status, headers, body) = raw("POST", &poll.endpoint("verification_endpoint"), Some(POLL_TOKEN), Some("application/json"), json!({"stream_id": id}).to_string().into_bytes()).await;
        assert_eq!(status, 429, "{body}");
        assert!(headers.get("retry-after").is_some());
        assert!(body["error"].is_string());
        assert_eq!(poll.call("POST", &streams, Some(json!({}))).await.0, 409);

        // Authentication: 401 with WWW-Authenticate, never echoing the token.
        for token in [None, Some("not-a-known-token-000000")] {
            let (status, headers, body) = raw("GET", &streams, token, None, Vec::new()).await;
            assert_eq!(status, 401);
            assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
            assert!(!body.to_string().contains("not-a-known-token"), "{body}");
        }
        // Bodies: JSON only, known members only, bounded.
        let bad = [
            (Some("application/json"), b"{not json".to_vec(), 400),
            (Some("application/json"), br#"{"delivery": {"method": "urn:ietf:rfc:8936"}, "surprise": 1}"#.to_vec(), 400),
            (Some("application/json"), br#"{"delivery": {"method": "urn:example:carrier-pigeon"}}"#.to_vec(), 400),
            (Some("application/json"), br#"{"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "http://receiver.example.com/e"}}"#.to_vec(), 400),
            (Some("text/plain"), b"{}".to_vec(), 415),
            (None, b"{}".to_vec(), 415),
            (Some("application/json"), vec![b' '; 200_000], 413),
        ];
        for (content_type, body, want) in bad {
            let (status, _, answer) = raw("POST", &streams, Some(OTHER_TOKEN), content_type, body).await;
            assert_eq!(status, want, "{answer}");
            assert!(answer["error"].as_str().is_some_and(|error| !error.is_empty()), "a JSON error: {answer}");
        }
        let (status, _, answer) = raw("GET", &format!("{streams}?stream_id={id}&extra=1"), Some(POLL_TOKEN), None, Vec::new()).await;
        assert_eq!((status, answer["error"].is_string()), (400, true));
        let (status, _, _) = raw("DELETE", &streams, Some(POLL_TOKEN), None, Vec::new()).await;
        assert_eq!(status, 400, "DELETE needs stream_id");
        // Discovery and the JWK Set need no token.
        let (status, _, discovery) = raw("GET", &format!("{}/.well-known/ssf-configuration", vigil.url), None, None, Vec::new()).await;
        assert_eq!(status, 200);
        for member in ["issuer", "jwks_uri", "configuration_endpoint", "status_endpoint", "add_subject_endpoint", "remove_subject_endpoint", "verification_endpoint"] {
            assert!(discovery[member].as_str().is_some_and(|url| url.starts_with(&vigil.url)), "{member}: {discovery}");
        }
        assert_eq!(discovery["spec_version"], "1_0");
        assert_eq!(discovery["delivery_methods_supported"], json!(["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"]));
        assert!(discovery["authorization_schemes"].as_array().unwrap().iter().any(|scheme| scheme["spec_urn"] == "urn:ietf:rfc:6749"));
        assert_eq!(discovery["default_subjects"], "ALL");
        let (status, headers, jwks) = raw("GET", discovery["jwks_uri"].as_str().unwrap(), None, None, Vec::new()).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "application/jwk-set+json");
        assert_eq!(jwks["keys"][0]["alg"], "RS256");
        // Delete: gone for the owner too.
        assert_eq!(poll.call("DELETE", &with_id, None).await, (204, Value::Null));
        assert_eq!(poll.call("GET", &with_id, None).await.0, 404);
    });
}

#[test]
fn a_receiver_answering_401_is_paused_and_403_disabled() {
    runtime().block_on(async {
        let folder = tempfile::tempdir().unwrap();
        let mut vigil = vigil(SsfConfig::default()).await;
        let (push, endpoint, stream) = push_receiver(&vigil.url).await;
        let id = stream["stream_id"].as_str().unwrap().to_string();
        let status_url = format!("{}?stream_id={id}", push.endpoint("status_endpoint"));
        endpoint.answer.store(401, Ordering::SeqCst);
        let first_push = Instant::now();
        let expected = judge(&mut vigil, folder.path(), 15).await;
        assert!(!expected.is_empty());
        // Three 401s (after 1 s and 2 s of backoff) pause the stream, SETs held.
        let started = Instant::now();
        let body = loop {
            let (_, body) = push.call("GET", &status_url, None).await;
            if body["status"] == "paused" || started.elapsed() > Duration::from_secs(20) {
                break body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(body["status"], "paused", "{body}");
        assert!(
            first_push.elapsed() >= Duration::from_secs(2),
            "paused after retries, not at once"
        );
        assert!(body["reason"].as_str().unwrap().contains("401"), "{body}");
        assert!(vigil.transmitter.depth() >= expected.len());
        // 403: disabled, the held SETs dropped.
        endpoint.answer.store(403, Ordering::SeqCst);
        push.call(
            "POST",
            &push.endpoint("status_endpoint"),
            Some(json!({"stream_id": id, "status": "enabled"})),
        )
        .await;
        assert!(
            until(Duration::from_secs(20), || vigil.transmitter.depth() == 0).await,
            "depth {}",
            vigil.transmitter.depth()
        );
        let (_, body) = push.call("GET", &status_url, None).await;
        assert_eq!(body["status"], "disabled", "{body}");
        assert!(body["reason"].as_str().unwrap().contains("403"), "{body}");
    });
}
