//! The `vigil` command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use vigil::replay::{replay, ReplayOptions};
use vigil::simulate::{simulate_to, SimulateOptions};
use vigil_ingest::Format;

/// mimalloc: decoding allocates a handful of short strings per event on every core, and
/// the system allocator spent a third of replay time in `malloc`/`free` (perf, 1M events).
/// Declared by the binary (and the benches), not the library, so a bench can wrap it to
/// count bytes.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// vigil: continuous verification for Zero Trust. Watches sign-ins, device posture and
/// access, keeps per-identity baselines, and decides when a session must be re-checked
/// or revoked.
#[derive(Parser)]
#[command(name = "vigil", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The main job on embedded defaults: simulated traffic with attacks, judged live.
    Demo {
        /// Identities to simulate.
        #[arg(long, default_value_t = 300)]
        identities: usize,
        /// Days to simulate.
        #[arg(long, default_value_t = 21)]
        days: u32,
        /// Seed of the simulation.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Also print alerts and monitor-mode decisions.
        #[arg(long)]
        all: bool,
        /// Where the demo's archive goes (its tables are replaced on each run).
        #[arg(long, default_value = "vigil-demo-archive")]
        archive: PathBuf,
        /// Where the HTTP server listens (health, readiness, metrics, identities); a port
        /// the OS picks when it is taken.
        #[arg(long, default_value_t = vigil_server::DEFAULT_LISTEN)]
        listen: std::net::SocketAddr,
        /// Keep serving after the summary, until Ctrl-C or SIGTERM.
        #[arg(long)]
        serve: bool,
    },
    /// Judge events from Kafka live: decisions, SOC alerts and signed CAEP SETs to Kafka.
    Run {
        /// Config file (TOML) with [kafka] and, for SETs, [caep] sections.
        #[arg(long)]
        config: PathBuf,
    },
    /// Judge events from files, deterministically; decisions as JSON lines.
    Replay {
        /// Input files of JSON lines (`-` for standard input).
        #[arg(long = "input", required = true, num_args = 1..)]
        inputs: Vec<PathBuf>,
        /// Input format: auto, native, ocsf, okta, entra, cloudtrail, auth0, gws.
        #[arg(long, default_value = "auto")]
        format: Format,
        /// Policy file (YAML); default: the built-in policy.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Config file (TOML).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Where decisions go (`-` for standard output).
        #[arg(long)]
        output: PathBuf,
        /// Where rejected records go; default `<output>.rejects.jsonl`.
        #[arg(long)]
        rejects: Option<PathBuf>,
        /// State folder: resume from it and checkpoint to it (a killed or finished replay
        /// goes on where it stopped); overrides `[state] dir`.
        #[arg(long)]
        state: Option<PathBuf>,
        /// Archive folder: events, signals and decisions as Parquet, for `vigil sql`.
        #[arg(long)]
        archive: Option<PathBuf>,
    },
    /// SQL over the archive (DataFusion): tables `events`, `signals`, `decisions` and
    /// `sessions`, each with a `date` partition column, and the view `sessions_latest`.
    /// With no query: an interactive shell on a terminal, else the `;`-ended statements
    /// read from standard input.
    Sql {
        /// The query.
        query: Option<String>,
        /// The archive folder.
        #[arg(long, default_value = "archive")]
        archive: PathBuf,
        /// Output: table, csv, json (one object per line) or parquet.
        #[arg(long, default_value = "table")]
        format: vigil::sql::Format,
    },
    /// Retention and privacy in the archive.
    Archive {
        #[command(subcommand)]
        action: ArchiveAction,
    },
    /// Look into a stopped engine's state folder.
    State {
        #[command(subcommand)]
        action: StateAction,
    },
    /// Generate realistic traffic with attacks woven in, as native JSON lines.
    Simulate {
        /// Identities.
        #[arg(long, default_value_t = 1000)]
        identities: usize,
        /// Days.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Attacks per identity over the run.
        #[arg(long, default_value_t = 0.05)]
        attack_rate: f64,
        /// Output file (`-` for standard output).
        #[arg(long)]
        output: PathBuf,
        /// Where the ground truth goes (attacks and sessions, JSON lines) for `vigil eval`.
        #[arg(long)]
        labels: Option<PathBuf>,
    },
    /// Score decisions against the labels of simulated traffic: recall, precision and
    /// delay per attack kind and per detector, and the share of benign sessions acted on.
    Eval {
        /// Decisions, as JSON lines (what `vigil replay` writes).
        #[arg(long)]
        decisions: PathBuf,
        /// Labels, as JSON lines (what `vigil simulate --labels` writes).
        #[arg(long)]
        labels: PathBuf,
        /// Print one JSON object instead of tables.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ArchiveAction {
    /// Remove the days before a date (`YYYY-MM-DD`) from every table: `--before`, else
    /// today minus the config's `[archive] retention_days`.
    Prune {
        /// The first day kept.
        #[arg(long)]
        before: Option<String>,
        /// Config file (TOML) with `[archive] retention_days` (and `dir`).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The archive folder; default the config's `[archive] dir`, else `archive`.
        #[arg(long)]
        archive: Option<PathBuf>,
    },
    /// Rewrite the files holding an identity's rows without them (a privacy request).
    Forget {
        /// The identity.
        identity: String,
        /// The archive folder.
        #[arg(long, default_value = "archive")]
        archive: PathBuf,
    },
}

#[derive(Subcommand)]
enum StateAction {
    /// Print what vigil believes is normal for an identity, as JSON.
    Inspect {
        /// The identity.
        identity: String,
        /// The state folder.
        #[arg(long)]
        state: PathBuf,
    },
    /// Drop an identity's state (re-provisioned user, privacy request).
    Forget {
        /// The identity.
        identity: String,
        /// The state folder.
        #[arg(long)]
        state: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Demo {
            identities,
            days,
            seed,
            all,
            archive,
            listen,
            serve,
        } => {
            let options = vigil::demo::DemoOptions {
                identities,
                days,
                seed,
                all,
                archive,
                listen,
                serve,
            };
            match vigil::demo::run(&options, &mut std::io::stdout().lock()) {
                Ok(_) => ExitCode::SUCCESS,
                Err(error) => fail(&error.to_string(), error.exit_code()),
            }
        }
        Command::Run { config } => match run_live(&config) {
            Ok(summary) => {
                eprintln!("{summary}");
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error.to_string(), error.exit_code()),
        },
        Command::Replay {
            inputs,
            format,
            policy,
            config,
            output,
            rejects,
            state,
            archive,
        } => {
            let options = ReplayOptions {
                inputs,
                format,
                policy,
                config,
                output,
                rejects,
                state,
                archive,
            };
            match replay(&options) {
                Ok(summary) => {
                    eprintln!("{summary}");
                    ExitCode::SUCCESS
                }
                Err(error) => fail(&error.to_string(), error.exit_code()),
            }
        }
        Command::Sql {
            query,
            archive,
            format,
        } => {
            let result = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|error| vigil::sql::SqlError::Output(error.to_string()))
                .and_then(|runtime| {
                    runtime.block_on(async {
                        let context = vigil::sql::open(&archive).await?;
                        if let Some(query) = &query {
                            let batches = vigil::sql::query(&context, query).await?;
                            return vigil::sql::write(
                                &batches,
                                format,
                                &mut std::io::stdout().lock(),
                            );
                        }
                        if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                            return vigil::sql::shell(&context, format).await;
                        }
                        let mut text = String::new();
                        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                            .map_err(|error| vigil::sql::SqlError::Output(error.to_string()))?;
                        let failed = vigil::sql::script(
                            &context,
                            &text,
                            format,
                            &mut std::io::stdout().lock(),
                            &mut std::io::stderr().lock(),
                        )
                        .await?;
                        match failed {
                            0 => Ok(()),
                            failed => Err(vigil::sql::SqlError::Script(failed)),
                        }
                    })
                });
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => fail(&error.to_string(), error.exit_code()),
            }
        }
        Command::Archive { action } => {
            let result = match &action {
                ArchiveAction::Prune {
                    before,
                    config,
                    archive,
                } => {
                    let config = match config {
                        Some(path) => match vigil::config::Config::load(path) {
                            Ok(config) => config,
                            Err(error) => return fail(&error.to_string(), 2),
                        },
                        None => vigil::config::Config::default(),
                    };
                    let archive = archive
                        .clone()
                        .or(config.archive.dir.clone())
                        .unwrap_or_else(|| PathBuf::from("archive"));
                    let before = match (before, config.archive.retention_days) {
                        (Some(before), _) => before.clone(),
                        (None, Some(days)) => vigil_sinks::archive::retention_cutoff(
                            vigil_schemas::Timestamp::now(),
                            days,
                        ),
                        (None, None) => {
                            return fail(
                                "give `--before YYYY-MM-DD`, or a `--config` with `[archive] retention_days`",
                                2,
                            )
                        }
                    };
                    let valid = before.len() == 10
                        && vigil_schemas::Timestamp::parse(&format!("{before}T00:00:00Z")).is_ok();
                    if !valid {
                        return fail(
                            &format!("`--before {before}`: expected a date, YYYY-MM-DD"),
                            2,
                        );
                    }
                    vigil_sinks::archive::prune(&archive, &before).map(|removed| {
                        eprintln!("removed {} day folders before {before}", removed.len())
                    })
                }
                ArchiveAction::Forget { identity, archive } => {
                    vigil_sinks::archive::forget(archive, identity).map(|done| {
                        eprintln!(
                            "removed {} rows of `{identity}` from {} files",
                            done.rows, done.files
                        )
                    })
                }
            };
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => fail(&error.to_string(), 1),
            }
        }
        Command::State { action } => {
            let result = match &action {
                StateAction::Inspect { identity, state } => vigil::state::inspect(state, identity)
                    .and_then(|text| {
                        std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())
                            .map_err(vigil::error::StateError::Write)
                    }),
                StateAction::Forget { identity, state } => vigil::state::forget(state, identity)
                    .map(|()| eprintln!("forgot `{identity}` in `{}`", state.display())),
            };
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    let error = vigil::error::Error::from(error);
                    fail(&error.to_string(), error.exit_code())
                }
            }
        }
        Command::Simulate {
            identities,
            days,
            seed,
            attack_rate,
            output,
            labels,
        } => {
            let options = SimulateOptions {
                identities,
                days,
                seed,
                attack_rate,
                ..SimulateOptions::default()
            };
            let create = |path: &PathBuf| -> anyhow::Result<Box<dyn std::io::Write>> {
                if path.as_os_str() == "-" {
                    return Ok(Box::new(std::io::BufWriter::new(std::io::stdout())));
                }
                let file = std::fs::File::create(path).map_err(|error| {
                    anyhow::anyhow!("cannot create `{}`: {error}", path.display())
                })?;
                Ok(Box::new(std::io::BufWriter::new(file)))
            };
            let result = (|| -> anyhow::Result<vigil::simulate::SimulateStats> {
                let mut writer = create(&output)?;
                let simulation = simulate_to(&options, &mut writer)?;
                writer.flush()?;
                if let Some(path) = &labels {
                    let mut writer = create(path)?;
                    vigil::simulate::write_labels(&simulation.labels, &mut writer)?;
                    writer.flush()?;
                }
                Ok(simulation.stats)
            })();
            match result {
                Ok(stats) => {
                    eprintln!("{stats}");
                    ExitCode::SUCCESS
                }
                Err(error) => fail(&error.to_string(), 1),
            }
        }
        Command::Eval {
            decisions,
            labels,
            json,
        } => match vigil::eval::evaluate_files(&decisions, &labels) {
            Ok(report) => {
                let text = if json {
                    serde_json::to_string_pretty(&report).map(|json| json + "\n")
                } else {
                    Ok(vigil::eval::render_table(&report))
                };
                let written = text.map_err(std::io::Error::from).and_then(|text| {
                    std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())
                });
                match written {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(error) => fail(&format!("failed to write the report: {error}"), 1),
                }
            }
            Err(error) => fail(&error.to_string(), error.exit_code()),
        },
    }
}

/// `vigil run`: validates the config and opens everything before consuming; stops on
/// SIGTERM or Ctrl-C, flushing outputs and committing offsets.
fn run_live(config: &std::path::Path) -> Result<vigil_pipeline::Summary, vigil::error::Error> {
    let (loaded, rules) = vigil::compose::load_rules(Some(config), None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(vigil::error::SetupError::Runtime)?;
    runtime.block_on(async {
        // Signals are caught from the start: a SIGTERM while connecting stops cleanly too.
        let terminated = vigil::signals::terminated();
        let shutdown = async move {
            terminated.await;
            eprintln!("vigil run: stopping: flushing outputs, checkpointing and committing offsets");
        };
        let in_config = |error: vigil::error::SetupError| vigil::error::SetupError::InConfig {
            file: config.to_path_buf(),
            source: Box::new(error),
        };
        let mut runner = vigil::run::Runner::new(&loaded, rules).map_err(in_config)?;
        let server = vigil_server::Server::bind(loaded.server.listen)
            .await
            .map_err(|error| in_config(error.into()))?;
        eprintln!(
            "vigil run: serving {0}/healthz {0}/readyz {0}/metrics {0}/v1/identities/{{id}}",
            server.url()
        );
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

fn fail(message: &str, code: i32) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code.clamp(1, 255) as u8)
}
