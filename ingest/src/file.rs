//! File source: JSON lines read in batches, each record with its file and line.
//!
//! Lines longer than [`MAX_RECORD_BYTES`] are not buffered whole: the reader keeps the
//! first bytes, discards the rest up to the newline, and reports the record as oversized,
//! so one hostile line cannot exhaust memory.
//!
//! [`FileSource`] reads one batch ahead on its own thread, so reading overlaps decoding
//! and judging; two batch buffers circulate between it and the pipeline (bounded: the
//! reader waits when the pipeline is behind, nothing is dropped).

use crate::source::{Position, Readiness, RecordBatch, RecordSpan, Source, SourceError, Stream};
use crate::{Format, MAX_RECORD_BYTES};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use vigil_schemas::Progress;

/// Reads a file of JSON lines in batches.
pub struct LineReader {
    stream: Stream,
    reader: BufReader<Box<dyn Read + Send>>,
    line: u64,
    done: bool,
}

impl LineReader {
    /// Opens a file; `-` reads standard input.
    pub fn open(path: &Path) -> io::Result<LineReader> {
        let source: Box<dyn Read + Send> = if path == Path::new("-") {
            Box::new(io::stdin())
        } else {
            Box::new(File::open(path)?)
        };
        Ok(LineReader::new(path.display().to_string(), source))
    }

    /// Reads from any source, naming it `name` in origins.
    pub fn new(name: String, source: Box<dyn Read + Send>) -> LineReader {
        LineReader {
            stream: Stream::file(&name),
            reader: BufReader::with_capacity(1 << 20, source),
            line: 0,
            done: false,
        }
    }

    /// The name of the source, as used in origins.
    pub fn name(&self) -> &str {
        self.stream.input()
    }

    /// The stream read.
    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    /// The next batch of up to `max_lines` non-empty lines, or `None` at the end.
    pub fn next_batch(&mut self, max_lines: usize) -> io::Result<Option<RecordBatch>> {
        let mut batch = RecordBatch::default();
        Ok(self
            .fill(&mut batch, max_lines, Format::Auto)?
            .then_some(batch))
    }

    /// Refills `batch` (reusing its buffers: no fresh pages per batch) with up to
    /// `max_lines` non-empty lines of `format`; false at the end of the input.
    pub fn fill(
        &mut self,
        batch: &mut RecordBatch,
        max_lines: usize,
        format: Format,
    ) -> io::Result<bool> {
        batch.clear();
        let stream = batch.stream_index(&self.stream, format);
        while batch.records.len() < max_lines && !self.done {
            let start = batch.data.len();
            let (complete_length, reached_end) = self.read_line(&mut batch.data)?;
            if reached_end && complete_length == 0 {
                self.done = true;
                break;
            }
            self.line += 1;
            let mut end = batch.data.len();
            while end > start && matches!(batch.data[end - 1], b'\r' | b'\n') {
                end -= 1;
            }
            let blank = batch.data[start..end].iter().all(u8::is_ascii_whitespace);
            if blank && complete_length <= MAX_RECORD_BYTES as u64 {
                batch.data.truncate(start);
            } else {
                let oversized =
                    (complete_length > MAX_RECORD_BYTES as u64).then_some(complete_length);
                batch.records.push(RecordSpan {
                    stream,
                    sequence: self.line,
                    start,
                    end,
                    oversized,
                });
            }
            if reached_end {
                self.done = true;
            }
        }
        batch.positions.push(Position {
            stream: self.stream.clone(),
            next: self.line,
            mark: 0,
        });
        Ok(!batch.records.is_empty())
    }

    /// Reads past the first `lines` lines (a resumed replay's position); false when the
    /// input has fewer.
    pub fn skip_lines(&mut self, lines: u64) -> io::Result<bool> {
        let mut discard = Vec::new();
        while self.line < lines {
            discard.clear();
            let (length, reached_end) = self.read_line(&mut discard)?;
            if reached_end && length == 0 {
                self.done = true;
                return Ok(false);
            }
            self.line += 1;
            if reached_end {
                self.done = true;
                return Ok(self.line >= lines);
            }
        }
        Ok(true)
    }

    /// Appends one line (kept to at most `MAX_RECORD_BYTES` + newline) to `buffer`;
    /// returns the line's full length and whether the input ended.
    fn read_line(&mut self, buffer: &mut Vec<u8>) -> io::Result<(u64, bool)> {
        let mut total: u64 = 0;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if available.is_empty() {
                return Ok((total, true));
            }
            let (chunk, found_newline) = match memchr::memchr(b'\n', available) {
                Some(position) => (&available[..=position], true),
                None => (available, false),
            };
            let room = (MAX_RECORD_BYTES + 1).saturating_sub(total as usize);
            buffer.extend_from_slice(&chunk[..chunk.len().min(room)]);
            total += chunk.len() as u64;
            let consumed = chunk.len();
            self.reader.consume(consumed);
            if found_newline {
                return Ok((total, false));
            }
        }
    }
}

/// A file as a [`Source`]: [`LineReader`] on a thread of its own, one batch ahead.
pub struct FileSource {
    /// The reader, until the reading thread takes it.
    reader: Option<LineReader>,
    format: Format,
    batch_size: usize,
    name: String,
    filled: Option<tokio::sync::mpsc::Receiver<io::Result<RecordBatch>>>,
    recycle: Option<std::sync::mpsc::SyncSender<RecordBatch>>,
    /// A batch received while waiting, for the next [`Source::next_batch`].
    stashed: Option<RecordBatch>,
    ended: bool,
}

impl FileSource {
    /// Reads `reader` in batches of up to `batch_size` records of `format`.
    pub fn new(reader: LineReader, format: Format, batch_size: usize) -> FileSource {
        FileSource {
            name: reader.name().to_string(),
            reader: Some(reader),
            format,
            batch_size: batch_size.max(1),
            filled: None,
            recycle: None,
            stashed: None,
            ended: false,
        }
    }

    /// Opens a file (`-`: standard input).
    pub fn open(path: &Path, format: Format, batch_size: usize) -> Result<FileSource, SourceError> {
        let reader = LineReader::open(path).map_err(|source| SourceError::Read {
            name: path.display().to_string(),
            source,
        })?;
        Ok(FileSource::new(reader, format, batch_size))
    }

    fn read_error(&self, source: io::Error) -> SourceError {
        SourceError::Read {
            name: self.name.clone(),
            source,
        }
    }

    /// Starts the reading thread on first use.
    fn start(&mut self) {
        let Some(mut reader) = self.reader.take() else {
            return;
        };
        let (filled_sender, filled) = tokio::sync::mpsc::channel::<io::Result<RecordBatch>>(1);
        let (recycle, recycled) = std::sync::mpsc::sync_channel::<RecordBatch>(2);
        let (format, batch_size) = (self.format, self.batch_size);
        std::thread::spawn(move || {
            // Two buffers circulate: this one, and the one the pipeline brings (its first
            // `next_batch` hands back an empty batch). A third would only hold a batch
            // more in memory, never start one sooner.
            let mut spare = vec![RecordBatch::default()];
            loop {
                let mut batch = spare
                    .pop()
                    .or_else(|| recycled.recv().ok())
                    .unwrap_or_default();
                match reader.fill(&mut batch, batch_size, format) {
                    Ok(true) => {
                        if filled_sender.blocking_send(Ok(batch)).is_err() {
                            return;
                        }
                    }
                    Ok(false) => return,
                    Err(error) => {
                        let _ = filled_sender.blocking_send(Err(error));
                        return;
                    }
                }
            }
        });
        self.filled = Some(filled);
        self.recycle = Some(recycle);
    }
}

impl Source for FileSource {
    fn resume(&mut self, positions: &BTreeMap<String, Progress>) -> Result<(), SourceError> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(());
        };
        let done = positions
            .get(&reader.stream().key())
            .map_or(0, |progress| progress.next);
        if done > 0 {
            tracing::info!(input = %self.name, lines = done, "resuming after the lines already judged");
            let skipped = reader.skip_lines(done);
            skipped.map_err(|source| self.read_error(source))?;
        }
        Ok(())
    }

    fn read_ahead(&self) -> bool {
        true
    }

    async fn ready(&mut self, _wait: bool) -> Result<Readiness, SourceError> {
        if self.stashed.is_some() {
            return Ok(Readiness::Ready);
        }
        if self.ended {
            return Ok(Readiness::Ended);
        }
        self.start();
        let received = match self.filled.as_mut() {
            Some(filled) => filled.recv().await,
            None => None,
        };
        match received {
            Some(Ok(batch)) => {
                self.stashed = Some(batch);
                Ok(Readiness::Ready)
            }
            Some(Err(error)) => {
                self.ended = true;
                Err(self.read_error(error))
            }
            None => {
                self.ended = true;
                Ok(Readiness::Ended)
            }
        }
    }

    async fn next_batch(&mut self, batch: &mut RecordBatch) -> Result<bool, SourceError> {
        if self.stashed.is_none() && self.ready(true).await? == Readiness::Ended {
            return Ok(false);
        }
        let Some(mut next) = self.stashed.take() else {
            return Ok(false);
        };
        std::mem::swap(batch, &mut next);
        if let Some(recycle) = &self.recycle {
            let _ = recycle.try_send(next);
        }
        Ok(true)
    }

    fn commit(&mut self, _positions: &[Position]) -> Result<(), SourceError> {
        // A file's position lives in the state store alone.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(text: &'static [u8]) -> LineReader {
        LineReader::new("memory".into(), Box::new(text))
    }

    #[test]
    fn numbers_lines_and_skips_blank_ones() {
        let mut lines = reader(b"{\"a\":1}\r\n\n   \n{\"b\":2}\n{\"c\":3}");
        let batch = lines.next_batch(2).unwrap().unwrap();
        let seen: Vec<(u64, &[u8])> = batch
            .records
            .iter()
            .map(|span| (span.sequence, batch.bytes(span)))
            .collect();
        assert_eq!(seen, vec![(1, &b"{\"a\":1}"[..]), (4, &b"{\"b\":2}"[..])]);
        let batch = lines.next_batch(2).unwrap().unwrap();
        assert_eq!(
            (batch.records[0].sequence, batch.bytes(&batch.records[0])),
            (5, &b"{\"c\":3}"[..])
        );
        assert!(lines.next_batch(2).unwrap().is_none());
    }

    #[test]
    fn a_resumed_read_starts_after_the_skipped_lines() {
        let mut lines = reader(b"{\"a\":1}\n\n{\"b\":2}\n{\"c\":3}\n");
        let first = lines.next_batch(1).unwrap().unwrap();
        assert_eq!(first.positions[0].next, 1);
        let second = lines.next_batch(1).unwrap().unwrap();
        assert_eq!(second.positions[0].next, 3, "the blank line is counted");
        let mut resumed = reader(b"{\"a\":1}\n\n{\"b\":2}\n{\"c\":3}\n");
        assert!(resumed.skip_lines(3).unwrap());
        let rest = resumed.next_batch(10).unwrap().unwrap();
        assert_eq!(rest.records.len(), 1);
        assert_eq!(
            (rest.records[0].sequence, rest.bytes(&rest.records[0])),
            (4, &b"{\"c\":3}"[..])
        );
        assert!(!reader(b"{}\n").skip_lines(5).unwrap());
    }

    #[test]
    fn oversized_lines_are_cut_and_flagged() {
        let mut text = vec![b'x'; MAX_RECORD_BYTES * 3];
        text.extend_from_slice(b"\n{\"ok\":1}\n");
        let mut lines = LineReader::new("memory".into(), Box::new(io::Cursor::new(text)));
        let batch = lines.next_batch(10).unwrap().unwrap();
        assert_eq!(
            batch.records[0].oversized,
            Some(MAX_RECORD_BYTES as u64 * 3 + 1)
        );
        assert!(batch.bytes(&batch.records[0]).len() <= MAX_RECORD_BYTES + 1);
        assert_eq!(batch.bytes(&batch.records[1]), b"{\"ok\":1}");
    }
}
