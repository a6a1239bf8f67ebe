//! The archive: events, signals, decisions and session changes as Parquet (zstd) under
//! `<archive>/<table>/date=YYYY-MM-DD/part-<run>-<n>.parquet`, for analysts' SQL.
//!
//! Rows are gathered per table and day in Arrow builders on the caller's thread; a full
//! buffer (or [`Archive::finish`]) becomes a record batch that a writer thread sorts by
//! identity, then time (one identity's history is then a few contiguous row groups),
//! encodes and writes. The channel to the writer is bounded: a slow disk slows the
//! pipeline instead of dropping rows. A file is written under a dot-name and renamed
//! into place once complete, so readers never see a partial file and a killed writer
//! leaves nothing a reader would open.

use crate::{Ack, BoxFuture, Judged, Output, SinkError};
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, ListBuilder, StringBuilder, StructBuilder,
    TimestampMicrosecondBuilder, UInt16Builder, UInt32Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use vigil_schemas::archive;
use vigil_schemas::{Decision, Detail, Envelope, SignalRecord, Timestamp};

pub mod sessions;
use sessions::{SessionRow, Sessions};

/// Rows gathered per table and day before a file is written.
pub const ROWS_PER_FILE: usize = 1 << 18;

/// Session timeout of the `sessions` table unless told ([`Archive::with_session_idle`]):
/// the engine's default, 12 hours.
pub const DEFAULT_SESSION_IDLE_MICROS: i64 = 12 * 3_600_000_000;

/// Why the archive failed.
#[derive(Debug, thiserror::Error)]
#[error("archive `{path}`: {message}")]
pub struct ArchiveError {
    /// The file or folder.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

fn day(time: Timestamp) -> String {
    let text = time.to_string();
    text.get(..10).unwrap_or("0000-00-00").to_string()
}

const DAY_MICROS: i64 = 86_400_000_000;

/// Days since the epoch: buffers are keyed by it, and the day's name is made only when a
/// buffer is written out (not for every row).
fn day_number(time: Timestamp) -> i64 {
    time.0.div_euclid(DAY_MICROS)
}

/// Writes an address as `Display` shows it: IPv4 (nearly every address) digit by digit,
/// since `write!` ran each octet through the formatting machinery (with origins, 28% of
/// the instructions of `Archive::event`; issue 6), and IPv6 through `Display`.
fn write_ip(out: &mut impl std::fmt::Write, address: std::net::IpAddr) -> std::fmt::Result {
    let std::net::IpAddr::V4(v4) = address else {
        return write!(out, "{address}");
    };
    let mut text = [0u8; 15];
    let mut length = 0;
    for (position, octet) in v4.octets().into_iter().enumerate() {
        if position > 0 {
            text[length] = b'.';
            length += 1;
        }
        if octet >= 100 {
            text[length] = b'0' + octet / 100;
            length += 1;
        }
        if octet >= 10 {
            text[length] = b'0' + octet / 10 % 10;
            length += 1;
        }
        text[length] = b'0' + octet % 10;
        length += 1;
    }
    out.write_str(std::str::from_utf8(&text[..length]).map_err(|_| std::fmt::Error)?)
}

fn timestamps() -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::new().with_timezone("UTC")
}

/// Bytes a row takes besides its text columns, about (times, numbers, offsets).
const FIXED_ROW_BYTES: usize = 128;

/// Most bytes of rows one buffer (a table and day) gathers before it is written out,
/// whatever `rows_per_file` says: bounds memory, and keeps every text column far below
/// the 2 GiB an Arrow string column can address (past it, Arrow panics).
pub const MAX_BUFFER_BYTES: usize = 128 << 20;

struct EventRows {
    time: TimestampMicrosecondBuilder,
    identity: StringBuilder,
    identity_type: StringBuilder,
    kind: StringBuilder,
    action: StringBuilder,
    outcome: StringBuilder,
    session_id: StringBuilder,
    device_id: StringBuilder,
    ip: StringBuilder,
    country: StringBuilder,
    city: StringBuilder,
    lat: Float64Builder,
    lon: Float64Builder,
    asn: UInt32Builder,
    user_agent: StringBuilder,
    app: StringBuilder,
    resource: StringBuilder,
    bytes: UInt64Builder,
    status: UInt16Builder,
    tool: StringBuilder,
    on_behalf_of: StringBuilder,
    compliant: BooleanBuilder,
    origin: StringBuilder,
    rows: usize,
}

impl EventRows {
    /// Bytes of text held (the columns that grow with the input).
    fn held_bytes(&self) -> usize {
        [
            &self.identity,
            &self.session_id,
            &self.device_id,
            &self.user_agent,
            &self.app,
            &self.resource,
            &self.tool,
            &self.on_behalf_of,
            &self.city,
            &self.origin,
        ]
        .iter()
        .map(|column| column.values_slice().len())
        .sum::<usize>()
            + self.rows * FIXED_ROW_BYTES
    }

    fn new() -> EventRows {
        EventRows {
            time: timestamps(),
            identity: StringBuilder::new(),
            identity_type: StringBuilder::new(),
            kind: StringBuilder::new(),
            action: StringBuilder::new(),
            outcome: StringBuilder::new(),
            session_id: StringBuilder::new(),
            device_id: StringBuilder::new(),
            ip: StringBuilder::new(),
            country: StringBuilder::new(),
            city: StringBuilder::new(),
            lat: Float64Builder::new(),
            lon: Float64Builder::new(),
            asn: UInt32Builder::new(),
            user_agent: StringBuilder::new(),
            app: StringBuilder::new(),
            resource: StringBuilder::new(),
            bytes: UInt64Builder::new(),
            status: UInt16Builder::new(),
            tool: StringBuilder::new(),
            on_behalf_of: StringBuilder::new(),
            compliant: BooleanBuilder::new(),
            origin: StringBuilder::new(),
            rows: 0,
        }
    }

    fn push(&mut self, envelope: &Envelope) {
        let event = &envelope.event;
        self.time.append_value(event.time.0);
        self.identity
            .append_value(event.identity.as_deref().unwrap_or_default());
        self.identity_type
            .append_value(event.identity_type.as_str());
        self.kind.append_value(event.kind().as_str());
        let (mut action, mut outcome, mut resource, mut bytes, mut status) =
            (None, None, None, None, None);
        let (mut tool, mut on_behalf_of, mut compliant) = (None, None, None);
        match &event.detail {
            Detail::Auth(auth) => {
                action = Some(auth.action.as_str());
                outcome = Some(auth.outcome.as_str());
            }
            Detail::Posture(posture) => compliant = Some(posture.compliant),
            Detail::Access(access) => {
                action = access.action.as_deref();
                resource = Some(access.resource.as_str());
                bytes = access.bytes;
                status = access.status;
                tool = access.tool.as_deref();
                on_behalf_of = access.on_behalf_of.as_deref();
            }
        }
        self.action.append_option(action);
        self.outcome.append_option(outcome);
        self.session_id.append_option(event.session_id.as_deref());
        self.device_id.append_option(event.device_id.as_deref());
        // Written straight into the column (no string per row).
        match event.ip {
            Some(address) => {
                let _ = write_ip(&mut self.ip, address);
                self.ip.append_value("");
            }
            None => self.ip.append_null(),
        }
        let geo = event.geo.as_ref();
        self.country
            .append_option(geo.and_then(|geo| geo.country.as_deref()));
        self.city
            .append_option(geo.and_then(|geo| geo.city.as_deref()));
        let coordinates = geo.and_then(|geo| geo.coordinates());
        self.lat.append_option(coordinates.map(|(lat, _)| lat));
        self.lon.append_option(coordinates.map(|(_, lon)| lon));
        self.asn.append_option(event.asn);
        self.user_agent.append_option(event.user_agent.as_deref());
        self.app.append_option(event.app.as_deref());
        self.resource.append_option(resource);
        self.bytes.append_option(bytes);
        self.status.append_option(status);
        self.tool.append_option(tool);
        self.on_behalf_of.append_option(on_behalf_of);
        self.compliant.append_option(compliant);
        let _ = envelope.origin.write_to(&mut self.origin);
        self.origin.append_value("");
        self.rows += 1;
    }

    fn finish(&mut self) -> Vec<ArrayRef> {
        self.rows = 0;
        vec![
            Arc::new(self.time.finish()),
            Arc::new(self.identity.finish()),
            Arc::new(self.identity_type.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.action.finish()),
            Arc::new(self.outcome.finish()),
            Arc::new(self.session_id.finish()),
            Arc::new(self.device_id.finish()),
            Arc::new(self.ip.finish()),
            Arc::new(self.country.finish()),
            Arc::new(self.city.finish()),
            Arc::new(self.lat.finish()),
            Arc::new(self.lon.finish()),
            Arc::new(self.asn.finish()),
            Arc::new(self.user_agent.finish()),
            Arc::new(self.app.finish()),
            Arc::new(self.resource.finish()),
            Arc::new(self.bytes.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.tool.finish()),
            Arc::new(self.on_behalf_of.finish()),
            Arc::new(self.compliant.finish()),
            Arc::new(self.origin.finish()),
        ]
    }
}

struct SignalRows {
    time: TimestampMicrosecondBuilder,
    identity: StringBuilder,
    session_id: StringBuilder,
    detector: StringBuilder,
    score: Float64Builder,
    confidence: Float64Builder,
    detail: StringBuilder,
    evidence: StringBuilder,
    session_risk: Float64Builder,
    origin: StringBuilder,
    rows: usize,
}

impl SignalRows {
    /// Bytes of text held (the columns that grow with the input).
    fn held_bytes(&self) -> usize {
        [
            &self.identity,
            &self.session_id,
            &self.detail,
            &self.evidence,
            &self.origin,
        ]
        .iter()
        .map(|column| column.values_slice().len())
        .sum::<usize>()
            + self.rows * FIXED_ROW_BYTES
    }

    fn new() -> SignalRows {
        SignalRows {
            time: timestamps(),
            identity: StringBuilder::new(),
            session_id: StringBuilder::new(),
            detector: StringBuilder::new(),
            score: Float64Builder::new(),
            confidence: Float64Builder::new(),
            detail: StringBuilder::new(),
            evidence: StringBuilder::new(),
            session_risk: Float64Builder::new(),
            origin: StringBuilder::new(),
            rows: 0,
        }
    }

    fn finish(&mut self) -> Vec<ArrayRef> {
        self.rows = 0;
        vec![
            Arc::new(self.time.finish()),
            Arc::new(self.identity.finish()),
            Arc::new(self.session_id.finish()),
            Arc::new(self.detector.finish()),
            Arc::new(self.score.finish()),
            Arc::new(self.confidence.finish()),
            Arc::new(self.detail.finish()),
            Arc::new(self.evidence.finish()),
            Arc::new(self.session_risk.finish()),
            Arc::new(self.origin.finish()),
        ]
    }
}

struct DecisionRows {
    id: StringBuilder,
    time: TimestampMicrosecondBuilder,
    decided_at: TimestampMicrosecondBuilder,
    identity: StringBuilder,
    session_id: StringBuilder,
    device_id: StringBuilder,
    action: StringBuilder,
    mode: StringBuilder,
    risk_score: Float64Builder,
    risk_level: StringBuilder,
    reasons: ListBuilder<StructBuilder>,
    rule: StringBuilder,
    assurance_level: StringBuilder,
    trigger: StringBuilder,
    rows: usize,
}

impl DecisionRows {
    /// Bytes of text held (the columns that grow with the input; a reason's detail is
    /// bounded by its detector).
    fn held_bytes(&self) -> usize {
        [
            &self.id,
            &self.identity,
            &self.session_id,
            &self.device_id,
            &self.rule,
            &self.trigger,
        ]
        .iter()
        .map(|column| column.values_slice().len())
        .sum::<usize>()
            + self.rows * 4 * FIXED_ROW_BYTES
    }

    fn new() -> DecisionRows {
        let reason = StructBuilder::new(
            archive::reason_fields(),
            vec![
                Box::new(StringBuilder::new()),
                Box::new(Float64Builder::new()),
                Box::new(StringBuilder::new()),
            ],
        );
        DecisionRows {
            id: StringBuilder::new(),
            time: timestamps(),
            decided_at: timestamps(),
            identity: StringBuilder::new(),
            session_id: StringBuilder::new(),
            device_id: StringBuilder::new(),
            action: StringBuilder::new(),
            mode: StringBuilder::new(),
            risk_score: Float64Builder::new(),
            risk_level: StringBuilder::new(),
            reasons: ListBuilder::new(reason),
            rule: StringBuilder::new(),
            assurance_level: StringBuilder::new(),
            trigger: StringBuilder::new(),
            rows: 0,
        }
    }

    fn push(&mut self, decision: &Decision) {
        self.id.append_value(&decision.id);
        self.time.append_value(decision.time.0);
        self.decided_at.append_value(decision.decided_at.0);
        self.identity.append_value(&decision.identity);
        self.session_id
            .append_option(decision.session_id.as_deref());
        self.device_id.append_option(decision.device_id.as_deref());
        self.action.append_value(decision.action.as_str());
        self.mode.append_value(decision.mode.as_str());
        self.risk_score.append_value(decision.risk.score);
        self.risk_level.append_value(decision.risk.level.as_str());
        let reasons = self.reasons.values();
        for reason in &decision.reasons {
            if let Some(detector) = reasons.field_builder::<StringBuilder>(0) {
                detector.append_value(reason.detector.as_str());
            }
            if let Some(score) = reasons.field_builder::<Float64Builder>(1) {
                score.append_value(reason.score);
            }
            if let Some(detail) = reasons.field_builder::<StringBuilder>(2) {
                detail.append_value(&reason.detail);
            }
            reasons.append(true);
        }
        self.reasons.append(true);
        self.rule.append_value(&decision.rule);
        self.assurance_level
            .append_option(decision.assurance_level.as_deref());
        let _ = decision.trigger.write_to(&mut self.trigger);
        self.trigger.append_value("");
        self.rows += 1;
    }

    fn finish(&mut self) -> Vec<ArrayRef> {
        self.rows = 0;
        vec![
            Arc::new(self.id.finish()),
            Arc::new(self.time.finish()),
            Arc::new(self.decided_at.finish()),
            Arc::new(self.identity.finish()),
            Arc::new(self.session_id.finish()),
            Arc::new(self.device_id.finish()),
            Arc::new(self.action.finish()),
            Arc::new(self.mode.finish()),
            Arc::new(self.risk_score.finish()),
            Arc::new(self.risk_level.finish()),
            Arc::new(self.reasons.finish()),
            Arc::new(self.rule.finish()),
            Arc::new(self.assurance_level.finish()),
            Arc::new(self.trigger.finish()),
        ]
    }
}

struct SessionRows {
    time: TimestampMicrosecondBuilder,
    identity: StringBuilder,
    identity_type: StringBuilder,
    session_id: StringBuilder,
    version: UInt32Builder,
    change: StringBuilder,
    device_id: StringBuilder,
    established_at: TimestampMicrosecondBuilder,
    last_seen: TimestampMicrosecondBuilder,
    ended_at: TimestampMicrosecondBuilder,
    revoked_at: TimestampMicrosecondBuilder,
    events: UInt64Builder,
    ips: ListBuilder<StringBuilder>,
    countries: ListBuilder<StringBuilder>,
    peak_risk: Float64Builder,
    actions: ListBuilder<StringBuilder>,
    rows: usize,
}

impl SessionRows {
    /// Bytes of text held (the columns that grow with the input).
    fn held_bytes(&self) -> usize {
        [&self.identity, &self.session_id, &self.device_id]
            .iter()
            .map(|column| column.values_slice().len())
            .sum::<usize>()
            + self.rows * 2 * FIXED_ROW_BYTES
    }

    fn new() -> SessionRows {
        SessionRows {
            time: timestamps(),
            identity: StringBuilder::new(),
            identity_type: StringBuilder::new(),
            session_id: StringBuilder::new(),
            version: UInt32Builder::new(),
            change: StringBuilder::new(),
            device_id: StringBuilder::new(),
            established_at: timestamps(),
            last_seen: timestamps(),
            ended_at: timestamps(),
            revoked_at: timestamps(),
            events: UInt64Builder::new(),
            ips: ListBuilder::new(StringBuilder::new()),
            countries: ListBuilder::new(StringBuilder::new()),
            peak_risk: Float64Builder::new(),
            actions: ListBuilder::new(StringBuilder::new()),
            rows: 0,
        }
    }

    fn push(&mut self, row: &SessionRow) {
        let session = &row.session;
        self.time.append_value(row.time.0);
        self.identity.append_value(&row.identity);
        self.identity_type
            .append_value(session.identity_type.as_str());
        self.session_id.append_value(&session.session_id);
        self.version.append_value(session.version);
        self.change.append_value(row.change);
        self.device_id.append_option(session.device_id.as_deref());
        self.established_at.append_value(session.established_at.0);
        self.last_seen.append_value(session.last_seen.0);
        self.ended_at
            .append_option(session.ended_at.map(|time| time.0));
        self.revoked_at
            .append_option(session.revoked_at.map(|time| time.0));
        self.events.append_value(session.events);
        for ip in &session.ips {
            // Written straight into the list's values (no string per address).
            let _ = write_ip(self.ips.values(), *ip);
            self.ips.values().append_value("");
        }
        self.ips.append(true);
        for country in &session.countries {
            self.countries.values().append_value(country);
        }
        self.countries.append(true);
        self.peak_risk.append_value(session.peak_risk);
        for action in &session.actions {
            self.actions.values().append_value(action);
        }
        self.actions.append(true);
        self.rows += 1;
    }

    fn finish(&mut self) -> Vec<ArrayRef> {
        self.rows = 0;
        vec![
            Arc::new(self.time.finish()),
            Arc::new(self.identity.finish()),
            Arc::new(self.identity_type.finish()),
            Arc::new(self.session_id.finish()),
            Arc::new(self.version.finish()),
            Arc::new(self.change.finish()),
            Arc::new(self.device_id.finish()),
            Arc::new(self.established_at.finish()),
            Arc::new(self.last_seen.finish()),
            Arc::new(self.ended_at.finish()),
            Arc::new(self.revoked_at.finish()),
            Arc::new(self.events.finish()),
            Arc::new(self.ips.finish()),
            Arc::new(self.countries.finish()),
            Arc::new(self.peak_risk.finish()),
            Arc::new(self.actions.finish()),
        ]
    }
}

/// One finished buffer for the writer: table, day, rows.
type Work = (&'static str, String, RecordBatch);

/// The archive writer.
pub struct Archive {
    dir: PathBuf,
    events: BTreeMap<i64, EventRows>,
    signals: BTreeMap<i64, SignalRows>,
    decisions: BTreeMap<i64, DecisionRows>,
    session_rows: BTreeMap<i64, SessionRows>,
    sessions: Sessions,
    /// Session rows waiting to be buffered.
    changes: Vec<SessionRow>,
    rows_per_file: usize,
    max_buffer_bytes: usize,
    /// The newest day of any row: rows more than a day behind it are late, and go to the
    /// day before it (see [`Archive::day_of`]).
    newest_day: i64,
    work: Option<SyncSender<Work>>,
    writer: Option<std::thread::JoinHandle<Result<u64, ArchiveError>>>,
    /// Rows the writer could not write (disk full, folder not writable), by table.
    failures: Arc<Failures>,
}

/// What the archive could not write, shared with its writer thread.
#[derive(Debug, Default)]
pub struct Failures {
    /// Files not written.
    pub files: std::sync::atomic::AtomicU64,
    /// Rows of those files, lost to the archive (decisions and SETs were not affected).
    pub rows: std::sync::atomic::AtomicU64,
}

impl Archive {
    /// An archive in `dir` (created when absent). New files never replace old ones:
    /// each writer names its files after its start time and process id.
    pub fn open(dir: &Path) -> Result<Archive, ArchiveError> {
        std::fs::create_dir_all(dir).map_err(|error| ArchiveError {
            path: dir.to_path_buf(),
            message: format!("cannot create: {error}"),
        })?;
        let run = format!(
            "{}-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_micros()),
            std::process::id()
        );
        // Two buffers in flight at most: the pipeline waits for a slow disk.
        let (work, received) = std::sync::mpsc::sync_channel::<Work>(2);
        let root = dir.to_path_buf();
        let failures = Arc::new(Failures::default());
        let counted = failures.clone();
        let writer = std::thread::Builder::new()
            .name("vigil-archive".into())
            .spawn(move || write_files(&root, &run, received, &counted))
            .map_err(|error| ArchiveError {
                path: dir.to_path_buf(),
                message: format!("cannot start the writer: {error}"),
            })?;
        Ok(Archive {
            dir: dir.to_path_buf(),
            events: BTreeMap::new(),
            signals: BTreeMap::new(),
            decisions: BTreeMap::new(),
            session_rows: BTreeMap::new(),
            sessions: Sessions::new(DEFAULT_SESSION_IDLE_MICROS, sessions::MAX_LIVE),
            changes: Vec::new(),
            rows_per_file: ROWS_PER_FILE,
            max_buffer_bytes: MAX_BUFFER_BYTES,
            newest_day: i64::MIN,
            work: Some(work),
            writer: Some(writer),
            failures,
        })
    }

    /// What the writer could not write so far.
    pub fn failures(&self) -> Arc<Failures> {
        self.failures.clone()
    }

    /// The day whose partition a row of `time` goes to: its own, unless it is more than
    /// a day behind the newest day seen, when it goes to the day before the newest (its
    /// `time` still says when it happened). A late or hostile event of a long-gone day
    /// then joins a buffer that is open anyway, instead of making one small synced file
    /// per such day and batch.
    fn day_of(&mut self, time: Timestamp) -> i64 {
        let day = day_number(time);
        self.newest_day = self.newest_day.max(day);
        day.max(self.newest_day.saturating_sub(1))
    }

    /// Whether a buffer is due to be written: rows per file, or bytes.
    fn full(&self, rows: usize, bytes: usize) -> bool {
        rows >= self.rows_per_file || bytes >= self.max_buffer_bytes
    }

    /// Bytes a buffer gathers before it is written (default [`MAX_BUFFER_BYTES`]).
    pub fn with_max_buffer_bytes(mut self, bytes: usize) -> Archive {
        self.max_buffer_bytes = bytes.clamp(1, MAX_BUFFER_BYTES);
        self
    }

    /// Rows gathered per table and day before a file is written.
    pub fn with_rows_per_file(mut self, rows: usize) -> Archive {
        self.rows_per_file = rows.max(1);
        self
    }

    /// Sessions idle this long (event time) are written as expired: use the engine's
    /// session timeout.
    pub fn with_session_idle(mut self, idle_micros: i64) -> Archive {
        self.sessions = Sessions::new(idle_micros, sessions::MAX_LIVE);
        self
    }

    /// Buffers the session rows the tracker produced.
    fn session_changes(&mut self) -> Result<(), ArchiveError> {
        let mut changes = std::mem::take(&mut self.changes);
        for row in changes.drain(..) {
            let day = self.day_of(row.time);
            let rows = self
                .session_rows
                .entry(day)
                .or_insert_with(SessionRows::new);
            rows.push(&row);
            let (count, bytes) = (rows.rows, rows.held_bytes());
            if self.full(count, bytes) {
                let columns = self.session_rows.get_mut(&day).map(SessionRows::finish);
                self.send("sessions", day, columns.unwrap_or_default())?;
            }
        }
        self.changes = changes;
        Ok(())
    }

    fn send(
        &mut self,
        table: &'static str,
        day: i64,
        columns: Vec<ArrayRef>,
    ) -> Result<(), ArchiveError> {
        let day = self::day(Timestamp(day.saturating_mul(DAY_MICROS)));
        let schema =
            archive::schema(table).ok_or_else(|| self.error(format!("unknown table {table}")))?;
        let batch = RecordBatch::try_new(schema, columns)
            .map_err(|error| self.error(format!("{table}: {error}")))?;
        let sender = self
            .work
            .as_ref()
            .ok_or_else(|| self.error("closed".into()))?;
        if sender.send((table, day, batch)).is_err() {
            // The writer stopped: its error is the one to report.
            return Err(self
                .join()
                .err()
                .unwrap_or_else(|| self.error("the writer stopped".into())));
        }
        Ok(())
    }

    fn error(&self, message: String) -> ArchiveError {
        ArchiveError {
            path: self.dir.clone(),
            message,
        }
    }

    /// Adds a judged event.
    pub fn event(&mut self, envelope: &Envelope) -> Result<(), ArchiveError> {
        let day = self.day_of(envelope.event.time);
        let rows = self.events.entry(day).or_insert_with(EventRows::new);
        rows.push(envelope);
        let (count, bytes) = (rows.rows, rows.held_bytes());
        if self.full(count, bytes) {
            let columns = self.events.get_mut(&day).map(EventRows::finish);
            self.send("events", day, columns.unwrap_or_default())?;
        }
        self.sessions.event(envelope, &mut self.changes);
        self.session_changes()
    }

    /// Adds a detector hit on an identity's event, with the session's risk after it.
    pub fn signal(&mut self, record: &SignalRecord) -> Result<(), ArchiveError> {
        let SignalRecord {
            time,
            identity,
            session_id,
            signal,
            risk,
            origin,
        } = record;
        let (time, risk, session_id) = (*time, *risk, session_id.as_deref());
        let day = self.day_of(time);
        let rows = self.signals.entry(day).or_insert_with(SignalRows::new);
        rows.time.append_value(time.0);
        rows.identity.append_value(identity.as_str());
        rows.session_id.append_option(session_id);
        rows.detector.append_value(signal.detector.as_str());
        rows.score.append_value(signal.score);
        rows.confidence.append_value(signal.confidence);
        rows.detail.append_value(&signal.detail);
        rows.evidence
            .append_option((!signal.evidence.is_null()).then(|| signal.evidence.to_string()));
        rows.session_risk.append_option(risk);
        let _ = origin.write_to(&mut rows.origin);
        rows.origin.append_value("");
        rows.rows += 1;
        let (count, bytes) = (rows.rows, rows.held_bytes());
        if self.full(count, bytes) {
            let columns = self.signals.get_mut(&day).map(SignalRows::finish);
            self.send("signals", day, columns.unwrap_or_default())?;
        }
        self.sessions
            .risk(time, identity.as_str(), session_id, risk, &mut self.changes);
        self.session_changes()
    }

    /// Adds a decision.
    pub fn decision(&mut self, decision: &Decision) -> Result<(), ArchiveError> {
        let day = self.day_of(decision.time);
        let rows = self.decisions.entry(day).or_insert_with(DecisionRows::new);
        rows.push(decision);
        let (count, bytes) = (rows.rows, rows.held_bytes());
        if self.full(count, bytes) {
            let columns = self.decisions.get_mut(&day).map(DecisionRows::finish);
            self.send("decisions", day, columns.unwrap_or_default())?;
        }
        self.sessions.decision(decision, &mut self.changes);
        self.session_changes()
    }

    /// Marks the end of a judged batch (its events, signals and decisions all added):
    /// sessions idle past the timeout expire now.
    pub fn end_batch(&mut self) -> Result<(), ArchiveError> {
        self.sessions.settle(&mut self.changes);
        self.session_changes()?;
        // Days more than one behind the newest one buffered are done (late events
        // aside): written out now, so a replay of years holds days, not years, in memory.
        let newest = [
            self.events.keys().next_back(),
            self.signals.keys().next_back(),
            self.decisions.keys().next_back(),
            self.session_rows.keys().next_back(),
        ]
        .into_iter()
        .flatten()
        .max()
        .copied();
        match newest {
            Some(newest) => self.write_out(|day| day < newest - 1),
            None => Ok(()),
        }
    }

    /// Hands every non-empty buffer to the writer (a live run calls this now and then, so
    /// files appear without waiting for a full buffer).
    pub fn flush(&mut self) -> Result<(), ArchiveError> {
        self.sessions.flush(&mut self.changes);
        self.session_changes()?;
        self.write_out(|_| true)
    }

    /// Hands the non-empty buffers of the days `due` selects to the writer.
    fn write_out(&mut self, due: impl Fn(i64) -> bool) -> Result<(), ArchiveError> {
        let mut pending: Vec<(&'static str, i64, Vec<ArrayRef>)> = Vec::new();
        for (day, rows) in &mut self.events {
            if rows.rows > 0 && due(*day) {
                pending.push(("events", *day, rows.finish()));
            }
        }
        for (day, rows) in &mut self.signals {
            if rows.rows > 0 && due(*day) {
                pending.push(("signals", *day, rows.finish()));
            }
        }
        for (day, rows) in &mut self.decisions {
            if rows.rows > 0 && due(*day) {
                pending.push(("decisions", *day, rows.finish()));
            }
        }
        for (day, rows) in &mut self.session_rows {
            if rows.rows > 0 && due(*day) {
                pending.push(("sessions", *day, rows.finish()));
            }
        }
        // Days written out leave memory.
        self.session_rows
            .retain(|day, rows| rows.rows > 0 || !due(*day));
        self.events.retain(|day, rows| rows.rows > 0 || !due(*day));
        self.signals.retain(|day, rows| rows.rows > 0 || !due(*day));
        self.decisions
            .retain(|day, rows| rows.rows > 0 || !due(*day));
        for (table, day, columns) in pending {
            self.send(table, day, columns)?;
        }
        Ok(())
    }

    /// Writes every buffer out and waits for the files; the number of files written.
    pub fn finish(mut self) -> Result<u64, ArchiveError> {
        self.flush()?;
        self.join()
    }

    fn join(&mut self) -> Result<u64, ArchiveError> {
        self.work.take();
        match self.writer.take() {
            Some(writer) => writer
                .join()
                .unwrap_or_else(|_| Err(self.error("the writer thread panicked".into()))),
            None => Ok(0),
        }
    }
}

impl Drop for Archive {
    fn drop(&mut self) {
        let _ = self.join();
    }
}

/// Pages of this many rows at most: rows are sorted by identity, so a page holds a few
/// identities, and a query for one identity decodes a page or two of each file (the page
/// index skips the rest) instead of the ~20,000 rows a 1 MB page holds.
pub const PAGE_ROWS: usize = 4096;

/// Columns whose every value is new (an event's origin, a decision's id and trigger):
/// no dictionary (it would only grow until the writer gives up on it), but delta-encoded
/// prefixes, since neighbouring values share most of theirs (`events.jsonl:1041`).
const UNIQUE_COLUMNS: [&str; 3] = ["origin", "id", "trigger"];

/// Integer columns of nearly all-distinct values: the times (one identity's rows are
/// in time order, so neighbouring values differ little) and the byte counts. No
/// dictionary but delta-encoded. A dictionary of them would be a large page that every
/// read of the column decodes whole, even to read one page of an identity's rows: on
/// the bench's 10M-event archive this made the events files 4.5% smaller and the
/// time-filtered aggregate and a person's timeline 20-30% faster (see issue 6's note).
const DELTA_COLUMNS: [&str; 7] = [
    "time",
    "decided_at",
    "established_at",
    "last_seen",
    "ended_at",
    "revoked_at",
    "bytes",
];

/// Text columns that no query narrows by value range, written without min/max
/// statistics: each file (and nearly each page, rows being sorted by identity) holds most
/// of their values (kinds, outcomes, countries, apps) or only distinct ones (origins), so
/// their statistics could prune nothing. Computing them per page was 12.9% of the
/// writer's instructions on an events file of 262,144 rows, and leaving them out took
/// 6-13% off its encoding time (issue 6). The columns one looks rows up by (`identity`,
/// `session_id`, `device_id`, `ip`, `id`) and the times keep theirs.
const UNPRUNED_COLUMNS: [&str; 15] = [
    "identity_type",
    "kind",
    "action",
    "outcome",
    "country",
    "city",
    "user_agent",
    "app",
    "resource",
    "tool",
    "on_behalf_of",
    "origin",
    "detail",
    "evidence",
    "change",
];

/// How every archive file is written: zstd, small pages.
fn writer_properties() -> WriterProperties {
    use parquet::basic::Encoding;
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_data_page_row_count_limit(PAGE_ROWS);
    let without_dictionary = UNIQUE_COLUMNS
        .map(|column| (column, Encoding::DELTA_BYTE_ARRAY))
        .into_iter()
        .chain(DELTA_COLUMNS.map(|column| (column, Encoding::DELTA_BINARY_PACKED)));
    for (column, encoding) in without_dictionary {
        let path = parquet::schema::types::ColumnPath::from(column);
        builder = builder
            .set_column_dictionary_enabled(path.clone(), false)
            .set_column_encoding(path, encoding);
    }
    for column in UNPRUNED_COLUMNS {
        builder = builder.set_column_statistics_enabled(
            parquet::schema::types::ColumnPath::from(column),
            parquet::file::properties::EnabledStatistics::None,
        );
    }
    builder.build()
}

/// The writer thread: sorts each batch by identity and time, writes it as a Parquet
/// file under a dot-name, and renames it into place. A file that cannot be written (a
/// full disk, a folder made read-only, a panic inside the encoder) is logged, counted in
/// `failures` with its rows, and left out: the archive is history, and enforcement must
/// not wait on it. Returns the files written.
fn write_files(
    root: &Path,
    run: &str,
    work: Receiver<Work>,
    failures: &Failures,
) -> Result<u64, ArchiveError> {
    use std::sync::atomic::Ordering;
    let properties = writer_properties();
    let mut written = 0u64;
    for (attempted, (table, day, batch)) in work.into_iter().enumerate() {
        let folder = root.join(table).join(format!("date={day}"));
        let name = format!("part-{run}-{attempted:05}.parquet");
        let rows = batch.num_rows() as u64;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::fs::create_dir_all(&folder).map_err(|error| format!("cannot create: {error}"))?;
            let batch = cluster(&batch).map_err(|error| format!("cannot sort: {error}"))?;
            write_whole(&folder.join(&name), &batch.schema(), &[batch], &properties)
        }))
        .unwrap_or_else(|_| Err("the Parquet writer panicked".to_string()));
        match outcome {
            Ok(()) => written += 1,
            Err(message) => {
                failures.files.fetch_add(1, Ordering::Relaxed);
                failures.rows.fetch_add(rows, Ordering::Relaxed);
                tracing::error!(
                    folder = %folder.display(),
                    table,
                    rows,
                    message,
                    "an archive file could not be written: its rows are not archived \
                     (decisions and SETs are not affected)"
                );
                let _ = std::fs::remove_file(folder.join(format!(".{name}.partial")));
            }
        }
    }
    Ok(written)
}

/// Writes `batches` as the Parquet file `path`, whole or not at all: under a dot-name
/// first, synced, renamed into place, and the folder synced so the rename lasts too. A
/// reader sees the old file (or none) until the new one is complete.
fn write_whole(
    path: &Path,
    schema: &arrow_schema::SchemaRef,
    batches: &[RecordBatch],
    properties: &WriterProperties,
) -> Result<(), String> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = path.with_file_name(format!(".{name}.partial"));
    let file = std::fs::File::create(&partial)
        .map_err(|error| format!("cannot create {}: {error}", partial.display()))?;
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(properties.clone()))
        .map_err(|error| error.to_string())?;
    for batch in batches {
        writer.write(batch).map_err(|error| error.to_string())?;
    }
    let file = writer.into_inner().map_err(|error| error.to_string())?;
    file.sync_all().map_err(|error| error.to_string())?;
    std::fs::rename(&partial, path)
        .map_err(|error| format!("cannot rename {}: {error}", partial.display()))?;
    let folder = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(folder)
        .and_then(|entry| entry.sync_all())
        .map_err(|error| format!("cannot sync the folder: {error}"))?;
    Ok(())
}

/// The batch sorted by identity, then time (both columns exist in every table; a null
/// sorts first). Each distinct identity gets its rank among the batch's identities (one
/// hash lookup per row, one string sort per distinct identity), and the rows sort as
/// (rank, time, row) triples: fixed-width keys, no string comparison per pair of rows,
/// and the row number keeps equal keys in arrival order.
fn cluster(batch: &RecordBatch) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .cloned()
            .ok_or_else(|| arrow_schema::ArrowError::SchemaError(format!("no column {name}")))
    };
    let identity = column("identity")?;
    let time = column("time")?;
    let identities = identity
        .as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .ok_or_else(|| arrow_schema::ArrowError::SchemaError("`identity` is not text".into()))?;
    let times = time
        .as_any()
        .downcast_ref::<arrow_array::TimestampMicrosecondArray>()
        .ok_or_else(|| arrow_schema::ArrowError::SchemaError("`time` is not a timestamp".into()))?;
    let order = sort_order(identities, times);
    let order = arrow_array::UInt32Array::from(order);
    let columns = batch
        .columns()
        .iter()
        .map(|values| arrow_select::take::take(values.as_ref(), &order, None))
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(batch.schema(), columns)
}

/// The row order of [`cluster`]: by identity (null first), then time (null first), then
/// row number.
fn sort_order(
    identities: &arrow_array::StringArray,
    times: &arrow_array::TimestampMicrosecondArray,
) -> Vec<u32> {
    use arrow_array::Array;
    // Identities numbered by first appearance (0 is null), then ranked by text.
    let mut numbers: rustc_hash::FxHashMap<&str, u32> = rustc_hash::FxHashMap::default();
    let mut distinct: Vec<&str> = Vec::new();
    let mut row_numbers: Vec<u32> = Vec::with_capacity(identities.len());
    for row in 0..identities.len() {
        if identities.is_null(row) {
            row_numbers.push(0);
            continue;
        }
        let text = identities.value(row);
        let next = distinct.len() as u32 + 1;
        let number = *numbers.entry(text).or_insert_with(|| {
            distinct.push(text);
            next
        });
        row_numbers.push(number);
    }
    let mut by_text: Vec<u32> = (1..=distinct.len() as u32).collect();
    by_text.sort_unstable_by(|&left, &right| {
        distinct[left as usize - 1].cmp(distinct[right as usize - 1])
    });
    let mut rank = vec![0u32; distinct.len() + 1];
    for (position, number) in by_text.into_iter().enumerate() {
        rank[number as usize] = position as u32 + 1;
    }
    let mut keys: Vec<(u32, i64, u32)> = row_numbers
        .into_iter()
        .enumerate()
        .map(|(row, number)| {
            let time = if times.is_null(row) {
                i64::MIN
            } else {
                times.value(row)
            };
            (rank[number as usize], time, row as u32)
        })
        .collect();
    keys.sort_unstable();
    keys.into_iter().map(|(_, _, row)| row).collect()
}

/// The first day a retention of `days` keeps at `now` (`YYYY-MM-DD`): today minus `days`
/// (never before year 1, so a huge retention keeps everything).
pub fn retention_cutoff(now: Timestamp, days: u32) -> String {
    let back = i64::from(days).saturating_mul(DAY_MICROS);
    day(Timestamp(
        now.0.saturating_sub(back).max(Timestamp::EARLIEST.0),
    ))
}

/// Removes the day partitions before `before` (`YYYY-MM-DD`) from every table; the
/// folders removed.
pub fn prune(dir: &Path, before: &str) -> Result<Vec<PathBuf>, ArchiveError> {
    let mut removed = Vec::new();
    for table in archive::TABLES {
        let folder = dir.join(table);
        let Ok(days) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in days.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(day) = name.strip_prefix("date=") else {
                continue;
            };
            if day < before {
                std::fs::remove_dir_all(entry.path()).map_err(|error| ArchiveError {
                    path: entry.path(),
                    message: format!("cannot remove: {error}"),
                })?;
                removed.push(entry.path());
            }
        }
    }
    Ok(removed)
}

/// What [`forget`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Forgotten {
    /// Files rewritten without the identity's rows.
    pub files: u64,
    /// Rows removed.
    pub rows: u64,
}

/// What stands where a forgotten identity was written in another identity's row.
pub const FORGOTTEN: &str = "[forgotten]";

/// `text` with every case-insensitive occurrence of `needle` (lowercase) replaced by
/// [`FORGOTTEN`], or `None` when it holds none.
fn redacted(text: &str, needle: &str) -> Option<String> {
    let lowered = text.to_lowercase();
    if !lowered.contains(needle) {
        return None;
    }
    if lowered.len() != text.len() {
        // Lowercasing moved byte offsets (rare scripts): the whole value goes.
        return Some(FORGOTTEN.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for (at, _) in lowered.match_indices(needle) {
        out.push_str(&text[from..at]);
        out.push_str(FORGOTTEN);
        from = at + needle.len();
    }
    out.push_str(&text[from..]);
    Some(out)
}

/// `array` with `needle` redacted from every text value, however nested in lists and
/// structs (a decision's reasons), and whether anything changed.
fn redact(
    array: &arrow_array::ArrayRef,
    needle: &str,
) -> Result<(arrow_array::ArrayRef, bool), arrow_schema::ArrowError> {
    use arrow_array::{Array, ListArray, StringArray, StructArray};
    use arrow_schema::DataType;
    match array.data_type() {
        DataType::Utf8 => {
            let Some(texts) = array.as_any().downcast_ref::<StringArray>() else {
                return Ok((array.clone(), false));
            };
            let mut changed = false;
            let values: StringArray = texts
                .iter()
                .map(|value| {
                    value.map(|text| match redacted(text, needle) {
                        Some(clean) => {
                            changed = true;
                            clean
                        }
                        None => text.to_string(),
                    })
                })
                .collect();
            Ok(if changed {
                (Arc::new(values), true)
            } else {
                (array.clone(), false)
            })
        }
        DataType::List(field) => {
            let Some(list) = array.as_any().downcast_ref::<ListArray>() else {
                return Ok((array.clone(), false));
            };
            let (values, changed) = redact(list.values(), needle)?;
            if !changed {
                return Ok((array.clone(), false));
            }
            let rebuilt = ListArray::try_new(
                field.clone(),
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            )?;
            Ok((Arc::new(rebuilt), true))
        }
        DataType::Struct(fields) => {
            let Some(record) = array.as_any().downcast_ref::<StructArray>() else {
                return Ok((array.clone(), false));
            };
            let mut columns = Vec::with_capacity(record.num_columns());
            let mut changed = false;
            for column in record.columns() {
                let (column, redacted) = redact(column, needle)?;
                changed |= redacted;
                columns.push(column);
            }
            if !changed {
                return Ok((array.clone(), false));
            }
            let rebuilt = StructArray::try_new(fields.clone(), columns, record.nulls().cloned())?;
            Ok((Arc::new(rebuilt), true))
        }
        _ => Ok((array.clone(), false)),
    }
}

/// Forgets `identity` (in its canonical form, and every case variant written) in every
/// file: its rows are removed, and where another identity's row names it (an agent's
/// `on_behalf_of`, a signal's evidence, a decision's reasons, a resource path) the name
/// is replaced by [`FORGOTTEN`]. Each file is replaced whole by an atomic rename, so a
/// reader sees the old file or the new one, and the old bytes are gone with the old file.
pub fn forget(dir: &Path, identity: &str) -> Result<Forgotten, ArchiveError> {
    let canonical = vigil_schemas::canonical_identity(identity).to_lowercase();
    let mut forgotten = Forgotten::default();
    let mut files = Vec::new();
    for table in archive::TABLES {
        collect_parquet(&dir.join(table), &mut files);
    }
    let properties = writer_properties();
    for path in files {
        let fail = |message: String| ArchiveError {
            path: path.clone(),
            message,
        };
        let file = std::fs::File::open(&path).map_err(|error| fail(error.to_string()))?;
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|builder| builder.build())
            .map_err(|error| fail(error.to_string()))?;
        let mut kept = Vec::new();
        let mut removed = 0u64;
        let mut rewritten = false;
        for batch in reader {
            let batch = batch.map_err(|error| fail(error.to_string()))?;
            let filtered = match batch
                .column_by_name("identity")
                .and_then(|column| column.as_any().downcast_ref::<arrow_array::StringArray>())
            {
                Some(identities) => {
                    let keep: arrow_array::BooleanArray = identities
                        .iter()
                        .map(|value| {
                            Some(value.is_none_or(|value| {
                                vigil_schemas::canonical_identity(value).to_lowercase() != canonical
                            }))
                        })
                        .collect();
                    arrow_select::filter::filter_record_batch(&batch, &keep)
                        .map_err(|error| fail(error.to_string()))?
                }
                None => batch.clone(),
            };
            removed += (batch.num_rows() - filtered.num_rows()) as u64;
            let mut columns = Vec::with_capacity(filtered.num_columns());
            for column in filtered.columns() {
                let (column, changed) =
                    redact(column, &canonical).map_err(|error| fail(error.to_string()))?;
                rewritten |= changed;
                columns.push(column);
            }
            kept.push(
                RecordBatch::try_new(filtered.schema(), columns)
                    .map_err(|error| fail(error.to_string()))?,
            );
        }
        if removed == 0 && !rewritten {
            continue;
        }
        let Some(schema) = kept.first().map(RecordBatch::schema) else {
            continue;
        };
        write_whole(&path, &schema, &kept, &properties).map_err(fail)?;
        forgotten.files += 1;
        forgotten.rows += removed;
    }
    Ok(forgotten)
}

fn collect_parquet(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_parquet(&path, into);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "parquet")
        {
            into.push(path);
        }
    }
}

/// How a live run keeps its archive current: buffers written out every `every`, so files
/// appear while it runs, and days older than the retention pruned each time.
#[derive(Debug, Clone)]
pub struct LiveFlush {
    /// How often the buffers are written out.
    pub every: std::time::Duration,
    /// The archive folder and the days it keeps (`[archive] retention_days`).
    pub retention: Option<(PathBuf, u32)>,
}

/// The archive as an [`Output`]: every event before it is judged, then the batch's signals
/// and decisions.
pub struct ArchiveOutput {
    archive: Option<Archive>,
    failures: Arc<Failures>,
    live: Option<(LiveFlush, std::time::Instant)>,
    /// Rows taken: events, signals, decisions.
    rows: [u64; 3],
}

impl ArchiveOutput {
    /// Archives into `archive`; with `live`, written out as a live run goes.
    pub fn new(archive: Archive, live: Option<LiveFlush>) -> ArchiveOutput {
        ArchiveOutput {
            failures: archive.failures(),
            archive: Some(archive),
            live: live.map(|live| (live, std::time::Instant::now())),
            rows: [0; 3],
        }
    }

    fn judged_now(&mut self, judged: Judged<'_>) -> Result<(), ArchiveError> {
        let Some(archive) = self.archive.as_mut() else {
            return Ok(());
        };
        for record in judged.signals {
            archive.signal(record)?;
        }
        self.rows[1] += judged.signals.len() as u64;
        for decision in judged.decisions {
            archive.decision(decision)?;
        }
        self.rows[2] += judged.decisions.len() as u64;
        archive.end_batch()?;
        if let Some((live, last)) = &mut self.live {
            if last.elapsed() >= live.every {
                archive.flush()?;
                *last = std::time::Instant::now();
                if let Some((dir, days)) = &live.retention {
                    if let Err(error) = prune(dir, &retention_cutoff(Timestamp::now(), *days)) {
                        tracing::error!(%error, "cannot prune the archive; retried at the next flush");
                    }
                }
            }
        }
        Ok(())
    }
}

impl Output for ArchiveOutput {
    fn name(&self) -> &'static str {
        "archive"
    }

    fn wants_history(&self) -> bool {
        true
    }

    fn events(&mut self, envelopes: &[Envelope]) -> Result<(), SinkError> {
        if let Some(archive) = self.archive.as_mut() {
            for envelope in envelopes {
                archive.event(envelope)?;
            }
            self.rows[0] += envelopes.len() as u64;
        }
        Ok(())
    }

    fn dropped(&self) -> Vec<(&'static str, u64)> {
        let rows = self
            .failures
            .rows
            .load(std::sync::atomic::Ordering::Relaxed);
        if rows == 0 {
            return Vec::new();
        }
        vec![("write_failed", rows)]
    }

    fn written(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("events", self.rows[0]),
            ("signals", self.rows[1]),
            ("decisions", self.rows[2]),
        ]
    }

    fn judged<'a>(&'a mut self, judged: Judged<'a>) -> BoxFuture<'a, Result<Ack, SinkError>> {
        let done = self.judged_now(judged);
        Box::pin(async move { Ok(done.map(|()| Ack::done())?) })
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        match self.archive.take() {
            Some(archive) => Ok(archive.finish().map(|_| ())?),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, StringArray, TimestampMicrosecondArray};
    use vigil_schemas::Origin;

    /// An access event of `identity` at `time` with a user agent of `agent` bytes.
    fn access_at(identity: &str, time: Timestamp, agent: usize) -> Envelope {
        let mut event = vigil_schemas::Event::new(
            time,
            Some(identity),
            Detail::Access(vigil_schemas::AccessDetail {
                resource: "https://wiki.example.com/".into(),
                action: None,
                bytes: None,
                status: None,
                tool: None,
                on_behalf_of: None,
            }),
        );
        event.user_agent = Some("a".repeat(agent));
        Envelope {
            event: Box::new(event),
            origin: Origin::File {
                file: Arc::from("events.jsonl"),
                line: 1,
            },
            tags: vigil_schemas::IpTags::default(),
        }
    }

    fn parquet_files(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        collect_parquet(dir, &mut files);
        files.sort();
        files
    }

    #[test]
    fn a_write_that_fails_is_counted_and_the_archive_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        // `events` is a file, so no day folder can be made under it (as a full disk or a
        // read-only folder would refuse; a test running as root ignores modes).
        std::fs::write(dir.path().join("events"), b"in the way").unwrap();
        let archive = Archive::open(dir.path()).unwrap().with_rows_per_file(10);
        let mut output = ArchiveOutput::new(archive, None);
        let day = Timestamp(1_767_225_600_000_000);
        let events: Vec<Envelope> = (0..25)
            .map(|second| access_at("ana@example.com", day.plus_secs(second), 8))
            .collect();
        output.events(&events).unwrap();
        let decision = Decision {
            id: "d-1".into(),
            time: day,
            decided_at: day,
            identity: "ana@example.com".into(),
            session_id: None,
            device_id: None,
            action: vigil_schemas::Action::Alert,
            mode: vigil_schemas::Mode::Enforce,
            risk: vigil_schemas::Risk {
                score: 50.0,
                level: vigil_schemas::RiskLevel::of(50.0),
            },
            reasons: Vec::new(),
            rule: "r".into(),
            assurance_level: None,
            trigger: Origin::File {
                file: Arc::from("events.jsonl"),
                line: 1,
            },
        };
        let judged = Judged {
            signals: &[],
            decisions: std::slice::from_ref(&decision),
        };
        let ack = futures_lite_block(output.judged(judged));
        assert!(ack.is_ok());
        output.finish().unwrap();
        assert_eq!(output.dropped(), vec![("write_failed", 25)]);
        // The decision's file was written all the same.
        let files = parquet_files(dir.path());
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(files[0].starts_with(dir.path().join("decisions")));
    }

    /// Polls a future that completes without waiting.
    fn futures_lite_block<T>(future: BoxFuture<'_, T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn late_rows_join_an_open_day_and_buffers_are_bounded_in_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut archive = Archive::open(dir.path())
            .unwrap()
            .with_rows_per_file(1_000_000)
            .with_max_buffer_bytes(1 << 20);
        let today = Timestamp(1_767_225_600_000_000).plus_secs(30 * 86_400);
        archive
            .event(&access_at("ana@example.com", today, 8))
            .unwrap();
        // Twenty hostile rows, each of another long-gone day, batch after batch.
        for batch in 0..5 {
            for day in 0..20 {
                let time = Timestamp(1_000_000_000_000_000).plus_secs((batch * 20 + day) * 86_400);
                archive.event(&access_at("mallory", time, 8)).unwrap();
            }
            archive.end_batch().unwrap();
        }
        // 2,000 rows of 2 KiB: 4 MiB, past the 1 MiB bound four times over.
        for second in 0..2_000 {
            archive
                .event(&access_at("bo@example.com", today.plus_secs(second), 2_048))
                .unwrap();
        }
        archive.finish().unwrap();
        let files = parquet_files(&dir.path().join("events"));
        let days: std::collections::BTreeSet<String> = files
            .iter()
            .map(|file| {
                file.parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        // The late rows went to the day before today, not to a hundred days of their own.
        assert_eq!(days.len(), 2, "{days:?}");
        assert!(files.len() >= 5 && files.len() <= 8, "{files:?}");
    }

    #[test]
    fn addresses_are_written_as_display_shows_them() {
        let mut addresses: Vec<std::net::IpAddr> = Vec::new();
        // Every octet value in every position, and the widths next to each other.
        for octet in 0..=255u8 {
            addresses.push(std::net::Ipv4Addr::new(octet, 0, 9, 255).into());
            addresses.push(std::net::Ipv4Addr::new(10, octet, 99, 100).into());
            addresses.push(std::net::Ipv4Addr::new(1, 200, octet, 7).into());
            addresses.push(std::net::Ipv4Addr::new(255, 255, 255, octet).into());
        }
        for text in [
            "::1",
            "2001:db8::8a2e:370:7334",
            "::ffff:192.0.2.1",
            "fe80::1",
        ] {
            addresses.push(text.parse().expect("address"));
        }
        let mut column = StringBuilder::new();
        for address in &addresses {
            write_ip(&mut column, *address).expect("write");
            column.append_value("");
        }
        let column = column.finish();
        for (row, address) in addresses.iter().enumerate() {
            assert_eq!(column.value(row), address.to_string());
        }
    }

    #[test]
    fn times_and_byte_counts_are_delta_encoded_without_a_dictionary() {
        let dir = std::env::temp_dir().join(format!("vigil-encodings-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("folder");
        let schema = archive::events();
        let mut rows = EventRows::new();
        for second in 0..1_000i64 {
            let event = vigil_schemas::Event::new(
                Timestamp(1_767_225_600_000_000 + second * 1_000_003),
                Some("alice@example.com"),
                Detail::Access(vigil_schemas::AccessDetail {
                    resource: "https://wiki.example.com/".into(),
                    action: None,
                    bytes: Some(second as u64 * 7_919),
                    status: None,
                    tool: None,
                    on_behalf_of: None,
                }),
            );
            rows.push(&Envelope {
                event: Box::new(event),
                origin: Origin::File {
                    file: Arc::from("events.jsonl"),
                    line: second as u64 + 1,
                },
                tags: vigil_schemas::IpTags::default(),
            });
        }
        let batch = RecordBatch::try_new(schema.clone(), rows.finish()).expect("batch");
        let path = dir.join("events.parquet");
        write_whole(&path, &schema, &[batch], &writer_properties()).expect("write");
        let file = std::fs::File::open(&path).expect("open");
        let reader =
            parquet::file::serialized_reader::SerializedFileReader::new(file).expect("parquet");
        let metadata = parquet::file::reader::FileReader::metadata(&reader);
        let group = metadata.row_group(0);
        let chunk = |name: &str| {
            (0..group.num_columns())
                .map(|index| group.column(index))
                .find(|chunk| chunk.column_path().string() == name)
                .unwrap_or_else(|| panic!("no column {name}"))
        };
        for name in ["time", "bytes"] {
            let chunk = chunk(name);
            assert!(
                chunk.dictionary_page_offset().is_none(),
                "{name} has a dictionary"
            );
            let encodings: Vec<_> = chunk.encodings().collect();
            assert!(
                encodings.contains(&parquet::basic::Encoding::DELTA_BINARY_PACKED),
                "{name}: {encodings:?}"
            );
        }
        // Text of few values keeps its dictionary.
        assert!(chunk("kind").dictionary_page_offset().is_some());
        // Statistics where a lookup can use them, none where none could.
        for name in ["identity", "session_id", "device_id", "ip", "time"] {
            assert!(
                chunk(name).statistics().is_some(),
                "{name} has no statistics"
            );
        }
        for name in UNPRUNED_COLUMNS {
            // Each name is a top-level column of some table, so none is set in vain.
            assert!(
                archive::TABLES.iter().any(|table| archive::schema(table)
                    .is_some_and(|schema| schema.field_with_name(name).is_ok())),
                "{name} is no archive column"
            );
            if let Some(column) = (0..group.num_columns())
                .map(|index| group.column(index))
                .find(|chunk| chunk.column_path().string() == name)
            {
                assert!(column.statistics().is_none(), "{name} has statistics");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Every file an archive writes (events, signals, sessions) leaves the statistics off
    /// exactly the unpruned columns it holds and keeps them on the lookup columns: read
    /// back from the written files, not from the writer's settings.
    #[test]
    fn every_table_keeps_statistics_only_where_a_lookup_can_use_them() {
        let dir = std::env::temp_dir().join(format!("vigil-statistics-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut archive = Archive::open(&dir).expect("archive");
        let origin = |line: u64| Origin::File {
            file: Arc::from("events.jsonl"),
            line,
        };
        for second in 0..200i64 {
            let time = Timestamp(1_767_225_600_000_000 + second * 1_000_003);
            let identity = format!("user{}@example.com", second % 7);
            let mut event = vigil_schemas::Event::new(
                time,
                Some(&identity),
                Detail::Auth(vigil_schemas::AuthDetail {
                    action: vigil_schemas::AuthAction::Login,
                    outcome: vigil_schemas::Outcome::Success,
                    factor: None,
                    reason: None,
                }),
            );
            event.session_id = Some(format!("s{}", second % 11).into());
            event.ip = Some(std::net::Ipv4Addr::new(192, 0, 2, (second % 200) as u8).into());
            let envelope = Envelope {
                event: Box::new(event),
                origin: origin(second as u64 + 1),
                tags: vigil_schemas::IpTags::default(),
            };
            archive.event(&envelope).expect("event");
            let signal = vigil_schemas::Signal {
                detector: vigil_schemas::Detector::NewDevice,
                score: 40.0,
                confidence: 0.9,
                detail: "a device never seen".into(),
                evidence: serde_json::json!({ "device": second }),
            };
            let session = format!("s{}", second % 11);
            archive
                .signal(&SignalRecord {
                    time,
                    identity: identity.as_str().into(),
                    session_id: Some(session.as_str().into()),
                    signal,
                    risk: Some(40.0 + second as f64 / 10.0),
                    origin: origin(second as u64 + 1),
                })
                .expect("signal");
            archive.end_batch().expect("batch");
        }
        archive.finish().expect("finish");
        let mut files = Vec::new();
        collect_parquet(&dir, &mut files);
        let mut tables_seen = std::collections::BTreeSet::new();
        let mut unpruned_seen = std::collections::BTreeSet::new();
        for path in &files {
            let table = path
                .strip_prefix(&dir)
                .ok()
                .and_then(|relative| relative.iter().next())
                .map(|table| table.to_string_lossy().into_owned())
                .expect("table folder");
            let file = std::fs::File::open(path).expect("open");
            let reader =
                parquet::file::serialized_reader::SerializedFileReader::new(file).expect("parquet");
            let metadata = parquet::file::reader::FileReader::metadata(&reader);
            for group in metadata.row_groups() {
                for chunk in group.columns() {
                    let name = chunk.column_path().string();
                    if UNPRUNED_COLUMNS.contains(&name.as_str()) {
                        assert!(
                            chunk.statistics().is_none(),
                            "{table}.{name} has statistics"
                        );
                        unpruned_seen.insert(format!("{table}.{name}"));
                    } else if ["identity", "session_id", "time"].contains(&name.as_str()) {
                        assert!(chunk.statistics().is_some(), "{table}.{name} has none");
                    }
                }
            }
            tables_seen.insert(table);
        }
        assert_eq!(
            tables_seen.into_iter().collect::<Vec<_>>(),
            ["events", "sessions", "signals"]
        );
        // The signals' and sessions' own unpruned columns were among those checked.
        for column in [
            "signals.detail",
            "signals.evidence",
            "signals.origin",
            "sessions.change",
        ] {
            assert!(unpruned_seen.contains(column), "{column} was not written");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rows_sort_by_identity_then_time_then_arrival() {
        let identities = StringArray::from(vec![
            Some("bob"),
            Some("alice"),
            None,
            Some("bob"),
            Some("alice"),
            Some("alice"),
            Some("ab"),
        ]);
        let times = TimestampMicrosecondArray::from(vec![
            Some(5),
            Some(9),
            Some(1),
            Some(2),
            Some(3),
            Some(9),
            None,
        ]);
        // null identity first; "ab" < "alice" < "bob"; equal keys (rows 1 and 5) keep
        // their order.
        assert_eq!(sort_order(&identities, &times), [2, 6, 4, 1, 5, 3, 0]);
    }

    #[test]
    fn a_clustered_batch_is_sorted_like_a_lexicographic_sort() {
        // A pseudo-random batch (a fixed linear congruential sequence), checked against
        // the plain comparison sort of (identity, time) pairs.
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            state >> 33
        };
        let rows: Vec<(String, i64)> = (0..2_000)
            .map(|_| (format!("user{}", next() % 97), (next() % 50) as i64))
            .collect();
        let schema = Arc::new(arrow_schema::Schema::new(vec![
            arrow_schema::Field::new("identity", arrow_schema::DataType::Utf8, false),
            arrow_schema::Field::new(
                "time",
                arrow_schema::DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, None),
                false,
            ),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from_iter_values(rows.iter().map(|row| &row.0))),
                Arc::new(TimestampMicrosecondArray::from_iter_values(
                    rows.iter().map(|row| row.1),
                )),
            ],
        )
        .expect("batch");
        let sorted = cluster(&batch).expect("cluster");
        let identities = sorted
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("text");
        let times = sorted
            .column(1)
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .expect("time");
        let got: Vec<(String, i64)> = (0..sorted.num_rows())
            .map(|row| (identities.value(row).to_string(), times.value(row)))
            .collect();
        let mut expected = rows;
        expected.sort();
        assert_eq!(got, expected);
        assert_eq!(identities.null_count(), 0);
    }
}
