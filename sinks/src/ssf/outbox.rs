//! The durable outbox (redb): streams, and every SET not yet acknowledged by its
//! receiver, keyed by stream and sequence number, with the public keys that signed them.
//!
//! SETs of decisions are appended in one durable transaction per batch before the batch
//! is acknowledged to the pipeline, so an input position is never committed ahead of its
//! SETs. Acknowledged SETs are removed in non-durable transactions: a crash may forget a
//! removal, and the SET is then delivered again with the same `jti` (at least once).

use super::stream::Stream;
use redb::{Database, Durability, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const STREAMS: TableDefinition<&str, &[u8]> = TableDefinition::new("streams");
const SETS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("sets");
const KEYS: TableDefinition<&str, &str> = TableDefinition::new("keys");

/// The outbox file inside a state folder.
pub const FILE: &str = "ssf.redb";

/// Why the outbox failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The database failed.
    #[error("SSF outbox `{path}`: {source}")]
    Store {
        /// The file (`memory` for an in-memory outbox).
        path: PathBuf,
        /// Cause.
        source: Box<redb::Error>,
    },
    /// The HTTP client for push delivery cannot start (TLS setup).
    #[error("the HTTP client for SSF push delivery cannot start: {0}")]
    Client(String),
    /// The outbox's writer has stopped.
    #[error("the SSF outbox's writer has stopped")]
    Closed,
    /// A record does not decode.
    #[error("SSF outbox `{path}`: a stored record does not decode: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: serde_json::Error,
    },
}

/// One SET waiting for its receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The SET's id.
    pub jti: String,
    /// Which subject it is about (SETs of one subject are delivered in order).
    pub subject: u64,
    /// An SSF control event (verification, stream-updated): delivered whatever the
    /// stream's status.
    pub control: bool,
    /// The key that signed it.
    pub kid: String,
    /// When the decision was made, microseconds since the epoch (for the
    /// decision-to-acknowledgement latency).
    pub decided: i64,
    /// When it entered the outbox, microseconds since the epoch.
    pub queued: i64,
    /// The signed SET.
    pub token: String,
}

/// What the outbox holds at start.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every stream.
    pub streams: Vec<Stream>,
    /// Every SET not acknowledged, by stream, in sequence order (tokens left out).
    pub entries: Vec<(String, u64, Entry)>,
    /// Public keys by kid.
    pub keys: BTreeMap<String, serde_json::Value>,
    /// The next sequence number.
    pub next_sequence: u64,
}

/// The outbox.
pub struct Outbox {
    database: Database,
    path: PathBuf,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "Outbox({})", self.path.display())
    }
}

impl Outbox {
    /// Opens (creating) the outbox file at `path`.
    pub fn open(path: &Path) -> Result<Outbox, OutboxError> {
        let store = |source: redb::Error| OutboxError::Store {
            path: path.to_path_buf(),
            source: Box::new(source),
        };
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|error| store(redb::Error::Io(error)))?;
        }
        let database = Database::create(path).map_err(|error| store(error.into()))?;
        let outbox = Outbox {
            database,
            path: path.to_path_buf(),
        };
        outbox.create_tables()?;
        Ok(outbox)
    }

    /// An outbox in memory: SETs do not survive a restart (the demo, tests).
    pub fn in_memory() -> Result<Outbox, OutboxError> {
        let path = PathBuf::from("memory");
        let database = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|error| OutboxError::Store {
                path: path.clone(),
                source: Box::new(error.into()),
            })?;
        let outbox = Outbox { database, path };
        outbox.create_tables()?;
        Ok(outbox)
    }

    fn error<E: Into<redb::Error>>(&self) -> impl Fn(E) -> OutboxError + '_ {
        move |error| OutboxError::Store {
            path: self.path.clone(),
            source: Box::new(error.into()),
        }
    }

    fn corrupt(&self) -> impl Fn(serde_json::Error) -> OutboxError + '_ {
        move |source| OutboxError::Corrupt {
            path: self.path.clone(),
            source,
        }
    }

    fn create_tables(&self) -> Result<(), OutboxError> {
        let transaction = self.database.begin_write().map_err(self.error())?;
        transaction.open_table(STREAMS).map_err(self.error())?;
        transaction.open_table(SETS).map_err(self.error())?;
        transaction.open_table(KEYS).map_err(self.error())?;
        transaction.commit().map_err(self.error())
    }

    /// Everything held, for a start.
    pub fn load(&self) -> Result<Loaded, OutboxError> {
        let transaction = self.database.begin_read().map_err(self.error())?;
        let mut loaded = Loaded::default();
        let streams = transaction.open_table(STREAMS).map_err(self.error())?;
        for row in streams.iter().map_err(self.error())? {
            let (_, value) = row.map_err(self.error())?;
            loaded
                .streams
                .push(serde_json::from_slice(value.value()).map_err(self.corrupt())?);
        }
        let sets = transaction.open_table(SETS).map_err(self.error())?;
        for row in sets.iter().map_err(self.error())? {
            let (key, value) = row.map_err(self.error())?;
            let (stream, sequence) = key.value();
            let mut entry: Entry = serde_json::from_slice(value.value()).map_err(self.corrupt())?;
            entry.token = String::new();
            loaded.next_sequence = loaded.next_sequence.max(sequence + 1);
            loaded.entries.push((stream.to_string(), sequence, entry));
        }
        let keys = transaction.open_table(KEYS).map_err(self.error())?;
        for row in keys.iter().map_err(self.error())? {
            let (kid, jwk) = row.map_err(self.error())?;
            if let Ok(jwk) = serde_json::from_str(jwk.value()) {
                loaded.keys.insert(kid.value().to_string(), jwk);
            }
        }
        Ok(loaded)
    }

    /// Stores a stream (durably).
    pub fn put_stream(&self, stream: &Stream) -> Result<(), OutboxError> {
        let bytes = serde_json::to_vec(stream).map_err(self.corrupt())?;
        let transaction = self.database.begin_write().map_err(self.error())?;
        {
            let mut streams = transaction.open_table(STREAMS).map_err(self.error())?;
            streams
                .insert(stream.id.as_str(), bytes.as_slice())
                .map_err(self.error())?;
        }
        transaction.commit().map_err(self.error())
    }

    /// Deletes a stream and every SET it holds (durably).
    pub fn delete_stream(&self, id: &str) -> Result<(), OutboxError> {
        let transaction = self.database.begin_write().map_err(self.error())?;
        {
            let mut streams = transaction.open_table(STREAMS).map_err(self.error())?;
            streams.remove(id).map_err(self.error())?;
            let mut sets = transaction.open_table(SETS).map_err(self.error())?;
            sets.retain_in((id, 0)..=(id, u64::MAX), |_, _| false)
                .map_err(self.error())?;
        }
        transaction.commit().map_err(self.error())
    }

    /// Remembers the public key of a kid (durably), so SETs it signed stay verifiable
    /// after a key rotation.
    pub fn remember_key(&self, kid: &str, jwk: &serde_json::Value) -> Result<(), OutboxError> {
        let transaction = self.database.begin_write().map_err(self.error())?;
        {
            let mut keys = transaction.open_table(KEYS).map_err(self.error())?;
            keys.insert(kid, jwk.to_string().as_str())
                .map_err(self.error())?;
        }
        transaction.commit().map_err(self.error())
    }

    /// Appends SETs (durably): on return they survive a crash.
    pub fn append(&self, entries: &[(&str, u64, &Entry)]) -> Result<(), OutboxError> {
        if entries.is_empty() {
            return Ok(());
        }
        let transaction = self.database.begin_write().map_err(self.error())?;
        {
            let mut sets = transaction.open_table(SETS).map_err(self.error())?;
            let mut bytes = Vec::with_capacity(1024);
            for (stream, sequence, entry) in entries {
                bytes.clear();
                serde_json::to_writer(&mut bytes, entry).map_err(self.corrupt())?;
                sets.insert((*stream, *sequence), bytes.as_slice())
                    .map_err(self.error())?;
            }
        }
        transaction.commit().map_err(self.error())
    }

    /// Removes SETs, acknowledged or given up (not durably: a crash may bring them back,
    /// to be delivered again).
    pub fn remove(&self, items: &[(&str, u64)]) -> Result<(), OutboxError> {
        if items.is_empty() {
            return Ok(());
        }
        let mut transaction = self.database.begin_write().map_err(self.error())?;
        transaction.set_durability(Durability::None);
        {
            let mut sets = transaction.open_table(SETS).map_err(self.error())?;
            for item in items {
                sets.remove(*item).map_err(self.error())?;
            }
        }
        transaction.commit().map_err(self.error())
    }

    /// The signed SETs of a stream at `sequences` (None where one is gone).
    pub fn tokens(
        &self,
        stream: &str,
        sequences: &[u64],
    ) -> Result<Vec<Option<String>>, OutboxError> {
        let transaction = self.database.begin_read().map_err(self.error())?;
        let sets = transaction.open_table(SETS).map_err(self.error())?;
        let mut tokens = Vec::with_capacity(sequences.len());
        for sequence in sequences {
            let token = match sets.get((stream, *sequence)).map_err(self.error())? {
                Some(value) => {
                    let entry: Entry =
                        serde_json::from_slice(value.value()).map_err(self.corrupt())?;
                    Some(entry.token)
                }
                None => None,
            };
            tokens.push(token);
        }
        Ok(tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssf::config::DefaultSubjects;
    use crate::ssf::stream::{Delivery, Status};

    fn entry(jti: &str) -> Entry {
        Entry {
            jti: jti.into(),
            subject: 7,
            control: false,
            kid: "k1".into(),
            decided: 1,
            queued: 2,
            token: format!("token-{jti}"),
        }
    }

    #[test]
    fn sets_and_streams_survive_reopening_and_deleting_a_stream_takes_its_sets() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join(FILE);
        let stream = Stream {
            id: "s1".into(),
            receiver: "r".into(),
            aud: "a".into(),
            delivery: Delivery::Poll,
            events_requested: None,
            description: None,
            status: Status::Enabled,
            reason: None,
            default_subjects: DefaultSubjects::All,
            added: Vec::new(),
            removed: Vec::new(),
        };
        {
            let outbox = Outbox::open(&path).unwrap();
            outbox.put_stream(&stream).unwrap();
            outbox
                .put_stream(&Stream {
                    id: "s2".into(),
                    ..stream.clone()
                })
                .unwrap();
            outbox
                .append(&[
                    ("s1", 0, &entry("a")),
                    ("s1", 1, &entry("b")),
                    ("s2", 2, &entry("c")),
                ])
                .unwrap();
            outbox.remove(&[("s1", 0)]).unwrap();
            outbox
                .remember_key("k1", &serde_json::json!({"kid": "k1"}))
                .unwrap();
            assert_eq!(
                outbox.tokens("s1", &[0, 1]).unwrap(),
                vec![None, Some("token-b".to_string())]
            );
        }
        let outbox = Outbox::open(&path).unwrap();
        let loaded = outbox.load().unwrap();
        assert_eq!(loaded.streams.len(), 2);
        assert_eq!(loaded.next_sequence, 3);
        let jtis: Vec<&str> = loaded
            .entries
            .iter()
            .map(|(_, _, e)| e.jti.as_str())
            .collect();
        assert_eq!(jtis, vec!["b", "c"]);
        assert!(loaded.entries.iter().all(|(_, _, e)| e.token.is_empty()));
        assert_eq!(loaded.keys["k1"]["kid"], "k1");
        outbox.delete_stream("s1").unwrap();
        let loaded = outbox.load().unwrap();
        assert_eq!(loaded.streams.len(), 1);
        assert_eq!(loaded.entries.len(), 1);
        assert_eq!(loaded.entries[0].0, "s2");
    }
}
