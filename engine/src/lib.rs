//! vigil's runtime: routes events to the shard that owns their identity, orders them by
//! event time, and drives the rules.
//!
//! Guarantees:
//! - identities are sharded over worker threads by a fixed hash of the identity, so all
//!   cores work and one identity's events are always judged by one shard, in event-time
//!   order within a batch (ties keep input order);
//! - the output is deterministic: for a given input, batch size and policy, the
//!   decisions and their order are the same whatever the number of shards or threads;
//! - a posture event without an identity is judged for its device's owner, learned from
//!   earlier events that carried both; with no owner known it is counted, not judged;
//! - password spray, the one detector keyed by source address instead of identity, runs
//!   over each batch's sign-ins in event-time order before the shards, and its signals
//!   travel with their events to the identities' shards.
//!
//! - with a state store ([`Engine::with_store`]), identities are loaded from redb on
//!   their first event, every change is written by the next [`Engine::checkpoint`]
//!   together with the input positions it reflects, and identities idle in event time
//!   (or beyond the in-memory bound) leave memory at a checkpoint once their state is
//!   durable.
//!
//! The engine knows nothing of Kafka, files or HTTP: it takes events and gives decisions.

mod devices;
pub mod store;

use devices::DeviceOwners;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;
use store::{Checkpoint, DeviceChanges, Positions, Store, StoreError, Writer};
use vigil_rules::detectors::password_spray::SprayTracker;
use vigil_rules::{fingerprint, IdentityState, Judge, Rules, Verdict};
use vigil_schemas::{CompactString, Decision, Detector, Envelope, Progress, Signal, SignalRecord};

/// One event for a shard: its position in the batch, the event, and the spray signal the
/// engine found for it.
type Work = (usize, Envelope, Option<Box<Signal>>);

/// Most device -> owner pairs remembered; beyond it the least recently used leave, which
/// bounds memory against an input of endless device ids.
pub const MAX_DEVICE_OWNERS: usize = 1 << 20;

/// How often (in events judged) the spray tracker forgets addresses idle for two of its
/// windows: often enough that it holds about one window's addresses, rarely enough that
/// going over them costs nothing per event.
const SPRAY_SWEEP_EVENTS: u64 = 65_536;

/// A policy condition that failed to evaluate: how often, and the first failure.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyErrors {
    /// Failures.
    pub count: u64,
    /// The evaluator's message of the first failure.
    pub first_message: String,
    /// The event of the first failure.
    pub first_trigger: vigil_schemas::Origin,
}

/// What one batch produced, besides decisions.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BatchStats {
    /// Events judged.
    pub judged: u64,
    /// Posture events whose device has no known owner.
    pub unowned: u64,
    /// Signals raised, by detector.
    pub signals: FxHashMap<Detector, u64>,
    /// Policy conditions that failed to evaluate, by rule name.
    pub policy_errors: FxHashMap<String, PolicyErrors>,
    /// Identities whose stored state could not be read (they start afresh; each is
    /// logged).
    pub state_errors: u64,
}

impl BatchStats {
    /// Adds another batch's counts.
    pub fn merge(&mut self, other: BatchStats) {
        self.judged += other.judged;
        self.unowned += other.unowned;
        self.state_errors += other.state_errors;
        for (detector, count) in other.signals {
            *self.signals.entry(detector).or_default() += count;
        }
        for (rule, errors) in other.policy_errors {
            match self.policy_errors.get_mut(&rule) {
                Some(existing) => existing.count += errors.count,
                None => {
                    self.policy_errors.insert(rule, errors);
                }
            }
        }
    }
}

/// Identities and their encoded state, for a checkpoint.
type Encoded = Vec<(CompactString, Vec<u8>)>;

/// Identities dropped from memory by one eviction pass.
#[derive(Debug, Default)]
struct Eviction {
    /// Worth nothing any more (their stored rows are deleted too).
    expired: Vec<CompactString>,
    /// Beyond the bound without a store: their baselines are lost.
    lost: u64,
}

/// Identities dropped from memory so far, by why.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Evictions {
    /// Idle past `forget_after`, or having learned nothing (only refused sign-ins) idle
    /// past an hour.
    pub expired: u64,
    /// Beyond `max_identities_in_memory` without a state store: their baselines are
    /// lost (with a store they are reloaded on their next event).
    pub lost: u64,
}

/// The outcome of one batch.
#[derive(Debug, Default)]
pub struct BatchOutput {
    /// Decisions, in event-time order (ties in input order).
    pub decisions: Vec<Decision>,
    /// Every signal raised, in event-time order, when the engine keeps them.
    pub signals: Vec<SignalRecord>,
    /// Counts.
    pub stats: BatchStats,
}

struct Shard {
    /// Boxed: a map slot is then 32 bytes, and the spare slots a hash map keeps cost 32
    /// bytes each instead of a whole state.
    /// Keys are boxed strings: 16 bytes in the slot and the identity's exact length on the
    /// heap (identities are mostly e-mail addresses, too long for a compact string's 24
    /// inline bytes, which would then allocate at least 32).
    identities: FxHashMap<Box<str>, Box<IdentityState>>,
    judge: Judge,
    /// The state store identities are loaded from, when the engine has one.
    store: Option<Arc<Store>>,
    /// Identities changed since the last checkpoint (kept only with a store).
    dirty: FxHashSet<CompactString>,
    /// Whether to hand signals out (for the archive).
    keep_signals: bool,
}

/// What a shard gives back for a batch: decisions and kept signals with the positions of
/// their events, and counts.
type ShardOutput = (Vec<Ordered>, Vec<(usize, SignalRecord)>, BatchStats);

/// A decision with the position of its trigger, for a deterministic merge.
struct Ordered {
    sequence: usize,
    decision: Decision,
}

impl Shard {
    /// Drops from memory the identities whose state is worth nothing ([`IdentityState::expired`],
    /// dirty or not: their stored rows go too), then, with a store, the clean (so
    /// durable) ones idle past `idle_after`, then the least recently active clean ones
    /// beyond `max` (without a store every identity is clean: those leave with their
    /// baselines, counted as lost).
    /// Drops what no later event can count: the sessions every identity would drop at
    /// its next event (idle past the session timeout, risk decayed), and failed sign-in
    /// and refused prompt windows holding nothing within their window. Without this they
    /// stay in memory until their identity is seen again, and most of those held are
    /// days over. Judged as of `now`, a session timeout before the newest event time, so
    /// an event up to that late still finds what it would have found.
    fn expire_over(&mut self, newest: vigil_schemas::Timestamp) {
        let config = &self.judge.rules().config;
        let idle = config.session_hijack.idle_timeout.as_micros();
        let now = vigil_schemas::Timestamp(newest.0.saturating_sub(idle));
        for state in self.identities.values_mut() {
            state.risks.expire(now, idle, &config.risk);
            state.forget_windows_over(now, config);
        }
    }

    fn evict(
        &mut self,
        watermark: vigil_schemas::Timestamp,
        idle_after: Option<i64>,
        max: usize,
    ) -> Eviction {
        let config = &self.judge.rules().config;
        let mut gone = Eviction::default();
        let dirty = &mut self.dirty;
        self.identities.retain(|identity, state| {
            if state.expired(watermark, config) {
                dirty.remove(&**identity);
                gone.expired.push(CompactString::from(&**identity));
                return false;
            }
            idle_after.is_none_or(|idle| {
                dirty.contains(&**identity) || watermark.0.saturating_sub(state.latest.0) <= idle
            })
        });
        if self.identities.len() > max {
            let dirty = &self.dirty;
            let mut clean: Vec<(vigil_schemas::Timestamp, Box<str>)> = self
                .identities
                .iter()
                .filter(|(identity, _)| !dirty.contains(&***identity))
                .map(|(identity, state)| (state.latest, identity.clone()))
                .collect();
            let excess = (self.identities.len() - max).min(clean.len());
            if excess > 0 {
                clean.select_nth_unstable(excess - 1);
                for (_, identity) in &clean[..excess] {
                    self.identities.remove(identity);
                }
                if self.store.is_none() {
                    gone.lost += excess as u64;
                }
            }
        }
        if self.identities.capacity() > 2 * self.identities.len().max(1024) {
            self.identities.shrink_to_fit();
        }
        gone
    }

    /// Encodes and clears the identities changed since the last checkpoint.
    fn encode_dirty(&mut self) -> Vec<(CompactString, Vec<u8>)> {
        let mut encoded = Vec::with_capacity(self.dirty.len());
        for identity in self.dirty.drain() {
            if let Some(state) = self.identities.get(identity.as_str()) {
                encoded.push((identity, store::encode(&**state)));
            }
        }
        if self.dirty.capacity() > 4096 {
            self.dirty.shrink_to(4096);
        }
        encoded
    }

    fn process(&mut self, mut work: Vec<Work>) -> ShardOutput {
        // Sort small keys, not the events: an envelope is a few hundred bytes.
        let mut order: Vec<(vigil_schemas::Timestamp, usize, usize)> = work
            .iter()
            .enumerate()
            .map(|(index, (sequence, envelope, _))| (envelope.event.time, *sequence, index))
            .collect();
        order.sort_unstable();
        let mut decisions = Vec::new();
        let mut kept = Vec::new();
        let mut stats = BatchStats::default();
        let store = self.store.clone();
        let mut reader = None;
        for (_, sequence, index) in order {
            let across = work[index].2.take().map(|signal| *signal);
            let envelope = &work[index].1;
            let Some(identity) = envelope.event.identity.as_deref() else {
                continue;
            };
            if store.is_some() && !self.dirty.contains(identity) {
                self.dirty.insert(CompactString::from(identity));
            }
            let state = match self.identities.get_mut(identity) {
                Some(state) => state,
                None => {
                    let loaded = match &store {
                        Some(store) => load(store, &mut reader, identity, &mut stats),
                        None => Box::default(),
                    };
                    self.identities.entry(Box::from(identity)).or_insert(loaded)
                }
            };
            let Verdict {
                signals,
                decisions: made,
                policy_errors,
                risk,
            } = self.judge.judge_with(state, envelope, across);
            stats.judged += 1;
            for signal in &signals {
                *stats.signals.entry(signal.detector).or_default() += 1;
            }
            if self.keep_signals {
                kept.extend(signals.into_iter().map(|signal| {
                    (
                        sequence,
                        SignalRecord {
                            time: envelope.event.time,
                            identity: CompactString::from(identity),
                            session_id: envelope.event.session_id.clone(),
                            signal,
                            risk: risk.map(|risk| risk.score),
                            origin: envelope.origin.clone(),
                        },
                    )
                }));
            }
            for (rule, message) in policy_errors {
                stats
                    .policy_errors
                    .entry(rule)
                    .or_insert_with(|| PolicyErrors {
                        count: 0,
                        first_message: message,
                        first_trigger: envelope.origin.clone(),
                    })
                    .count += 1;
            }
            decisions.extend(
                made.into_iter()
                    .map(|decision| Ordered { sequence, decision }),
            );
        }
        (decisions, kept, stats)
    }
}

/// An identity's stored state, or a fresh one when none is stored or it cannot be read
/// (logged and counted: the engine goes on).
fn load<'a>(
    store: &'a Store,
    reader: &mut Option<store::Reader<'a>>,
    identity: &str,
    stats: &mut BatchStats,
) -> Box<IdentityState> {
    if reader.is_none() {
        match store.reader() {
            Ok(opened) => *reader = Some(opened),
            Err(error) => {
                tracing::error!(%error, identity, "cannot read the state store");
                stats.state_errors += 1;
                return Box::default();
            }
        }
    }
    let Some(reader) = reader.as_ref() else {
        return Box::default();
    };
    match reader.identity(identity) {
        Ok(state) => Box::new(state.unwrap_or_default()),
        Err(error) => {
            tracing::error!(%error, identity, "stored state unreadable; the identity starts afresh");
            stats.state_errors += 1;
            Box::default()
        }
    }
}

/// How much state stays in memory when the engine has a store; the rest is in redb and
/// loaded on an identity's next event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryLimits {
    /// Most identities held in memory (over all shards).
    pub max_identities: usize,
    /// Identities with no event for this long (event time, microseconds) behind the
    /// newest event leave memory.
    pub idle_after_micros: i64,
}

impl Default for MemoryLimits {
    /// One million identities (under 1 GiB at about 1 KB each), and two hours idle: a
    /// user back from lunch is still in memory, a user back the next morning costs one
    /// read of a few kilobytes.
    fn default() -> Self {
        MemoryLimits {
            max_identities: 1_000_000,
            idle_after_micros: 2 * 3600 * 1_000_000,
        }
    }
}

/// The engine's link to its state store.
struct Durable {
    store: Arc<Store>,
    writer: Writer,
    /// Device owners changed since the last checkpoint.
    devices: DeviceChanges,
    /// Events judged since the state was created, and since the last checkpoint.
    events: u64,
    events_since: u64,
    /// Positions restored at start.
    positions: std::collections::BTreeMap<String, Progress>,
    /// Bytes of encoded state the last checkpoint wrote (identities and spray tracker).
    last_bytes: u64,
}

/// The engine: shards with their identities' state, and the device-owner map.
pub struct Engine {
    shards: Vec<Shard>,
    /// Device id fingerprint -> owner.
    device_owners: DeviceOwners,
    spray: SprayTracker,
    rules: Arc<Rules>,
    durable: Option<Durable>,
    /// Memory bounds (checked at checkpoints with a store, by a sweep without one).
    limits: MemoryLimits,
    /// The newest event time judged.
    watermark: vigil_schemas::Timestamp,
    /// Events judged since memory was last swept (without a store).
    since_sweep: u64,
    /// Events judged since the spray tracker last forgot its idle addresses.
    since_spray_sweep: u64,
    evictions: Evictions,
}

/// Whether the event is a sign-in attempt from a known address (what spray looks at).
fn is_sign_in(envelope: &Envelope) -> bool {
    envelope.event.ip.is_some()
        && envelope
            .event
            .auth()
            .is_some_and(|auth| auth.action == vigil_schemas::AuthAction::Login)
}

/// The shard of an identity: a fixed hash, the same on every run and machine.
pub fn shard_of(identity: &str, shards: usize) -> usize {
    (fingerprint(identity) % shards.max(1) as u64) as usize
}

impl Engine {
    /// An engine with `shards` worker shards (use the number of cores).
    pub fn new(rules: Arc<Rules>, shards: usize) -> Engine {
        let shards = (0..shards.max(1))
            .map(|_| Shard {
                identities: FxHashMap::default(),
                judge: Judge::new(rules.clone()),
                store: None,
                dirty: FxHashSet::default(),
                keep_signals: false,
            })
            .collect();
        Engine {
            shards,
            device_owners: DeviceOwners::new(MAX_DEVICE_OWNERS),
            spray: SprayTracker::default(),
            rules,
            durable: None,
            limits: MemoryLimits::default(),
            watermark: vigil_schemas::Timestamp(i64::MIN),
            since_sweep: 0,
            since_spray_sweep: 0,
            evictions: Evictions::default(),
        }
    }

    /// The same engine with other memory bounds.
    pub fn with_limits(mut self, limits: MemoryLimits) -> Engine {
        self.limits = limits;
        self
    }

    /// Identities dropped from memory so far, by why.
    pub fn evictions(&self) -> Evictions {
        self.evictions
    }

    /// Without a store, drops expired identities and the least recently active beyond
    /// the bound, when memory is over the bound or as many events as identities held
    /// (at least 65,536) have been judged since the last sweep: amortised constant work
    /// an event. With a store this happens at checkpoints, where durability is known.
    fn sweep_memory(&mut self) {
        if self.durable.is_some() {
            return;
        }
        let held = self.identities();
        if held <= self.limits.max_identities && self.since_sweep < (held as u64).max(65_536) {
            return;
        }
        self.since_sweep = 0;
        let per_shard = self
            .limits
            .max_identities
            .div_ceil(self.shards.len())
            .max(1);
        let watermark = self.watermark;
        let gone: Vec<Eviction> = self
            .shards
            .par_iter_mut()
            .map(|shard| {
                shard.expire_over(watermark);
                shard.evict(watermark, None, per_shard)
            })
            .collect();
        for eviction in gone {
            self.evictions.expired += eviction.expired.len() as u64;
            self.evictions.lost += eviction.lost;
        }
    }

    /// An engine over a state store: device owners, the spray tracker and input
    /// positions are restored now, identities on their first event.
    pub fn with_store(
        rules: Arc<Rules>,
        shards: usize,
        store: Arc<Store>,
        limits: MemoryLimits,
    ) -> Result<Engine, StoreError> {
        let restored = store.restore()?;
        let mut engine = Engine::new(rules, shards);
        for shard in &mut engine.shards {
            shard.store = Some(store.clone());
        }
        engine.device_owners = DeviceOwners::restored(restored.devices, MAX_DEVICE_OWNERS);
        engine.spray = restored.spray.unwrap_or_default();
        engine.limits = limits;
        engine.durable = Some(Durable {
            writer: Writer::new(store.clone()),
            store,
            devices: DeviceChanges::default(),
            events: restored.events,
            events_since: 0,
            positions: restored.positions,
            last_bytes: 0,
        });
        Ok(engine)
    }

    /// Hands every signal out in [`BatchOutput::signals`] (for the archive).
    pub fn keep_signals(&mut self, keep: bool) {
        for shard in &mut self.shards {
            shard.keep_signals = keep;
        }
    }

    /// The input positions restored from the store at start (empty without one).
    pub fn restored_positions(&self) -> std::collections::BTreeMap<String, Progress> {
        self.durable
            .as_ref()
            .map(|durable| durable.positions.clone())
            .unwrap_or_default()
    }

    /// Bytes of encoded state the last checkpoint wrote: changed identities (keys and
    /// values) and the spray tracker (0 without a store).
    pub fn last_checkpoint_bytes(&self) -> u64 {
        self.durable
            .as_ref()
            .map_or(0, |durable| durable.last_bytes)
    }

    /// Events judged since the last checkpoint (0 without a store).
    pub fn events_since_checkpoint(&self) -> u64 {
        self.durable
            .as_ref()
            .map_or(0, |durable| durable.events_since)
    }

    /// Writes a checkpoint of everything changed since the last one, with the input
    /// `positions` the state now reflects, on the writer thread (the engine goes on).
    /// Waits first for the previous checkpoint, and returns its positions once durable:
    /// those are safe to commit to a broker. Identities idle or beyond the memory bound
    /// leave memory here, once their state is known to be durable. Without a store it
    /// does nothing.
    pub fn checkpoint(&mut self, positions: Positions) -> Result<Option<Positions>, StoreError> {
        let Some(durable) = self.durable.as_mut() else {
            return Ok(None);
        };
        // Everything not dirty now is durable (the previous checkpoint is committed).
        let previous = durable.writer.wait()?;
        let limits = self.limits;
        let watermark = self.watermark;
        let per_shard = limits.max_identities.div_ceil(self.shards.len()).max(1);
        let encoded: Vec<(Eviction, Encoded)> = self
            .shards
            .par_iter_mut()
            .map(|shard| {
                let gone = shard.evict(watermark, Some(limits.idle_after_micros), per_shard);
                (gone, shard.encode_dirty())
            })
            .collect();
        let mut identities = Vec::new();
        let mut removed = Vec::new();
        for (gone, changed) in encoded {
            self.evictions.expired += gone.expired.len() as u64;
            removed.extend(gone.expired);
            identities.extend(changed);
        }
        let spray = store::encode(&self.spray);
        durable.last_bytes = identities
            .iter()
            .map(|(identity, bytes)| (identity.len() + bytes.len()) as u64)
            .sum::<u64>()
            + spray.len() as u64;
        let checkpoint = Checkpoint {
            identities,
            removed,
            expire: Some((watermark, self.rules.clone())),
            devices: std::mem::take(&mut durable.devices),
            spray,
            positions,
            events: durable.events,
        };
        durable.events_since = 0;
        durable.writer.submit(checkpoint)?;
        Ok(previous)
    }

    /// The positions of the checkpoint in flight once it is durable, without waiting.
    pub fn poll_checkpoint(&mut self) -> Result<Option<Positions>, StoreError> {
        match self.durable.as_mut() {
            Some(durable) => durable.writer.poll(),
            None => Ok(None),
        }
    }

    /// Waits for the checkpoint in flight; its positions once durable.
    pub fn finish_checkpoint(&mut self) -> Result<Option<Positions>, StoreError> {
        match self.durable.as_mut() {
            Some(durable) => durable.writer.wait(),
            None => Ok(None),
        }
    }

    /// The state store, when the engine has one.
    pub fn store(&self) -> Option<&Arc<Store>> {
        self.durable.as_ref().map(|durable| &durable.store)
    }

    /// Identities held in memory.
    pub fn identities(&self) -> usize {
        self.shards.iter().map(|shard| shard.identities.len()).sum()
    }

    /// The state of one identity, if held.
    pub fn identity(&self, identity: &str) -> Option<&IdentityState> {
        self.shards[shard_of(identity, self.shards.len())]
            .identities
            .get(identity)
            .map(|state| &**state)
    }

    /// Judges a batch of events; decisions come back in event-time order.
    pub fn process(&mut self, batch: Vec<Envelope>) -> BatchOutput {
        let shard_count = self.shards.len();
        let mut work: Vec<Vec<Work>> = (0..shard_count)
            .map(|_| Vec::with_capacity(batch.len() / shard_count + 1))
            .collect();
        let mut unowned = 0;
        // Sign-ins for the spray pass: (time, sequence, shard, position in the shard).
        let mut sign_ins = Vec::new();
        for (sequence, mut envelope) in batch.into_iter().enumerate() {
            if !self.assign_owner(&mut envelope) {
                unowned += 1;
                continue;
            }
            let Some(identity) = envelope.event.identity.as_deref() else {
                continue;
            };
            let shard = shard_of(identity, shard_count);
            if is_sign_in(&envelope) {
                sign_ins.push((envelope.event.time, sequence, shard, work[shard].len()));
            }
            work[shard].push((sequence, envelope, None));
        }
        self.spray_pass(sign_ins, &mut work);
        let judged = work.iter().map(Vec::len).sum::<usize>() as u64;
        if let Some(newest) = work.iter().flatten().map(|item| item.1.event.time).max() {
            self.watermark = self.watermark.max(newest);
        }
        self.since_sweep += judged;
        self.since_spray_sweep += judged;
        if self.since_spray_sweep >= SPRAY_SWEEP_EVENTS {
            self.since_spray_sweep = 0;
            let window = self.rules.config.password_spray.window.as_micros();
            self.spray.expire(self.watermark, window.saturating_mul(2));
        }
        if let Some(durable) = self.durable.as_mut() {
            durable.events += judged;
            durable.events_since += judged;
        }
        // Shards run on rayon's persistent workers: threads (and their allocator caches)
        // live across batches instead of being spawned for each.
        let results: Vec<ShardOutput> = if shard_count == 1 {
            vec![self.shards[0].process(work.pop().unwrap_or_default())]
        } else {
            self.shards
                .par_iter_mut()
                .zip(work.into_par_iter())
                .map(|(shard, part)| shard.process(part))
                .collect()
        };
        let mut output = BatchOutput {
            stats: BatchStats {
                unowned,
                ..BatchStats::default()
            },
            ..BatchOutput::default()
        };
        let mut ordered = Vec::new();
        let mut signals = Vec::new();
        for (decisions, kept, stats) in results {
            ordered.extend(decisions);
            signals.extend(kept);
            output.stats.merge(stats);
        }
        signals.sort_by(|left, right| left.1.time.cmp(&right.1.time).then(left.0.cmp(&right.0)));
        output.signals = signals.into_iter().map(|(_, record)| record).collect();
        ordered.sort_by(|left, right| {
            left.decision
                .time
                .cmp(&right.decision.time)
                .then(left.sequence.cmp(&right.sequence))
        });
        output.decisions = ordered.into_iter().map(|entry| entry.decision).collect();
        self.sweep_memory();
        output
    }

    /// Runs the password-spray tracker over the batch's sign-ins in event-time order (ties
    /// in input order) and attaches its signals to their events.
    fn spray_pass(
        &mut self,
        mut sign_ins: Vec<(vigil_schemas::Timestamp, usize, usize, usize)>,
        work: &mut [Vec<Work>],
    ) {
        let config = &self.rules.config.password_spray;
        if !config.enabled {
            return;
        }
        sign_ins.sort_unstable();
        for (_, _, shard, position) in sign_ins {
            let item = &mut work[shard][position];
            item.2 = self.spray.observe(&item.1, config).map(Box::new);
        }
    }

    /// Learns device owners from successful sign-ins, and fills in the owner of
    /// identity-less posture events; false when no owner is known.
    fn assign_owner(&mut self, envelope: &mut Envelope) -> bool {
        let event = &mut envelope.event;
        match (&event.identity, &event.device_id) {
            (Some(identity), Some(device)) => {
                // A device's owner is who signs in on it: a failure proves nothing (anyone
                // can send one), and access events (the bulk of traffic) skip the lookup.
                let signed_in = event
                    .auth()
                    .is_some_and(|auth| auth.outcome == vigil_schemas::Outcome::Success);
                if signed_in {
                    let device = fingerprint(device);
                    let (changed, evicted) = self.device_owners.learn(device, identity);
                    if let Some(durable) = self.durable.as_mut() {
                        let changes = &mut durable.devices.changes;
                        changes.extend(evicted.into_iter().map(|device| (device, None)));
                        if changed {
                            changes.push((device, Some(identity.clone())));
                        }
                    }
                }
                true
            }
            (Some(_), None) => true,
            (None, Some(device)) => match self.device_owners.owner(fingerprint(device)) {
                Some(owner) => {
                    event.identity = Some(CompactString::from(owner));
                    true
                }
                None => false,
            },
            (None, None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_rules::{Policy, RulesConfig};
    use vigil_schemas::{
        AuthAction, AuthDetail, Detail, Event, Geo, IpTags, Origin, Outcome, PostureDetail,
        Timestamp,
    };

    fn rules() -> Arc<Rules> {
        Arc::new(Rules {
            config: RulesConfig::default(),
            policy: Policy::default_policy(),
        })
    }

    fn login(identity: &str, minute: i64, lat: f64, lon: f64, ip: &str, line: u64) -> Envelope {
        let mut event = Event::new(
            Timestamp::from_secs(1_772_409_600 + minute * 60),
            Some(identity),
            Detail::Auth(AuthDetail {
                action: AuthAction::Login,
                outcome: Outcome::Success,
                factor: None,
                reason: None,
            }),
        );
        event.ip = Some(ip.parse().unwrap());
        event.geo = Some(Geo {
            lat: Some(lat),
            lon: Some(lon),
            country: None,
            city: None,
            accuracy_km: Some(10.0),
        });
        event.device_id = Some(format!("device-{identity}").into());
        Envelope {
            event: Box::new(event),
            origin: Origin::File {
                file: "test".into(),
                line,
            },
            tags: IpTags::default(),
        }
    }

    /// Twenty identities, each jumping Berlin -> New York in 30 minutes, input shuffled
    /// across identities and with each identity's events out of order.
    fn traffic() -> Vec<Envelope> {
        let mut events = Vec::new();
        for index in 0..20 {
            let identity = format!("user{index}@example.com");
            events.push(login(&identity, 30 + index, 40.71, -74.0, "23.1.1.1", 0));
            events.push(login(&identity, index, 52.52, 13.4, "85.214.1.1", 0));
        }
        for (line, envelope) in events.iter_mut().enumerate() {
            envelope.origin = Origin::File {
                file: "test".into(),
                line: line as u64 + 1,
            };
        }
        events
    }

    #[test]
    fn the_memory_sweep_drops_what_is_a_day_over() {
        let mut engine = Engine::new(rules(), 1);
        let with_session = |identity: &str, minute: i64, session: &str| {
            let mut envelope = login(identity, minute, 52.52, 13.4, "85.214.1.1", 1);
            envelope.event.session_id = Some(session.into());
            envelope
        };
        let mut mistyped = login("alice@example.com", 0, 52.52, 13.4, "85.214.1.1", 1);
        if let Detail::Auth(auth) = &mut mistyped.event.detail {
            auth.outcome = Outcome::Failure;
        }
        engine.process(vec![
            mistyped,
            with_session("alice@example.com", 1, "a-1"),
            with_session("bob@example.com", 0, "b-1"),
        ]);
        // Bob again 20 hours on (his old session over by then), then 30 hours on;
        // Alice not again.
        engine.process(vec![with_session("bob@example.com", 20 * 60, "b-2")]);
        engine.process(vec![with_session("bob@example.com", 30 * 60, "b-3")]);
        let sessions = |engine: &Engine, identity: &str| {
            let state = engine.identity(identity).expect("held");
            let keys: Vec<String> = state
                .risks
                .sessions()
                .iter()
                .map(|session| session.key.to_string())
                .collect();
            keys
        };
        assert_eq!(sessions(&engine, "alice@example.com"), ["a-1"]);
        let windows = |engine: &Engine| {
            let state = engine.identity("alice@example.com").expect("held");
            state.windows().is_some()
        };
        assert!(windows(&engine), "her typo opened a failure window");
        assert_eq!(sessions(&engine, "bob@example.com"), ["b-2", "b-3"]);
        let newest = engine.watermark;
        engine.shards[0].expire_over(newest);
        // Alice's session is 30 hours idle: over by more than the 12-hour timeout plus
        // the 12 hours a late event may be behind. Bob's 10-hour-old one stays.
        assert!(sessions(&engine, "alice@example.com").is_empty());
        assert!(!windows(&engine), "and a window a day over is dropped");
        assert_eq!(sessions(&engine, "bob@example.com"), ["b-2", "b-3"]);
    }

    #[test]
    fn decisions_do_not_depend_on_the_shard_count() {
        let single = Engine::new(rules(), 1).process(traffic()).decisions;
        assert_eq!(
            single.len(),
            20,
            "one impossible-travel decision per identity"
        );
        for shards in [2, 3, 7] {
            assert_eq!(
                Engine::new(rules(), shards).process(traffic()).decisions,
                single,
                "{shards} shards"
            );
        }
        let times: Vec<Timestamp> = single.iter().map(|decision| decision.time).collect();
        assert!(
            times.windows(2).all(|pair| pair[0] <= pair[1]),
            "decisions come in event-time order"
        );
    }

    #[test]
    fn posture_events_go_to_the_devices_owner() {
        let mut engine = Engine::new(rules(), 2);
        let owned = login("alice@example.com", 0, 52.52, 13.4, "85.214.1.1", 1);
        let mut posture = Event::new(
            Timestamp::from_secs(1_772_409_600 + 600),
            None,
            Detail::Posture(PostureDetail {
                compliant: false,
                checks: Default::default(),
            }),
        );
        posture.device_id = Some("device-alice@example.com".into());
        let orphan_event = {
            let mut orphan = posture.clone();
            orphan.device_id = Some("device-nobody".into());
            orphan
        };
        let envelope = |event: Event, line| Envelope {
            event: Box::new(event),
            origin: Origin::File {
                file: "test".into(),
                line,
            },
            tags: IpTags::default(),
        };
        // A failed sign-in on alice's device by someone else claims nothing.
        let mut claim = login("mallory@example.com", 5, 52.52, 13.4, "85.214.1.1", 4);
        claim.event.device_id = Some("device-alice@example.com".into());
        if let Detail::Auth(auth) = &mut claim.event.detail {
            auth.outcome = Outcome::Failure;
        }
        let output = engine.process(vec![
            owned,
            claim,
            envelope(posture, 2),
            envelope(orphan_event, 3),
        ]);
        assert_eq!(output.stats.judged, 3);
        assert_eq!(output.stats.unowned, 1);
        assert_eq!(
            engine
                .device_owners
                .owner(fingerprint("device-alice@example.com")),
            Some("alice@example.com")
        );
        assert!(engine.identity("alice@example.com").is_some());
    }

    /// A failed sign-in of a made-up name, `second` seconds into the run.
    fn failure(identity: &str, second: i64) -> Envelope {
        let mut envelope = login(identity, 0, 52.52, 13.4, "203.0.113.9", second as u64);
        envelope.event.time = Timestamp::from_secs(1_772_409_600 + second);
        envelope.event.device_id = None;
        if let Detail::Auth(auth) = &mut envelope.event.detail {
            auth.outcome = Outcome::Failure;
        }
        envelope
    }

    #[test]
    fn without_a_store_made_up_names_leave_and_memory_stays_bounded() {
        let mut engine = Engine::new(rules(), 2).with_limits(MemoryLimits {
            max_identities: 50_000,
            ..MemoryLimits::default()
        });
        // Alice signs in once; then four hours of credential stuffing, a made-up name a
        // tenth of a second (144,000 names).
        engine.process(vec![login(
            "alice@example.com",
            0,
            52.52,
            13.4,
            "85.214.1.1",
            1,
        )]);
        let mut peak = 0;
        for batch in 0..144 {
            let events = (0..1_000)
                .map(|index| {
                    let n = batch * 1_000 + index;
                    failure(&format!("made-up-{n}@example.com"), n / 10)
                })
                .collect();
            engine.process(events);
            peak = peak.max(engine.identities());
        }
        // An hour of made-up names is 36,000; they leave once idle an hour.
        assert!(peak <= 50_000, "{peak}");
        assert!(
            engine.evictions().expired >= 50_000,
            "{:?}",
            engine.evictions()
        );
        // Alice learned something: four hours idle, she is still there.
        assert!(engine.identity("alice@example.com").is_some());
        assert_eq!(engine.evictions().lost, 0);
    }

    #[test]
    fn without_a_store_the_bound_holds_and_what_it_costs_is_counted() {
        let mut engine = Engine::new(rules(), 2).with_limits(MemoryLimits {
            max_identities: 1_000,
            ..MemoryLimits::default()
        });
        for batch in 0..70 {
            let events = (0..1_000)
                .map(|index| {
                    let n = batch * 1_000 + index;
                    login(
                        &format!("user-{n}@example.com"),
                        n / 100,
                        52.52,
                        13.4,
                        "85.214.1.1",
                        n as u64,
                    )
                })
                .collect();
            engine.process(events);
        }
        assert!(engine.identities() <= 1_000, "{}", engine.identities());
        assert!(
            engine.evictions().lost >= 69_000,
            "{:?}",
            engine.evictions()
        );
        // The most recent stayed.
        assert!(engine.identity("user-69999@example.com").is_some());
    }
}
