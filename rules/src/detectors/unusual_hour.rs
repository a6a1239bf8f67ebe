//! `unusual_hour`: a person's sign-in at an hour of the week they almost never sign in.
//!
//! Each person's profile keeps a 168-slot hour-of-week histogram (UTC) of learned
//! sign-ins. A slot's expected share is smoothed with a kernel (the slot itself, half of
//! each neighbouring hour, a quarter of the hours two away and of the same hour on every
//! other day), so 08:00 on a Wednesday is usual for someone who signs in at 08:00 on the
//! other weekdays, and 10:00 for someone who starts at 08:00. Whether the
//! slot is rare is a probability, not a fixed range: the slot's share has a Beta
//! posterior (Jeffreys prior), and the detector fires only when it is at least 95% sure
//! that the share is below `rare_share`. Few sign-ins make a wide posterior, so the
//! detector is quiet until the histogram says something.
//!
//! Service accounts and agents are not judged: a batch job has no office hours.

use crate::check::{is_score, Invalid};
use serde::Deserialize;
use serde_json::json;
use statrs::distribution::{Beta, ContinuousCDF};
use vigil_schemas::{Detector, IdentityType, Timestamp};

/// Hours in a week.
pub const SLOTS: usize = 168;

/// Kernel weight of the neighbouring hours.
const NEIGHBOUR_WEIGHT: f64 = 0.5;
/// Kernel weight of the hours two away: people start a couple of hours late or early.
const SECOND_NEIGHBOUR_WEIGHT: f64 = 0.25;
/// Kernel weight of the same hour on each other day of the week.
const OTHER_DAY_WEIGHT: f64 = 0.25;
/// Total kernel weight: the slot, four neighbours, six other days.
const KERNEL_MASS: f64 =
    1.0 + 2.0 * NEIGHBOUR_WEIGHT + 2.0 * SECOND_NEIGHBOUR_WEIGHT + 6.0 * OTHER_DAY_WEIGHT;

/// Sign-ins per hour of the week (UTC, Monday 00:00 first), at most 255 a slot: when a
/// slot would pass 255, every slot is halved, which keeps the shares and lets old habits
/// fade. Held sparse, as (slot, count) pairs sorted by slot, since a person signs in at a
/// few dozen of the 168 hours (16 bytes plus two a used slot, instead of 172; the total
/// is their sum, counted when asked); stored as all 168 counts and the total, so the
/// encoding does not depend on the layout in memory.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HourHistogram {
    counts: crate::slim::SlimVec<(u8, u8)>,
}

/// [`HourHistogram`] as stored.
#[derive(serde::Serialize)]
struct StoredRef<'a> {
    #[serde(with = "slots")]
    counts: &'a crate::slim::SlimVec<(u8, u8)>,
    total: u32,
}

/// [`StoredRef`] as read back (the total is the counts' sum, so it is not kept).
#[derive(serde::Deserialize)]
struct Stored {
    #[serde(with = "slots")]
    counts: crate::slim::SlimVec<(u8, u8)>,
    #[serde(rename = "total")]
    _total: u32,
}

impl serde::Serialize for HourHistogram {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StoredRef {
            counts: &self.counts,
            total: self.total(),
        }
        .serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for HourHistogram {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Stored::deserialize(deserializer).map(|stored| HourHistogram {
            counts: stored.counts,
        })
    }
}

/// The slots as a sequence of 168 bytes.
mod slots {
    use super::SLOTS;
    use crate::slim::SlimVec;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        counts: &&SlimVec<(u8, u8)>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut dense = [0u8; SLOTS];
        for &(slot, count) in counts.iter() {
            dense[usize::from(slot) % SLOTS] = count;
        }
        serializer.collect_seq(dense.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<SlimVec<(u8, u8)>, D::Error> {
        let counts = Vec::<u8>::deserialize(deserializer)?;
        if counts.len() != SLOTS {
            return Err(serde::de::Error::custom(format!(
                "an hour histogram has {SLOTS} slots, found {}",
                counts.len()
            )));
        }
        let used: Vec<(u8, u8)> = (0..SLOTS as u8)
            .zip(counts)
            .filter(|&(_, count)| count > 0)
            .collect();
        Ok(SlimVec::from(used))
    }
}

impl HourHistogram {
    /// Counts one sign-in at `time`.
    pub fn record(&mut self, time: Timestamp) {
        let slot = (time.hour_of_week() as usize % SLOTS) as u8;
        let index = match self.counts.binary_search_by_key(&slot, |&(slot, _)| slot) {
            Ok(index) => index,
            Err(index) => {
                self.counts.insert(index, (slot, 0));
                index
            }
        };
        if self.counts[index].1 == u8::MAX {
            for (_, count) in self.counts.iter_mut() {
                *count /= 2;
            }
            // Halving empties slots counted once: they leave (the slot being counted
            // is at 127 and stays).
            self.counts.retain(|&(_, count)| count > 0);
        }
        let index = self
            .counts
            .binary_search_by_key(&slot, |&(slot, _)| slot)
            .unwrap_or_else(|index| index);
        self.counts[index].1 += 1;
    }

    /// Sign-ins counted.
    pub fn total(&self) -> u32 {
        self.counts.iter().map(|&(_, count)| u32::from(count)).sum()
    }

    /// The count of a slot.
    fn count(&self, slot: usize) -> u8 {
        let slot = (slot % SLOTS) as u8;
        self.counts
            .binary_search_by_key(&slot, |&(slot, _)| slot)
            .map_or(0, |index| self.counts[index].1)
    }

    /// The kernel-smoothed count of a slot.
    fn mass(&self, slot: usize) -> f64 {
        let at = |offset: isize| {
            f64::from(self.count((slot as isize + offset).rem_euclid(SLOTS as isize) as usize))
        };
        let neighbours = at(-1) + at(1);
        let second_neighbours = at(-2) + at(2);
        let other_days: f64 = (1..7).map(|day| at(day * 24)).sum();
        at(0)
            + NEIGHBOUR_WEIGHT * neighbours
            + SECOND_NEIGHBOUR_WEIGHT * second_neighbours
            + OTHER_DAY_WEIGHT * other_days
    }

    /// The posterior probability that the share of sign-ins in `time`'s slot is below
    /// `rare_share`, and the slot's observed smoothed share.
    pub fn rarity(&self, time: Timestamp, rare_share: f64) -> Option<(f64, f64)> {
        let slot = time.hour_of_week() as usize % SLOTS;
        let mass = self.mass(slot);
        let trials = KERNEL_MASS * f64::from(self.total());
        let posterior = Beta::new(0.5 + mass, 0.5 + (trials - mass).max(0.0)).ok()?;
        let below = posterior.cdf(rare_share.clamp(0.0, 1.0));
        below.is_finite().then_some((below, mass / trials.max(1.0)))
    }
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Judges a person's successful sign-in against their hour-of-week histogram (before it
/// learns the sign-in).
pub fn detect(
    histogram: &HourHistogram,
    identity_type: IdentityType,
    time: Timestamp,
    learning: bool,
    config: &UnusualHourConfig,
) -> Option<vigil_schemas::Signal> {
    if !config.enabled
        || learning
        || identity_type != IdentityType::User
        || histogram.total() < config.min_sign_ins
    {
        return None;
    }
    let (below, share) = histogram.rarity(time, config.rare_share)?;
    if below < config.certainty {
        return None;
    }
    let slot = time.hour_of_week();
    let day = WEEKDAYS[(slot / 24) as usize % 7];
    Some(vigil_schemas::Signal {
        detector: Detector::UnusualHour,
        score: config.score,
        confidence: below.clamp(0.0, 1.0),
        detail: format!(
            "sign-in on {day} at {:02}:00 UTC, an hour with {:.1}% of {} learned sign-ins (P(usual) < {:.0}%)",
            slot % 24,
            share * 100.0,
            histogram.total(),
            (1.0 - config.certainty) * 100.0
        ),
        evidence: json!({ "hour_of_week": slot, "smoothed_share": share, "sign_ins": histogram.total(), "p_below_rare_share": below }),
    })
}

/// The unusual-hour detector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UnusualHourConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// Learned sign-ins before the detector judges (with the defaults the posterior is
    /// sure of a never-used hour from about 22 sign-ins on).
    pub min_sign_ins: u32,
    /// A slot whose (kernel-smoothed) share of sign-ins is below this is rare: 2.5% is
    /// under one sign-in in forty, about two months of weekday sign-ins.
    pub rare_share: f64,
    /// How sure the posterior must be that the slot is rare: 95%.
    pub certainty: f64,
    /// Score of a hit: low alone (people work late), weighty with other signals.
    pub score: f64,
}

impl Default for UnusualHourConfig {
    fn default() -> Self {
        UnusualHourConfig {
            enabled: true,
            min_sign_ins: 20,
            rare_share: 0.025,
            certainty: 0.95,
            score: 35.0,
        }
    }
}

impl UnusualHourConfig {
    /// Checks the values serde cannot.
    pub fn validate(&self) -> Result<(), Invalid> {
        crate::check::first([
            (
                self.rare_share.is_finite() && (0.0..1.0).contains(&self.rare_share),
                "rare_share",
                "must be a number from 0 to below 1",
            ),
            (
                self.certainty.is_finite() && (0.5..1.0).contains(&self.certainty),
                "certainty",
                "must be a number from 0.5 to below 1",
            ),
            (is_score(self.score), "score", crate::check::SCORE),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    /// Weekday sign-ins at 08:00 or 09:00 UTC for `weeks` weeks from Monday 2026-01-05.
    fn office_hours(weeks: i64) -> HourHistogram {
        let mut histogram = HourHistogram::default();
        for day in 0..weeks * 7 {
            if day % 7 < 5 {
                histogram
                    .record(at("2026-01-05T08:00:00Z").plus_secs(day * 86_400 + (day % 2) * 3600));
            }
        }
        histogram
    }

    fn fires(histogram: &HourHistogram, time: &str) -> bool {
        detect(
            histogram,
            IdentityType::User,
            at(time),
            false,
            &UnusualHourConfig::default(),
        )
        .is_some()
    }

    #[test]
    fn three_in_the_morning_is_unusual_for_an_office_worker() {
        let histogram = office_hours(5);
        assert!(fires(&histogram, "2026-02-11T03:00:00Z"));
        let signal = detect(
            &histogram,
            IdentityType::User,
            at("2026-02-11T03:00:00Z"),
            false,
            &UnusualHourConfig::default(),
        )
        .unwrap();
        assert!(
            signal
                .detail
                .starts_with("sign-in on Wednesday at 03:00 UTC"),
            "{}",
            signal.detail
        );
    }

    #[test]
    fn usual_hours_neighbours_and_other_weekdays_are_quiet() {
        let histogram = office_hours(5);
        for time in [
            "2026-02-11T08:00:00Z",
            "2026-02-11T10:00:00Z",
            "2026-02-11T07:00:00Z",
            "2026-02-14T08:00:00Z",
        ] {
            assert!(!fires(&histogram, time), "{time}");
        }
    }

    #[test]
    fn few_sign_ins_say_nothing_and_machines_have_no_hours() {
        assert!(!fires(&office_hours(1), "2026-02-11T03:00:00Z"));
        let histogram = office_hours(5);
        assert!(detect(
            &histogram,
            IdentityType::Service,
            at("2026-02-11T03:00:00Z"),
            false,
            &UnusualHourConfig::default()
        )
        .is_none());
    }

    #[test]
    fn a_full_slot_halves_the_histogram_and_keeps_shares() {
        let mut histogram = HourHistogram::default();
        let monday_nine = Timestamp::parse("2026-03-02T09:00:00Z").unwrap();
        let monday_ten = Timestamp::parse("2026-03-02T10:00:00Z").unwrap();
        for _ in 0..255 {
            histogram.record(monday_nine);
        }
        for _ in 0..85 {
            histogram.record(monday_ten);
        }
        assert_eq!(histogram.total(), 340);
        histogram.record(monday_nine);
        // 255 -> 127 + 1, 85 -> 42.
        assert_eq!(histogram.total(), 170);
        let (_, share_nine) = histogram.rarity(monday_nine, 0.025).unwrap();
        let (_, share_ten) = histogram.rarity(monday_ten, 0.025).unwrap();
        assert!(share_nine > share_ten);
    }

    proptest::proptest! {
        #[test]
        fn rarity_is_a_probability(counts in proptest::collection::vec(0u8..=255, SLOTS), micros in -62_135_596_800_000_000i64..253_402_300_799_000_000i64, rare in proptest::num::f64::ANY) {
            let histogram = HourHistogram {
                counts: crate::slim::SlimVec::from(
                    (0..SLOTS as u8).zip(counts.iter().copied()).filter(|&(_, count)| count > 0).collect::<Vec<_>>(),
                ),
            };
            if let Some((below, share)) = histogram.rarity(Timestamp(micros), if rare.is_nan() { 0.01 } else { rare }) {
                proptest::prop_assert!((0.0..=1.0).contains(&below) && share.is_finite() && share >= 0.0);
            }
        }
    }
}
