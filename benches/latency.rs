//! `engine/latency`: event-to-SET latency through Kafka. Background traffic (simulated,
//! native) is produced at a paced rate while impossible-travel attacks are mixed in; for
//! each attack, the time from producing its triggering sign-in to reading the revocation
//! SET from the CAEP topic is measured (wall clock), and the end-to-end rate is reported.
//!
//! Runs against `VIGIL_KAFKA_BROKERS` when set (a real broker on loopback, e.g. Tansu),
//! else against librdkafka's in-process mock cluster (loopback sockets, no disk).
//!
//! Run: `cargo bench --bench latency` (`VIGIL_BENCH_ATTACKS`, `VIGIL_BENCH_RATE` and
//! `VIGIL_BENCH_PARTITIONS` change the number of attacks, the background events per second
//! and the partitions of each input topic).

mod common;
use common::env_or;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vigil::config::{Config, InputTopic, KafkaConfig, OutputTopicNames};
use vigil::run::Runner;
use vigil_backtest::simulate::{simulate, SimulateOptions};
use vigil_ingest::Format;
use vigil_schemas::caep::CaepIdentity;
use vigil_sinks::caep::Signer;
use vigil_sinks::kafka::CaepOutput;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn login(
    identity: &str,
    minute: u32,
    (city, country, lat, lon, asn): (&str, &str, f64, f64, u32),
    ip: &str,
) -> String {
    format!(
        r#"{{"kind":"auth","time":"2026-03-20T08:{minute:02}:00Z","identity":"{identity}","action":"login","outcome":"success","session_id":"s-{identity}-{minute}","device_id":"d-{identity}","ip":"{ip}","geo":{{"city":"{city}","country":"{country}","lat":{lat},"lon":{lon}}},"asn":{asn}}}"#
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// Reads `topic` on its own thread until `done`, noting when each key (as `key` finds it
/// in a payload) was first read.
fn read_topic(
    brokers: &str,
    topic: &str,
    group: &str,
    done: &Arc<AtomicBool>,
    key: fn(&[u8]) -> Option<String>,
) -> (Arrivals, std::thread::JoinHandle<()>) {
    let arrivals: Arrivals = Arc::default();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "1")
        .create()
        .expect("reader");
    consumer.subscribe(&[topic]).expect("subscribe");
    let (into, done) = (arrivals.clone(), done.clone());
    let thread = std::thread::spawn(move || {
        while !done.load(Ordering::Relaxed) {
            if let Some(Ok(message)) = consumer.poll(Duration::from_millis(5)) {
                let now = Instant::now();
                if let Some(key) = key(message.payload().unwrap_or_default()) {
                    into.lock().expect("lock").entry(key).or_insert(now);
                }
            }
        }
    });
    (arrivals, thread)
}

/// The subject's email in a SET.
fn set_subject(token: &[u8]) -> Option<String> {
    use base64::Engine as _;
    let claims = token.split(|&byte| byte == b'.').nth(1)?;
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&claims).ok()?;
    claims["sub_id"]["email"].as_str().map(str::to_string)
}

/// The victim of an attack's trigger (its second sign-in, at minute 10).
fn trigger_identity(payload: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(payload).ok()?;
    if !text.contains("T08:10:00Z") {
        return None;
    }
    let start = text.find("\"identity\":\"victim")? + "\"identity\":\"".len();
    let end = start + text[start..].find('"')?;
    Some(text[start..end].to_string())
}

/// Milliseconds from each send to its arrival, sorted.
fn since_sent(sent: &HashMap<String, Instant>, arrived: &HashMap<String, Instant>) -> Vec<f64> {
    let mut millis: Vec<f64> = sent
        .iter()
        .filter_map(|(identity, at)| {
            arrived
                .get(identity)
                .map(|got| got.duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    millis.sort_by(f64::total_cmp);
    millis
}

fn main() {
    let attacks = env_or("VIGIL_BENCH_ATTACKS", 1000);
    let rate = env_or("VIGIL_BENCH_RATE", 10_000);
    // Partitions of each input topic (outputs have one). Attack pairs are keyed by
    // identity, so an identity's sign-ins stay in order on one partition.
    let partitions = env_or("VIGIL_BENCH_PARTITIONS", 1) as i32;
    let is_input = |name: &str| matches!(name, "auth" | "access" | "posture");
    let (_cluster, brokers, prefix) = match std::env::var("VIGIL_KAFKA_BROKERS") {
        Ok(brokers) => (None, brokers, format!("bench{}.", std::process::id())),
        Err(_) => {
            let cluster = MockCluster::new(1).expect("mock cluster");
            let brokers = cluster.bootstrap_servers();
            (Some(cluster), brokers, "bench.".to_string())
        }
    };
    let topic = |name: &str| format!("{prefix}{name}");
    let names = [
        "auth",
        "access",
        "posture",
        "decisions",
        "alerts",
        "caep",
        "dead-letter",
    ];
    match &_cluster {
        Some(cluster) => {
            for name in names {
                let count = if is_input(name) { partitions } else { 1 };
                cluster.create_topic(&topic(name), count, 1).expect("topic");
            }
        }
        None => {
            use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
            let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
                .set("bootstrap.servers", &brokers)
                .create()
                .expect("admin");
            let topics: Vec<(String, i32)> = names
                .iter()
                .map(|name| (topic(name), if is_input(name) { partitions } else { 1 }))
                .collect();
            let new: Vec<NewTopic> = topics
                .iter()
                .map(|(name, count)| NewTopic::new(name, *count, TopicReplication::Fixed(1)))
                .collect();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            for result in runtime
                .block_on(admin.create_topics(&new, &AdminOptions::new()))
                .expect("create topics")
            {
                result.expect("topic");
            }
        }
    }
    // Background: simulated native events, oldest first.
    let mut background: Vec<(String, Vec<u8>)> = Vec::new();
    simulate(
        &SimulateOptions {
            identities: 2000,
            days: 8,
            seed: 17,
            attack_rate: 0.0,
            ..SimulateOptions::default()
        },
        |event| {
            let name = match event.kind() {
                vigil_schemas::EventKind::Auth => "auth",
                vigil_schemas::EventKind::Posture => "posture",
                vigil_schemas::EventKind::Access => "access",
            };
            background.push((
                topic(name),
                serde_json::to_vec(event).map_err(std::io::Error::other)?,
            ));
            Ok(())
        },
    )
    .expect("simulate");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (config, rules) = vigil::compose::load_rules(None, None).expect("rules");
    let config = Config {
        kafka: Some(KafkaConfig {
            brokers: brokers.clone(),
            group_id: format!("{prefix}vigil"),
            properties: Default::default(),
            inputs: ["auth", "access", "posture"]
                .iter()
                .map(|name| InputTopic {
                    topic: topic(name),
                    format: Format::Native,
                })
                .collect(),
            outputs: OutputTopicNames {
                decisions: topic("decisions"),
                alerts: topic("alerts"),
                caep: topic("caep"),
                dead_letter: topic("dead-letter"),
            },
            max_batch: 1024,
            max_wait_ms: 2,
        }),
        ..config
    };
    let caep = CaepOutput {
        identity: CaepIdentity {
            issuer: "https://vigil.bench/".into(),
            audience: "https://idp.bench/".into(),
            subject_issuer: "https://idp.bench/".into(),
            simple_subjects: true,
        },
        signer: Signer::from_pem(include_str!("../sinks/tests/keys/test-es256.pem"), "bench")
            .expect("key"),
    };
    let mut runner = runtime
        .block_on(async { Runner::with_caep(&config, rules, Some(caep), None) })
        .expect("runner");
    let handled = runner.handled();

    // Reader of SETs on its own thread: identity -> when its SET was read.
    let done = Arc::new(AtomicBool::new(false));
    let read = |name: &str, key: fn(&[u8]) -> Option<String>| {
        read_topic(
            &brokers,
            &topic(name),
            &format!("{prefix}{name}-reader"),
            &done,
            key,
        )
    };
    // The SETs, and (the broker's own share of the latency) each trigger as any consumer
    // of the auth topic sees it.
    let (received, reader) = read("caep", set_subject);
    let (arrived, probe) = read("auth", trigger_identity);

    // Producer thread: background at `rate` per second, one attack pair every
    // `background / attacks` records; the trigger's send time is recorded.
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    // One warm-up record first: the clock starts once vigil has joined its group and
    // handled it, so the group join (seconds on a real broker) is not counted as latency.
    let total = background.len().min(rate * 20) + 2 * attacks + 1;
    let producer_thread = {
        let (sent, brokers, auth) = (sent.clone(), brokers.clone(), topic("auth"));
        let handled = handled.clone();
        background.truncate(total - 2 * attacks - 1);
        std::thread::spawn(move || {
            // librdkafka's default batching (linger.ms 5), as event shippers produce.
            let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
                .set("bootstrap.servers", &brokers)
                .create()
                .expect("producer");
            let warm_up = login(
                "warm-up@bench.example",
                0,
                ("Berlin", "DE", 52.52, 13.405, 3320),
                "85.214.1.1",
            );
            let _ = producer.send(BaseRecord::<[u8], [u8]>::to(&auth).payload(warm_up.as_bytes()));
            producer.flush(Duration::from_secs(10)).ok();
            while handled.load(Ordering::Relaxed) == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
            let every = (background.len() / attacks.max(1)).max(1);
            let started = Instant::now();
            let mut attack = 0;
            for (index, (topic, payload)) in background.iter().enumerate() {
                let due = started + Duration::from_secs_f64(index as f64 / rate as f64);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                while producer
                    .send(BaseRecord::<[u8], [u8]>::to(topic).payload(payload))
                    .is_err()
                {
                    std::thread::sleep(Duration::from_millis(1));
                }
                if index % every == every - 1 && attack < attacks {
                    let identity = format!("victim{attack:05}@bench.example");
                    let home = login(
                        &identity,
                        0,
                        ("Berlin", "DE", 52.52, 13.405, 3320),
                        "85.214.1.1",
                    );
                    let away = login(
                        &identity,
                        10,
                        ("New York", "US", 40.713, -74.006, 7922),
                        "23.1.1.1",
                    );
                    let _ = producer.send(
                        BaseRecord::<str, [u8]>::to(&auth)
                            .key(&identity)
                            .payload(home.as_bytes()),
                    );
                    let at = Instant::now();
                    while producer
                        .send(
                            BaseRecord::<str, [u8]>::to(&auth)
                                .key(&identity)
                                .payload(away.as_bytes()),
                        )
                        .is_err()
                    {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    sent.lock().expect("lock").insert(identity, at);
                    attack += 1;
                }
            }
            producer.flush(Duration::from_secs(10)).ok();
            started.elapsed()
        })
    };
    let started = Instant::now();
    let expected = total as u64;
    // When vigil saw each revocation acknowledged by the broker (before the reader got it).
    let acked: Arrivals = Arc::default();
    let summary = runtime
        .block_on(runner.run(
            async {
                while handled.load(Ordering::Relaxed) < expected
                    && started.elapsed() < Duration::from_secs(300)
                {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            |decision| {
                if decision.action == vigil_schemas::Action::RevokeSession {
                    acked
                        .lock()
                        .expect("lock")
                        .entry(decision.identity.to_string())
                        .or_insert_with(Instant::now);
                }
            },
        ))
        .expect("run");
    let elapsed = started.elapsed();
    let produce_time = producer_thread.join().expect("producer");
    std::thread::sleep(Duration::from_millis(500));
    done.store(true, Ordering::Relaxed);
    reader.join().expect("reader");
    probe.join().expect("probe");
    let sent = sent.lock().expect("lock");
    let latencies = since_sent(&sent, &received.lock().expect("lock"));
    let to_ack = since_sent(&sent, &acked.lock().expect("lock"));
    let to_input = since_sent(&sent, &arrived.lock().expect("lock"));
    let where_ = if _cluster.is_some() {
        "librdkafka mock cluster"
    } else {
        "broker at VIGIL_KAFKA_BROKERS"
    };
    println!(
        "engine/latency ({where_}, {partitions} partition(s) per input topic): {} of {} attacks revoked; event-to-SET median {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        sent.len(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 95.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "engine/latency: event to SET acknowledged by the broker (vigil's side): median {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        percentile(&to_ack, 50.0),
        percentile(&to_ack, 95.0),
        percentile(&to_ack, 99.0),
    );
    println!(
        "engine/latency: event readable on the input topic (the broker alone): median {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        percentile(&to_input, 50.0),
        percentile(&to_input, 95.0),
        percentile(&to_input, 99.0),
    );
    println!(
        "engine/latency: {} records in {:.2} s end to end ({:.0} events/s; produced at {:.0}/s)",
        summary.read,
        elapsed.as_secs_f64(),
        summary.read as f64 / elapsed.as_secs_f64(),
        total as f64 / produce_time.as_secs_f64()
    );
}
