//! `vigil demo`: the main job on embedded defaults, no server and no file needed.
//!
//! Starts librdkafka's in-process mock cluster, simulates three weeks of traffic for a few
//! hundred identities with attacks woven in, produces it day by day onto three topics
//! (`vigil.auth`, `vigil.posture`, `vigil.access`), runs the full engine over Kafka exactly
//! as `vigil run` does (decisions, SOC alerts, signed CAEP SETs and dead letters out),
//! prints each enforcement decision as a SOC analyst reads it once its outputs are
//! acknowledged, and ends with a summary and the commands to try next.
//!
//! vigil is a Shared Signals transmitter on its HTTP server during the demo: a demo
//! receiver ([`receiver`]) discovers it, creates a push stream with the bearer token the
//! demo prints, and verifies every SET it is sent. `--serve` goes on after the summary
//! with paced traffic (attacks included) until Ctrl-C, so a receiver or a person arriving
//! later sees new SETs.

mod receiver;

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
use vigil_sinks::ssf::{Outbox, Receiver, SsfConfig, Transmitter};

/// The demo receiver's name in `[ssf]` terms.
const DEMO_RECEIVER: &str = "demo-receiver";

/// A record to produce: key, topic, payload.
type Record = (String, &'static str, Vec<u8>);

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
    /// Keep serving after the summary, with paced traffic, until Ctrl-C or SIGTERM.
    #[arg(long)]
    pub serve: bool,
    /// Events per second of the paced traffic `--serve` goes on with.
    #[arg(long, default_value_t = 5.0)]
    pub pace: f64,
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

/// An event as the record the demo produces: keyed by identity (or device), on its
/// kind's topic.
fn record(event: &Event) -> std::io::Result<Record> {
    let key = event
        .identity
        .as_deref()
        .or(event.device_id.as_deref())
        .unwrap_or_default()
        .to_string();
    let payload = serde_json::to_vec(event).map_err(std::io::Error::other)?;
    Ok((key, topic_of(event), payload))
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
    let mut days: Vec<Vec<Record>> = Vec::new();
    let mut day_of = None;
    let simulation = simulate(&simulate_options, |event| {
        let day = event.time.as_secs().div_euclid(86_400);
        if day_of != Some(day) {
            day_of = Some(day);
            days.push(Vec::new());
        }
        if let Some(today) = days.last_mut() {
            today.push(record(event)?);
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
    let server = bind(options.listen).await?;
    let url = server.url();
    let token = receiver::uuid_like();
    // The demo's SETs are signed with a key made for this run (RS256, as the CAEP
    // interoperability profile asks), never written anywhere and never shared.
    let signer = Signer::generate_rs256().map_err(setup)?;
    let transmitter = demo_transmitter(&url, &token, signer.clone())?;
    let caep = CaepOutput {
        identity: CaepIdentity {
            issuer: url.clone(),
            audience: "https://idp.demo.invalid/caep".into(),
            subject_issuer: "https://idp.demo.invalid/".into(),
            simple_subjects: false,
        },
        signer,
    };
    let mut runner = Runner::with_caep(&config, rules, Some(caep), Some(transmitter.clone()))?;
    let handled = runner.handled();
    let (stop_serving, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = server.spawn(runner.server_state(), async move {
        let _ = stopped.await;
    });
    let demo_receiver = receiver::DemoReceiver::start(&url, &token)
        .await
        .map_err(|problem| Error::Io {
            what: "the demo's Shared Signals receiver failed",
            source: std::io::Error::other(problem),
        })?;
    writeln!(
        out,
        "serving {url}/healthz {url}/readyz {url}/metrics {url}/v1/identities/{{id}} while it runs"
    )
    .map_err(io_error)?;
    writeln!(
        out,
        "Shared Signals transmitter {url}{}: the demo receiver created push stream {} to {}\n  its bearer token, for streams of your own: Authorization: Bearer {token}\n",
        vigil_sinks::ssf::paths::CONFIGURATION,
        demo_receiver.stream_id,
        demo_receiver.endpoint
    )
    .map_err(io_error)?;
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
        let producer = producer.clone();
        async move {
            let mut produced = 0u64;
            for day in &days {
                let mut deliveries = Vec::with_capacity(day.len());
                for (key, topic, payload) in day {
                    deliveries.push(send(&producer, topic, key, payload).await);
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
        "over Kafka (librdkafka's in-process mock cluster): {total} records consumed from {}, decisions to vigil.decisions and vigil.alerts, signed CAEP SETs (RS256, demo key) to vigil.caep and to Shared Signals receivers",
        INPUTS.join(", ")
    )
    .map_err(io_error)?;
    if hidden_alerts > 0 {
        writeln!(out, "({hidden_alerts} alerts and monitor-mode decisions not shown: `vigil demo --all` shows them)").map_err(io_error)?;
    }
    report_receiver(&transmitter, &demo_receiver, out).await?;
    // The archive the run wrote, and a question for it.
    let archive = options.archive.display().to_string();
    let context =
        vigil_history::open(&options.archive, vigil_history::DEFAULT_MEMORY_LIMIT).await?;
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
            "\nserving until Ctrl-C (SIGINT or SIGTERM), with new traffic at {} events/s (attacks included); the demo receiver prints each SET it gets:\n  curl {url}/metrics\n  curl {url}/v1/identities/{identity}\n  curl {}\n  curl {url}{}\n  curl -X POST {url}{} -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' -d '{{}}'\n  curl -X POST {url}{}STREAM_ID -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' -d '{{\"maxEvents\": 5}}'\n",
            options.pace,
            demo_receiver.view_url,
            vigil_sinks::ssf::paths::CONFIGURATION,
            vigil_sinks::ssf::paths::STREAMS,
            vigil_sinks::ssf::paths::POLL,
        )
        .map_err(io_error)?;
        out.flush().map_err(io_error)?;
        demo_receiver.announce();
        let paced = paced_traffic(options)?;
        let pace = options.pace.clamp(0.1, 10_000.0);
        let feeding = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / pace));
            for (key, topic, payload) in &paced {
                tick.tick().await;
                let _ = send(&producer, topic, key, payload).await.await;
            }
        });
        let live = runner
            .run(crate::signals::terminated(), |decision| {
                let quiet = decision.action == Action::Alert || decision.mode == Mode::Monitor;
                if !quiet || options.all {
                    let _ = out.write_all(render(decision).as_bytes());
                    let _ = out.flush();
                }
            })
            .await?;
        feeding.abort();
        writeln!(out, "\nwhile serving: {live}").map_err(io_error)?;
    } else {
        writeln!(
            out,
            "  vigil demo --serve                 # keeps {url} serving after the summary, with new traffic"
        )
        .map_err(io_error)?;
    }
    let _ = stop_serving.send(());
    if let Ok(Err(error)) = serving.await {
        tracing::warn!(%error, "the HTTP server failed");
    }
    Ok(summary)
}

/// The demo's transmitter: issuer `url` (plain http, loopback), one receiver whose bearer
/// token is `token`, its outbox in memory.
fn demo_transmitter(url: &str, token: &str, signer: Signer) -> Result<Transmitter, Error> {
    let receiver = Receiver {
        name: DEMO_RECEIVER.into(),
        token_sha256: vigil_sinks::ssf::config::token_digest(token),
        audience: "https://receiver.demo.invalid/".into(),
        events: vigil_sinks::ssf::config::EVENT_TYPES
            .iter()
            .map(|(_, uri)| *uri)
            .collect(),
        max_streams: 4,
    };
    let settings = vigil_sinks::ssf::Settings {
        issuer: url.to_string(),
        config: SsfConfig::default(),
        receivers: vec![receiver],
        subjects: CaepIdentity {
            issuer: url.to_string(),
            audience: String::new(),
            subject_issuer: "https://idp.demo.invalid/".into(),
            simple_subjects: false,
        },
        signer,
    };
    let outbox = Outbox::in_memory().map_err(SetupError::Outbox)?;
    Ok(Transmitter::new(settings, outbox).map_err(SetupError::Outbox)?)
}

/// Sends one record, waiting out a full producer queue.
async fn send(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    payload: &[u8],
) -> rdkafka::producer::DeliveryFuture {
    loop {
        match producer.send_result(FutureRecord::to(topic).key(key).payload(payload)) {
            Ok(delivery) => return delivery,
            Err(_) => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
}

/// Traffic after the demo's days, for `--serve`: the same identities (same seed, so the
/// same homes and devices), sixty more days of it.
fn paced_traffic(options: &DemoOptions) -> Result<Vec<Record>, Error> {
    let simulate_options = SimulateOptions {
        identities: options.identities,
        days: options.days + 60,
        seed: options.seed,
        // Three times the demo's density of attacks per day: at a few events per second a
        // person arriving later sees a SET within minutes.
        attack_rate: 0.6 * f64::from(options.days + 60) / f64::from(options.days.max(1)),
        ..SimulateOptions::default()
    };
    let after = simulate_options
        .start
        .plus_secs(i64::from(options.days) * 86_400);
    let mut records = Vec::new();
    simulate(&simulate_options, |event| {
        if event.time >= after {
            records.push(record(event)?);
        }
        Ok(())
    })
    .map_err(|source| Error::Io {
        what: "simulation failed",
        source,
    })?;
    Ok(records)
}

/// Waits for the outbox to empty, then prints what the demo receiver got.
async fn report_receiver(
    transmitter: &Transmitter,
    demo_receiver: &receiver::DemoReceiver,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while transmitter.depth() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (verified, refused, by_type, echoed, example) = demo_receiver.view(|view| {
        let example = view
            .latest
            .iter()
            .rev()
            .find(|claims| {
                claims["events"]
                    .get(vigil_schemas::caep::event_type::SESSION_REVOKED)
                    .is_some()
            })
            .cloned();
        (
            view.verified,
            view.refused,
            view.by_type.clone(),
            view.verification_echoed,
            example,
        )
    });
    let kinds: Vec<String> = by_type
        .iter()
        .map(|(kind, count)| format!("{count} {kind}"))
        .collect();
    let write = |out: &mut dyn Write, text: String| {
        writeln!(out, "{text}").map_err(|source| Error::Io {
            what: "failed to write the demo output",
            source,
        })
    };
    write(
        out,
        format!(
            "\nShared Signals: the demo receiver got {verified} SETs pushed over HTTP (RFC 8935), each signature verified against {} ({}); {refused} refused; its verification state came back: {}; its view: {}",
            demo_receiver.jwks_uri,
            kinds.join(", "),
            if echoed { "yes" } else { "no" },
            demo_receiver.view_url
        ),
    )?;
    if let Some(example) = example {
        write(
            out,
            format!(
                "one of them, decoded:\n{}",
                serde_json::to_string_pretty(&example).unwrap_or_default()
            ),
        )?;
    }
    Ok(())
}
