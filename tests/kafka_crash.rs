//! `vigil run` killed with SIGKILL mid-stream and started again loses no decision: every
//! decision an uninterrupted run makes over the same topic is written to the decisions
//! topic (at least once, same ids), and none that it does not make.
//!
//! The broker is librdkafka's mock cluster hosted by this test process (the `vigil`
//! child connects to it over loopback), or the broker named by `VIGIL_KAFKA_BROKERS`.

mod common;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use vigil::config::Config;
use vigil::run::Runner;
use vigil::simulate::{simulate, SimulateOptions};

fn config_text(brokers: &str, prefix: &str, run: &str, state: &Path) -> String {
    format!(
        r#"[kafka]
brokers = "{brokers}"
group_id = "{prefix}{run}"
inputs = [{{ topic = "{prefix}events", format = "native" }}]
max_batch = 256

[kafka.properties]
"session.timeout.ms" = "6000"
"heartbeat.interval.ms" = "500"

[kafka.outputs]
decisions = "{prefix}{run}.decisions"
alerts = "{prefix}{run}.alerts"
caep = "{prefix}{run}.caep"
dead_letter = "{prefix}{run}.dead-letter"

[state]
dir = "{}"
checkpoint_events = 500
checkpoint_interval_ms = 100
"#,
        state.display()
    )
}

/// Decision ids on a topic, read from the start until `enough` says stop or `limit`.
fn read_ids(
    brokers: &str,
    topic: &str,
    group: &str,
    limit: Duration,
    enough: impl Fn(&BTreeSet<String>) -> bool,
) -> (BTreeSet<String>, usize) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let (mut ids, mut records) = (BTreeSet::new(), 0);
    let started = Instant::now();
    while !enough(&ids) && started.elapsed() < limit {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            let decision: serde_json::Value =
                serde_json::from_slice(message.payload().unwrap_or_default()).unwrap();
            ids.insert(decision["id"].as_str().unwrap().to_string());
            records += 1;
        }
    }
    (ids, records)
}

/// A `vigil run` child that is killed when dropped, so a failed assertion leaves no
/// process behind to run on into the next tests.
struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl std::ops::Deref for Run {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Run {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

/// Every run's log goes to one file, shown when the test fails.
fn start(folder: &Path) -> Run {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(folder.join("vigil.log"))
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["run", "--config", "crash.toml"])
        .current_dir(folder)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map(Run)
        .unwrap()
}

/// The end of the runs' log.
fn log_tail(folder: &Path) -> String {
    let text = std::fs::read_to_string(folder.join("vigil.log")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[test]
fn sigkill_mid_stream_loses_no_decision() {
    let (_cluster, brokers, prefix) = match std::env::var("VIGIL_KAFKA_BROKERS") {
        Ok(brokers) => (None, brokers, format!("crash{}.", std::process::id())),
        Err(_) => {
            let cluster = MockCluster::new(1).unwrap();
            let brokers = cluster.bootstrap_servers();
            (Some(cluster), brokers, "crash.".to_string())
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let topics: Vec<String> = ["events"]
        .iter()
        .map(|name| name.to_string())
        .chain(["reference", "crashed"].iter().flat_map(|run| {
            ["decisions", "alerts", "caep", "dead-letter"].map(|output| format!("{run}.{output}"))
        }))
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

    // Traffic with attacks, on one partition in event-time order.
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .unwrap();
    let events_topic = format!("{prefix}events");
    let mut total = 0u64;
    simulate(
        &SimulateOptions {
            // Under 5 MB: the mock cluster drops a partition's oldest records past that.
            identities: 45,
            days: 15,
            seed: 5,
            attack_rate: 0.25,
            ..SimulateOptions::default()
        },
        |event| {
            let payload = serde_json::to_vec(event).unwrap();
            while producer
                .send(BaseRecord::<[u8], [u8]>::to(&events_topic).payload(&payload))
                .is_err()
            {
                producer.poll(Duration::from_millis(5));
            }
            total += 1;
            Ok(())
        },
    )
    .unwrap();
    producer.flush(Duration::from_secs(30)).unwrap();
    eprintln!("{total} records produced");

    // The reference: an uninterrupted run in this process.
    let folder = tempfile::tempdir().unwrap();
    let text = config_text(&brokers, &prefix, "reference", &folder.path().join("ref"));
    let config = Config::parse(&text).unwrap();
    let rules = vigil::replay::load_rules(None, None).unwrap().1;
    let mut runner = runtime
        .block_on(async { Runner::new(&config, rules) })
        .unwrap();
    let handled = runner.handled();
    let summary = runtime
        .block_on(runner.run(
            async move {
                let started = Instant::now();
                while handled.load(Ordering::Relaxed) < total
                    && started.elapsed() < Duration::from_secs(120)
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            |_| {},
        ))
        .unwrap();
    assert_eq!(summary.read, total);
    drop(runner);
    let (expected, _) = read_ids(
        &brokers,
        &format!("{prefix}reference.decisions"),
        &format!("{prefix}reference.reader"),
        Duration::from_secs(10),
        |ids| ids.len() as u64 >= summary.decision_count(),
    );
    assert_eq!(expected.len() as u64, summary.decision_count());
    assert!(expected.len() >= 10, "{} decisions", expected.len());

    // The same topic, the binary killed with SIGKILL five times along the way.
    std::fs::write(
        folder.path().join("crash.toml"),
        config_text(&brokers, &prefix, "crashed", &folder.path().join("state")),
    )
    .unwrap();
    // Each kill lands once the run has written decisions since the previous kill: mid
    // stream, with work done and more to do.
    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", format!("{prefix}crashed.reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    reader
        .subscribe(&[format!("{prefix}crashed.decisions").as_str()])
        .unwrap();
    let (mut got, mut records) = (BTreeSet::new(), 0usize);
    let read_some = |got: &mut BTreeSet<String>, records: &mut usize| {
        if let Some(Ok(message)) = reader.poll(Duration::from_millis(20)) {
            let decision: serde_json::Value =
                serde_json::from_slice(message.payload().unwrap_or_default()).unwrap();
            got.insert(decision["id"].as_str().unwrap().to_string());
            *records += 1;
        }
    };
    let mut kills = 0;
    let started = Instant::now();
    while kills < 5 {
        let mut child = start(folder.path());
        let before = records;
        while records == before {
            assert!(
                started.elapsed() < Duration::from_secs(180),
                "no progress after {kills} kills; the runs' log ends:\n{}",
                log_tail(folder.path())
            );
            assert!(
                child.try_wait().unwrap().is_none(),
                "vigil run exited by itself"
            );
            read_some(&mut got, &mut records);
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        eprintln!("kill {kills} after {records} decision records");
        assert!(
            !expected.is_subset(&got),
            "the run finished before the kills: use more input"
        );
    }
    let mut child = start(folder.path());
    while !expected.is_subset(&got) && started.elapsed() < Duration::from_secs(240) {
        read_some(&mut got, &mut records);
    }
    // The last run is done when the group's committed offset reaches the end of the
    // input (committed only once a checkpoint covering it is durable).
    let probe: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", format!("{prefix}crashed"))
        .create()
        .unwrap();
    let mut partition = rdkafka::TopicPartitionList::new();
    partition.add_partition(&events_topic, 0);
    loop {
        let committed = probe
            .committed_offsets(partition.clone(), Duration::from_secs(5))
            .ok()
            .and_then(|list| {
                list.find_partition(&events_topic, 0)
                    .map(|entry| entry.offset())
            });
        if committed == Some(rdkafka::Offset::Offset(total as i64)) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the input was never committed to its end: {committed:?} of {total}; the runs' log ends:\n{}",
            log_tail(folder.path())
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    let missing: Vec<&String> = expected.difference(&got).collect();
    let extra: Vec<&String> = got.difference(&expected).collect();
    assert!(
        missing.is_empty(),
        "{} decisions lost: {missing:?}",
        missing.len()
    );
    assert!(extra.is_empty(), "decisions no clean run makes: {extra:?}");
    assert!(
        status.success(),
        "vigil run stops cleanly on SIGTERM: {status}"
    );
    eprintln!(
        "{kills} kills: {} decisions expected, {records} records read back ({} repeats)",
        expected.len(),
        records - got.len()
    );
    // One partition in event-time order: batch boundaries do not matter, so the state
    // after the kills equals the uninterrupted run's, event for event.
    let reference = vigil_engine::store::Store::open(&folder.path().join("ref")).unwrap();
    let crashed = vigil_engine::store::Store::open(&folder.path().join("state")).unwrap();
    assert_eq!(
        reference.restore().unwrap().events,
        crashed.restore().unwrap().events,
        "events judged into the state"
    );
    let (reference, crashed) = (
        reference.identities().unwrap(),
        crashed.identities().unwrap(),
    );
    assert_eq!(reference.len(), crashed.len());
    for (left, right) in reference.iter().zip(&crashed) {
        assert!(left == right, "the state of {} differs", left.0);
    }
}
