//! Ground truth of simulated traffic: which sessions were attacks, of what kind, when they
//! started and which event completed them. `vigil simulate --labels` writes it and
//! `vigil eval` scores decisions against it.
//!
//! One JSON object per line, tagged by `record`:
//! - `attack`: one attack, with the identities it targets, the session or device ids its
//!   events carry (`keys`), when its first event happened (`start`), the event that
//!   completes it, the one a detector can decide on (`completes`), its last event (`end`),
//!   and the detectors expected to see it;
//! - `session`: one session of the traffic (benign or part of an attack), so the share of
//!   benign sessions that got an action can be computed.
//!
//! A decision belongs to an attack when its identity is one of the attack's identities,
//! its session id or device id is one of the attack's keys, and its event time lies between
//! the attack's start and one hour after its end.

use serde::{Deserialize, Serialize};
use vigil_schemas::{Detector, IdentityType, Timestamp};

/// How long after an attack's last event a decision still belongs to it (a late event,
/// a session's next access).
pub const ATTRIBUTION_GRACE_SECS: i64 = 3600;

/// The attacks the simulator weaves in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackKind {
    /// A stolen password used from abroad, minutes after the victim's own sign-in.
    CredentialTheft,
    /// A burst of password guesses against one identity, then a success.
    BruteForce,
    /// One address trying a few passwords against many identities, one of which works.
    PasswordSpray,
    /// A burst of MFA pushes until the tired victim approves one.
    MfaFatigue,
    /// A stolen session cookie replayed from the attacker's device and network.
    SessionTheft,
    /// Malware on a signed-in device stops its EDR agent mid-session.
    CompromisedDevice,
    /// A signed-in session downloads far more than the identity ever does.
    DataExfiltration,
    /// An AI agent calls tools outside its scope, for a principal it never served.
    AgentOutOfScope,
    /// A burst of password guesses against one identity that never succeeds: tens in a
    /// few minutes from one foreign address, or a dozen spread over ten minutes.
    FailedBruteForce,
    /// A spray spread out: an attempt every few minutes for over an hour, from a handful
    /// of addresses in one network, one of which works.
    SlowSpray,
    /// A quiet person's session downloads dozens of documents within the hour, or keeps
    /// many times their usual rate for an hour or two: below any fixed floor.
    QuietExfiltration,
    /// An AI agent calls its usual tools for a principal it never served (a confused
    /// deputy).
    ConfusedDeputy,
}

impl AttackKind {
    /// Every kind, in id order: the eight textbook kinds (`vigil simulate --mix classic`),
    /// then their four subtle variants.
    pub const ALL: [AttackKind; 12] = [
        AttackKind::CredentialTheft,
        AttackKind::BruteForce,
        AttackKind::PasswordSpray,
        AttackKind::MfaFatigue,
        AttackKind::SessionTheft,
        AttackKind::CompromisedDevice,
        AttackKind::DataExfiltration,
        AttackKind::AgentOutOfScope,
        AttackKind::FailedBruteForce,
        AttackKind::SlowSpray,
        AttackKind::QuietExfiltration,
        AttackKind::ConfusedDeputy,
    ];

    /// The stable id.
    pub fn as_str(self) -> &'static str {
        match self {
            AttackKind::CredentialTheft => "credential_theft",
            AttackKind::BruteForce => "brute_force",
            AttackKind::PasswordSpray => "password_spray",
            AttackKind::MfaFatigue => "mfa_fatigue",
            AttackKind::SessionTheft => "session_theft",
            AttackKind::CompromisedDevice => "compromised_device",
            AttackKind::DataExfiltration => "data_exfiltration",
            AttackKind::AgentOutOfScope => "agent_out_of_scope",
            AttackKind::FailedBruteForce => "failed_brute_force",
            AttackKind::SlowSpray => "slow_spray",
            AttackKind::QuietExfiltration => "quiet_exfiltration",
            AttackKind::ConfusedDeputy => "confused_deputy",
        }
    }
}

/// One attack woven into the traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackLabel {
    /// Unique id within the labels file.
    pub id: String,
    /// What kind of attack.
    pub kind: AttackKind,
    /// The identities it targets (one, or many for a spray).
    pub identities: Vec<String>,
    /// Session ids and device ids its events carry.
    pub keys: Vec<String>,
    /// Event time of its first event.
    pub start: Timestamp,
    /// Event time of the event that completes it (the stolen session's first use, the
    /// approved push, the download that crosses the line).
    pub completes: Timestamp,
    /// Event time of its last event.
    pub end: Timestamp,
    /// Detectors expected to raise a signal on it.
    pub detectors: Vec<Detector>,
}

impl AttackLabel {
    /// Whether a decision with this identity, session, device and event time belongs to
    /// the attack.
    pub fn covers(
        &self,
        identity: &str,
        session_id: Option<&str>,
        device_id: Option<&str>,
        time: Timestamp,
    ) -> bool {
        let keyed = |key: Option<&str>| key.is_some_and(|key| self.keys.iter().any(|k| k == key));
        time >= self.start
            && time.0
                <= self
                    .end
                    .0
                    .saturating_add(ATTRIBUTION_GRACE_SECS * 1_000_000)
            && self.identities.iter().any(|victim| victim == identity)
            && (keyed(session_id) || keyed(device_id))
    }
}

/// One session of the traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionLabel {
    /// Whose session.
    pub identity: String,
    /// Human, service or agent.
    pub identity_type: IdentityType,
    /// The session id its events carry.
    pub session_id: String,
    /// Event time of its first event.
    pub start: Timestamp,
    /// The attack it is part of, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attack: Option<String>,
}

/// One line of a labels file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Label {
    /// An attack.
    Attack(AttackLabel),
    /// A session.
    Session(SessionLabel),
}
