//! The `sessions` table: the archive follows every session it sees (events with a
//! session id) and writes a snapshot row each time the session's state changes
//! (`vigil_schemas::archive::SESSION_CHANGES`).
//!
//! The tracker sees a batch's events before their signals and decisions (the engine
//! judges a batch whole), so a row's `last_seen` may be a little past its `time`. It
//! keeps a session until it has been idle for the session timeout (then an `expired` row,
//! unless it ended or was revoked), and at most `max_live` sessions: past that the
//! stalest tenth expire early. Both happen in [`Sessions::settle`], once a batch's
//! decisions are in: a batch may span hours of event time, and a session must not expire
//! before the decisions on its earlier events arrive. It is not part of the durable state: after a restart a
//! session seen again starts over at version 1 with an `established` row, which is why
//! the latest-state view orders by `last_seen` before `version`.

use rustc_hash::FxHashMap;
use vigil_schemas::{
    Action, AuthAction, CompactString, Decision, Detail, Envelope, IdentityType, Mode, Outcome,
    RiskLevel, Timestamp,
};

/// Addresses and countries listed per session, at most (the first ones seen).
pub const MAX_LISTED: usize = 16;

/// Sessions followed at once, at most, by default.
pub const MAX_LIVE: usize = 1_000_000;

/// One session as the archive knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The session id.
    pub session_id: CompactString,
    /// Human, service or agent, as last reported.
    pub identity_type: IdentityType,
    /// The first device its events named.
    pub device_id: Option<CompactString>,
    /// Event time of its first event.
    pub established_at: Timestamp,
    /// Event time of its latest event.
    pub last_seen: Timestamp,
    /// Event time of its sign-out.
    pub ended_at: Option<Timestamp>,
    /// Event time of the event that got it revoked (enforce mode).
    pub revoked_at: Option<Timestamp>,
    /// Events seen.
    pub events: u64,
    /// Source addresses, in order of first use.
    pub ips: Vec<std::net::IpAddr>,
    /// Countries, in order of first use.
    pub countries: Vec<CompactString>,
    /// Highest risk it reached.
    pub peak_risk: f64,
    /// Enforced actions, each once, in order of first use.
    pub actions: Vec<&'static str>,
    /// Rows written for it.
    pub version: u32,
    /// Changed since its latest row.
    changed: bool,
    /// The latest event's address and country, inline: most events of a session repeat
    /// them, and matching here skips reading the lists (a cache miss each).
    recent_ip: Option<std::net::IpAddr>,
    recent_country: Option<CompactString>,
}

/// A row to write: when, whose, what changed, and the session after the change.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    /// Event time of the change.
    pub time: Timestamp,
    /// The identity.
    pub identity: CompactString,
    /// One of `SESSION_CHANGES`.
    pub change: &'static str,
    /// The session after the change.
    pub session: Session,
}

/// One identity's sessions, by id, and its newest event time.
#[derive(Debug, Default)]
struct Identity {
    latest: i64,
    sessions: FxHashMap<CompactString, Session>,
}

/// How far ahead of the others one source's clock may run (ingest accepts events up to
/// a day ahead): the sweep of the whole tracker leaves this much slack, so one event
/// stamped hours ahead cannot expire everyone else's sessions.
const CLOCK_SLACK_MICROS: i64 = 24 * 3_600_000_000;

/// The sessions being followed.
#[derive(Debug)]
pub struct Sessions {
    identities: FxHashMap<CompactString, Identity>,
    live: usize,
    max_live: usize,
    idle_micros: i64,
    watermark: i64,
    next_sweep: i64,
}

fn level_rank(score: f64) -> u8 {
    match RiskLevel::of(score) {
        RiskLevel::Low => 0,
        RiskLevel::Medium => 1,
        RiskLevel::High => 2,
    }
}

fn list<T: PartialEq>(items: &mut Vec<T>, item: T) -> bool {
    if items.contains(&item) || items.len() >= MAX_LISTED {
        return false;
    }
    items.push(item);
    true
}

impl Sessions {
    /// A tracker expiring sessions idle for `idle_micros` of event time.
    pub fn new(idle_micros: i64, max_live: usize) -> Sessions {
        Sessions {
            identities: FxHashMap::default(),
            live: 0,
            max_live: max_live.max(1),
            idle_micros: idle_micros.max(1),
            watermark: i64::MIN,
            next_sweep: i64::MIN,
        }
    }

    /// Sessions followed now.
    pub fn live(&self) -> usize {
        self.live
    }

    fn row(
        rows: &mut Vec<SessionRow>,
        time: Timestamp,
        identity: &str,
        change: &'static str,
        session: &mut Session,
    ) {
        session.version = session.version.saturating_add(1);
        session.changed = false;
        rows.push(SessionRow {
            time,
            identity: CompactString::from(identity),
            change,
            session: session.clone(),
        });
    }

    /// Follows an event; rows for what it changed.
    pub fn event(&mut self, envelope: &Envelope, rows: &mut Vec<SessionRow>) {
        let event = &envelope.event;
        let (Some(identity), Some(session_id)) =
            (event.identity.as_deref(), event.session_id.as_deref())
        else {
            return;
        };
        let time = event.time;
        self.watermark = self.watermark.max(time.0);
        let ip = event.ip;
        let country = event.geo.as_ref().and_then(|geo| geo.country.as_ref());
        let known = match self.identities.get_mut(identity) {
            Some(known) => known,
            None => self
                .identities
                .entry(CompactString::from(identity))
                .or_default(),
        };
        known.latest = known.latest.max(time.0);
        let session = match known.sessions.get_mut(session_id) {
            Some(session) => {
                session.events += 1;
                session.last_seen = session.last_seen.max(time);
                session.identity_type = event.identity_type;
                session.changed = true;
                if session.device_id.is_none() {
                    session.device_id = event.device_id.clone();
                }
                let mut moved = false;
                if let Some(ip) = ip.filter(|ip| session.recent_ip != Some(*ip)) {
                    moved |= list(&mut session.ips, ip);
                    session.recent_ip = Some(ip);
                }
                if let Some(country) =
                    country.filter(|country| session.recent_country.as_ref() != Some(*country))
                {
                    if !session.countries.contains(country) {
                        moved |= list(&mut session.countries, country.clone());
                    }
                    session.recent_country = Some(country.clone());
                }
                if moved {
                    Self::row(rows, time, identity, "new_address", session);
                }
                session
            }
            None => {
                let mut session = Session {
                    session_id: CompactString::from(session_id),
                    identity_type: event.identity_type,
                    device_id: event.device_id.clone(),
                    established_at: time,
                    last_seen: time,
                    ended_at: None,
                    revoked_at: None,
                    events: 1,
                    ips: ip.into_iter().collect(),
                    countries: country.cloned().into_iter().collect(),
                    peak_risk: 0.0,
                    actions: Vec::new(),
                    version: 0,
                    changed: false,
                    recent_ip: ip,
                    recent_country: country.cloned(),
                };
                Self::row(rows, time, identity, "established", &mut session);
                self.live += 1;
                known
                    .sessions
                    .entry(CompactString::from(session_id))
                    .or_insert(session)
            }
        };
        if let Detail::Auth(auth) = &event.detail {
            if auth.action == AuthAction::Logout
                && auth.outcome == Outcome::Success
                && session.ended_at.is_none()
            {
                session.ended_at = Some(time);
                Self::row(rows, time, identity, "ended", session);
            }
        }
    }

    /// Notes the session's risk after a signal on it.
    pub fn risk(
        &mut self,
        time: Timestamp,
        identity: &str,
        session_id: Option<&str>,
        risk: Option<f64>,
        rows: &mut Vec<SessionRow>,
    ) {
        let (Some(session_id), Some(risk)) = (session_id, risk) else {
            return;
        };
        let Some(session) = self.find(identity, session_id) else {
            return;
        };
        if risk > session.peak_risk {
            let rose = level_rank(risk) > level_rank(session.peak_risk);
            session.peak_risk = risk;
            session.changed = true;
            if rose {
                Self::row(rows, time, identity, "risk", session);
            }
        }
    }

    /// Notes a decision: enforced actions join the session's list; enforced revocations
    /// revoke it (all the identity's sessions for `revoke_all_sessions`).
    pub fn decision(&mut self, decision: &Decision, rows: &mut Vec<SessionRow>) {
        let identity = decision.identity.as_str();
        let time = decision.time;
        let enforced = decision.mode == Mode::Enforce;
        let action = decision.action.as_str();
        let score = decision.risk.score;
        let note = |session: &mut Session| {
            if score > session.peak_risk {
                session.peak_risk = score;
                session.changed = true;
            }
            if enforced {
                list(&mut session.actions, action);
            }
        };
        if decision.action == Action::RevokeAllSessions {
            let Some(known) = self.identities.get_mut(identity) else {
                return;
            };
            for session in known.sessions.values_mut() {
                note(session);
                if enforced && session.revoked_at.is_none() {
                    session.revoked_at = Some(time);
                    Self::row(rows, time, identity, "revoked", session);
                }
            }
            return;
        }
        let Some(session_id) = decision.session_id.as_deref() else {
            return;
        };
        let Some(session) = self.find(identity, session_id) else {
            return;
        };
        note(session);
        if !enforced {
            return;
        }
        if decision.action == Action::RevokeSession {
            if session.revoked_at.is_none() {
                session.revoked_at = Some(time);
                Self::row(rows, time, identity, "revoked", session);
            }
        } else {
            Self::row(rows, time, identity, "action", session);
        }
    }

    /// Called once a batch's signals and decisions are in: expires the sessions idle past
    /// the timeout (checked once an hour of event time), then sheds the stalest when over
    /// the bound.
    pub fn settle(&mut self, rows: &mut Vec<SessionRow>) {
        if self.watermark >= self.next_sweep {
            self.sweep(rows);
            self.next_sweep = self.watermark.saturating_add(self.idle_micros / 12);
        }
        if self.live > self.max_live {
            self.shed(rows);
        }
    }

    /// Rows for sessions changed since their latest row (`seen`), so the latest row of
    /// each session is current when the archive is flushed.
    pub fn flush(&mut self, rows: &mut Vec<SessionRow>) {
        for (identity, known) in &mut self.identities {
            for session in known.sessions.values_mut() {
                if session.changed {
                    Self::row(rows, session.last_seen, identity, "seen", session);
                }
            }
        }
    }

    fn find(&mut self, identity: &str, session_id: &str) -> Option<&mut Session> {
        self.identities
            .get_mut(identity)?
            .sessions
            .get_mut(session_id)
    }

    /// Drops sessions idle past the timeout by their identity's own clock, or by the
    /// newest clock of all with a day's slack (so an identity gone quiet lets go too).
    fn sweep(&mut self, rows: &mut Vec<SessionRow>) {
        let idle = self.idle_micros;
        let global = self
            .watermark
            .saturating_sub(idle.saturating_add(CLOCK_SLACK_MICROS));
        self.expire_where(rows, |latest, session| {
            session.last_seen.0 < latest.saturating_sub(idle) || session.last_seen.0 < global
        });
    }

    /// Over the bound: the stalest tenth of the sessions expire now (ties at the cutoff
    /// go too when nothing is older, so the bound is always restored).
    fn shed(&mut self, rows: &mut Vec<SessionRow>) {
        let mut seen: Vec<i64> = self
            .identities
            .values()
            .flat_map(|known| known.sessions.values())
            .map(|session| session.last_seen.0)
            .collect();
        if seen.len() < 2 {
            return;
        }
        let nth = (seen.len() / 10).clamp(1, seen.len() - 1);
        let (_, cutoff, _) = seen.select_nth_unstable(nth);
        let cutoff = *cutoff;
        self.expire_where(rows, |_, session| session.last_seen.0 < cutoff);
        if self.live > self.max_live {
            self.expire_where(rows, |_, session| session.last_seen.0 <= cutoff);
        }
    }

    fn expire_where(&mut self, rows: &mut Vec<SessionRow>, stale: impl Fn(i64, &Session) -> bool) {
        let idle = self.idle_micros;
        let watermark = self.watermark;
        let mut left = 0usize;
        self.identities.retain(|identity, known| {
            let latest = known.latest;
            known.sessions.retain(|_, session| {
                if !stale(latest, session) {
                    return true;
                }
                if session.ended_at.is_none() && session.revoked_at.is_none() {
                    let at = Timestamp(session.last_seen.0.saturating_add(idle).min(watermark));
                    Self::row(rows, at, identity, "expired", session);
                } else if session.changed {
                    // Ended or revoked, then used again: its last row counts those events.
                    Self::row(rows, session.last_seen, identity, "seen", session);
                }
                false
            });
            left += known.sessions.len();
            !known.sessions.is_empty()
        });
        self.live = left;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use vigil_schemas::{AccessDetail, AuthDetail, Event, Geo, IpTags, Origin, Risk};

    fn origin() -> Origin {
        Origin::File {
            file: Arc::from("test.jsonl"),
            line: 1,
        }
    }

    const HOUR: i64 = 3_600_000_000;

    fn event(time: i64, session: &str, ip: &str, country: &str, detail: Detail) -> Envelope {
        let mut event = Event::new(Timestamp(time), Some("ana@example.com"), detail);
        event.session_id = Some(session.into());
        event.device_id = Some("laptop-1".into());
        event.ip = ip.parse().ok();
        event.geo = Some(Geo {
            country: Some(country.into()),
            ..Geo::default()
        });
        Envelope {
            event: Box::new(event),
            origin: origin(),
            tags: IpTags::default(),
        }
    }

    fn login(time: i64, session: &str, ip: &str, country: &str) -> Envelope {
        event(
            time,
            session,
            ip,
            country,
            Detail::Auth(AuthDetail {
                action: AuthAction::Login,
                outcome: Outcome::Success,
                factor: None,
                reason: None,
            }),
        )
    }

    fn access(time: i64, session: &str, ip: &str, country: &str) -> Envelope {
        event(
            time,
            session,
            ip,
            country,
            Detail::Access(AccessDetail {
                resource: "/api/items".into(),
                action: None,
                bytes: None,
                status: None,
                tool: None,
                on_behalf_of: None,
            }),
        )
    }

    fn decision(time: i64, session: &str, action: Action, mode: Mode, score: f64) -> Decision {
        Decision {
            id: format!("d-{time}"),
            time: Timestamp(time),
            decided_at: Timestamp(time),
            identity: "ana@example.com".into(),
            session_id: Some(session.into()),
            device_id: None,
            action,
            mode,
            risk: Risk {
                score,
                level: RiskLevel::of(score),
            },
            reasons: Vec::new(),
            rule: "test".into(),
            assurance_level: None,
            trigger: origin(),
        }
    }

    fn changes(rows: &[SessionRow]) -> Vec<(&'static str, u32)> {
        rows.iter()
            .map(|row| (row.change, row.session.version))
            .collect()
    }

    #[test]
    fn a_session_s_life_is_a_row_per_change() {
        let mut sessions = Sessions::new(12 * HOUR, MAX_LIVE);
        let mut rows = Vec::new();
        sessions.event(&login(0, "s1", "198.51.100.7", "DE"), &mut rows);
        sessions.event(&access(HOUR, "s1", "198.51.100.7", "DE"), &mut rows);
        // Risk that stays in its level writes nothing; a higher level does.
        sessions.risk(
            Timestamp(HOUR),
            "ana@example.com",
            Some("s1"),
            Some(20.0),
            &mut rows,
        );
        sessions.event(&access(2 * HOUR, "s1", "203.0.113.9", "BR"), &mut rows);
        sessions.risk(
            Timestamp(2 * HOUR),
            "ana@example.com",
            Some("s1"),
            Some(85.0),
            &mut rows,
        );
        // A monitored revocation changes nothing but the peak; an enforced one revokes.
        sessions.decision(
            &decision(2 * HOUR, "s1", Action::RevokeSession, Mode::Monitor, 90.0),
            &mut rows,
        );
        sessions.decision(
            &decision(2 * HOUR, "s1", Action::RevokeSession, Mode::Enforce, 90.0),
            &mut rows,
        );
        sessions.event(&access(3 * HOUR, "s1", "203.0.113.9", "BR"), &mut rows);
        sessions.flush(&mut rows);
        assert_eq!(
            changes(&rows),
            [
                ("established", 1),
                ("new_address", 2),
                ("risk", 3),
                ("revoked", 4),
                ("seen", 5)
            ]
        );
        let last = &rows[4].session;
        let ips: Vec<String> = last.ips.iter().map(ToString::to_string).collect();
        assert_eq!(ips, ["198.51.100.7", "203.0.113.9"]);
        assert_eq!(last.countries, ["DE", "BR"]);
        assert_eq!(last.peak_risk, 90.0);
        assert_eq!(last.actions, ["revoke_session"]);
        assert_eq!(last.revoked_at, Some(Timestamp(2 * HOUR)));
        assert_eq!(last.events, 4);
        assert_eq!(last.last_seen, Timestamp(3 * HOUR));
        // Nothing new since: a second flush writes nothing.
        let before = rows.len();
        sessions.flush(&mut rows);
        assert_eq!(rows.len(), before);
    }

    #[test]
    fn returning_to_an_earlier_address_is_no_new_address() {
        let mut sessions = Sessions::new(12 * HOUR, MAX_LIVE);
        let mut rows = Vec::new();
        let places = [
            ("198.51.100.7", "DE"),
            ("203.0.113.9", "DE"),
            ("198.51.100.7", "DE"),
            ("203.0.113.9", "FR"),
            ("203.0.113.9", "DE"),
            ("192.0.2.1", "FR"),
        ];
        for (hour, (ip, country)) in places.into_iter().enumerate() {
            sessions.event(&access(hour as i64 * HOUR, "s1", ip, country), &mut rows);
        }
        // Established, then one row for each first use of an address or a country.
        assert_eq!(
            changes(&rows),
            [
                ("established", 1),
                ("new_address", 2),
                ("new_address", 3),
                ("new_address", 4)
            ]
        );
        let last = &rows[3].session;
        let ips: Vec<String> = last.ips.iter().map(ToString::to_string).collect();
        assert_eq!(ips, ["198.51.100.7", "203.0.113.9", "192.0.2.1"]);
        assert_eq!(last.countries, ["DE", "FR"]);
    }

    #[test]
    fn a_revoked_session_used_again_leaves_with_a_row_that_counts_it() {
        let mut sessions = Sessions::new(12 * HOUR, MAX_LIVE);
        let mut rows = Vec::new();
        sessions.event(&login(0, "s1", "198.51.100.7", "DE"), &mut rows);
        sessions.decision(
            &decision(HOUR, "s1", Action::RevokeSession, Mode::Enforce, 90.0),
            &mut rows,
        );
        // The enforcement point has not acted yet: two more requests on the session.
        sessions.event(&access(HOUR + 60, "s1", "198.51.100.7", "DE"), &mut rows);
        sessions.event(&access(HOUR + 120, "s1", "198.51.100.7", "DE"), &mut rows);
        // Idle past the timeout, it leaves without a flush in between.
        sessions.event(&login(20 * HOUR, "s2", "198.51.100.7", "DE"), &mut rows);
        sessions.settle(&mut rows);
        let last = rows
            .iter()
            .rev()
            .find(|row| row.session.session_id == "s1")
            .unwrap();
        assert_eq!((last.change, last.session.events), ("seen", 3));
        assert!(rows.iter().all(|row| row.change != "expired"));
    }

    #[test]
    fn idle_sessions_expire_and_ended_ones_leave_quietly() {
        let mut sessions = Sessions::new(12 * HOUR, MAX_LIVE);
        let mut rows = Vec::new();
        sessions.event(&login(0, "open", "198.51.100.7", "DE"), &mut rows);
        sessions.event(&login(0, "closed", "198.51.100.7", "DE"), &mut rows);
        let mut logout = login(HOUR, "closed", "198.51.100.7", "DE");
        if let Detail::Auth(auth) = &mut logout.event.detail {
            auth.action = AuthAction::Logout;
        }
        sessions.event(&logout, &mut rows);
        sessions.event(&login(14 * HOUR, "next", "198.51.100.7", "DE"), &mut rows);
        sessions.settle(&mut rows);
        let expired: Vec<_> = rows
            .iter()
            .filter(|row| row.change == "expired")
            .map(|row| (row.session.session_id.as_str(), row.time))
            .collect();
        assert_eq!(expired, [("open", Timestamp(12 * HOUR))]);
        assert!(rows.iter().any(|row| row.change == "ended"));
        assert_eq!(sessions.live(), 1);
    }

    #[test]
    fn one_clock_far_ahead_expires_nobody_else() {
        let mut sessions = Sessions::new(12 * HOUR, MAX_LIVE);
        let mut rows = Vec::new();
        sessions.event(&login(0, "mine", "198.51.100.7", "DE"), &mut rows);
        let mut ahead = login(13 * HOUR, "theirs", "198.51.100.8", "DE");
        ahead.event.identity = Some("bob@example.com".into());
        sessions.event(&ahead, &mut rows);
        sessions.settle(&mut rows);
        assert_eq!(sessions.live(), 2);
        assert!(rows.iter().all(|row| row.change != "expired"));
    }

    #[test]
    fn ties_at_the_bound_still_shed_and_actions_stay_bounded() {
        let mut sessions = Sessions::new(12 * HOUR, 10);
        let mut rows = Vec::new();
        for index in 0..30 {
            sessions.event(
                &login(0, &format!("s{index}"), "198.51.100.7", "DE"),
                &mut rows,
            );
            sessions.settle(&mut rows);
            assert!(sessions.live() <= 10);
        }
        sessions.event(&login(1, "busy", "198.51.100.7", "DE"), &mut rows);
        for round in 0..100 {
            let action = if round % 2 == 0 {
                Action::Alert
            } else {
                Action::StepUp
            };
            sessions.decision(&decision(1, "busy", action, Mode::Enforce, 50.0), &mut rows);
        }
        assert_eq!(rows.last().unwrap().session.actions, ["alert", "step_up"]);
    }

    #[test]
    fn revoking_all_sessions_revokes_each_and_the_bound_holds() {
        let mut sessions = Sessions::new(12 * HOUR, 10);
        let mut rows = Vec::new();
        for index in 0..3 {
            sessions.event(
                &login(index, &format!("s{index}"), "198.51.100.7", "DE"),
                &mut rows,
            );
        }
        sessions.decision(
            &decision(5, "s0", Action::RevokeAllSessions, Mode::Enforce, 95.0),
            &mut rows,
        );
        assert_eq!(rows.iter().filter(|row| row.change == "revoked").count(), 3);
        for index in 3..40 {
            sessions.event(
                &login(index, &format!("s{index}"), "198.51.100.7", "DE"),
                &mut rows,
            );
            sessions.settle(&mut rows);
            assert!(sessions.live() <= 10);
        }
    }
}
