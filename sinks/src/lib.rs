//! vigil's hands: where decisions and rejected records go.
//!
//! - [`JsonLines`]: one JSON document per line to a file or standard output, buffered,
//!   flushed on [`JsonLines::finish`]; used for decisions in `vigil replay`.
//! - [`Reject`]: a record that could not be decoded, with its origin and the reason, as
//!   written to the rejects file (and, on the Kafka path, the dead-letter topic).
//!
//! - [`caep::Signer`]: signs CAEP Security Event Tokens (RS256 or ES256) and publishes
//!   the JWK Set receivers verify them with.
//! - [`kafka::KafkaOutputs`]: decisions, SOC alerts, signed SETs and dead letters to Kafka.
//!
//! Every write error names the destination.

pub mod archive;
pub mod caep;
pub mod kafka;

use serde::Serialize;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A sink write failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The destination could not be created.
    #[error("failed to create `{path}`: {source}")]
    Create {
        /// Destination.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
    /// A write or flush failed.
    #[error("failed to write `{path}`: {source}")]
    Write {
        /// Destination.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
}

/// A JSON-lines writer.
pub struct JsonLines {
    path: PathBuf,
    writer: BufWriter<Box<dyn Write + Send>>,
    written: u64,
    line: Vec<u8>,
}

impl JsonLines {
    /// Creates (truncates) a file; `-` writes to standard output.
    pub fn create(path: &Path) -> Result<JsonLines, SinkError> {
        let destination: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(io::stdout())
        } else {
            if let Some(parent) = path
                .parent()
                .filter(|parent| !parent.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent).map_err(|source| SinkError::Create {
                    path: path.to_path_buf(),
                    source,
                })?;
            }
            Box::new(File::create(path).map_err(|source| SinkError::Create {
                path: path.to_path_buf(),
                source,
            })?)
        };
        Ok(JsonLines::new(path.to_path_buf(), destination))
    }

    /// Opens a file for appending (creating it when absent): a resumed replay adds to
    /// what the interrupted one wrote.
    pub fn append(path: &Path) -> Result<JsonLines, SinkError> {
        if path == Path::new("-") {
            return JsonLines::create(path);
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| SinkError::Create {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(JsonLines::new(path.to_path_buf(), Box::new(file)))
    }

    /// Hands everything written so far to the operating system (it then survives the
    /// process being killed).
    pub fn flush(&mut self) -> Result<(), SinkError> {
        self.writer.flush().map_err(|source| SinkError::Write {
            path: self.path.clone(),
            source,
        })
    }

    /// Writes to any destination, naming it `path` in errors.
    pub fn new(path: PathBuf, destination: Box<dyn Write + Send>) -> JsonLines {
        JsonLines {
            path,
            writer: BufWriter::with_capacity(1 << 16, destination),
            written: 0,
            line: Vec::with_capacity(1024),
        }
    }

    /// Appends one document as a line.
    pub fn write<T: Serialize>(&mut self, document: &T) -> Result<(), SinkError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, document).map_err(|error| SinkError::Write {
            path: self.path.clone(),
            source: io::Error::other(error),
        })?;
        self.line.push(b'\n');
        self.writer
            .write_all(&self.line)
            .map_err(|source| SinkError::Write {
                path: self.path.clone(),
                source,
            })?;
        self.written += 1;
        Ok(())
    }

    /// Documents written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The destination.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes everything written.
    pub fn finish(mut self) -> Result<u64, SinkError> {
        self.writer.flush().map_err(|source| SinkError::Write {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.written)
    }
}

/// A record that could not be decoded: what it was, where it came from, and why.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Reject {
    /// Where it was read (file and line, or topic, partition and offset).
    #[serde(flatten)]
    pub origin: vigil_schemas::Origin,
    /// Why it was rejected, naming the field.
    pub reason: String,
    /// The record as read, lossily decoded as UTF-8, cut at [`Reject::MAX_KEPT_BYTES`].
    pub record: String,
    /// Whether `record` was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Reject {
    /// The most bytes of a rejected record kept in the rejects file: enough to see what
    /// it was, without copying a hostile megabyte record.
    pub const MAX_KEPT_BYTES: usize = 64 * 1024;

    /// A reject of `record` read at `origin`.
    pub fn new(origin: vigil_schemas::Origin, reason: String, record: &[u8]) -> Reject {
        let kept = &record[..record.len().min(Self::MAX_KEPT_BYTES)];
        Reject {
            origin,
            reason,
            record: String::from_utf8_lossy(kept).into_owned(),
            truncated: kept.len() < record.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| io::Error::other("poisoned"))?
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn rejects_keep_origin_reason_and_a_bounded_record() {
        let shared = Shared::default();
        let mut sink = JsonLines::new("memory".into(), Box::new(shared.clone()));
        let origin = vigil_schemas::Origin::File {
            file: "in.jsonl".into(),
            line: 7,
        };
        sink.write(&Reject::new(
            origin.clone(),
            "malformed JSON".into(),
            b"{oops\xff",
        ))
        .unwrap();
        let huge = vec![b'a'; Reject::MAX_KEPT_BYTES * 2];
        sink.write(&Reject::new(origin, "too big".into(), &huge))
            .unwrap();
        assert_eq!(sink.finish().unwrap(), 2);
        let text = String::from_utf8(shared.0.lock().unwrap().clone()).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["file"], "in.jsonl");
        assert_eq!(first["line"], 7);
        assert_eq!(first["reason"], "malformed JSON");
        assert_eq!(first["record"], "{oops\u{fffd}");
        let second: Reject = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
        assert!(second.truncated && second.record.len() == Reject::MAX_KEPT_BYTES);
    }

    #[test]
    fn create_names_the_path() {
        let Err(error) = JsonLines::create(Path::new("/proc/vigil-cannot/decisions.jsonl")) else {
            panic!("created")
        };
        assert!(error
            .to_string()
            .contains("`/proc/vigil-cannot/decisions.jsonl`"));
    }
}
