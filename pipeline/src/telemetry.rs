//! Telemetry as internal events: each thing worth knowing about a run is one method here
//! that both logs and counts, so the log line and the metric cannot drift apart. Metric
//! names are constants ([`names`]); labels are bounded (inputs, outputs, detectors,
//! actions, rules, reasons of a fixed set), and an identity is never a label.
//!
//! [`Telemetry::render`] writes the Prometheus text exposition format (version 0.0.4).
//! Updates take one short lock per batch or per settled decision, never per event.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use vigil_ingest::source::RecordBatch;
use vigil_schemas::{Action, Decision, Mode, Timestamp};

/// Metric names.
pub mod names {
    /// Records read, by input (a topic or a file).
    pub const RECORDS_READ: &str = "vigil_records_read_total";
    /// Records rejected, by input and reason (`oversized`, `implausible_time`,
    /// `undecodable`).
    pub const RECORDS_REJECTED: &str = "vigil_records_rejected_total";
    /// Records skipped as of no interest, by reason.
    pub const RECORDS_SKIPPED: &str = "vigil_records_skipped_total";
    /// Records passed over after a restart because the state already reflects them.
    pub const RECORDS_RESUMED: &str = "vigil_records_resumed_total";
    /// Events judged by the engine.
    pub const EVENTS_JUDGED: &str = "vigil_events_judged_total";
    /// Decisions acknowledged by every output, by action, mode and rule.
    pub const DECISIONS: &str = "vigil_decisions_total";
    /// Decisions by detector among their reasons.
    pub const DECISION_DETECTORS: &str = "vigil_decision_detectors_total";
    /// Decisions by basis: `policy_enforced` (enforce mode) or `monitor_only`.
    pub const DECISIONS_BY_BASIS: &str = "vigil_decisions_by_basis_total";
    /// Detector hits, by detector.
    pub const SIGNALS: &str = "vigil_signals_total";
    /// Policy rules that failed to evaluate, by rule.
    pub const POLICY_ERRORS: &str = "vigil_policy_errors_total";
    /// Seconds to judge one batch.
    pub const BATCH_SECONDS: &str = "vigil_batch_seconds";
    /// Records behind the end of each input partition.
    pub const CONSUMER_LAG: &str = "vigil_consumer_lag";
    /// Seconds to write one checkpoint.
    pub const CHECKPOINT_SECONDS: &str = "vigil_checkpoint_seconds";
    /// Checkpoints written.
    pub const CHECKPOINTS: &str = "vigil_checkpoints_total";
    /// Bytes of encoded state written by checkpoints.
    pub const CHECKPOINT_BYTES: &str = "vigil_checkpoint_bytes_total";
    /// What each output has taken, by kind (the archive: rows per table).
    pub const OUTPUT_WRITTEN: &str = "vigil_output_written_total";
    /// Sends acknowledged, by output (one per output and batch).
    pub const OUTPUT_ACKNOWLEDGED: &str = "vigil_output_acknowledged_total";
    /// Sends that failed or were not acknowledged, by output.
    pub const OUTPUT_FAILED: &str = "vigil_output_failed_total";
    /// Seconds from a revocation's triggering event to its acknowledgement by every
    /// output (live runs).
    pub const REVOCATION_SECONDS: &str = "vigil_revocation_acknowledged_seconds";
}

/// Help and type of every metric, in the order they are rendered.
const METRICS: [(&str, Kind, &str); 19] = [
    (
        names::RECORDS_READ,
        Kind::Counter,
        "Records read, by input.",
    ),
    (
        names::RECORDS_REJECTED,
        Kind::Counter,
        "Records rejected, by input and reason.",
    ),
    (
        names::RECORDS_SKIPPED,
        Kind::Counter,
        "Records skipped as of no interest, by reason.",
    ),
    (
        names::RECORDS_RESUMED,
        Kind::Counter,
        "Records passed over because the restored state reflects them.",
    ),
    (names::EVENTS_JUDGED, Kind::Counter, "Events judged."),
    (
        names::DECISIONS,
        Kind::Counter,
        "Decisions acknowledged by every output, by action, mode and rule.",
    ),
    (
        names::DECISION_DETECTORS,
        Kind::Counter,
        "Decisions by detector among their reasons.",
    ),
    (
        names::DECISIONS_BY_BASIS,
        Kind::Counter,
        "Decisions enforced by policy or made in monitor mode only.",
    ),
    (names::SIGNALS, Kind::Counter, "Detector hits, by detector."),
    (
        names::POLICY_ERRORS,
        Kind::Counter,
        "Policy rules that failed to evaluate, by rule.",
    ),
    (
        names::BATCH_SECONDS,
        Kind::Histogram,
        "Seconds to judge one batch.",
    ),
    (
        names::CONSUMER_LAG,
        Kind::Gauge,
        "Records behind the end of each input partition.",
    ),
    (
        names::CHECKPOINT_SECONDS,
        Kind::Histogram,
        "Seconds to write one checkpoint.",
    ),
    (names::CHECKPOINTS, Kind::Counter, "Checkpoints written."),
    (
        names::CHECKPOINT_BYTES,
        Kind::Counter,
        "Bytes of encoded state written by checkpoints.",
    ),
    (
        names::OUTPUT_WRITTEN,
        Kind::Counter,
        "What each output has taken, by kind (the archive: rows per table).",
    ),
    (
        names::OUTPUT_ACKNOWLEDGED,
        Kind::Counter,
        "Sends acknowledged, by output.",
    ),
    (
        names::OUTPUT_FAILED,
        Kind::Counter,
        "Sends failed or not acknowledged, by output.",
    ),
    (
        names::REVOCATION_SECONDS,
        Kind::Histogram,
        "Seconds from a revocation's triggering event to its acknowledgement by every output.",
    ),
];

/// Upper bounds of the histograms' buckets, in seconds: a millisecond to a minute.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A series' labels, in a fixed order.
type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, value: f64) {
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if value <= *bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += value;
    }
}

#[derive(Debug, Default)]
struct Series {
    values: BTreeMap<(&'static str, Labels), f64>,
    histograms: BTreeMap<(&'static str, Labels), Histogram>,
}

impl Series {
    fn add(&mut self, name: &'static str, labels: Labels, value: f64) {
        *self.values.entry((name, labels)).or_default() += value;
    }

    fn set(&mut self, name: &'static str, labels: Labels, value: f64) {
        self.values.insert((name, labels), value);
    }

    fn observe(&mut self, name: &'static str, value: f64) {
        self.histograms
            .entry((name, Vec::new()))
            .or_default()
            .observe(value);
    }
}

/// What readiness waits for.
#[derive(Debug, Default)]
struct Health {
    state_loaded: AtomicBool,
    outputs_started: AtomicBool,
    inputs_assigned: AtomicBool,
}

/// A run's metrics and health, shared with whoever serves them.
#[derive(Debug, Default)]
pub struct Telemetry {
    series: Mutex<Series>,
    health: Health,
    /// Whether the run is live (logs rejects as warnings, times revocations).
    live: AtomicBool,
}

fn label(name: &'static str, value: impl Into<String>) -> (&'static str, String) {
    (name, value.into())
}

/// The basis of a decision, for the maturity metric.
fn basis(mode: Mode) -> &'static str {
    match mode {
        Mode::Enforce => "policy_enforced",
        Mode::Monitor => "monitor_only",
    }
}

impl Telemetry {
    fn with<T>(&self, update: impl FnOnce(&mut Series) -> T) -> T {
        let mut series = self
            .series
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        update(&mut series)
    }

    /// Marks the run live or replayed.
    pub(crate) fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Relaxed);
    }

    /// The engine's state is loaded (restored from its store, if any).
    pub(crate) fn state_loaded(&self) {
        self.health.state_loaded.store(true, Ordering::Relaxed);
        tracing::debug!("state loaded");
    }

    /// Every output has connected.
    pub(crate) fn outputs_started(&self) {
        self.health.outputs_started.store(true, Ordering::Relaxed);
        tracing::debug!("outputs started");
    }

    /// Whether the source has its inputs.
    pub(crate) fn inputs_assigned(&self, assigned: bool) {
        let before = self
            .health
            .inputs_assigned
            .swap(assigned, Ordering::Relaxed);
        if before != assigned {
            tracing::info!(assigned, "input assignment changed");
        }
    }

    /// Why the run is not ready, if it is not.
    pub fn not_ready(&self) -> Option<&'static str> {
        if !self.health.state_loaded.load(Ordering::Relaxed) {
            return Some("the state is not loaded yet");
        }
        if !self.health.outputs_started.load(Ordering::Relaxed) {
            return Some("the outputs have not connected yet");
        }
        if !self.health.inputs_assigned.load(Ordering::Relaxed) {
            return Some("no input is assigned yet");
        }
        None
    }

    /// Records read from each input of a batch, and those passed over as already in the
    /// state.
    pub(crate) fn records_read(&self, batch: &RecordBatch) {
        let mut counts: Vec<(&str, u64)> = Vec::new();
        for span in &batch.records {
            let input = batch.stream(span).stream.input();
            match counts.iter_mut().find(|(known, _)| *known == input) {
                Some((_, count)) => *count += 1,
                None => counts.push((input, 1)),
            }
        }
        self.with(|series| {
            for (input, count) in counts {
                series.add(
                    names::RECORDS_READ,
                    vec![label("input", input)],
                    count as f64,
                );
            }
            if batch.passed_over > 0 {
                series.add(names::RECORDS_RESUMED, Vec::new(), batch.passed_over as f64);
            }
        });
    }

    /// A record skipped as of no interest.
    pub(crate) fn records_skipped(&self, reason: &'static str) {
        self.with(|series| series.add(names::RECORDS_SKIPPED, vec![label("reason", reason)], 1.0));
    }

    /// A record rejected: logged with its origin and reason, counted by its kind.
    pub(crate) fn record_rejected(
        &self,
        reject: &vigil_schemas::Reject,
        input: &str,
        kind: &'static str,
    ) {
        if self.live.load(Ordering::Relaxed) {
            tracing::warn!(origin = %reject.origin, reason = %reject.reason, "dead letter");
        } else {
            tracing::debug!(origin = %reject.origin, reason = %reject.reason, "rejected");
        }
        self.with(|series| {
            series.add(
                names::RECORDS_REJECTED,
                vec![label("input", input), label("reason", kind)],
                1.0,
            )
        });
    }

    /// A batch judged: events, signals by detector, policy errors, and how long it took.
    pub(crate) fn batch_judged(&self, stats: &vigil_engine::BatchStats, seconds: f64) {
        tracing::trace!(events = stats.judged, seconds, "batch judged");
        self.with(|series| {
            series.add(names::EVENTS_JUDGED, Vec::new(), stats.judged as f64);
            for (detector, count) in &stats.signals {
                series.add(
                    names::SIGNALS,
                    vec![label("detector", detector.as_str())],
                    *count as f64,
                );
            }
            for (rule, errors) in &stats.policy_errors {
                series.add(
                    names::POLICY_ERRORS,
                    vec![label("rule", rule.as_str())],
                    errors.count as f64,
                );
            }
            series.observe(names::BATCH_SECONDS, seconds);
        });
    }

    /// A batch's decisions, acknowledged by every output (one lock for the batch).
    pub(crate) fn decisions_acknowledged(&self, decisions: &[Decision]) {
        if decisions.is_empty() {
            return;
        }
        let live = self.live.load(Ordering::Relaxed);
        let now = Timestamp::now();
        self.with(|series| {
            for decision in decisions {
                tracing::debug!(id = %decision.id, action = decision.action.as_str(), rule = %decision.rule, "decision acknowledged");
                series.add(
                    names::DECISIONS,
                    vec![
                        label("action", decision.action.as_str()),
                        label("mode", decision.mode.as_str()),
                        label("rule", decision.rule.as_str()),
                    ],
                    1.0,
                );
                series.add(names::DECISIONS_BY_BASIS, vec![label("basis", basis(decision.mode))], 1.0);
                for reason in &decision.reasons {
                    series.add(
                        names::DECISION_DETECTORS,
                        vec![label("detector", reason.detector.as_str())],
                        1.0,
                    );
                }
                let revocation =
                    matches!(decision.action, Action::RevokeSession | Action::RevokeAllSessions)
                        && decision.mode == Mode::Enforce;
                if live && revocation {
                    let micros = now.0.saturating_sub(decision.time.0);
                    series.observe(names::REVOCATION_SECONDS, micros.max(0) as f64 / 1e6);
                }
            }
        });
    }

    /// An output acknowledged a send, or failed to.
    pub(crate) fn output_result(&self, output: &'static str, acknowledged: bool) {
        if !acknowledged {
            tracing::warn!(output, "an output failed to acknowledge a send");
        }
        let name = if acknowledged {
            names::OUTPUT_ACKNOWLEDGED
        } else {
            names::OUTPUT_FAILED
        };
        self.with(|series| series.add(name, vec![label("output", output)], 1.0));
    }

    /// A checkpoint written.
    pub(crate) fn checkpointed(&self, seconds: f64, bytes: u64) {
        tracing::debug!(seconds, bytes, "checkpoint written");
        self.with(|series| {
            series.add(names::CHECKPOINTS, Vec::new(), 1.0);
            series.add(names::CHECKPOINT_BYTES, Vec::new(), bytes as f64);
            series.observe(names::CHECKPOINT_SECONDS, seconds);
        });
    }

    /// What an output has taken so far, by kind (counts that only grow).
    pub(crate) fn output_written(&self, output: &'static str, written: &[(&'static str, u64)]) {
        self.with(|series| {
            for (kind, count) in written {
                series.set(
                    names::OUTPUT_WRITTEN,
                    vec![label("output", output), label("kind", *kind)],
                    *count as f64,
                );
            }
        });
    }

    /// Records behind the end of an input partition.
    pub(crate) fn consumer_lag(&self, topic: &str, partition: i32, lag: i64) {
        self.with(|series| {
            series.set(
                names::CONSUMER_LAG,
                vec![
                    label("topic", topic),
                    label("partition", partition.to_string()),
                ],
                lag as f64,
            )
        });
    }

    /// The value of a counter or gauge series, 0 when it was never set (for tests and
    /// summaries).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.with(|series| {
            series
                .values
                .iter()
                .filter(|((metric, series_labels), _)| {
                    *metric == name
                        && labels.iter().all(|(key, value)| {
                            series_labels.iter().any(|(k, v)| k == key && v == value)
                        })
                })
                .map(|(_, value)| *value)
                .sum()
        })
    }

    /// Every metric in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(8192);
        self.with(|series| {
            for (name, kind, help) in METRICS {
                let _ = writeln!(text, "# HELP {name} {help}");
                let _ = writeln!(text, "# TYPE {name} {}", kind.as_str());
                if kind == Kind::Histogram {
                    let histogram = series.histograms.get(&(name, Vec::new()));
                    render_histogram(&mut text, name, &histogram.cloned().unwrap_or_default());
                    continue;
                }
                let mut any = false;
                for ((metric, labels), value) in &series.values {
                    if *metric == name {
                        any = true;
                        let _ =
                            writeln!(text, "{name}{} {}", render_labels(labels), number(*value));
                    }
                }
                if !any && kind == Kind::Counter && !METRIC_HAS_LABELS.contains(&name) {
                    let _ = writeln!(text, "{name} 0");
                }
            }
        });
        text
    }
}

/// Counters with labels: no series is shown until one is counted.
const METRIC_HAS_LABELS: [&str; 11] = [
    names::RECORDS_READ,
    names::RECORDS_REJECTED,
    names::RECORDS_SKIPPED,
    names::DECISIONS,
    names::DECISION_DETECTORS,
    names::DECISIONS_BY_BASIS,
    names::SIGNALS,
    names::POLICY_ERRORS,
    names::OUTPUT_ACKNOWLEDGED,
    names::OUTPUT_FAILED,
    names::OUTPUT_WRITTEN,
];

fn render_histogram(text: &mut String, name: &str, histogram: &Histogram) {
    for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter()) {
        let _ = writeln!(text, "{name}_bucket{{le=\"{}\"}} {count}", number(*bound));
    }
    let _ = writeln!(text, "{name}_bucket{{le=\"+Inf\"}} {}", histogram.count);
    let _ = writeln!(text, "{name}_sum {}", number(histogram.sum));
    let _ = writeln!(text, "{name}_count {}", histogram.count);
}

fn render_labels(labels: &Labels) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let mut text = String::from("{");
    for (index, (key, value)) in labels.iter().enumerate() {
        if index > 0 {
            text.push(',');
        }
        let _ = write!(text, "{key}=\"");
        for character in value.chars() {
            match character {
                '\\' => text.push_str("\\\\"),
                '"' => text.push_str("\\\""),
                '\n' => text.push_str("\\n"),
                other => text.push(other),
            }
        }
        text.push('"');
    }
    text.push('}');
    text
}

/// A sample value as Prometheus writes it.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_histograms_in_the_text_format() {
        let telemetry = Telemetry::default();
        let mut batch = RecordBatch::default();
        let mut lines = vigil_ingest::file::LineReader::new(
            "vigil.auth".into(),
            Box::new(&b"{}\n{}\n{}\n{}\n{}\n"[..]),
        );
        lines
            .fill(&mut batch, 3, vigil_ingest::Format::Auto)
            .unwrap();
        telemetry.records_read(&batch);
        lines
            .fill(&mut batch, 3, vigil_ingest::Format::Auto)
            .unwrap();
        batch.passed_over = 1;
        telemetry.records_read(&batch);
        telemetry.consumer_lag("vigil.auth", 0, 12);
        telemetry.checkpointed(0.003, 4096);
        telemetry.records_skipped("a \"quoted\" reason");
        let text = telemetry.render();
        assert!(
            text.contains("vigil_records_read_total{input=\"vigil.auth\"} 5\n"),
            "{text}"
        );
        assert!(text.contains("vigil_records_resumed_total 1\n"), "{text}");
        assert!(text.contains("vigil_consumer_lag{topic=\"vigil.auth\",partition=\"0\"} 12\n"));
        assert!(text.contains("vigil_checkpoint_seconds_bucket{le=\"0.0025\"} 0\n"));
        assert!(text.contains("vigil_checkpoint_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("vigil_checkpoint_seconds_count 1\n"));
        assert!(text.contains("vigil_checkpoint_bytes_total 4096\n"));
        assert!(text.contains("vigil_events_judged_total 0\n"));
        assert!(text.contains("reason=\"a \\\"quoted\\\" reason\""));
        assert_eq!(
            telemetry.value(names::RECORDS_READ, &[("input", "vigil.auth")]),
            5.0
        );
        // Every sample line is `name{labels} value` with a number.
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }

    #[test]
    fn readiness_names_what_it_waits_for() {
        let telemetry = Telemetry::default();
        assert_eq!(telemetry.not_ready(), Some("the state is not loaded yet"));
        telemetry.state_loaded();
        telemetry.outputs_started();
        assert_eq!(telemetry.not_ready(), Some("no input is assigned yet"));
        telemetry.inputs_assigned(true);
        assert_eq!(telemetry.not_ready(), None);
    }
}
