//! Identity profiles: what is normal for one identity, learned from its own events.
//!
//! Every collection is bounded (least recently seen leaves first) and entries not seen
//! for `forget_after` are dropped, so memory per identity is bounded whatever the input.

use crate::duration::Duration;
use crate::slim::SlimVec;
use serde::Deserialize;
use vigil_schemas::{CompactString, IdentityType, Timestamp};

/// How often and how recently one value (a country, a device) was seen: what a profile
/// reads out of its list, and how each entry is stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Seen<K> {
    /// The value.
    pub key: K,
    /// How many events carried it.
    pub count: u32,
    /// Latest event time with it.
    pub last_seen: Timestamp,
}

/// What a profile remembers of a successful sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A country, ISO alpha-2 ([`country_key`]).
    Country = 0,
    /// An autonomous system.
    Asn = 1,
    /// A client family ([`crate::client_family`]).
    Client = 2,
    /// A device, by 32 bits of the fingerprint of its id ([`device_key`]).
    Device = 3,
}

#[cfg(test)]
impl Kind {
    const ALL: [Kind; 4] = [Kind::Country, Kind::Asn, Kind::Client, Kind::Device];
}

/// Bits of [`Entry::counted`] that hold the count; the two above hold the kind.
const COUNT_BITS: u32 = 30;
const COUNT_MAX: u32 = (1 << COUNT_BITS) - 1;

/// One remembered value: its key (a country's two letters, an ASN, a client family or a
/// device's 32-bit print, [`device_key`]), its latest sighting and its count with its
/// [`Kind`] in the top two bits. Sixteen bytes: the four kinds share one list, where four
/// lists of their own cost 64 bytes a profile before any entry and up to 40 bytes an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    last_seen: i64,
    key: u32,
    counted: u32,
}

/// A device as a profile keys it: 32 bits of its fingerprint, as a session's context
/// holds it ([`crate::risk::device_of`]). 32 bits suffice: a device is compared with one
/// identity's few known devices (at most `max_entries`), so a new device passes for a
/// known one about once in 270 million.
pub fn device_key(print: u64) -> u32 {
    crate::risk::device_of(print).get()
}

impl Entry {
    fn new(kind: Kind, key: u32, count: u32, last_seen: Timestamp) -> Entry {
        Entry {
            key,
            last_seen: last_seen.0,
            counted: (kind as u32) << COUNT_BITS | count.min(COUNT_MAX),
        }
    }

    fn kind(&self) -> u32 {
        self.counted >> COUNT_BITS
    }

    fn is(&self, kind: Kind) -> bool {
        self.kind() == kind as u32
    }

    fn seen(&self) -> Seen<u32> {
        Seen {
            key: self.key,
            count: self.counted & COUNT_MAX,
            last_seen: Timestamp(self.last_seen),
        }
    }
}

/// The key of a country: its two ASCII letters, as written. Every decoder gives ISO
/// alpha-2 codes (vendors' names and alpha-3 codes are mapped, native records checked);
/// anything else has no key and is neither learned nor judged new.
pub fn country_key(country: &str) -> Option<u32> {
    match country.as_bytes() {
        &[first, second] if first.is_ascii_alphabetic() && second.is_ascii_alphabetic() => {
            Some(u32::from(u16::from_le_bytes([first, second])))
        }
        _ => None,
    }
}

/// The two letters of a country key.
pub fn country_text(key: u32) -> CompactString {
    let letters = (key as u16).to_le_bytes();
    CompactString::from(String::from_utf8_lossy(&letters))
}

/// The values of one [`Kind`] a profile remembers, in the order they were learned (an
/// evicted value's place goes to the newest of its kind).
#[derive(Clone, Copy)]
pub struct Known<'a> {
    entries: &'a [Entry],
    kind: Kind,
}

impl<'a> Known<'a> {
    /// Every value of the kind, forgotten or not yet.
    pub fn iter(&self) -> impl Iterator<Item = Seen<u32>> + 'a {
        let kind = self.kind;
        self.entries
            .iter()
            .filter(move |entry| entry.is(kind))
            .map(Entry::seen)
    }

    /// Whether `key` was seen and not yet forgotten at `now`.
    pub fn contains(&self, key: u32, now: Timestamp, forget_after_micros: i64) -> bool {
        self.iter().any(|seen| {
            seen.key == key && now.0.saturating_sub(seen.last_seen.0) <= forget_after_micros
        })
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether none.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

/// Stored as the list of its kind's [`Seen`] values, keyed as the kind's own type (a
/// country's letters, a 32-bit ASN or client family, a 64-bit device fingerprint).
impl serde::Serialize for Known<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        // The length first: postcard writes it before the elements.
        let mut list = serializer.serialize_seq(Some(self.len()))?;
        for seen in self.iter() {
            let Seen {
                key,
                count,
                last_seen,
            } = seen;
            match self.kind {
                Kind::Country => list.serialize_element(&Seen {
                    key: country_text(key),
                    count,
                    last_seen,
                })?,
                Kind::Asn | Kind::Client => list.serialize_element(&seen)?,
                // Stored as 64 bits: format 4 kept whole fingerprints.
                Kind::Device => list.serialize_element(&Seen {
                    key: u64::from(key),
                    count,
                    last_seen,
                })?,
            }
        }
        list.end()
    }
}

/// What vigil believes is normal for one identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Human, service or agent, as last reported.
    pub identity_type: IdentityType,
    /// Event time of the first successful sign-in learned: the learning period starts
    /// here, not at the first event of any kind (weeks of access logs or failed attempts
    /// before a first sign-in must not end learning with nothing learned). Held without an
    /// option's tag (8 bytes, not 16): [`Profile::first_seen`] reads it.
    first_seen: Timestamp,
    /// Successful sign-ins learned from.
    pub logins: u32,
    /// Countries, autonomous systems, client families and devices of successful sign-ins,
    /// in one list ([`Profile::known`]); each kind is bounded on its own.
    seen: SlimVec<Entry>,
    /// Primary sign-ins per hour of the week.
    pub hours: crate::detectors::unusual_hour::HourHistogram,
}

/// A profile as stored (postcard, and JSON for `vigil state inspect`): each kind in a list
/// of its own, as the profile held them before they shared one.
#[derive(serde::Serialize)]
struct StoredRef<'a> {
    identity_type: IdentityType,
    #[serde(with = "optional_time")]
    first_seen: Timestamp,
    logins: u32,
    countries: Known<'a>,
    asns: Known<'a>,
    clients: Known<'a>,
    devices: Known<'a>,
    hours: &'a crate::detectors::unusual_hour::HourHistogram,
}

/// [`StoredRef`] as read back.
#[derive(serde::Deserialize)]
struct Stored {
    identity_type: IdentityType,
    #[serde(with = "optional_time")]
    first_seen: Timestamp,
    logins: u32,
    countries: Vec<Seen<CompactString>>,
    asns: Vec<Seen<u32>>,
    clients: Vec<Seen<u32>>,
    devices: Vec<Seen<u64>>,
    hours: crate::detectors::unusual_hour::HourHistogram,
}

impl serde::Serialize for Profile {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StoredRef {
            identity_type: self.identity_type,
            first_seen: self.first_seen,
            logins: self.logins,
            countries: self.known(Kind::Country),
            asns: self.known(Kind::Asn),
            clients: self.known(Kind::Client),
            devices: self.known(Kind::Device),
            hours: &self.hours,
        }
        .serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Profile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = Stored::deserialize(deserializer)?;
        let entry =
            |kind| move |seen: Seen<u32>| Entry::new(kind, seen.key, seen.count, seen.last_seen);
        // Format 4 stored whole fingerprints; from format 5 the key is already 32 bits.
        let device = |seen: Seen<u64>| Seen {
            key: device_key(seen.key),
            count: seen.count,
            last_seen: seen.last_seen,
        };
        let mut seen = Vec::with_capacity(
            stored.countries.len()
                + stored.asns.len()
                + stored.clients.len()
                + stored.devices.len(),
        );
        seen.extend(stored.countries.into_iter().filter_map(|country| {
            country_key(&country.key)
                .map(|key| Entry::new(Kind::Country, key, country.count, country.last_seen))
        }));
        seen.extend(stored.asns.into_iter().map(entry(Kind::Asn)));
        seen.extend(stored.clients.into_iter().map(entry(Kind::Client)));
        seen.extend(
            stored
                .devices
                .into_iter()
                .map(device)
                .map(entry(Kind::Device)),
        );
        Ok(Profile {
            identity_type: stored.identity_type,
            first_seen: stored.first_seen,
            logins: stored.logins,
            seen: SlimVec::from(seen),
            hours: stored.hours,
        })
    }
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
            seen: SlimVec::default(),
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
        self.seen
            .retain(|entry| sign_in.time.0.saturating_sub(entry.last_seen) <= forget_after);
        let learned = [
            (Kind::Country, sign_in.country.and_then(country_key)),
            (Kind::Asn, sign_in.asn),
            (Kind::Client, sign_in.client),
            (Kind::Device, sign_in.device.map(device_key)),
        ];
        for (kind, key) in learned {
            if let Some(key) = key {
                self.record(kind, key, sign_in.time, max_entries);
            }
        }
    }

    /// The values of `kind` this profile remembers.
    pub fn known(&self, kind: Kind) -> Known<'_> {
        Known {
            entries: &self.seen,
            kind,
        }
    }

    /// Records one sighting of `key` at `time`; when `kind` already has `max_entries`
    /// values, the least recently seen of them leaves first and the last of its kind
    /// takes its place.
    fn record(&mut self, kind: Kind, key: u32, time: Timestamp, max_entries: usize) {
        if let Some(entry) = self
            .seen
            .iter_mut()
            .find(|entry| entry.is(kind) && entry.key == key)
        {
            let seen = entry.seen();
            *entry = Entry::new(
                kind,
                key,
                seen.count.saturating_add(1),
                seen.last_seen.max(time),
            );
            return;
        }
        let indices: Vec<usize> = (0..self.seen.len())
            .filter(|&index| self.seen[index].is(kind))
            .collect();
        if indices.len() >= max_entries.max(1) {
            let oldest = indices
                .iter()
                .copied()
                .min_by_key(|&index| self.seen[index].last_seen);
            if let (Some(oldest), Some(&last)) = (oldest, indices.last()) {
                self.seen[oldest] = self.seen[last];
                self.seen.remove(last);
            }
        }
        self.seen.push(Entry::new(kind, key, 1, time));
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
    /// Device id, by its fingerprint ([`crate::fingerprint`]).
    pub device: Option<u64>,
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

    fn config(max_entries: usize) -> BaselineConfig {
        BaselineConfig {
            max_entries,
            ..BaselineConfig::default()
        }
    }

    #[test]
    fn each_kind_is_bounded_and_evicts_its_least_recent() {
        let mut profile = Profile::default();
        for day in 0..20 {
            profile.learn_sign_in(
                &SignInContext {
                    time: Timestamp(day * DAY),
                    device: Some(crate::fingerprint(&format!("device-{day}"))),
                    country: Some("DE"),
                    ..SignInContext::default()
                },
                &config(4),
            );
        }
        let devices = profile.known(Kind::Device);
        assert_eq!(devices.len(), 4);
        let now = Timestamp(20 * DAY);
        let known = |id: &str| device_key(crate::fingerprint(id));
        assert!(devices.contains(known("device-19"), now, 90 * DAY));
        assert!(!devices.contains(known("device-0"), now, 90 * DAY));
        let countries: Vec<Seen<u32>> = profile.known(Kind::Country).iter().collect();
        assert_eq!(
            countries.len(),
            1,
            "the devices did not push the country out"
        );
        assert_eq!(
            (countries[0].count, country_text(countries[0].key).as_str()),
            (20, "DE")
        );
    }

    #[test]
    fn stale_entries_are_forgotten() {
        let mut profile = Profile::default();
        let at = |day: i64, asn: Option<u32>| SignInContext {
            time: Timestamp(day * DAY),
            asn,
            ..SignInContext::default()
        };
        profile.learn_sign_in(&at(0, Some(64_512)), &config(8));
        let asns = profile.known(Kind::Asn);
        assert!(asns.contains(64_512, Timestamp(10 * DAY), 90 * DAY));
        assert!(!asns.contains(64_512, Timestamp(91 * DAY), 90 * DAY));
        profile.learn_sign_in(&at(91, None), &config(8));
        assert!(profile.known(Kind::Asn).is_empty());
    }

    #[test]
    fn a_country_that_is_not_two_letters_is_not_learned() {
        assert_eq!(country_key("Germany"), None);
        assert_eq!(country_key("D1"), None);
        assert_eq!(country_text(country_key("gb").unwrap()), "gb");
    }

    /// The list each kind had to itself before the kinds shared one: a bounded vector,
    /// the least recently seen value swapped out first.
    #[derive(Default)]
    struct OwnList(Vec<Seen<u32>>);

    impl OwnList {
        fn record(&mut self, key: u32, time: Timestamp, max_entries: usize) {
            if let Some(entry) = self.0.iter_mut().find(|entry| entry.key == key) {
                entry.count += 1;
                entry.last_seen = entry.last_seen.max(time);
                return;
            }
            if self.0.len() >= max_entries {
                let oldest = (0..self.0.len()).min_by_key(|&index| self.0[index].last_seen);
                self.0.swap_remove(oldest.unwrap());
            }
            self.0.push(Seen {
                key,
                count: 1,
                last_seen: time,
            });
        }
    }

    proptest::proptest! {
        /// Sharing one list changes nothing a kind sees: the same values in the same order
        /// (which decides evictions on equal times, and the order of an explanation's
        /// usual countries) as a list of its own, through evictions and forgetting.
        #[test]
        fn kinds_in_one_list_behave_as_lists_of_their_own(
            sign_ins in proptest::collection::vec(
                (0i64..40, proptest::option::of(0u8..6), proptest::option::of(0u32..6),
                 proptest::option::of(0u32..6), proptest::option::of(0u8..6)),
                1..60,
            ),
            max_entries in 1usize..5,
        ) {
            let config = BaselineConfig {
                max_entries,
                forget_after: Duration::days(20),
                ..BaselineConfig::default()
            };
            let forget_after = config.forget_after.as_micros();
            let mut profile = Profile::default();
            let mut own: [OwnList; 4] = Default::default();
            let mut time = 0;
            for (step, country, asn, client, device) in sign_ins {
                time += step * DAY / 4;
                let country = country.map(|letter| format!("{}X", char::from(b'A' + letter)));
                let device = device.map(|number| format!("device-{number}"));
                let sign_in = SignInContext {
                    time: Timestamp(time),
                    country: country.as_deref(),
                    asn,
                    client,
                    device: device.as_deref().map(crate::fingerprint),
                    primary: true,
                };
                profile.learn_sign_in(&sign_in, &config);
                let keys = [
                    sign_in.country.and_then(country_key),
                    asn,
                    client,
                    sign_in.device.map(device_key),
                ];
                for (list, key) in own.iter_mut().zip(keys) {
                    list.0.retain(|entry| time - entry.last_seen.0 <= forget_after);
                    if let Some(key) = key {
                        list.record(key, Timestamp(time), max_entries);
                    }
                }
                for (kind, list) in Kind::ALL.into_iter().zip(&own) {
                    let shared: Vec<Seen<u32>> = profile.known(kind).iter().collect();
                    proptest::prop_assert_eq!(&shared, &list.0, "{:?}", kind);
                }
            }
        }
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
