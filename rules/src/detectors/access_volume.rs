//! `access_volume`: far more requests or bytes in one interval than this identity's
//! baseline for the resource class.
//!
//! Per identity and resource class (configured prefixes, else `other`), requests and bytes
//! are counted per `bucket` (an hour). When a bucket closes it is learned into moving
//! averages (EWMA mean and variance, weight `alpha`) of requests and of log bytes, unless
//! it fired or carried events of a tainted session: an attacker cannot teach vigil that
//! the exfiltration is normal. A new identity starts from a modest prior.
//!
//! An open bucket fires once, on the event that takes it past both a minimum volume and a
//! tail probability under the baseline: requests under a negative binomial with the
//! learned mean and variance (over-dispersed, since people work in bursts), bytes under a
//! log-normal. So the decision comes on the download that crosses the line, mid-session.
//!
//! Judged against the person, not a fixed floor: requests are also counted in ten-minute
//! slots (a sixth of `bucket`) over the last two buckets, and the sliding windows of one
//! and two buckets ending at each request are judged against the baseline scaled to
//! their length (a negative binomial of mean k·μ and variance k·σ²). A window fires when
//! it is as improbable as `tail_probability` and holds at least `min_window_requests`
//! (20: no one's ordinary hour is judged) and `window_ratio` (5) times what the baseline
//! expects in it: a person who makes two requests an hour is flagged at the twentieth
//! document pulled within the hour, or over two hours at many times their rate, and a
//! burst that straddles the clock hour is one burst. The windows are judged once the
//! identity has `window_min_days` days of requests; a closed bucket is learned only once
//! the next one closes quiet.
//!
//! Usual bursts are usual where they go: when `usual_burst_days` of the last 30 held a
//! burst (an analyst's weekly reports), requests to where those bursts went (the host and
//! first path segment of the request that made each burst, the last two kept) are left
//! out of the windows, of the hour judged and of the baseline learned, which stays the
//! ordinary hour. The analyst's reports pass; dozens of documents pulled from the drive
//! or the payroll folder in an hour are judged against her ordinary hours.
//!
//! Classic false positive: a person whose work is bulk (a data engineer's nightly pulls, a
//! build bot) has learned a high baseline and is not flagged; and a quiet person's busy
//! hour stays below the minimum volume, however improbable it is for them.

use crate::check::{is_score, Invalid};
use crate::duration::Duration;
use serde::Deserialize;
use serde_json::json;
use statrs::distribution::{ContinuousCDF, DiscreteCDF, NegativeBinomial, Normal};
use vigil_schemas::{Detector, Envelope, Signal};

/// Most resource classes with a baseline per identity.
pub const MAX_CLASSES: usize = 4;

/// The class of resources matching no configured prefix.
const OTHER: u16 = u16::MAX;

/// Prior of a new identity: 10 requests an hour, variance 100; 2 MB an hour, log-sd 2.
const PRIOR_REQUESTS: f32 = 10.0;
const PRIOR_REQUESTS_VARIANCE: f32 = 100.0;
const PRIOR_LOG_BYTES: f32 = 14.5;
const PRIOR_LOG_BYTES_VARIANCE: f32 = 4.0;

/// One class's baseline and its open bucket.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct ClassBaseline {
    class: u16,
    /// Bucket index (hours since 1970 with the default bucket; years 1-9999 fit).
    bucket: i32,
    requests: u32,
    bytes: u64,
    fired: bool,
    tainted: bool,
    learned: u16,
    /// The open bucket's firing thresholds, computed once per bucket when its volume first
    /// passes a minimum (0: not yet): requests, and bytes.
    request_limit: u32,
    byte_limit: f32,
    mean_requests: f32,
    variance_requests: f32,
    mean_log_bytes: f32,
    variance_log_bytes: f32,
}

impl ClassBaseline {
    fn new(class: u16, bucket: i32) -> ClassBaseline {
        ClassBaseline {
            class,
            bucket,
            requests: 0,
            bytes: 0,
            fired: false,
            tainted: false,
            learned: 0,
            request_limit: 0,
            byte_limit: 0.0,
            mean_requests: PRIOR_REQUESTS,
            variance_requests: PRIOR_REQUESTS_VARIANCE,
            mean_log_bytes: PRIOR_LOG_BYTES,
            variance_log_bytes: PRIOR_LOG_BYTES_VARIANCE,
        }
    }

    /// Folds a closed bucket's counts into the averages (the prior weighs as one bucket).
    fn learn(&mut self, held: Held, alpha: f64) {
        let weight = alpha.max(1.0 / (f64::from(self.learned) + 2.0)) as f32;
        let update = |mean: &mut f32, variance: &mut f32, value: f32| {
            let delta = value - *mean;
            *mean += weight * delta;
            *variance = (1.0 - weight) * (*variance + weight * delta * delta);
        };
        update(
            &mut self.mean_requests,
            &mut self.variance_requests,
            held.requests as f32,
        );
        update(
            &mut self.mean_log_bytes,
            &mut self.variance_log_bytes,
            (held.bytes as f32).ln_1p(),
        );
        self.learned = self.learned.saturating_add(1);
    }

    /// P(requests >= `requests`) under a negative binomial with the learned mean and
    /// variance (variance at least twice the mean).
    fn requests_tail(&self, requests: u32) -> f64 {
        self.window_tail(requests, 1.0)
    }

    /// P(requests >= `requests` in a window of `buckets` buckets) under the baseline
    /// scaled to the window's length.
    fn window_tail(&self, requests: u32, buckets: f64) -> f64 {
        let mean = f64::from(self.mean_requests).max(1.0) * buckets;
        let variance =
            (f64::from(self.variance_requests).max(2.0 * mean / buckets) * buckets).max(2.0 * mean);
        let r = mean * mean / (variance - mean);
        let p = r / (r + mean);
        match NegativeBinomial::new(r, p) {
            Ok(distribution) if r.is_finite() && r > 0.0 && p > 0.0 && p < 1.0 => {
                distribution.sf(u64::from(requests.saturating_sub(1)))
            }
            _ => 1.0,
        }
    }

    /// The log-normal of bytes per bucket (standard deviation at least 0.5).
    fn bytes_distribution(&self) -> Option<Normal> {
        let sd = f64::from(self.variance_log_bytes).sqrt().max(0.5);
        Normal::new(f64::from(self.mean_log_bytes), sd).ok()
    }

    /// P(bytes >= observed) under the log-normal.
    fn bytes_tail(&self) -> f64 {
        self.bytes_distribution()
            .map_or(1.0, |normal| normal.sf((self.bytes as f64).ln_1p()))
    }

    /// Fixes the open bucket's thresholds: the fewest requests (from `min_requests`) and
    /// bytes (from `min_bytes`) whose tail probability is below `tail`. Computed once per
    /// bucket, so a bulk worker's busy hour costs two integer comparisons per request.
    fn set_limits(&mut self, config: &AccessVolumeConfig) {
        let tail = config.tail_probability;
        let rare = |requests: u32| self.requests_tail(requests) < tail;
        let mut low = config.min_requests.max(1);
        self.request_limit = if rare(low) {
            low
        } else {
            let mut high = low.saturating_mul(2).max(2);
            while !rare(high) && high < u32::MAX / 2 {
                low = high;
                high = high.saturating_mul(2);
            }
            if rare(high) {
                // Smallest rare count in (low, high].
                while high - low > 1 {
                    let middle = low + (high - low) / 2;
                    if rare(middle) {
                        high = middle;
                    } else {
                        low = middle;
                    }
                }
                high
            } else {
                u32::MAX
            }
        };
        let byte_limit = self.bytes_distribution().map_or(f64::INFINITY, |normal| {
            (normal.inverse_cdf(1.0 - tail)).exp_m1()
        });
        self.byte_limit = byte_limit.max(config.min_bytes as f64).max(1.0) as f32;
    }
}

/// Slots per window pair: two buckets of six slots.
const SLOTS: usize = 12;
/// Slots per bucket.
const SLOTS_PER_BUCKET: i64 = 6;

/// A closed bucket's counts, waiting to be learned.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
struct Held {
    requests: u32,
    bytes: u64,
}

/// One class's requests per slot over the last two buckets.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(from = "StoredClass", into = "StoredClass")]
struct RecentClass {
    class: u16,
    /// The newest slot counted (slots since 1970).
    last: i32,
    /// Requests per slot: `counts[i]` is slot `last - i`.
    counts: [u16; SLOTS],
    /// Of those, the requests to a burst target of an identity whose bursts are routine
    /// (its usual burst going where it usually goes); allocated when there is one (few
    /// identities have routine bursts) and dropped when they have aged out.
    usual: Option<Box<[u16; SLOTS]>>,
    /// Where this identity's bursts went, newest first: the [`target`] of the request that
    /// made each burst day a burst (0: none yet).
    burst_targets: [u32; BURST_TARGETS],
    /// The last closed bucket, learned only once the next one closes quiet: the first
    /// hour of a two-hour exfiltration is not learned before the two-hour window judges
    /// it. Its requests (0: none held; a held bucket has some) and bytes, as two fields
    /// rather than an option of a pair: 16 bytes less a class.
    held_requests: u32,
    held_bytes: u64,
    /// The newest day with a request (days since 1970).
    day: i32,
    /// Days with requests, up to 255: the windows are judged from `window_min_days`.
    active_days: u8,
    /// Bit `i`: day `day - i` held a burst (a one-bucket window of `min_window_requests`).
    burst_days: u32,
    /// The slot a window last fired in: one burst, one signal, whichever window shows it.
    fired: i32,
}

/// [`RecentClass`] as stored: the held bucket as an option.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct StoredClass {
    class: u16,
    last: i32,
    counts: [u16; SLOTS],
    usual: [u16; SLOTS],
    burst_targets: [u32; BURST_TARGETS],
    held: Option<Held>,
    day: i32,
    active_days: u8,
    burst_days: u32,
    fired: i32,
}

impl From<StoredClass> for RecentClass {
    fn from(stored: StoredClass) -> RecentClass {
        let held = stored.held.filter(|held| held.requests > 0);
        RecentClass {
            class: stored.class,
            last: stored.last,
            counts: stored.counts,
            usual: (stored.usual != [0; SLOTS]).then(|| Box::new(stored.usual)),
            burst_targets: stored.burst_targets,
            held_requests: held.map_or(0, |held| held.requests),
            held_bytes: held.map_or(0, |held| held.bytes),
            day: stored.day,
            active_days: stored.active_days,
            burst_days: stored.burst_days,
            fired: stored.fired,
        }
    }
}

impl From<RecentClass> for StoredClass {
    fn from(class: RecentClass) -> StoredClass {
        StoredClass {
            held: class.held(),
            class: class.class,
            last: class.last,
            counts: class.counts,
            usual: class.usual.map_or([0; SLOTS], |usual| *usual),
            burst_targets: class.burst_targets,
            day: class.day,
            active_days: class.active_days,
            burst_days: class.burst_days,
            fired: class.fired,
        }
    }
}

impl RecentClass {
    /// The held bucket, if any.
    fn held(&self) -> Option<Held> {
        (self.held_requests > 0).then_some(Held {
            requests: self.held_requests,
            bytes: self.held_bytes,
        })
    }

    /// Holds `closed` (or nothing) in place of the held bucket, which it returns.
    fn hold(&mut self, closed: Option<Held>) -> Option<Held> {
        let held = self.held();
        self.held_requests = closed.map_or(0, |closed| closed.requests);
        self.held_bytes = closed.map_or(0, |closed| closed.bytes);
        held
    }

    /// Moves on to `day` (days since 1970) when it is newer than the last day seen.
    fn roll_day(&mut self, day: i32) {
        if day > self.day {
            let shift = (i64::from(day) - i64::from(self.day)).min(32) as u32;
            self.burst_days = self.burst_days.checked_shl(shift).unwrap_or(0);
            self.day = day;
            self.active_days = self.active_days.saturating_add(1);
        }
    }

    /// Notes a request to `target` on `day` with the one-bucket window now at `hour`, and
    /// the floor that makes a burst: the request that makes a day's burst names where
    /// bursts go.
    fn note_burst(&mut self, day: i32, hour: u32, burst_floor: u32, target: u32) {
        if day == self.day && hour >= burst_floor && self.burst_days & 1 == 0 {
            self.burst_days |= 1;
            let kept = self
                .burst_targets
                .iter()
                .position(|known| *known == target)
                .unwrap_or(BURST_TARGETS - 1);
            self.burst_targets[..=kept].rotate_right(1);
            self.burst_targets[0] = target;
        }
    }

    /// Whether a request to `target` is part of this identity's usual bursts: its bursts
    /// are routine (`usual_burst_days` earlier days held one) and have gone there.
    fn usual_target(&self, target: u32, usual_burst_days: u32) -> bool {
        self.earlier_bursts() >= usual_burst_days && self.burst_targets.contains(&target)
    }

    /// Days before today, within the last 30, that held a burst.
    fn earlier_bursts(&self) -> u32 {
        (self.burst_days & 0x7fff_fffe).count_ones()
    }
}

impl RecentClass {
    /// Counts a request in `slot` (`usual`: to a usual burst target); false when it is
    /// older than the slots kept.
    fn count(&mut self, slot: i32, usual: bool) -> bool {
        if slot > self.last {
            let shift = (i64::from(slot) - i64::from(self.last)).min(SLOTS as i64) as usize;
            self.counts.rotate_right(shift);
            self.counts[..shift].fill(0);
            if let Some(counts) = self.usual.as_deref_mut() {
                counts.rotate_right(shift);
                counts[..shift].fill(0);
                if *counts == [0; SLOTS] {
                    self.usual = None;
                }
            }
            self.last = slot;
        }
        let age = i64::from(self.last) - i64::from(slot);
        match usize::try_from(age) {
            Ok(age) if age < SLOTS => {
                self.counts[age] = self.counts[age].saturating_add(1);
                if usual {
                    let counts = self.usual.get_or_insert_with(|| Box::new([0; SLOTS]));
                    counts[age] = counts[age].saturating_add(1);
                }
                true
            }
            _ => false,
        }
    }

    /// Requests in the newest `slots` slots.
    fn within(&self, slots: usize) -> u32 {
        sum(&self.counts[..slots.min(SLOTS)])
    }

    /// Requests in the newest `slots` slots that were not part of a usual burst.
    fn unusual_within(&self, slots: usize) -> u32 {
        let usual = self
            .usual
            .as_deref()
            .map_or(0, |usual| sum(&usual[..slots.min(SLOTS)]));
        self.within(slots) - usual
    }

    /// Requests of `bucket` that were part of a usual burst (as far as the slots reach).
    fn usual_in(&self, bucket: i32) -> u32 {
        let Some(usual) = self.usual.as_deref() else {
            return 0;
        };
        let first = i64::from(bucket) * SLOTS_PER_BUCKET;
        (first..first + SLOTS_PER_BUCKET)
            .filter_map(|slot| usize::try_from(i64::from(self.last) - slot).ok())
            .filter(|age| *age < SLOTS)
            .map(|age| u32::from(usual[age]))
            .sum()
    }
}

fn sum(counts: &[u16]) -> u32 {
    counts.iter().map(|count| u32::from(*count)).sum()
}

/// Burst targets kept per identity and class: an analyst's reports, and one more.
const BURST_TARGETS: usize = 2;

/// Where a request goes, as far as bursts are concerned: the fingerprint of the resource's
/// host and first path segment (`finance.example.com/reports`), so the documents of one
/// report folder are one target; never 0.
fn target(resource: &str) -> u32 {
    let rest = resource
        .split_once("://")
        .map_or(resource, |(_, rest)| rest);
    let end = rest
        .match_indices('/')
        .nth(1)
        .map_or(rest.len(), |(index, _)| index);
    crate::hash::fingerprint(&rest[..end]) as u32 | 1
}

/// One identity's recent requests per class, for the sliding windows (kept beside the
/// baselines: added in state format 4).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct RecentAccess {
    classes: crate::slim::SlimVec<RecentClass>,
}

impl RecentAccess {
    fn class(&mut self, class: u16, slot: i32) -> &mut RecentClass {
        let index = match self.classes.iter().position(|entry| entry.class == class) {
            Some(index) => index,
            None => {
                if self.classes.len() >= MAX_CLASSES {
                    let stalest = (0..self.classes.len())
                        .min_by_key(|&index| self.classes[index].last)
                        .unwrap_or(0);
                    self.classes.swap_remove(stalest);
                }
                self.classes.push(RecentClass {
                    class,
                    last: slot,
                    counts: [0; SLOTS],
                    usual: None,
                    burst_targets: [0; BURST_TARGETS],
                    held_requests: 0,
                    held_bytes: 0,
                    day: i32::MIN,
                    active_days: 0,
                    burst_days: 0,
                    fired: i32::MIN,
                });
                self.classes.len() - 1
            }
        };
        &mut self.classes[index]
    }
}

/// One identity's access baselines.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct AccessBaselines {
    classes: crate::slim::SlimVec<ClassBaseline>,
}

impl AccessBaselines {
    /// Whether no access was counted.
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// Buckets learned for a class (`None`: the `other` class).
    pub fn learned(&self, class: Option<u16>) -> u16 {
        let class = class.unwrap_or(OTHER);
        self.classes
            .iter()
            .find(|entry| entry.class == class)
            .map_or(0, |entry| entry.learned)
    }
}

fn classify(resource: &str, config: &AccessVolumeConfig) -> u16 {
    config
        .classes
        .iter()
        .position(|class| {
            class
                .prefixes
                .iter()
                .any(|prefix| resource.starts_with(prefix.as_str()))
        })
        .map_or(OTHER, |index| index.min(usize::from(OTHER - 1)) as u16)
}

/// Counts one access event into its class's bucket and judges the bucket.
/// `session_tainted`: the event's session was already judged risky, so its bucket is not
/// learned.
pub fn detect(
    baselines: &mut AccessBaselines,
    recent: &mut RecentAccess,
    envelope: &Envelope,
    session_tainted: bool,
    config: &AccessVolumeConfig,
) -> Option<Signal> {
    if !config.enabled {
        return None;
    }
    let event = &envelope.event;
    let access = event.access()?;
    let class = classify(&access.resource, config);
    let bucket_micros = config.bucket.as_micros().max(SLOTS_PER_BUCKET);
    let bucket = event
        .time
        .0
        .div_euclid(bucket_micros)
        .clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
    let slot = event
        .time
        .0
        .div_euclid(bucket_micros / SLOTS_PER_BUCKET)
        .clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
    let day = event
        .time
        .0
        .div_euclid(86_400_000_000)
        .clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
    let recent = recent.class(class, slot);
    recent.roll_day(day);
    let target = target(&access.resource);
    let usual = recent.usual_target(target, config.usual_burst_days);
    let index = match baselines
        .classes
        .iter()
        .position(|entry| entry.class == class)
    {
        Some(index) => index,
        None => {
            if baselines.classes.len() >= MAX_CLASSES {
                let stalest = (0..baselines.classes.len())
                    .min_by_key(|&index| baselines.classes[index].bucket)
                    .unwrap_or(0);
                baselines.classes.swap_remove(stalest);
            }
            baselines.classes.push(ClassBaseline::new(class, bucket));
            baselines.classes.len() - 1
        }
    };
    let entry = &mut baselines.classes[index];
    // What a routine burst added to the bucket about to close: not the ordinary hour.
    let closing_usual = if bucket > entry.bucket {
        recent.usual_in(entry.bucket)
    } else {
        0
    };
    let counted = recent.count(slot, usual);
    let hour = recent.within(SLOTS_PER_BUCKET as usize);
    recent.note_burst(day, hour, config.min_window_requests, target);
    if bucket > entry.bucket {
        // The bucket before the closing one is learned now, unless the closing one fired
        // (the two may hold one exfiltration); the closing one waits its turn. Requests
        // of a usual burst are left out: the baseline is the ordinary hour.
        let requests = entry.requests.saturating_sub(closing_usual);
        let closed = (requests > 0 && !entry.fired && !entry.tainted).then_some(Held {
            requests,
            bytes: entry.bytes,
        });
        if let Some(held) = recent.hold(closed) {
            if !entry.fired {
                entry.learn(held, config.alpha);
            }
        }
        entry.bucket = bucket;
        entry.requests = 0;
        entry.bytes = 0;
        entry.fired = false;
        entry.tainted = false;
        entry.request_limit = 0;
        entry.byte_limit = 0.0;
    } else if bucket < entry.bucket {
        // A late event of a closed bucket: neither learned nor judged.
        return None;
    }
    entry.requests = entry.requests.saturating_add(1);
    entry.bytes = entry.bytes.saturating_add(access.bytes.unwrap_or(0));
    entry.tainted |= session_tainted;
    if entry.fired || entry.learned < config.min_buckets {
        return None;
    }
    if counted {
        if let Some(signal) = sliding(entry, &mut *recent, config) {
            return Some(signal);
        }
    }
    // The hour's requests outside a usual burst.
    let requests = entry.requests.saturating_sub(recent.usual_in(bucket));
    // Below the minimum volumes nothing is computed: most events stop here.
    if requests < config.min_requests && entry.bytes < config.min_bytes {
        return None;
    }
    if entry.request_limit == 0 {
        entry.set_limits(config);
    }
    if requests < entry.request_limit && (entry.bytes as f32) < entry.byte_limit {
        return None;
    }
    let requests_tail = if requests >= config.min_requests {
        entry.requests_tail(requests)
    } else {
        1.0
    };
    let bytes_tail = if entry.bytes >= config.min_bytes {
        entry.bytes_tail()
    } else {
        1.0
    };
    let tail = requests_tail.min(bytes_tail);
    // The thresholds are exact up to rounding; NaN (never expected) counts as not rare.
    if tail.is_nan() || tail >= config.tail_probability {
        return None;
    }
    entry.fired = true;
    // Each further factor of ten past the threshold adds a sixth of the way to max_score.
    let rarity =
        ((config.tail_probability / tail.max(f64::MIN_POSITIVE)).log10() / 6.0).clamp(0.0, 1.0);
    let score = config.score + (config.max_score - config.score) * rarity;
    let class_name = config
        .classes
        .get(usize::from(class))
        .map_or("other", |class| class.name.as_str());
    let megabytes = entry.bytes as f64 / 1_048_576.0;
    Some(Signal {
        detector: Detector::AccessVolume,
        score,
        confidence: 0.85,
        detail: format!(
            "{requests} requests and {megabytes:.0} MB to {class_name} resources within {}; baseline {:.0} requests and {:.1} MB (tail probability {tail:.1e})",
            config.bucket,
            entry.mean_requests,
            f64::from(entry.mean_log_bytes).exp() / 1_048_576.0,
        ),
        evidence: json!({
            "class": class_name,
            "requests": requests,
            "bytes": entry.bytes,
            "baseline_requests": entry.mean_requests,
            "baseline_log_bytes": entry.mean_log_bytes,
            "buckets_learned": entry.learned,
            "tail_probability": tail,
        }),
    })
}

/// Judges the sliding windows of one and two buckets ending at the newest slot; fires at
/// most once per bucket (the bucket's `fired`).
fn sliding(
    entry: &mut ClassBaseline,
    recent: &mut RecentClass,
    config: &AccessVolumeConfig,
) -> Option<Signal> {
    // Too new to know its days, or this burst was signalled already.
    if u32::from(recent.active_days) < config.window_min_days
        || i64::from(recent.last) - i64::from(recent.fired) < SLOTS as i64
    {
        return None;
    }
    for buckets in [1usize, 2] {
        // A usual burst (an analyst's reports, where they always go) is not judged; what
        // else the window holds is.
        let requests = recent.unusual_within(buckets * SLOTS_PER_BUCKET as usize);
        let expected = f64::from(entry.mean_requests).max(1.0) * buckets as f64;
        let floor = f64::from(config.min_window_requests).max(config.window_ratio * expected);
        if f64::from(requests) < floor {
            continue;
        }
        let tail = entry.window_tail(requests, buckets as f64);
        if tail.is_nan() || tail >= config.tail_probability {
            continue;
        }
        entry.fired = true;
        recent.fired = recent.last;
        let rarity =
            ((config.tail_probability / tail.max(f64::MIN_POSITIVE)).log10() / 6.0).clamp(0.0, 1.0);
        let score = config.score + (config.max_score - config.score) * rarity;
        let class_name = config
            .classes
            .get(usize::from(entry.class))
            .map_or("other", |class| class.name.as_str());
        let window = crate::duration::Duration(config.bucket.0.saturating_mul(buckets as i64));
        return Some(Signal {
            detector: Detector::AccessVolume,
            score,
            confidence: 0.85,
            detail: format!(
                "{requests} requests to {class_name} resources within the last {window}; baseline {:.1} per {} ({:.0}x; tail probability {tail:.1e})",
                entry.mean_requests,
                config.bucket,
                f64::from(requests) / expected,
            ),
            evidence: json!({
                "class": class_name,
                "requests": requests,
                "window_s": window.0,
                "baseline_requests": entry.mean_requests,
                "buckets_learned": entry.learned,
                "tail_probability": tail,
            }),
        });
    }
    None
}

/// Prefixes that make one resource class of the access-volume baselines.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceClass {
    /// The class's name, used in explanations.
    pub name: String,
    /// Resources starting with any of these belong to the class.
    pub prefixes: Vec<String>,
}

/// The access-volume detector: per identity and resource class, requests and bytes per
/// `bucket` learned as exponentially weighted mean and variance; a bucket far in the
/// tail fires.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessVolumeConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// The counting interval.
    pub bucket: Duration,
    /// Weight of the newest bucket in the moving averages (0.05: about the last 20 active
    /// buckets dominate).
    pub alpha: f64,
    /// A bucket this improbable under the identity's baseline fires (1e-4: one hour in
    /// ten thousand, about once in five years of working hours).
    pub tail_probability: f64,
    /// Requests in a bucket below which the count never fires, however unusual.
    pub min_requests: u32,
    /// Bytes in a bucket below which the volume never fires, however unusual.
    pub min_bytes: u64,
    /// Buckets with activity learned before the class is judged: a new identity's first
    /// busy day is its baseline, not an anomaly.
    pub min_buckets: u16,
    /// Requests in a sliding window (one or two buckets) below which it never fires: no
    /// one's ordinary busy hour is judged.
    pub min_window_requests: u32,
    /// A sliding window fires only past this many times what the baseline expects in it:
    /// the floor scales with the person.
    pub window_ratio: f64,
    /// Days with requests before the sliding windows are judged (10: two working weeks
    /// show whether bursts are someone's routine).
    pub window_min_days: u32,
    /// Earlier days (of the last 30) with a burst that make bursts to the same place this
    /// person's routine, left out of what is judged (2: an analyst's weekly reports, not a
    /// one-off).
    pub usual_burst_days: u32,
    /// Score at the tail probability; rarer buckets score higher, up to `max_score`.
    pub score: f64,
    /// Highest score.
    pub max_score: f64,
    /// Resource classes with their own baselines; resources matching none share the
    /// class `other`.
    pub classes: Vec<ResourceClass>,
}

impl Default for AccessVolumeConfig {
    fn default() -> Self {
        AccessVolumeConfig {
            enabled: true,
            bucket: Duration::hours(1),
            alpha: 0.05,
            tail_probability: 1e-4,
            min_requests: 60,
            min_bytes: 200 * 1024 * 1024,
            min_buckets: 8,
            min_window_requests: 20,
            window_ratio: 5.0,
            window_min_days: 10,
            usual_burst_days: 2,
            score: 75.0,
            max_score: 95.0,
            classes: Vec::new(),
        }
    }
}

impl AccessVolumeConfig {
    /// Checks the values serde cannot; `classes` is bounded by the baselines each
    /// identity keeps ([`MAX_CLASSES`], one of them `other`).
    pub fn validate(&self) -> Result<(), Invalid> {
        crate::check::first([
            (
                self.tail_probability.is_finite()
                    && self.tail_probability > 0.0
                    && self.tail_probability < 0.5,
                "tail_probability",
                "must be a number above 0 and below 0.5".to_string(),
            ),
            (
                self.alpha.is_finite() && self.alpha > 0.0 && self.alpha <= 1.0,
                "alpha",
                "must be a number above 0, at most 1".to_string(),
            ),
            (
                self.classes.len() < MAX_CLASSES,
                "classes",
                format!(
                    "must list at most {} classes (with `other`, {MAX_CLASSES} baselines per identity)",
                    MAX_CLASSES - 1
                ),
            ),
            (
                self.bucket.0 > 0,
                "bucket",
                "must be longer than zero".to_string(),
            ),
            (
                self.window_ratio.is_finite() && self.window_ratio >= 1.0,
                "window_ratio",
                "must be a number of at least 1".to_string(),
            ),
            (
                is_score(self.score) && is_score(self.max_score) && self.score <= self.max_score,
                "",
                "score and max_score must be numbers from 0 to 100, score <= max_score"
                    .to_string(),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_schemas::{AccessDetail, Detail, Event, Timestamp};

    #[test]
    fn a_held_bucket_is_stored_as_an_option() {
        let mut recent = RecentAccess::default();
        let class = recent.class(2, 1_000);
        assert_eq!(
            class.hold(Some(Held {
                requests: 7,
                bytes: 9_000
            })),
            None
        );
        let stored = serde_json::to_value(&recent).unwrap();
        assert_eq!(
            stored["classes"][0]["held"],
            serde_json::json!({ "requests": 7, "bytes": 9_000 })
        );
        let back: RecentAccess = serde_json::from_value(stored).unwrap();
        assert_eq!(back, recent);
        let class = recent.class(2, 1_000);
        assert_eq!(
            class.hold(None),
            Some(Held {
                requests: 7,
                bytes: 9_000
            })
        );
        let stored = serde_json::to_value(&recent).unwrap();
        assert_eq!(stored["classes"][0]["held"], serde_json::Value::Null);
    }

    #[test]
    fn usual_burst_counts_are_held_only_while_there_are_any() {
        let mut recent = RecentAccess::default();
        let class = recent.class(0, 1_000);
        assert!(class.count(1_000, false) && class.usual.is_none());
        assert!(class.count(999, true) && class.count(1_000, true));
        assert_eq!((class.unusual_within(2), class.usual_in(166)), (1, 2));
        let stored = serde_json::to_value(&recent).unwrap();
        assert_eq!(
            (
                &stored["classes"][0]["usual"][0],
                &stored["classes"][0]["usual"][1]
            ),
            (&serde_json::json!(1), &serde_json::json!(1))
        );
        let back: RecentAccess = serde_json::from_value(stored).unwrap();
        assert_eq!(back, recent);
        // Twelve slots later both have aged out, and so has the box.
        let class = recent.class(0, 1_000);
        assert!(class.count(1_011, false) && class.usual.is_some());
        assert!(class.count(1_012, false) && class.usual.is_none());
        let stored = serde_json::to_value(&recent).unwrap();
        assert_eq!(
            stored["classes"][0]["usual"],
            serde_json::to_value([0u16; SLOTS]).unwrap()
        );
    }

    const DAY0: i64 = 1_772_409_600;

    fn access(seconds: i64, resource: &str, bytes: u64) -> Envelope {
        let event = Event::new(
            Timestamp::from_secs(DAY0 + seconds),
            Some("alice@example.com"),
            Detail::Access(AccessDetail {
                resource: resource.into(),
                action: Some("GET".into()),
                bytes: Some(bytes),
                status: Some(200),
                tool: None,
                on_behalf_of: None,
            }),
        );
        crate::testing::envelope(event)
    }

    /// One identity's baselines and recent requests.
    #[derive(Default)]
    struct Person {
        baselines: AccessBaselines,
        recent: RecentAccess,
    }

    impl Person {
        fn request(
            &mut self,
            seconds: i64,
            bytes: u64,
            config: &AccessVolumeConfig,
        ) -> Option<Signal> {
            self.request_to(seconds, "https://drive.example.com/f", bytes, config)
        }

        fn request_to(
            &mut self,
            seconds: i64,
            resource: &str,
            bytes: u64,
            config: &AccessVolumeConfig,
        ) -> Option<Signal> {
            detect(
                &mut self.baselines,
                &mut self.recent,
                &access(seconds, resource, bytes),
                false,
                config,
            )
        }
    }

    /// Twenty working days, `per_hour` requests of `bytes` in each of eight hours (the
    /// first day is learned, never judged: fewer than `min_buckets` buckets).
    fn trained(per_hour: i64, bytes: u64, config: &AccessVolumeConfig) -> Person {
        let mut person = Person::default();
        for day in 0..20 {
            for hour in 8..16 {
                for request in 0..per_hour {
                    let at = day * 86_400 + hour * 3600 + request * (3000 / per_hour.max(1));
                    let signal = person.request(at, bytes, config);
                    assert_eq!(signal, None, "day {day} hour {hour}");
                }
            }
        }
        person
    }

    /// `requests` of `bytes` every `spacing` seconds from `start` seconds into day 25.
    fn burst_at(
        person: &mut Person,
        start: i64,
        spacing: i64,
        requests: i64,
        bytes: u64,
        config: &AccessVolumeConfig,
    ) -> Vec<(i64, Signal)> {
        (0..requests)
            .filter_map(|request| {
                person
                    .request(25 * 86_400 + start + request * spacing, bytes, config)
                    .map(|signal| (request, signal))
            })
            .collect()
    }

    fn burst(
        person: &mut Person,
        requests: i64,
        bytes: u64,
        config: &AccessVolumeConfig,
    ) -> Vec<(i64, Signal)> {
        burst_at(person, 10 * 3600, 10, requests, bytes, config)
    }

    #[test]
    fn an_exfiltration_burst_fires_once_on_the_crossing_request() {
        let config = AccessVolumeConfig::default();
        let mut person = trained(3, 100_000, &config);
        assert!(person.baselines.learned(None) > 100);
        let hits = burst(&mut person, 300, 5_000_000, &config);
        assert_eq!(hits.len(), 1, "{hits:?}");
        let (request, signal) = &hits[0];
        // Twenty requests within the hour, for a person of three an hour.
        assert_eq!(*request, 19, "{}", signal.detail);
        assert!(
            signal.score >= 75.0 && signal.score <= 95.0,
            "{}",
            signal.score
        );
        assert!(
            signal.detail.contains("other resources"),
            "{}",
            signal.detail
        );
    }

    #[test]
    fn a_bulk_download_past_the_fixed_floors_fires_for_a_busy_person_too() {
        let config = AccessVolumeConfig::default();
        let mut person = trained(10, 100_000, &config);
        let hits = burst(&mut person, 300, 5_000_000, &config);
        assert_eq!(hits.len(), 1, "{hits:?}");
        // Sixty requests (six times ten an hour) and 200 MB both come at the 60th-ish.
        assert!((40..=60).contains(&hits[0].0), "{hits:?}");
    }

    #[test]
    fn false_positive_a_bulk_worker_has_learned_a_high_baseline() {
        let config = AccessVolumeConfig::default();
        let mut person = trained(120, 3_000_000, &config);
        assert!(burst(&mut person, 150, 3_000_000, &config).is_empty());
    }

    #[test]
    fn false_positive_a_busy_hour_below_the_window_floor_is_quiet() {
        let config = AccessVolumeConfig::default();
        let mut person = trained(1, 20_000, &config);
        // Fifteen requests within the hour: unusual for this person, still an ordinary hour.
        assert!(burst_at(&mut person, 10 * 3600, 200, 15, 1_000_000, &config).is_empty());
    }

    #[test]
    fn a_quiet_person_pulling_dozens_of_documents_within_the_hour_is_flagged() {
        let config = AccessVolumeConfig::default();
        let mut person = trained(2, 200_000, &config);
        // Forty documents of 1 MB, one a minute: 40 MB, below any fixed floor.
        let hits = burst_at(&mut person, 10 * 3600, 60, 40, 1_000_000, &config);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].0, 19, "the twentieth: {}", hits[0].1.detail);
        assert!(
            hits[0].1.detail.contains("within the last 1h"),
            "{}",
            hits[0].1.detail
        );
    }

    #[test]
    fn a_burst_straddling_the_clock_hour_is_one_burst() {
        let config = AccessVolumeConfig::default();
        let mut person = trained(2, 200_000, &config);
        // Twelve before 11:00 and twelve after: no clock hour holds twenty.
        let hits = burst_at(&mut person, 10 * 3600 + 55 * 60, 25, 24, 1_000_000, &config);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].0, 19);
    }

    #[test]
    fn a_sustained_rate_over_two_hours_is_flagged() {
        let config = AccessVolumeConfig::default();
        let mut person = trained(2, 200_000, &config);
        // Eighteen an hour (seven times the usual) for two hours: no hour holds twenty.
        let hits = burst_at(&mut person, 9 * 3600, 200, 36, 1_000_000, &config);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert!(
            hits[0].1.detail.contains("within the last 2h"),
            "{}",
            hits[0].1.detail
        );
        assert!(hits[0].0 >= 19, "{hits:?}");
    }

    #[test]
    fn false_positive_an_analysts_usual_busy_hour_is_quiet() {
        let config = AccessVolumeConfig::default();
        let mut person = Person::default();
        // Two requests an hour, and on two days of five an hour of forty reports.
        for day in 0..20 {
            for hour in 8..16 {
                let busy = day % 5 < 2 && hour == 11;
                let requests = if busy { 40 } else { 2 };
                for request in 0..requests {
                    let at = day * 86_400 + hour * 3600 + request * (3000 / requests);
                    let signal = person.request(at, 1_000_000, &config);
                    // The first busy days teach the baseline; judged from the third on.
                    if day >= 5 {
                        assert_eq!(signal, None, "day {day} hour {hour}");
                    }
                }
            }
        }
        assert!(burst_at(&mut person, 11 * 3600, 75, 40, 1_000_000, &config).is_empty());
    }

    #[test]
    fn an_analyst_pulling_dozens_of_documents_from_elsewhere_is_flagged() {
        let config = AccessVolumeConfig::default();
        let mut person = Person::default();
        // Mail twice an hour, and on two days of five an hour of forty reports.
        for day in 0..20 {
            for hour in 8..16 {
                let busy = day % 5 < 2 && hour == 11;
                for request in 0..2 {
                    let at = day * 86_400 + hour * 3600 + request * 1500;
                    person.request_to(at, "https://mail.example.com/inbox", 20_000, &config);
                }
                for report in 0..if busy { 40 } else { 0 } {
                    let at = day * 86_400 + hour * 3600 + 60 + report * 75;
                    let resource = format!("https://finance.example.com/reports/{report}.xlsx");
                    let signal = person.request_to(at, &resource, 1_000_000, &config);
                    if day >= 5 {
                        assert_eq!(signal, None, "day {day}");
                    }
                }
            }
        }
        // The usual reports are still quiet (a different set of them)...
        for report in 0..45 {
            let at = 21 * 86_400 + 11 * 3600 + report * 70;
            let resource = format!("https://finance.example.com/reports/q{report}.pdf");
            assert_eq!(person.request_to(at, &resource, 1_000_000, &config), None);
        }
        // ...and thirty documents from the drive within the hour are not.
        let hits: Vec<i64> = (0..30)
            .filter(|document| {
                let at = 22 * 86_400 + 14 * 3600 + document * 90;
                let resource = format!("https://drive.example.com/files/{document}");
                person
                    .request_to(at, &resource, 1_000_000, &config)
                    .is_some()
            })
            .collect();
        assert_eq!(hits, [19]);
    }

    #[test]
    fn where_a_request_goes_is_its_host_and_first_segment() {
        let reports = target("https://finance.example.com/reports/q3.xlsx");
        assert_eq!(reports, target("https://finance.example.com/reports"));
        assert_eq!(reports, target("finance.example.com/reports/2026/q4.pdf"));
        assert_ne!(
            reports,
            target("https://finance.example.com/payroll/q3.xlsx")
        );
        assert_ne!(target("s3://bucket/a/b"), target("s3://other/a/b"));
        assert_ne!(target(""), 0);
    }

    #[test]
    fn a_fired_bucket_is_not_learned() {
        let config = AccessVolumeConfig::default();
        let mut person = trained(3, 100_000, &config);
        let learned = person.baselines.learned(None);
        // The burst's first request closes the last training bucket (learned)...
        assert_eq!(burst(&mut person, 300, 5_000_000, &config).len(), 1);
        assert_eq!(person.baselines.learned(None), learned + 1);
        // ...and the next day's first request closes the attack's bucket without learning it.
        person.request(26 * 86_400, 1, &config);
        assert_eq!(person.baselines.learned(None), learned + 1);
        // Late events of a closed bucket are neither learned nor judged.
        assert!(burst(&mut person, 300, 5_000_000, &config).is_empty());
    }

    #[test]
    fn classes_have_their_own_baselines() {
        let config = AccessVolumeConfig {
            classes: vec![ResourceClass {
                name: "finance".into(),
                prefixes: vec!["https://finance.".into()],
            }],
            ..AccessVolumeConfig::default()
        };
        let mut person = trained(3, 100_000, &config);
        detect(
            &mut person.baselines,
            &mut person.recent,
            &access(21 * 86_400, "https://finance.example.com/q", 1),
            false,
            &config,
        );
        assert!(person.baselines.learned(None) > 100);
        assert_eq!(person.baselines.learned(Some(0)), 0);
    }

    proptest::proptest! {
        #[test]
        fn scores_stay_finite_and_in_range(
            steps in proptest::collection::vec((0i64..200_000, 0u64..u64::MAX / 2), 1..300),
            min_requests in 1u32..100,
        ) {
            let config = AccessVolumeConfig { min_requests, min_bytes: 1, ..AccessVolumeConfig::default() };
            let mut person = Person::default();
            let mut at = 0;
            for (gap, bytes) in steps {
                at += gap;
                if let Some(signal) = detect(&mut person.baselines, &mut person.recent, &access(at, "r", bytes), false, &config) {
                    proptest::prop_assert!(signal.score.is_finite() && (0.0..=100.0).contains(&signal.score));
                }
            }
        }
    }
}
