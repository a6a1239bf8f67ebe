//! The counts of one run, printed as its summary.

use std::collections::BTreeMap;
use std::fmt;
use vigil_engine::BatchStats;
use vigil_schemas::Decision;

/// Counts of one run, printed as the summary.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Records read.
    pub read: u64,
    /// Records skipped as not of interest, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Records rejected.
    pub rejected: u64,
    /// Records passed over because the restored state already reflects them (`vigil
    /// run` after a restart).
    pub resumed: u64,
    /// Decisions by action and mode.
    pub decisions: BTreeMap<(String, String), u64>,
    /// Decisions by detector among their reasons.
    pub decisions_by_detector: BTreeMap<String, u64>,
    /// The engine's counts over all batches: events judged, unowned posture events,
    /// signals by detector, policy errors by rule.
    pub engine: BatchStats,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl Summary {
    /// Total decisions.
    pub fn decision_count(&self) -> u64 {
        self.decisions.values().sum()
    }

    /// Events judged.
    pub fn events(&self) -> u64 {
        self.engine.judged
    }

    /// Total skipped.
    pub fn skipped_count(&self) -> u64 {
        self.skipped.values().sum()
    }

    pub fn count_decision(&mut self, decision: &Decision) {
        *self
            .decisions
            .entry((
                decision.action.as_str().to_string(),
                decision.mode.as_str().to_string(),
            ))
            .or_default() += 1;
        for reason in &decision.reasons {
            *self
                .decisions_by_detector
                .entry(reason.detector.as_str().to_string())
                .or_default() += 1;
        }
    }
}

fn rate(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(formatter, "records read      {:>10}", self.read)?;
        writeln!(formatter, "events judged     {:>10}", self.engine.judged)?;
        writeln!(formatter, "skipped           {:>10}", self.skipped_count())?;
        for (reason, count) in &self.skipped {
            writeln!(formatter, "  {count:>8}  {reason}")?;
        }
        writeln!(formatter, "rejected          {:>10}", self.rejected)?;
        if self.resumed > 0 {
            writeln!(formatter, "already in state  {:>10}", self.resumed)?;
        }
        if self.engine.state_errors > 0 {
            writeln!(
                formatter,
                "state unreadable  {:>10}",
                self.engine.state_errors
            )?;
        }
        if self.engine.unowned > 0 {
            writeln!(formatter, "posture, no owner {:>10}", self.engine.unowned)?;
        }
        writeln!(formatter, "decisions         {:>10}", self.decision_count())?;
        for ((action, mode), count) in &self.decisions {
            writeln!(formatter, "  {count:>8}  {action} ({mode})")?;
        }
        if !self.decisions_by_detector.is_empty() {
            writeln!(formatter, "decisions by detector")?;
            for (detector, count) in &self.decisions_by_detector {
                writeln!(formatter, "  {count:>8}  {detector}")?;
            }
        }
        if !self.engine.signals.is_empty() {
            writeln!(formatter, "signals")?;
            let signals: BTreeMap<&str, u64> = self
                .engine
                .signals
                .iter()
                .map(|(detector, count)| (detector.as_str(), *count))
                .collect();
            for (detector, count) in signals {
                writeln!(formatter, "  {count:>8}  {detector}")?;
            }
        }
        let policy_errors: BTreeMap<&String, &vigil_engine::PolicyErrors> =
            self.engine.policy_errors.iter().collect();
        for (rule, errors) in policy_errors {
            writeln!(
                formatter,
                "policy errors     {:>10}  rule `{rule}`: {} (first at {})",
                errors.count, errors.first_message, errors.first_trigger
            )?;
        }
        write!(
            formatter,
            "elapsed           {:>10.3} s  ({:.0} events/s)",
            self.seconds,
            rate(self.read, self.seconds)
        )
    }
}
