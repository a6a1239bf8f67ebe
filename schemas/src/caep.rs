//! CAEP Security Event Tokens (RFC 8417 claims, RFC 9493 subject identifiers, OpenID CAEP
//! 1.0 event types): what vigil tells enforcement points, before signing.
//!
//! Mapping of decisions (DESIGN.md): `revoke_session` and `revoke_all_sessions` ->
//! `session-revoked`; `step_up` -> `risk-level-change`, and `assurance-level-change` when
//! the policy names a target level; `quarantine_device` -> `device-compliance-change`.
//! Alerts and monitor-mode decisions never become SETs. One event per SET; the first SET
//! of a decision has `jti` equal to the decision id, a second one (the assurance level of
//! a step-up) a name-based UUID of the decision id and its event type, so a replay after a
//! crash yields the same `jti`s. No `exp`, no `sub`; `event_timestamp` in seconds;
//! `reason_admin` always set; `initiating_entity` is `policy`.

use crate::{Action, Decision, Mode, RiskLevel};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// CAEP event type URIs.
pub mod event_type {
    /// A session was revoked.
    pub const SESSION_REVOKED: &str =
        "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
    /// The risk level of a subject changed.
    pub const RISK_LEVEL_CHANGE: &str =
        "https://schemas.openid.net/secevent/caep/event-type/risk-level-change";
    /// The assurance level a subject must reach changed.
    pub const ASSURANCE_LEVEL_CHANGE: &str =
        "https://schemas.openid.net/secevent/caep/event-type/assurance-level-change";
    /// A device's compliance changed.
    pub const DEVICE_COMPLIANCE_CHANGE: &str =
        "https://schemas.openid.net/secevent/caep/event-type/device-compliance-change";
}

/// An RFC 9493 subject identifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum SubjectId {
    /// An email address.
    Email {
        /// The address.
        email: String,
    },
    /// An issuer and a subject at that issuer.
    IssSub {
        /// Issuer.
        iss: String,
        /// Subject.
        sub: String,
    },
    /// An identifier only the issuer understands (used inside complex subjects only: the
    /// CAEP interoperability profile rejects it as a whole subject).
    Opaque {
        /// The identifier.
        id: String,
    },
    /// Several facets of one subject.
    Complex {
        /// The user.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<Box<SubjectId>>,
        /// The session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<Box<SubjectId>>,
        /// The device.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device: Option<Box<SubjectId>>,
    },
}

/// The claims of one Security Event Token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityEventToken {
    /// The transmitter.
    pub iss: String,
    /// Unique id: the decision id (or one derived from it).
    pub jti: String,
    /// Issued at, seconds.
    pub iat: i64,
    /// The receiver(s).
    pub aud: String,
    /// Transaction id: the decision id, shared by the SETs of one decision.
    pub txn: String,
    /// Who the event is about.
    pub sub_id: SubjectId,
    /// Exactly one event: type URI -> event members.
    pub events: BTreeMap<String, serde_json::Value>,
}

/// Who vigil is and whom it tells, from `[caep]` in `vigil.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaepIdentity {
    /// `iss` of every SET (vigil's transmitter URL).
    pub issuer: String,
    /// `aud` of every SET (the receivers' stream audience).
    pub audience: String,
    /// Issuer of `iss_sub` user and device subjects (the IdP whose subjects they are);
    /// users whose id is an email address are sent as `email`.
    pub subject_issuer: String,
    /// Send only the user as a simple subject (`email` or `iss_sub`), for receivers that
    /// refuse complex subjects.
    #[serde(default)]
    pub simple_subjects: bool,
}

/// Namespace of derived `jti`s (UUID v5).
const JTI_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x3f2a_91c4_57d8_4e6b_a0c1_9d7e_44b2_16f3);

fn user_subject(identity: &str, caep: &CaepIdentity) -> SubjectId {
    if identity.contains('@') && !identity.starts_with('@') && !identity.ends_with('@') {
        SubjectId::Email {
            email: identity.to_string(),
        }
    } else {
        SubjectId::IssSub {
            iss: caep.subject_issuer.clone(),
            sub: identity.to_string(),
        }
    }
}

fn subject(decision: &Decision, caep: &CaepIdentity, with_session: bool) -> SubjectId {
    let user = user_subject(&decision.identity, caep);
    if caep.simple_subjects {
        return user;
    }
    let session = decision
        .session_id
        .as_ref()
        .filter(|_| with_session)
        .map(|id| Box::new(SubjectId::Opaque { id: id.clone() }));
    let device = decision.device_id.as_ref().map(|device| {
        Box::new(SubjectId::IssSub {
            iss: caep.subject_issuer.clone(),
            sub: device.clone(),
        })
    });
    if session.is_none() && device.is_none() {
        return user;
    }
    SubjectId::Complex {
        user: Some(Box::new(user)),
        session,
        device,
    }
}

fn reason_admin(decision: &Decision) -> serde_json::Value {
    let why = decision
        .reasons
        .first()
        .map_or_else(String::new, |reason| format!(": {}", reason.detail));
    serde_json::json!({ "en": format!("vigil {}{why}", decision.rule) })
}

/// The SETs a decision sends to enforcement points (none for alerts and monitor mode).
pub fn sets_for(decision: &Decision, caep: &CaepIdentity, iat: i64) -> Vec<SecurityEventToken> {
    if decision.mode != Mode::Enforce {
        return Vec::new();
    }
    let timestamp = decision.time.as_secs();
    let common = |jti: String, sub_id: SubjectId, kind: &str, mut event: serde_json::Value| {
        event["event_timestamp"] = timestamp.into();
        event["initiating_entity"] = "policy".into();
        event["reason_admin"] = reason_admin(decision);
        SecurityEventToken {
            iss: caep.issuer.clone(),
            jti,
            iat,
            aud: caep.audience.clone(),
            txn: decision.id.clone(),
            sub_id,
            events: BTreeMap::from([(kind.to_string(), event)]),
        }
    };
    let derived = |kind: &str| {
        uuid::Uuid::new_v5(
            &JTI_NAMESPACE,
            format!("{}\u{1f}{kind}", decision.id).as_bytes(),
        )
        .to_string()
    };
    match decision.action {
        Action::Alert => Vec::new(),
        Action::RevokeSession | Action::RevokeAllSessions => {
            let with_session = decision.action == Action::RevokeSession;
            vec![common(
                decision.id.clone(),
                subject(decision, caep, with_session),
                event_type::SESSION_REVOKED,
                serde_json::json!({}),
            )]
        }
        Action::QuarantineDevice => vec![common(
            decision.id.clone(),
            subject(decision, caep, false),
            event_type::DEVICE_COMPLIANCE_CHANGE,
            serde_json::json!({ "current_status": "not-compliant", "previous_status": "compliant" }),
        )],
        Action::StepUp => {
            let level = match decision.risk.level {
                RiskLevel::Low => "LOW",
                RiskLevel::Medium => "MEDIUM",
                RiskLevel::High => "HIGH",
            };
            let mut risk = serde_json::json!({ "current_level": level, "principal": "USER" });
            if let Some(reason) = decision.reasons.first() {
                risk["risk_reason"] = reason.detector.as_str().to_uppercase().into();
            }
            let mut sets = vec![common(
                decision.id.clone(),
                subject(decision, caep, true),
                event_type::RISK_LEVEL_CHANGE,
                risk,
            )];
            if let Some(level) = &decision.assurance_level {
                let nist = level
                    .strip_prefix("aal")
                    .filter(|number| matches!(*number, "1" | "2" | "3"));
                let (namespace, current) = match nist {
                    Some(number) => ("NIST-AAL", format!("nist-aal{number}")),
                    None => ("custom", level.clone()),
                };
                sets.push(common(
                    derived(event_type::ASSURANCE_LEVEL_CHANGE),
                    subject(decision, caep, true),
                    event_type::ASSURANCE_LEVEL_CHANGE,
                    serde_json::json!({
                        "namespace": namespace,
                        "current_level": current,
                        "change_direction": "increase",
                    }),
                ));
            }
            sets
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Origin, Reason, Risk, Timestamp};

    fn caep() -> CaepIdentity {
        CaepIdentity {
            issuer: "https://vigil.example.com/".into(),
            audience: "https://idp.example.com/caep".into(),
            subject_issuer: "https://idp.example.com/".into(),
            simple_subjects: false,
        }
    }

    fn decision(action: Action, mode: Mode) -> Decision {
        Decision {
            id: "6b1d52c1-0000-5000-8000-000000000001".into(),
            time: Timestamp::from_secs(1_772_440_020),
            decided_at: Timestamp::from_secs(1_772_440_020),
            identity: "alice@example.com".into(),
            session_id: Some("s-1".into()),
            device_id: Some("laptop-1".into()),
            action,
            mode,
            risk: Risk {
                score: 99.9,
                level: RiskLevel::High,
            },
            reasons: vec![Reason {
                detector: crate::Detector::ImpossibleTravel,
                score: 100.0,
                detail: "6,385 km in 47 min".into(),
            }],
            rule: "revoke-impossible-travel".into(),
            assurance_level: None,
            trigger: Origin::File {
                file: "events.jsonl".into(),
                line: 7,
            },
        }
    }

    #[test]
    fn a_revoked_session_names_user_session_and_device() {
        let sets = sets_for(
            &decision(Action::RevokeSession, Mode::Enforce),
            &caep(),
            1_772_440_021,
        );
        assert_eq!(sets.len(), 1);
        let json = serde_json::to_value(&sets[0]).unwrap();
        assert_eq!(json["jti"], "6b1d52c1-0000-5000-8000-000000000001");
        assert_eq!(json["sub_id"]["format"], "complex");
        assert_eq!(
            json["sub_id"]["user"],
            serde_json::json!({"format": "email", "email": "alice@example.com"})
        );
        assert_eq!(
            json["sub_id"]["session"],
            serde_json::json!({"format": "opaque", "id": "s-1"})
        );
        assert_eq!(json["sub_id"]["device"]["format"], "iss_sub");
        let event = &json["events"][event_type::SESSION_REVOKED];
        assert_eq!(event["event_timestamp"], 1_772_440_020);
        assert_eq!(event["initiating_entity"], "policy");
        assert!(event["reason_admin"]["en"]
            .as_str()
            .unwrap()
            .contains("revoke-impossible-travel"));
        assert!(json.get("exp").is_none() && json.get("sub").is_none());
    }

    #[test]
    fn monitor_mode_and_alerts_send_nothing() {
        assert!(sets_for(&decision(Action::RevokeSession, Mode::Monitor), &caep(), 0).is_empty());
        assert!(sets_for(&decision(Action::Alert, Mode::Enforce), &caep(), 0).is_empty());
    }

    #[test]
    fn a_step_up_with_a_level_sends_two_sets_with_stable_distinct_ids() {
        let mut step_up = decision(Action::StepUp, Mode::Enforce);
        step_up.assurance_level = Some("aal2".into());
        let sets = sets_for(&step_up, &caep(), 5);
        assert_eq!(sets.len(), 2);
        assert_eq!(sets[0].jti, step_up.id);
        assert_ne!(sets[1].jti, step_up.id);
        assert_eq!(sets[1].jti, sets_for(&step_up, &caep(), 6)[1].jti);
        let assurance = &sets[1].events[event_type::ASSURANCE_LEVEL_CHANGE];
        assert_eq!(assurance["namespace"], "NIST-AAL");
        assert_eq!(assurance["current_level"], "nist-aal2");
        assert_eq!(
            sets[0].events[event_type::RISK_LEVEL_CHANGE]["current_level"],
            "HIGH"
        );
        assert!(sets
            .iter()
            .all(|set| set.txn == step_up.id && set.events.len() == 1));
    }

    #[test]
    fn strict_receivers_get_a_simple_subject_and_ids_without_at_are_iss_sub() {
        let mut strict = caep();
        strict.simple_subjects = true;
        let mut revoke = decision(Action::RevokeAllSessions, Mode::Enforce);
        assert_eq!(
            sets_for(&revoke, &strict, 0)[0].sub_id,
            SubjectId::Email {
                email: "alice@example.com".into()
            }
        );
        revoke.identity = "00u1abcd".into();
        assert_eq!(
            sets_for(&revoke, &strict, 0)[0].sub_id,
            SubjectId::IssSub {
                iss: "https://idp.example.com/".into(),
                sub: "00u1abcd".into()
            }
        );
    }

    #[test]
    fn a_quarantined_device_is_out_of_compliance() {
        let sets = sets_for(
            &decision(Action::QuarantineDevice, Mode::Enforce),
            &caep(),
            0,
        );
        let event = &sets[0].events[event_type::DEVICE_COMPLIANCE_CHANGE];
        assert_eq!(event["current_status"], "not-compliant");
        assert!(matches!(
            &sets[0].sub_id,
            SubjectId::Complex {
                session: None,
                device: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn the_spec_examples_subjects_parse() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/caep-ssf/examples/caep/caep_05_session-revoked-example-user-device.json");
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        let example: serde_json::Value = serde_json::from_str(&text).unwrap();
        let user: SubjectId = serde_json::from_value(example["sub_id"]["user"].clone()).unwrap();
        assert!(matches!(user, SubjectId::IssSub { .. }));
    }
}
