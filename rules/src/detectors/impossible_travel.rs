//! `impossible_travel`: two places too far apart for the event time between them.
//!
//! Each identity keeps its recent located events sorted by event time. A new located
//! event is compared with its neighbours in event time (not arrival order), so late and
//! out-of-order events never make a jump that did not happen. Distance is the haversine
//! distance less both accuracy radii; it never fires between events from one IP, nor for
//! corporate, VPN or non-public addresses (their location says nothing about the person).

use crate::check::{is_score, Invalid};
use crate::geo::haversine_km;
use serde::Deserialize;
use serde_json::json;
use std::net::IpAddr;
use vigil_schemas::{CompactString, Detector, Envelope, Outcome, Signal, Timestamp};

/// Where an identity was, from one located event or a run of events at one place from at
/// most two addresses (home Wi-Fi and the phone's carrier in the same city).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fix {
    /// Event time of the first event of the run.
    pub time: Timestamp,
    /// Event time of the last event of the run.
    pub until: Timestamp,
    /// Latitude, longitude (single precision: a metre, far below any accuracy radius).
    pub coordinates: (f32, f32),
    /// Accuracy radius in km.
    pub accuracy_km: f32,
    /// Source address.
    pub ip: Option<IpAddr>,
    /// A second address merged into the run at the same place.
    pub also: Option<IpAddr>,
    /// "City, CC" for explanations.
    pub place: CompactString,
    /// This fix was itself flagged as impossible: later events are not compared with it,
    /// so the real user's next event is not blamed for the attacker's location.
    pub suspect: bool,
}

/// An identity's recent located events, sorted by event time, bounded.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct TravelHistory {
    fixes: crate::slim::SlimVec<Fix>,
}

impl TravelHistory {
    /// The fixes, oldest first.
    pub fn fixes(&self) -> &[Fix] {
        &self.fixes
    }

    /// Marks the fix an event started as suspect: the event was judged risky by another
    /// detector (a sprayed or guessed password's success, a listed address), so its place
    /// must not become the reference the real user's next sign-in is measured against.
    pub fn mark_suspect(&mut self, time: Timestamp, ip: Option<IpAddr>) {
        if let Some(fix) = self
            .fixes
            .iter_mut()
            .find(|fix| fix.time == time && fix.ip == ip)
        {
            fix.suspect = true;
        }
    }

    fn insert(&mut self, fix: Fix, capacity: usize) {
        let position = self
            .fixes
            .partition_point(|existing| existing.time <= fix.time);
        self.fixes.insert(position, fix);
        if self.fixes.len() > capacity.max(2) {
            // Suspect fixes leave first, and the newest trusted fix never leaves: an
            // attacker rotating addresses must not push the real user's last known place
            // out of the history and become the reference point.
            let newest_trusted = self.fixes.iter().rposition(|existing| !existing.suspect);
            let evict = self
                .fixes
                .iter()
                .position(|existing| existing.suspect)
                .or_else(|| (0..self.fixes.len()).find(|&index| Some(index) != newest_trusted))
                .unwrap_or(0);
            self.fixes.remove(evict);
        }
    }
}

/// The fix of an event at the coordinates and accuracy [`locate`] found.
fn fix_of(envelope: &Envelope, coordinates: (f64, f64), accuracy_km: f64) -> Fix {
    let event = &envelope.event;
    Fix {
        time: event.time,
        until: event.time,
        coordinates: (coordinates.0 as f32, coordinates.1 as f32),
        also: None,
        accuracy_km: accuracy_km as f32,
        ip: event.ip,
        place: event
            .geo
            .as_ref()
            .map(|geo| CompactString::from(geo.place()))
            .unwrap_or_default(),
        suspect: false,
    }
}

/// Coordinates and accuracy of an event impossible travel may judge: a successful
/// sign-in or an access, from a located public address outside exempt ranges.
fn locate(envelope: &Envelope, config: &ImpossibleTravelConfig) -> Option<((f64, f64), f64)> {
    let event = &envelope.event;
    if let Some(auth) = event.auth() {
        if auth.outcome != Outcome::Success {
            return None;
        }
    } else {
        event.access()?;
    }
    if envelope.tags.location_exempt() {
        return None;
    }
    let geo = event.geo.as_ref()?;
    let coordinates = geo.coordinates()?;
    let accuracy_km = geo
        .accuracy_km
        .filter(|radius| radius.is_finite() && *radius >= 0.0)
        .unwrap_or(config.default_accuracy_km);
    Some((coordinates, accuracy_km))
}

/// How a pair of fixes moved.
struct Jump {
    distance_km: f64,
    effective_km: f64,
    seconds: f64,
    speed_kmh: f64,
}

fn jump(earlier: &Fix, later: &Fix) -> Jump {
    let distance_km = haversine_km(earlier.place_coordinates(), later.place_coordinates());
    let effective_km =
        (distance_km - f64::from(earlier.accuracy_km) - f64::from(later.accuracy_km)).max(0.0);
    let seconds = later.time.seconds_since(earlier.until).max(0.0);
    let speed_kmh = if seconds > 0.0 {
        effective_km / (seconds / 3600.0)
    } else if effective_km > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    Jump {
        distance_km,
        effective_km,
        seconds,
        speed_kmh,
    }
}

impl Fix {
    fn place_coordinates(&self) -> (f64, f64) {
        (f64::from(self.coordinates.0), f64::from(self.coordinates.1))
    }

    /// Whether an address is one of the run's.
    fn has_address(&self, ip: Option<IpAddr>) -> bool {
        ip.is_some() && (self.ip == ip || self.also == ip)
    }
}

fn impossible(earlier: &Fix, later: &Fix, config: &ImpossibleTravelConfig) -> Option<Jump> {
    // Never between two events from one address.
    if earlier.has_address(later.ip) || later.has_address(earlier.ip) {
        return None;
    }
    let moved = jump(earlier, later);
    (moved.effective_km >= config.min_distance_km && moved.speed_kmh > config.max_speed_kmh)
        .then_some(moved)
}

/// "47 min", "3 h 05 min", "0 s".
fn format_elapsed(seconds: f64) -> String {
    let seconds = seconds.round() as i64;
    if seconds < 60 {
        format!("{seconds} s")
    } else if seconds < 3600 {
        format!("{} min", seconds / 60)
    } else {
        format!("{} h {:02} min", seconds / 3600, seconds / 60 % 60)
    }
}

/// 8950.3 -> "8,950".
pub(crate) fn thousands(value: f64) -> String {
    let rounded = value.round() as i64;
    let digits = rounded.abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if rounded < 0 {
        grouped.insert(0, '-');
    }
    grouped
}

fn signal(earlier: &Fix, later: &Fix, moved: &Jump, config: &ImpossibleTravelConfig) -> Signal {
    let speed_text = if moved.speed_kmh.is_finite() {
        format!("{} km/h", thousands(moved.speed_kmh))
    } else {
        "at the same moment".to_string()
    };
    let detail = format!(
        "{} km in {} ({}): {} -> {}",
        thousands(moved.distance_km),
        format_elapsed(moved.seconds),
        speed_text,
        earlier.place,
        later.place
    );
    // Twice the allowed speed adds 10 points, four times 20, capped at 100.
    let ratio = if moved.speed_kmh.is_finite() {
        moved.speed_kmh / config.max_speed_kmh
    } else {
        16.0
    };
    let score = (config.score + 10.0 * ratio.log2().clamp(0.0, 4.0)).clamp(0.0, 100.0);
    // Confidence falls when the accuracy radii eat much of the distance.
    let confidence = (moved.effective_km / moved.distance_km.max(1.0)).clamp(0.5, 1.0);
    Signal {
        detector: Detector::ImpossibleTravel,
        score,
        confidence,
        detail,
        evidence: json!({
            "from": earlier.place, "to": later.place,
            "from_time": earlier.time, "to_time": later.time,
            "from_ip": earlier.ip, "to_ip": later.ip,
            "distance_km": moved.distance_km.round(),
            "effective_distance_km": moved.effective_km.round(),
            "elapsed_s": moved.seconds,
            "speed_kmh": if moved.speed_kmh.is_finite() { json!(moved.speed_kmh.round()) } else { json!(null) },
        }),
    }
}

/// Judges one event against the identity's travel history, then records its fix.
pub fn detect(
    history: &mut TravelHistory,
    envelope: &Envelope,
    config: &ImpossibleTravelConfig,
) -> Option<Signal> {
    if !config.enabled {
        return None;
    }
    let (coordinates, accuracy_km) = locate(envelope, config)?;
    let event = &envelope.event;
    let position = history
        .fixes
        .partition_point(|existing| existing.time <= event.time);
    // Events from the address of the run just before are part of that run: access logs
    // repeat one place all day, and one address seen at two places (one source's geo
    // against another's database lookup) is still one place. Never a comparison, and never
    // a fix the next address would be compared with.
    if let Some(previous) = position
        .checked_sub(1)
        .and_then(|index| history.fixes.get_mut(index))
        .filter(|previous| previous.has_address(event.ip))
    {
        previous.until = previous.until.max(event.time);
        return None;
    }
    let mut fix = fix_of(envelope, coordinates, accuracy_km);
    let before = history.fixes[..position]
        .iter()
        .rev()
        .find(|existing| !existing.suspect);
    let after = history.fixes[position..]
        .iter()
        .find(|existing| !existing.suspect);
    let found = before
        .and_then(|earlier| {
            impossible(earlier, &fix, config).map(|moved| signal(earlier, &fix, &moved, config))
        })
        .or_else(|| {
            after.and_then(|later| {
                impossible(&fix, later, config).map(|moved| signal(&fix, later, &moved, config))
            })
        });
    fix.suspect = found.is_some();
    // A consistent fix at the place of the trusted fix just before it (home Wi-Fi, then
    // the phone on the same city's carrier) joins that fix as its second address: the
    // history keeps places, not addresses, and stays short, and events from either
    // address are still never compared with each other.
    if let Some(previous) = position
        .checked_sub(1)
        .and_then(|index| history.fixes.get_mut(index))
        .filter(|previous| {
            !fix.suspect
                && !previous.suspect
                && previous.also.is_none()
                && fix.ip.is_some()
                && haversine_km(previous.place_coordinates(), fix.place_coordinates())
                    <= f64::from(previous.accuracy_km + fix.accuracy_km)
        })
    {
        previous.also = fix.ip;
        previous.until = previous.until.max(event.time);
        return None;
    }
    history.insert(fix, config.history);
    found
}

/// The impossible-travel detector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImpossibleTravelConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// 900 km/h: a long-haul airliner's cruise speed; anything faster is not a person.
    pub max_speed_kmh: f64,
    /// Jumps shorter than this (after subtracting accuracy) are ignored: geolocation of
    /// neighbouring cities and mobile carriers is not better than that.
    pub min_distance_km: f64,
    /// Accuracy radius assumed when neither the vendor nor the database gives one:
    /// city-level IP geolocation is typically right within 50 km.
    pub default_accuracy_km: f64,
    /// Locations kept per identity to compare against, newest kept.
    pub history: usize,
    /// Base score of a hit; faster hits score higher, up to 100.
    pub score: f64,
}

impl Default for ImpossibleTravelConfig {
    fn default() -> Self {
        ImpossibleTravelConfig {
            enabled: true,
            max_speed_kmh: 900.0,
            min_distance_km: 300.0,
            default_accuracy_km: 50.0,
            history: 4,
            score: 80.0,
        }
    }
}

impl ImpossibleTravelConfig {
    /// Checks the values serde cannot.
    pub fn validate(&self) -> Result<(), Invalid> {
        crate::check::first([
            (
                self.max_speed_kmh.is_finite() && self.max_speed_kmh > 0.0,
                "max_speed_kmh",
                "must be a positive number",
            ),
            (
                self.min_distance_km.is_finite() && self.min_distance_km >= 0.0,
                "min_distance_km",
                "must be a number, zero or more",
            ),
            (
                self.default_accuracy_km.is_finite() && self.default_accuracy_km >= 0.0,
                "default_accuracy_km",
                "must be a number, zero or more",
            ),
            (is_score(self.score), "score", crate::check::SCORE),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{login_at, BERLIN, NEW_YORK, POTSDAM};
    use vigil_schemas::IpTags;

    fn run(events: &[Envelope]) -> Vec<Signal> {
        let config = ImpossibleTravelConfig::default();
        let mut history = TravelHistory::default();
        events
            .iter()
            .filter_map(|envelope| detect(&mut history, envelope, &config))
            .collect()
    }

    #[test]
    fn a_second_address_at_the_same_place_joins_the_fix_and_is_never_compared_with_itself() {
        let config = ImpossibleTravelConfig::default();
        let mut history = TravelHistory::default();
        let mut judge =
            |time: &str, place, ip: &str| detect(&mut history, &login_at(time, place, ip), &config);
        assert_eq!(judge("2026-03-02T08:00:00Z", BERLIN, "85.214.1.1"), None);
        // The phone on a Berlin carrier: same place, joins the fix.
        assert_eq!(judge("2026-03-02T08:30:00Z", BERLIN, "176.0.0.9"), None);
        // The same carrier address placed at the carrier's far-away head office by another
        // source: one address, never a comparison.
        assert_eq!(judge("2026-03-02T09:00:00Z", NEW_YORK, "176.0.0.9"), None);
        // A third address in New York half an hour later is impossible from Berlin.
        assert!(judge("2026-03-02T09:05:00Z", NEW_YORK, "23.1.1.1").is_some());
        assert_eq!(history.fixes()[0].also, Some("176.0.0.9".parse().unwrap()));
    }

    #[test]
    fn berlin_to_new_york_in_47_minutes_fires_with_an_explanation() {
        let signals = run(&[
            login_at("2026-03-02T08:00:00Z", BERLIN, "85.214.1.1"),
            login_at("2026-03-02T08:47:00Z", NEW_YORK, "23.1.1.1"),
        ]);
        assert_eq!(signals.len(), 1);
        assert_eq!(
            signals[0].detail,
            "6,385 km in 47 min (8,023 km/h): Berlin, DE -> New York, US"
        );
        assert!(signals[0].score >= 80.0 && signals[0].score <= 100.0);
    }

    #[test]
    fn a_real_flight_does_not_fire() {
        let signals = run(&[
            login_at("2026-03-02T08:00:00Z", BERLIN, "85.214.1.1"),
            login_at("2026-03-02T18:00:00Z", NEW_YORK, "23.1.1.1"),
        ]);
        assert!(signals.is_empty());
    }

    #[test]
    fn same_ip_never_fires_even_when_geo_disagrees() {
        let signals = run(&[
            login_at("2026-03-02T08:00:00Z", BERLIN, "85.214.1.1"),
            login_at("2026-03-02T08:05:00Z", NEW_YORK, "85.214.1.1"),
        ]);
        assert!(signals.is_empty());
    }

    #[test]
    fn neighbouring_cities_within_accuracy_do_not_fire() {
        let signals = run(&[
            login_at("2026-03-02T08:00:00Z", BERLIN, "85.214.1.1"),
            login_at("2026-03-02T08:01:00Z", POTSDAM, "85.214.9.9"),
        ]);
        assert!(signals.is_empty());
    }

    #[test]
    fn vpn_egress_is_exempt() {
        let mut vpn = login_at("2026-03-02T08:10:00Z", NEW_YORK, "23.1.1.1");
        vpn.tags = IpTags {
            vpn: true,
            ..IpTags::default()
        };
        let signals = run(&[login_at("2026-03-02T08:00:00Z", BERLIN, "85.214.1.1"), vpn]);
        assert!(signals.is_empty());
    }

    #[test]
    fn out_of_order_arrival_compares_event_time_neighbours() {
        // Berlin 09:00, New York 20:00 (11 h: a flight), then a late Berlin 10:00 record.
        // Arrival order would compare New York 20:00 with Berlin 10:00 backwards in time.
        let signals = run(&[
            login_at("2026-03-02T09:00:00Z", BERLIN, "85.214.1.1"),
            login_at("2026-03-02T20:00:00Z", NEW_YORK, "23.1.1.1"),
            login_at("2026-03-02T10:00:00Z", BERLIN, "85.214.1.2"),
        ]);
        assert!(signals.is_empty(), "{signals:?}");
    }

    #[test]
    fn a_late_event_that_is_itself_impossible_fires() {
        let signals = run(&[
            login_at("2026-03-02T09:00:00Z", BERLIN, "85.214.1.1"),
            login_at("2026-03-02T20:00:00Z", BERLIN, "85.214.1.2"),
            login_at("2026-03-02T09:30:00Z", NEW_YORK, "23.1.1.1"),
        ]);
        assert_eq!(signals.len(), 1);
    }

    #[test]
    fn the_real_user_is_not_blamed_for_the_attackers_location() {
        // The attacker signs in from New York minutes after alice in Berlin; alice keeps
        // working from Berlin; the attacker keeps using the stolen session from New York.
        let signals = run(&[
            login_at("2026-03-02T08:00:00Z", BERLIN, "85.214.1.1"),
            login_at("2026-03-02T08:20:00Z", NEW_YORK, "23.1.1.1"),
            login_at("2026-03-02T08:40:00Z", BERLIN, "85.214.1.1"),
            login_at("2026-03-02T09:00:00Z", NEW_YORK, "23.1.1.1"),
        ]);
        let places: Vec<&str> = signals
            .iter()
            .map(|signal| signal.detail.rsplit(" -> ").next().unwrap_or(""))
            .collect();
        assert_eq!(places, vec!["New York, US", "New York, US"]);
    }

    #[test]
    fn an_attacker_rotating_addresses_cannot_evict_the_users_place() {
        let mut events = vec![login_at("2026-03-02T08:00:00Z", BERLIN, "85.214.1.1")];
        for minute in 10..20 {
            events.push(login_at(
                &format!("2026-03-02T08:{minute}:00Z"),
                NEW_YORK,
                &format!("23.1.1.{minute}"),
            ));
        }
        events.push(login_at("2026-03-02T08:30:00Z", BERLIN, "85.214.1.1"));
        let signals = run(&events);
        assert_eq!(
            signals.len(),
            10,
            "every attacker sign-in fires, the user's own does not"
        );
        assert!(signals
            .iter()
            .all(|signal| signal.detail.ends_with("-> New York, US")));
    }

    #[test]
    fn one_address_at_two_places_does_not_blame_the_next_address() {
        let signals = run(&[
            login_at("2026-03-02T08:00:00Z", BERLIN, "85.214.1.1"),
            login_at("2026-03-02T08:05:00Z", NEW_YORK, "85.214.1.1"),
            login_at("2026-03-02T08:10:00Z", BERLIN, "85.214.1.2"),
        ]);
        assert!(signals.is_empty(), "{signals:?}");
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(8950.3), "8,950");
        assert_eq!(thousands(11_400.0), "11,400");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        assert_eq!(thousands(999.0), "999");
    }
}
