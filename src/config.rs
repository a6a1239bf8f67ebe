//! `vigil.toml`: the configuration file shared by `vigil replay` and (later) `vigil run`.
//!
//! Every field is optional and documented; unknown fields are errors, and every error
//! names the file and the field. Relative paths are read relative to the file's folder.
//!
//! ```toml
//! policy = "policy.yaml"            # default: the built-in policy
//!
//! [enrich]
//! city_db = "geo/dbip-city-lite.mmdb"
//! asn_db = "geo/GeoLite2-ASN.mmdb"
//! corporate_ranges = ["198.51.100.0/24"]
//! vpn_ranges = ["203.0.113.0/25"]
//! anonymizer_ranges = ["185.220.101.0/24"]   # Tor exits, open proxies: threat_ip
//! threat_ranges = ["45.155.205.0/24"]        # threat intelligence: threat_ip
//!
//! [engine]
//! shards = 2                        # default: one per core
//! batch_size = 16384
//!
//! [state]                           # durable state (redb); `vigil replay --state` too
//! dir = "/var/lib/vigil"            # default: none (state lives in memory only)
//! checkpoint_interval_ms = 5000
//! checkpoint_events = 100000
//! max_identities_in_memory = 1000000
//! idle_minutes = 120
//!
//! [server]                          # `vigil run` and `vigil demo`
//! listen = "127.0.0.1:9464"
//!
//! [caep]                            # SETs: signed with this key, `iss` = issuer
//! issuer = "https://vigil.example.com"
//! audience = "https://idp.example.com"
//! subject_issuer = "https://idp.example.com/"
//! key_file = "keys/vigil-rs256.pem"   # readable by vigil's account only (0600)
//! kid = "vigil-2026"                  # default: the key's RFC 7638 thumbprint
//!
//! [ssf]                             # Shared Signals: receivers create streams over HTTP
//! [[ssf.receivers]]
//! name = "okta"
//! token_env = "VIGIL_SSF_OKTA_TOKEN"
//!
//! [rules.impossible_travel]
//! max_speed_kmh = 900.0
//! ```

use serde::Deserialize;
use std::path::{Path, PathBuf};
use vigil_ingest::enrich::EnrichConfig;
use vigil_rules::RulesConfig;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("invalid config `{file}`: {message}")]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// What was wrong, naming the field.
    pub message: String,
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The policy file (YAML); the built-in default policy when absent.
    pub policy: Option<PathBuf>,
    /// Geo, ASN and IP-list enrichment.
    pub enrich: EnrichConfig,
    /// How the engine runs.
    pub engine: EngineConfig,
    /// Tunables of the detectors, baselines and risk.
    pub rules: RulesConfig,
    /// Kafka inputs and outputs (`vigil run`).
    pub kafka: Option<KafkaConfig>,
    /// CAEP Security Event Tokens to enforcement points (`vigil run`).
    pub caep: Option<CaepConfig>,
    /// Durable state.
    pub state: StateConfig,
    /// The Parquet archive.
    pub archive: ArchiveConfig,
    /// The HTTP server (`vigil run`, `vigil demo`).
    pub server: ServerConfig,
    /// The Shared Signals transmitter on the server (needs `[caep]`).
    pub ssf: Option<vigil_sinks::ssf::SsfConfig>,
}

/// `[server]`: health, readiness, metrics and the identity endpoint over HTTP.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// The address to listen on (port 0: one the OS picks, printed at start).
    pub listen: std::net::SocketAddr,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: vigil_server::DEFAULT_LISTEN,
        }
    }
}

/// `[archive]`: history for `vigil sql`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArchiveConfig {
    /// The archive folder (`vigil replay --archive` overrides it); none writes no archive.
    pub dir: Option<PathBuf>,
    /// Rows gathered per table and day before a file is written: larger files read
    /// faster, smaller ones appear sooner and hold less memory.
    pub rows_per_file: usize,
    /// Days of history kept: `vigil archive prune` (and `vigil run`, every minute)
    /// removes the days before today minus this many. None keeps everything.
    pub retention_days: Option<u32>,
}

impl Config {
    /// The archive in `dir`, set up as configured: file size, and the engine's session
    /// timeout for the `sessions` table.
    pub fn open_archive(
        &self,
        dir: &Path,
    ) -> Result<vigil_sinks::archive::Archive, vigil_sinks::archive::ArchiveError> {
        Ok(vigil_sinks::archive::Archive::open(dir)?
            .with_rows_per_file(self.archive.rows_per_file)
            .with_session_idle(self.rules.session_hijack.idle_timeout.as_micros()))
    }
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        ArchiveConfig {
            dir: None,
            rows_per_file: vigil_sinks::archive::ROWS_PER_FILE,
            retention_days: None,
        }
    }
}

/// `[state]`: where state is kept and how often it is checkpointed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateConfig {
    /// The state folder (redb file `state.redb` inside); none keeps state in memory only
    /// and a restart relearns every baseline.
    pub dir: Option<PathBuf>,
    /// Longest time between checkpoints, in milliseconds. 5 s: after a crash at most 5 s
    /// of input is judged again (its decisions repeat, with the same ids), and a
    /// checkpoint of 10k events/s of changes stays a few megabytes.
    pub checkpoint_interval_ms: u64,
    /// Most events judged between checkpoints: bounds the work redone after a crash when
    /// input arrives fast (a backlog, a replay).
    pub checkpoint_events: u64,
    /// Most identities held in memory; the least recently active clean ones leave
    /// first. About 1 KB each: the default needs about 1 GB. Without a `dir` this bounds
    /// memory too: identities beyond it leave with their baselines (counted in
    /// `vigil_identities_evicted_total{reason="lost"}`). With or without a store,
    /// identities idle past `rules.baseline.forget_after`, and those that only failed to
    /// sign in idle past an hour, leave memory and the store.
    pub max_identities_in_memory: usize,
    /// Identities idle this long (event time) leave memory at the next checkpoint, and
    /// are loaded again from the store on their next event.
    pub idle_minutes: u64,
}

impl Default for StateConfig {
    fn default() -> Self {
        let limits = vigil_engine::MemoryLimits::default();
        StateConfig {
            dir: None,
            checkpoint_interval_ms: 5_000,
            checkpoint_events: 100_000,
            max_identities_in_memory: limits.max_identities,
            idle_minutes: (limits.idle_after_micros / 60_000_000) as u64,
        }
    }
}

impl StateConfig {
    /// The engine's memory limits.
    pub fn limits(&self) -> vigil_engine::MemoryLimits {
        vigil_engine::MemoryLimits {
            max_identities: self.max_identities_in_memory,
            idle_after_micros: i64::try_from(self.idle_minutes.saturating_mul(60_000_000))
                .unwrap_or(i64::MAX),
        }
    }
}

/// `[kafka]`: where events come from and decisions go.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// The consumer group all vigil instances share.
    #[serde(default = "default_group")]
    pub group_id: String,
    /// librdkafka settings passed through as they are, for consumer and producer alike:
    /// `security.protocol = "SASL_SSL"`, `sasl.mechanism = "SCRAM-SHA-512"`,
    /// `sasl.username`, `sasl.password`, `ssl.ca.location`, ...
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
    /// Input topics, each with its format.
    pub inputs: Vec<InputTopic>,
    /// Output topics.
    #[serde(default)]
    pub outputs: OutputTopicNames,
    /// Most records judged together: small batches keep the event-to-decision latency
    /// low, larger ones raise throughput under load.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// Longest wait, in milliseconds, for a batch to fill once its first record arrived.
    #[serde(default = "default_max_wait_ms")]
    pub max_wait_ms: u64,
}

fn default_group() -> String {
    "vigil".to_string()
}

fn default_max_batch() -> usize {
    1024
}

fn default_max_wait_ms() -> u64 {
    2
}

/// One input topic and the format of its records.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputTopic {
    /// Topic name.
    pub topic: String,
    /// `auto`, `native`, `ocsf`, `okta`, `entra`, `cloudtrail`, `auth0` or `gws`.
    #[serde(default = "default_format", deserialize_with = "format_name")]
    pub format: vigil_ingest::Format,
}

fn default_format() -> vigil_ingest::Format {
    vigil_ingest::Format::Auto
}

fn format_name<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<vigil_ingest::Format, D::Error> {
    let name = String::deserialize(deserializer)?;
    name.parse().map_err(serde::de::Error::custom)
}

/// Output topic names.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputTopicNames {
    /// Every decision (the JSON contract).
    pub decisions: String,
    /// Every decision with a headline, for the SOC.
    pub alerts: String,
    /// Signed CAEP SETs, for enforcement points.
    pub caep: String,
    /// Undecodable records.
    pub dead_letter: String,
}

impl Default for OutputTopicNames {
    fn default() -> Self {
        OutputTopicNames {
            decisions: "vigil.decisions".into(),
            alerts: "vigil.alerts".into(),
            caep: "vigil.caep".into(),
            dead_letter: "vigil.dead-letter".into(),
        }
    }
}

/// `[caep]`: vigil as a Shared Signals transmitter.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaepConfig {
    /// `iss` of every SET.
    pub issuer: String,
    /// `aud` of every SET.
    pub audience: String,
    /// Issuer of `iss_sub` subjects (the IdP).
    pub subject_issuer: String,
    /// Send the user alone as a simple subject, for receivers refusing complex ones.
    #[serde(default)]
    pub simple_subjects: bool,
    /// PEM private key: RSA (RS256, at least 2048 bits) or P-256 (ES256).
    pub key_file: PathBuf,
    /// The key id published to receivers; default the key's RFC 7638 thumbprint, so a
    /// new key always gets a new id.
    #[serde(default)]
    pub kid: Option<String>,
}

/// Words in a key that may hold a secret (`sasl.password`, `ssl.key.password`, a token).
const SECRET_WORDS: [&str; 6] = ["password", "secret", "token", "key", "credential", "sasl"];

/// A TOML error as told to the user: line, column and message, and the offending line
/// shown unless its key may hold a secret; then the message (which can quote the value) is
/// not shown either, only which key is malformed.
fn toml_error(problem: &toml::de::Error, text: &str) -> String {
    let Some(span) = problem.span() else {
        return problem.message().trim_end().to_string();
    };
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |at| at + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |at| start + at);
    let line = &text[line_start..line_end];
    let number = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let key = line
        .split_once('=')
        .map(|(key, _)| key.trim())
        .unwrap_or("");
    let lowered = key.to_ascii_lowercase();
    if SECRET_WORDS.iter().any(|word| lowered.contains(word)) {
        return format!(
            "line {number}, column {column}: the value of `{}` is malformed (not shown: it may be a secret)",
            key.trim_matches('"')
        );
    }
    format!(
        "line {number}, column {column}: {}\n  | {line}",
        problem.message().trim_end()
    )
}

/// How the engine runs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Worker shards; 0 means one per available core.
    pub shards: usize,
    /// Records decoded and judged together. 16,384 measured fastest on the replay bench
    /// (2 cores: 8,192 and 16,384 beat 32,768 and 65,536 by 15-25%, whose batches fall out
    /// of cache); about 7 MB of records of ~400 bytes.
    pub batch_size: usize,
    /// How far ahead of this machine's clock an event's time may be: further ahead it is
    /// rejected (`implausible_time`). An event stamped ahead moves its identity's clock,
    /// access-volume hour and session timers, and the spray window, to its time, so a
    /// forged future event could blind them for as long as it is ahead: minutes, not a
    /// day. Default 5 minutes (sources' clocks are NTP-synchronised far closer).
    pub max_clock_skew: vigil_rules::Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            shards: 0,
            batch_size: 16_384,
            max_clock_skew: vigil_rules::Duration::secs(
                vigil_ingest::step::DEFAULT_MAX_CLOCK_SKEW_SECS,
            ),
        }
    }
}

impl EngineConfig {
    /// The shard count to use.
    pub fn shard_count(&self) -> usize {
        if self.shards > 0 {
            return self.shards;
        }
        std::thread::available_parallelism().map_or(1, usize::from)
    }
}

impl Config {
    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let error = |message: String| ConfigError {
            file: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|problem| error(format!("cannot read: {problem}")))?;
        let mut config = Config::parse(&text).map_err(error)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |relative: &mut Option<PathBuf>| {
            if let Some(found) = relative.as_mut().filter(|found| found.is_relative()) {
                *found = base.join(&*found);
            }
        };
        resolve(&mut config.policy);
        resolve(&mut config.state.dir);
        resolve(&mut config.archive.dir);
        resolve(&mut config.enrich.city_db);
        resolve(&mut config.enrich.asn_db);
        if let Some(caep) = config
            .caep
            .as_mut()
            .filter(|caep| caep.key_file.is_relative())
        {
            caep.key_file = base.join(&caep.key_file);
        }
        for receiver in config
            .ssf
            .iter_mut()
            .flat_map(|ssf| ssf.receivers.iter_mut())
        {
            resolve(&mut receiver.token_file);
        }
        Ok(config)
    }

    /// Parses and validates text (no IO).
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|problem| toml_error(&problem, text))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if self.engine.batch_size == 0 {
            return Err("`engine.batch_size` must be at least 1".to_string());
        }
        if self.engine.max_clock_skew > vigil_rules::Duration::days(1) {
            return Err("`engine.max_clock_skew` must be at most 1d".to_string());
        }
        if self.state.checkpoint_events == 0 {
            return Err("`state.checkpoint_events` must be at least 1".to_string());
        }
        if self.state.checkpoint_interval_ms == 0 {
            return Err("`state.checkpoint_interval_ms` must be at least 1".to_string());
        }
        if self.archive.rows_per_file == 0 {
            return Err("`archive.rows_per_file` must be at least 1".to_string());
        }
        if self.state.max_identities_in_memory == 0 {
            return Err("`state.max_identities_in_memory` must be at least 1".to_string());
        }
        if let Some(kafka) = &self.kafka {
            if kafka.brokers.trim().is_empty() {
                return Err("`kafka.brokers` must name at least one broker".to_string());
            }
            if kafka.inputs.is_empty() {
                return Err("`kafka.inputs` must list at least one topic".to_string());
            }
            if kafka.max_batch == 0 {
                return Err("`kafka.max_batch` must be at least 1".to_string());
            }
        }
        if let Some(ssf) = &self.ssf {
            if self.caep.is_none() {
                return Err(
                    "`ssf` needs a [caep] section: the issuer and the key SETs are signed with"
                        .to_string(),
                );
            }
            ssf.validate()?;
        }
        self.rules.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_all_defaults() {
        let config = Config::parse("").unwrap();
        assert_eq!(config.engine, EngineConfig::default());
        assert_eq!(config.rules, RulesConfig::default());
    }

    #[test]
    fn a_malformed_secret_is_never_repeated() {
        let kafka = "[kafka]\nbrokers = \"b:9092\"\ninputs = []\n[kafka.properties]\n";
        for line in [
            "\"sasl.password\" = hunter2-s3cret",
            "\"sasl.password\" = 'hunter2-s3cret",
            "\"sasl.password\" = 77123456",
        ] {
            let error = Config::parse(&format!("{kafka}{line}\n")).unwrap_err();
            assert!(
                !error.contains("hunter2") && !error.contains("77123456"),
                "{error}"
            );
            assert!(
                error.contains("line 5") && error.contains("sasl.password"),
                "{error}"
            );
        }
        // Other lines are shown, to help find the fault.
        let error = Config::parse("[engine]\nbatch_size = \"many\"\n").unwrap_err();
        assert!(error.contains("batch_size = \"many\""), "{error}");
    }

    #[test]
    fn errors_name_the_field() {
        let unknown = Config::parse("[rules.impossible_travel]\nmax_speed = 900\n").unwrap_err();
        assert!(unknown.contains("max_speed"), "{unknown}");
        let invalid =
            Config::parse("[rules.impossible_travel]\nmax_speed_kmh = -1.0\n").unwrap_err();
        assert!(
            invalid.contains("`rules.impossible_travel.max_speed_kmh`"),
            "{invalid}"
        );
        let cidr = Config::parse("[enrich]\nvpn_ranges = [\"10.0.0.0/33\"]\n").unwrap_err();
        assert!(cidr.contains("vpn_ranges"), "{cidr}");
        let duration = Config::parse("[rules.risk]\nhalf_life = \"1 fortnight\"\n").unwrap_err();
        assert!(duration.contains("half_life"), "{duration}");
    }

    #[test]
    fn load_names_the_file_and_resolves_paths() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("vigil.toml");
        std::fs::write(
            &path,
            "policy = \"p.yaml\"\n[enrich]\ncity_db = \"geo/city.mmdb\"\n",
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.policy.unwrap(), folder.path().join("p.yaml"));
        assert_eq!(
            config.enrich.city_db.unwrap(),
            folder.path().join("geo/city.mmdb")
        );
        std::fs::write(&path, "[engine]\nbatch_size = \"big\"\n").unwrap();
        let message = Config::load(&path).unwrap_err().to_string();
        assert!(
            message.contains(&format!("`{}`", path.display())) && message.contains("batch_size"),
            "{message}"
        );
    }
}
