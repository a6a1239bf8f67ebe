//! Faults vigil must survive without losing or holding back a decision: the archive's
//! folder becoming unwritable in the middle of a run. (A newer or corrupt state file is
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
    let cluster = MockCluster::new(1).unwrap();
    let prefix = "fault.";
    for name in ["events", "decisions", "alerts", "caep", "dead-letter"] {
        cluster
            .create_topic(&format!("{prefix}{name}"), 1, 1)
            .unwrap();
    }
    let brokers = cluster.bootstrap_servers();
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
}
