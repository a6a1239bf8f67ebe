//! Telemetry as internal events: each thing worth knowing about a run is one method here
//! that both logs and counts, so the log line and the metric cannot drift apart. Metric
//! names are constants ([`names`]); labels are bounded (inputs, outputs, detectors,
//! actions, rules, reasons of a fixed set), and an identity is never a label.
//!
//! [`Telemetry::render`] writes the Prometheus text exposition format (version 0.0.4).
//! Updates take one short lock per batch or per settled decision, never per event.

use std::sync::atomic::{AtomicBool, Ordering};
use vigil_ingest::source::RecordBatch;
use vigil_schemas::metrics::{label, Kind, Metric, Registry, Series};
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
    /// Identities dropped from memory, by why (`expired`, `lost`).
    pub const IDENTITIES_EVICTED: &str = "vigil_identities_evicted_total";
    /// Identities held in memory.
    pub const IDENTITIES_IN_MEMORY: &str = "vigil_identities_in_memory";
    /// Records an output went on without, by output and reason.
    pub const OUTPUT_DROPPED: &str = "vigil_output_dropped_total";
    /// Sends acknowledged, by output (one per output and batch).
    pub const OUTPUT_ACKNOWLEDGED: &str = "vigil_output_acknowledged_total";
    /// Sends that failed or were not acknowledged, by output.
    pub const OUTPUT_FAILED: &str = "vigil_output_failed_total";
    /// Seconds from a revocation's triggering event to its acknowledgement by every
    /// output (live runs).
    pub const REVOCATION_SECONDS: &str = "vigil_revocation_acknowledged_seconds";
}

/// Every metric, in the order they are rendered. A labelled counter shows no series
/// until one is counted.
const METRICS: &[Metric] = &[
    Metric {
        name: names::RECORDS_READ,
        kind: Kind::Counter,
        help: "Records read, by input.",
        labelled: true,
    },
    Metric {
        name: names::RECORDS_REJECTED,
        kind: Kind::Counter,
        help: "Records rejected, by input and reason.",
        labelled: true,
    },
    Metric {
        name: names::RECORDS_SKIPPED,
        kind: Kind::Counter,
        help: "Records skipped as of no interest, by reason.",
        labelled: true,
    },
    Metric {
        name: names::RECORDS_RESUMED,
        kind: Kind::Counter,
        help: "Records passed over because the restored state reflects them.",
        labelled: false,
    },
    Metric {
        name: names::EVENTS_JUDGED,
        kind: Kind::Counter,
        help: "Events judged.",
        labelled: false,
    },
    Metric {
        name: names::DECISIONS,
        kind: Kind::Counter,
        help: "Decisions acknowledged by every output, by action, mode and rule.",
        labelled: true,
    },
    Metric {
        name: names::DECISION_DETECTORS,
        kind: Kind::Counter,
        help: "Decisions by detector among their reasons.",
        labelled: true,
    },
    Metric {
        name: names::DECISIONS_BY_BASIS,
        kind: Kind::Counter,
        help: "Decisions enforced by policy or made in monitor mode only.",
        labelled: true,
    },
    Metric {
        name: names::SIGNALS,
        kind: Kind::Counter,
        help: "Detector hits, by detector.",
        labelled: true,
    },
    Metric {
        name: names::POLICY_ERRORS,
        kind: Kind::Counter,
        help: "Policy rules that failed to evaluate, by rule.",
        labelled: true,
    },
    Metric {
        name: names::BATCH_SECONDS,
        kind: Kind::Histogram,
        help: "Seconds to judge one batch.",
        labelled: false,
    },
    Metric {
        name: names::CONSUMER_LAG,
        kind: Kind::Gauge,
        help: "Records behind the end of each input partition.",
        labelled: false,
    },
    Metric {
        name: names::CHECKPOINT_SECONDS,
        kind: Kind::Histogram,
        help: "Seconds to write one checkpoint.",
        labelled: false,
    },
    Metric {
        name: names::CHECKPOINTS,
        kind: Kind::Counter,
        help: "Checkpoints written.",
        labelled: false,
    },
    Metric {
        name: names::CHECKPOINT_BYTES,
        kind: Kind::Counter,
        help: "Bytes of encoded state written by checkpoints.",
        labelled: false,
    },
    Metric {
        name: names::OUTPUT_WRITTEN,
        kind: Kind::Counter,
        help: "What each output has taken, by kind (the archive: rows per table).",
        labelled: true,
    },
    Metric {
        name: names::IDENTITIES_IN_MEMORY,
        kind: Kind::Gauge,
        help: "Identities held in memory.",
        labelled: false,
    },
    Metric {
        name: names::IDENTITIES_EVICTED,
        kind: Kind::Counter,
        help: "Identities dropped from memory: expired (idle past forget_after, or only refused sign-ins idle an hour; their stored rows go too) or lost (over max_identities_in_memory without a state store: baselines gone).",
        labelled: true,
    },
    Metric {
        name: names::OUTPUT_DROPPED,
        kind: Kind::Counter,
        help: "Records an output went on without (refused for their size or content; archive rows it could not write), by output and reason.",
        labelled: true,
    },
    Metric {
        name: names::OUTPUT_ACKNOWLEDGED,
        kind: Kind::Counter,
        help: "Sends acknowledged, by output.",
        labelled: true,
    },
    Metric {
        name: names::OUTPUT_FAILED,
        kind: Kind::Counter,
        help: "Sends failed or not acknowledged, by output.",
        labelled: true,
    },
    Metric {
        name: names::REVOCATION_SECONDS,
        kind: Kind::Histogram,
        help:
            "Seconds from a revocation's triggering event to its acknowledgement by every output.",
        labelled: false,
    },
];

/// What readiness waits for.
#[derive(Debug, Default)]
struct Health {
    state_loaded: AtomicBool,
    outputs_started: AtomicBool,
    inputs_assigned: AtomicBool,
}

/// A run's metrics and health, shared with whoever serves them.
#[derive(Debug)]
pub struct Telemetry {
    registry: Registry,
    health: Health,
    /// Whether the run is live (logs rejects as warnings, times revocations).
    live: AtomicBool,
}

impl Default for Telemetry {
    fn default() -> Telemetry {
        Telemetry {
            registry: Registry::new(METRICS),
            health: Health::default(),
            live: AtomicBool::new(false),
        }
    }
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
        self.registry.update(update)
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
            series.observe(names::BATCH_SECONDS, Vec::new(), seconds);
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
                    series.observe(
                        names::REVOCATION_SECONDS,
                        Vec::new(),
                        micros.max(0) as f64 / 1e6,
                    );
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
            series.observe(names::CHECKPOINT_SECONDS, Vec::new(), seconds);
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

    /// Identities in memory and dropped from it.
    pub(crate) fn identities(&self, held: usize, evicted: vigil_engine::Evictions) {
        self.with(|series| {
            series.set(names::IDENTITIES_IN_MEMORY, Vec::new(), held as f64);
            series.set(
                names::IDENTITIES_EVICTED,
                vec![label("reason", "expired")],
                evicted.expired as f64,
            );
            series.set(
                names::IDENTITIES_EVICTED,
                vec![label("reason", "lost")],
                evicted.lost as f64,
            );
        });
    }

    /// What an output has gone on without, by reason.
    pub(crate) fn output_dropped(&self, output: &'static str, dropped: &[(&'static str, u64)]) {
        self.with(|series| {
            for (reason, count) in dropped {
                series.set(
                    names::OUTPUT_DROPPED,
                    vec![label("output", output), label("reason", *reason)],
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
        self.registry.value(name, labels)
    }

    /// Every metric in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(8192);
        self.registry.render_into(&mut text);
        text
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
