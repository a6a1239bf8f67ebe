//! What vigil concludes: detector signals and policy decisions (wire contract v1).

use crate::{Origin, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The detectors vigil knows, by their stable ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// Two places too far apart for the time between them.
    ImpossibleTravel,
    /// A device never seen for this identity.
    NewDevice,
    /// A country never seen for this identity.
    NewCountry,
    /// An autonomous system never seen for this identity.
    NewAsn,
    /// A sign-in at an hour this identity rarely signs in.
    UnusualHour,
    /// Many failures against one identity in a short window.
    BruteForce,
    /// One source failing across many identities.
    PasswordSpray,
    /// A burst of denied or unanswered MFA pushes.
    MfaFatigue,
    /// A session used from somewhere other than where it was established.
    SessionHijack,
    /// A device fell out of compliance.
    PostureDegraded,
    /// Far more access than this identity's baseline.
    AccessVolume,
    /// An agent or service acting outside its scope.
    AgentScope,
    /// A source on a threat-intelligence or anonymizer list.
    ThreatIp,
}

impl Detector {
    /// Every detector, in id order.
    pub const ALL: [Detector; 13] = [
        Detector::ImpossibleTravel,
        Detector::NewDevice,
        Detector::NewCountry,
        Detector::NewAsn,
        Detector::UnusualHour,
        Detector::BruteForce,
        Detector::PasswordSpray,
        Detector::MfaFatigue,
        Detector::SessionHijack,
        Detector::PostureDegraded,
        Detector::AccessVolume,
        Detector::AgentScope,
        Detector::ThreatIp,
    ];

    /// Whether this detector only says "never seen before" (device, country, network):
    /// the kind of signal a user clears by proving themselves with MFA.
    pub fn is_first_seen(self) -> bool {
        matches!(
            self,
            Detector::NewDevice | Detector::NewCountry | Detector::NewAsn
        )
    }

    /// The stable id used on the wire, in policies and in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Detector::ImpossibleTravel => "impossible_travel",
            Detector::NewDevice => "new_device",
            Detector::NewCountry => "new_country",
            Detector::NewAsn => "new_asn",
            Detector::UnusualHour => "unusual_hour",
            Detector::BruteForce => "brute_force",
            Detector::PasswordSpray => "password_spray",
            Detector::MfaFatigue => "mfa_fatigue",
            Detector::SessionHijack => "session_hijack",
            Detector::PostureDegraded => "posture_degraded",
            Detector::AccessVolume => "access_volume",
            Detector::AgentScope => "agent_scope",
            Detector::ThreatIp => "threat_ip",
        }
    }
}

impl fmt::Display for Detector {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One detector's finding on one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Which detector.
    pub detector: Detector,
    /// How risky, 0 to 100.
    pub score: f64,
    /// How sure the detector is, 0 to 1.
    pub confidence: f64,
    /// A sentence a SOC analyst understands.
    pub detail: String,
    /// Structured evidence (distances, counts, places) for analysts and the archive.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub evidence: serde_json::Value,
}

/// A detector hit with the context the archive keeps it in: the event's time, identity,
/// session and origin, and the session's risk after it (the engine's `keep_signals`).
#[derive(Debug, Clone, PartialEq)]
pub struct SignalRecord {
    /// Event time of the event that raised it.
    pub time: Timestamp,
    /// The identity.
    pub identity: compact_str::CompactString,
    /// The event's session.
    pub session_id: Option<compact_str::CompactString>,
    /// The hit.
    pub signal: Signal,
    /// The session's risk after the event (0-100), when the event has a session.
    pub risk: Option<f64>,
    /// The event's origin.
    pub origin: Origin,
}

/// What an enforcement point is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Tell the SOC; change nothing.
    Alert,
    /// Ask for a stronger authentication.
    StepUp,
    /// End this session.
    RevokeSession,
    /// End every session of the identity.
    RevokeAllSessions,
    /// Cut the device off until it is compliant again.
    QuarantineDevice,
}

impl Action {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Alert => "alert",
            Action::StepUp => "step_up",
            Action::RevokeSession => "revoke_session",
            Action::RevokeAllSessions => "revoke_all_sessions",
            Action::QuarantineDevice => "quarantine_device",
        }
    }
}

/// Whether a rule's decisions are sent to enforcement points or only recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Sent to enforcement points.
    #[default]
    Enforce,
    /// Recorded and alerted on, never enforced: for trying a rule out.
    Monitor,
}

impl Mode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Monitor => "monitor",
        }
    }
}

/// Risk bands: low < 40 <= medium < 70 <= high.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Below 40.
    Low,
    /// 40 to below 70.
    Medium,
    /// 70 and above.
    High,
}

impl RiskLevel {
    /// Lower bound of `medium`.
    pub const MEDIUM_FROM: f64 = 40.0;
    /// Lower bound of `high`.
    pub const HIGH_FROM: f64 = 70.0;

    /// The band of a 0-100 score.
    pub fn of(score: f64) -> RiskLevel {
        if score >= Self::HIGH_FROM {
            RiskLevel::High
        } else if score >= Self::MEDIUM_FROM {
            RiskLevel::Medium
        } else {
            RiskLevel::Low
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }
}

/// A session's risk at the moment of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Risk {
    /// 0 to 100.
    pub score: f64,
    /// Band of the score.
    pub level: RiskLevel,
}

/// Why a decision was taken: one detector's contribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Which detector.
    pub detector: Detector,
    /// Its score, 0 to 100.
    pub score: f64,
    /// A sentence a SOC analyst understands.
    pub detail: String,
}

/// A policy decision, as sent to enforcement points, the SOC and the archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Stable id derived from rule, identity and trigger: a replay yields the same id.
    pub id: String,
    /// Event time of the triggering event.
    pub time: Timestamp,
    /// When vigil decided: wall clock when live, the trigger's event time in replay.
    pub decided_at: Timestamp,
    /// The identity concerned.
    pub identity: String,
    /// The session concerned, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The device concerned, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// What to do.
    pub action: Action,
    /// Enforce or only record.
    pub mode: Mode,
    /// Session risk when decided.
    pub risk: Risk,
    /// The detector findings behind it, strongest first.
    pub reasons: Vec<Reason>,
    /// The policy rule that matched.
    pub rule: String,
    /// For `step_up`: the assurance level the policy asks receivers to require (CAEP
    /// `assurance-level-change`), when the rule names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assurance_level: Option<String>,
    /// Where the triggering event was read.
    pub trigger: Origin,
}
