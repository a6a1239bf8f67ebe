//! File source: JSON lines read in batches, each record with its file and line.
//!
//! Lines longer than [`MAX_RECORD_BYTES`] are not buffered whole: the reader keeps the
//! first bytes, discards the rest up to the newline, and reports the record as oversized,
//! so one hostile line cannot exhaust memory.

use crate::MAX_RECORD_BYTES;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

/// One line of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineSpan {
    /// 1-based line number in the file.
    pub line: u64,
    /// Start of the line's bytes in the batch buffer.
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
    /// Full length of the line when it was cut at [`MAX_RECORD_BYTES`].
    pub oversized: Option<u64>,
}

/// Consecutive non-empty lines of one file, in one buffer.
#[derive(Debug, Default)]
pub struct LineBatch {
    /// The file's path as given.
    pub file: Arc<str>,
    data: Vec<u8>,
    /// The lines, in file order.
    pub lines: Vec<LineSpan>,
    /// Lines of the file read once this batch was filled (blank ones included): where a
    /// resumed read starts after it.
    pub end_line: u64,
}

impl LineBatch {
    /// The bytes of a line (without its newline).
    pub fn bytes(&self, span: &LineSpan) -> &[u8] {
        &self.data[span.start..span.end]
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether there are no lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// Reads a file of JSON lines in batches.
pub struct LineReader {
    file: Arc<str>,
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
            file: Arc::from(name),
            reader: BufReader::with_capacity(1 << 20, source),
            line: 0,
            done: false,
        }
    }

    /// The name of the source, as used in origins.
    pub fn name(&self) -> &str {
        &self.file
    }

    /// The next batch of up to `max_lines` non-empty lines, or `None` at the end.
    pub fn next_batch(&mut self, max_lines: usize) -> io::Result<Option<LineBatch>> {
        let mut batch = LineBatch::default();
        Ok(self.fill(&mut batch, max_lines)?.then_some(batch))
    }

    /// Refills `batch` (reusing its buffers: no fresh pages per batch) with up to
    /// `max_lines` non-empty lines; false at the end of the input.
    pub fn fill(&mut self, batch: &mut LineBatch, max_lines: usize) -> io::Result<bool> {
        batch.file = self.file.clone();
        batch.data.clear();
        batch.lines.clear();
        while batch.lines.len() < max_lines && !self.done {
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
                batch.lines.push(LineSpan {
                    line: self.line,
                    start,
                    end,
                    oversized,
                });
            }
            if reached_end {
                self.done = true;
            }
        }
        batch.end_line = self.line;
        Ok(!batch.lines.is_empty())
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
            .lines
            .iter()
            .map(|span| (span.line, batch.bytes(span)))
            .collect();
        assert_eq!(seen, vec![(1, &b"{\"a\":1}"[..]), (4, &b"{\"b\":2}"[..])]);
        let batch = lines.next_batch(2).unwrap().unwrap();
        assert_eq!(
            (batch.lines[0].line, batch.bytes(&batch.lines[0])),
            (5, &b"{\"c\":3}"[..])
        );
        assert!(lines.next_batch(2).unwrap().is_none());
    }

    #[test]
    fn a_resumed_read_starts_after_the_skipped_lines() {
        let mut lines = reader(b"{\"a\":1}\n\n{\"b\":2}\n{\"c\":3}\n");
        let first = lines.next_batch(1).unwrap().unwrap();
        assert_eq!(first.end_line, 1);
        let second = lines.next_batch(1).unwrap().unwrap();
        assert_eq!(second.end_line, 3, "the blank line is counted");
        let mut resumed = reader(b"{\"a\":1}\n\n{\"b\":2}\n{\"c\":3}\n");
        assert!(resumed.skip_lines(3).unwrap());
        let rest = resumed.next_batch(10).unwrap().unwrap();
        assert_eq!(rest.lines.len(), 1);
        assert_eq!(
            (rest.lines[0].line, rest.bytes(&rest.lines[0])),
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
            batch.lines[0].oversized,
            Some(MAX_RECORD_BYTES as u64 * 3 + 1)
        );
        assert!(batch.bytes(&batch.lines[0]).len() <= MAX_RECORD_BYTES + 1);
        assert_eq!(batch.bytes(&batch.lines[1]), b"{\"ok\":1}");
    }
}
