//! `[ssf]` in `vigil.toml`: the receivers allowed to manage streams, and how delivery
//! behaves. Validated without IO ([`SsfConfig::validate`]); tokens are read from files or
//! the environment once, at start ([`SsfConfig::receivers`]), and kept only as SHA-256
//! digests, so no token reaches a log line or an error message.
//!
//! ```toml
//! [ssf]
//! default_subjects = "ALL"          # or "NONE": only subjects a receiver adds
//! retry_horizon_seconds = 21600     # push retries give up after 6 h
//! poll_wait_seconds = 30            # longest wait of a long poll
//! min_verification_interval_seconds = 5
//!
//! [[ssf.receivers]]
//! name = "okta"
//! token_env = "VIGIL_SSF_OKTA_TOKEN"  # or token_file = "...", or token_sha256 = "<hex>"
//! audience = "https://okta.example.com"
//! events = ["session-revoked", "risk-level-change"]
//! max_streams = 1
//! ```

use serde::Deserialize;
use sha2::Digest as _;
use std::path::PathBuf;
use vigil_schemas::caep::event_type;

/// The CAEP event types vigil sends, by short name.
pub const EVENT_TYPES: [(&str, &str); 4] = [
    ("session-revoked", event_type::SESSION_REVOKED),
    ("risk-level-change", event_type::RISK_LEVEL_CHANGE),
    ("assurance-level-change", event_type::ASSURANCE_LEVEL_CHANGE),
    (
        "device-compliance-change",
        event_type::DEVICE_COMPLIANCE_CHANGE,
    ),
];

/// Whether new streams carry every subject or only those a receiver adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
pub enum DefaultSubjects {
    /// Every subject, unless the receiver removes it (the CAEP interoperability profile:
    /// receivers assume all subjects are included).
    #[default]
    #[serde(rename = "ALL")]
    All,
    /// Only the subjects the receiver adds.
    #[serde(rename = "NONE")]
    None,
}

/// `[ssf]`: vigil as an OpenID Shared Signals transmitter.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SsfConfig {
    /// Receivers allowed to create and manage streams.
    pub receivers: Vec<ReceiverConfig>,
    /// Subjects of a new stream.
    pub default_subjects: DefaultSubjects,
    /// How long push delivery retries a receiver that fails before giving up on the SETs
    /// older than this (the stream then reports the error). 6 h: a receiver's planned
    /// maintenance window fits, and a revocation older than a working day is stale.
    pub retry_horizon_seconds: u64,
    /// Longest a long poll waits for a SET before answering empty. 30 s stays under the
    /// idle timeouts of common proxies and load balancers (60 s).
    pub poll_wait_seconds: u64,
    /// Least time between two verification requests on one stream; faster ones get 429.
    pub min_verification_interval_seconds: u64,
    /// SETs pushed to one stream at once (each to a different subject, so each subject's
    /// SETs stay in order).
    pub push_concurrency: usize,
    /// Most SETs one poll returns.
    pub max_poll_events: usize,
}

impl Default for SsfConfig {
    fn default() -> Self {
        SsfConfig {
            receivers: Vec::new(),
            default_subjects: DefaultSubjects::All,
            retry_horizon_seconds: 6 * 3600,
            poll_wait_seconds: 30,
            min_verification_interval_seconds: 5,
            push_concurrency: 32,
            max_poll_events: 1000,
        }
    }
}

/// One receiver (an IdP, a proxy, a SaaS app) and what it may do.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    /// The receiver's name, in logs and metrics.
    pub name: String,
    /// SHA-256 of its bearer token, in hex (`printf %s "$TOKEN" | sha256sum`).
    #[serde(default)]
    pub token_sha256: Option<String>,
    /// A file holding its bearer token (surrounding whitespace ignored).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// An environment variable holding its bearer token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// `aud` of its SETs; `[caep] audience` when absent.
    #[serde(default)]
    pub audience: Option<String>,
    /// Event types it may receive, by short name (`session-revoked`,
    /// `risk-level-change`, `assurance-level-change`, `device-compliance-change`) or URI;
    /// all four when absent.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Most streams it may have at once.
    #[serde(default = "default_max_streams")]
    pub max_streams: usize,
}

fn default_max_streams() -> usize {
    4
}

/// A receiver ready to authenticate: its token as a digest.
#[derive(Clone, PartialEq, Eq)]
pub struct Receiver {
    /// The name.
    pub name: String,
    /// SHA-256 of the bearer token.
    pub token_sha256: [u8; 32],
    /// `aud` of its SETs.
    pub audience: String,
    /// Event type URIs it may receive.
    pub events: Vec<&'static str>,
    /// Most streams at once.
    pub max_streams: usize,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "Receiver({})", self.name)
    }
}

/// SHA-256 of a token.
pub fn token_digest(token: &str) -> [u8; 32] {
    sha2::Sha256::digest(token.as_bytes()).into()
}

fn event_uri(name: &str) -> Option<&'static str> {
    EVENT_TYPES
        .iter()
        .find(|(short, uri)| *short == name || *uri == name)
        .map(|(_, uri)| *uri)
}

fn parse_hex_digest(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (index, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(index * 2..index * 2 + 2)?, 16).ok()?;
    }
    Some(digest)
}

impl SsfConfig {
    /// Checks every field without IO; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.poll_wait_seconds > 600 {
            return Err("`ssf.poll_wait_seconds` must be at most 600".to_string());
        }
        if self.push_concurrency == 0 || self.push_concurrency > 1024 {
            return Err("`ssf.push_concurrency` must be between 1 and 1024".to_string());
        }
        if self.max_poll_events == 0 || self.max_poll_events > 10_000 {
            return Err("`ssf.max_poll_events` must be between 1 and 10000".to_string());
        }
        if self.retry_horizon_seconds == 0 {
            return Err("`ssf.retry_horizon_seconds` must be at least 1".to_string());
        }
        let mut names = std::collections::BTreeSet::new();
        for (index, receiver) in self.receivers.iter().enumerate() {
            let field = format!("`ssf.receivers[{index}]`");
            if receiver.name.trim().is_empty() {
                return Err(format!("{field}.name must not be empty"));
            }
            if !names.insert(receiver.name.as_str()) {
                return Err(format!(
                    "{field}.name `{}` is used by two receivers",
                    receiver.name
                ));
            }
            let sources = [
                receiver.token_sha256.is_some(),
                receiver.token_file.is_some(),
                receiver.token_env.is_some(),
            ];
            if sources.iter().filter(|given| **given).count() != 1 {
                return Err(format!(
                    "{field} (`{}`) needs exactly one of `token_sha256`, `token_file`, `token_env`",
                    receiver.name
                ));
            }
            if let Some(hex) = &receiver.token_sha256 {
                if parse_hex_digest(hex).is_none() {
                    return Err(format!(
                        "{field}.token_sha256 must be 64 hex digits (a SHA-256 digest)"
                    ));
                }
            }
            for name in receiver.events.iter().flatten() {
                if event_uri(name).is_none() {
                    let known: Vec<&str> = EVENT_TYPES.iter().map(|(short, _)| *short).collect();
                    return Err(format!(
                        "{field}.events: unknown event type `{name}` (known: {})",
                        known.join(", ")
                    ));
                }
            }
        }
        Ok(())
    }

    /// The receivers with their tokens read (files relative to `base`) and digested;
    /// `audience` is the default `aud`. Errors name the receiver and the field, never the
    /// token.
    pub fn receivers(
        &self,
        base: &std::path::Path,
        audience: &str,
    ) -> Result<Vec<Receiver>, String> {
        self.validate()?;
        let mut receivers = Vec::with_capacity(self.receivers.len());
        for (index, receiver) in self.receivers.iter().enumerate() {
            let field = format!("`ssf.receivers[{index}]` (`{}`)", receiver.name);
            let token_sha256 = if let Some(hex) = &receiver.token_sha256 {
                parse_hex_digest(hex).ok_or_else(|| format!("{field}.token_sha256 is not hex"))?
            } else if let Some(file) = &receiver.token_file {
                let path = if file.is_relative() {
                    base.join(file)
                } else {
                    file.clone()
                };
                let text = std::fs::read_to_string(&path).map_err(|error| {
                    format!(
                        "{field}.token_file: cannot read `{}`: {error}",
                        path.display()
                    )
                })?;
                token_digest_checked(text.trim(), &field)?
            } else if let Some(variable) = &receiver.token_env {
                let value = std::env::var(variable).map_err(|_| {
                    format!("{field}.token_env: the environment variable `{variable}` is not set")
                })?;
                token_digest_checked(value.trim(), &field)?
            } else {
                return Err(format!("{field} has no token"));
            };
            let events = match &receiver.events {
                Some(names) => names.iter().filter_map(|name| event_uri(name)).collect(),
                None => EVENT_TYPES.iter().map(|(_, uri)| *uri).collect(),
            };
            receivers.push(Receiver {
                name: receiver.name.clone(),
                token_sha256,
                audience: receiver
                    .audience
                    .clone()
                    .unwrap_or_else(|| audience.to_string()),
                events,
                max_streams: receiver.max_streams,
            });
        }
        Ok(receivers)
    }
}

/// 16 characters: a bearer token shorter than that is guessable.
const MIN_TOKEN_CHARS: usize = 16;

fn token_digest_checked(token: &str, field: &str) -> Result<[u8; 32], String> {
    if token.chars().count() < MIN_TOKEN_CHARS {
        return Err(format!(
            "{field}: the token must be at least {MIN_TOKEN_CHARS} characters"
        ));
    }
    Ok(token_digest(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receiver(name: &str) -> ReceiverConfig {
        ReceiverConfig {
            name: name.into(),
            token_sha256: None,
            token_file: None,
            token_env: None,
            audience: None,
            events: None,
            max_streams: 1,
        }
    }

    #[test]
    fn a_receiver_needs_exactly_one_token_source_and_known_events() {
        let mut config = SsfConfig {
            receivers: vec![receiver("okta")],
            ..SsfConfig::default()
        };
        assert!(config.validate().unwrap_err().contains("exactly one"));
        config.receivers[0].token_sha256 = Some("ab".into());
        assert!(config.validate().unwrap_err().contains("64 hex digits"));
        config.receivers[0].token_sha256 = Some(hex(&token_digest("a-long-enough-token")));
        config.validate().unwrap();
        config.receivers[0].events = Some(vec!["session-revokd".into()]);
        let message = config.validate().unwrap_err();
        assert!(message.contains("`session-revokd`") && message.contains("receivers[0]"));
        config.receivers[0].events = Some(vec![
            "session-revoked".into(),
            event_type::RISK_LEVEL_CHANGE.into(),
        ]);
        let receivers = config
            .receivers(std::path::Path::new("."), "https://aud")
            .unwrap();
        assert_eq!(
            receivers[0].events,
            vec![event_type::SESSION_REVOKED, event_type::RISK_LEVEL_CHANGE]
        );
        assert_eq!(receivers[0].audience, "https://aud");
        assert_eq!(
            receivers[0].token_sha256,
            token_digest("a-long-enough-token")
        );
    }

    #[test]
    fn tokens_from_files_and_the_environment_are_digested_and_never_shown() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("token"), "  file-token-0123456789\n").unwrap();
        let mut config = SsfConfig {
            receivers: vec![receiver("a"), receiver("b")],
            ..SsfConfig::default()
        };
        config.receivers[0].token_file = Some("token".into());
        config.receivers[1].token_env = Some("VIGIL_TEST_SSF_TOKEN_UNSET".into());
        let message = config.receivers(folder.path(), "aud").unwrap_err();
        assert!(message.contains("VIGIL_TEST_SSF_TOKEN_UNSET"), "{message}");
        config.receivers[1].token_env = None;
        config.receivers[1].token_sha256 = Some(hex(&token_digest("x")));
        let receivers = config.receivers(folder.path(), "aud").unwrap();
        assert_eq!(
            receivers[0].token_sha256,
            token_digest("file-token-0123456789")
        );
        assert_eq!(format!("{:?}", receivers[0]), "Receiver(a)");
        std::fs::write(folder.path().join("token"), "short").unwrap();
        let message = config.receivers(folder.path(), "aud").unwrap_err();
        assert!(message.contains("at least 16") && !message.contains("short"));
    }

    #[test]
    fn duplicate_names_are_refused() {
        let mut config = SsfConfig {
            receivers: vec![receiver("a"), receiver("a")],
            ..SsfConfig::default()
        };
        for receiver in &mut config.receivers {
            receiver.token_sha256 = Some(hex(&token_digest("x")));
        }
        assert!(config.validate().unwrap_err().contains("used by two"));
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}
