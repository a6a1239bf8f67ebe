//! Session risk: signals combine into one 0-100 score per session that decays with
//! event time.
//!
//! Combination is a noisy-OR: each signal removes its share (score x confidence) of the
//! remaining headroom, so two independent medium signals make a high risk, and no number
//! of signals exceeds 100. Decay is exponential with a configured half-life.

use crate::duration::Duration;
use serde::Deserialize;
use std::num::NonZeroU32;
use vigil_schemas::{CompactString, Detector, Risk, RiskLevel, Signal, Timestamp};

/// Identity-level events without a session or device share this key.
pub const NO_SESSION: &str = "";

/// Where a session was established: the first device, network and country its events
/// carried (location-exempt addresses leave network and country unknown). Held as
/// non-zero 32-bit numbers, so an unknown costs no tag (16 bytes instead of 40 a
/// session); stored as optional plain numbers. 32 bits suffice: a session's context is
/// compared with its own later events only.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "StoredContext", into = "StoredContext")]
pub struct SessionContext {
    /// Fingerprint of the device id ([`device_print`]).
    pub device: Option<NonZeroU32>,
    /// Autonomous system (AS 0 means none, RFC 7607, and is unknown here).
    pub asn: Option<NonZeroU32>,
    /// Fingerprint of the ISO alpha-2 country ([`known32`] of [`crate::fingerprint`]).
    pub country: Option<NonZeroU32>,
    /// Client family of the user agent ([`known32`] of [`crate::client_family`]).
    pub client: Option<NonZeroU32>,
}

/// A device id as a session's context holds it: 32 bits of [`crate::fingerprint`].
pub fn device_print(device: &str) -> NonZeroU32 {
    device_of(crate::fingerprint(device))
}

/// [`device_print`] of a device id whose [`crate::fingerprint`] is `print`.
pub fn device_of(print: u64) -> NonZeroU32 {
    known32(print as u32)
}

/// A 32-bit fingerprint as a known context value (zero counts as one).
pub fn known32(print: u32) -> NonZeroU32 {
    NonZeroU32::new(print).unwrap_or(NonZeroU32::MIN)
}

/// [`SessionContext`] as encoded: plain optional numbers.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct StoredContext {
    device: Option<u64>,
    asn: Option<u32>,
    country: Option<u32>,
    client: Option<u32>,
}

impl From<StoredContext> for SessionContext {
    fn from(stored: StoredContext) -> Self {
        SessionContext {
            // Version 1 stored 64 bits; the low 32 are what this build compares.
            device: stored.device.map(|device| known32(device as u32)),
            asn: stored.asn.and_then(NonZeroU32::new),
            country: stored.country.map(known32),
            client: stored.client.map(known32),
        }
    }
}

impl From<SessionContext> for StoredContext {
    fn from(context: SessionContext) -> Self {
        StoredContext {
            device: context.device.map(|device| u64::from(device.get())),
            asn: context.asn.map(NonZeroU32::get),
            country: context.country.map(NonZeroU32::get),
            client: context.client.map(NonZeroU32::get),
        }
    }
}

/// A score in tenths of a point, stored as points (f32).
mod tenths {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(tenths: &u16, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f32(f32::from(*tenths) / 10.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
        let points = f32::deserialize(deserializer)?;
        Ok(if points.is_finite() {
            (points * 10.0).round().clamp(0.0, 1000.0) as u16
        } else {
            0
        })
    }
}

/// The risk of one session of an identity.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SessionRisk {
    /// Session id, else device id, else [`NO_SESSION`].
    pub key: CompactString,
    /// Score at `updated`, 0 to 100.
    pub score: f64,
    /// Event time of the last update.
    pub updated: Timestamp,
    /// Highest score the session reached, in tenths (stored as a number of points).
    #[serde(with = "tenths")]
    pub peak: u16,
    /// A signal other than a first-seen one has hit this session: nothing it does is
    /// learned as normal, whatever MFA says.
    pub tainted: bool,
    /// Where the session was established.
    pub context: SessionContext,
    /// Highest score each detector charged this session with (by detector id order). A
    /// lasting condition (a hijacked session, a non-compliant device, a listed address, an
    /// agent off its scope) signals again only when it gets worse, not on every event, so
    /// it cannot compound into a false high.
    charged: [u8; Detector::ALL.len()],
}

impl SessionRisk {
    /// The score decayed to `now` (never increased by an earlier `now`).
    pub fn score_at(&self, now: Timestamp, config: &RiskConfig) -> f64 {
        let elapsed = now.seconds_since(self.updated).max(0.0);
        let half_life = (config.half_life.0 as f64).max(1.0);
        self.score * 0.5f64.powf(elapsed / half_life)
    }

    /// The highest score `detector` charged this session with (0: never).
    pub fn charged(&self, detector: Detector) -> f64 {
        f64::from(self.charged[detector as usize])
    }

    /// Whether `detector` already charged this session.
    pub fn noted(&self, detector: Detector) -> bool {
        self.charged[detector as usize] > 0
    }
}

/// Folds signals into a score: noisy-OR of each signal's score times confidence.
pub fn combine(base: f64, signals: &[Signal]) -> f64 {
    let mut remaining = 1.0 - (base / 100.0).clamp(0.0, 1.0);
    for signal in signals {
        let weight = finite_or_zero(signal.score / 100.0).clamp(0.0, 1.0)
            * finite_or_zero(signal.confidence).clamp(0.0, 1.0);
        remaining *= 1.0 - weight;
    }
    (100.0 * (1.0 - remaining)).clamp(0.0, 100.0)
}

fn finite_or_zero(value: f64) -> f64 {
    if value.is_finite() {
        value
    } else {
        0.0
    }
}

/// The sessions of one identity, bounded.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct SessionRisks {
    sessions: crate::slim::SlimVec<SessionRisk>,
}

impl SessionRisks {
    /// The session with `key`, created (evicting the least recently active one when
    /// full) if new.
    pub fn entry(&mut self, key: &str, now: Timestamp, config: &RiskConfig) -> &mut SessionRisk {
        let index = match self.sessions.iter().position(|session| session.key == key) {
            Some(index) => index,
            None => {
                if self.sessions.len() >= config.max_sessions.max(1) {
                    let stalest =
                        (0..self.sessions.len()).min_by_key(|&index| self.sessions[index].updated);
                    if let Some(stalest) = stalest {
                        self.sessions.swap_remove(stalest);
                    }
                }
                self.sessions.push(SessionRisk {
                    key: CompactString::from(key),
                    score: 0.0,
                    updated: now,
                    peak: 0,
                    tainted: false,
                    context: SessionContext::default(),
                    charged: [0; Detector::ALL.len()],
                });
                self.sessions.len() - 1
            }
        };
        &mut self.sessions[index]
    }

    /// The session with `key`, if tracked.
    pub fn get(&self, key: &str) -> Option<&SessionRisk> {
        self.sessions.iter().find(|session| session.key == key)
    }

    /// Call before judging an event of `key`: a session whose risk decayed to nothing
    /// forgets what charged it, so a lasting condition still there hours later is news
    /// again (keys that never go idle, like an always-on agent's, would otherwise stay
    /// charged forever).
    pub fn refresh(&mut self, key: &str, now: Timestamp, config: &RiskConfig) {
        if let Some(session) = self.sessions.iter_mut().find(|session| session.key == key) {
            if session.score_at(now, config) < 1.0 {
                session.charged = [0; Detector::ALL.len()];
            }
        }
    }

    /// Drops sessions idle for longer than `idle` before `now` whose risk has decayed
    /// below one point: an ended session's context and flags must not outlive it.
    pub fn expire(&mut self, now: Timestamp, idle_micros: i64, config: &RiskConfig) {
        self.sessions.retain(|session| {
            now.0.saturating_sub(session.updated.0) <= idle_micros
                || session.score_at(now, config) >= 1.0
        });
    }

    /// Applies an event's signals to its session and returns the session's risk now.
    pub fn update(
        &mut self,
        key: &str,
        now: Timestamp,
        signals: &[Signal],
        config: &RiskConfig,
    ) -> Risk {
        // A quiet event of an untracked session has no risk and needs no entry.
        if signals.is_empty() && self.get(key).is_none() {
            return Risk {
                score: 0.0,
                level: RiskLevel::Low,
            };
        }
        let session = self.entry(key, now, config);
        let decayed = session.score_at(now, config);
        let score = combine(decayed, signals);
        if now >= session.updated || !signals.is_empty() {
            session.score = score;
            session.updated = session.updated.max(now);
        }
        session.peak = session
            .peak
            .max((score * 10.0).round().clamp(0.0, 1000.0) as u16);
        for signal in signals {
            session.tainted |= !signal.detector.is_first_seen();
            let charged = &mut session.charged[signal.detector as usize];
            *charged = (*charged).max(signal.score.clamp(1.0, 100.0).ceil() as u8);
        }
        // The level follows the score as written, so `70.0` is never `medium`.
        let rounded = round_score(score);
        Risk {
            score: rounded,
            level: RiskLevel::of(rounded),
        }
    }

    /// Whether a session was hit by a signal other than a first-seen one and its risk has
    /// not yet decayed below `medium`.
    pub fn tainted(&self, key: &str, now: Timestamp, config: &RiskConfig) -> bool {
        self.sessions.iter().any(|session| {
            session.key == key
                && session.tainted
                && session.score_at(now, config) >= RiskLevel::MEDIUM_FROM
        })
    }

    /// The tracked sessions.
    pub fn sessions(&self) -> &[SessionRisk] {
        &self.sessions
    }

    /// Keys of sessions established on `device` and active within `idle` before `now`,
    /// other than `except`.
    pub fn on_device(
        &self,
        device: &str,
        now: Timestamp,
        idle_micros: i64,
        except: &str,
    ) -> Vec<CompactString> {
        self.sessions
            .iter()
            .filter(|session| {
                session.key != except
                    && session.context.device == Some(device_print(device))
                    && now.0.saturating_sub(session.updated.0) <= idle_micros
            })
            .map(|session| session.key.clone())
            .collect()
    }
}

/// One decimal is all a score needs, and it keeps the JSON output readable and stable.
pub fn round_score(score: f64) -> f64 {
    (score * 10.0).round() / 10.0
}

/// How signals combine into session risk.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// Session risk halves over this much event time without new signals.
    pub half_life: Duration,
    /// Most sessions tracked per identity; the least recently active leaves first.
    pub max_sessions: usize,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            half_life: Duration::hours(1),
            max_sessions: 8,
        }
    }
}

impl RiskConfig {
    /// Checks the values serde cannot.
    pub fn validate(&self) -> Result<(), crate::check::Invalid> {
        crate::check::first([
            (
                self.half_life.0 > 0,
                "half_life",
                "must be longer than zero",
            ),
            (self.max_sessions > 0, "max_sessions", "must be at least 1"),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::Duration;
    use vigil_schemas::Detector;

    fn signal(score: f64, confidence: f64) -> Signal {
        Signal {
            detector: Detector::NewCountry,
            score,
            confidence,
            detail: String::new(),
            evidence: serde_json::Value::Null,
        }
    }

    #[test]
    fn two_medium_signals_make_a_high_risk() {
        let combined = combine(0.0, &[signal(50.0, 1.0), signal(50.0, 1.0)]);
        assert_eq!(combined, 75.0);
        assert_eq!(RiskLevel::of(combined), RiskLevel::High);
    }

    #[test]
    fn risk_halves_over_a_half_life() {
        let config = RiskConfig {
            half_life: Duration::hours(1),
            max_sessions: 4,
        };
        let mut risks = SessionRisks::default();
        let start = Timestamp::from_secs(1_000_000);
        assert_eq!(
            risks
                .update("s1", start, &[signal(80.0, 1.0)], &config)
                .score,
            80.0
        );
        assert_eq!(
            risks
                .update("s1", start.plus_secs(3600), &[], &config)
                .score,
            40.0
        );
        assert_eq!(risks.update("s2", start, &[], &config).score, 0.0);
    }

    #[test]
    fn sessions_are_bounded() {
        let config = RiskConfig {
            half_life: Duration::hours(1),
            max_sessions: 3,
        };
        let mut risks = SessionRisks::default();
        for second in 0..10 {
            risks.update(
                &format!("s{second}"),
                Timestamp::from_secs(second),
                &[signal(10.0, 1.0)],
                &config,
            );
        }
        assert_eq!(risks.sessions().len(), 3);
        // A quiet event of an untracked session leaves no entry.
        risks.update("quiet", Timestamp::from_secs(11), &[], &config);
        assert!(risks.get("quiet").is_none());
    }

    proptest::proptest! {
        #[test]
        fn combined_scores_stay_finite_and_in_range(base in proptest::num::f64::ANY, scores in proptest::collection::vec((proptest::num::f64::ANY, proptest::num::f64::ANY), 0..8)) {
            let signals: Vec<Signal> = scores.into_iter().map(|(score, confidence)| signal(score, confidence)).collect();
            let base = if base.is_nan() { 0.0 } else { base };
            let combined = combine(base, &signals);
            proptest::prop_assert!(combined.is_finite() && (0.0..=100.0).contains(&combined));
        }
    }
}
