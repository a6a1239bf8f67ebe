//! Durable state: identities, device owners, the password-spray tracker and the input
//! positions they reflect, in one redb file (`<dir>/state.redb`).
//!
//! A checkpoint is one write transaction holding the identities changed since the last
//! one, the device owners learned since, the whole spray tracker and the positions of the
//! inputs (Kafka topic/partition -> next offset, file -> lines consumed). redb commits a
//! transaction atomically and durably, so after any crash the file holds the state of
//! exactly one checkpoint and the positions that state reflects: resuming from those
//! positions counts no event twice and misses none (state is exactly-once).
//!
//! Encoding: one version byte, then postcard (varints, fields in declaration order). An
//! incompatible change to the state types bumps [`FORMAT_VERSION`] and keeps a decoder
//! for the previous version; `tests/fixtures/state-v1.bin` is decoded by a test so the
//! old format cannot be broken by accident.

use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vigil_rules::detectors::password_spray::{AddressesOnly, SprayTracker};
use vigil_rules::{IdentityState, IdentityStateV3};
use vigil_schemas::{CompactString, Progress};

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};

/// The version byte written before every encoded value.
pub const FORMAT_VERSION: u8 = 5;

/// The state file inside a state folder.
pub const STATE_FILE: &str = "state.redb";

/// redb's page cache. Its default (1 GiB) would sit beside the identities already held in
/// memory; the B-tree's interior pages (what every lookup touches) of a million
/// identities fit in a few megabytes, and a lookup of an evicted identity reads its leaf
/// once. 16 MiB: at a million identities, 64 MiB was 67 bytes of each one's budget.
pub const CACHE_BYTES: usize = 16 << 20;

const IDENTITIES: TableDefinition<&str, &[u8]> = TableDefinition::new("identities");
const DEVICE_OWNERS: TableDefinition<u64, &str> = TableDefinition::new("device_owners");
const GLOBALS: TableDefinition<&str, &[u8]> = TableDefinition::new("globals");
const POSITIONS: TableDefinition<&str, u64> = TableDefinition::new("positions");
/// The mark of each position ([`Progress::mark`]), for the sources that keep one; a file
/// written before marks existed has none, and its positions are taken as they are.
const MARKS: TableDefinition<&str, u64> = TableDefinition::new("marks");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

const SPRAY: &str = "password_spray";
/// The format version of the whole file (META): a build refuses a newer one before
/// writing anything.
const FORMAT: &str = "format";
const CHECKPOINTS: &str = "checkpoints";
const EVENTS: &str = "events";

/// Why the state store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb failed (IO, a corrupt file, a lock held by another process).
    #[error("state store `{path}`: {source}")]
    Database {
        /// The state file.
        path: PathBuf,
        /// What redb said.
        source: Box<redb::Error>,
    },
    /// A stored value could not be decoded.
    #[error("state store: {what} cannot be decoded: {reason}")]
    Decode {
        /// Which value.
        what: String,
        /// Why.
        reason: String,
    },
    /// The checkpoint writer thread is gone.
    #[error("state store: the checkpoint writer stopped: {0}")]
    Writer(String),
    /// The state was written by a newer vigil: refused, and left as it is.
    #[error(
        "state store `{path}` is format version {found}, newer than this build's \
         {FORMAT_VERSION}: run the vigil that wrote it, or move the folder away to start \
         afresh (nothing was changed)"
    )]
    Newer {
        /// The state file.
        path: PathBuf,
        /// The version it says.
        found: u64,
    },
}

/// Encodes a value with the version byte.
pub fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let bytes = vec![FORMAT_VERSION];
    // Serialising into a Vec cannot fail for these types (no maps with non-string keys
    // are refused by postcard, and no custom serialiser errors).
    match postcard::to_extend(value, bytes) {
        Ok(bytes) => bytes,
        Err(error) => unreachable_encoding(error),
    }
}

#[cold]
fn unreachable_encoding(error: postcard::Error) -> Vec<u8> {
    // postcard only fails to serialise into a growable buffer on a custom serialiser
    // error, and the state types have none; an empty value decodes as an error later
    // instead of bringing the engine down.
    tracing::error!(%error, "state encoding failed");
    Vec::new()
}

/// A value the state file keeps, and how its older layouts read.
pub trait Stored: serde::de::DeserializeOwned {
    /// Reads the postcard bytes of format `version` when that version's layout differs
    /// from this build's; None when it is the same.
    fn older(_version: u8, _bytes: &[u8]) -> Option<postcard::Result<(Self, &[u8])>> {
        None
    }
}

/// Version 4 added the recent requests at the end of an identity's state. Version 5 keeps
/// 32 bits of a device's fingerprint in a profile (the same layout: version 4's whole
/// fingerprints are cut as they are read).
impl Stored for IdentityState {
    fn older(version: u8, bytes: &[u8]) -> Option<postcard::Result<(Self, &[u8])>> {
        (version < 4).then(|| {
            postcard::take_from_bytes::<IdentityStateV3>(bytes)
                .map(|(old, rest)| (IdentityState::from(old), rest))
        })
    }
}

/// Version 3 added networks beside the addresses.
impl Stored for SprayTracker {
    fn older(version: u8, bytes: &[u8]) -> Option<postcard::Result<(Self, &[u8])>> {
        (version < 3).then(|| {
            postcard::take_from_bytes::<AddressesOnly>(bytes)
                .map(|(old, rest)| (SprayTracker::from(old), rest))
        })
    }
}

/// Decodes a value written by [`encode`] (any supported version).
pub fn decode<T: Stored>(what: &str, bytes: &[u8]) -> Result<T, StoreError> {
    let error = |reason: String| StoreError::Decode {
        what: what.to_string(),
        reason,
    };
    match bytes.split_first() {
        // Version 2 kept version 1's layout and narrowed what two numbers mean (a
        // session's device fingerprint to 32 bits, its peak to tenths): version 1 values
        // decode into version 2 as they are. Versions 3 and 4 changed one type each
        // ([`Stored::older`]).
        Some((&version, rest)) if (1..=FORMAT_VERSION).contains(&version) => {
            let taken = T::older(version, rest).unwrap_or_else(|| postcard::take_from_bytes(rest));
            let (value, unread) = taken.map_err(|error_| error(error_.to_string()))?;
            if unread.is_empty() {
                Ok(value)
            } else {
                Err(error(format!("{} bytes left over", unread.len())))
            }
        }
        Some((version, _)) => Err(error(format!(
            "format version {version} is not known (this build reads {FORMAT_VERSION})"
        ))),
        None => Err(error("empty value".to_string())),
    }
}

/// Changes to the device-owner map since the last checkpoint, in order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DeviceChanges {
    /// Owners learned or changed (`Some`), or devices evicted (`None`).
    pub changes: Vec<(u64, Option<CompactString>)>,
}

/// Stored rows read and judged for expiry by each checkpoint: the sweep goes round the
/// whole table over many checkpoints (a million identities in about 250), a few
/// milliseconds each.
pub const SWEEP_ROWS: usize = 4096;

/// Everything one checkpoint writes, in one transaction.
#[derive(Default)]
pub struct Checkpoint {
    /// Identities changed since the last checkpoint, encoded.
    pub identities: Vec<(CompactString, Vec<u8>)>,
    /// Identities whose state expired: their rows are deleted.
    pub removed: Vec<CompactString>,
    /// The newest event time and the rules: the next [`SWEEP_ROWS`] stored rows are read
    /// and those whose state expired by then deleted ([`IdentityState::expired`]).
    pub expire: Option<(vigil_schemas::Timestamp, std::sync::Arc<vigil_rules::Rules>)>,
    /// Device owners changed since.
    pub devices: DeviceChanges,
    /// The spray tracker, encoded.
    pub spray: Vec<u8>,
    /// Input positions this state reflects.
    pub positions: Positions,
    /// Events judged since the state was created.
    pub events: u64,
}

/// Input positions by stream key (`kafka:<topic>:<partition>`, `file:<path>`).
pub type Positions = Vec<(String, Progress)>;

/// What a state folder holds besides identities, loaded at start.
#[derive(Debug, Default)]
pub struct Restored {
    /// Device fingerprint -> owner.
    pub devices: FxHashMap<u64, Box<str>>,
    /// The spray tracker, when one was stored.
    pub spray: Option<SprayTracker>,
    /// Input positions.
    pub positions: BTreeMap<String, Progress>,
    /// Checkpoints written so far.
    pub checkpoints: u64,
    /// Events judged since the state was created.
    pub events: u64,
}

/// The redb state file.
pub struct Store {
    db: redb::Database,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Store")
            .field("path", &self.path)
            .finish()
    }
}

impl Store {
    /// Opens (creating when absent) the state in folder `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(STATE_FILE);
        let fail = |source: redb::Error| StoreError::Database {
            path: path.clone(),
            source: Box::new(source),
        };
        std::fs::create_dir_all(dir).map_err(|error| fail(redb::Error::Io(error)))?;
        // redb checks its own header and checksums here: a corrupt file is an error that
        // names it, and nothing is written to it.
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|error| fail(error.into()))?;
        {
            let txn = db.begin_read().map_err(|error| fail(error.into()))?;
            let found = match txn.open_table(META) {
                Ok(meta) => meta
                    .get(FORMAT)
                    .map_err(|error| fail(error.into()))?
                    .map(|value| value.value()),
                Err(redb::TableError::TableDoesNotExist(_)) => None,
                Err(error) => return Err(fail(error.into())),
            };
            if let Some(found) = found.filter(|found| *found > u64::from(FORMAT_VERSION)) {
                return Err(StoreError::Newer { path, found });
            }
        }
        // Create the tables so readers never meet a missing one.
        let txn = db.begin_write().map_err(|error| fail(error.into()))?;
        {
            txn.open_table(IDENTITIES)
                .map_err(|error| fail(error.into()))?;
            txn.open_table(DEVICE_OWNERS)
                .map_err(|error| fail(error.into()))?;
            txn.open_table(GLOBALS)
                .map_err(|error| fail(error.into()))?;
            txn.open_table(POSITIONS)
                .map_err(|error| fail(error.into()))?;
            txn.open_table(MARKS).map_err(|error| fail(error.into()))?;
            let mut meta = txn.open_table(META).map_err(|error| fail(error.into()))?;
            meta.insert(FORMAT, u64::from(FORMAT_VERSION))
                .map_err(|error| fail(error.into()))?;
        }
        txn.commit().map_err(|error| fail(error.into()))?;
        Ok(Store { db, path })
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn fail(&self) -> impl Fn(redb::Error) -> StoreError + '_ {
        move |source| StoreError::Database {
            path: self.path.clone(),
            source: Box::new(source),
        }
    }

    /// Writes one checkpoint in one durable transaction. `cursor` is where the expiry
    /// sweep stopped (the last key it read; `None`: the start), moved on by this one.
    pub fn write(
        &self,
        checkpoint: &Checkpoint,
        cursor: &mut Option<String>,
    ) -> Result<(), StoreError> {
        let fail = self.fail();
        let txn = self.db.begin_write().map_err(|error| fail(error.into()))?;
        {
            let mut identities = txn.open_table(IDENTITIES).map_err(|e| fail(e.into()))?;
            for identity in &checkpoint.removed {
                identities
                    .remove(identity.as_str())
                    .map_err(|e| fail(e.into()))?;
            }
            if let Some((now, rules)) = &checkpoint.expire {
                let mut expired = Vec::new();
                let mut last = None;
                {
                    let range = match cursor.as_deref() {
                        Some(after) => identities.range::<&str>((
                            std::ops::Bound::Excluded(after),
                            std::ops::Bound::Unbounded,
                        )),
                        None => identities.range::<&str>(..),
                    }
                    .map_err(|e| fail(e.into()))?;
                    for entry in range.take(SWEEP_ROWS) {
                        let (key, value) = entry.map_err(|e| fail(e.into()))?;
                        let identity = key.value().to_string();
                        // A row that cannot be decoded is left for `vigil state` to show.
                        if let Ok(state) = decode::<IdentityState>(&identity, value.value()) {
                            if state.expired(*now, &rules.config) {
                                expired.push(identity.clone());
                            }
                        }
                        last = Some(identity);
                    }
                }
                for identity in &expired {
                    identities
                        .remove(identity.as_str())
                        .map_err(|e| fail(e.into()))?;
                }
                *cursor = last;
            }
            // In key order: the B-tree then fills each leaf once instead of touching
            // leaves at random (several times faster for a large checkpoint).
            let mut sorted: Vec<&(CompactString, Vec<u8>)> = checkpoint.identities.iter().collect();
            sorted.sort_unstable_by(|left, right| left.0.cmp(&right.0));
            for (identity, bytes) in sorted {
                identities
                    .insert(identity.as_str(), bytes.as_slice())
                    .map_err(|e| fail(e.into()))?;
            }
            let mut devices = txn.open_table(DEVICE_OWNERS).map_err(|e| fail(e.into()))?;
            for (device, owner) in &checkpoint.devices.changes {
                match owner {
                    Some(owner) => devices.insert(*device, owner.as_str()).map(drop),
                    None => devices.remove(*device).map(drop),
                }
                .map_err(|e| fail(e.into()))?;
            }
            let mut globals = txn.open_table(GLOBALS).map_err(|e| fail(e.into()))?;
            globals
                .insert(SPRAY, checkpoint.spray.as_slice())
                .map_err(|e| fail(e.into()))?;
            let mut positions = txn.open_table(POSITIONS).map_err(|e| fail(e.into()))?;
            let mut marks = txn.open_table(MARKS).map_err(|e| fail(e.into()))?;
            for (source, progress) in &checkpoint.positions {
                positions
                    .insert(source.as_str(), progress.next)
                    .map_err(|e| fail(e.into()))?;
                match progress.mark {
                    0 => marks.remove(source.as_str()).map(drop),
                    mark => marks.insert(source.as_str(), mark).map(drop),
                }
                .map_err(|e| fail(e.into()))?;
            }
            let mut meta = txn.open_table(META).map_err(|e| fail(e.into()))?;
            let count = meta
                .get(CHECKPOINTS)
                .map_err(|e| fail(e.into()))?
                .map_or(0, |value| value.value());
            meta.insert(CHECKPOINTS, count + 1)
                .map_err(|e| fail(e.into()))?;
            meta.insert(EVENTS, checkpoint.events)
                .map_err(|e| fail(e.into()))?;
        }
        txn.commit().map_err(|error| fail(error.into()))
    }

    /// Loads what is kept in memory from the start: device owners, spray tracker,
    /// positions, counters.
    pub fn restore(&self) -> Result<Restored, StoreError> {
        let fail = self.fail();
        let txn = self.db.begin_read().map_err(|error| fail(error.into()))?;
        let mut restored = Restored::default();
        let devices = txn.open_table(DEVICE_OWNERS).map_err(|e| fail(e.into()))?;
        restored
            .devices
            .reserve(devices.len().map_err(|e| fail(e.into()))? as usize);
        for entry in devices.iter().map_err(|e| fail(e.into()))? {
            let (device, owner) = entry.map_err(|e| fail(e.into()))?;
            restored
                .devices
                .insert(device.value(), Box::from(owner.value()));
        }
        let globals = txn.open_table(GLOBALS).map_err(|e| fail(e.into()))?;
        if let Some(spray) = globals.get(SPRAY).map_err(|e| fail(e.into()))? {
            restored.spray = Some(decode("the password-spray tracker", spray.value())?);
        }
        let positions = txn.open_table(POSITIONS).map_err(|e| fail(e.into()))?;
        let marks = txn.open_table(MARKS).map_err(|e| fail(e.into()))?;
        for entry in positions.iter().map_err(|e| fail(e.into()))? {
            let (source, next) = entry.map_err(|e| fail(e.into()))?;
            let mark = marks
                .get(source.value())
                .map_err(|e| fail(e.into()))?
                .map_or(0, |mark| mark.value());
            restored.positions.insert(
                source.value().to_string(),
                Progress {
                    next: next.value(),
                    mark,
                },
            );
        }
        let meta = txn.open_table(META).map_err(|e| fail(e.into()))?;
        let get = |key: &str| -> Result<u64, StoreError> {
            Ok(meta
                .get(key)
                .map_err(|e| fail(e.into()))?
                .map_or(0, |value| value.value()))
        };
        restored.checkpoints = get(CHECKPOINTS)?;
        restored.events = get(EVENTS)?;
        Ok(restored)
    }

    /// A reader over the last committed checkpoint.
    pub fn reader(&self) -> Result<Reader<'_>, StoreError> {
        let fail = self.fail();
        let txn = self.db.begin_read().map_err(|error| fail(error.into()))?;
        let table = txn.open_table(IDENTITIES).map_err(|e| fail(e.into()))?;
        Ok(Reader { table, store: self })
    }

    /// Forgets `identity` (in its canonical form, and every case variant stored): its
    /// row, the devices it owns, its attempts in the password-spray tracker, and its
    /// place among the principals agents acted for. The file is rebuilt without them
    /// (copied table by table into a new file, synced and renamed over the old one), so
    /// no freed page keeps the old bytes. Whether the identity had a row. The store is
    /// consumed: the folder must not be in use.
    pub fn forget(self, identity: &str) -> Result<bool, StoreError> {
        let canonical = vigil_schemas::canonical_identity(identity).into_owned();
        let matches = |key: &str| vigil_schemas::canonical_identity(key) == canonical.as_str();
        let path = self.path.clone();
        let fresh = path.with_extension("redb.forget");
        let _ = std::fs::remove_file(&fresh);
        let fail = |source: redb::Error| StoreError::Database {
            path: path.clone(),
            source: Box::new(source),
        };
        let copy = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(&fresh)
            .map_err(|error| fail(error.into()))?;
        let read = self.db.begin_read().map_err(|error| fail(error.into()))?;
        let write = copy.begin_write().map_err(|error| fail(error.into()))?;
        let mut found = false;
        let mut prints = vec![vigil_rules::fingerprint(&canonical)];
        {
            let from = read.open_table(IDENTITIES).map_err(|e| fail(e.into()))?;
            let mut to = write.open_table(IDENTITIES).map_err(|e| fail(e.into()))?;
            for entry in from.iter().map_err(|e| fail(e.into()))? {
                let (key, value) = entry.map_err(|e| fail(e.into()))?;
                let key = key.value();
                if matches(key) {
                    found = true;
                    prints.push(vigil_rules::fingerprint(key));
                    continue;
                }
                let mut bytes = value.value().to_vec();
                if let Ok(mut state) = decode::<IdentityState>(key, &bytes) {
                    if state.forget_principal(&canonical) {
                        bytes = encode(&state);
                    }
                }
                to.insert(key, bytes.as_slice())
                    .map_err(|e| fail(e.into()))?;
            }
            let from = read.open_table(DEVICE_OWNERS).map_err(|e| fail(e.into()))?;
            let mut to = write
                .open_table(DEVICE_OWNERS)
                .map_err(|e| fail(e.into()))?;
            for entry in from.iter().map_err(|e| fail(e.into()))? {
                let (device, owner) = entry.map_err(|e| fail(e.into()))?;
                if !matches(owner.value()) {
                    to.insert(device.value(), owner.value())
                        .map_err(|e| fail(e.into()))?;
                }
            }
            let from = read.open_table(GLOBALS).map_err(|e| fail(e.into()))?;
            let mut to = write.open_table(GLOBALS).map_err(|e| fail(e.into()))?;
            for entry in from.iter().map_err(|e| fail(e.into()))? {
                let (name, value) = entry.map_err(|e| fail(e.into()))?;
                let mut bytes = value.value().to_vec();
                if name.value() == SPRAY {
                    let mut spray: SprayTracker = decode("the spray tracker", &bytes)?;
                    for print in &prints {
                        spray.forget(*print);
                    }
                    bytes = encode(&spray);
                }
                to.insert(name.value(), bytes.as_slice())
                    .map_err(|e| fail(e.into()))?;
            }
            // Positions, their marks and counters, as they are (each maps names to
            // numbers).
            for table in [POSITIONS, MARKS, META] {
                let from = read.open_table(table).map_err(|e| fail(e.into()))?;
                let mut to = write.open_table(table).map_err(|e| fail(e.into()))?;
                for entry in from.iter().map_err(|e| fail(e.into()))? {
                    let (name, value) = entry.map_err(|e| fail(e.into()))?;
                    to.insert(name.value(), value.value())
                        .map_err(|e| fail(e.into()))?;
                }
            }
        }
        write.commit().map_err(|error| fail(error.into()))?;
        drop(read);
        drop(copy);
        drop(self);
        let io = |error: std::io::Error| fail(redb::Error::Io(error));
        std::fs::File::open(&fresh)
            .and_then(|file| file.sync_all())
            .map_err(io)?;
        std::fs::rename(&fresh, &path).map_err(io)?;
        if let Some(folder) = path.parent() {
            std::fs::File::open(folder)
                .and_then(|folder| folder.sync_all())
                .map_err(io)?;
        }
        Ok(found)
    }

    /// Identities stored.
    pub fn identity_count(&self) -> Result<u64, StoreError> {
        let fail = self.fail();
        let txn = self.db.begin_read().map_err(|error| fail(error.into()))?;
        let table = txn.open_table(IDENTITIES).map_err(|e| fail(e.into()))?;
        table.len().map_err(|e| fail(e.into()))
    }

    /// Every stored identity with its encoded state, in key order (for tests and
    /// comparisons of whole states).
    pub fn identities(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let fail = self.fail();
        let txn = self.db.begin_read().map_err(|error| fail(error.into()))?;
        let table = txn.open_table(IDENTITIES).map_err(|e| fail(e.into()))?;
        let mut all = Vec::new();
        for entry in table.iter().map_err(|e| fail(e.into()))? {
            let (identity, bytes) = entry.map_err(|e| fail(e.into()))?;
            all.push((identity.value().to_string(), bytes.value().to_vec()));
        }
        Ok(all)
    }
}

/// Reads identities from one committed checkpoint.
pub struct Reader<'a> {
    table: redb::ReadOnlyTable<&'static str, &'static [u8]>,
    store: &'a Store,
}

impl Reader<'_> {
    /// One identity's stored state, if any.
    pub fn identity(&self, identity: &str) -> Result<Option<IdentityState>, StoreError> {
        let fail = self.store.fail();
        match self.table.get(identity).map_err(|e| fail(e.into()))? {
            Some(bytes) => decode(&format!("the state of `{identity}`"), bytes.value()).map(Some),
            None => Ok(None),
        }
    }
}

/// Writes checkpoints on its own thread, one at a time, so the engine goes on judging
/// while a checkpoint is committed.
pub struct Writer {
    submit: Option<std::sync::mpsc::SyncSender<Checkpoint>>,
    done: std::sync::mpsc::Receiver<Result<Positions, String>>,
    thread: Option<std::thread::JoinHandle<()>>,
    in_flight: bool,
}

impl Writer {
    /// A writer thread over `store`.
    pub fn new(store: std::sync::Arc<Store>) -> Writer {
        let (submit, work) = std::sync::mpsc::sync_channel::<Checkpoint>(1);
        let (report, done) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("vigil-checkpoint".into())
            .spawn(move || {
                let mut cursor = None;
                for checkpoint in work {
                    let result = store
                        .write(&checkpoint, &mut cursor)
                        .map(|()| checkpoint.positions)
                        .map_err(|error| error.to_string());
                    if report.send(result).is_err() {
                        return;
                    }
                }
            })
            .ok();
        Writer {
            submit: Some(submit),
            done,
            thread,
            in_flight: false,
        }
    }

    /// Whether a checkpoint is being written.
    pub fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// Starts writing `checkpoint`; the previous one must be finished ([`Writer::wait`]).
    pub fn submit(&mut self, checkpoint: Checkpoint) -> Result<(), StoreError> {
        if self.in_flight {
            return Err(StoreError::Writer(
                "a checkpoint was submitted while one is in flight".into(),
            ));
        }
        let sender = self
            .submit
            .as_ref()
            .ok_or_else(|| StoreError::Writer("closed".into()))?;
        sender
            .send(checkpoint)
            .map_err(|_| StoreError::Writer("the writer thread is gone".into()))?;
        self.in_flight = true;
        Ok(())
    }

    /// Waits for the checkpoint in flight; its positions once durable (None when nothing
    /// was in flight).
    pub fn wait(&mut self) -> Result<Option<Positions>, StoreError> {
        if !self.in_flight {
            return Ok(None);
        }
        self.in_flight = false;
        match self.done.recv() {
            Ok(result) => result.map(Some).map_err(StoreError::Writer),
            Err(_) => Err(StoreError::Writer("the writer thread is gone".into())),
        }
    }

    /// The positions of the checkpoint in flight if it has become durable, without
    /// waiting.
    pub fn poll(&mut self) -> Result<Option<Positions>, StoreError> {
        if !self.in_flight {
            return Ok(None);
        }
        match self.done.try_recv() {
            Ok(result) => {
                self.in_flight = false;
                result.map(Some).map_err(StoreError::Writer)
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => Ok(None),
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                self.in_flight = false;
                Err(StoreError::Writer("the writer thread is gone".into()))
            }
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.submit.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_bad_bytes_are_errors() {
        let mut state = IdentityState::default();
        state.latest = vigil_schemas::Timestamp::from_secs(1_772_409_600);
        let bytes = encode(&state);
        assert_eq!(bytes[0], FORMAT_VERSION);
        let back: IdentityState = decode("test", &bytes).unwrap();
        assert_eq!(back, state);
        assert!(decode::<IdentityState>("test", &[]).is_err());
        assert!(decode::<IdentityState>("test", &[99, 0]).is_err());
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode::<IdentityState>("test", &long).is_err());
        assert!(decode::<IdentityState>("test", &bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn checkpoints_are_restored_and_identities_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut state = IdentityState::default();
        state.latest = vigil_schemas::Timestamp::from_secs(5);
        store
            .write(
                &Checkpoint {
                    identities: vec![("alice".into(), encode(&state))],
                    devices: DeviceChanges {
                        changes: vec![(7, Some("alice".into())), (8, Some("bob".into()))],
                    },
                    spray: encode(&SprayTracker::default()),
                    positions: vec![
                        ("file:a".into(), Progress { next: 10, mark: 0 }),
                        ("kafka:t:0".into(), Progress { next: 5, mark: 42 }),
                    ],
                    events: 10,
                    ..Checkpoint::default()
                },
                &mut None,
            )
            .unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let restored = store.restore().unwrap();
        assert_eq!(restored.devices.len(), 2);
        assert_eq!(restored.positions["file:a"], Progress { next: 10, mark: 0 });
        assert_eq!(
            restored.positions["kafka:t:0"],
            Progress { next: 5, mark: 42 }
        );
        assert_eq!((restored.checkpoints, restored.events), (1, 10));
        assert_eq!(
            store.reader().unwrap().identity("alice").unwrap(),
            Some(state)
        );
        assert!(store.forget("alice").unwrap());
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.reader().unwrap().identity("alice").unwrap(), None);
        assert_eq!(store.restore().unwrap().devices.len(), 1);
        let positions = store.restore().unwrap().positions;
        assert_eq!(positions["file:a"].next, 10);
        assert_eq!(
            positions["kafka:t:0"],
            Progress { next: 5, mark: 42 },
            "marks kept"
        );
        assert!(!store.forget("alice").unwrap());
    }

    #[test]
    fn stored_rows_expire_a_sweep_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let day = 86_400;
        let rules = std::sync::Arc::new(vigil_rules::Rules {
            config: vigil_rules::RulesConfig::default(),
            policy: vigil_rules::Policy::default_policy(),
        });
        // Rows: identities that only failed (learned nothing) an hour and a half ago,
        // people with a sign-in learned 100 days ago and 10 days ago.
        let now = vigil_schemas::Timestamp::from_secs(200 * day);
        let at = |secs: i64, logins: u32| {
            let mut state = IdentityState::default();
            state.latest = vigil_schemas::Timestamp::from_secs(secs);
            state.profile.logins = logins;
            encode(&state)
        };
        let mut identities = Vec::new();
        for index in 0..SWEEP_ROWS + 100 {
            identities.push((
                format!("made-up-{index:05}").into(),
                at(200 * day - 5_400, 0),
            ));
        }
        identities.push(("gone@example.com".into(), at(100 * day, 3)));
        identities.push(("kept@example.com".into(), at(190 * day, 3)));
        identities.push(("recent-failure".into(), at(200 * day - 60, 0)));
        let mut cursor = None;
        store
            .write(
                &Checkpoint {
                    identities,
                    ..Checkpoint::default()
                },
                &mut cursor,
            )
            .unwrap();
        assert_eq!(store.identity_count().unwrap(), SWEEP_ROWS as u64 + 103);
        let sweep = |cursor: &mut Option<String>| {
            store
                .write(
                    &Checkpoint {
                        expire: Some((now, rules.clone())),
                        ..Checkpoint::default()
                    },
                    cursor,
                )
                .unwrap();
        };
        // Keys in order: gone@, kept@, made-up-00000..., recent-failure. The first sweep
        // reads 4,096 rows: gone@, kept@ and 4,094 made-up names, deleting all but kept@.
        sweep(&mut cursor);
        assert_eq!(store.identity_count().unwrap(), 104);
        sweep(&mut cursor);
        sweep(&mut cursor);
        let left: Vec<String> = store
            .identities()
            .unwrap()
            .into_iter()
            .map(|(identity, _)| identity)
            .collect();
        assert_eq!(left, ["kept@example.com", "recent-failure"]);
    }

    #[test]
    fn a_newer_or_corrupt_state_file_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let path = dir.path().join(STATE_FILE);
        {
            let db = redb::Database::open(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(META)
                .unwrap()
                .insert(FORMAT, u64::from(FORMAT_VERSION) + 1)
                .unwrap();
            txn.commit().unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let error = Store::open(dir.path()).unwrap_err();
        assert!(matches!(error, StoreError::Newer { .. }), "{error}");
        let message = error.to_string();
        assert!(message.contains("newer than this build") && message.contains("state.redb"));
        assert_eq!(std::fs::read(&path).unwrap(), before, "nothing written");

        // A file whose pages were overwritten with garbage.
        let corrupt = tempfile::tempdir().unwrap();
        let path = corrupt.path().join(STATE_FILE);
        let mut bytes = before.clone();
        for byte in bytes.iter_mut().take(4096) {
            *byte ^= 0x5a;
        }
        std::fs::write(&path, &bytes).unwrap();
        let error = Store::open(corrupt.path()).unwrap_err();
        assert!(error.to_string().contains("state.redb"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "nothing written");
    }
}
