//! Faults vigil must survive without losing or holding back a decision: the archive's
//! folder becoming unwritable in the middle of a run; another member joining the consumer
//! group and leaving it (no record judged twice into state). (A newer or corrupt state file is
//! refused without being touched: `engine/src/store.rs`; a produce error on one record:
//! `sinks/src/kafka.rs`; a failed archive write: `sinks/src/archive/mod.rs`.)

mod common;

use rdkafka::mocking::MockCluster;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use vigil::config::{ArchiveConfig, Config, InputTopic, KafkaConfig, OutputTopicNames};
use vigil::run::Runner;
use vigil_ingest::Format;

fn kafka(brokers: &str, prefix: &str) -> KafkaConfig {
    KafkaConfig {
        brokers: brokers.to_string(),
        group_id: format!("{prefix}group"),
        properties: Default::default(),
        inputs: vec![InputTopic {
            topic: format!("{prefix}events"),
            format: Format::Native,
        }],
        outputs: OutputTopicNames {
            decisions: format!("{prefix}decisions"),
            alerts: format!("{prefix}alerts"),
            caep: format!("{prefix}caep"),
            dead_letter: format!("{prefix}dead-letter"),
        },
        max_batch: 256,
        max_wait_ms: 2,
    }
}

/// A mock cluster with the input topic (`partitions` of them) and the output topics of
/// `prefix`, and its bootstrap servers.
fn cluster(
    prefix: &str,
    partitions: i32,
) -> (
    MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    String,
) {
    let cluster = MockCluster::new(1).unwrap();
    cluster
        .create_topic(&format!("{prefix}events"), partitions, 1)
        .unwrap();
    for name in ["decisions", "alerts", "caep", "dead-letter"] {
        cluster
            .create_topic(&format!("{prefix}{name}"), 1, 1)
            .unwrap();
    }
    let brokers = cluster.bootstrap_servers();
    (cluster, brokers)
}

/// What identifies a decision across runs: when, whose, which rule, what action.
fn key(decision: &vigil_schemas::Decision) -> String {
    format!(
        "{} {} {} {}",
        decision.time,
        decision.identity,
        decision.rule,
        decision.action.as_str()
    )
}

/// The decisions `vigil replay` makes of `records` (the reference: same engine, no
/// fault).
fn replayed(folder: &std::path::Path, records: &[Vec<u8>]) -> Vec<String> {
    let input = folder.join("reference.jsonl");
    let mut text = Vec::new();
    for record in records {
        text.extend_from_slice(record);
        text.push(b'\n');
    }
    std::fs::write(&input, text).unwrap();
    let output = folder.join("reference-decisions.jsonl");
    vigil::replay::replay(&vigil::replay::ReplayOptions {
        inputs: vec![input],
        format: Format::Native,
        policy: None,
        config: None,
        output: output.clone(),
        rejects: None,
        state: None,
        archive: None,
    })
    .unwrap();
    let mut rules: Vec<String> = std::fs::read_to_string(output)
        .unwrap()
        .lines()
        .map(|line| {
            let decision: vigil_schemas::Decision = serde_json::from_str(line).unwrap();
            key(&decision)
        })
        .collect();
    rules.sort();
    rules
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_that_cannot_be_written_mid_run_holds_back_no_decision() {
    let folder = tempfile::tempdir().unwrap();
    let prefix = "fault.";
    let (_cluster, brokers) = cluster(prefix, 1);
    let records = common::simulated_records(40, 20, 11, 0.8);
    let half = records.len() / 2;
    let archive = folder.path().join("archive");
    let config = Config {
        kafka: Some(kafka(&brokers, prefix)),
        archive: ArchiveConfig {
            dir: Some(archive.clone()),
            rows_per_file: 100,
            ..Default::default()
        },
        ..Config::default()
    };
    let rules = vigil::compose::load_rules(None, None).unwrap().1;
    let mut runner = Runner::new(&config, rules).unwrap();
    let handled = runner.handled();
    let telemetry = runner.server_state().telemetry;
    {
        let (brokers, first) = (brokers.clone(), records[..half].to_vec());
        tokio::task::spawn_blocking(move || common::send_records(&brokers, "fault.events", &first))
            .await
            .unwrap();
    }
    let total = records.len() as u64;
    let second = records[half..].to_vec();
    let (broken_archive, broken_brokers) = (archive.clone(), brokers.clone());
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen_dropped = dropped.clone();
    let shutdown = async move {
        let started = Instant::now();
        let wait = |until: u64| {
            let handled = handled.clone();
            async move {
                while handled.load(Ordering::Relaxed) < until
                    && started.elapsed() < Duration::from_secs(120)
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        wait(half as u64).await;
        // The archive folder goes away and a file stands in its place: no table or day
        // folder can be made any more (as with a full disk or a read-only mount; a test
        // running as root would ignore a mode).
        std::fs::rename(&broken_archive, broken_archive.with_extension("before")).unwrap();
        std::fs::write(&broken_archive, b"not a folder").unwrap();
        tokio::task::spawn_blocking(move || {
            common::send_records(&broken_brokers, "fault.events", &second)
        })
        .await
        .unwrap();
        wait(total).await;
        let labels = [("output", "archive"), ("reason", "write_failed")];
        while telemetry.value("vigil_output_dropped_total", &labels) == 0.0
            && started.elapsed() < Duration::from_secs(120)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        seen_dropped.store(
            telemetry.value("vigil_output_dropped_total", &labels) as u64,
            Ordering::Relaxed,
        );
    };
    let mut seen = Vec::new();
    let summary = runner
        .run(shutdown, |decision| seen.push(key(decision)))
        .await
        .expect("the run survives the archive");
    assert_eq!(summary.read, total);
    assert!(
        dropped.load(Ordering::Relaxed) > 0,
        "the failure is counted"
    );
    // Every decision of the uninterrupted replay was made, the second half's included.
    seen.sort();
    let reference = {
        let (path, records) = (folder.path().to_path_buf(), records.clone());
        tokio::task::spawn_blocking(move || replayed(&path, &records))
            .await
            .unwrap()
    };
    assert_eq!(seen, reference);
    assert!(seen.len() > 5, "{seen:?}");
    // Files written before the fault are intact and readable.
    let context = vigil_history::open(
        &archive.with_extension("before"),
        vigil_history::DEFAULT_MEMORY_LIMIT,
    )
    .await
    .unwrap();
    let batches = vigil_history::query(&context, "SELECT count(*) FROM events")
        .await
        .unwrap();
    let archived = datafusion::common::cast::as_int64_array(batches[0].column(0))
        .unwrap()
        .value(0);
    assert!(archived > 0 && (archived as u64) < total, "{archived}");
    // The SOC is told, on the alerts topic beside the decision alerts.
    let alerts = {
        let brokers = brokers.clone();
        tokio::task::spawn_blocking(move || health_alerts(&brokers, "fault.alerts"))
            .await
            .unwrap()
    };
    let first = alerts.first().expect("a health alert");
    assert_eq!(
        (first.output.as_str(), first.reason.as_str()),
        ("archive", "write_failed")
    );
    let last = alerts.last().unwrap();
    assert!(
        last.total >= dropped.load(Ordering::Relaxed),
        "the last alert counts every row the metric had counted"
    );
    assert_eq!(
        alerts.iter().map(|alert| alert.dropped).sum::<u64>(),
        last.total,
        "each alert counts what was dropped since the one before"
    );
    assert!(alerts.len() <= 3, "one alert a minute at most: {alerts:?}");
}

/// The health alerts on `topic` (records with the header `vigil.kind: health`).
fn health_alerts(brokers: &str, topic: &str) -> Vec<vigil_schemas::HealthAlert> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::{Headers, Message};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "health-reader")
        .create()
        .unwrap();
    let mut partitions = rdkafka::TopicPartitionList::new();
    partitions
        .add_partition_offset(topic, 0, rdkafka::Offset::Beginning)
        .unwrap();
    consumer.assign(&partitions).unwrap();
    let mut alerts = Vec::new();
    let mut quiet = Instant::now();
    while quiet.elapsed() < Duration::from_secs(3) {
        let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        quiet = Instant::now();
        let health = message.headers().is_some_and(|headers| {
            headers
                .iter()
                .any(|header| header.key == "vigil.kind" && header.value == Some(b"health"))
        });
        if health {
            alerts.push(serde_json::from_slice(message.payload().unwrap()).unwrap());
        }
    }
    alerts
}

/// Appends `records` to `topic`, each to the partition of its identity (as a producer
/// keyed by identity would): one identity's events stay in order.
fn send_by_identity(brokers: &str, topic: &str, records: &[Vec<u8>], partitions: u64) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let producer: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    for payload in records {
        let event: serde_json::Value = serde_json::from_slice(payload).unwrap();
        let identity = event["identity"]
            .as_str()
            .or(event["device_id"].as_str())
            .unwrap_or("");
        let partition = (vigil_rules::fingerprint(identity) % partitions) as i32;
        while producer
            .send(
                BaseRecord::<[u8], [u8]>::to(topic)
                    .partition(partition)
                    .payload(payload),
            )
            .is_err()
        {
            producer.poll(Duration::from_millis(5));
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_joining_and_leaving_the_group_judges_no_record_twice() {
    let (_cluster, brokers) = cluster("rebalance.", 2);
    member_joins_and_leaves(brokers, "rebalance.").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_joining_and_leaving_on_a_real_broker_judges_no_record_twice() {
    let Some(brokers) = common::real_broker("VIGIL_KAFKA_BROKERS") else {
        return;
    };
    let prefix = format!("rebalance{}.", std::process::id());
    {
        use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
        let admin: AdminClient<rdkafka::client::DefaultClientContext> =
            rdkafka::ClientConfig::new()
                .set("bootstrap.servers", &brokers)
                .create()
                .unwrap();
        let names: Vec<(String, i32)> = std::iter::once((format!("{prefix}events"), 2))
            .chain(
                ["decisions", "alerts", "caep", "dead-letter"]
                    .iter()
                    .map(|name| (format!("{prefix}{name}"), 1)),
            )
            .collect();
        let topics: Vec<NewTopic> = names
            .iter()
            .map(|(name, partitions)| NewTopic::new(name, *partitions, TopicReplication::Fixed(1)))
            .collect();
        for result in admin
            .create_topics(&topics, &AdminOptions::new())
            .await
            .unwrap()
        {
            result.unwrap();
        }
    }
    member_joins_and_leaves(brokers, &prefix).await;
}

/// A run over a two-partition input topic of `prefix` on `brokers` while a second member
/// joins the group, takes a partition and leaves: no record is judged twice.
async fn member_joins_and_leaves(brokers: String, prefix: &str) {
    let folder = tempfile::tempdir().unwrap();
    let events = format!("{prefix}events");
    let records = common::simulated_records(30, 20, 3, 0.5);
    let half = records.len() / 2;
    let mut kafka = kafka(&brokers, prefix);
    kafka.properties = [
        ("session.timeout.ms", "6000"),
        ("heartbeat.interval.ms", "300"),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value.to_string()))
    .collect();
    // No checkpoint during the run: nothing is committed, so a partition that comes back
    // resumes from the very start, behind everything the state already holds.
    let config = Config {
        kafka: Some(kafka),
        state: vigil::config::StateConfig {
            dir: Some(folder.path().join("state")),
            checkpoint_interval_ms: 3_600_000,
            checkpoint_events: 100_000_000,
            ..Default::default()
        },
        ..Config::default()
    };
    let rules = vigil::compose::load_rules(None, None).unwrap().1;
    let mut runner = Runner::new(&config, rules).unwrap();
    let telemetry = runner.server_state().telemetry;
    {
        let (brokers, events, first) = (brokers.clone(), events.clone(), records[..half].to_vec());
        tokio::task::spawn_blocking(move || send_by_identity(&brokers, &events, &first, 2))
            .await
            .unwrap();
    }
    let total = records.len() as f64;
    let second = records[half..].to_vec();
    let group = format!("{prefix}group");
    let member_brokers = brokers.clone();
    let reassigned = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let saw_reassigned = reassigned.clone();
    let shutdown = async move {
        let started = Instant::now();
        let read = || telemetry.value("vigil_records_read_total", &[("input", events.as_str())]);
        while read() < half as f64 && started.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // A second member joins, takes a partition, and leaves.
        let topic = events.clone();
        let took = tokio::task::spawn_blocking(move || {
            use rdkafka::consumer::{BaseConsumer, Consumer};
            let member: BaseConsumer = rdkafka::ClientConfig::new()
                .set("bootstrap.servers", &member_brokers)
                .set("group.id", &group)
                .set("enable.auto.commit", "false")
                .set("session.timeout.ms", "6000")
                .set("heartbeat.interval.ms", "300")
                .create()
                .unwrap();
            member.subscribe(&[&topic]).unwrap();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(30) {
                // Polled for the group protocol only; whatever it fetches is dropped.
                let _ = member.poll(Duration::from_millis(100));
                if member.assignment().map(|list| list.count()).unwrap_or(0) > 0 {
                    std::thread::sleep(Duration::from_millis(500));
                    member.unsubscribe();
                    return true;
                }
            }
            false
        })
        .await
        .unwrap();
        saw_reassigned.store(took, Ordering::Relaxed);
        let (brokers, topic) = (brokers.clone(), events.clone());
        tokio::task::spawn_blocking(move || send_by_identity(&brokers, &topic, &second, 2))
            .await
            .unwrap();
        while read() < total && started.elapsed() < Duration::from_secs(120) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Time for a partition read again from its start to come through, were it judged.
        tokio::time::sleep(Duration::from_secs(3)).await;
    };
    let summary = runner.run(shutdown, |_| {}).await.unwrap();
    assert!(
        reassigned.load(Ordering::Relaxed),
        "the second member got a partition"
    );
    assert!(
        summary.resumed > 0,
        "a partition came back and was read again: {summary:?}"
    );
    // Each record judged once (or, a posture report read before its device's owner signed
    // in on the other partition, counted once as unowned).
    assert_eq!(
        summary.engine.judged + summary.engine.unowned,
        records.len() as u64,
        "{summary:?}"
    );
}

/// Half the records, then `outage` (the broker away and back), then the rest, through
/// one run with a state folder on `brokers` (the `outage.` topics): every decision of the
/// uninterrupted replay is made, and records fetched again after the outage (from the
/// group's last commit) are passed over, not judged twice.
async fn through_an_outage(brokers: &str, outage: impl std::future::Future<Output = ()>) {
    let folder = tempfile::tempdir().unwrap();
    let records = common::simulated_records(30, 20, 21, 0.8);
    let half = records.len() / 2;
    let config = Config {
        kafka: Some(kafka(brokers, "outage.")),
        state: vigil::config::StateConfig {
            dir: Some(folder.path().join("state")),
            ..Default::default()
        },
        ..Config::default()
    };
    let rules = vigil::compose::load_rules(None, None).unwrap().1;
    let mut runner = Runner::new(&config, rules).unwrap();
    let telemetry = runner.server_state().telemetry;
    let send = |records: Vec<Vec<u8>>| {
        let brokers = brokers.to_string();
        tokio::task::spawn_blocking(move || {
            common::send_records(&brokers, "outage.events", &records)
        })
    };
    send(records[..half].to_vec()).await.unwrap();
    let total = records.len() as f64;
    let read = || telemetry.value("vigil_records_read_total", &[("input", "outage.events")]);
    // The outage is driven beside the run, not inside its shutdown future: while its
    // outputs are unacknowledged the run waits on them (back-pressure) and polls nothing
    // else, so a broker brought back from inside that future would never come back.
    let (over, after) = tokio::sync::oneshot::channel();
    let driver = async {
        let started = Instant::now();
        while read() < half as f64 && started.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // With the first half's outputs and offsets possibly in flight.
        outage.await;
        let _ = over.send(());
    };
    let during = async {
        let _ = after.await;
        send(records[half..].to_vec()).await.unwrap();
        let started = Instant::now();
        while read() < total && started.elapsed() < Duration::from_secs(120) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let mut seen = Vec::new();
    let (summary, ()) = tokio::join!(
        runner.run(during, |decision| seen.push(key(decision))),
        driver
    );
    let summary = summary.expect("the run survives the outage");
    assert_eq!(
        summary.read - summary.resumed,
        records.len() as u64,
        "{summary:?}"
    );
    assert_eq!(
        summary.engine.judged + summary.engine.unowned,
        records.len() as u64
    );
    // Every decision of the uninterrupted replay, acknowledged by the broker (a decision
    // is handed to the callback only once its outputs are).
    seen.sort();
    seen.dedup();
    let reference = {
        let (path, records) = (folder.path().to_path_buf(), records.clone());
        tokio::task::spawn_blocking(move || replayed(&path, &records))
            .await
            .unwrap()
    };
    assert_eq!(seen, reference);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_down_for_a_minute_loses_nothing() {
    let (cluster, brokers) = cluster("outage.", 1);
    // Connections dropped and new ones refused for a minute.
    through_an_outage(&brokers, async {
        cluster.broker_down(1).unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
        cluster.broker_up(1).unwrap();
    })
    .await;
}

/// A TCP proxy on loopback to `target`, that can be cut (every connection dropped, new
/// ones refused) and restored on the same port: a broker that goes away and comes back,
/// as its clients see it.
struct Proxy {
    port: u16,
    target: std::net::SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start(target: std::net::SocketAddr) -> Proxy {
        let port = common::free_port();
        let mut proxy = Proxy {
            port,
            target,
            task: None,
        };
        proxy.restore().await;
        proxy
    }

    async fn restore(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        let target = self.target;
        self.task = Some(tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                connections.spawn(async move {
                    if let Ok(mut broker) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut broker).await;
                    }
                });
            }
        }));
    }

    /// Drops every connection (the join set goes with the task) and stops listening.
    fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_broker_unreachable_for_a_minute_loses_nothing() {
    // A broker of this test's own, advertised at the proxy's port, so every connection
    // of every client goes through the proxy.
    let Some(tansu) = common::real_broker("VIGIL_TANSU") else {
        return;
    };
    let broker_port = common::free_port();
    let target: std::net::SocketAddr = format!("127.0.0.1:{broker_port}").parse().unwrap();
    let mut proxy = Proxy::start(target).await;
    let brokers = format!("127.0.0.1:{}", proxy.port);
    let _broker = common::Run(
        std::process::Command::new(&tansu)
            .args([
                "broker",
                "--silent",
                "--listener-url",
                &format!("tcp://{target}"),
                "--advertised-listener-url",
                &format!("tcp://{brokers}"),
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while tokio::net::TcpStream::connect(target).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "tansu did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let prefix = "outage.";
    let topics: Vec<String> = ["events", "decisions", "alerts", "caep", "dead-letter"]
        .iter()
        .map(|name| format!("{prefix}{name}"))
        .collect();
    common::create_topics(&brokers, &topics).await;
    through_an_outage(&brokers, async {
        proxy.cut();
        tokio::time::sleep(Duration::from_secs(60)).await;
        proxy.restore().await;
    })
    .await;
}
