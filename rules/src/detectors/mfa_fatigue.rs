//! `mfa_fatigue`: a burst of denied or unanswered MFA prompts (push bombing), and the
//! approval that ends one.
//!
//! An attacker with the password sends push after push until the tired user taps
//! "approve". A burst is `prompts` denied or timed-out MFA attempts within `window`;
//! the burst itself is medium risk (the password is known to someone), and a successful
//! MFA within `window` after a burst is high risk: it is the approval the attacker waited
//! for, and the decision comes on that very event.
//!
//! Classic false positive: a person who misses one or two pushes (phone in a bag) and
//! then approves. Only a burst counts.

use crate::check::{is_score, Invalid};
use crate::duration::Duration;
use serde::Deserialize;
use serde_json::json;
use std::collections::VecDeque;
use vigil_schemas::{AuthAction, Detector, Envelope, Outcome, Signal, Timestamp};

/// Most unanswered prompts remembered per identity.
pub const MAX_REMEMBERED_PROMPTS: usize = 64;

/// One identity's recent denied or unanswered MFA prompts, sorted by event time.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct PromptWindow {
    refused: VecDeque<Timestamp>,
    signalled: Option<Timestamp>,
}

impl PromptWindow {
    fn record(&mut self, time: Timestamp) {
        crate::window::insert_sorted(&mut self.refused, time, MAX_REMEMBERED_PROMPTS);
    }

    /// The newest time it holds (a refused prompt or the last signal).
    pub fn newest(&self) -> Option<Timestamp> {
        self.refused.back().copied().max(self.signalled)
    }

    /// Refused prompts in the `window` ending at `end`.
    fn in_window(&self, end: Timestamp, window_micros: i64) -> usize {
        self.refused
            .iter()
            .filter(|time| **time <= end && end.0.saturating_sub(time.0) <= window_micros)
            .count()
    }
}

/// Judges one MFA event against the identity's recent refused prompts.
pub fn detect(
    window: &mut PromptWindow,
    envelope: &Envelope,
    config: &MfaFatigueConfig,
) -> Option<Signal> {
    if !config.enabled {
        return None;
    }
    let event = &envelope.event;
    let auth = event.auth().filter(|auth| auth.action == AuthAction::Mfa)?;
    let window_micros = config.window.as_micros();
    let threshold = config.prompts.max(1) as usize;
    match auth.outcome {
        Outcome::Denied | Outcome::Timeout | Outcome::Failure => {
            window.record(event.time);
            let count = window.in_window(event.time, window_micros);
            let quiet = window
                .signalled
                .is_some_and(|last| event.time.0.saturating_sub(last.0).abs() <= window_micros);
            if count < threshold || quiet {
                return None;
            }
            window.signalled = Some(event.time);
            Some(Signal {
                detector: Detector::MfaFatigue,
                score: config.burst_score,
                confidence: 0.9,
                detail: format!(
                    "{count} MFA prompts denied or unanswered in {}",
                    config.window
                ),
                evidence: json!({ "refused_prompts": count, "window_s": config.window.0 }),
            })
        }
        Outcome::Success => {
            let count = window.in_window(event.time, window_micros);
            if count < threshold {
                return None;
            }
            window.refused.retain(|time| *time > event.time);
            window.signalled = Some(event.time);
            Some(Signal {
                detector: Detector::MfaFatigue,
                score: config.approval_after_burst_score,
                confidence: 0.95,
                detail: format!(
                    "MFA approved right after {count} prompts were denied or unanswered in {}",
                    config.window
                ),
                evidence: json!({ "refused_prompts": count, "window_s": config.window.0, "approved": true }),
            })
        }
    }
}

/// The MFA-fatigue (push bombing) detector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MfaFatigueConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// Denied or unanswered MFA prompts within `window` that make a burst: 5 is past a
    /// person missing a push or two, and well inside the dozens push-bombing tools send.
    pub prompts: u32,
    /// The sliding window.
    pub window: Duration,
    /// Score of the burst (medium: someone has the password).
    pub burst_score: f64,
    /// Score of an approval right after a burst (high: the prompt the attacker waited for).
    pub approval_after_burst_score: f64,
}

impl Default for MfaFatigueConfig {
    fn default() -> Self {
        MfaFatigueConfig {
            enabled: true,
            prompts: 5,
            window: Duration::minutes(15),
            burst_score: 55.0,
            approval_after_burst_score: 95.0,
        }
    }
}

impl MfaFatigueConfig {
    /// Checks the values serde cannot; `prompts` is bounded by what each identity
    /// remembers ([`MAX_REMEMBERED_PROMPTS`]).
    pub fn validate(&self) -> Result<(), Invalid> {
        crate::check::first([
            (
                self.prompts > 0 && self.prompts as usize <= MAX_REMEMBERED_PROMPTS,
                "prompts",
                format!("must be from 1 to {MAX_REMEMBERED_PROMPTS}"),
            ),
            (
                is_score(self.burst_score) && is_score(self.approval_after_burst_score),
                "",
                crate::check::SCORES.to_string(),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{login_at, BERLIN};
    use vigil_schemas::{AuthDetail, Detail};

    fn prompt(time: &str, outcome: Outcome) -> Envelope {
        let mut envelope = login_at(time, BERLIN, "85.214.1.1");
        envelope.event.detail = Detail::Auth(AuthDetail {
            action: AuthAction::Mfa,
            outcome,
            factor: Some("push".into()),
            reason: None,
        });
        envelope
    }

    fn run(prompts: &[(String, Outcome)]) -> Vec<Signal> {
        let config = MfaFatigueConfig::default();
        let mut window = PromptWindow::default();
        prompts
            .iter()
            .filter_map(|(time, outcome)| detect(&mut window, &prompt(time, *outcome), &config))
            .collect()
    }

    #[test]
    fn a_push_bombing_then_approval_is_high_risk_on_the_approval() {
        let mut prompts: Vec<(String, Outcome)> = (0..8)
            .map(|step| {
                (
                    format!("2026-03-02T23:{:02}:00Z", step * 2),
                    if step % 2 == 0 {
                        Outcome::Denied
                    } else {
                        Outcome::Timeout
                    },
                )
            })
            .collect();
        prompts.push(("2026-03-02T23:17:00Z".into(), Outcome::Success));
        let signals = run(&prompts);
        assert_eq!(signals.len(), 2, "the burst once, then the approval");
        assert_eq!(
            signals[1].score,
            MfaFatigueConfig::default().approval_after_burst_score
        );
        assert_eq!(
            signals[1].detail,
            "MFA approved right after 7 prompts were denied or unanswered in 15m"
        );
    }

    #[test]
    fn a_missed_push_then_approval_is_quiet() {
        let signals = run(&[
            ("2026-03-02T08:00:00Z".into(), Outcome::Timeout),
            ("2026-03-02T08:01:00Z".into(), Outcome::Denied),
            ("2026-03-02T08:02:00Z".into(), Outcome::Success),
        ]);
        assert!(signals.is_empty());
    }
}
