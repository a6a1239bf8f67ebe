//! The Kafka path end to end: events in on two topics, decisions, signed SETs and dead
//! letters out. Runs on librdkafka's in-process mock cluster (no broker needed) and, when
//! `VIGIL_KAFKA_BROKERS` names one, on a real Kafka-compatible broker: `.ci/run` starts
//! Tansu on loopback and sets it, and in CI (`CI` set) a missing broker fails the test.

mod common;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use std::sync::atomic::Ordering;
use std::time::Duration;
use vigil::config::{CaepConfig, Config, InputTopic, KafkaConfig, OutputTopicNames};
use vigil::run::Runner;
use vigil_ingest::Format;

fn login(
    day: u32,
    hour: u32,
    minute: u32,
    city: (&str, &str, f64, f64),
    ip: &str,
    session: &str,
    device: &str,
) -> String {
    format!(
        r#"{{"kind":"auth","time":"2026-02-{day:02}T{hour:02}:{minute:02}:00Z","identity":"alice@example.com","action":"login","outcome":"success","session_id":"{session}","device_id":"{device}","ip":"{ip}","geo":{{"city":"{}","country":"{}","lat":{},"lon":{}}},"asn":{}}}"#,
        city.0,
        city.1,
        city.2,
        city.3,
        if city.1 == "DE" { 3320 } else { 7922 }
    )
}

const BERLIN: (&str, &str, f64, f64) = ("Berlin", "DE", 52.52, 13.405);
const NEW_YORK: (&str, &str, f64, f64) = ("New York", "US", 40.713, -74.006);

/// A record just under the input limit that is not JSON: its dead letter, copied whole
/// with its reason, would pass the producer's `message.max.bytes`.
const HUGE_BYTES: usize = 1_040_000;

/// A CloudTrail batch of this many members that are not records.
const FAN_OUT: usize = 3_000;

/// Twelve days of sign-ins from Berlin; on day 13 a session in Berlin, then the same
/// identity in New York 40 minutes later; then a record that is not JSON, one just under
/// the size limit, and a hostile batch.
fn travel_and_a_bad_record() -> Vec<String> {
    let mut records: Vec<String> = (1..=12)
        .map(|day| {
            login(
                day,
                8,
                0,
                BERLIN,
                "85.214.1.1",
                &format!("s-{day}"),
                "laptop-1",
            )
        })
        .collect();
    records.push(login(13, 8, 0, BERLIN, "85.214.1.1", "s-13", "laptop-1"));
    records.push(login(
        13,
        8,
        40,
        NEW_YORK,
        "23.1.1.1",
        "s-stolen",
        "unknown-9",
    ));
    records.push("{not json".to_string());
    let mut huge = r#"{"kind":"auth","identity":""#.to_string();
    huge.push_str(&"x".repeat(HUGE_BYTES - huge.len()));
    records.push(huge);
    records.push(format!(r#"{{"Records":[{}1]}}"#, "1,".repeat(FAN_OUT - 1)));
    records
}

/// Sends `records` to `topic`, each acknowledged before the next, keyed by identity.
async fn produce(producer: &FutureProducer, topic: &str, records: &[String]) {
    for record in records {
        producer
            .send(
                FutureRecord::to(topic)
                    .key("alice")
                    .payload(record.as_str()),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
    }
}

fn topics(prefix: &str) -> [String; 6] {
    [
        "auth",
        "posture",
        "decisions",
        "alerts",
        "caep",
        "dead-letter",
    ]
    .map(|name| format!("{prefix}{name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_mock_cluster() {
    let cluster = MockCluster::new(1).unwrap();
    for topic in topics("vigil.") {
        cluster.create_topic(&topic, 1, 1).unwrap();
    }
    scenario(cluster.bootstrap_servers(), "vigil.").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_real_broker() {
    let Some(brokers) = common::real_broker("VIGIL_KAFKA_BROKERS") else {
        return;
    };
    let prefix = format!(
        "t{}-{}.",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    common::create_topics(&brokers, &topics(&prefix)).await;
    scenario(brokers, &prefix).await;
}

async fn scenario(brokers: String, prefix: &str) {
    let [auth_topic, posture_topic, decisions_topic, alerts_topic, caep_topic, dead_topic] =
        topics(prefix);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("message.max.bytes", "1048576")
        .create()
        .unwrap();
    let mut auth = travel_and_a_bad_record();
    let posture = vec![
        // Day 14: a session on the laptop, then its EDR stops mid-session.
        r#"{"kind":"posture","time":"2026-02-14T10:00:00Z","device_id":"laptop-1","compliant":false,"checks":{"edr_running":false}}"#.to_string(),
    ];
    auth.push(login(14, 8, 0, BERLIN, "85.214.1.1", "s-14", "laptop-1"));
    let send = |topic: String, records: Vec<String>| {
        let producer = producer.clone();
        async move { produce(&producer, &topic, &records).await }
    };
    let total = (auth.len() + posture.len()) as u64;
    let archive = tempfile::tempdir().unwrap();
    let auth_count = auth.len() as u64;
    send(auth_topic.clone(), auth).await;

    let config = Config {
        kafka: Some(KafkaConfig {
            brokers: brokers.clone(),
            group_id: format!("{prefix}vigil"),
            properties: Default::default(),
            inputs: vec![
                InputTopic {
                    topic: auth_topic.clone(),
                    format: Format::Auto,
                },
                InputTopic {
                    topic: posture_topic.clone(),
                    format: Format::Native,
                },
            ],
            outputs: OutputTopicNames {
                decisions: decisions_topic.clone(),
                alerts: alerts_topic.clone(),
                caep: caep_topic.clone(),
                dead_letter: dead_topic.clone(),
            },
            max_batch: 64,
            max_wait_ms: 2,
        }),
        caep: Some(CaepConfig {
            issuer: "https://vigil.example.com/".into(),
            audience: "https://idp.example.com/caep".into(),
            subject_issuer: "https://idp.example.com/".into(),
            simple_subjects: false,
            key_file: concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/sinks/tests/keys/test-rs256.pem"
            )
            .into(),
            kid: Some("vigil-test".into()),
        }),
        archive: vigil::config::ArchiveConfig {
            dir: Some(archive.path().to_path_buf()),
            ..Default::default()
        },
        ..Config::default()
    };
    let (config, rules) = (
        config.clone(),
        vigil::compose::load_rules(None, None).unwrap().1,
    );
    let mut runner = Runner::new(&config, rules).unwrap();
    let handled = runner.handled();
    // The posture report comes once the sign-ins are judged, as it would live (topics are
    // consumed independently: a report consumed before its device's first sign-in has no
    // known owner and is counted, not judged).
    let shutdown = async move {
        let started = std::time::Instant::now();
        let wait = |until: u64| {
            let handled = handled.clone();
            async move {
                while handled.load(Ordering::Relaxed) < until
                    && started.elapsed() < Duration::from_secs(60)
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        wait(auth_count).await;
        send(posture_topic.clone(), posture).await;
        wait(total).await;
    };
    let mut seen = Vec::new();
    let summary = runner
        .run(shutdown, |decision| seen.push(decision.clone()))
        .await
        .unwrap();
    assert_eq!(summary.read, total);
    assert_eq!(summary.rejected, 3);
    // The archive holds every decoded event and every decision, written at shutdown.
    let context = vigil_history::open(archive.path(), vigil_history::DEFAULT_MEMORY_LIMIT)
        .await
        .unwrap();
    let count = |table: &'static str| {
        let context = context.clone();
        async move {
            let batches =
                vigil_history::query(&context, &format!("SELECT count(*) AS n FROM {table}"))
                    .await
                    .unwrap();
            let mut out = Vec::new();
            vigil_history::write(&batches, vigil_history::Format::Csv, &mut out).unwrap();
            String::from_utf8(out)
                .unwrap()
                .lines()
                .nth(1)
                .unwrap()
                .parse::<u64>()
                .unwrap()
        }
    };
    assert_eq!(count("events").await, total - 3);
    assert_eq!(count("decisions").await, seen.len() as u64);
    assert!(count("signals").await >= seen.len() as u64);
    let rules: Vec<&str> = seen.iter().map(|decision| decision.rule.as_str()).collect();
    assert!(rules.contains(&"revoke-impossible-travel"), "{rules:?}");
    assert!(
        rules.contains(&"revoke-session-on-compromised-device"),
        "{rules:?}"
    );
    assert!(rules.contains(&"monitor-new-network"), "{rules:?}");

    // Read the outputs back.
    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", format!("{prefix}reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    reader
        .subscribe(&[
            decisions_topic.as_str(),
            caep_topic.as_str(),
            dead_topic.as_str(),
        ])
        .unwrap();
    let expected_sets = seen
        .iter()
        .filter(|decision| {
            decision.mode == vigil_schemas::Mode::Enforce
                && decision.action != vigil_schemas::Action::Alert
        })
        .count();
    let (mut decisions, mut sets, mut dead) = (Vec::new(), Vec::new(), Vec::new());
    let started = std::time::Instant::now();
    while (decisions.len() < seen.len() || dead.len() < 3 || sets.len() < expected_sets)
        && started.elapsed() < Duration::from_secs(30)
    {
        let Some(Ok(message)) = reader.poll(Duration::from_millis(100)) else {
            continue;
        };
        let payload = message.payload().unwrap_or_default().to_vec();
        match message.topic() {
            topic if topic == decisions_topic => {
                decisions.push(serde_json::from_slice::<serde_json::Value>(&payload).unwrap())
            }
            topic if topic == caep_topic => sets.push(String::from_utf8(payload).unwrap()),
            _ => {
                let headers = message.headers().unwrap();
                let header = |name: &str| {
                    headers
                        .iter()
                        .find(|header| header.key == name)
                        .and_then(|header| header.value)
                        .map(|value| String::from_utf8_lossy(value).into_owned())
                };
                let size = payload.len()
                    + message.key().map_or(0, <[u8]>::len)
                    + headers
                        .iter()
                        .map(|header| header.key.len() + header.value.map_or(0, <[u8]>::len))
                        .sum::<usize>();
                assert!(
                    size < vigil_sinks::kafka::DEFAULT_MESSAGE_MAX_BYTES,
                    "{size}"
                );
                dead.push((
                    payload,
                    header("vigil.origin"),
                    header("vigil.reason"),
                    header("vigil.truncated"),
                ));
            }
        }
    }
    assert_eq!(decisions.len(), seen.len());
    // One dead letter per bad record, each within the producer's limit: the huge one cut
    // and flagged, the hostile batch once with the count of its members.
    assert_eq!(dead.len(), 3);
    assert_eq!(dead[0].0, b"{not json");
    assert_eq!(dead[0].1, Some(format!("{auth_topic}/0@14")));
    assert!(dead[0]
        .2
        .as_deref()
        .is_some_and(|reason| !reason.is_empty()));
    assert_eq!(dead[0].3, None);
    assert_eq!(dead[1].1, Some(format!("{auth_topic}/0@15")));
    assert_eq!(dead[1].3, Some(HUGE_BYTES.to_string()));
    assert!(dead[1].0.len() < HUGE_BYTES && dead[1].0.starts_with(b"{\"kind\""));
    assert!(dead[1].2.as_ref().unwrap().len() <= vigil_schemas::Reject::MAX_REASON_BYTES);
    assert_eq!(dead[2].1, Some(format!("{auth_topic}/0@16")));
    assert!(
        dead[2].2.as_ref().unwrap().starts_with(&format!(
            "{FAN_OUT} of the record's {FAN_OUT} events rejected"
        )),
        "{:?}",
        dead[2].2
    );
    // One SET per enforce-mode decision (the monitor-mode one has none), each with the
    // decision's id as jti.
    let enforced: Vec<&serde_json::Value> = decisions
        .iter()
        .filter(|decision| decision["mode"] == "enforce" && decision["action"] != "alert")
        .collect();
    assert_eq!(sets.len(), enforced.len(), "{sets:?}");
    // Every SET verifies against the published key, as a receiver checks it.
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sinks/tests/keys/test-rs256.pem"
    ))
    .unwrap();
    let jwks = vigil_sinks::caep::Signer::from_pem(&pem, "vigil-test")
        .unwrap()
        .jwks();
    let jtis: Vec<String> = sets
        .iter()
        .map(|token| {
            let claims = vigil_sinks::caep::verify(token, &jwks).expect("SET verifies");
            claims["jti"].as_str().unwrap().to_string()
        })
        .collect();
    for decision in enforced {
        assert!(jtis.contains(&decision["id"].as_str().unwrap().to_string()));
    }
}

/// The counts a finished `vigil run` prints: events judged, and decisions by action and
/// mode.
fn printed_summary(stderr: &str) -> (u64, std::collections::BTreeMap<(String, String), u64>) {
    let mut judged = 0;
    let mut decisions = std::collections::BTreeMap::new();
    for line in stderr.lines() {
        if let Some(count) = line.strip_prefix("events judged") {
            judged = count.trim().parse().unwrap();
        }
        // `  <count>  <action> (<mode>)` under `decisions`.
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [count, action, mode] = words[..] {
            if let (Ok(count), Some(mode)) = (
                count.parse::<u64>(),
                mode.strip_prefix('(')
                    .and_then(|mode| mode.strip_suffix(')')),
            ) {
                decisions.insert((action.to_string(), mode.to_string()), count);
            }
        }
    }
    (judged, decisions)
}

/// `vigil run` on the real broker serves its HTTP home: `/healthz`, `/readyz` (503
/// before its inputs are assigned, 200 after), `/metrics` whose counters equal the run's
/// own printed summary, and `/v1/identities/{id}` answered by the live loop.
#[test]
fn vigil_run_serves_health_readiness_metrics_and_identities_on_a_real_broker() {
    let Some(brokers) = common::real_broker("VIGIL_KAFKA_BROKERS") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let prefix = format!(
        "serve{}-{}.",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    let [auth_topic, _, decisions_topic, alerts_topic, caep_topic, dead_topic] = topics(&prefix);
    runtime.block_on(common::create_topics(&brokers, &topics(&prefix)));
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("vigil.toml"),
        format!(
            r#"[kafka]
brokers = "{brokers}"
group_id = "{prefix}vigil"
inputs = [{{ topic = "{auth_topic}", format = "auto" }}]
max_batch = 64

[kafka.outputs]
decisions = "{decisions_topic}"
alerts = "{alerts_topic}"
caep = "{caep_topic}"
dead_letter = "{dead_topic}"

[server]
listen = "127.0.0.1:0"
"#
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["run", "--config", "vigil.toml"])
        .current_dir(folder.path())
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Every line the run prints, as it prints them.
    let printed = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let printed = printed.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let mut text = printed.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        })
    };
    let started = std::time::Instant::now();
    let url = loop {
        let text = printed.lock().unwrap().clone();
        if let Some(at) = text.find("serving http://") {
            let rest = &text[at + "serving ".len()..];
            break rest[..rest.find("/healthz").unwrap()].to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60) && child.try_wait().unwrap().is_none(),
            "no URL printed: {text}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    // Asked at once: the consumer has not joined its group yet.
    let (status, body) = common::http("GET", &url, "/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not_ready"), "{body}");
    assert_eq!(common::http("GET", &url, "/healthz").0, 200);

    let records = travel_and_a_bad_record();
    let total = records.len() as f64;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("message.max.bytes", "1048576")
        .create()
        .unwrap();
    runtime.block_on(produce(&producer, &auth_topic, &records));
    let read_series = format!("vigil_records_read_total{{input=\"{auth_topic}\"}}");
    let metrics = loop {
        let (status, text) = common::http("GET", &url, "/metrics");
        assert_eq!(status, 200);
        let settled = common::metric(&text, &read_series) == total
            && common::metric(&text, "vigil_output_acknowledged_total{output=\"kafka\"}") > 0.0;
        if settled && common::http("GET", &url, "/readyz").0 == 200 {
            // One more scrape after a pause: every batch read is settled by now.
            std::thread::sleep(Duration::from_millis(500));
            break common::http("GET", &url, "/metrics").1;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not all records were read: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(common::http("GET", &url, "/readyz").0, 200);
    let (status, body) = common::http("GET", &url, "/v1/identities/alice@example.com");
    assert_eq!(status, 200, "{body}");
    let document: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(document["identity"], "alice@example.com");
    assert_eq!(
        common::http("GET", &url, "/v1/identities/mallory@example.com").0,
        404
    );

    let stopped = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(child.wait().unwrap().success());
    reader.join().unwrap();
    let text = printed.lock().unwrap().clone();
    let (judged, decisions) = printed_summary(&text);
    assert_eq!(judged, 14, "{text}");
    assert_eq!(
        common::metric(&metrics, "vigil_events_judged_total"),
        judged as f64
    );
    assert!(!decisions.is_empty(), "{text}");
    for ((action, mode), count) in &decisions {
        let prefix = format!("vigil_decisions_total{{action=\"{action}\",mode=\"{mode}\",");
        let counted: f64 = metrics
            .lines()
            .filter(|line| line.starts_with(&prefix))
            .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum();
        assert_eq!(counted, *count as f64, "{action} ({mode})\n{metrics}");
    }
    assert_eq!(
        common::metric(
            &metrics,
            &format!(
                "vigil_records_rejected_total{{input=\"{auth_topic}\",reason=\"undecodable\"}}"
            )
        ),
        3.0
    );
}
