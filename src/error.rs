//! The command line's errors, one enum per operation, folded into exit codes: 2 when a
//! command could not start (a bad argument, config, policy, key or folder: nothing was
//! judged), 1 when it failed while running.

use std::path::PathBuf;
use vigil_engine::store::StoreError;

/// Why a command could not start. Every message names the argument, file or field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The config file is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The policy file cannot be read.
    #[error("cannot read policy `{path}`: {source}")]
    PolicyFile {
        /// The policy file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The policy is invalid.
    #[error(transparent)]
    Policy(#[from] vigil_rules::PolicyError),
    /// The arguments do not make a run.
    #[error("{0}")]
    Usage(String),
    /// An input file is missing.
    #[error("input file `{0}` does not exist or is not a file")]
    MissingInput(PathBuf),
    /// An input cannot be opened, or the Kafka consumer cannot be created.
    #[error(transparent)]
    Source(#[from] vigil_ingest::source::SourceError),
    /// The enrichment databases or lists cannot be loaded.
    #[error(transparent)]
    Enrich(#[from] vigil_ingest::enrich::EnrichError),
    /// The state folder cannot be opened or restored.
    #[error("`state.dir`: {0}")]
    State(#[source] StoreError),
    /// The archive folder cannot be opened.
    #[error("`archive.dir`: {0}")]
    Archive(#[source] vigil_sinks::archive::ArchiveError),
    /// An output cannot be created.
    #[error(transparent)]
    Output(#[from] vigil_sinks::SinkError),
    /// The config has no `[kafka]` section.
    #[error("`kafka`: the config has no [kafka] section")]
    NoKafka,
    /// The Kafka producer cannot be created.
    #[error("cannot create the Kafka producer: {0}")]
    Producer(#[source] rdkafka::error::KafkaError),
    /// The CAEP signing key cannot be read.
    #[error("`caep.key_file`: cannot read `{path}`: {source}")]
    CaepKeyFile {
        /// The key file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The CAEP signing key is not a usable key.
    #[error("`caep.key_file` `{path}`: {source}")]
    CaepKey {
        /// The key file.
        path: PathBuf,
        /// Cause.
        source: vigil_sinks::caep::CaepKeyError,
    },
    /// The Shared Signals transmitter is misconfigured (a receiver's token cannot be read).
    #[error("{0}")]
    Ssf(String),
    /// The Shared Signals outbox cannot be opened.
    #[error("`state.dir`: {0}")]
    Outbox(#[source] vigil_sinks::ssf::OutboxError),
    /// The HTTP server cannot listen.
    #[error("`server.listen`: {0}")]
    Server(#[from] vigil_server::ServerError),
    /// The async runtime cannot start.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The demo's in-process Kafka cluster cannot start.
    #[error("cannot start the embedded Kafka cluster: {0}")]
    EmbeddedKafka(String),
    /// A setting of a config file is wrong: the error names the file.
    #[error("invalid config `{file}`: {source}")]
    InConfig {
        /// The config file.
        file: PathBuf,
        /// What was wrong.
        source: Box<SetupError>,
    },
}

/// Why a state folder cannot be looked into or changed (`vigil state`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The folder holds no state file.
    #[error("`{dir}` holds no vigil state (no `{file}`)")]
    NotAState {
        /// The folder.
        dir: PathBuf,
        /// The state file's name.
        file: &'static str,
    },
    /// The identity has no stored state.
    #[error("no state for identity `{identity}` in `{dir}`")]
    NoIdentity {
        /// The identity.
        identity: String,
        /// The folder.
        dir: PathBuf,
    },
    /// The store cannot be opened (locked by a running engine, or damaged).
    #[error(transparent)]
    Open(StoreError),
    /// The store failed while reading or writing.
    #[error(transparent)]
    Store(StoreError),
    /// The answer cannot be written.
    #[error("failed to write: {0}")]
    Write(#[source] std::io::Error),
}

/// Any command's failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command could not start.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The run failed.
    #[error(transparent)]
    Run(#[from] vigil_pipeline::RunError),
    /// `vigil state` failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// `vigil sql` failed.
    #[error(transparent)]
    Sql(#[from] vigil_history::SqlError),
    /// `vigil archive` failed.
    #[error(transparent)]
    Archive(#[from] vigil_sinks::archive::ArchiveError),
    /// `vigil eval` could not read its inputs.
    #[error(transparent)]
    Eval(#[from] vigil_backtest::eval::EvalError),
    /// Output to the terminal or a file failed, or a command's own step did.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Cause.
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Setup(_) => 2,
            Error::Run(_) | Error::Io { .. } | Error::Archive(_) => 1,
            Error::Eval(error) => error.exit_code(),
            Error::State(StateError::Store(_) | StateError::Write(_)) => 1,
            Error::State(_) => 2,
            Error::Sql(error) => error.exit_code(),
        }
    }
}
