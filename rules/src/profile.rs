//! Identity profiles: what is normal for one identity, learned from its own events.
//!
//! Every collection is bounded (least recently seen leaves first) and entries not seen
//! for `forget_after` are dropped, so memory per identity is bounded whatever the input.

use crate::duration::Duration;
use crate::slim::SlimVec;
use serde::Deserialize;
use vigil_schemas::{CompactString, IdentityType, Timestamp};

/// How often and how recently one value (a country, a device) was seen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Seen<K> {
    /// The value.
    pub key: K,
    /// How many events carried it.
    pub count: u32,
    /// Latest event time with it.
    pub last_seen: Timestamp,
}

/// A key a [`SeenSet`] stores, made from the borrowed form it is looked up by.
pub trait OwnedKey<Q: ?Sized> {
    /// The stored key for `key`.
    fn owned(key: &Q) -> Self;
}

impl OwnedKey<str> for CompactString {
    fn owned(key: &str) -> Self {
        CompactString::from(key)
    }
}

impl<K: Copy> OwnedKey<K> for K {
    fn owned(key: &K) -> Self {
        *key
    }
}

/// A small bounded set of seen values with counts, least recently seen evicted first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SeenSet<K> {
    entries: SlimVec<Seen<K>>,
}

impl<K> Default for SeenSet<K> {
    fn default() -> Self {
        SeenSet {
            entries: SlimVec::default(),
        }
    }
}

impl<K: PartialEq> SeenSet<K> {
    /// Whether `key` was seen and not yet forgotten at `now`.
    pub fn contains<Q>(&self, key: &Q, now: Timestamp, forget_after_micros: i64) -> bool
    where
        K: PartialEq<Q>,
        Q: ?Sized,
    {
        self.entries.iter().any(|entry| {
            entry.key == *key && now.0.saturating_sub(entry.last_seen.0) <= forget_after_micros
        })
    }

    /// Records one sighting of `key` at `time`, evicting the least recently seen entry
    /// when the set is full.
    pub fn record<Q>(&mut self, key: &Q, time: Timestamp, max_entries: usize)
    where
        K: PartialEq<Q> + OwnedKey<Q>,
        Q: ?Sized,
    {
        if let Some(entry) = self.entries.iter_mut().find(|entry| entry.key == *key) {
            entry.count = entry.count.saturating_add(1);
            entry.last_seen = entry.last_seen.max(time);
            return;
        }
        if self.entries.len() >= max_entries.max(1) {
            let oldest = (0..self.entries.len()).min_by_key(|&index| self.entries[index].last_seen);
            if let Some(index) = oldest {
                self.entries.swap_remove(index);
            }
        }
        self.entries.push(Seen {
            key: K::owned(key),
            count: 1,
            last_seen: time,
        });
    }

    /// Drops entries last seen more than `forget_after` before `now`.
    pub fn forget_stale(&mut self, now: Timestamp, forget_after_micros: i64) {
        self.entries
            .retain(|entry| now.0.saturating_sub(entry.last_seen.0) <= forget_after_micros);
    }

    /// The entries, in no particular order.
    pub fn entries(&self) -> &[Seen<K>] {
        &self.entries
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What vigil believes is normal for one identity.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    /// Human, service or agent, as last reported.
    pub identity_type: IdentityType,
    /// Event time of the first successful sign-in learned: the learning period starts
    /// here, not at the first event of any kind (weeks of access logs or failed attempts
    /// before a first sign-in must not end learning with nothing learned). Held without an
    /// option's tag (8 bytes, not 16): [`Profile::first_seen`] reads it.
    #[serde(with = "optional_time")]
    first_seen: Timestamp,
    /// Successful sign-ins learned from.
    pub logins: u32,
    /// Countries (ISO alpha-2) of successful sign-ins.
    pub countries: SeenSet<CompactString>,
    /// Autonomous systems of successful sign-ins.
    pub asns: SeenSet<u32>,
    /// Client families of successful sign-ins ([`crate::client_family`] of the user agent).
    pub clients: SeenSet<u32>,
    /// Devices of successful sign-ins, by the fingerprint of their id
    /// ([`crate::fingerprint`]): 24 bytes an entry whatever the id's length.
    pub devices: SeenSet<u64>,
    /// Primary sign-ins per hour of the week.
    pub hours: crate::detectors::unusual_hour::HourHistogram,
}

/// The first sign-in time as stored: an optional timestamp (`i64::MIN` in memory: none).
mod optional_time {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use vigil_schemas::Timestamp;

    pub fn serialize<S: Serializer>(time: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        (time.0 != i64::MIN).then_some(*time).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        Ok(Option::<Timestamp>::deserialize(deserializer)?.unwrap_or(Timestamp(i64::MIN)))
    }
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            identity_type: IdentityType::default(),
            first_seen: Timestamp(i64::MIN),
            logins: 0,
            countries: SeenSet::default(),
            asns: SeenSet::default(),
            clients: SeenSet::default(),
            devices: SeenSet::default(),
            hours: Default::default(),
        }
    }
}

impl Profile {
    /// Event time of the first successful sign-in learned, if any.
    pub fn first_seen(&self) -> Option<Timestamp> {
        (self.first_seen.0 != i64::MIN).then_some(self.first_seen)
    }

    /// Whether the identity is still in its learning period at `now`: first-seen
    /// detectors stay quiet until it has been seen for the learning period or has enough
    /// successful sign-ins, whichever comes first.
    pub fn learning(&self, now: Timestamp, config: &BaselineConfig) -> bool {
        let Some(first_seen) = self.first_seen().filter(|_| self.logins > 0) else {
            return true;
        };
        let known_for = now.0.saturating_sub(first_seen.0);
        known_for < config.learning_period.as_micros() && self.logins < config.learning_logins
    }

    /// Notes the identity's type as last reported (any event).
    pub fn touch(&mut self, identity_type: IdentityType) {
        self.identity_type = identity_type;
    }

    /// Learns a successful sign-in's context.
    pub fn learn_sign_in(&mut self, sign_in: &SignInContext<'_>, config: &BaselineConfig) {
        let forget_after = config.forget_after.as_micros();
        let max_entries = config.max_entries;
        if sign_in.primary {
            self.logins = self.logins.saturating_add(1);
            self.hours.record(sign_in.time);
        }
        self.first_seen = self
            .first_seen()
            .map_or(sign_in.time, |first| first.min(sign_in.time));
        self.countries.forget_stale(sign_in.time, forget_after);
        self.devices.forget_stale(sign_in.time, forget_after);
        self.clients.forget_stale(sign_in.time, forget_after);
        self.asns.forget_stale(sign_in.time, forget_after);
        if let Some(country) = sign_in.country {
            self.countries.record(country, sign_in.time, max_entries);
        }
        if let Some(asn) = sign_in.asn {
            self.asns.record(&asn, sign_in.time, max_entries);
        }
        if let Some(client) = sign_in.client {
            self.clients.record(&client, sign_in.time, max_entries);
        }
        if let Some(device) = sign_in.device {
            let device = crate::fingerprint(device);
            self.devices.record(&device, sign_in.time, max_entries);
        }
    }
}

/// The parts of a successful sign-in a profile learns from.
#[derive(Debug, Clone, Default)]
pub struct SignInContext<'a> {
    /// Event time.
    pub time: Timestamp,
    /// Country, ISO alpha-2, unless the address is exempt from location checks.
    pub country: Option<&'a str>,
    /// Autonomous system.
    pub asn: Option<u32>,
    /// Device id.
    pub device: Option<&'a str>,
    /// Client family of the user agent.
    pub client: Option<u32>,
    /// A primary sign-in (not the MFA step of one): only these count towards
    /// `learning_logins`.
    pub primary: bool,
}

/// How identity profiles learn and forget.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BaselineConfig {
    /// First-seen detectors stay quiet until the identity has been seen this long...
    pub learning_period: Duration,
    /// ...or has this many successful sign-ins, whichever comes first (Entra ID Protection
    /// uses the same pair: 14 days or 10 logins).
    pub learning_logins: u32,
    /// A country, city, ASN or device not seen for this long is forgotten, so a device
    /// retired a year ago counts as new again.
    pub forget_after: Duration,
    /// Most entries kept per kind (countries, ASNs, devices) per identity; the
    /// least recently seen entry leaves first. Bounds memory per identity.
    pub max_entries: usize,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            learning_period: Duration::days(14),
            learning_logins: 10,
            forget_after: Duration::days(90),
            max_entries: 16,
        }
    }
}

impl BaselineConfig {
    /// Checks the values serde cannot.
    pub fn validate(&self) -> Result<(), crate::check::Invalid> {
        crate::check::first([
            (
                self.learning_logins > 0,
                "learning_logins",
                "must be at least 1",
            ),
            (self.max_entries > 0, "max_entries", "must be at least 1"),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000;

    #[test]
    fn seen_set_is_bounded_and_evicts_least_recent() {
        let mut set: SeenSet<CompactString> = SeenSet::default();
        for day in 0..20 {
            set.record(format!("device-{day}").as_str(), Timestamp(day * DAY), 4);
        }
        assert_eq!(set.len(), 4);
        assert!(set.contains("device-19", Timestamp(20 * DAY), 90 * DAY));
        assert!(!set.contains("device-0", Timestamp(20 * DAY), 90 * DAY));
    }

    #[test]
    fn stale_entries_are_forgotten() {
        let mut set: SeenSet<u32> = SeenSet::default();
        set.record(&64_512, Timestamp(0), 8);
        assert!(set.contains(&64_512, Timestamp(10 * DAY), 90 * DAY));
        assert!(!set.contains(&64_512, Timestamp(91 * DAY), 90 * DAY));
        set.forget_stale(Timestamp(91 * DAY), 90 * DAY);
        assert!(set.is_empty());
    }

    #[test]
    fn learning_ends_by_time_or_count() {
        let config = BaselineConfig::default();
        let mut profile = Profile::default();
        profile.touch(IdentityType::User);
        assert!(
            profile.learning(Timestamp(15 * DAY), &config),
            "no sign-in learned yet"
        );
        profile.learn_sign_in(
            &SignInContext {
                time: Timestamp(0),
                primary: true,
                ..SignInContext::default()
            },
            &config,
        );
        assert!(profile.learning(Timestamp(DAY), &config));
        assert!(!profile.learning(Timestamp(15 * DAY), &config));
        profile.logins = 10;
        assert!(!profile.learning(Timestamp(DAY), &config));
    }
}
