//! Judging one event: detectors, session risk, policy, and what the profile learns.

use crate::condition::View;
use crate::config::RulesConfig;
use crate::detectors::{
    access_volume, agent_scope, brute_force, first_seen, impossible_travel, mfa_fatigue,
    posture_degraded, session_hijack, threat_ip, unusual_hour,
};
use crate::policy::{Evaluator, Policy, Rule};
use crate::profile::{Profile, SignInContext};
use crate::risk::{round_score, SessionRisks, NO_SESSION};
use std::sync::Arc;
use vigil_schemas::{
    AuthAction, Decision, Detail, Detector, Envelope, IdentityType, Mode, Reason, Risk, RiskLevel,
    Signal, Timestamp,
};

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
    /// Its access baselines per resource class.
    pub access: access_volume::AccessBaselines,
    /// Its sessions: risk, where each was established, what charged it.
    pub risks: SessionRisks,
    /// The newest event time seen (the identity's watermark).
    pub latest: Timestamp,
    /// Its recent requests per resource class (the access-volume sliding windows).
    pub recent_access: access_volume::RecentAccess,
    /// What most identities never need, allocated when first needed and dropped when
    /// empty again: 8 bytes an identity instead of 48.
    rare: Option<Box<Rare>>,
}

/// The parts of an identity's state most identities never need.
#[derive(Debug, Clone, PartialEq, Default)]
struct Rare {
    /// Recent failed sign-ins and refused MFA prompts, from the first failure or refusal.
    windows: Option<Box<AuthWindows>>,
    /// Devices out of compliance.
    postures: posture_degraded::DevicePostures,
    /// What a service or agent identity was seen doing.
    scope: Option<Box<agent_scope::AgentScope>>,
    /// Policy rules in their cooldown, per session.
    cooldowns: crate::slim::SlimVec<Cooldown>,
}

impl Rare {
    fn is_empty(&self) -> bool {
        self.windows.is_none()
            && self.postures.is_empty()
            && self.scope.is_none()
            && self.cooldowns.is_empty()
    }
}

/// An identity's state as formats 4 and 5 store it (postcard, and JSON for `vigil state
/// inspect`): every part in this order, the rare ones as empty values when absent.
#[derive(serde::Serialize)]
struct StoredRef<'a> {
    profile: &'a Profile,
    travel: &'a impossible_travel::TravelHistory,
    windows: Option<&'a AuthWindows>,
    postures: &'a posture_degraded::DevicePostures,
    access: &'a access_volume::AccessBaselines,
    scope: Option<&'a agent_scope::AgentScope>,
    risks: &'a SessionRisks,
    latest: Timestamp,
    cooldowns: &'a [Cooldown],
    recent_access: &'a access_volume::RecentAccess,
}

/// [`StoredRef`] as read back. Formats 1 to 3 are this without `recent_access` and an
/// agent's principal domains ([`IdentityStateV3`]).
#[derive(serde::Deserialize)]
struct Stored {
    profile: Profile,
    travel: impossible_travel::TravelHistory,
    windows: Option<Box<AuthWindows>>,
    postures: posture_degraded::DevicePostures,
    access: access_volume::AccessBaselines,
    scope: Option<Box<agent_scope::AgentScope>>,
    risks: SessionRisks,
    latest: Timestamp,
    cooldowns: crate::slim::SlimVec<Cooldown>,
    recent_access: access_volume::RecentAccess,
}

impl serde::Serialize for IdentityState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let none = Rare::default();
        let rare = self.rare.as_deref().unwrap_or(&none);
        StoredRef {
            profile: &self.profile,
            travel: &self.travel,
            windows: rare.windows.as_deref(),
            postures: &rare.postures,
            access: &self.access,
            scope: rare.scope.as_deref(),
            risks: &self.risks,
            latest: self.latest,
            cooldowns: &rare.cooldowns,
            recent_access: &self.recent_access,
        }
        .serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for IdentityState {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Stored::deserialize(deserializer).map(IdentityState::from)
    }
}

impl From<Stored> for IdentityState {
    fn from(stored: Stored) -> IdentityState {
        let mut state = IdentityState {
            profile: stored.profile,
            travel: stored.travel,
            access: stored.access,
            risks: stored.risks,
            latest: stored.latest,
            recent_access: stored.recent_access,
            rare: Some(Box::new(Rare {
                windows: stored.windows,
                postures: stored.postures,
                scope: stored.scope,
                cooldowns: stored.cooldowns,
            })),
        };
        state.tidy();
        state
    }
}

/// An identity's state as formats 1 to 3 stored it: without [`IdentityState::recent_access`]
/// and an agent's principal domains.
#[derive(Debug, serde::Deserialize)]
pub struct IdentityStateV3 {
    profile: Profile,
    travel: impossible_travel::TravelHistory,
    windows: Option<Box<AuthWindows>>,
    postures: posture_degraded::DevicePostures,
    access: access_volume::AccessBaselines,
    scope: Option<Box<agent_scope::AgentScopeV3>>,
    risks: SessionRisks,
    latest: Timestamp,
    cooldowns: crate::slim::SlimVec<Cooldown>,
}

impl From<IdentityStateV3> for IdentityState {
    fn from(old: IdentityStateV3) -> IdentityState {
        IdentityState::from(Stored {
            profile: old.profile,
            travel: old.travel,
            windows: old.windows,
            postures: old.postures,
            access: old.access,
            scope: old
                .scope
                .map(|scope| Box::new(agent_scope::AgentScope::from(*scope))),
            risks: old.risks,
            latest: old.latest,
            cooldowns: old.cooldowns,
            recent_access: access_volume::RecentAccess::default(),
        })
    }
}

/// How long an identity of which nothing was learned (only refused sign-ins) is kept
/// after its last event: past every failure window (brute force's 10 minutes, MFA
/// fatigue's) and past most of its risk's decay, so a credential-stuffing run's made-up
/// names cost memory and disk for an hour, not for ever.
pub const LEARNED_NOTHING_KEPT_MICROS: i64 = 3_600_000_000;

impl IdentityState {
    /// Whether nothing was learned of this identity: no successful sign-in, no access
    /// counted, no device out of compliance, no agent scope; only refused sign-ins and
    /// prompts (their windows and risk).
    pub fn learned_nothing(&self) -> bool {
        self.profile.logins == 0
            && self.access.is_empty()
            && self
                .rare
                .as_ref()
                .is_none_or(|rare| rare.postures.is_empty() && rare.scope.is_none())
    }

    /// Its recent failed sign-ins and refused MFA prompts, from its first failure or
    /// refusal (most identities never have any).
    pub fn windows(&self) -> Option<&AuthWindows> {
        self.rare.as_ref()?.windows.as_deref()
    }

    /// Its devices known to be out of compliance, if any ever were.
    pub fn postures(&self) -> Option<&posture_degraded::DevicePostures> {
        self.rare.as_ref().map(|rare| &rare.postures)
    }

    /// What it was seen doing, for service and agent identities only.
    pub fn scope(&self) -> Option<&agent_scope::AgentScope> {
        self.rare.as_ref()?.scope.as_deref()
    }

    /// Drops its failure and prompt windows when nothing in them can count for an event
    /// at `now` or later ([`AuthWindows::over`]); whether they went.
    pub fn forget_windows_over(&mut self, now: Timestamp, config: &RulesConfig) -> bool {
        let over = self
            .windows()
            .is_some_and(|windows| windows.over(now, config));
        if over {
            if let Some(rare) = self.rare.as_mut() {
                rare.windows = None;
            }
            self.tidy();
        }
        over
    }

    /// The rare parts, allocated when first needed.
    fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    /// Drops the rare parts' box once all of them are empty.
    fn tidy(&mut self) {
        if self.rare.as_ref().is_some_and(|rare| rare.is_empty()) {
            self.rare = None;
        }
    }

    /// Forgets `identity` as a principal this identity acted for (an agent's
    /// `on_behalf_of`); whether anything changed.
    pub fn forget_principal(&mut self, identity: &str) -> bool {
        let forgot = self
            .rare
            .as_mut()
            .and_then(|rare| rare.scope.as_mut())
            .is_some_and(|scope| scope.forget_principal(crate::fingerprint(identity)));
        self.tidy();
        forgot
    }

    /// Whether the state is worth nothing at `now`: idle past `forget_after` (everything
    /// in it forgotten by then), or, having learned nothing, idle past
    /// [`LEARNED_NOTHING_KEPT_MICROS`]. Memory and the state store drop such identities.
    pub fn expired(&self, now: Timestamp, config: &crate::RulesConfig) -> bool {
        let idle = now.0.saturating_sub(self.latest.0);
        idle > config.baseline.forget_after.as_micros()
            || (self.learned_nothing() && idle > LEARNED_NOTHING_KEPT_MICROS)
    }
}

/// An identity's windows of failed sign-ins and refused MFA prompts.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct AuthWindows {
    /// Recent failed sign-ins.
    pub failures: brute_force::FailureWindow,
    /// Recent denied or unanswered MFA prompts.
    pub prompts: mfa_fatigue::PromptWindow,
}

impl AuthWindows {
    /// Whether nothing in it can count for an event at `now` or later: every failure,
    /// refused prompt and signal is more than its window before `now`, so a fresh pair
    /// of windows judges such an event the same.
    pub fn over(&self, now: Timestamp, config: &RulesConfig) -> bool {
        let window = config
            .brute_force
            .window
            .as_micros()
            .max(config.mfa_fatigue.window.as_micros());
        let newest = self.failures.newest().max(self.prompts.newest());
        newest.is_none_or(|newest| now.0.saturating_sub(newest.0) > window)
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Cooldown {
    rule: usize,
    session: vigil_schemas::CompactString,
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
        self.judge_with(state, envelope, None)
    }

    /// Judges one event with a signal found across identities (a password spray from the
    /// event's address, which the engine tracks by address).
    pub fn judge_with(
        &self,
        state: &mut IdentityState,
        envelope: &Envelope,
        across: Option<Signal>,
    ) -> Verdict {
        let verdict = self.judge_parts(state, envelope, across);
        state.tidy();
        verdict
    }

    fn judge_parts(
        &self,
        state: &mut IdentityState,
        envelope: &Envelope,
        across: Option<Signal>,
    ) -> Verdict {
        let config = &self.rules.config;
        let event = &envelope.event;
        let Some(identity) = event.identity.as_deref() else {
            return Verdict::default();
        };
        state.profile.touch(event.identity_type);
        state.latest = state.latest.max(event.time);
        let idle = config.session_hijack.idle_timeout.as_micros();
        state.risks.expire(state.latest, idle, &config.risk);
        let refused = event
            .auth()
            .is_some_and(|auth| auth.outcome != vigil_schemas::Outcome::Success);
        // A refused sign-in opens no session: its session id is the attacker's to choose,
        // and fresh ones on failures would evict the live sessions (then a stolen cookie
        // of one of them raises nothing). Its risk is the identity's until the session is
        // tracked, which only successful or authenticated activity does.
        let mut key = session_key(envelope);
        if refused && state.risks.get(key).is_none() {
            key = NO_SESSION;
        }
        state.risks.refresh(key, event.time, &config.risk);
        let tainted_before = state.risks.tainted(key, event.time, &config.risk);
        let prints = crate::Prints::of(event);
        let mut signals = Vec::new();
        signals.extend(impossible_travel::detect(
            &mut state.travel,
            envelope,
            &config.impossible_travel,
        ));
        signals.extend(first_seen::detect(
            &state.profile,
            envelope,
            &prints,
            &config.baseline,
            &config.first_seen,
        ));
        if first_seen::is_successful_sign_in(envelope)
            && event
                .auth()
                .is_some_and(|auth| auth.action == AuthAction::Login)
        {
            let learning = state.profile.learning(event.time, &config.baseline);
            signals.extend(unusual_hour::detect(
                &state.profile.hours,
                event.identity_type,
                event.time,
                learning,
                &config.unusual_hour,
            ));
        }
        if refused || state.windows().is_some() {
            let windows = state.rare_mut().windows.get_or_insert_with(Box::default);
            signals.extend(mfa_fatigue::detect(
                &mut windows.prompts,
                envelope,
                &config.mfa_fatigue,
            ));
            signals.extend(brute_force::detect(
                &mut windows.failures,
                envelope,
                &config.brute_force,
            ));
        }
        signals.extend(across);
        // Sessions with an id are tracked from their first successful or authenticated
        // event (where they began is what session hijack compares with); other keys only
        // once something charged them.
        if event.session_id.is_some() && key != NO_SESSION {
            let session = state.risks.entry(key, event.time, &config.risk);
            signals.extend(session_hijack::detect(
                session,
                envelope,
                &prints,
                &config.session_hijack,
            ));
        }
        let noted = |state: &IdentityState, detector: Detector| {
            state
                .risks
                .get(key)
                .map_or(0.0, |session| session.charged(detector))
        };
        let charged = noted(state, Detector::ThreatIp);
        signals.extend(
            threat_ip::detect(envelope, &config.threat_ip).filter(|signal| signal.score > charged),
        );
        let posture_noted = noted(state, Detector::PostureDegraded) > 0.0;
        // Only a posture report can change what is known of a device.
        let mut no_postures = posture_degraded::DevicePostures::default();
        let postures = if event.posture().is_some() {
            &mut state.rare_mut().postures
        } else if let Some(rare) = state.rare.as_mut() {
            &mut rare.postures
        } else {
            &mut no_postures
        };
        let posture = posture_degraded::detect(postures, envelope, posture_noted, &config.posture);
        signals.extend(posture.clone());
        // Behaviour baselines do not learn from an event that is itself judged risky (a
        // hijacked session's download, a threat address's tool call), nor from a tainted
        // session.
        let risky = tainted_before
            || signals
                .iter()
                .any(|signal| !signal.detector.is_first_seen());
        signals.extend(access_volume::detect(
            &mut state.access,
            &mut state.recent_access,
            envelope,
            risky,
            &config.access_volume,
        ));
        if event.identity_type != IdentityType::User && event.access().is_some() {
            let charged = noted(state, Detector::AgentScope);
            let scope = state.rare_mut().scope.get_or_insert_with(Box::default);
            signals.extend(
                agent_scope::detect(scope, envelope, risky, &config.agent_scope)
                    .filter(|signal| signal.score > charged),
            );
        }
        signals.sort_by_key(|signal| signal.detector);
        let risk = state.risks.update(key, event.time, &signals, &config.risk);
        let mut verdict = Verdict {
            risk: Some(risk),
            ..Verdict::default()
        };
        if !signals.is_empty() || risk.score >= POLICY_RISK_FLOOR {
            let session_id = event.session_id.as_deref();
            self.apply_policy(
                state,
                envelope,
                identity,
                (key, session_id),
                &signals,
                risk,
                &mut verdict,
            );
        }
        // A posture report that degraded a device re-judges every open session of the
        // device's owner on it (sessions not already charged as much): a session that was
        // fine at sign-in is revoked mid-session.
        // Hygiene drift (old patches alone) is recorded on the device, not pushed into
        // every session: only a degradation that is risky on its own re-judges them.
        if let (Some(posture), Some(device)) = (posture, event.device_id.as_deref()) {
            if event.posture().is_some() && posture.score >= RiskLevel::MEDIUM_FROM {
                for session in state.risks.on_device(device, event.time, idle, key) {
                    let charged = state
                        .risks
                        .get(&session)
                        .map_or(0.0, |session| session.charged(Detector::PostureDegraded));
                    if charged >= posture.score {
                        continue;
                    }
                    let signals = [posture.clone()];
                    let risk = state
                        .risks
                        .update(&session, event.time, &signals, &config.risk);
                    self.apply_policy(
                        state,
                        envelope,
                        identity,
                        (&session, Some(&session)),
                        &signals,
                        risk,
                        &mut verdict,
                    );
                }
            }
        }
        // An event judged high risk for reasons other than novelty is the attacker's more
        // likely than the user's: its place is no reference for the user's next sign-in.
        if risk.level == RiskLevel::High
            && signals
                .iter()
                .any(|signal| !signal.detector.is_first_seen())
        {
            state.travel.mark_suspect(event.time, event.ip);
        }
        let tainted = state.risks.tainted(key, event.time, &config.risk);
        if first_seen::is_successful_sign_in(envelope)
            && learnable(envelope, &signals, risk, tainted)
        {
            learn(&mut state.profile, envelope, &prints, config);
        }
        verdict.signals = signals;
        verdict
    }

    /// Evaluates the policy for one session: `(key, session_id)` is the session's risk key
    /// and the session id its decisions name (the event's own, or a re-judged session's).
    #[allow(clippy::too_many_arguments)]
    fn apply_policy(
        &self,
        state: &mut IdentityState,
        envelope: &Envelope,
        identity: &str,
        (key, session_id): (&str, Option<&str>),
        signals: &[Signal],
        risk: Risk,
        verdict: &mut Verdict,
    ) {
        let event = &envelope.event;
        let rejudged = session_id != event.session_id.as_deref();
        let view = view(
            envelope,
            identity,
            session_id,
            signals,
            risk,
            state
                .profile
                .learning(event.time, &self.rules.config.baseline),
        );
        let mut judging = self.evaluator.judging(&view);
        // Cooldowns expire against the newest event time seen for the identity (not the
        // current event's, which may be late), so a late event cannot drop a live one.
        let latest = state.latest;
        let rules = self.rules.policy.rules();
        if let Some(rare) = state.rare.as_mut() {
            rare.cooldowns.retain(|cooldown| {
                let rule_cooldown = rules
                    .get(cooldown.rule)
                    .map_or(0, |rule| rule.cooldown.as_micros());
                latest.0.saturating_sub(cooldown.since.0) < rule_cooldown
            });
        }
        let mut enforced = false;
        for (index, rule) in rules.iter().enumerate() {
            // After the first matching enforce rule only monitor rules run: they record
            // what enforcing them would have done, wherever they stand in the policy.
            if enforced && rule.mode == Mode::Enforce {
                continue;
            }
            match judging.matches(rule) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(problem) => {
                    verdict.policy_errors.push((rule.name.clone(), problem));
                    continue;
                }
            }
            // A matching rule in its cooldown stays quiet and still holds its place: the
            // rules below it do not turn one incident into several decisions.
            let cooldowns = state.rare.as_ref().map_or(&[][..], |rare| &rare.cooldowns);
            let cooling = cooldowns.iter().any(|cooldown| {
                cooldown.rule == index
                    && cooldown.session == key
                    && event.time.0.saturating_sub(cooldown.since.0).abs()
                        < rule.cooldown.as_micros()
            });
            if !cooling {
                let cooldowns = &mut state.rare_mut().cooldowns;
                if cooldowns.len() >= MAX_COOLDOWNS {
                    cooldowns.remove(0);
                }
                cooldowns.push(Cooldown {
                    rule: index,
                    session: key.into(),
                    since: event.time,
                });
                verdict.decisions.push(decision(
                    rule,
                    envelope,
                    identity,
                    (session_id, rejudged),
                    signals,
                    risk,
                ));
            }
            if rule.mode == Mode::Enforce {
                enforced = true;
            }
        }
    }
}

/// Whether a successful sign-in may teach the profile. Baselines learn only from events not
/// judged risky, so an attacker cannot teach vigil that the attack is normal; but a
/// successful MFA on a sign-in whose only signals are first-seen ones (new device,
/// country, network) is the user proving themselves, so it is learned even at high risk:
/// otherwise a real user's new laptop would be flagged on every sign-in forever.
fn learnable(envelope: &Envelope, signals: &[Signal], risk: Risk, session_tainted: bool) -> bool {
    if session_tainted {
        return false;
    }
    if risk.level != RiskLevel::High {
        return true;
    }
    let proven = envelope
        .event
        .auth()
        .is_some_and(|auth| auth.action == AuthAction::Mfa);
    proven && signals.iter().all(|signal| signal.detector.is_first_seen())
}

fn learn(
    profile: &mut Profile,
    envelope: &Envelope,
    prints: &crate::Prints<'_>,
    config: &RulesConfig,
) {
    let event = &envelope.event;
    let located = !envelope.tags.location_exempt();
    let geo = event.geo.as_ref().filter(|_| located);
    let sign_in = SignInContext {
        time: event.time,
        country: geo.and_then(|geo| geo.country.as_deref()),
        asn: event.asn.filter(|_| located),
        device: prints.device(),
        client: prints.client(),
        primary: event
            .auth()
            .is_some_and(|auth| auth.action == vigil_schemas::AuthAction::Login),
    };
    profile.learn_sign_in(&sign_in, &config.baseline);
}

/// What the policy sees of one event.
fn view<'a>(
    envelope: &'a Envelope,
    identity: &'a str,
    session_id: Option<&'a str>,
    signals: &'a [Signal],
    risk: Risk,
    learning: bool,
) -> View<'a> {
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
    View {
        kind: event.kind().as_str(),
        identity,
        identity_type: event.identity_type.as_str(),
        action,
        outcome,
        factor: factor.unwrap_or(""),
        ip: event.ip,
        country: geo.and_then(|geo| geo.country.as_deref()).unwrap_or(""),
        city: geo.and_then(|geo| geo.city.as_deref()).unwrap_or(""),
        asn: event.asn.map_or(0, i64::from),
        device_id: event.device_id.as_deref().unwrap_or(""),
        session_id: session_id.unwrap_or(""),
        app: event.app.as_deref().unwrap_or(""),
        resource: resource.unwrap_or(""),
        corporate: envelope.tags.corporate,
        vpn: envelope.tags.vpn,
        anonymizer: envelope.tags.anonymizer,
        threat: envelope.tags.threat,
        signals,
        risk,
        learning,
    }
}

/// The stable id of a decision: the same rule, identity and triggering event give the
/// same id, so receivers can drop the duplicates a replay after a crash produces. The
/// event's time and vendor id tell apart the members of one vendor batch record; a
/// session re-judged because of another event (a posture report) adds its id.
pub fn decision_id(
    rule: &str,
    identity: &str,
    trigger: &vigil_schemas::Origin,
    time: Timestamp,
    event_id: Option<&str>,
    rejudged_session: Option<&str>,
) -> String {
    let mut name = format!(
        "{rule}\u{1f}{identity}\u{1f}{trigger}\u{1f}{}\u{1f}{}",
        time.0,
        event_id.unwrap_or("")
    );
    if let Some(session) = rejudged_session {
        name.push('\u{1f}');
        name.push_str(session);
    }
    uuid::Uuid::new_v5(&DECISION_NAMESPACE, name.as_bytes()).to_string()
}

fn decision(
    rule: &Rule,
    envelope: &Envelope,
    identity: &str,
    (session_id, rejudged): (Option<&str>, bool),
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
            session_id.filter(|_| rejudged),
        ),
        time: event.time,
        decided_at: event.time,
        identity: identity.to_string(),
        session_id: session_id.map(String::from),
        device_id: event.device_id.as_deref().map(String::from),
        action: rule.action,
        mode: rule.mode,
        risk,
        reasons,
        rule: rule.name.clone(),
        assurance_level: rule.assurance_level.clone(),
        trigger: envelope.origin.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{login_at, Place, BERLIN, NEW_YORK};
    use vigil_schemas::{AccessDetail, Action, Detector};

    /// The budget of `cargo bench --bench state` (under 1 KiB an identity) rests on
    /// these sizes: a growing field shows here before it shows in the bench.
    #[test]
    fn per_identity_state_stays_small() {
        use std::mem::size_of;
        assert_eq!(size_of::<crate::risk::SessionContext>(), 16);
        assert_eq!(size_of::<crate::risk::SessionRisk>(), 72);
        assert_eq!(size_of::<unusual_hour::HourHistogram>(), 16);
        assert_eq!(size_of::<crate::profile::Profile>(), 48);
        assert!(
            size_of::<IdentityState>() <= 128,
            "{}",
            size_of::<IdentityState>()
        );
    }

    fn judge() -> Judge {
        Judge::new(Arc::new(Rules {
            config: RulesConfig::default(),
            policy: Policy::default_policy(),
        }))
    }

    fn in_session(mut envelope: Envelope, session: &str, device: &str, asn: u32) -> Envelope {
        envelope.event.session_id = Some(session.into());
        envelope.event.device_id = Some(device.into());
        envelope.event.asn = Some(asn);
        envelope
    }

    fn mfa(time: &str, place: Place, ip: &str, session: &str, device: &str, asn: u32) -> Envelope {
        let mut envelope = in_session(login_at(time, place, ip), session, device, asn);
        envelope.event.detail = Detail::Auth(vigil_schemas::AuthDetail {
            action: AuthAction::Mfa,
            outcome: vigil_schemas::Outcome::Success,
            factor: Some("push".into()),
            reason: None,
        });
        envelope
    }

    fn access(time: &str, place: Place, ip: &str, session: &str) -> Envelope {
        let mut envelope = in_session(login_at(time, place, ip), session, "laptop-1", 7922);
        envelope.event.detail = Detail::Access(AccessDetail {
            resource: "crm".into(),
            action: None,
            bytes: None,
            status: None,
            tool: None,
            on_behalf_of: None,
        });
        envelope
    }

    /// Twelve days of Berlin sign-ins on one laptop: learning is over.
    fn trained(judge: &Judge) -> IdentityState {
        let mut state = IdentityState::default();
        for day in 1..=12 {
            let envelope = in_session(
                login_at(&format!("2026-02-{day:02}T08:00:00Z"), BERLIN, "85.214.1.1"),
                &format!("s-{day}"),
                "laptop-1",
                3320,
            );
            assert!(judge.judge(&mut state, &envelope).decisions.is_empty());
        }
        state
    }

    fn actions(verdict: &Verdict) -> Vec<(Action, &str)> {
        verdict
            .decisions
            .iter()
            .map(|decision| (decision.action, decision.rule.as_str()))
            .collect()
    }

    #[test]
    fn a_rule_in_cooldown_holds_its_place() {
        let judge = judge();
        let mut state = trained(&judge);
        let stolen = in_session(
            login_at("2026-03-02T08:47:00Z", NEW_YORK, "23.1.1.1"),
            "s-stolen",
            "laptop-1",
            7922,
        );
        let first = judge.judge(
            &mut state,
            &in_session(
                login_at("2026-03-02T08:00:00Z", BERLIN, "85.214.1.1"),
                "s-own",
                "laptop-1",
                3320,
            ),
        );
        assert!(first.decisions.is_empty());
        let verdict = judge.judge(&mut state, &stolen);
        assert!(actions(&verdict).contains(&(Action::RevokeSession, "revoke-impossible-travel")));
        // The attacker goes on from another New York address in the same session: still
        // impossible from Berlin, but the incident already has its decision.
        let again = judge.judge(
            &mut state,
            &access("2026-03-02T08:50:00Z", NEW_YORK, "23.1.1.2", "s-stolen"),
        );
        assert!(again
            .signals
            .iter()
            .any(|signal| signal.detector == Detector::ImpossibleTravel));
        assert!(again.decisions.is_empty(), "{:?}", actions(&again));
    }

    #[test]
    fn a_new_context_proven_by_mfa_is_learned() {
        let judge = judge();
        let mut state = trained(&judge);
        // A new laptop, country and network a week later (a flight, not impossible).
        let login = in_session(
            login_at("2026-02-20T09:00:00Z", NEW_YORK, "23.1.1.1"),
            "s-ny",
            "laptop-2",
            7922,
        );
        let verdict = judge.judge(&mut state, &login);
        assert_eq!(verdict.risk.map(|risk| risk.level), Some(RiskLevel::High));
        assert_eq!(
            actions(&verdict),
            vec![
                (Action::StepUp, "step-up-new-context"),
                (Action::Alert, "monitor-new-network")
            ]
        );
        judge.judge(
            &mut state,
            &mfa(
                "2026-02-20T09:00:20Z",
                NEW_YORK,
                "23.1.1.1",
                "s-ny",
                "laptop-2",
                7922,
            ),
        );
        let next_day = in_session(
            login_at("2026-02-21T09:00:00Z", NEW_YORK, "23.1.1.1"),
            "s-ny-2",
            "laptop-2",
            7922,
        );
        let verdict = judge.judge(&mut state, &next_day);
        assert!(
            verdict.signals.is_empty() && verdict.decisions.is_empty(),
            "{:?}",
            verdict.signals
        );
    }

    #[test]
    fn a_lasting_condition_signals_again_only_when_worse() {
        let judge = judge();
        let mut state = IdentityState::default();
        let threat_score = |verdict: &Verdict| {
            verdict
                .signals
                .iter()
                .find(|signal| signal.detector == Detector::ThreatIp)
                .map(|signal| signal.score)
        };
        let mut anonymous = login_at("2026-03-02T08:00:00Z", BERLIN, "185.220.101.7");
        anonymous.tags.anonymizer = true;
        assert_eq!(
            threat_score(&judge.judge(&mut state, &anonymous)),
            Some(45.0)
        );
        let mut again = login_at("2026-03-02T08:01:00Z", BERLIN, "185.220.101.7");
        again.tags.anonymizer = true;
        assert_eq!(threat_score(&judge.judge(&mut state, &again)), None);
        let mut listed = login_at("2026-03-02T08:02:00Z", BERLIN, "45.155.205.9");
        listed.tags.threat = true;
        assert_eq!(threat_score(&judge.judge(&mut state, &listed)), Some(85.0));
    }

    #[test]
    fn a_sprayed_password_success_is_no_reference_for_the_users_next_sign_in() {
        let judge = judge();
        let mut state = trained(&judge);
        let spray = vigil_schemas::Signal {
            detector: Detector::PasswordSpray,
            score: 90.0,
            confidence: 0.95,
            detail: "spray".into(),
            evidence: serde_json::Value::Null,
        };
        let attacker = in_session(
            login_at("2026-02-13T03:00:00Z", NEW_YORK, "23.1.1.1"),
            "s-attacker",
            "unknown-1",
            7922,
        );
        judge.judge_with(&mut state, &attacker, Some(spray));
        let own = in_session(
            login_at("2026-02-13T06:30:00Z", BERLIN, "85.214.1.1"),
            "s-13",
            "laptop-1",
            3320,
        );
        let verdict = judge.judge(&mut state, &own);
        assert!(
            verdict
                .signals
                .iter()
                .all(|signal| signal.detector != Detector::ImpossibleTravel),
            "{:?}",
            verdict.signals
        );
    }

    #[test]
    fn learning_starts_at_the_first_sign_in() {
        let judge = judge();
        let mut state = IdentityState::default();
        judge.judge(
            &mut state,
            &access("2026-01-01T09:00:00Z", BERLIN, "85.214.1.1", "s-0"),
        );
        let first_sign_in = in_session(
            login_at("2026-01-20T09:00:00Z", BERLIN, "85.214.1.1"),
            "s-1",
            "laptop-1",
            3320,
        );
        let verdict = judge.judge(&mut state, &first_sign_in);
        assert!(
            verdict.signals.is_empty(),
            "still learning: {:?}",
            verdict.signals
        );
        assert_eq!(state.profile.logins, 1);
    }

    mod any_input {
        use super::*;
        use crate::detectors::password_spray::SprayTracker;
        use proptest::prelude::*;
        use vigil_schemas::{
            AuthDetail, Event, Geo, IdentityType, IpTags, Outcome, PostureChecks, PostureDetail,
        };

        fn any_detail() -> impl Strategy<Value = Detail> {
            let auth = (0..4u8, 0..4u8, proptest::option::of("[a-z]{1,6}")).prop_map(
                |(action, outcome, factor)| {
                    Detail::Auth(AuthDetail {
                        action: [
                            AuthAction::Login,
                            AuthAction::Mfa,
                            AuthAction::Logout,
                            AuthAction::TokenRefresh,
                        ][action as usize],
                        outcome: [
                            Outcome::Success,
                            Outcome::Failure,
                            Outcome::Denied,
                            Outcome::Timeout,
                        ][outcome as usize],
                        factor: factor.map(Into::into),
                        reason: None,
                    })
                },
            );
            let posture = (
                any::<bool>(),
                proptest::option::of(any::<bool>()),
                proptest::option::of(any::<bool>()),
                proptest::option::of(any::<u32>()),
                proptest::option::of(any::<bool>()),
            )
                .prop_map(|(compliant, edr, disk, patch, jailbroken)| {
                    Detail::Posture(PostureDetail {
                        compliant,
                        checks: PostureChecks {
                            edr_running: edr,
                            disk_encrypted: disk,
                            os_patch_age_days: patch,
                            jailbroken,
                            firewall: None,
                        },
                    })
                });
            let access = (
                "[a-z/:.]{0,12}",
                proptest::option::of(any::<u64>()),
                proptest::option::of("[a-z_]{1,8}"),
                proptest::option::of("[a-z]{1,4}"),
            )
                .prop_map(|(resource, bytes, tool, principal)| {
                    Detail::Access(AccessDetail {
                        resource,
                        action: None,
                        bytes,
                        status: None,
                        tool: tool.map(Into::into),
                        on_behalf_of: principal.map(Into::into),
                    })
                });
            prop_oneof![auth, posture, access]
        }

        prop_compose! {
            fn any_envelope()(
                seconds in 0i64..40 * 86_400,
                kind in 0..3u8,
                session in proptest::option::of(0..3u8),
                device in proptest::option::of(0..3u8),
                ip in proptest::option::of(0..6u8),
                geo in proptest::option::of((any::<f64>(), any::<f64>(), proptest::option::of(any::<f64>()), proptest::option::of("[A-Z]{2}"))),
                asn in proptest::option::of(0..4u32),
                user_agent in proptest::option::of("[a-zA-Z0-9/. ]{0,16}"),
                detail in any_detail(),
                tags in (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
            ) -> Envelope {
                let mut event = Event::new(
                    Timestamp::from_secs(1_772_409_600 + seconds),
                    Some("alice@example.com"),
                    detail,
                );
                event.identity_type = [IdentityType::User, IdentityType::Service, IdentityType::Agent][kind as usize];
                event.session_id = session.map(|session| format!("s-{session}").into());
                event.device_id = device.map(|device| format!("d-{device}").into());
                event.ip = ip.map(|ip| format!("95.165.0.{ip}").parse().unwrap());
                event.geo = geo.map(|(lat, lon, accuracy_km, country)| Geo {
                    lat: Some(lat),
                    lon: Some(lon),
                    country: country.map(Into::into),
                    city: None,
                    accuracy_km,
                });
                event.asn = asn;
                event.user_agent = user_agent;
                Envelope {
                    event: Box::new(event),
                    origin: vigil_schemas::Origin::File { file: "any".into(), line: 1 },
                    tags: IpTags { corporate: tags.0, vpn: tags.1, non_public: false, anonymizer: tags.2, threat: tags.3 },
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
            /// Whatever the events, every detector's score and confidence and every
            /// session risk stay finite and in range, and nothing panics.
            #[test]
            fn scores_stay_finite_and_in_range(mut events in proptest::collection::vec(any_envelope(), 1..120)) {
                events.sort_by_key(|envelope| envelope.event.time);
                let judge = judge();
                let mut state = IdentityState::default();
                let mut spray = SprayTracker::default();
                for envelope in &events {
                    let across = spray.observe(envelope, &judge.rules().config.password_spray);
                    let verdict = judge.judge_with(&mut state, envelope, across);
                    for signal in &verdict.signals {
                        prop_assert!(signal.score.is_finite() && (0.0..=100.0).contains(&signal.score), "{signal:?}");
                        prop_assert!((0.0..=1.0).contains(&signal.confidence), "{signal:?}");
                    }
                    if let Some(risk) = verdict.risk {
                        prop_assert!(risk.score.is_finite() && (0.0..=100.0).contains(&risk.score));
                    }
                    for decision in &verdict.decisions {
                        prop_assert!((0.0..=100.0).contains(&decision.risk.score));
                    }
                }
            }
        }
    }
}
