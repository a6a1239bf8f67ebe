//! `brute_force`: many failed sign-ins against one identity in a short window, and the
//! success that follows one.
//!
//! Classic false positive: a person mistyping a password a few times and then getting
//! it right. Only a burst of at least `failures` failures in `window` counts, and the
//! success is judged against the failures in the window just before it.

use crate::check::{is_score, Invalid};
use crate::duration::Duration;
use serde::Deserialize;
use serde_json::json;
use std::collections::VecDeque;
use std::net::IpAddr;
use vigil_schemas::{AuthAction, Detector, Envelope, Outcome, Signal, Timestamp};

/// Most failures remembered per identity: a window never needs more than the threshold
/// plus the burst's tail, and a bound keeps an attack from growing state without limit.
pub const MAX_REMEMBERED_FAILURES: usize = 256;

/// One identity's recent failed sign-ins, sorted by event time.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct FailureWindow {
    failures: VecDeque<(Timestamp, Option<IpAddr>)>,
    /// Event time of the last burst signal: one signal per window while a burst lasts,
    /// whatever the attack's rate.
    signalled: Option<Timestamp>,
}

impl FailureWindow {
    fn record(&mut self, time: Timestamp, ip: Option<IpAddr>) {
        crate::window::insert_sorted(&mut self.failures, (time, ip), MAX_REMEMBERED_FAILURES);
    }

    fn prune(&mut self, now: Timestamp, window_micros: i64) {
        while self
            .failures
            .front()
            .is_some_and(|(time, _)| now.0.saturating_sub(time.0) > window_micros.saturating_mul(4))
        {
            self.failures.pop_front();
        }
    }

    /// Failures within `window` ending at `end`, and how many distinct IPs they came from.
    fn in_window(&self, end: Timestamp, window_micros: i64) -> (usize, usize) {
        let mut ips: Vec<IpAddr> = Vec::new();
        let mut count = 0;
        for (time, ip) in &self.failures {
            if *time <= end && end.0.saturating_sub(time.0) <= window_micros {
                count += 1;
                if let Some(ip) = ip.filter(|ip| !ips.contains(ip)) {
                    ips.push(ip);
                }
            }
        }
        (count, ips.len())
    }

    /// The newest time it holds (a failure or the last signal).
    pub fn newest(&self) -> Option<Timestamp> {
        let failure = self.failures.back().map(|(time, _)| *time);
        failure.max(self.signalled)
    }

    /// Forgets the failures a success closed: the next burst starts from zero.
    fn clear_before(&mut self, now: Timestamp) {
        self.failures.retain(|(time, _)| *time > now);
    }
}

/// Judges one sign-in attempt against the identity's failure window.
pub fn detect(
    window: &mut FailureWindow,
    envelope: &Envelope,
    config: &BruteForceConfig,
) -> Option<Signal> {
    if !config.enabled {
        return None;
    }
    let event = &envelope.event;
    let auth = event.auth()?;
    if auth.action != AuthAction::Login {
        return None;
    }
    let window_micros = config.window.as_micros();
    window.prune(event.time, window_micros);
    let threshold = config.failures.max(1) as usize;
    match auth.outcome {
        Outcome::Failure | Outcome::Denied => {
            window.record(event.time, event.ip);
            // The fullest window holding this failure: the one ending at it, or (for a
            // failure that arrived late) one ending at a later failure.
            let (count, sources) = window
                .failures
                .iter()
                .map(|(time, _)| *time)
                .filter(|time| {
                    *time >= event.time && time.0.saturating_sub(event.time.0) <= window_micros
                })
                .map(|end| window.in_window(end, window_micros))
                .max()
                .unwrap_or((0, 0));
            let quiet = window
                .signalled
                .is_some_and(|last| event.time.0.saturating_sub(last.0).abs() <= window_micros);
            let fire = count >= threshold && !quiet;
            if fire {
                window.signalled = Some(event.time);
            }
            fire.then(|| Signal {
                detector: Detector::BruteForce,
                score: config.burst_score,
                confidence: 0.9,
                detail: format!("{count} failed sign-ins in {} from {sources} IP address{}", config.window, if sources == 1 { "" } else { "es" }),
                evidence: json!({ "failures": count, "window_s": config.window.0, "source_ips": sources }),
            })
        }
        Outcome::Success => {
            let (count, sources) = window.in_window(event.time, window_micros);
            window.clear_before(event.time);
            (count >= threshold).then(|| Signal {
                detector: Detector::BruteForce,
                score: config.success_after_burst_score,
                confidence: 0.95,
                detail: format!("successful sign-in right after {count} failures in {} from {sources} IP address{}", config.window, if sources == 1 { "" } else { "es" }),
                evidence: json!({ "failures": count, "window_s": config.window.0, "source_ips": sources, "succeeded": true }),
            })
        }
        Outcome::Timeout => None,
    }
}

/// The brute-force detector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BruteForceConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// Failed sign-ins of one identity within `window` that make a burst: 10 is well past
    /// a person's typos and below most IdP lockout thresholds' combined retries.
    pub failures: u32,
    /// The sliding window.
    pub window: Duration,
    /// Score of the burst itself (medium: the account is under attack, not yet lost).
    pub burst_score: f64,
    /// Score of a success right after a burst (high: the guess may have worked).
    pub success_after_burst_score: f64,
}

impl Default for BruteForceConfig {
    fn default() -> Self {
        BruteForceConfig {
            enabled: true,
            failures: 10,
            window: Duration::minutes(10),
            burst_score: 50.0,
            success_after_burst_score: 90.0,
        }
    }
}

impl BruteForceConfig {
    /// Checks the values serde cannot; `failures` is bounded by what each identity
    /// remembers ([`MAX_REMEMBERED_FAILURES`]).
    pub fn validate(&self) -> Result<(), Invalid> {
        crate::check::first([
            (
                self.failures > 0,
                "failures",
                "must be at least 1".to_string(),
            ),
            (
                self.failures as usize <= MAX_REMEMBERED_FAILURES,
                "failures",
                format!(
                    "must be at most {MAX_REMEMBERED_FAILURES} (failures remembered per identity)"
                ),
            ),
            (
                is_score(self.burst_score) && is_score(self.success_after_burst_score),
                "",
                crate::check::SCORES.to_string(),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{attempt, BERLIN};

    fn run(outcomes: &[(&str, Outcome)]) -> Vec<Signal> {
        let config = BruteForceConfig::default();
        let mut window = FailureWindow::default();
        outcomes
            .iter()
            .filter_map(|(time, outcome)| {
                detect(
                    &mut window,
                    &attempt(time, BERLIN, "85.214.1.1", *outcome),
                    &config,
                )
            })
            .collect()
    }

    #[test]
    fn a_burst_fires_and_the_success_after_it_scores_high() {
        let mut attempts: Vec<(String, Outcome)> = (0..12)
            .map(|second| {
                (
                    format!("2026-03-02T08:00:{:02}Z", second * 4),
                    Outcome::Failure,
                )
            })
            .collect();
        attempts.push(("2026-03-02T08:01:00Z".to_string(), Outcome::Success));
        let borrowed: Vec<(&str, Outcome)> = attempts
            .iter()
            .map(|(time, outcome)| (time.as_str(), *outcome))
            .collect();
        let signals = run(&borrowed);
        assert_eq!(
            signals.len(),
            2,
            "the burst at its 10th failure, and the success"
        );
        let last = signals.last().unwrap();
        assert_eq!(last.score, 90.0);
        assert_eq!(
            last.detail,
            "successful sign-in right after 12 failures in 10m from 1 IP address"
        );
    }

    #[test]
    fn any_attack_rate_signals_once_per_window() {
        for spacing in [5, 59, 60, 61] {
            let times: Vec<String> = (0..40)
                .map(|step| {
                    vigil_schemas::Timestamp::parse("2026-03-02T08:00:00Z")
                        .unwrap()
                        .plus_secs(step * spacing)
                        .to_string()
                })
                .collect();
            let attempts: Vec<(&str, Outcome)> = times
                .iter()
                .map(|time| (time.as_str(), Outcome::Failure))
                .collect();
            let signals = run(&attempts);
            let span = 39 * spacing;
            assert!(
                !signals.is_empty() && signals.len() as i64 <= span / 600 + 1,
                "spacing {spacing}: {} signals",
                signals.len()
            );
        }
    }

    #[test]
    fn late_failures_complete_a_burst() {
        let early: Vec<String> = (0..5)
            .map(|minute| format!("2026-03-02T08:0{minute}:00Z"))
            .collect();
        let late: Vec<String> = (5..10)
            .map(|minute| format!("2026-03-02T08:0{minute}:00Z"))
            .collect();
        let attempts: Vec<(&str, Outcome)> = late
            .iter()
            .chain(early.iter())
            .map(|time| (time.as_str(), Outcome::Failure))
            .collect();
        assert_eq!(
            run(&attempts).len(),
            1,
            "ten failures in ten minutes, whatever their arrival order"
        );
    }

    #[test]
    fn typos_then_success_are_quiet() {
        let signals = run(&[
            ("2026-03-02T08:00:00Z", Outcome::Failure),
            ("2026-03-02T08:00:10Z", Outcome::Failure),
            ("2026-03-02T08:00:20Z", Outcome::Failure),
            ("2026-03-02T08:00:30Z", Outcome::Success),
        ]);
        assert!(signals.is_empty());
    }

    #[test]
    fn failures_spread_over_hours_are_quiet() {
        let times: Vec<String> = (0..20)
            .map(|hour| format!("2026-03-02T{hour:02}:00:00Z"))
            .collect();
        let attempts: Vec<(&str, Outcome)> = times
            .iter()
            .map(|time| (time.as_str(), Outcome::Failure))
            .collect();
        assert!(run(&attempts).is_empty());
    }
}
