//! `vigil eval`: scores decisions against the ground truth of simulated traffic
//! ([`crate::labels`]), per attack kind, per detector and overall.
//!
//! Both files are JSON lines, read line by line; blank lines are skipped and any other line
//! that does not decode stops the run with the file and line (exit code 2). Labels are kept
//! in memory; decisions are streamed through an [`Evaluator`], which keeps counts per
//! attack, per benign session, per kind and per detector, never the decisions themselves.
//!
//! # Metrics
//!
//! **Attribution.** A decision belongs to every attack whose [`AttackLabel::covers`] accepts
//! its identity, session id, device id and event time (usually one attack): the identity is
//! one of the attack's, the session or device id is one of its keys, and the time lies from
//! the attack's start to [`crate::labels::ATTRIBUTION_GRACE_SECS`] after its end. A decision
//! no attack covers is *benign*. A benign decision counts for the session label with the same
//! (identity, session id) when that label is benign (no attack); one whose (identity,
//! session id) matches no session label at all, or that has no session id, is counted as
//! *benign, unlabelled*. (A benign decision on an attack's session, outside the attack's
//! window, is benign but counts for no benign session.)
//!
//! **Per attack kind** (every kind in `kinds` of the JSON; the table lists only kinds with
//! attacks):
//! - `attacks`: attack labels of the kind; `detected`: those with at least one attributed
//!   decision, of any action and mode; `recall` = detected / attacks;
//! - `attributed_decisions`: decisions attributed to at least one attack of the kind;
//!   `benign_decisions`: benign decisions with a reason from a detector that some attack of
//!   the kind expects (the union of their `detectors`); `precision` = attributed / (attributed
//!   + benign); `f1` = 2 precision recall / (precision + recall);
//! - `contained`: attacks with at least one attributed enforce-mode decision whose action
//!   is not `alert` (a step-up, a revocation, a quarantine): what stops the attacker;
//!   `containment` = contained / attacks; `containment_delay`: over contained attacks, event
//!   time from the attack's `start` to its first such decision;
//! - `delay_from_start`: over detected attacks, event time from the attack's `start` to its
//!   first attributed decision (the earliest `time`), median and p95 in seconds;
//!   `delay_from_completion`: event time from `completes` to the first attributed decision at
//!   or after it: 0 when the completing event itself was acted on (the stolen session's
//!   first use, the approved push), whatever came earlier (a step-up, an alert on a
//!   burst); attacks with no decision from completion on are left out.
//!
//! **Per detector** (only detectors in some decision's reasons or some attack's expected
//! detectors):
//! - `true_positives`: attributed decisions with a reason from the detector;
//!   `false_positives`: benign decisions with one; `precision` = tp / (tp + fp);
//! - `attacks_expecting`: attacks that list the detector; `attacks_seen`: those of them with
//!   an attributed decision that has a reason from the detector; `recall` = seen / expecting;
//!   `f1` as above.
//!
//! **Overall**: `attacks`, `detected`, `recall`, `contained` and `containment` over all
//! attacks; `benign_sessions`:
//! distinct (identity, session id) of session labels without an attack;
//! `benign_sessions_with_decision`: those with any decision (`benign_decision_rate` =
//! with decision / benign sessions); `benign_sessions_enforced`: those with an enforce-mode
//! decision whose action is not `alert` (`false_positive_rate` = enforced / benign sessions);
//! `decisions`, `attributed`, `benign` and `benign_unlabelled` decision counts.
//!
//! A ratio with a zero denominator is `null` in JSON and `-` in the table; so is a median or
//! p95 of no values. Percentiles are nearest-rank: the value at rank ceil(p/100 * n) of the n
//! sorted values (the median of an even count is the lower middle value).

use crate::labels::{AttackKind, AttackLabel, Label};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use vigil_schemas::{Action, Decision, Detector, Mode, Timestamp};

const MICROS_PER_SECOND: f64 = 1_000_000.0;

/// 64 KiB: decision lines are a few hundred bytes; fewer, larger reads of big files.
const READ_BUFFER_BYTES: usize = 1 << 16;

/// Why decisions or labels could not be read. Every variant is a bad input: exit code 2.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The file could not be opened.
    #[error("cannot open {what} `{}`: {source}", path.display())]
    Open {
        /// `decisions` or `labels`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Reading the file failed part way.
    #[error("failed to read {what} `{}` at line {line}: {source}", path.display())]
    Read {
        /// `decisions` or `labels`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not a valid record.
    #[error("failed to decode {what} `{}` at line {line}: {reason}", path.display())]
    Decode {
        /// `decisions` or `labels`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What was wrong, with the column when known.
        reason: String,
    },
}

impl EvalError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        2
    }
}

/// Every label of a labels file.
pub fn read_labels(path: &Path) -> Result<Vec<Label>, EvalError> {
    let mut labels = Vec::new();
    let reader = open(path, "labels")?;
    for_each_record(reader, path, "labels", |label| labels.push(label))?;
    Ok(labels)
}

/// Every decision of a decisions file. For large files prefer [`evaluate_files`], which
/// streams them.
pub fn read_decisions(path: &Path) -> Result<Vec<Decision>, EvalError> {
    let mut decisions = Vec::new();
    let reader = open(path, "decisions")?;
    for_each_record(reader, path, "decisions", |decision| {
        decisions.push(decision)
    })?;
    Ok(decisions)
}

/// Reads the labels, then streams the decisions through an [`Evaluator`].
pub fn evaluate_files(decisions: &Path, labels: &Path) -> Result<Report, EvalError> {
    let labels_read = read_labels(labels)?;
    let mut evaluator = Evaluator::new(&labels_read);
    let reader = open(decisions, "decisions")?;
    for_each_record(reader, decisions, "decisions", |decision: Decision| {
        evaluator.add(&decision)
    })?;
    Ok(evaluator.finish())
}

/// Scores decisions against labels (see the module doc for the metrics).
pub fn evaluate(decisions: &[Decision], labels: &[Label]) -> Report {
    let mut evaluator = Evaluator::new(labels);
    for decision in decisions {
        evaluator.add(decision);
    }
    evaluator.finish()
}

fn open(path: &Path, what: &'static str) -> Result<BufReader<File>, EvalError> {
    let file = File::open(path).map_err(|source| EvalError::Open {
        what,
        path: path.to_path_buf(),
        source,
    })?;
    Ok(BufReader::with_capacity(READ_BUFFER_BYTES, file))
}

/// Decodes each non-blank line of `reader` and hands it to `visit`; `path` and `what` only
/// name the input in errors.
fn for_each_record<T: DeserializeOwned>(
    mut reader: impl BufRead,
    path: &Path,
    what: &'static str,
    mut visit: impl FnMut(T),
) -> Result<(), EvalError> {
    let mut buffer = Vec::with_capacity(1024);
    let mut line: u64 = 0;
    loop {
        buffer.clear();
        line += 1;
        let read = reader
            .read_until(b'\n', &mut buffer)
            .map_err(|source| EvalError::Read {
                what,
                path: path.to_path_buf(),
                line,
                source,
            })?;
        if read == 0 {
            return Ok(());
        }
        let record_bytes = buffer.trim_ascii();
        if record_bytes.is_empty() {
            continue;
        }
        let record = serde_json::from_slice(record_bytes).map_err(|error| EvalError::Decode {
            what,
            path: path.to_path_buf(),
            line,
            reason: json_reason(&error),
        })?;
        visit(record);
    }
}

/// serde_json's message with its "at line 1 column N" (every record is one line) cut to
/// the column.
fn json_reason(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    match message.strip_suffix(&position) {
        Some(reason) => format!("{reason} (column {})", error.column()),
        None => message,
    }
}

/// The scores of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// One entry per attack kind, in [`AttackKind::ALL`] order.
    pub kinds: Vec<KindReport>,
    /// One entry per detector seen in decisions or expected by attacks, in
    /// [`Detector::ALL`] order.
    pub detectors: Vec<DetectorReport>,
    /// Totals.
    pub overall: Overall,
}

/// Scores of one attack kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindReport {
    /// The kind.
    pub kind: AttackKind,
    /// Attacks of this kind.
    pub attacks: u64,
    /// Attacks with at least one attributed decision.
    pub detected: u64,
    /// detected / attacks.
    pub recall: Option<f64>,
    /// Attacks with an attributed enforce-mode decision other than `alert`.
    pub contained: u64,
    /// contained / attacks.
    pub containment: Option<f64>,
    /// From the attack's first event to its first containing decision.
    pub containment_delay: Delays,
    /// Decisions attributed to an attack of this kind.
    pub attributed_decisions: u64,
    /// Benign decisions with a reason from a detector this kind's attacks expect.
    pub benign_decisions: u64,
    /// attributed / (attributed + benign).
    pub precision: Option<f64>,
    /// Harmonic mean of precision and recall.
    pub f1: Option<f64>,
    /// From the attack's first event to its first decision.
    pub delay_from_start: Delays,
    /// From the attack's completing event to the first decision at or after it.
    pub delay_from_completion: Delays,
}

/// A distribution of delays, in seconds of event time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Delays {
    /// Nearest-rank median.
    pub median_secs: Option<f64>,
    /// Nearest-rank 95th percentile.
    pub p95_secs: Option<f64>,
}

/// Scores of one detector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectorReport {
    /// The detector.
    pub detector: Detector,
    /// Attributed decisions with a reason from it.
    pub true_positives: u64,
    /// Benign decisions with a reason from it.
    pub false_positives: u64,
    /// tp / (tp + fp).
    pub precision: Option<f64>,
    /// Attacks that expect it.
    pub attacks_expecting: u64,
    /// Attacks that expect it and got an attributed decision with a reason from it.
    pub attacks_seen: u64,
    /// seen / expecting.
    pub recall: Option<f64>,
    /// Harmonic mean of precision and recall.
    pub f1: Option<f64>,
}

/// Totals over all attacks, benign sessions and decisions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overall {
    /// Attacks.
    pub attacks: u64,
    /// Attacks with at least one attributed decision.
    pub detected: u64,
    /// detected / attacks.
    pub recall: Option<f64>,
    /// Attacks with an attributed enforce-mode decision other than `alert`.
    pub contained: u64,
    /// contained / attacks.
    pub containment: Option<f64>,
    /// Distinct (identity, session id) of session labels without an attack.
    pub benign_sessions: u64,
    /// Benign sessions with any decision.
    pub benign_sessions_with_decision: u64,
    /// Benign sessions with an enforce-mode decision other than `alert`.
    pub benign_sessions_enforced: u64,
    /// with decision / benign sessions.
    pub benign_decision_rate: Option<f64>,
    /// enforced / benign sessions.
    pub false_positive_rate: Option<f64>,
    /// Decisions read.
    pub decisions: u64,
    /// Decisions attributed to an attack.
    pub attributed: u64,
    /// Decisions attributed to no attack.
    pub benign: u64,
    /// Benign decisions whose (identity, session id) matches no session label.
    pub benign_unlabelled: u64,
}

/// A set of detectors, one bit per [`Detector::ALL`] position.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct DetectorSet(u16);

impl DetectorSet {
    fn of(detectors: impl IntoIterator<Item = Detector>) -> DetectorSet {
        let mut set = DetectorSet::default();
        for detector in detectors {
            set.0 |= 1 << detector_index(detector);
        }
        set
    }

    fn contains(self, detector: Detector) -> bool {
        self.0 & (1 << detector_index(detector)) != 0
    }

    fn union(self, other: DetectorSet) -> DetectorSet {
        DetectorSet(self.0 | other.0)
    }

    fn intersects(self, other: DetectorSet) -> bool {
        self.0 & other.0 != 0
    }

    fn iter(self) -> impl Iterator<Item = Detector> {
        Detector::ALL
            .into_iter()
            .filter(move |detector| self.contains(*detector))
    }
}

fn detector_index(detector: Detector) -> usize {
    let index = detector as usize;
    debug_assert_eq!(Detector::ALL[index], detector);
    index
}

fn kind_index(kind: AttackKind) -> usize {
    let index = kind as usize;
    debug_assert_eq!(AttackKind::ALL[index], kind);
    index
}

/// One attack and what the decisions so far said about it.
struct AttackTally<'labels> {
    label: &'labels AttackLabel,
    /// Event time of the earliest attributed decision.
    first_decision: Option<Timestamp>,
    /// Event time of the earliest attributed decision at or after the completing event.
    first_after_completion: Option<Timestamp>,
    /// Event time of the earliest attributed enforce-mode decision other than `alert`.
    first_contained: Option<Timestamp>,
    /// Detectors among the reasons of attributed decisions.
    detectors_seen: DetectorSet,
}

/// One labelled session and whether decisions touched it.
#[derive(Debug, Clone, Copy, Default)]
struct SessionTally {
    benign: bool,
    decided: bool,
    enforced: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct KindTally {
    attributed_decisions: u64,
    benign_decisions: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct DetectorTally {
    true_positives: u64,
    false_positives: u64,
}

/// Counts decisions against labels one decision at a time, keeping no decision.
pub struct Evaluator<'labels> {
    attacks: Vec<AttackTally<'labels>>,
    /// Attack indices by the session and device ids they carry.
    attacks_by_key: HashMap<&'labels str, Vec<usize>>,
    /// Index into `sessions` by (identity, session id).
    session_index: HashMap<(&'labels str, &'labels str), usize>,
    sessions: Vec<SessionTally>,
    /// Per kind: the detectors its attacks expect.
    kind_detectors: [DetectorSet; AttackKind::ALL.len()],
    kinds: [KindTally; AttackKind::ALL.len()],
    detectors: [DetectorTally; Detector::ALL.len()],
    detectors_in_decisions: DetectorSet,
    decisions: u64,
    attributed: u64,
    benign: u64,
    benign_unlabelled: u64,
    /// Scratch: candidate attack indices of the current decision.
    candidates: Vec<usize>,
}

impl<'labels> Evaluator<'labels> {
    /// Indexes the attacks by key and the sessions by (identity, session id); the first
    /// session label of a pair wins.
    pub fn new(labels: &'labels [Label]) -> Evaluator<'labels> {
        let mut evaluator = Evaluator {
            attacks: Vec::new(),
            attacks_by_key: HashMap::new(),
            session_index: HashMap::new(),
            sessions: Vec::new(),
            kind_detectors: [DetectorSet::default(); AttackKind::ALL.len()],
            kinds: [KindTally::default(); AttackKind::ALL.len()],
            detectors: [DetectorTally::default(); Detector::ALL.len()],
            detectors_in_decisions: DetectorSet::default(),
            decisions: 0,
            attributed: 0,
            benign: 0,
            benign_unlabelled: 0,
            candidates: Vec::new(),
        };
        for label in labels {
            match label {
                Label::Attack(attack) => evaluator.add_attack(attack),
                Label::Session(session) => {
                    let key = (session.identity.as_str(), session.session_id.as_str());
                    if !evaluator.session_index.contains_key(&key) {
                        evaluator
                            .session_index
                            .insert(key, evaluator.sessions.len());
                        evaluator.sessions.push(SessionTally {
                            benign: session.attack.is_none(),
                            ..SessionTally::default()
                        });
                    }
                }
            }
        }
        evaluator
    }

    fn add_attack(&mut self, attack: &'labels AttackLabel) {
        let index = self.attacks.len();
        for key in &attack.keys {
            let indices = self.attacks_by_key.entry(key.as_str()).or_default();
            if !indices.contains(&index) {
                indices.push(index);
            }
        }
        let expected = DetectorSet::of(attack.detectors.iter().copied());
        let kind = kind_index(attack.kind);
        self.kind_detectors[kind] = self.kind_detectors[kind].union(expected);
        self.attacks.push(AttackTally {
            label: attack,
            first_decision: None,
            first_after_completion: None,
            first_contained: None,
            detectors_seen: DetectorSet::default(),
        });
    }

    /// Counts one decision.
    pub fn add(&mut self, decision: &Decision) {
        self.decisions += 1;
        let detectors = DetectorSet::of(decision.reasons.iter().map(|reason| reason.detector));
        self.detectors_in_decisions = self.detectors_in_decisions.union(detectors);
        let kinds = self.attribute(decision, detectors);
        if kinds.iter().any(|attributed| *attributed) {
            self.attributed += 1;
            for (tally, attributed) in self.kinds.iter_mut().zip(kinds) {
                if attributed {
                    tally.attributed_decisions += 1;
                }
            }
            for detector in detectors.iter() {
                self.detectors[detector_index(detector)].true_positives += 1;
            }
        } else {
            self.add_benign(decision, detectors);
        }
    }

    /// Marks the attacks that cover the decision; returns, per kind, whether one of them
    /// is of that kind.
    fn attribute(
        &mut self,
        decision: &Decision,
        detectors: DetectorSet,
    ) -> [bool; AttackKind::ALL.len()] {
        let session_id = decision.session_id.as_deref();
        let device_id = decision.device_id.as_deref();
        self.candidates.clear();
        for key in [session_id, device_id].into_iter().flatten() {
            if let Some(indices) = self.attacks_by_key.get(key) {
                self.candidates.extend_from_slice(indices);
            }
        }
        self.candidates.sort_unstable();
        self.candidates.dedup();
        let mut kinds = [false; AttackKind::ALL.len()];
        for &index in &self.candidates {
            let tally = &mut self.attacks[index];
            if !tally
                .label
                .covers(&decision.identity, session_id, device_id, decision.time)
            {
                continue;
            }
            tally.first_decision = Some(match tally.first_decision {
                Some(first) => first.min(decision.time),
                None => decision.time,
            });
            if decision.mode == Mode::Enforce && decision.action != Action::Alert {
                tally.first_contained = Some(match tally.first_contained {
                    Some(first) => first.min(decision.time),
                    None => decision.time,
                });
            }
            if decision.time >= tally.label.completes {
                tally.first_after_completion = Some(match tally.first_after_completion {
                    Some(first) => first.min(decision.time),
                    None => decision.time,
                });
            }
            tally.detectors_seen = tally.detectors_seen.union(detectors);
            kinds[kind_index(tally.label.kind)] = true;
        }
        kinds
    }

    fn add_benign(&mut self, decision: &Decision, detectors: DetectorSet) {
        self.benign += 1;
        for (tally, expected) in self.kinds.iter_mut().zip(self.kind_detectors) {
            if expected.intersects(detectors) {
                tally.benign_decisions += 1;
            }
        }
        for detector in detectors.iter() {
            self.detectors[detector_index(detector)].false_positives += 1;
        }
        let Some(session_id) = decision.session_id.as_deref() else {
            self.benign_unlabelled += 1;
            return;
        };
        let Some(&index) = self
            .session_index
            .get(&(decision.identity.as_str(), session_id))
        else {
            self.benign_unlabelled += 1;
            return;
        };
        let session = &mut self.sessions[index];
        if session.benign {
            session.decided = true;
            if decision.mode == Mode::Enforce && decision.action != Action::Alert {
                session.enforced = true;
            }
        }
    }

    /// The scores of everything added.
    pub fn finish(self) -> Report {
        Report {
            kinds: AttackKind::ALL
                .into_iter()
                .map(|kind| self.kind_report(kind))
                .collect(),
            detectors: Detector::ALL
                .into_iter()
                .filter_map(|detector| self.detector_report(detector))
                .collect(),
            overall: self.overall(),
        }
    }

    fn kind_report(&self, kind: AttackKind) -> KindReport {
        let mut attacks = 0;
        let mut from_start = Vec::new();
        let mut from_completion = Vec::new();
        let mut to_containment = Vec::new();
        for tally in self.attacks.iter().filter(|tally| tally.label.kind == kind) {
            attacks += 1;
            if let Some(first) = tally.first_contained {
                to_containment.push(first.0 - tally.label.start.0);
            }
            if let Some(first) = tally.first_decision {
                from_start.push(first.0 - tally.label.start.0);
            }
            if let Some(first) = tally.first_after_completion {
                from_completion.push(first.0 - tally.label.completes.0);
            }
        }
        let detected = from_start.len() as u64;
        let contained = to_containment.len() as u64;
        let counts = self.kinds[kind_index(kind)];
        let recall = ratio(detected, attacks);
        let precision = ratio(
            counts.attributed_decisions,
            counts.attributed_decisions + counts.benign_decisions,
        );
        KindReport {
            kind,
            attacks,
            detected,
            recall,
            contained,
            containment: ratio(contained, attacks),
            containment_delay: Delays::of(to_containment),
            attributed_decisions: counts.attributed_decisions,
            benign_decisions: counts.benign_decisions,
            precision,
            f1: f1(precision, recall),
            delay_from_start: Delays::of(from_start),
            delay_from_completion: Delays::of(from_completion),
        }
    }

    fn detector_report(&self, detector: Detector) -> Option<DetectorReport> {
        let expecting: Vec<&AttackTally> = self
            .attacks
            .iter()
            .filter(|tally| tally.label.detectors.contains(&detector))
            .collect();
        if expecting.is_empty() && !self.detectors_in_decisions.contains(detector) {
            return None;
        }
        let attacks_expecting = expecting.len() as u64;
        let attacks_seen = expecting
            .iter()
            .filter(|tally| tally.detectors_seen.contains(detector))
            .count() as u64;
        let counts = self.detectors[detector_index(detector)];
        let precision = ratio(
            counts.true_positives,
            counts.true_positives + counts.false_positives,
        );
        let recall = ratio(attacks_seen, attacks_expecting);
        Some(DetectorReport {
            detector,
            true_positives: counts.true_positives,
            false_positives: counts.false_positives,
            precision,
            attacks_expecting,
            attacks_seen,
            recall,
            f1: f1(precision, recall),
        })
    }

    fn overall(&self) -> Overall {
        let attacks = self.attacks.len() as u64;
        let detected = self
            .attacks
            .iter()
            .filter(|tally| tally.first_decision.is_some())
            .count() as u64;
        let contained = self
            .attacks
            .iter()
            .filter(|tally| tally.first_contained.is_some())
            .count() as u64;
        let benign: Vec<&SessionTally> = self
            .sessions
            .iter()
            .filter(|session| session.benign)
            .collect();
        let benign_sessions = benign.len() as u64;
        let with_decision = benign.iter().filter(|session| session.decided).count() as u64;
        let enforced = benign.iter().filter(|session| session.enforced).count() as u64;
        Overall {
            attacks,
            detected,
            recall: ratio(detected, attacks),
            contained,
            containment: ratio(contained, attacks),
            benign_sessions,
            benign_sessions_with_decision: with_decision,
            benign_sessions_enforced: enforced,
            benign_decision_rate: ratio(with_decision, benign_sessions),
            false_positive_rate: ratio(enforced, benign_sessions),
            decisions: self.decisions,
            attributed: self.attributed,
            benign: self.benign,
            benign_unlabelled: self.benign_unlabelled,
        }
    }
}

impl Delays {
    fn of(mut micros: Vec<i64>) -> Delays {
        micros.sort_unstable();
        let seconds = |value: i64| value as f64 / MICROS_PER_SECOND;
        Delays {
            median_secs: percentile(&micros, 50).map(seconds),
            p95_secs: percentile(&micros, 95).map(seconds),
        }
    }
}

/// Nearest-rank percentile of sorted values: the value at rank ceil(p/100 * n), 1-based.
fn percentile(sorted: &[i64], percent: usize) -> Option<i64> {
    debug_assert!(sorted.windows(2).all(|pair| pair[0] <= pair[1]));
    debug_assert!((1..=100).contains(&percent));
    let rank = (percent * sorted.len()).div_ceil(100);
    sorted.get(rank.max(1) - 1).copied()
}

fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

fn f1(precision: Option<f64>, recall: Option<f64>) -> Option<f64> {
    let (precision, recall) = (precision?, recall?);
    if precision + recall > 0.0 {
        Some(2.0 * precision * recall / (precision + recall))
    } else {
        Some(0.0)
    }
}

/// The report as aligned text tables: one row per attack kind with attacks, one row per
/// detector, then the overall lines.
pub fn render_table(report: &Report) -> String {
    let mut text = String::with_capacity(2048);
    let kind_rows: Vec<Vec<String>> = report
        .kinds
        .iter()
        .filter(|kind| kind.attacks > 0)
        .map(|kind| {
            vec![
                kind.kind.as_str().to_string(),
                kind.attacks.to_string(),
                kind.detected.to_string(),
                format_ratio(kind.recall),
                kind.contained.to_string(),
                format_ratio(kind.containment),
                format_ratio(kind.precision),
                format_ratio(kind.f1),
                format_seconds(kind.delay_from_start.median_secs),
                format_seconds(kind.delay_from_start.p95_secs),
                format_seconds(kind.delay_from_completion.median_secs),
                format_seconds(kind.delay_from_completion.p95_secs),
                format_seconds(kind.containment_delay.median_secs),
            ]
        })
        .collect();
    text.push_str(&render_rows(
        &[
            "kind",
            "attacks",
            "detected",
            "recall",
            "contained",
            "containment",
            "precision",
            "f1",
            "start p50",
            "start p95",
            "done p50",
            "done p95",
            "contain p50",
        ],
        &kind_rows,
    ));
    text.push_str(
        "(delays: seconds of event time to the first decision, from the attack's start and \
         from its completing event; contain p50: from the start to the first step-up, \
         revocation or quarantine)\n\n",
    );
    let detector_rows: Vec<Vec<String>> = report
        .detectors
        .iter()
        .map(|detector| {
            vec![
                detector.detector.as_str().to_string(),
                detector.true_positives.to_string(),
                detector.false_positives.to_string(),
                format_ratio(detector.precision),
                detector.attacks_expecting.to_string(),
                detector.attacks_seen.to_string(),
                format_ratio(detector.recall),
                format_ratio(detector.f1),
            ]
        })
        .collect();
    text.push_str(&render_rows(
        &[
            "detector",
            "tp",
            "fp",
            "precision",
            "expected",
            "seen",
            "recall",
            "f1",
        ],
        &detector_rows,
    ));
    text.push('\n');
    text.push_str(&render_overall(&report.overall));
    text
}

fn render_overall(overall: &Overall) -> String {
    let lines = [
        ("attacks", overall.attacks.to_string()),
        ("detected", overall.detected.to_string()),
        ("recall", format_ratio(overall.recall)),
        ("contained", overall.contained.to_string()),
        ("containment", format_ratio(overall.containment)),
        ("benign sessions", overall.benign_sessions.to_string()),
        (
            "with a decision",
            overall.benign_sessions_with_decision.to_string(),
        ),
        (
            "benign decision rate",
            format_ratio(overall.benign_decision_rate),
        ),
        (
            "with an enforced action",
            overall.benign_sessions_enforced.to_string(),
        ),
        (
            "false positive rate",
            format_ratio(overall.false_positive_rate),
        ),
        ("decisions", overall.decisions.to_string()),
        ("attributed", overall.attributed.to_string()),
        ("benign", overall.benign.to_string()),
        ("benign, unlabelled", overall.benign_unlabelled.to_string()),
    ];
    let label_width = lines
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    let value_width = lines
        .iter()
        .map(|(_, value)| value.len())
        .max()
        .unwrap_or(0);
    let mut text = String::from("overall\n");
    for (label, value) in lines {
        let _ = writeln!(text, "  {label:<label_width$}  {value:>value_width$}");
    }
    text
}

/// Rows under a header: the first column left-aligned, the others right-aligned.
fn render_rows(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut text = String::new();
    let header: Vec<String> = header.iter().map(|cell| cell.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (column, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if column == 0 {
                let _ = write!(line, "{cell:<width$}");
            } else {
                let _ = write!(line, "  {cell:>width$}");
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

fn format_ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |value| format!("{value:.3}"))
}

fn format_seconds(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |value| format!("{value:.1}"))
}

#[cfg(test)]
mod tests;
