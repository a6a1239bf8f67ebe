//! The commands: each module holds one command's arguments and its wiring of the crates
//! below; none holds business rules of its own.

pub mod archive;
pub mod caep;
pub mod demo;
pub mod eval;
pub mod replay;
pub mod run;
pub mod simulate;
pub mod sql;
pub mod state;

use crate::error::Error;

/// Every command.
#[derive(clap::Subcommand)]
pub enum Command {
    /// The main job on embedded defaults: simulated traffic with attacks, judged live.
    Demo(demo::DemoOptions),
    /// Judge events from Kafka live: decisions, SOC alerts and signed CAEP SETs to Kafka.
    Run(run::RunArgs),
    /// Judge events from files, deterministically; decisions as JSON lines.
    Replay(replay::ReplayOptions),
    /// SQL over the archive (DataFusion): tables `events`, `signals`, `decisions` and
    /// `sessions`, each with a `date` partition column, and the view `sessions_latest`.
    /// With no query: an interactive shell on a terminal, else the `;`-ended statements
    /// read from standard input.
    Sql(sql::SqlArgs),
    /// Retention and privacy in the archive.
    Archive {
        #[command(subcommand)]
        action: archive::ArchiveAction,
    },
    /// The CAEP signing key: `vigil caep jwks` prints the JWK Set receivers verify with.
    Caep {
        #[command(subcommand)]
        action: caep::CaepAction,
    },
    /// Look into a stopped engine's state folder.
    State {
        #[command(subcommand)]
        action: state::StateAction,
    },
    /// Generate realistic traffic with attacks woven in, as native JSON lines.
    Simulate(simulate::SimulateArgs),
    /// Score decisions against the labels of simulated traffic: recall, precision and
    /// delay per attack kind and per detector, and the share of benign sessions acted on.
    Eval(eval::EvalArgs),
}

impl Command {
    /// Runs the command, printing its results.
    pub fn run(self) -> Result<(), Error> {
        match self {
            Command::Demo(options) => demo::run(&options, &mut std::io::stdout().lock()).map(drop),
            Command::Run(args) => run::command(&args),
            Command::Replay(options) => replay::command(&options),
            Command::Sql(args) => sql::command(args),
            Command::Archive { action } => archive::command(action),
            Command::Caep { action } => caep::command(action, &mut std::io::stdout().lock()),
            Command::State { action } => state::command(action),
            Command::Simulate(args) => simulate::command(args),
            Command::Eval(args) => eval::command(args),
        }
    }
}

/// A runtime for the commands that run async code: the pipeline's, the server's and
/// DataFusion's.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| crate::error::SetupError::Runtime(error).into())
}
