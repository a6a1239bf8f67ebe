//! `vigil run`: the engine over Kafka, live, through the one pipeline
//! ([`vigil_pipeline`]) with a Kafka source ([`vigil_ingest::kafka`]).
//!
//! One consumer group over the configured input topics, each with its format. Records are
//! judged in small batches (up to `max_batch`, waiting at most `max_wait_ms` for one to
//! fill); every decision goes to the decisions and alerts topics, enforce-mode actions as
//! signed CAEP SETs to the CAEP topic, undecodable records to the dead-letter topic with
//! their origin and reason. Input offsets are stored only after every output of the batch
//! is acknowledged (with a state folder: once the checkpoint covering them is durable), and
//! committed by librdkafka's auto-commit and on shutdown: at-least-once, and the ids make
//! duplicates recognisable.

use crate::compose;
use crate::config::{CaepConfig, Config, KafkaConfig};
use crate::error::{Error, SetupError};
use rdkafka::ClientConfig;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_ingest::enrich::Enricher;
use vigil_ingest::kafka::{KafkaInput, KafkaSource};
use vigil_pipeline::{Pipeline, Summary};
use vigil_rules::Rules;
use vigil_schemas::Decision;
use vigil_sinks::kafka::{CaepOutput, KafkaOutputs, OutputTopics};
use vigil_sinks::ssf::{SsfOutput, Transmitter};
use vigil_sinks::Output;

/// The client settings shared by consumer and producer: brokers and pass-through
/// properties.
pub fn client_config(kafka: &KafkaConfig) -> ClientConfig {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &kafka.brokers);
    for (key, value) in &kafka.properties {
        client.set(key, value);
    }
    client
}

/// The CAEP output `[caep]` asks for: who vigil is and the key it signs with.
pub fn caep_output(caep: &CaepConfig) -> Result<CaepOutput, SetupError> {
    Ok(CaepOutput {
        identity: compose::caep_identity(caep),
        signer: compose::caep_signer(caep)?,
    })
}

/// Everything `run` needs, built and checked before consuming.
pub struct Runner {
    pipeline: Pipeline,
    source: KafkaSource,
    ssf: Option<Transmitter>,
}

impl Runner {
    /// Builds consumer, producer, engine, enrichment and the Shared Signals transmitter
    /// from a validated config.
    pub fn new(config: &Config, rules: Arc<Rules>) -> Result<Runner, SetupError> {
        let caep = config.caep.as_ref().map(caep_output).transpose()?;
        let ssf = compose::transmitter(config)?;
        Runner::with_caep(config, rules, caep, ssf)
    }

    /// As [`Runner::new`], with the CAEP signer and the transmitter given instead of read
    /// from `[caep]` and `[ssf]`.
    pub fn with_caep(
        config: &Config,
        rules: Arc<Rules>,
        caep: Option<CaepOutput>,
        ssf: Option<Transmitter>,
    ) -> Result<Runner, SetupError> {
        let kafka = config.kafka.as_ref().ok_or(SetupError::NoKafka)?;
        let enricher = Enricher::open(&config.enrich)?;
        let client = client_config(kafka);
        let inputs: Vec<KafkaInput> = kafka
            .inputs
            .iter()
            .map(|input| KafkaInput {
                topic: input.topic.clone(),
                format: input.format,
            })
            .collect();
        let source = KafkaSource::new(
            &client,
            &kafka.group_id,
            &inputs,
            kafka.max_batch,
            Duration::from_millis(kafka.max_wait_ms),
        )?;
        let topics = OutputTopics {
            decisions: kafka.outputs.decisions.clone(),
            alerts: kafka.outputs.alerts.clone(),
            caep: kafka.outputs.caep.clone(),
            dead_letter: kafka.outputs.dead_letter.clone(),
        };
        let producer = KafkaOutputs::new(&client, topics, caep).map_err(SetupError::Producer)?;
        let engine = compose::engine(config, rules, config.state.dir.as_deref())?;
        let mut outputs: Vec<Box<dyn Output>> = vec![Box::new(producer)];
        if let Some(transmitter) = &ssf {
            outputs.push(Box::new(SsfOutput::new(transmitter.clone())));
        }
        if let Some(dir) = &config.archive.dir {
            outputs.push(Box::new(compose::archive_output(config, dir, true)?));
        }
        let pipeline = Pipeline::new(engine, enricher, outputs, compose::options(config, true));
        Ok(Runner {
            pipeline,
            source,
            ssf,
        })
    }

    /// Records whose outputs are acknowledged and offsets stored, as the loop goes.
    pub fn handled(&self) -> Arc<AtomicU64> {
        self.pipeline.handled()
    }

    /// What the HTTP server reads: the run's telemetry and a handle into the loop.
    pub fn server_state(&self) -> vigil_server::ServerState {
        vigil_server::ServerState {
            telemetry: self.pipeline.telemetry(),
            handle: self.pipeline.handle(),
            ssf: self.ssf.clone(),
        }
    }

    /// Consumes until `shutdown` resolves, calling `on_decision` for each decision after
    /// it is acknowledged; then flushes outputs and commits the stored offsets.
    pub async fn run<S, D>(&mut self, shutdown: S, on_decision: D) -> Result<Summary, Error>
    where
        S: std::future::Future<Output = ()>,
        D: FnMut(&Decision),
    {
        let started = Instant::now();
        self.pipeline
            .run(&mut self.source, shutdown, on_decision)
            .await?;
        let mut summary = self.pipeline.finish()?;
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }
}

/// Where the run is configured.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Config file (TOML) with [kafka] and, for SETs, [caep] sections.
    #[arg(long)]
    config: std::path::PathBuf,
}

/// Runs `vigil run` until SIGINT or SIGTERM, printing the summary.
pub fn command(args: &RunArgs) -> Result<(), Error> {
    let summary = run_live(&args.config)?;
    eprintln!("{summary}");
    Ok(())
}

/// `vigil run`: validates the config and opens everything before consuming; stops on
/// SIGTERM or Ctrl-C, flushing outputs and committing offsets.
fn run_live(config: &std::path::Path) -> Result<Summary, Error> {
    let (loaded, rules) = compose::load_rules(Some(config), None)?;
    let runtime = super::runtime()?;
    runtime.block_on(async {
        // Signals are caught from the start: a SIGTERM while connecting stops cleanly too.
        let terminated = crate::signals::terminated();
        let shutdown = async move {
            terminated.await;
            eprintln!("vigil run: stopping: flushing outputs, checkpointing and committing offsets");
        };
        let in_config = |error: crate::error::SetupError| crate::error::SetupError::InConfig {
            file: config.to_path_buf(),
            source: Box::new(error),
        };
        let mut runner = Runner::new(&loaded, rules).map_err(in_config)?;
        let server = vigil_server::Server::bind(loaded.server.listen)
            .await
            .map_err(|error| in_config(error.into()))?;
        eprintln!(
            "vigil run: serving {0}/healthz {0}/readyz {0}/metrics {0}/v1/identities/{{id}}",
            server.url()
        );
        if let Some(transmitter) = &runner.ssf {
            eprintln!(
                "vigil run: Shared Signals transmitter {}{}",
                transmitter.issuer(),
                vigil_sinks::ssf::paths::CONFIGURATION
            );
        }
        let (stop_serving, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = server.spawn(runner.server_state(), async move {
            let _ = stopped.await;
        });
        let summary = runner
            .run(shutdown, |decision| {
                tracing::info!(id = %decision.id, identity = %decision.identity, action = decision.action.as_str(), rule = %decision.rule, "decision");
            })
            .await;
        let _ = stop_serving.send(());
        if let Ok(Err(error)) = serving.await {
            tracing::warn!(%error, "the HTTP server failed");
        }
        summary
    })
}
