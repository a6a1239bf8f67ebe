//! Durations as configs write them: `90s`, `15m`, `2h`, `14d`, or a number of seconds.

use serde::{Deserialize, Deserializer};
use std::fmt;

/// A duration in whole seconds, written in configs as `90s`, `15m`, `2h`, `14d` or a number
/// of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub i64);

impl Duration {
    /// The longest duration a config may give: 100 years, far past any window or
    /// retention, and far from overflowing event-time arithmetic.
    pub const MAX: Duration = Duration(100 * 366 * 86_400);

    /// Seconds.
    pub const fn secs(seconds: i64) -> Duration {
        Duration(seconds)
    }

    /// Minutes.
    pub const fn minutes(minutes: i64) -> Duration {
        Duration(minutes * 60)
    }

    /// Hours.
    pub const fn hours(hours: i64) -> Duration {
        Duration(hours * 3600)
    }

    /// Days.
    pub const fn days(days: i64) -> Duration {
        Duration(days * 86_400)
    }

    /// In microseconds, the unit of event time.
    pub const fn as_micros(self) -> i64 {
        self.0.saturating_mul(1_000_000)
    }

    /// Parses `30s`, `15m`, `2h`, `14d` or a bare number of seconds.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let text = text.trim();
        let split = text
            .find(|character: char| !character.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let value: i64 = number.parse().map_err(|_| {
            format!("`{text}` is not a duration such as `30s`, `15m`, `2h` or `14d`")
        })?;
        let scale = match unit.trim() {
            "" | "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{text}`: use s, m, h or d"
                ))
            }
        };
        value
            .checked_mul(scale)
            .filter(|seconds| *seconds <= Duration::MAX.0)
            .map(Duration)
            .ok_or_else(|| format!("`{text}` is longer than 100 years"))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0;
        if seconds != 0 && seconds % 86_400 == 0 {
            write!(formatter, "{}d", seconds / 86_400)
        } else if seconds != 0 && seconds % 3600 == 0 {
            write!(formatter, "{}h", seconds / 3600)
        } else if seconds != 0 && seconds % 60 == 0 {
            write!(formatter, "{}m", seconds / 60)
        } else {
            write!(formatter, "{seconds}s")
        }
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(i64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Seconds(seconds) if (0..=Duration::MAX.0).contains(&seconds) => {
                Ok(Duration(seconds))
            }
            Raw::Seconds(seconds) if seconds > Duration::MAX.0 => Err(serde::de::Error::custom(
                format!("duration {seconds} s is longer than 100 years"),
            )),
            Raw::Seconds(seconds) => Err(serde::de::Error::custom(format!(
                "duration {seconds} is negative"
            ))),
            Raw::Text(text) => Duration::parse(&text).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(Duration::parse("90s"), Ok(Duration(90)));
        assert_eq!(Duration::parse("15m"), Ok(Duration(900)));
        assert_eq!(Duration::parse("14d"), Ok(Duration::days(14)));
        assert_eq!(Duration::parse("42"), Ok(Duration(42)));
        assert!(Duration::parse("5y").unwrap_err().contains("`y`"));
        assert!(Duration::parse("soon").is_err());
        assert_eq!(Duration::hours(2).to_string(), "2h");
    }
}
