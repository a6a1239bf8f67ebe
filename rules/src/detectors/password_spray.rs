//! `password_spray`: one source address failing sign-ins across many identities, and a
//! success from that address afterwards.
//!
//! A spray tries one or two common passwords against many accounts, slowly, to stay under
//! each account's lockout: per identity it looks like a typo, so this detector is keyed by
//! source address, not identity, and the engine runs it over every sign-in in event-time
//! order before the identities are judged. When an address has failed for
//! `min_identities` distinct identities within `window`, the failure that shows it raises
//! a medium signal (once per window), and any success from it within the window a high
//! one: that password worked, and the decision comes on that sign-in.
//!
//! A patient spray spreads out: an attempt every few minutes, for hours, taking turns
//! over a handful of addresses of one network (a /24, or a /48 for IPv6), so no address
//! ever reaches `min_identities`. So failures are also counted per network: when one has
//! failed for `network_min_identities` distinct identities (3: a few minutes of such a
//! spray) from at least `network_min_addresses` of its addresses (2: one address is
//! judged on its own) within `window`, the spray is shown, and a success from any of its
//! addresses afterwards is high (an identity that failed and then signed in from the
//! network mistyped: its failures stop counting there). The default policy alerts on the
//! spray and revokes every session of an identity whose password it found.
//!
//! Classic false positive: a busy shared address (an office NAT not configured as
//! corporate, a university, a hotel) sees typos from many people, but far more
//! successes: an address counts as spraying only while its failing identities outnumber
//! the identities that signed in successfully from it in the window (per network too: an
//! ISP's /24 of households, a hosting network whose services sign in). A jump host or an
//! office behind one address is one address, never a network spray. Corporate, VPN and
//! private addresses are never judged.

use crate::check::{is_score, Invalid};
use crate::duration::Duration;
use crate::fingerprint;
use crate::window::insert_sorted;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde_json::json;
use std::collections::VecDeque;
use std::net::IpAddr;
use vigil_schemas::{AuthAction, Detector, Envelope, Outcome, Signal, Timestamp};

/// Most failures remembered per address.
pub const MAX_REMEMBERED_FAILURES: usize = 256;
/// Most addresses tracked; beyond it, addresses idle for a window leave, then the least
/// recently active half.
pub const MAX_ADDRESSES: usize = 1 << 16;

/// One network's recent sign-ins (a /24, or a /48 for IPv6).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct NetworkWindow {
    /// (time, identity fingerprint, address within the network) of failures, by time.
    failures: VecDeque<(Timestamp, u64, u16)>,
    /// (time, identity fingerprint) of successes, by time.
    successes: VecDeque<(Timestamp, u64)>,
    signalled: Option<Timestamp>,
    latest: Timestamp,
}

impl NetworkWindow {
    /// Distinct failing identities and distinct addresses they failed from, in the window.
    fn failing(&self, end: Timestamp, window: i64) -> (usize, usize) {
        let recent = || {
            self.failures
                .iter()
                .filter(move |(time, _, _)| *time <= end && end.0.saturating_sub(time.0) <= window)
        };
        let mut identities: Vec<u64> = recent().map(|(_, identity, _)| *identity).collect();
        identities.sort_unstable();
        identities.dedup();
        let mut addresses: Vec<u16> = recent().map(|(_, _, address)| *address).collect();
        addresses.sort_unstable();
        addresses.dedup();
        (identities.len(), addresses.len())
    }

    fn forget_before(&mut self, horizon: i64) {
        while self
            .failures
            .front()
            .is_some_and(|entry| entry.0 .0 < horizon)
        {
            self.failures.pop_front();
        }
        while self
            .successes
            .front()
            .is_some_and(|entry| entry.0 .0 < horizon)
        {
            self.successes.pop_front();
        }
    }
}

/// The network of an address: its /24 (IPv4) or /48 (IPv6), and the address's place in
/// it (the low 8 bits; for IPv6 bits 64-79, the /64 a host holds).
fn network_of(ip: IpAddr) -> (IpAddr, u16) {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            (IpAddr::V4((bits & !0xff).into()), (bits & 0xff) as u16)
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            (
                IpAddr::V6((bits & !((1u128 << 80) - 1)).into()),
                (bits >> 64) as u16,
            )
        }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct AddressWindow {
    /// (time, identity fingerprint) of failures, sorted by time.
    failures: VecDeque<(Timestamp, u64)>,
    /// (time, identity fingerprint) of successes, sorted by time.
    successes: VecDeque<(Timestamp, u64)>,
    signalled: Option<Timestamp>,
    latest: Timestamp,
}

impl AddressWindow {
    fn distinct_failing(&self, end: Timestamp, window: i64) -> usize {
        Self::distinct(&self.failures, end, window)
    }

    /// Distinct identities that signed in successfully: an attacker holding one valid
    /// account cannot mask a spray by signing in with it between attempts.
    fn successes(&self, end: Timestamp, window: i64) -> usize {
        Self::distinct(&self.successes, end, window)
    }

    fn distinct(list: &VecDeque<(Timestamp, u64)>, end: Timestamp, window: i64) -> usize {
        let mut seen: Vec<u64> = list
            .iter()
            .filter(|(time, _)| *time <= end && end.0.saturating_sub(time.0) <= window)
            .map(|(_, identity)| *identity)
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }
}

/// Spray state of all addresses and networks: engine-wide, fed in event-time order.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct SprayTracker {
    addresses: FxHashMap<IpAddr, AddressWindow>,
    networks: FxHashMap<IpAddr, NetworkWindow>,
}

/// The tracker as state format 2 stored it (addresses only): decoded into a tracker
/// without networks ([`SprayTracker::from`]).
#[derive(Debug, Default, serde::Deserialize)]
pub struct AddressesOnly {
    addresses: FxHashMap<IpAddr, AddressWindow>,
}

impl From<AddressesOnly> for SprayTracker {
    fn from(old: AddressesOnly) -> SprayTracker {
        SprayTracker {
            addresses: old.addresses,
            networks: FxHashMap::default(),
        }
    }
}

impl SprayTracker {
    /// Forgets every attempt of the identity with `fingerprint` (a privacy request);
    /// whether any was held.
    pub fn forget(&mut self, fingerprint: u64) -> bool {
        let mut found = false;
        for address in self.addresses.values_mut() {
            let before = address.failures.len() + address.successes.len();
            address
                .failures
                .retain(|(_, identity)| *identity != fingerprint);
            address
                .successes
                .retain(|(_, identity)| *identity != fingerprint);
            found |= address.failures.len() + address.successes.len() != before;
        }
        for network in self.networks.values_mut() {
            let before = network.failures.len() + network.successes.len();
            network
                .failures
                .retain(|(_, identity, _)| *identity != fingerprint);
            network
                .successes
                .retain(|(_, identity)| *identity != fingerprint);
            found |= network.failures.len() + network.successes.len() != before;
        }
        found
    }

    /// Addresses tracked.
    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    /// Whether no address is tracked.
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    /// Forgets the addresses and networks with no attempt within `keep` of `now` (the
    /// newest event time), so the tracker holds what a spray in progress needs rather than
    /// every address seen since the start. With `keep` at least twice the window, an event
    /// up to a window late finds nothing the forgotten entry would still have counted: its
    /// failures and successes and its last signal are all out of the window by then.
    pub fn expire(&mut self, now: Timestamp, keep: i64) {
        let recent = |latest: Timestamp| now.0.saturating_sub(latest.0) <= keep;
        self.addresses.retain(|_, address| recent(address.latest));
        self.networks.retain(|_, network| recent(network.latest));
        if self.addresses.capacity() > 2 * self.addresses.len() + 64 {
            self.addresses.shrink_to_fit();
        }
        if self.networks.capacity() > 2 * self.networks.len() + 64 {
            self.networks.shrink_to_fit();
        }
    }

    fn make_room(&mut self, now: Timestamp, window: i64) {
        if self.networks.len() >= MAX_ADDRESSES {
            self.networks
                .retain(|_, network| now.0.saturating_sub(network.latest.0) <= window);
            if self.networks.len() >= MAX_ADDRESSES {
                let mut latest: Vec<Timestamp> = self
                    .networks
                    .values()
                    .map(|network| network.latest)
                    .collect();
                let middle = latest.len() / 2;
                let (_, cut, _) = latest.select_nth_unstable(middle);
                let cut = *cut;
                self.networks.retain(|_, network| network.latest > cut);
            }
        }
        if self.addresses.len() < MAX_ADDRESSES {
            return;
        }
        self.addresses
            .retain(|_, address| now.0.saturating_sub(address.latest.0) <= window);
        if self.addresses.len() >= MAX_ADDRESSES {
            // A flood of fresh addresses: keep the more recently active half (a spray in
            // progress is recent), so one attacker cannot wipe the state.
            let mut latest: Vec<Timestamp> = self
                .addresses
                .values()
                .map(|address| address.latest)
                .collect();
            let middle = latest.len() / 2;
            let (_, cut, _) = latest.select_nth_unstable(middle);
            let cut = *cut;
            self.addresses.retain(|_, address| address.latest > cut);
        }
    }

    /// Observes one event; returns the spray signal it carries, if any (the address's,
    /// else its network's).
    pub fn observe(&mut self, envelope: &Envelope, config: &PasswordSprayConfig) -> Option<Signal> {
        if !config.enabled || envelope.tags.location_exempt() {
            return None;
        }
        let event = &envelope.event;
        let auth = event
            .auth()
            .filter(|auth| auth.action == AuthAction::Login)?;
        let source = event.ip?;
        let identity = event.identity.as_deref()?;
        let failed = matches!(auth.outcome, Outcome::Failure | Outcome::Denied);
        let by_address = self.observe_address(source, identity, event.time, auth.outcome, config);
        let by_network = self.observe_network(source, identity, event.time, failed, config);
        by_address.or(by_network)
    }

    /// The network pass: failures counted per /24 (/48) with the addresses they came from.
    fn observe_network(
        &mut self,
        source: IpAddr,
        identity: &str,
        time: Timestamp,
        failed: bool,
        config: &PasswordSprayConfig,
    ) -> Option<Signal> {
        let (network, address) = network_of(source);
        let window = config.window.as_micros();
        if !failed && !self.networks.contains_key(&network) {
            return None;
        }
        if !self.networks.contains_key(&network) {
            self.make_room(time, window);
        }
        let entry = self.networks.entry(network).or_default();
        entry.latest = entry.latest.max(time);
        entry.forget_before(entry.latest.0.saturating_sub(window));
        let identities = config.network_min_identities.max(MIN_SPRAY_IDENTITIES) as usize;
        let addresses = config.network_min_addresses.max(2) as usize;
        let print = fingerprint(identity);
        if failed {
            insert_sorted(
                &mut entry.failures,
                (time, print, address),
                MAX_REMEMBERED_FAILURES,
            );
        } else {
            insert_sorted(&mut entry.successes, (time, print), MAX_REMEMBERED_FAILURES);
            // Mistyped, then signed in: a typo, not a sprayed account, and not the
            // spray's success either.
            let before = entry.failures.len();
            entry.failures.retain(|(_, failed, _)| *failed != print);
            if entry.failures.len() != before {
                return None;
            }
        }
        let (failing, from) = entry.failing(time, window);
        let successes = AddressWindow::distinct(&entry.successes, time, window);
        if failing < identities || from < addresses || failing <= successes {
            return None;
        }
        let prefix = if network.is_ipv4() { 24 } else { 48 };
        if failed {
            let quiet = entry
                .signalled
                .is_some_and(|last| time.0.saturating_sub(last.0).abs() <= window);
            if quiet {
                return None;
            }
            entry.signalled = Some(time);
            return Some(Signal {
                detector: Detector::PasswordSpray,
                score: config.spray_score,
                confidence: 0.85,
                detail: format!(
                    "network {network}/{prefix} failed sign-ins for {failing} identities from {from} addresses within {}",
                    config.window
                ),
                evidence: json!({ "network": format!("{network}/{prefix}"), "identities": failing, "addresses": from, "successes": successes, "window_s": config.window.0 }),
            });
        }
        Some(Signal {
            detector: Detector::PasswordSpray,
            score: config.success_after_spray_score,
            confidence: 0.9,
            detail: format!(
                "sign-in succeeded from {source}, whose network {network}/{prefix} failed sign-ins for {failing} identities from {from} addresses within {}",
                config.window
            ),
            evidence: json!({ "ip": source, "network": format!("{network}/{prefix}"), "identities": failing, "addresses": from, "successes": successes, "window_s": config.window.0, "succeeded": true }),
        })
    }

    /// The address pass (an IPv6 /64 is one address).
    fn observe_address(
        &mut self,
        source: IpAddr,
        identity: &str,
        time: Timestamp,
        outcome: Outcome,
        config: &PasswordSprayConfig,
    ) -> Option<Signal> {
        // An IPv6 attacker holds a whole /64: one source.
        let ip = match source {
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
            v4 => v4,
        };
        let window = config.window.as_micros();
        let failed = matches!(outcome, Outcome::Failure | Outcome::Denied);
        if !failed && !self.addresses.contains_key(&ip) {
            // Successes from addresses without failures are the common case: no state.
            return None;
        }
        if !self.addresses.contains_key(&ip) {
            self.make_room(time, window);
        }
        let address = self.addresses.entry(ip).or_default();
        address.latest = address.latest.max(time);
        // What fell out of the window (against the newest event seen) is forgotten.
        let horizon = address.latest.0.saturating_sub(window);
        while address
            .failures
            .front()
            .is_some_and(|(time, _)| time.0 < horizon)
        {
            address.failures.pop_front();
        }
        while address
            .successes
            .front()
            .is_some_and(|(time, _)| time.0 < horizon)
        {
            address.successes.pop_front();
        }
        let threshold = config.min_identities.max(2) as usize;
        if failed {
            insert_sorted(
                &mut address.failures,
                (time, fingerprint(identity)),
                MAX_REMEMBERED_FAILURES,
            );
            let failing = address.distinct_failing(time, window);
            let successes = address.successes(time, window);
            let quiet = address
                .signalled
                .is_some_and(|last| time.0.saturating_sub(last.0).abs() <= window);
            if failing < threshold || failing <= successes || quiet {
                return None;
            }
            address.signalled = Some(time);
            return Some(Signal {
                detector: Detector::PasswordSpray,
                score: config.spray_score,
                confidence: 0.9,
                detail: format!(
                    "address {ip} failed sign-ins for {failing} identities within {}",
                    config.window
                ),
                evidence: json!({ "ip": ip, "identities": failing, "successes": successes, "window_s": config.window.0 }),
            });
        }
        if outcome != Outcome::Success {
            return None;
        }
        insert_sorted(
            &mut address.successes,
            (time, fingerprint(identity)),
            MAX_REMEMBERED_FAILURES,
        );
        let failing = address.distinct_failing(time, window);
        let successes = address.successes(time, window);
        if failing < threshold || failing <= successes {
            return None;
        }
        Some(Signal {
            detector: Detector::PasswordSpray,
            score: config.success_after_spray_score,
            confidence: 0.95,
            detail: format!(
                "sign-in succeeded from {ip}, which failed sign-ins for {failing} identities within {}",
                config.window
            ),
            evidence: json!({ "ip": ip, "identities": failing, "successes": successes, "window_s": config.window.0, "succeeded": true }),
        })
    }
}

/// The password-spray detector (cross-identity, keyed by source address).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordSprayConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// Distinct identities one address must fail for within `window`: 10 is far past a
    /// shared household or a hotel's typos, and sprays try hundreds.
    pub min_identities: u32,
    /// The sliding window: sprays go slow to stay under per-account lockouts, 30 minutes
    /// still catches one password tried across a directory.
    pub window: Duration,
    /// Distinct identities one network (/24, /48) must fail for within `window`, from at
    /// least `network_min_addresses` of its addresses: 3 is a few minutes of a patient
    /// spray, and no household, office or jump host fails for three people from two
    /// addresses of one network without signing more of them in.
    pub network_min_identities: u32,
    /// Distinct addresses of the network the failures must come from (one address is
    /// judged by `min_identities`).
    pub network_min_addresses: u32,
    /// Score of the spray on the failure that reveals it (medium: passwords are being
    /// tried, none known to work).
    pub spray_score: f64,
    /// Score of a success from the spraying address (high: one password worked).
    pub success_after_spray_score: f64,
}

impl Default for PasswordSprayConfig {
    fn default() -> Self {
        PasswordSprayConfig {
            enabled: true,
            min_identities: 10,
            network_min_identities: 3,
            network_min_addresses: 2,
            window: Duration::minutes(30),
            spray_score: 50.0,
            success_after_spray_score: 90.0,
        }
    }
}

/// The fewest identities a spray can touch: one identity's failures are brute force.
pub const MIN_SPRAY_IDENTITIES: u32 = 2;

impl PasswordSprayConfig {
    /// Checks the values serde cannot; `min_identities` is bounded by what each address
    /// remembers ([`MAX_REMEMBERED_FAILURES`]).
    pub fn validate(&self) -> Result<(), Invalid> {
        crate::check::first([
            (
                self.min_identities >= MIN_SPRAY_IDENTITIES
                    && self.min_identities as usize <= MAX_REMEMBERED_FAILURES,
                "min_identities",
                format!("must be from {MIN_SPRAY_IDENTITIES} to {MAX_REMEMBERED_FAILURES}"),
            ),
            (
                self.network_min_identities >= MIN_SPRAY_IDENTITIES
                    && self.network_min_identities as usize <= MAX_REMEMBERED_FAILURES,
                "network_min_identities",
                format!("must be from {MIN_SPRAY_IDENTITIES} to {MAX_REMEMBERED_FAILURES}"),
            ),
            (
                self.network_min_addresses >= 2,
                "network_min_addresses",
                "must be at least 2 (one address is judged by min_identities)".to_string(),
            ),
            (
                is_score(self.spray_score) && is_score(self.success_after_spray_score),
                "",
                crate::check::SCORES.to_string(),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_schemas::{AuthDetail, Detail, Event};

    fn attempt(second: i64, identity: &str, ip: &str, outcome: Outcome) -> Envelope {
        let mut event = Event::new(
            Timestamp::from_secs(1_772_409_600 + second),
            Some(identity),
            Detail::Auth(AuthDetail {
                action: AuthAction::Login,
                outcome,
                factor: Some("password".into()),
                reason: None,
            }),
        );
        event.ip = Some(ip.parse().unwrap());
        crate::testing::envelope(event)
    }

    #[test]
    fn idle_addresses_are_forgotten_and_a_spray_in_progress_is_not() {
        let config = PasswordSprayConfig::default();
        let window = config.window.as_micros();
        let mut tracker = SprayTracker::default();
        // A typo from an office an hour before, and a spray under way now.
        tracker.observe(
            &attempt(0, "bob@example.com", "81.2.69.142", Outcome::Failure),
            &config,
        );
        let start = 2 * window / 1_000_000 + 60;
        let mut signals = Vec::new();
        let mut spray = |tracker: &mut SprayTracker, victims: std::ops::Range<i64>| {
            for victim in victims {
                let envelope = attempt(
                    start + victim * 20,
                    &format!("user{victim}@example.com"),
                    "95.165.1.9",
                    Outcome::Failure,
                );
                signals.extend(tracker.observe(&envelope, &config));
            }
        };
        spray(&mut tracker, 0..5);
        let now = Timestamp::from_secs(1_772_409_600 + start + 100);
        tracker.expire(now, 2 * window);
        assert_eq!(
            tracker.len(),
            1,
            "the office's address leaves, the sprayer's stays"
        );
        spray(&mut tracker, 5..12);
        assert_eq!(
            signals.len(),
            1,
            "the spray counts its victims across the sweep"
        );
        assert!(
            signals[0].detail.contains("10 identities"),
            "{}",
            signals[0].detail
        );
    }

    #[test]
    fn a_spray_fires_once_then_its_success_is_high() {
        let config = PasswordSprayConfig::default();
        let mut tracker = SprayTracker::default();
        let mut signals = Vec::new();
        for victim in 0..40 {
            let envelope = attempt(
                victim * 20,
                &format!("user{victim}@example.com"),
                "95.165.1.9",
                Outcome::Failure,
            );
            signals.extend(tracker.observe(&envelope, &config));
        }
        assert_eq!(signals.len(), 1, "{signals:?}");
        assert_eq!(signals[0].score, 50.0);
        assert!(
            signals[0].detail.contains("10 identities"),
            "{}",
            signals[0].detail
        );
        let success = tracker
            .observe(
                &attempt(900, "user41@example.com", "95.165.1.9", Outcome::Success),
                &config,
            )
            .unwrap();
        assert_eq!(success.score, 90.0);
        // An hour later the window is over.
        assert_eq!(
            tracker.observe(
                &attempt(4_400, "user42@example.com", "95.165.1.9", Outcome::Success),
                &config
            ),
            None
        );
    }

    #[test]
    fn brute_force_on_one_identity_is_not_a_spray() {
        let config = PasswordSprayConfig::default();
        let mut tracker = SprayTracker::default();
        for second in 0..50 {
            assert_eq!(
                tracker.observe(
                    &attempt(second, "alice@example.com", "95.165.1.9", Outcome::Failure),
                    &config
                ),
                None
            );
        }
    }

    #[test]
    fn false_positive_a_busy_shared_address_with_typos_is_quiet() {
        let config = PasswordSprayConfig::default();
        let mut tracker = SprayTracker::default();
        for person in 0..300 {
            let identity = format!("user{person}@example.com");
            if person % 20 == 0 {
                assert_eq!(
                    tracker.observe(
                        &attempt(person * 5, &identity, "81.2.69.1", Outcome::Failure),
                        &config
                    ),
                    None
                );
            }
            assert_eq!(
                tracker.observe(
                    &attempt(person * 5 + 2, &identity, "81.2.69.1", Outcome::Success),
                    &config
                ),
                None
            );
        }
    }

    #[test]
    fn an_ipv6_spray_rotating_addresses_in_its_64_is_one_source() {
        let config = PasswordSprayConfig::default();
        let mut tracker = SprayTracker::default();
        let signals: Vec<Signal> = (0..12)
            .filter_map(|victim| {
                let ip = format!("2001:db8:1:2::{victim:x}");
                tracker.observe(
                    &attempt(
                        victim * 30,
                        &format!("user{victim}@example.com"),
                        &ip,
                        Outcome::Failure,
                    ),
                    &config,
                )
            })
            .collect();
        assert_eq!(signals.len(), 1);
        assert_eq!(tracker.len(), 1);
    }

    #[test]
    fn corporate_addresses_are_never_judged() {
        let config = PasswordSprayConfig::default();
        let mut tracker = SprayTracker::default();
        for victim in 0..40 {
            let mut envelope = attempt(
                victim,
                &format!("user{victim}@example.com"),
                "203.0.113.5",
                Outcome::Failure,
            );
            envelope.tags.corporate = true;
            assert_eq!(tracker.observe(&envelope, &config), None);
        }
        assert!(tracker.is_empty());
    }

    #[test]
    fn a_tracker_of_addresses_only_reads_as_one_without_networks() {
        let config = PasswordSprayConfig::default();
        let mut tracker = SprayTracker::default();
        for victim in 0..3 {
            tracker.observe(
                &attempt(
                    victim,
                    &format!("user{victim}@example.com"),
                    &format!("95.165.1.{victim}"),
                    Outcome::Failure,
                ),
                &config,
            );
        }
        assert_eq!(tracker.networks.len(), 1);
        // State format 2 wrote the addresses alone.
        let old = postcard::to_allocvec(&tracker.addresses).unwrap();
        let read: AddressesOnly = postcard::from_bytes(&old).unwrap();
        let read = SprayTracker::from(read);
        assert_eq!(read.len(), 3);
        assert!(read.networks.is_empty());
        assert!(postcard::from_bytes::<SprayTracker>(&old).is_err());
    }

    #[test]
    fn a_patient_spray_over_a_few_addresses_of_one_network_shows_in_minutes() {
        let config = PasswordSprayConfig::default();
        let mut tracker = SprayTracker::default();
        let mut signals = Vec::new();
        // An attempt every three minutes, taking turns over five addresses of one /24.
        for victim in 0..20 {
            let ip = format!("52.28.46.{}", 224 + victim % 5);
            signals.extend(
                tracker
                    .observe(
                        &attempt(
                            victim * 180,
                            &format!("user{victim}@example.com"),
                            &ip,
                            Outcome::Failure,
                        ),
                        &config,
                    )
                    .map(|signal| (victim, signal)),
            );
        }
        let at: Vec<i64> = signals.iter().map(|(victim, _)| *victim).collect();
        assert_eq!(at, [2, 13], "once per 30-minute window over the hour");
        let (victim, signal) = &signals[0];
        assert_eq!(*victim, 2, "the third identity, six minutes in");
        assert!(
            signal.detail.contains("52.28.46.0/24") && signal.detail.contains("3 identities"),
            "{}",
            signal.detail
        );
        let success = tracker
            .observe(
                &attempt(
                    3_700,
                    "user31@example.com",
                    "52.28.46.226",
                    Outcome::Success,
                ),
                &config,
            )
            .unwrap();
        assert_eq!(success.score, 90.0, "{}", success.detail);
    }

    #[test]
    fn false_positive_one_address_failing_for_a_few_people_is_no_network_spray() {
        // A jump host or an office behind one address: three people mistype.
        let config = PasswordSprayConfig::default();
        let mut tracker = SprayTracker::default();
        for person in 0..5 {
            assert_eq!(
                tracker.observe(
                    &attempt(
                        person * 60,
                        &format!("user{person}@example.com"),
                        "81.2.69.7",
                        Outcome::Failure
                    ),
                    &config
                ),
                None
            );
        }
        // Households of one ISP /24: a few typos among many sign-ins.
        for person in 0..40 {
            let ip = format!("81.2.70.{person}");
            let identity = format!("home{person}@example.com");
            if person % 10 == 0 {
                assert_eq!(
                    tracker.observe(
                        &attempt(person * 30, &identity, &ip, Outcome::Failure),
                        &config
                    ),
                    None
                );
            }
            assert_eq!(
                tracker.observe(
                    &attempt(person * 30 + 5, &identity, &ip, Outcome::Success),
                    &config
                ),
                None
            );
        }
    }

    #[test]
    fn false_positive_neighbours_who_mistype_and_then_sign_in_revoke_nothing() {
        let config = PasswordSprayConfig::default();
        let mut tracker = SprayTracker::default();
        // Three households of one /24 mistype within minutes: an alert at most...
        for person in 0..3 {
            tracker.observe(
                &attempt(
                    person * 60,
                    &format!("home{person}@example.com"),
                    &format!("81.2.71.{}", 10 + person),
                    Outcome::Failure,
                ),
                &config,
            );
        }
        // ...and their sign-ins right after are typos put right, not a found password.
        for person in 0..3 {
            assert_eq!(
                tracker.observe(
                    &attempt(
                        200 + person * 10,
                        &format!("home{person}@example.com"),
                        &format!("81.2.71.{}", 10 + person),
                        Outcome::Success
                    ),
                    &config
                ),
                None
            );
        }
    }

    #[test]
    fn forgetting_an_identity_removes_its_attempts_only() {
        let config = PasswordSprayConfig::default();
        let mut tracker = SprayTracker::default();
        for (second, identity) in [(0, "ann@example.com"), (1, "bo@example.com")] {
            tracker.observe(
                &attempt(second, identity, "203.0.113.9", Outcome::Failure),
                &config,
            );
        }
        assert!(tracker.forget(fingerprint("ann@example.com")));
        assert!(
            !tracker.forget(fingerprint("ann@example.com")),
            "gone already"
        );
        assert!(
            tracker.forget(fingerprint("bo@example.com")),
            "bo's attempt stayed"
        );
    }
}
