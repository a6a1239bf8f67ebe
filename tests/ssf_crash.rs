//! `vigil run` SIGKILLed with SETs in its Shared Signals outbox delivers them after a
//! restart: the push receiver is down while vigil judges the input, vigil is killed once
//! every record is read, the outbox file is read back to see what was pending, and the
//! restarted vigil (stream and SETs restored from its state folder) pushes every one of
//! them, conformant and in order per subject, once the receiver is back.
//!
//! The broker is librdkafka's mock cluster hosted by this test process, or the broker
//! named by `VIGIL_KAFKA_BROKERS`.

mod common;

use common::receiver::{out_of_order, PushEndpoint, Receiver};
use rdkafka::mocking::MockCluster;
use sha2::Digest as _;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "crash-receiver-token-0001";

fn start(folder: &Path) -> common::Run {
    common::start_run(folder, "ssf.toml")
}

fn config(brokers: &str, prefix: &str, port: u16, state: &Path) -> String {
    let key = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sinks/tests/keys/test-rs256.pem"
    );
    let digest: String = sha2::Sha256::digest(TOKEN.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!(
        r#"[kafka]
brokers = "{brokers}"
group_id = "{prefix}group"
inputs = [{{ topic = "{prefix}events", format = "native" }}]
max_batch = 256

[kafka.outputs]
decisions = "{prefix}decisions"
alerts = "{prefix}alerts"
caep = "{prefix}caep"
dead_letter = "{prefix}dead-letter"

[state]
dir = "{state}"
checkpoint_events = 500
checkpoint_interval_ms = 100

[server]
listen = "127.0.0.1:{port}"

[caep]
issuer = "http://127.0.0.1:{port}"
audience = "https://idp.example.com/caep"
subject_issuer = "https://idp.example.com/"
key_file = "{key}"
kid = "crash-test"

[ssf]
[[ssf.receivers]]
name = "crash"
token_sha256 = "{digest}"
audience = "https://crash.example.com"
"#,
        state = state.display()
    )
}

async fn get(url: &str) -> Option<(u16, String)> {
    let response = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

async fn wait_ready(url: &str, folder: &Path) {
    let started = Instant::now();
    loop {
        if let Some((200, _)) = get(&format!("{url}/readyz")).await {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "vigil never became ready:\n{}",
            common::log_tail(folder)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn sigkill_with_sets_in_the_outbox_delivers_them_after_restart() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (_cluster, brokers, prefix) = match std::env::var("VIGIL_KAFKA_BROKERS") {
        Ok(brokers) => (None, brokers, format!("ssfcrash{}.", std::process::id())),
        Err(_) => {
            let cluster = MockCluster::new(1).unwrap();
            let brokers = cluster.bootstrap_servers();
            (Some(cluster), brokers, "ssfcrash.".to_string())
        }
    };
    let topics: Vec<String> = ["events", "decisions", "alerts", "caep", "dead-letter"]
        .iter()
        .map(|name| format!("{prefix}{name}"))
        .collect();
    match &_cluster {
        Some(cluster) => {
            for topic in &topics {
                cluster.create_topic(topic, 1, 1).unwrap();
            }
        }
        None => runtime.block_on(common::create_topics(&brokers, &topics)),
    }
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("state");
    let port = common::free_port();
    std::fs::write(
        folder.path().join("ssf.toml"),
        config(&brokers, &prefix, port, &state),
    )
    .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let input = common::simulated_records(40, 10, 21, 0.4);
    let total = input.len() as f64;

    runtime.block_on(async {
        // First run: the receiver creates its stream, then is down while vigil judges.
        let mut first = start(folder.path());
        wait_ready(&url, folder.path()).await;
        let receiver = Receiver::discover(&url, TOKEN).await;
        let audience = Arc::new(Mutex::new(String::new()));
        let endpoint = PushEndpoint::start(
            receiver.jwks.clone(),
            receiver.issuer(),
            audience.clone(),
            "Bearer endpoint-secret",
        )
        .await;
        endpoint.down.store(true, Ordering::SeqCst);
        let stream = receiver
            .create_push(&endpoint.url, "Bearer endpoint-secret")
            .await;
        *audience.lock().unwrap() = stream["aud"].as_str().unwrap().to_string();
        let id = stream["stream_id"].as_str().unwrap().to_string();
        common::send_records(&brokers, &topics[0], &input);
        let started = Instant::now();
        loop {
            let text = get(&format!("{url}/metrics"))
                .await
                .map(|(_, text)| text)
                .unwrap_or_default();
            let read = common::metric(
                &text,
                &format!("vigil_records_read_total{{input=\"{}\"}}", topics[0]),
            );
            let queued = common::metric(
                &text,
                &format!("vigil_ssf_sets_queued_total{{receiver=\"crash\",stream=\"{id}\"}}"),
            );
            if read >= total && queued > 0.0 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "read {read} of {total}, queued {queued}:\n{}",
                common::log_tail(folder.path())
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Let the last batch's SETs reach the outbox, then kill.
        tokio::time::sleep(Duration::from_millis(500)).await;
        first.0.kill().unwrap();
        first.0.wait().unwrap();
        assert!(endpoint.got().is_empty(), "the receiver was down");

        // What the outbox holds after the kill.
        let pending: Vec<String> = {
            let outbox =
                vigil_sinks::ssf::Outbox::open(&state.join(vigil_sinks::ssf::outbox::FILE))
                    .unwrap();
            let loaded = outbox.load().unwrap();
            assert_eq!(loaded.streams.len(), 1, "the stream is kept");
            loaded
                .entries
                .iter()
                .filter(|(stream, _, entry)| stream == &id && !entry.control)
                .map(|(_, _, entry)| entry.jti.clone())
                .collect()
        };
        assert!(pending.len() >= 3, "SETs were pending: {}", pending.len());

        // Second run, receiver back: every pending SET arrives.
        endpoint.down.store(false, Ordering::SeqCst);
        let _second = start(folder.path());
        let started = Instant::now();
        loop {
            let got: std::collections::BTreeSet<String> =
                endpoint.got().iter().map(|one| one.jti()).collect();
            if pending.iter().all(|jti| got.contains(jti)) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "{} of {} pending SETs delivered after restart:\n{}",
                pending.iter().filter(|jti| got.contains(*jti)).count(),
                pending.len(),
                common::log_tail(folder.path())
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let got = endpoint.got();
        for one in &got {
            assert!(one.failures.is_empty(), "{:?}", one.failures);
        }
        // In outbox order per subject.
        let subject_of: std::collections::BTreeMap<String, String> =
            got.iter().map(|one| (one.jti(), one.subject())).collect();
        let expected: Vec<(String, String)> = pending
            .iter()
            .map(|jti| (subject_of[jti].clone(), jti.clone()))
            .collect();
        assert_eq!(out_of_order(&got, &expected), None);
        assert!(endpoint.protocol_errors.lock().unwrap().is_empty());
    });
}
