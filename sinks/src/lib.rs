//! vigil's hands: where decisions and rejected records go.
//!
//! - [`JsonLines`]: one JSON document per line to a file or standard output, buffered,
//!   flushed on [`JsonLines::finish`]; used for decisions in `vigil replay`.
//!   Rejected records ([`vigil_schemas::Reject`]) are written the same way.
//! - [`Output`]: the one trait every output implements; each send returns an [`Ack`].
//!   [`DecisionsFile`] and [`RejectsFile`] are the file outputs of `vigil replay`.
//! - [`caep::Signer`]: signs CAEP Security Event Tokens (RS256 or ES256) and publishes
//!   the JWK Set receivers verify them with.
//! - [`kafka::KafkaOutputs`]: decisions, SOC alerts, signed SETs and dead letters to Kafka
//!   (the `kafka` feature).
//! - [`archive::ArchiveOutput`]: events, signals, decisions and sessions as Parquet.
//! - [`ssf::SsfOutput`]: vigil as an OpenID Shared Signals transmitter: streams managed by
//!   receivers, a durable outbox, push (RFC 8935) and poll (RFC 8936) delivery.
//!
//! Every write error names the destination.

pub mod archive;
pub mod caep;
#[cfg(feature = "kafka")]
pub mod kafka;
mod output;
pub mod ssf;

pub use output::{Ack, BoxFuture, Judged, Output, Rejected};

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
    /// The archive failed.
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
    /// The Shared Signals outbox failed.
    #[error(transparent)]
    Ssf(#[from] ssf::OutboxError),
    /// A Kafka send failed or was not acknowledged.
    #[cfg(feature = "kafka")]
    #[error("{what}: {source}")]
    Kafka {
        /// What was being sent.
        what: &'static str,
        /// Cause.
        source: rdkafka::error::KafkaError,
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

/// Decisions as JSON lines (`vigil replay --output`).
pub struct DecisionsFile(Option<JsonLines>);

impl DecisionsFile {
    /// Writes to `lines`.
    pub fn new(lines: JsonLines) -> DecisionsFile {
        DecisionsFile(Some(lines))
    }
}

impl Output for DecisionsFile {
    fn name(&self) -> &'static str {
        "decisions_file"
    }

    fn judged<'a>(&'a mut self, judged: Judged<'a>) -> BoxFuture<'a, Result<Ack, SinkError>> {
        let written = match &mut self.0 {
            Some(lines) => judged
                .decisions
                .iter()
                .try_for_each(|decision| lines.write(decision)),
            None => Ok(()),
        };
        Box::pin(async move { written.map(|()| Ack::done()) })
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        match &mut self.0 {
            Some(lines) => lines.flush(),
            None => Ok(()),
        }
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        match self.0.take() {
            Some(lines) => lines.finish().map(|_| ()),
            None => Ok(()),
        }
    }
}

/// Rejected records as JSON lines, the file created at the first one.
pub struct RejectsFile {
    path: PathBuf,
    append: bool,
    lines: Option<JsonLines>,
}

impl RejectsFile {
    /// Rejects to `path`, appended to what is there when `append` (a resumed replay).
    pub fn new(path: PathBuf, append: bool) -> RejectsFile {
        RejectsFile {
            path,
            append,
            lines: None,
        }
    }
}

impl Output for RejectsFile {
    fn name(&self) -> &'static str {
        "rejects_file"
    }

    fn rejects<'a>(
        &'a mut self,
        rejected: &'a [Rejected<'a>],
    ) -> BoxFuture<'a, Result<Ack, SinkError>> {
        let written = (|| {
            for one in rejected {
                let lines = match &mut self.lines {
                    Some(lines) => lines,
                    None => {
                        let opened = if self.append {
                            JsonLines::append(&self.path)
                        } else {
                            JsonLines::create(&self.path)
                        };
                        self.lines.insert(opened?)
                    }
                };
                lines.write(one.reject)?;
            }
            Ok(())
        })();
        Box::pin(async move { written.map(|()| Ack::done()) })
    }

    fn judged<'a>(&'a mut self, _judged: Judged<'a>) -> BoxFuture<'a, Result<Ack, SinkError>> {
        Box::pin(async { Ok(Ack::done()) })
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        match &mut self.lines {
            Some(lines) => lines.flush(),
            None => Ok(()),
        }
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        match self.lines.take() {
            Some(lines) => lines.finish().map(|_| ()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use vigil_schemas::Reject;

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
