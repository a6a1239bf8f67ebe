//! `vigil run` killed with SIGKILL mid-stream and started again loses no decision: every
//! decision an uninterrupted run makes over the same topic is written to the decisions
//! topic (at least once, same ids), and none that it does not make. The input arrives in
//! slices between the kills, so each kill lands before the end of the input whatever the
//! machine's speed.
//!
//! The broker is librdkafka's mock cluster hosted by this test process (the `vigil`
//! child connects to it over loopback), or the broker named by `VIGIL_KAFKA_BROKERS`.
//!
//! And a restart whose state already covers the whole input (the last run was killed
//! after its checkpoint but before librdkafka's auto-commit) commits the input's end.

mod common;

use common::Run;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::ClientConfig;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use vigil::config::Config;
use vigil::run::Runner;
use vigil_pipeline::Summary;

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

[server]
listen = "127.0.0.1:0"
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

fn start(folder: &Path) -> Run {
    common::start_run(folder, "crash.toml")
}

/// A broker with the input topic and each run's output topics (one partition each): the
/// mock cluster (kept alive by the first value) or `VIGIL_KAFKA_BROKERS`. Returns it, its
/// address and the prefix of the test's topics and groups.
fn broker(
    test: &str,
    runs: &[&str],
    runtime: &tokio::runtime::Runtime,
) -> (
    Option<MockCluster<'static, DefaultProducerContext>>,
    String,
    String,
) {
    let (cluster, brokers, prefix) = match std::env::var("VIGIL_KAFKA_BROKERS") {
        Ok(brokers) => (None, brokers, format!("{test}{}.", std::process::id())),
        Err(_) => {
            let cluster = MockCluster::new(1).unwrap();
            let brokers = cluster.bootstrap_servers();
            (Some(cluster), brokers, format!("{test}."))
        }
    };
    let topics: Vec<String> = ["events"]
        .iter()
        .map(|name| name.to_string())
        .chain(runs.iter().flat_map(|run| {
            ["decisions", "alerts", "caep", "dead-letter"].map(|output| format!("{run}.{output}"))
        }))
        .map(|name| format!("{prefix}{name}"))
        .collect();
    match &cluster {
        Some(cluster) => {
            for topic in &topics {
                cluster.create_topic(topic, 1, 1).unwrap();
            }
        }
        None => runtime.block_on(common::create_topics(&brokers, &topics)),
    }
    (cluster, brokers, prefix)
}

/// Simulated traffic with attacks, native JSON in event-time order.
fn simulated(identities: usize, days: u32) -> Vec<Vec<u8>> {
    common::simulated_records(identities, days, 5, 0.25)
}

/// A run in this process over the whole input (`total` records), stopped cleanly.
fn run_in_process(runtime: &tokio::runtime::Runtime, config_text: &str, total: u64) -> Summary {
    let config = Config::parse(config_text).unwrap();
    let rules = vigil::compose::load_rules(None, None).unwrap().1;
    let mut runner = runtime
        .block_on(async { Runner::new(&config, rules) })
        .unwrap();
    let handled = runner.handled();
    runtime
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
        .unwrap()
}

/// A consumer of `group` that only asks for its committed offsets.
fn probe(brokers: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .create()
        .unwrap()
}

/// The offset the probe's group has committed on partition 0 of `topic` (None when the
/// broker does not answer).
fn committed(probe: &BaseConsumer, topic: &str) -> Option<rdkafka::Offset> {
    let mut partition = rdkafka::TopicPartitionList::new();
    partition.add_partition(topic, 0);
    probe
        .committed_offsets(partition, Duration::from_secs(5))
        .ok()
        .and_then(|list| list.find_partition(topic, 0).map(|entry| entry.offset()))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_restart_whose_state_covers_the_input_commits_it() {
    let runtime = runtime();
    let (_cluster, brokers, prefix) = broker("covered", &["first", "second"], &runtime);
    let events_topic = format!("{prefix}events");
    let input = simulated(6, 4);
    common::send_records(&brokers, &events_topic, &input);
    let total = input.len() as u64;
    let folder = tempfile::tempdir().unwrap();
    let state = folder.path().join("state");
    let first = run_in_process(
        &runtime,
        &config_text(&brokers, &prefix, "first", &state),
        total,
    );
    assert_eq!(first.read, total);
    // The second run's group has no commit, as after a kill before the first
    // auto-commit; its state (the first run's) already reflects every record.
    let second = run_in_process(
        &runtime,
        &config_text(&brokers, &prefix, "second", &state),
        total,
    );
    assert_eq!(second.read, total);
    assert_eq!(
        second.resumed, total,
        "every record is already in the state"
    );
    assert_eq!(second.decision_count(), 0);
    assert_eq!(
        committed(&probe(&brokers, &format!("{prefix}second")), &events_topic),
        Some(rdkafka::Offset::Offset(total as i64)),
        "records passed over as already judged are committed"
    );
}

/// A topic deleted and created again while vigil is stopped is a new stream: its records
/// are judged from its start, none passed over for the old topic's positions in the state
/// (nor skipped from the group's old commit).
#[test]
fn a_recreated_topic_is_judged_from_its_start() {
    let Some(brokers) = common::real_broker("VIGIL_KAFKA_BROKERS") else {
        return;
    };
    let runtime = runtime();
    let prefix = format!("recreated{}.", std::process::id());
    let events_topic = format!("{prefix}events");
    let outputs: Vec<String> = ["decisions", "alerts", "caep", "dead-letter"]
        .iter()
        .map(|output| format!("{prefix}only.{output}"))
        .collect();
    let mut topics = outputs.clone();
    topics.push(events_topic.clone());
    runtime.block_on(common::create_topics(&brokers, &topics));
    let old = simulated(6, 4);
    // Tansu answers a fetch only from the first record of a batch: the record before the
    // position (the last) is sent in a batch of its own, so the broker can return it.
    common::send_records(&brokers, &events_topic, &old[..old.len() - 1]);
    common::send_records(&brokers, &events_topic, &old[old.len() - 1..]);
    let folder = tempfile::tempdir().unwrap();
    let text = config_text(&brokers, &prefix, "only", &folder.path().join("state"));
    let first = run_in_process(&runtime, &text, old.len() as u64);
    assert_eq!(first.read, old.len() as u64);

    runtime.block_on(common::delete_topics(&brokers, &[&events_topic]));
    std::thread::sleep(Duration::from_secs(1));
    runtime.block_on(common::create_topics(
        &brokers,
        std::slice::from_ref(&events_topic),
    ));
    // More records than the old topic held: the group's old commit and the state's old
    // position both fall inside the new topic.
    let new = common::simulated_records(9, 4, 11, 0.25);
    assert!(new.len() > old.len(), "{} then {}", old.len(), new.len());
    let at = old.len() - 1;
    common::send_records(&brokers, &events_topic, &new[..at]);
    common::send_records(&brokers, &events_topic, &new[at..]);
    // A broker may keep the group's commit of the old topic (Tansu drops it): the run
    // must not start the new topic there.
    let group: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", format!("{prefix}only"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut commit = rdkafka::TopicPartitionList::new();
    commit
        .add_partition_offset(&events_topic, 0, rdkafka::Offset::Offset(old.len() as i64))
        .unwrap();
    group
        .commit(&commit, rdkafka::consumer::CommitMode::Sync)
        .unwrap();
    drop(group);
    let second = run_in_process(&runtime, &text, new.len() as u64);
    assert_eq!(
        second.resumed, 0,
        "nothing of the new topic is in the state"
    );
    assert_eq!(second.read, new.len() as u64, "every new record judged");
}

#[test]
fn sigkill_mid_stream_loses_no_decision() {
    let runtime = runtime();
    let (_cluster, brokers, prefix) = broker("crash", &["reference", "crashed"], &runtime);
    let events_topic = format!("{prefix}events");
    // Under 5 MB: the mock cluster drops a partition's oldest records past that.
    let events = simulated(45, 15);
    // The input arrives in six slices, one before each run, so no run can reach the end
    // of the input before it is killed. In the middle of slices 1 to 5 an undecodable
    // marker: its dead letter says the run has got that far, and the run is killed then,
    // with the rest of its slice to judge.
    let marker = |slice: usize| format!("{{not json: kill marker {slice}").into_bytes();
    let slices: Vec<Vec<Vec<u8>>> = (0..6)
        .map(|slice| {
            let part = &events[slice * events.len() / 6..(slice + 1) * events.len() / 6];
            let mut records = part.to_vec();
            if slice < 5 {
                records.insert(part.len() / 2, marker(slice + 1));
            }
            records
        })
        .collect();
    let total: u64 = slices.iter().map(|slice| slice.len() as u64).sum();

    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("crash.toml"),
        config_text(&brokers, &prefix, "crashed", &folder.path().join("state")),
    )
    .unwrap();
    // The runs' decisions and dead letters, read as they are written: the reader is
    // assigned its partitions (no group to join) and never lets the broker hold a fetch.
    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", format!("{prefix}crashed.reader"))
        .set("fetch.wait.max.ms", "5")
        .create()
        .unwrap();
    let (decisions_topic, dead_topic) = (
        format!("{prefix}crashed.decisions"),
        format!("{prefix}crashed.dead-letter"),
    );
    let mut partitions = rdkafka::TopicPartitionList::new();
    for topic in [&decisions_topic, &dead_topic] {
        partitions
            .add_partition_offset(topic, 0, rdkafka::Offset::Beginning)
            .unwrap();
    }
    reader.assign(&partitions).unwrap();
    let (mut got, mut records, mut dead) = (BTreeSet::new(), 0usize, Vec::new());
    let read_some = |got: &mut BTreeSet<String>, records: &mut usize, dead: &mut Vec<Vec<u8>>| {
        let Some(Ok(message)) = reader.poll(Duration::from_millis(20)) else {
            return false;
        };
        let payload = message.payload().unwrap_or_default();
        if message.topic() == dead_topic {
            dead.push(payload.to_vec());
        } else {
            let decision: serde_json::Value = serde_json::from_slice(payload).unwrap();
            got.insert(decision["id"].as_str().unwrap().to_string());
            *records += 1;
        }
        true
    };
    let mut kills = 0;
    let started = Instant::now();
    while kills < 5 {
        common::send_records(&brokers, &events_topic, &slices[kills]);
        let mut child = start(folder.path());
        while !dead.contains(&marker(kills + 1)) {
            assert!(
                started.elapsed() < Duration::from_secs(180),
                "no progress after {kills} kills; the runs' log ends:\n{}",
                common::log_tail(folder.path())
            );
            assert!(
                child.try_wait().unwrap().is_none(),
                "vigil run exited by itself"
            );
            read_some(&mut got, &mut records, &mut dead);
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        let judged = vigil_engine::store::Store::open(&folder.path().join("state"))
            .unwrap()
            .restore()
            .unwrap()
            .events;
        eprintln!(
            "kill {kills} after {records} decision records, {judged} of {} events in the state",
            events.len()
        );
    }
    common::send_records(&brokers, &events_topic, &slices[5]);
    let mut child = start(folder.path());
    // The last run is done when the group's committed offset reaches the end of the
    // input (committed only once a checkpoint covering it is durable, and only after
    // every output of the records before it is acknowledged).
    let crashed_group = probe(&brokers, &format!("{prefix}crashed"));
    loop {
        let committed = committed(&crashed_group, &events_topic);
        if committed == Some(rdkafka::Offset::Offset(total as i64)) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the input was never committed to its end: {committed:?} of {total}; the runs' log ends:\n{}",
            common::log_tail(folder.path())
        );
        read_some(&mut got, &mut records, &mut dead);
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "vigil run stops cleanly on SIGTERM: {status}"
    );
    let mut quiet = Instant::now();
    while quiet.elapsed() < Duration::from_millis(500) {
        if read_some(&mut got, &mut records, &mut dead) {
            quiet = Instant::now();
        }
    }

    // The reference: an uninterrupted run in this process over the same topic, now whole.
    let text = config_text(&brokers, &prefix, "reference", &folder.path().join("ref"));
    let summary = run_in_process(&runtime, &text, total);
    assert_eq!(summary.read, total);
    assert_eq!(summary.rejected, 5, "the markers");
    let (expected, _) = read_ids(
        &brokers,
        &format!("{prefix}reference.decisions"),
        &format!("{prefix}reference.reader"),
        Duration::from_secs(10),
        |ids| ids.len() as u64 >= summary.decision_count(),
    );
    assert_eq!(expected.len() as u64, summary.decision_count());
    assert!(expected.len() >= 10, "{} decisions", expected.len());
    let missing: Vec<&String> = expected.difference(&got).collect();
    let extra: Vec<&String> = got.difference(&expected).collect();
    assert!(
        missing.is_empty(),
        "{} decisions lost: {missing:?}",
        missing.len()
    );
    assert!(extra.is_empty(), "decisions no clean run makes: {extra:?}");
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
