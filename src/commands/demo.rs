//! `vigil demo`: the main job on embedded defaults, no server and no file needed.
//!
//! Starts librdkafka's in-process mock cluster, simulates three weeks of traffic for a few
//! hundred identities with attacks woven in, produces it day by day onto three topics
//! (`vigil.auth`, `vigil.posture`, `vigil.access`), runs the full engine over Kafka exactly
//! as `vigil run` does (decisions, SOC alerts, signed CAEP SETs and dead letters out),
//! prints each enforcement decision as a SOC analyst reads it once its outputs are
//! acknowledged, and ends with a summary and the commands to try next.

use super::run::Runner;
use crate::compose::load_rules;
use crate::config::{Config, InputTopic, KafkaConfig, OutputTopicNames};
use crate::error::{Error, SetupError};
use crate::report::render;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use vigil_backtest::simulate::{simulate, SimulateOptions};
use vigil_ingest::Format;
use vigil_pipeline::Summary;
use vigil_schemas::caep::CaepIdentity;
use vigil_schemas::{Action, Detail, Event, Mode};
use vigil_sinks::caep::Signer;
use vigil_sinks::kafka::CaepOutput;

/// A P-256 key for the demo's SETs only (the same test key the sinks' tests use); never
/// use it for anything real.
const DEMO_KEY: &str = include_str!("../../sinks/tests/keys/test-es256.pem");

/// The demo's input topics, by event kind.
const INPUTS: [&str; 3] = ["vigil.auth", "vigil.posture", "vigil.access"];

/// What the demo runs (the command's arguments).
#[derive(Debug, Clone, clap::Args)]
pub struct DemoOptions {
    /// Identities to simulate.
    #[arg(long, default_value_t = 300)]
    pub identities: usize,
    /// Days to simulate.
    #[arg(long, default_value_t = 21)]
    pub days: u32,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Also print alerts and monitor-mode decisions.
    #[arg(long)]
    pub all: bool,
    /// Where the demo's archive goes (its tables are replaced on each run).
    #[arg(long, default_value = "vigil-demo-archive")]
    pub archive: std::path::PathBuf,
    /// Where the HTTP server listens (health, readiness, metrics, identities); a port
    /// the OS picks when it is taken.
    #[arg(long, default_value_t = vigil_server::DEFAULT_LISTEN)]
    pub listen: std::net::SocketAddr,
    /// Keep serving after the summary, until Ctrl-C or SIGTERM.
    #[arg(long)]
    pub serve: bool,
}

/// Binds `listen`, or a port the OS picks on the same address when it is taken (a second
/// demo, or a `vigil run` on the default port).
async fn bind(listen: std::net::SocketAddr) -> Result<vigil_server::Server, Error> {
    match vigil_server::Server::bind(listen).await {
        Ok(server) => Ok(server),
        Err(_) => Ok(
            vigil_server::Server::bind(std::net::SocketAddr::new(listen.ip(), 0))
                .await
                .map_err(SetupError::from)?,
        ),
    }
}

fn setup(error: impl std::fmt::Display) -> Error {
    SetupError::EmbeddedKafka(error.to_string()).into()
}

fn topic_of(event: &Event) -> &'static str {
    match event.detail {
        Detail::Auth(_) => INPUTS[0],
        Detail::Posture(_) => INPUTS[1],
        Detail::Access(_) => INPUTS[2],
    }
}

/// Runs the demo, writing to `out`.
pub fn run(options: &DemoOptions, out: &mut dyn Write) -> Result<Summary, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(setup)?;
    runtime.block_on(run_on_kafka(options, out))
}

async fn run_on_kafka(options: &DemoOptions, out: &mut dyn Write) -> Result<Summary, Error> {
    let io_error = |source: std::io::Error| Error::Io {
        what: "failed to write the demo output",
        source,
    };
    // Simulated traffic, grouped by day (each day in event-time order).
    let simulate_options = SimulateOptions {
        identities: options.identities,
        days: options.days,
        seed: options.seed,
        // Dense enough that a few hundred identities show every kind of attack.
        attack_rate: 0.2,
        ..SimulateOptions::default()
    };
    let mut days: Vec<Vec<(String, &'static str, Vec<u8>)>> = Vec::new();
    let mut day_of = None;
    let simulation = simulate(&simulate_options, |event| {
        let day = event.time.as_secs().div_euclid(86_400);
        if day_of != Some(day) {
            day_of = Some(day);
            days.push(Vec::new());
        }
        let key = event
            .identity
            .as_deref()
            .or(event.device_id.as_deref())
            .unwrap_or_default()
            .to_string();
        let payload = serde_json::to_vec(event).map_err(std::io::Error::other)?;
        if let Some(today) = days.last_mut() {
            today.push((key, topic_of(event), payload));
        }
        Ok(())
    })
    .map_err(|source| Error::Io {
        what: "simulation failed",
        source,
    })?;
    let total: u64 = days.iter().map(|day| day.len() as u64).sum();
    writeln!(
        out,
        "vigil demo: {} identities, {} days: {}\n",
        options.identities, options.days, simulation.stats
    )
    .map_err(io_error)?;

    let cluster = MockCluster::new(1).map_err(setup)?;
    for topic in INPUTS {
        cluster.create_topic(topic, 3, 1).map_err(setup)?;
    }
    let outputs = OutputTopicNames::default();
    for topic in [
        &outputs.decisions,
        &outputs.alerts,
        &outputs.caep,
        &outputs.dead_letter,
    ] {
        cluster.create_topic(topic, 3, 1).map_err(setup)?;
    }
    let brokers = cluster.bootstrap_servers();
    let (config, rules) = load_rules(None, None)?;
    // A fresh archive each run: only the tables' folders go, nothing else in the folder.
    for table in vigil_schemas::archive::TABLES {
        let folder = options.archive.join(table);
        if folder.is_dir() {
            std::fs::remove_dir_all(&folder).map_err(|error| {
                SetupError::Usage(format!("cannot clear `{}`: {error}", folder.display()))
            })?;
        }
    }
    let config = Config {
        archive: crate::config::ArchiveConfig {
            dir: Some(options.archive.clone()),
            ..config.archive.clone()
        },
        kafka: Some(KafkaConfig {
            brokers: brokers.clone(),
            group_id: "vigil-demo".into(),
            properties: Default::default(),
            inputs: INPUTS
                .iter()
                .map(|topic| InputTopic {
                    topic: (*topic).to_string(),
                    format: Format::Native,
                })
                .collect(),
            outputs,
            max_batch: 2048,
            max_wait_ms: 2,
        }),
        ..config
    };
    let caep = CaepOutput {
        identity: CaepIdentity {
            issuer: "https://vigil.demo.invalid/".into(),
            audience: "https://idp.demo.invalid/caep".into(),
            subject_issuer: "https://idp.demo.invalid/".into(),
            simple_subjects: false,
        },
        signer: Signer::from_pem(DEMO_KEY, "vigil-demo").map_err(setup)?,
    };
    let mut runner = Runner::with_caep(&config, rules, Some(caep))?;
    let handled = runner.handled();
    let server = bind(options.listen).await?;
    let url = server.url();
    writeln!(
        out,
        "serving {url}/healthz {url}/readyz {url}/metrics {url}/v1/identities/{{id}} while it runs\n"
    )
    .map_err(io_error)?;
    let (stop_serving, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = server.spawn(runner.server_state(), async move {
        let _ = stopped.await;
    });
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("linger.ms", "5")
        .create()
        .map_err(setup)?;
    let started = Instant::now();
    // Day by day, as a live stream would bring them: the next day is produced once the
    // engine has caught up, so the three topics stay in step.
    let produce = {
        let handled = handled.clone();
        async move {
            let mut produced = 0u64;
            for day in &days {
                let mut deliveries = Vec::with_capacity(day.len());
                for (key, topic, payload) in day {
                    loop {
                        match producer
                            .send_result(FutureRecord::to(topic).key(key).payload(payload))
                        {
                            Ok(delivery) => {
                                deliveries.push(delivery);
                                break;
                            }
                            Err(_) => tokio::time::sleep(Duration::from_millis(2)).await,
                        }
                    }
                }
                for delivery in deliveries {
                    let _ = delivery.await;
                }
                produced += day.len() as u64;
                while handled.load(Ordering::Relaxed) < produced {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    };
    let shutdown = async {
        produce.await;
        while handled.load(Ordering::Relaxed) < total {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let mut hidden_alerts = 0u64;
    let mut write_error = None;
    let mut revoked = None;
    let mut summary = runner
        .run(shutdown, |decision| {
            if decision.action == Action::RevokeSession && revoked.is_none() {
                revoked = Some(decision.identity.to_string());
            }
            let quiet = decision.action == Action::Alert || decision.mode == Mode::Monitor;
            if quiet && !options.all {
                hidden_alerts += 1;
            } else if let Err(error) = out.write_all(render(decision).as_bytes()) {
                write_error.get_or_insert(error);
            }
        })
        .await?;
    if let Some(error) = write_error {
        return Err(io_error(error));
    }
    summary.seconds = started.elapsed().as_secs_f64();
    writeln!(out, "\n{summary}").map_err(io_error)?;
    writeln!(
        out,
        "over Kafka (librdkafka's in-process mock cluster): {total} records consumed from {}, decisions to vigil.decisions and vigil.alerts, signed CAEP SETs (ES256, demo key) to vigil.caep",
        INPUTS.join(", ")
    )
    .map_err(io_error)?;
    if hidden_alerts > 0 {
        writeln!(out, "({hidden_alerts} alerts and monitor-mode decisions not shown: `vigil demo --all` shows them)").map_err(io_error)?;
    }
    // The archive the run wrote, and a question for it.
    let archive = options.archive.display().to_string();
    let context = vigil_history::open(&options.archive).await?;
    let question = "SELECT identity, session_id, peak_risk, actions, revoked_at FROM sessions_latest WHERE revoked_at IS NOT NULL ORDER BY peak_risk DESC, identity LIMIT 5";
    let answer = vigil_history::query(&context, question).await?;
    writeln!(
        out,
        "\nhistory for analysts in `{archive}` (events, signals, decisions, sessions as Parquet); the sessions revoked with the highest risk:"
    )
    .map_err(io_error)?;
    vigil_history::write(&answer, vigil_history::Format::Table, out)?;
    writeln!(
        out,
        "\nnext (`vigil` is target/release/vigil after `cargo build --release`):\n  vigil sql --archive {archive} \"SELECT rule, mode, count(*) AS n FROM decisions GROUP BY rule, mode ORDER BY n DESC\"\n  vigil sql --archive {archive}     # an interactive shell: SHOW TABLES; DESCRIBE sessions;"
    )
    .map_err(io_error)?;
    writeln!(
        out,
        "  vigil simulate --identities 2000 --days 30 --output events.jsonl --labels labels.jsonl\n  vigil replay --input events.jsonl --output decisions.jsonl\n  vigil eval --decisions decisions.jsonl --labels labels.jsonl\n  vigil replay --input ../shared/data/elastic-integrations/okta/test-okta-system-events.log --format auto --output -\n  vigil run --config vigil.toml     # against your Kafka (see README)"
    )
    .map_err(io_error)?;
    if options.serve {
        let identity = revoked.unwrap_or_else(|| "user00001@example.com".to_string());
        writeln!(
            out,
            "\nserving until Ctrl-C (SIGINT or SIGTERM):\n  curl {url}/metrics\n  curl {url}/v1/identities/{identity}"
        )
        .map_err(io_error)?;
        out.flush().map_err(io_error)?;
        runner.answer_until(crate::signals::terminated()).await;
    } else {
        writeln!(
            out,
            "  vigil demo --serve                 # keeps {url} serving after the summary"
        )
        .map_err(io_error)?;
    }
    let _ = stop_serving.send(());
    if let Ok(Err(error)) = serving.await {
        tracing::warn!(%error, "the HTTP server failed");
    }
    Ok(summary)
}
