//! Event time: microseconds since the Unix epoch, UTC, with a fast RFC 3339 parser.
//!
//! Vendor logs disagree on precision (Okta: milliseconds, Entra: 100 ns ticks, CloudTrail:
//! seconds) and some test fixtures use a space instead of `T` or omit the zone. The parser
//! accepts all of those; a missing zone is read as UTC.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A point in event time, in microseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// Timestamps outside 0001..=9999 cannot be written in RFC 3339.
pub const MIN_YEAR: i64 = 1;
/// See [`MIN_YEAR`].
pub const MAX_YEAR: i64 = 9999;

const MICROS_PER_SECOND: i64 = 1_000_000;

/// Why a timestamp could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp `{text}`: {reason}")]
pub struct TimestampError {
    /// The offending text, cut to 64 bytes.
    pub text: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

impl Timestamp {
    /// 0001-01-01T00:00:00Z, the earliest time RFC 3339 can write.
    pub const EARLIEST: Timestamp = Timestamp(-62_135_596_800_000_000);
    /// 9999-12-31T23:59:59.999999Z, the latest time RFC 3339 can write.
    pub const LATEST: Timestamp = Timestamp(253_402_300_799_999_999);

    /// This machine's clock (wall time, not event time).
    pub fn now() -> Self {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX))
    }

    /// From whole seconds since the epoch.
    pub fn from_secs(secs: i64) -> Self {
        Timestamp(secs.saturating_mul(MICROS_PER_SECOND))
    }

    /// From milliseconds since the epoch.
    pub fn from_millis(millis: i64) -> Self {
        Timestamp(millis.saturating_mul(1000))
    }

    /// Whole seconds since the epoch (floor).
    pub fn as_secs(self) -> i64 {
        self.0.div_euclid(MICROS_PER_SECOND)
    }

    /// Milliseconds since the epoch (floor).
    pub fn as_millis(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Seconds from `earlier` to `self`, as a float (negative when `self` is earlier).
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        (self.0 - earlier.0) as f64 / MICROS_PER_SECOND as f64
    }

    /// This time plus a number of seconds.
    pub fn plus_secs(self, secs: i64) -> Timestamp {
        Timestamp(
            self.0
                .saturating_add(secs.saturating_mul(MICROS_PER_SECOND)),
        )
    }

    /// Parses RFC 3339 (`2024-05-01T10:00:00.123Z`, `+02:00` offsets, up to nine fraction
    /// digits), also with a space for `T` and without a zone (read as UTC).
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        parse_rfc3339(text.as_bytes()).map_err(|reason| TimestampError {
            text: text.chars().take(64).collect(),
            reason,
        })
    }

    /// Hour of the week in UTC, 0 = Monday 00:00.
    pub fn hour_of_week(self) -> u32 {
        let days = self.0.div_euclid(86_400 * MICROS_PER_SECOND);
        // 1970-01-01 was a Thursday (weekday 3 when Monday is 0).
        let weekday = (days + 3).rem_euclid(7);
        let hour = self.0.rem_euclid(86_400 * MICROS_PER_SECOND) / (3600 * MICROS_PER_SECOND);
        (weekday * 24 + hour) as u32
    }
}

fn digits(bytes: &[u8], start: usize, count: usize) -> Result<i64, &'static str> {
    let slice = bytes.get(start..start + count).ok_or("too short")?;
    let mut value: i64 = 0;
    for &byte in slice {
        if !byte.is_ascii_digit() {
            return Err("expected a digit");
        }
        value = value * 10 + i64::from(byte - b'0');
    }
    Ok(value)
}

fn expect(bytes: &[u8], index: usize, wanted: &[u8]) -> Result<(), &'static str> {
    match bytes.get(index) {
        Some(byte) if wanted.contains(byte) => Ok(()),
        _ => Err("unexpected separator"),
    }
}

fn parse_rfc3339(bytes: &[u8]) -> Result<Timestamp, &'static str> {
    let year = digits(bytes, 0, 4)?;
    expect(bytes, 4, b"-")?;
    let month = digits(bytes, 5, 2)?;
    expect(bytes, 7, b"-")?;
    let day = digits(bytes, 8, 2)?;
    expect(bytes, 10, b"Tt ")?;
    let hour = digits(bytes, 11, 2)?;
    expect(bytes, 13, b":")?;
    let minute = digits(bytes, 14, 2)?;
    expect(bytes, 16, b":")?;
    let second = digits(bytes, 17, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err("date out of range");
    }
    // 60 is a leap second: read as the last second of the minute.
    if hour > 23 || minute > 59 || second > 60 {
        return Err("time out of range");
    }
    let mut index = 19;
    let mut micros: i64 = 0;
    if bytes.get(index) == Some(&b'.') {
        index += 1;
        let mut scale = 100_000;
        let start = index;
        while let Some(byte) = bytes.get(index).filter(|byte| byte.is_ascii_digit()) {
            micros += i64::from(byte - b'0') * scale;
            scale /= 10;
            index += 1;
        }
        if index == start || index - start > 9 {
            return Err("bad fraction of a second");
        }
    }
    let offset_seconds = match bytes.get(index) {
        None => 0,
        Some(b'Z') | Some(b'z') if index + 1 == bytes.len() => 0,
        Some(sign @ (b'+' | b'-')) => {
            let offset_hours = digits(bytes, index + 1, 2)?;
            let colon = usize::from(bytes.get(index + 3) == Some(&b':'));
            let offset_minutes = digits(bytes, index + 3 + colon, 2)?;
            if index + 5 + colon != bytes.len() || offset_hours > 23 || offset_minutes > 59 {
                return Err("bad zone offset");
            }
            let magnitude = offset_hours * 3600 + offset_minutes * 60;
            if *sign == b'+' {
                magnitude
            } else {
                -magnitude
            }
        }
        _ => return Err("trailing characters"),
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_seconds;
    let stamp = Timestamp(seconds * MICROS_PER_SECOND + micros);
    // Only times RFC 3339 can write back (years 0001 to 9999 in UTC) are accepted, so
    // every time vigil reads it can also write and read again.
    if stamp < Timestamp::EARLIEST || stamp > Timestamp::LATEST {
        return Err("outside the years 0001 to 9999 (UTC)");
    }
    Ok(stamp)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC; milliseconds or microseconds only when they are not zero.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0.div_euclid(MICROS_PER_SECOND);
        let micros = self.0.rem_euclid(MICROS_PER_SECOND);
        let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
        let second_of_day = seconds.rem_euclid(86_400);
        write!(
            formatter,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            year,
            month,
            day,
            second_of_day / 3600,
            second_of_day / 60 % 60,
            second_of_day % 60
        )?;
        if micros % 1000 != 0 {
            write!(formatter, ".{micros:06}")?;
        } else if micros != 0 {
            write!(formatter, ".{:03}", micros / 1000)?;
        }
        formatter.write_str("Z")
    }
}

/// RFC 3339 text in human-readable formats (JSON); microseconds since the epoch in binary
/// ones (the state store), which are compact and need no parsing.
impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            serializer.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
            Timestamp::parse(&text).map_err(serde::de::Error::custom)
        } else {
            i64::deserialize(deserializer).map(Timestamp)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vendor_precisions_and_zones() {
        let okta = Timestamp::parse("2020-02-14T22:18:51.843Z").unwrap();
        assert_eq!(okta.0, 1_581_718_731_843_000);
        let entra = Timestamp::parse("2019-10-18T09:45:48.0000000Z").unwrap();
        assert_eq!(entra, Timestamp::from_secs(1_571_391_948));
        let offset = Timestamp::parse("2019-10-18T11:45:48+02:00").unwrap();
        assert_eq!(offset, entra);
        let panther = Timestamp::parse("2022-03-22 14:21:53.225").unwrap();
        assert_eq!(panther.to_string(), "2022-03-22T14:21:53.225Z");
    }

    #[test]
    fn rejects_garbage_with_reason() {
        for bad in [
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59-01:00",
            "0001-01-01T00:00:00+01:00",
            "",
            "2020-13-01T00:00:00Z",
            "2020-02-30T00:00:00Z",
            "2020-01-01T00:00:00Zjunk",
            "yesterday",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hour_of_week_starts_monday() {
        // 2024-01-01 was a Monday.
        assert_eq!(
            Timestamp::parse("2024-01-01T00:30:00Z")
                .unwrap()
                .hour_of_week(),
            0
        );
        assert_eq!(
            Timestamp::parse("2024-01-07T23:00:00Z")
                .unwrap()
                .hour_of_week(),
            167
        );
    }

    proptest::proptest! {
        #[test]
        fn display_round_trips(micros in -62_135_596_800_000_000i64..253_402_300_799_000_000i64) {
            let stamp = Timestamp(micros);
            proptest::prop_assert_eq!(Timestamp::parse(&stamp.to_string()).unwrap(), stamp);
        }

        #[test]
        fn never_panics(text in ".{0,40}") {
            let _ = Timestamp::parse(&text);
        }
    }
}
