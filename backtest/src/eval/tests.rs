use super::*;
use crate::labels::SessionLabel;
use std::sync::Arc;
use vigil_schemas::{IdentityType, Origin, Reason, Risk, RiskLevel};

/// 2026-03-02T08:00:00Z.
const T0: i64 = 1_772_438_400;

fn at(offset_secs: i64) -> Timestamp {
    Timestamp::from_secs(T0 + offset_secs)
}

fn attack(id: &str, kind: AttackKind, identity: &str, keys: &[&str]) -> AttackLabel {
    AttackLabel {
        id: id.to_string(),
        kind,
        identities: vec![identity.to_string()],
        keys: keys.iter().map(|key| key.to_string()).collect(),
        start: at(0),
        completes: at(300),
        end: at(600),
        detectors: vec![Detector::ImpossibleTravel, Detector::NewCountry],
    }
}

fn session(identity: &str, session_id: &str, attack: Option<&str>) -> Label {
    Label::Session(SessionLabel {
        identity: identity.to_string(),
        identity_type: IdentityType::User,
        session_id: session_id.to_string(),
        start: at(0),
        attack: attack.map(str::to_string),
    })
}

struct Given {
    identity: &'static str,
    session: Option<&'static str>,
    device: Option<&'static str>,
    offset_secs: i64,
    action: Action,
    mode: Mode,
    detectors: &'static [Detector],
}

const ALICE_S1: Given = Given {
    identity: "alice",
    session: Some("s-1"),
    device: None,
    offset_secs: 400,
    action: Action::RevokeSession,
    mode: Mode::Enforce,
    detectors: &[Detector::ImpossibleTravel],
};

fn decision(given: Given) -> Decision {
    let time = at(given.offset_secs);
    Decision {
        id: format!("{}-{}", given.identity, given.offset_secs),
        time,
        decided_at: time,
        identity: given.identity.to_string(),
        session_id: given.session.map(str::to_string),
        device_id: given.device.map(str::to_string),
        action: given.action,
        mode: given.mode,
        risk: Risk {
            score: 80.0,
            level: RiskLevel::High,
        },
        reasons: given
            .detectors
            .iter()
            .map(|detector| Reason {
                detector: *detector,
                score: 80.0,
                detail: "test".to_string(),
            })
            .collect(),
        rule: "test".to_string(),
        assurance_level: None,
        trigger: Origin::File {
            file: Arc::from("events.jsonl"),
            line: 1,
        },
    }
}

fn kind(report: &Report, kind: AttackKind) -> &KindReport {
    &report.kinds[kind_index(kind)]
}

fn detector(report: &Report, detector: Detector) -> &DetectorReport {
    report
        .detectors
        .iter()
        .find(|entry| entry.detector == detector)
        .expect("detector reported")
}

#[test]
fn indices_follow_the_all_arrays() {
    for (index, detector) in Detector::ALL.into_iter().enumerate() {
        assert_eq!(detector as usize, index);
    }
    for (index, kind) in AttackKind::ALL.into_iter().enumerate() {
        assert_eq!(kind as usize, index);
    }
}

#[test]
fn attributes_by_session_and_by_device_key() {
    let labels = [Label::Attack(attack(
        "a-1",
        AttackKind::SessionTheft,
        "alice",
        &["s-1", "d-9"],
    ))];
    let by_session = decision(ALICE_S1);
    let by_device = decision(Given {
        session: Some("s-other"),
        device: Some("d-9"),
        ..ALICE_S1
    });
    let other_identity = decision(Given {
        identity: "bob",
        ..ALICE_S1
    });
    let no_key = decision(Given {
        session: Some("s-other"),
        device: Some("d-other"),
        ..ALICE_S1
    });
    for (decisions, attributed) in [
        (vec![by_session], 1),
        (vec![by_device], 1),
        (vec![other_identity], 0),
        (vec![no_key], 0),
    ] {
        let report = evaluate(&decisions, &labels);
        assert_eq!(report.overall.attributed, attributed);
        assert_eq!(report.overall.benign, 1 - attributed);
        assert_eq!(report.overall.detected, attributed);
    }
}

#[test]
fn attributes_only_from_start_to_grace_after_end() {
    let labels = [Label::Attack(attack(
        "a-1",
        AttackKind::CredentialTheft,
        "alice",
        &["s-1"],
    ))];
    let grace_end = 600 + crate::labels::ATTRIBUTION_GRACE_SECS;
    for (offset_secs, attributed) in [
        (-1, 0),
        (0, 1),
        (600, 1),
        (grace_end, 1),
        (grace_end + 1, 0),
    ] {
        let report = evaluate(
            &[decision(Given {
                offset_secs,
                ..ALICE_S1
            })],
            &labels,
        );
        assert_eq!(report.overall.attributed, attributed, "{offset_secs}");
    }
}

#[test]
fn scores_recall_and_precision_per_kind() {
    let labels = [
        Label::Attack(attack(
            "a-1",
            AttackKind::CredentialTheft,
            "alice",
            &["s-1"],
        )),
        Label::Attack(attack("a-2", AttackKind::CredentialTheft, "bob", &["s-2"])),
        Label::Attack(attack("a-3", AttackKind::MfaFatigue, "carol", &["s-3"])),
    ];
    let decisions = [
        decision(ALICE_S1),
        decision(Given {
            offset_secs: 500,
            ..ALICE_S1
        }),
        // Benign, with a detector credential thefts expect: counts against precision.
        decision(Given {
            identity: "dave",
            session: Some("s-4"),
            detectors: &[Detector::NewCountry, Detector::NewDevice],
            ..ALICE_S1
        }),
        // Benign, with a detector no attack expects: does not.
        decision(Given {
            identity: "dave",
            session: Some("s-4"),
            detectors: &[Detector::UnusualHour],
            ..ALICE_S1
        }),
    ];
    let report = evaluate(&decisions, &labels);
    let theft = kind(&report, AttackKind::CredentialTheft);
    assert_eq!((theft.attacks, theft.detected), (2, 1));
    assert_eq!(theft.recall, Some(0.5));
    assert_eq!((theft.attributed_decisions, theft.benign_decisions), (2, 1));
    assert_eq!(theft.precision, Some(2.0 / 3.0));
    let f1 = theft.f1.unwrap();
    assert!((f1 - 4.0 / 7.0).abs() < 1e-12, "{f1}");
    let fatigue = kind(&report, AttackKind::MfaFatigue);
    assert_eq!((fatigue.attacks, fatigue.detected), (1, 0));
    assert_eq!(fatigue.recall, Some(0.0));
    assert_eq!(fatigue.precision, Some(0.0));
    assert_eq!(fatigue.f1, Some(0.0));
    let spray = kind(&report, AttackKind::PasswordSpray);
    assert_eq!(spray.attacks, 0);
    assert_eq!(
        (spray.recall, spray.precision, spray.f1),
        (None, None, None)
    );
    assert_eq!(report.kinds.len(), AttackKind::ALL.len());
    assert_eq!(report.overall.recall, Some(1.0 / 3.0));
}

#[test]
fn counts_true_and_false_positives_per_detector() {
    let mut expects_hijack = attack("a-1", AttackKind::SessionTheft, "alice", &["s-1"]);
    expects_hijack.detectors = vec![Detector::SessionHijack, Detector::ThreatIp];
    let labels = [Label::Attack(expects_hijack)];
    let decisions = [
        decision(Given {
            detectors: &[Detector::SessionHijack, Detector::NewAsn],
            ..ALICE_S1
        }),
        decision(Given {
            detectors: &[Detector::SessionHijack],
            offset_secs: 450,
            ..ALICE_S1
        }),
        decision(Given {
            identity: "bob",
            detectors: &[Detector::SessionHijack],
            ..ALICE_S1
        }),
    ];
    let report = evaluate(&decisions, &labels);
    let hijack = detector(&report, Detector::SessionHijack);
    assert_eq!((hijack.true_positives, hijack.false_positives), (2, 1));
    assert_eq!(hijack.precision, Some(2.0 / 3.0));
    assert_eq!((hijack.attacks_expecting, hijack.attacks_seen), (1, 1));
    assert_eq!(hijack.recall, Some(1.0));
    let threat = detector(&report, Detector::ThreatIp);
    assert_eq!((threat.true_positives, threat.false_positives), (0, 0));
    assert_eq!((threat.precision, threat.recall), (None, Some(0.0)));
    assert_eq!(threat.f1, None);
    let asn = detector(&report, Detector::NewAsn);
    assert_eq!((asn.true_positives, asn.attacks_expecting), (1, 0));
    assert_eq!(asn.recall, None);
    let listed: Vec<Detector> = report.detectors.iter().map(|d| d.detector).collect();
    assert_eq!(
        listed,
        [
            Detector::NewAsn,
            Detector::SessionHijack,
            Detector::ThreatIp
        ]
    );
}

#[test]
fn false_positive_rate_counts_only_enforced_actions_other_than_alert() {
    let labels = [
        session("alice", "s-a", None),
        session("alice", "s-b", None),
        session("alice", "s-c", None),
        session("alice", "s-d", None),
        session("alice", "s-e", None),
        session("mallory", "s-x", Some("a-9")),
    ];
    let benign = |session, action, mode| {
        decision(Given {
            session: Some(session),
            action,
            mode,
            ..ALICE_S1
        })
    };
    let decisions = [
        benign("s-a", Action::Alert, Mode::Enforce),
        benign("s-b", Action::StepUp, Mode::Monitor),
        benign("s-c", Action::RevokeSession, Mode::Enforce),
        benign("s-c", Action::Alert, Mode::Enforce),
        benign("s-unknown", Action::StepUp, Mode::Enforce),
        decision(Given {
            identity: "mallory",
            session: Some("s-x"),
            ..ALICE_S1
        }),
        decision(Given {
            session: None,
            ..ALICE_S1
        }),
    ];
    let overall = evaluate(&decisions, &labels).overall;
    assert_eq!(overall.benign_sessions, 5);
    assert_eq!(overall.benign_sessions_with_decision, 3);
    assert_eq!(overall.benign_sessions_enforced, 1);
    assert_eq!(overall.benign_decision_rate, Some(0.6));
    assert_eq!(overall.false_positive_rate, Some(0.2));
    assert_eq!((overall.decisions, overall.benign), (7, 7));
    assert_eq!(overall.benign_unlabelled, 2);
}

#[test]
fn delays_run_from_start_and_from_completion_on() {
    let mut early = attack("a-1", AttackKind::BruteForce, "alice", &["s-1"]);
    early.completes = at(300);
    let mut late = attack("a-2", AttackKind::BruteForce, "bob", &["s-2"]);
    late.completes = at(60);
    let labels = [Label::Attack(early), Label::Attack(late)];
    let decisions = [
        // Out of time order: the earliest attributed decision counts.
        decision(Given {
            offset_secs: 250,
            ..ALICE_S1
        }),
        decision(Given {
            offset_secs: 180,
            ..ALICE_S1
        }),
        decision(Given {
            identity: "bob",
            session: Some("s-2"),
            offset_secs: 120,
            ..ALICE_S1
        }),
    ];
    let report = evaluate(&decisions, &labels);
    let brute = kind(&report, AttackKind::BruteForce);
    // From start: 120 s and 180 s. From completion on: alice's attack completes at 300 s
    // and nothing came after it (left out); bob's completes at 60 s, decided at 120 s.
    assert_eq!(brute.delay_from_start.median_secs, Some(120.0));
    assert_eq!(brute.delay_from_start.p95_secs, Some(180.0));
    assert_eq!(brute.delay_from_completion.median_secs, Some(60.0));
    assert_eq!(brute.delay_from_completion.p95_secs, Some(60.0));
    let none = kind(&report, AttackKind::AgentOutOfScope);
    assert_eq!(none.delay_from_start.median_secs, None);
    assert_eq!(none.delay_from_completion.p95_secs, None);
}

#[test]
fn percentiles_are_nearest_rank() {
    assert_eq!(percentile(&[], 50), None);
    assert_eq!(percentile(&[7], 50), Some(7));
    assert_eq!(percentile(&[7], 95), Some(7));
    assert_eq!(percentile(&[1, 2, 3, 4, 5], 50), Some(3));
    assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
    assert_eq!(percentile(&[1, 2, 3, 4], 95), Some(4));
    let twenty: Vec<i64> = (1..=20).collect();
    assert_eq!(percentile(&twenty, 95), Some(19));
    assert_eq!(percentile(&twenty, 50), Some(10));
    let twenty_one: Vec<i64> = (1..=21).collect();
    assert_eq!(percentile(&twenty_one, 95), Some(20));
    assert_eq!(percentile(&twenty_one, 50), Some(11));
}

#[test]
fn a_malformed_label_line_names_the_file_and_line() {
    let input = format!(
        "{}\n\n  \n{{\"record\":\"attack\",\"id\":\"a-1\"\n",
        serde_json::to_string(&session("alice", "s-1", None)).unwrap()
    );
    let mut labels: Vec<Label> = Vec::new();
    let error = for_each_record(
        input.as_bytes(),
        Path::new("labels.jsonl"),
        "labels",
        |label| labels.push(label),
    )
    .unwrap_err();
    assert_eq!(labels.len(), 1);
    assert!(
        matches!(error, EvalError::Decode { line: 4, .. }),
        "{error}"
    );
    assert_eq!(error.exit_code(), 2);
    let message = error.to_string();
    assert!(
        message.starts_with("failed to decode labels `labels.jsonl` at line 4: EOF")
            && message.ends_with("(column 29)"),
        "{message}"
    );
}

#[test]
fn decisions_read_back_as_written() {
    let written = decision(Given {
        device: Some("d-1"),
        ..ALICE_S1
    });
    let input = format!("{}\r\n\n", serde_json::to_string(&written).unwrap());
    let mut read: Vec<Decision> = Vec::new();
    for_each_record(
        input.as_bytes(),
        Path::new("decisions.jsonl"),
        "decisions",
        |decision| read.push(decision),
    )
    .unwrap();
    assert_eq!(read, [written]);
}

#[test]
fn table_lists_kinds_with_attacks_and_dashes_for_no_value() {
    let labels = [
        Label::Attack(attack("a-1", AttackKind::MfaFatigue, "alice", &["s-1"])),
        session("bob", "s-2", None),
    ];
    let table = render_table(&evaluate(&[], &labels));
    assert!(table.contains("mfa_fatigue"), "{table}");
    assert!(!table.contains("brute_force"), "{table}");
    let row = table
        .lines()
        .find(|line| line.starts_with("mfa_fatigue"))
        .unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "mfa_fatigue",
            "1",
            "0",
            "0.000",
            "0",
            "0.000",
            "-",
            "-",
            "-",
            "-",
            "-",
            "-",
            "-"
        ]
    );
    assert!(table.contains("impossible_travel"), "{table}");
    assert!(table.contains("false positive rate"), "{table}");
}

#[test]
fn only_enforced_actions_other_than_alerts_contain_an_attack() {
    let labels = [
        Label::Attack(attack("a-1", AttackKind::BruteForce, "alice", &["s-1"])),
        Label::Attack(attack("a-2", AttackKind::BruteForce, "bob", &["s-2"])),
        Label::Attack(attack("a-3", AttackKind::BruteForce, "carol", &["s-3"])),
    ];
    let decisions = [
        // Alice: an alert first, a step-up later: contained at the step-up.
        decision(Given {
            offset_secs: 100,
            action: Action::Alert,
            ..ALICE_S1
        }),
        decision(Given {
            offset_secs: 300,
            action: Action::StepUp,
            ..ALICE_S1
        }),
        // Bob: only an alert. Carol: a revocation in monitor mode, never enforced.
        decision(Given {
            identity: "bob",
            session: Some("s-2"),
            offset_secs: 100,
            action: Action::Alert,
            ..ALICE_S1
        }),
        decision(Given {
            identity: "carol",
            session: Some("s-3"),
            offset_secs: 100,
            mode: Mode::Monitor,
            ..ALICE_S1
        }),
    ];
    let report = evaluate(&decisions, &labels);
    let brute = kind(&report, AttackKind::BruteForce);
    assert_eq!((brute.detected, brute.contained), (3, 1));
    assert_eq!(brute.containment, Some(1.0 / 3.0));
    assert_eq!(brute.delay_from_start.median_secs, Some(100.0));
    assert_eq!(brute.containment_delay.median_secs, Some(300.0));
    assert_eq!(
        (report.overall.contained, report.overall.containment),
        (1, Some(1.0 / 3.0))
    );
    assert!(render_table(&report).contains("containment"));
}
