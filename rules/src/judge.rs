//! Judging one event: detectors, session risk, policy, and what the profile learns.

use crate::config::RulesConfig;
use crate::detectors::{brute_force, first_seen, impossible_travel};
use crate::policy::{map, Evaluator, Facts, Policy, Rule};
use crate::profile::{Profile, SignInContext};
use crate::risk::{round_score, SessionRisks, NO_SESSION};
use cel::Value;
use std::sync::Arc;
use vigil_schemas::{Decision, Detail, Envelope, Mode, Reason, Risk, RiskLevel, Signal, Timestamp};

/// Sessions with less risk than this are not re-evaluated by the policy on events that
/// raise no signal: nothing in a policy should act on a trace of decayed risk.
pub const POLICY_RISK_FLOOR: f64 = 1.0;

/// Most cooldowns remembered per identity.
const MAX_COOLDOWNS: usize = 32;

/// Namespace of decision ids (UUID v5): a fixed random UUID, so ids are stable across
/// versions and machines.
const DECISION_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6b1d_52c1_8f4e_4a0b_9d2e_7c3f_1a5b_0e97);

/// Everything vigil keeps about one identity.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IdentityState {
    /// What is normal for it.
    pub profile: Profile,
    /// Its recent located events.
    pub travel: impossible_travel::TravelHistory,
    /// Its recent failed sign-ins.
    pub failures: brute_force::FailureWindow,
    /// Risk of its sessions.
    pub risks: SessionRisks,
    cooldowns: Vec<Cooldown>,
}

#[derive(Debug, Clone, PartialEq)]
struct Cooldown {
    rule: usize,
    session: String,
    since: Timestamp,
}

/// The shared, read-only part of judgement: tunables and policy.
#[derive(Debug)]
pub struct Rules {
    /// Tunables.
    pub config: RulesConfig,
    /// The compiled policy.
    pub policy: Policy,
}

/// Judges events; one per worker thread (holds the CEL evaluator).
pub struct Judge {
    rules: Arc<Rules>,
    evaluator: Evaluator,
}

/// What judging one event produced.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Every detector hit.
    pub signals: Vec<Signal>,
    /// The session's risk after the event.
    pub risk: Option<Risk>,
    /// The policy's decisions.
    pub decisions: Vec<Decision>,
    /// Conditions that failed to evaluate (rule name, error), for counting and logs.
    pub policy_errors: Vec<(String, String)>,
}

fn session_key(envelope: &Envelope) -> &str {
    let event = &envelope.event;
    event
        .session_id
        .as_deref()
        .or(event.device_id.as_deref())
        .unwrap_or(NO_SESSION)
}

impl Judge {
    /// A judge over shared rules.
    pub fn new(rules: Arc<Rules>) -> Judge {
        Judge {
            rules,
            evaluator: Evaluator::new(),
        }
    }

    /// The rules this judge applies.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Judges one event of the identity whose state this is. The event must carry an
    /// identity (the engine assigns posture events to their device's owner first).
    pub fn judge(&self, state: &mut IdentityState, envelope: &Envelope) -> Verdict {
        let config = &self.rules.config;
        let event = &envelope.event;
        let Some(identity) = event.identity.as_deref() else {
            return Verdict::default();
        };
        state.profile.touch(event.time, event.identity_type);
        let mut signals = Vec::new();
        signals.extend(impossible_travel::detect(
            &mut state.travel,
            envelope,
            &config.impossible_travel,
        ));
        signals.extend(first_seen::detect(
            &state.profile,
            envelope,
            &config.baseline,
            &config.first_seen,
        ));
        signals.extend(brute_force::detect(
            &mut state.failures,
            envelope,
            &config.brute_force,
        ));
        signals.sort_by_key(|signal| signal.detector);
        let key = session_key(envelope);
        let risk = state.risks.update(key, event.time, &signals, &config.risk);
        let mut verdict = Verdict {
            risk: Some(risk),
            ..Verdict::default()
        };
        if !signals.is_empty() || risk.score >= POLICY_RISK_FLOOR {
            self.apply_policy(state, envelope, identity, &signals, risk, &mut verdict);
        }
        if first_seen::is_successful_sign_in(envelope) && risk.level != RiskLevel::High {
            learn(&mut state.profile, envelope, config);
        }
        verdict.signals = signals;
        verdict
    }

    fn apply_policy(
        &self,
        state: &mut IdentityState,
        envelope: &Envelope,
        identity: &str,
        signals: &[Signal],
        risk: Risk,
        verdict: &mut Verdict,
    ) {
        let event = &envelope.event;
        let key = session_key(envelope);
        let facts = facts(
            envelope,
            identity,
            signals,
            risk,
            state
                .profile
                .learning(event.time, &self.rules.config.baseline),
        );
        state.cooldowns.retain(|cooldown| {
            let rule_cooldown = self
                .rules
                .policy
                .rules()
                .get(cooldown.rule)
                .map_or(0, |rule| rule.cooldown.as_micros());
            (event.time.0 - cooldown.since.0).abs() < rule_cooldown
        });
        for (index, rule) in self.rules.policy.rules().iter().enumerate() {
            let cooling = state
                .cooldowns
                .iter()
                .any(|cooldown| cooldown.rule == index && cooldown.session == key);
            if cooling {
                continue;
            }
            match self.evaluator.matches(rule, &facts) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(problem) => {
                    verdict.policy_errors.push((rule.name.clone(), problem));
                    continue;
                }
            }
            if state.cooldowns.len() >= MAX_COOLDOWNS {
                state.cooldowns.remove(0);
            }
            state.cooldowns.push(Cooldown {
                rule: index,
                session: key.to_string(),
                since: event.time,
            });
            verdict
                .decisions
                .push(decision(rule, envelope, identity, signals, risk));
            if rule.mode == Mode::Enforce {
                break;
            }
        }
    }
}

fn learn(profile: &mut Profile, envelope: &Envelope, config: &RulesConfig) {
    let event = &envelope.event;
    let located = !envelope.tags.location_exempt();
    let geo = event.geo.as_ref().filter(|_| located);
    let sign_in = SignInContext {
        time: event.time,
        country: geo.and_then(|geo| geo.country.as_deref()),
        city: geo.filter(|geo| geo.city.is_some()).map(|geo| geo.place()),
        asn: event.asn.filter(|_| located),
        device: event.device_id.as_deref(),
        primary: event
            .auth()
            .is_some_and(|auth| auth.action == vigil_schemas::AuthAction::Login),
    };
    profile.learn_sign_in(&sign_in, &config.baseline);
}

fn text(value: Option<&str>) -> Value {
    Value::from(value.unwrap_or(""))
}

fn facts(
    envelope: &Envelope,
    identity: &str,
    signals: &[Signal],
    risk: Risk,
    learning: bool,
) -> Facts {
    let event = &envelope.event;
    let (action, outcome, factor, resource) = match &event.detail {
        Detail::Auth(auth) => (
            auth.action.as_str(),
            auth.outcome.as_str(),
            auth.factor.as_deref(),
            None,
        ),
        Detail::Access(access) => (
            access.action.as_deref().unwrap_or(""),
            "",
            None,
            Some(access.resource.as_str()),
        ),
        Detail::Posture(posture) => (
            "",
            if posture.compliant {
                "compliant"
            } else {
                "noncompliant"
            },
            None,
            None,
        ),
    };
    let geo = event.geo.as_ref();
    let event_value = map(vec![
        ("kind", event.kind().as_str().into()),
        ("identity", identity.into()),
        ("identity_type", event.identity_type.as_str().into()),
        ("action", action.into()),
        ("outcome", outcome.into()),
        ("factor", text(factor)),
        (
            "ip",
            event.ip.map(|ip| ip.to_string()).unwrap_or_default().into(),
        ),
        ("country", text(geo.and_then(|geo| geo.country.as_deref()))),
        ("city", text(geo.and_then(|geo| geo.city.as_deref()))),
        ("asn", Value::Int(event.asn.map_or(0, i64::from))),
        ("device_id", text(event.device_id.as_deref())),
        ("session_id", text(event.session_id.as_deref())),
        ("app", text(event.app.as_deref())),
        ("resource", text(resource)),
        ("corporate", envelope.tags.corporate.into()),
        ("vpn", envelope.tags.vpn.into()),
    ]);
    let signal = map(signals
        .iter()
        .map(|signal| (signal.detector.as_str(), Value::Float(signal.score)))
        .collect());
    let list = signals
        .iter()
        .map(|signal| {
            map(vec![
                ("detector", signal.detector.as_str().into()),
                ("score", Value::Float(signal.score)),
                ("confidence", Value::Float(signal.confidence)),
            ])
        })
        .collect();
    Facts {
        event: event_value,
        signal,
        signals: Value::List(Arc::new(list)),
        risk: map(vec![
            ("score", Value::Float(risk.score)),
            ("level", risk.level.as_str().into()),
        ]),
        identity: map(vec![
            ("id", identity.into()),
            ("type", event.identity_type.as_str().into()),
            ("learning", learning.into()),
        ]),
    }
}

/// The stable id of a decision: the same rule, identity and triggering event give the
/// same id, so receivers can drop the duplicates a replay after a crash produces. The
/// event's time and vendor id tell apart the members of one vendor batch record.
pub fn decision_id(
    rule: &str,
    identity: &str,
    trigger: &vigil_schemas::Origin,
    time: Timestamp,
    event_id: Option<&str>,
) -> String {
    let name = format!(
        "{rule}\u{1f}{identity}\u{1f}{trigger}\u{1f}{}\u{1f}{}",
        time.0,
        event_id.unwrap_or("")
    );
    uuid::Uuid::new_v5(&DECISION_NAMESPACE, name.as_bytes()).to_string()
}

fn decision(
    rule: &Rule,
    envelope: &Envelope,
    identity: &str,
    signals: &[Signal],
    risk: Risk,
) -> Decision {
    let event = &envelope.event;
    let mut reasons: Vec<Reason> = signals
        .iter()
        .map(|signal| Reason {
            detector: signal.detector,
            score: round_score(signal.score),
            detail: signal.detail.clone(),
        })
        .collect();
    reasons.sort_by(|left, right| {
        right
            .score
            .total_cmp(&left.score)
            .then(left.detector.cmp(&right.detector))
    });
    Decision {
        id: decision_id(
            &rule.name,
            identity,
            &envelope.origin,
            event.time,
            event.event_id.as_deref(),
        ),
        time: event.time,
        decided_at: event.time,
        identity: identity.to_string(),
        session_id: event.session_id.as_deref().map(String::from),
        device_id: event.device_id.as_deref().map(String::from),
        action: rule.action,
        mode: rule.mode,
        risk,
        reasons,
        rule: rule.name.clone(),
        trigger: envelope.origin.clone(),
    }
}
