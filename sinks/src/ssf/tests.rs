//! The transmitter without HTTP in front: management, poll, status, restart, and push to a
//! receiver on loopback.

use super::*;
use crate::caep::verify;
use std::sync::atomic::AtomicBool;
use vigil_schemas::{Origin, Reason, Risk, RiskLevel};

const TOKEN_A: &str = "receiver-a-token-0001";
const TOKEN_B: &str = "receiver-b-token-0002";

fn key(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn settings(config: SsfConfig, kid: &str) -> Settings {
    let receiver = |name: &str, token: &str| Receiver {
        name: name.into(),
        token_sha256: config::token_digest(token),
        audience: format!("https://{name}.example.com"),
        events: config::EVENT_TYPES.iter().map(|(_, uri)| *uri).collect(),
        max_streams: 2,
    };
    Settings {
        issuer: "http://127.0.0.1:9464".into(),
        config,
        receivers: vec![receiver("a", TOKEN_A), receiver("b", TOKEN_B)],
        subjects: CaepIdentity {
            issuer: String::new(),
            audience: String::new(),
            subject_issuer: "https://idp.example.com/".into(),
            simple_subjects: false,
        },
        signer: Signer::from_pem(&key("test-rs256.pem"), kid).unwrap(),
    }
}

fn transmitter(config: SsfConfig) -> Transmitter {
    Transmitter::new(settings(config, "k1"), Outbox::in_memory().unwrap()).unwrap()
}

fn caller(transmitter: &Transmitter, token: &str) -> Caller {
    transmitter
        .authenticate(Some(&format!("Bearer {token}")))
        .unwrap()
}

fn revoke(identity: &str, n: u64) -> vigil_schemas::Decision {
    vigil_schemas::Decision {
        id: format!("00000000-0000-5000-8000-{n:012}"),
        time: Timestamp::from_secs(1_772_440_020),
        decided_at: Timestamp::now(),
        identity: identity.into(),
        session_id: Some(format!("s-{n}")),
        device_id: None,
        action: vigil_schemas::Action::RevokeSession,
        mode: vigil_schemas::Mode::Enforce,
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
            file: "x".into(),
            line: n,
        },
    }
}

fn poll_stream(transmitter: &Transmitter, who: Caller) -> String {
    transmitter.create(who, StreamRequest::default()).unwrap()["stream_id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn poll(
    transmitter: &Transmitter,
    who: Caller,
    id: &str,
    request: serde_json::Value,
) -> Value {
    let request: PollRequest = serde_json::from_value(request).unwrap();
    let text = transmitter.poll(who, id, request).await.unwrap();
    let mut body: Value = serde_json::from_str(&text).unwrap();
    // The order of the SETs in the document (JSON objects here sort their keys).
    let mut order: Vec<(usize, String)> = body["sets"]
        .as_object()
        .unwrap()
        .keys()
        .map(|jti| (text.find(&format!("\"{jti}\":")).unwrap(), jti.clone()))
        .collect();
    order.sort();
    body["order"] = json!(order.into_iter().map(|(_, jti)| jti).collect::<Vec<_>>());
    body
}

/// The jtis of a poll's SETs, in document order.
fn jtis(body: &Value) -> Vec<String> {
    serde_json::from_value(body["order"].clone()).unwrap()
}

/// The claims of a poll's SETs, in document order, verified.
fn claims(transmitter: &Transmitter, body: &Value) -> Vec<Value> {
    jtis(body)
        .iter()
        .map(|jti| verify(body["sets"][jti].as_str().unwrap(), &transmitter.jwks()).unwrap())
        .collect()
}

#[test]
fn tokens_authenticate_their_receiver_only() {
    let transmitter = transmitter(SsfConfig::default());
    assert_eq!(
        transmitter.receiver_name(caller(&transmitter, TOKEN_A)),
        "a"
    );
    assert_eq!(
        transmitter.receiver_name(caller(&transmitter, TOKEN_B)),
        "b"
    );
    for bad in [
        None,
        Some("Bearer wrong-token-000000000"),
        Some(TOKEN_A),
        Some("Basic abc"),
    ] {
        let error = transmitter.authenticate(bad).unwrap_err();
        assert_eq!(error.status, 401);
        assert!(!error.message.contains(TOKEN_A));
    }
    assert_eq!(
        transmitter.receiver_name(
            transmitter
                .authenticate(Some(&format!("bearer {TOKEN_A}")))
                .unwrap()
        ),
        "a"
    );
}

#[test]
fn streams_are_created_read_updated_replaced_and_deleted_by_their_receiver_only() {
    let transmitter = transmitter(SsfConfig::default());
    let (a, b) = (caller(&transmitter, TOKEN_A), caller(&transmitter, TOKEN_B));
    let created = transmitter
        .create(
            a,
            serde_json::from_value(json!({
                "delivery": {"method": stream::PUSH, "endpoint_url": "https://a.example.com/events", "authorization_header": "Bearer r"},
                "events_requested": [config::EVENT_TYPES[0].1, "urn:example:unknown"],
                "description": "a's stream"
            }))
            .unwrap(),
        )
        .unwrap();
    let id = created["stream_id"].as_str().unwrap().to_string();
    assert_eq!(created["iss"], "http://127.0.0.1:9464");
    assert_eq!(created["aud"], "https://a.example.com");
    assert_eq!(
        created["events_delivered"],
        json!([config::EVENT_TYPES[0].1])
    );
    assert_eq!(created["events_supported"].as_array().unwrap().len(), 4);
    assert_eq!(created["delivery"]["method"], stream::PUSH);
    // The other receiver sees nothing of it.
    assert_eq!(transmitter.read(b, Some(&id)).unwrap_err().status, 404);
    assert_eq!(transmitter.read(b, None).unwrap(), json!([]));
    assert_eq!(transmitter.status(b, &id).unwrap_err().status, 404);
    assert_eq!(transmitter.delete(b, &id).unwrap_err().status, 404);
    let update = |body: Value| serde_json::from_value::<StreamRequest>(body).unwrap();
    assert_eq!(
        transmitter
            .update(
                b,
                update(json!({"stream_id": id, "description": "mine"})),
                false
            )
            .unwrap_err()
            .status,
        404
    );
    // PATCH changes what is given; PUT removes what is missing.
    let patched = transmitter
        .update(
            a,
            update(json!({"stream_id": id, "description": "renamed"})),
            false,
        )
        .unwrap();
    assert_eq!(patched["description"], "renamed");
    assert_eq!(
        patched["delivery"]["endpoint_url"],
        "https://a.example.com/events"
    );
    let replaced = transmitter
        .update(
            a,
            update(json!({"stream_id": id, "delivery": {"method": stream::POLL}})),
            true,
        )
        .unwrap();
    assert!(replaced.get("description").is_none());
    assert_eq!(
        replaced["delivery"]["endpoint_url"],
        format!("http://127.0.0.1:9464/ssf/poll/{id}")
    );
    assert_eq!(replaced["events_delivered"].as_array().unwrap().len(), 4);
    // Transmitter-supplied members must match.
    let error = transmitter
        .update(
            a,
            update(json!({"stream_id": id, "iss": "https://evil.example.com"})),
            false,
        )
        .unwrap_err();
    assert_eq!(error.status, 400);
    assert!(error.message.contains("`iss`"));
    transmitter
        .update(a, update(json!({"stream_id": id, "aud": "https://a.example.com", "events_delivered": replaced["events_delivered"]})), false)
        .unwrap();
    // The limit of streams is a conflict.
    poll_stream(&transmitter, a);
    assert_eq!(
        transmitter
            .create(a, StreamRequest::default())
            .unwrap_err()
            .status,
        409
    );
    assert_eq!(
        transmitter.read(a, None).unwrap().as_array().unwrap().len(),
        2
    );
    transmitter.delete(a, &id).unwrap();
    assert_eq!(transmitter.read(a, Some(&id)).unwrap_err().status, 404);
}

#[test]
fn plain_http_push_to_a_remote_host_is_refused() {
    let transmitter = transmitter(SsfConfig::default());
    let a = caller(&transmitter, TOKEN_A);
    let error = transmitter
        .create(
            a,
            serde_json::from_value(json!({"delivery": {"method": stream::PUSH, "endpoint_url": "http://receiver.example.com/events"}})).unwrap(),
        )
        .unwrap_err();
    assert_eq!(error.status, 400);
    assert!(error.message.contains("loopback"));
}

#[tokio::test]
async fn polls_return_sets_in_order_and_acknowledged_ones_leave_the_outbox() {
    let transmitter = transmitter(SsfConfig::default());
    let a = caller(&transmitter, TOKEN_A);
    let id = poll_stream(&transmitter, a);
    let decisions: Vec<_> = (1..=5).map(|n| revoke("alice@example.com", n)).collect();
    assert_eq!(transmitter.enqueue(&decisions).unwrap(), 5);
    let body = poll(
        &transmitter,
        a,
        &id,
        json!({"maxEvents": 3, "returnImmediately": true}),
    )
    .await;
    let first = jtis(&body);
    assert_eq!(
        first,
        decisions[..3]
            .iter()
            .map(|d| d.id.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(body["moreAvailable"], true);
    let jwks = transmitter.jwks();
    for (jti, token) in body["sets"].as_object().unwrap() {
        let claims = verify(token.as_str().unwrap(), &jwks).unwrap();
        assert_eq!(&claims["jti"], jti);
        assert_eq!(claims["aud"], "https://a.example.com");
        assert_eq!(claims["iss"], "http://127.0.0.1:9464");
    }
    // Unacknowledged SETs come again; acknowledged ones do not.
    let body = poll(
        &transmitter,
        a,
        &id,
        json!({"ack": first[..2], "returnImmediately": true}),
    )
    .await;
    assert_eq!(jtis(&body).len(), 3);
    assert_eq!(jtis(&body)[0], decisions[2].id);
    assert_eq!(transmitter.depth(), 3);
    let body = poll(
        &transmitter,
        a,
        &id,
        json!({"ack": jtis(&body), "maxEvents": 0}),
    )
    .await;
    assert!(jtis(&body).is_empty());
    assert_eq!(transmitter.depth(), 0);
    assert_eq!(
        transmitter.metric(names::DELIVERED, &[("stream", &id)]),
        5.0
    );
    // The other receiver cannot poll it.
    let b = caller(&transmitter, TOKEN_B);
    let error = transmitter
        .poll(b, &id, PollRequest::default())
        .await
        .unwrap_err();
    assert_eq!(error.status, 404);
}

#[tokio::test]
async fn a_long_poll_waits_for_the_next_set() {
    let transmitter = transmitter(SsfConfig {
        poll_wait_seconds: 20,
        ..SsfConfig::default()
    });
    let a = caller(&transmitter, TOKEN_A);
    let id = poll_stream(&transmitter, a);
    let started = Instant::now();
    let waiting = {
        let transmitter = transmitter.clone();
        let id = id.clone();
        tokio::spawn(async move { poll(&transmitter, a, &id, json!({})).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "a long poll answered before any SET"
    );
    transmitter
        .enqueue(&[revoke("bob@example.com", 9)])
        .unwrap();
    let body = waiting.await.unwrap();
    assert_eq!(jtis(&body), vec![revoke("bob@example.com", 9).id]);
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[tokio::test]
async fn paused_holds_disabled_drops_and_status_changes_are_announced() {
    let transmitter = transmitter(SsfConfig::default());
    let a = caller(&transmitter, TOKEN_A);
    let id = poll_stream(&transmitter, a);
    let status = |status: &str| -> StatusRequest {
        serde_json::from_value(json!({"stream_id": id, "status": status, "reason": "maintenance"}))
            .unwrap()
    };
    let view = transmitter.set_status(a, status("paused")).unwrap();
    assert_eq!(
        view,
        json!({"stream_id": id, "status": "paused", "reason": "maintenance"})
    );
    transmitter
        .enqueue(&[revoke("carol@example.com", 1)])
        .unwrap();
    // Held: only the stream-updated event comes.
    let body = poll(&transmitter, a, &id, json!({"returnImmediately": true})).await;
    let sets = claims(&transmitter, &body);
    assert_eq!(sets.len(), 1);
    assert_eq!(
        sets[0]["events"][stream::STREAM_UPDATED]["status"],
        "paused"
    );
    assert_eq!(sets[0]["sub_id"], json!({"format": "opaque", "id": id}));
    let body = poll(
        &transmitter,
        a,
        &id,
        json!({"ack": jtis(&body), "returnImmediately": true}),
    )
    .await;
    assert!(jtis(&body).is_empty());
    // Enabled: the held SET comes, after the announcement.
    transmitter.set_status(a, status("enabled")).unwrap();
    let body = poll(&transmitter, a, &id, json!({"returnImmediately": true})).await;
    let ids = jtis(&body);
    assert_eq!(ids.len(), 2);
    assert_eq!(
        ids[0],
        revoke("carol@example.com", 1).id,
        "held SET, queued first"
    );
    poll(&transmitter, a, &id, json!({"ack": ids, "maxEvents": 0})).await;
    // Disabled: dropped, and nothing new is queued.
    transmitter.set_status(a, status("paused")).unwrap();
    transmitter
        .enqueue(&[revoke("carol@example.com", 2)])
        .unwrap();
    transmitter.set_status(a, status("disabled")).unwrap();
    transmitter
        .enqueue(&[revoke("carol@example.com", 3)])
        .unwrap();
    transmitter.set_status(a, status("enabled")).unwrap();
    let body = poll(&transmitter, a, &id, json!({"returnImmediately": true})).await;
    let kinds: Vec<Value> = claims(&transmitter, &body)
        .iter()
        .map(|set| set["events"][stream::STREAM_UPDATED]["status"].clone())
        .collect();
    assert_eq!(
        kinds,
        vec![json!("paused"), json!("disabled"), json!("enabled")]
    );
    assert_eq!(transmitter.metric(names::FAILED, &[("stream", &id)]), 1.0);
}

#[tokio::test]
async fn verification_echoes_the_state_at_most_once_per_interval() {
    let transmitter = transmitter(SsfConfig::default());
    let a = caller(&transmitter, TOKEN_A);
    let id = poll_stream(&transmitter, a);
    let request = |state: &str| -> VerifyRequest {
        serde_json::from_value(json!({"stream_id": id, "state": state})).unwrap()
    };
    transmitter.verify(a, request("s-1")).unwrap();
    let error = transmitter.verify(a, request("s-2")).unwrap_err();
    assert_eq!(error.status, 429);
    assert!(error
        .retry_after
        .is_some_and(|seconds| (1..=5).contains(&seconds)));
    let b = caller(&transmitter, TOKEN_B);
    assert_eq!(
        transmitter.verify(b, request("s-3")).unwrap_err().status,
        404
    );
    let body = poll(&transmitter, a, &id, json!({"returnImmediately": true})).await;
    let token = body["sets"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .as_str()
        .unwrap();
    let claims = verify(token, &transmitter.jwks()).unwrap();
    assert_eq!(claims["events"][stream::VERIFICATION]["state"], "s-1");
    assert_eq!(claims["sub_id"], json!({"format": "opaque", "id": id}));
}

#[tokio::test]
async fn subjects_removed_or_not_added_get_no_sets() {
    let transmitter = transmitter(SsfConfig::default());
    let a = caller(&transmitter, TOKEN_A);
    let id = poll_stream(&transmitter, a);
    let subject = |email: &str| -> SubjectRequest {
        serde_json::from_value(
            json!({"stream_id": id, "subject": {"format": "email", "email": email}}),
        )
        .unwrap()
    };
    transmitter
        .remove_subject(a, subject("alice@example.com"))
        .unwrap();
    assert_eq!(
        transmitter
            .enqueue(&[revoke("alice@example.com", 1), revoke("bob@example.com", 2)])
            .unwrap(),
        1
    );
    transmitter
        .add_subject(a, subject("alice@example.com"))
        .unwrap();
    assert_eq!(
        transmitter
            .enqueue(&[revoke("alice@example.com", 3)])
            .unwrap(),
        1
    );
    let bad: SubjectRequest =
        serde_json::from_value(json!({"stream_id": id, "subject": {"email": "x"}})).unwrap();
    assert_eq!(transmitter.add_subject(a, bad).unwrap_err().status, 400);
    let none = super::tests::transmitter(SsfConfig {
        default_subjects: DefaultSubjects::None,
        ..SsfConfig::default()
    });
    let a = caller(&none, TOKEN_A);
    let id = poll_stream(&none, a);
    assert_eq!(none.enqueue(&[revoke("alice@example.com", 1)]).unwrap(), 0);
    none.add_subject(
        a,
        serde_json::from_value(json!({"stream_id": id, "subject": {"format": "email", "email": "alice@example.com"}, "verified": true})).unwrap(),
    )
    .unwrap();
    assert_eq!(none.enqueue(&[revoke("alice@example.com", 2)]).unwrap(), 1);
}

#[tokio::test]
async fn a_restart_keeps_streams_and_pending_sets_and_publishes_the_old_key_while_they_wait() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join(outbox::FILE);
    let id = {
        let transmitter = Transmitter::new(
            settings(SsfConfig::default(), "old"),
            Outbox::open(&path).unwrap(),
        )
        .unwrap();
        let a = caller(&transmitter, TOKEN_A);
        let id = poll_stream(&transmitter, a);
        transmitter
            .enqueue(&[revoke("alice@example.com", 1), revoke("bob@example.com", 2)])
            .unwrap();
        id
    };
    // The key rotates: SETs signed with the old one are still pending.
    let transmitter = Transmitter::new(
        settings(SsfConfig::default(), "new"),
        Outbox::open(&path).unwrap(),
    )
    .unwrap();
    let kids = |transmitter: &Transmitter| -> Vec<String> {
        transmitter.jwks()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["kid"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(kids(&transmitter), vec!["new", "old"]);
    let a = caller(&transmitter, TOKEN_A);
    let body = poll(&transmitter, a, &id, json!({"returnImmediately": true})).await;
    assert_eq!(jtis(&body).len(), 2);
    for token in body["sets"].as_object().unwrap().values() {
        verify(token.as_str().unwrap(), &transmitter.jwks()).unwrap();
    }
    poll(
        &transmitter,
        a,
        &id,
        json!({"ack": jtis(&body), "maxEvents": 0}),
    )
    .await;
    assert_eq!(kids(&transmitter), vec!["new"]);
}

/// A push receiver on loopback: records each SET's jti, answers `status` while `up`.
async fn receiver(up: Arc<AtomicBool>, got: Arc<Mutex<Vec<(String, String)>>>) -> String {
    use axum::http::StatusCode;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let jwks = Arc::new(Mutex::new(Value::Null));
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let (up, got, _jwks) = (up.clone(), got.clone(), jwks.clone());
            async move {
                if !up.load(Ordering::SeqCst) {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                assert_eq!(headers["content-type"], "application/secevent+jwt");
                assert_eq!(headers["authorization"], "Bearer receiver-secret");
                let claims: Value = {
                    let part = body.split('.').nth(1).unwrap();
                    use base64::Engine as _;
                    serde_json::from_slice(
                        &base64::engine::general_purpose::URL_SAFE_NO_PAD
                            .decode(part)
                            .unwrap(),
                    )
                    .unwrap()
                };
                let user = claims["sub_id"]["user"]["email"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                got.lock()
                    .unwrap()
                    .push((user, claims["jti"].as_str().unwrap().to_string()));
                StatusCode::ACCEPTED
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/events")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_delivers_in_order_per_subject_across_a_receiver_outage() {
    let up = Arc::new(AtomicBool::new(false));
    let got = Arc::new(Mutex::new(Vec::new()));
    let url = receiver(up.clone(), got.clone()).await;
    let transmitter = transmitter(SsfConfig::default());
    let a = caller(&transmitter, TOKEN_A);
    let created = transmitter
        .create(
            a,
            serde_json::from_value(json!({"delivery": {"method": stream::PUSH, "endpoint_url": url, "authorization_header": "Bearer receiver-secret"}})).unwrap(),
        )
        .unwrap();
    let id = created["stream_id"].as_str().unwrap().to_string();
    let users = ["alice@example.com", "bob@example.com", "carol@example.com"];
    let decisions: Vec<_> = (0..30).map(|n| revoke(users[n as usize % 3], n)).collect();
    transmitter.enqueue(&decisions).unwrap();
    // Down: retried, nothing delivered.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(got.lock().unwrap().is_empty());
    assert!(transmitter.metric(names::RETRIED, &[("stream", &id)]) >= 1.0);
    let status = transmitter.status(a, &id).unwrap();
    assert!(
        status["reason"]
            .as_str()
            .unwrap()
            .contains("delivery failing"),
        "{status}"
    );
    up.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(20);
    while transmitter.depth() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(transmitter.depth(), 0);
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 30);
    for user in users {
        let order: Vec<&String> = got
            .iter()
            .filter(|(u, _)| u == user)
            .map(|(_, jti)| jti)
            .collect();
        let expected: Vec<&String> = decisions
            .iter()
            .filter(|d| d.identity == user)
            .map(|d| &d.id)
            .collect();
        assert_eq!(order, expected, "{user}'s SETs in order");
    }
    assert_eq!(transmitter.status(a, &id).unwrap().get("reason"), None);
    let mut text = String::new();
    transmitter.render_metrics(&mut text);
    assert!(
        text.contains(&format!(
            "vigil_ssf_sets_delivered_total{{receiver=\"a\",stream=\"{id}\"}} 30"
        )),
        "{text}"
    );
    assert!(
        text.contains("vigil_ssf_acknowledged_seconds_count{receiver=\"a\""),
        "{text}"
    );
}

/// A push receiver that answers every SET with `status` (and `body`, `Retry-After`), and
/// notes when each request came.
async fn answering(
    status: u16,
    body: &'static str,
    retry_after: Option<&'static str>,
    times: Arc<Mutex<Vec<Instant>>>,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move || {
            let times = times.clone();
            async move {
                times.lock().unwrap().push(Instant::now());
                let mut response = axum::response::Response::new(axum::body::Body::from(body));
                *response.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
                if let Some(seconds) = retry_after {
                    response
                        .headers_mut()
                        .insert("retry-after", seconds.parse().unwrap());
                }
                response
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/events")
}

fn push_to(transmitter: &Transmitter, url: &str) -> String {
    let a = caller(transmitter, TOKEN_A);
    transmitter
        .create(
            a,
            serde_json::from_value(
                json!({"delivery": {"method": stream::PUSH, "endpoint_url": url}}),
            )
            .unwrap(),
        )
        .unwrap()["stream_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_with_an_rfc_8935_error_drops_the_set_and_counts_it_failed() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let url = answering(
        400,
        r#"{"err": "invalid_audience", "description": "not ours"}"#,
        None,
        times.clone(),
    )
    .await;
    let transmitter = transmitter(SsfConfig::default());
    let id = push_to(&transmitter, &url);
    transmitter
        .enqueue(&[revoke("alice@example.com", 1)])
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while transmitter.depth() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(transmitter.depth(), 0);
    assert_eq!(times.lock().unwrap().len(), 1, "not sent again");
    assert_eq!(transmitter.metric(names::FAILED, &[("stream", &id)]), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_waits_its_retry_after() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let url = answering(429, "", Some("3"), times.clone()).await;
    let transmitter = transmitter(SsfConfig::default());
    push_to(&transmitter, &url);
    transmitter
        .enqueue(&[revoke("alice@example.com", 1)])
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while times.lock().unwrap().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let times = times.lock().unwrap().clone();
    assert!(times.len() >= 2, "retried");
    let waited = times[1].duration_since(times[0]);
    assert!(
        waited >= Duration::from_millis(2900),
        "waited {waited:?}, not the 3 s asked"
    );
    assert_eq!(transmitter.depth(), 1, "kept until taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_retry_horizon_sets_are_given_up_and_the_status_says_why() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let url = answering(503, "", None, times.clone()).await;
    let transmitter = transmitter(SsfConfig {
        retry_horizon_seconds: 2,
        ..SsfConfig::default()
    });
    let id = push_to(&transmitter, &url);
    transmitter
        .enqueue(&[revoke("alice@example.com", 1), revoke("bob@example.com", 2)])
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while transmitter.depth() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(transmitter.depth(), 0, "given up");
    assert_eq!(transmitter.metric(names::FAILED, &[("stream", &id)]), 2.0);
    let status = transmitter
        .status(caller(&transmitter, TOKEN_A), &id)
        .unwrap();
    let reason = status["reason"].as_str().unwrap();
    assert!(reason.contains("gave up on"), "{reason}");
    let mut text = String::new();
    transmitter.render_metrics(&mut text);
    assert!(
        text.contains(&format!(
            "vigil_ssf_stream_failing{{receiver=\"a\",stream=\"{id}\"}} 1"
        )),
        "{text}"
    );
}

#[tokio::test]
async fn set_errors_from_a_poll_remove_the_set_and_count_it_failed() {
    let transmitter = transmitter(SsfConfig::default());
    let a = caller(&transmitter, TOKEN_A);
    let id = poll_stream(&transmitter, a);
    let decision = revoke("alice@example.com", 1);
    transmitter
        .enqueue(std::slice::from_ref(&decision))
        .unwrap();
    let body = poll(
        &transmitter,
        a,
        &id,
        json!({"maxEvents": 0, "setErrs": {decision.id.clone(): {"err": "invalid_key", "description": "unknown kid"}}}),
    )
    .await;
    assert!(jtis(&body).is_empty());
    assert_eq!(transmitter.depth(), 0);
    assert_eq!(transmitter.metric(names::FAILED, &[("stream", &id)]), 1.0);
}
