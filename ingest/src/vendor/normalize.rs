//! Vendor values to the normalized [`vigil_schemas::Event`]'s forms: numbers, places,
//! identifiers, client addresses, times and the wording of failures.

use crate::country::to_alpha2;
use crate::decode::{meaningful, parse_ip, DecodeError, Format};
use crate::native::MAX_ID_BYTES;
use std::fmt;
use std::net::IpAddr;
use vigil_schemas::{CompactString, Geo, Timestamp};

/// Whole numbers at least this large are not read as integers: close to `i64::MAX`
/// (9.22e18) an `f64` no longer converts back exactly, and no id, code or AS number is
/// that large.
const MAX_WHOLE: f64 = 9.0e18;

/// A finite number, or `None` for NaN and the infinities.
pub(crate) fn finite(number: f64) -> Option<f64> {
    number.is_finite().then_some(number)
}

/// A finite number written as text (`" 49.88 "`, `"3301"`).
pub(crate) fn number_in(text: &str) -> Option<f64> {
    finite(text.trim().parse::<f64>().ok()?)
}

/// A whole number that fits an `i64` (`3301.0` is `3301`, `3301.5` is `None`).
pub(crate) fn whole(number: f64) -> Option<i64> {
    let integral = number.fract() == 0.0 && number.abs() < MAX_WHOLE;
    integral.then_some(number as i64)
}

/// An autonomous system number: `1..=u32::MAX` (AS 0 is reserved and means "none").
pub(crate) fn asn(number: i64) -> Option<u32> {
    u32::try_from(number).ok().filter(|number| *number > 0)
}

/// A country as ISO 3166-1 alpha-2, from an alpha-2 or alpha-3 code or a name in any case
/// (see [`to_alpha2`]); unknown codes and names give `None`.
fn country(name: Option<&str>) -> Option<CompactString> {
    meaningful(name)
        .and_then(to_alpha2)
        .map(CompactString::from)
}

/// A vendor-supplied location. Coordinates are kept only when both are present, on the
/// globe and not exactly (0, 0), the "null island" that redacted or failed lookups write;
/// the country goes through [`country`]; placeholders are dropped. `None` when nothing
/// usable is left: geo decorates an event, it never makes or breaks one.
pub(crate) fn geo(
    lat: Option<f64>,
    lon: Option<f64>,
    city: Option<&str>,
    country_name: Option<&str>,
) -> Option<Geo> {
    let mut location = Geo {
        lat,
        lon,
        ..Geo::default()
    };
    let null_island = lat == Some(0.0) && lon == Some(0.0);
    if location.coordinates().is_none() || null_island {
        location.lat = None;
        location.lon = None;
    }
    location.city = meaningful(city).map(CompactString::from);
    location.country = country(country_name);
    let empty = location.lat.is_none() && location.city.is_none() && location.country.is_none();
    (!empty).then_some(location)
}

/// An identifier the event keeps (identity, session, device), empty read as absent and
/// refused when longer than [`MAX_ID_BYTES`]: real ones are short, and a megabyte identity
/// would poison every map it is a key of. `field` is only formatted for the error.
pub(crate) fn bounded_id<T: AsRef<str> + Into<CompactString>>(
    format: Format,
    value: Option<T>,
    field: impl fmt::Display,
) -> Result<Option<CompactString>, DecodeError> {
    let Some(text) = value else { return Ok(None) };
    let length = text.as_ref().len();
    if length == 0 {
        return Ok(None);
    }
    if length > MAX_ID_BYTES {
        return Err(DecodeError::invalid(
            format,
            &field.to_string(),
            format!("{length} bytes, more than the limit of {MAX_ID_BYTES}"),
        ));
    }
    Ok(Some(text.into()))
}

/// A client address that must be one when given (see [`parse_ip`] for the forms read):
/// `None` stays absent, anything else that is no address is an error naming `field`.
/// Decoders that drop unusable addresses instead call [`parse_ip`] directly.
pub(crate) fn address(
    format: Format,
    text: Option<&str>,
    field: impl fmt::Display,
) -> Result<Option<IpAddr>, DecodeError> {
    let Some(text) = text else { return Ok(None) };
    match parse_ip(text) {
        Some(ip) => Ok(Some(ip)),
        None => Err(DecodeError::invalid(
            format,
            &field.to_string(),
            format!("`{text}` is not an IP address"),
        )),
    }
}

/// A time field (RFC 3339, or the space-separated form some exports write), naming `field`
/// when it cannot be read (`field` is only formatted then).
pub(crate) fn timestamp(
    format: Format,
    text: &str,
    field: impl fmt::Display,
) -> Result<Timestamp, DecodeError> {
    Timestamp::parse(text).map_err(|error| DecodeError::invalid(format, &field.to_string(), error))
}

/// The event time: the vendor's own time field (`published`, `eventTime`, `id.time`), else
/// the `p_event_time` Panther keeps beside records it exports; missing names `field`.
pub(crate) fn event_time(
    format: Format,
    field: &str,
    vendor_time: Option<&str>,
    panther_time: Option<&str>,
) -> Result<Timestamp, DecodeError> {
    match (vendor_time, panther_time) {
        (Some(text), _) => timestamp(format, text, field),
        (None, Some(text)) => timestamp(format, text, "p_event_time"),
        (None, None) => Err(DecodeError::missing(format, field)),
    }
}

/// Whether a lowercase failure text says a challenge went unanswered ("Okta Verify push
/// timeout", Entra's "user did not respond to mobile app notification").
pub(crate) fn says_unanswered(reason: &str) -> bool {
    [
        "timeout",
        "timed out",
        "time out",
        "did not respond",
        "not answered",
        "no response",
    ]
    .iter()
    .any(|needle| reason.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number_in(" 49.88 "), Some(49.88));
        assert_eq!(
            (number_in("inf"), number_in("NaN"), number_in("x")),
            (None, None, None)
        );
        assert_eq!(
            (whole(3301.0), whole(3301.5), whole(-2.0)),
            (Some(3301), None, Some(-2))
        );
        assert_eq!(whole(1e19), None);
        assert_eq!(
            (asn(3301), asn(0), asn(-1), asn(1 << 40)),
            (Some(3301), None, None, None)
        );
    }

    #[test]
    fn countries_are_validated_alpha2() {
        for (name, code) in [
            ("US", Some("US")),
            ("de", Some("DE")),
            ("GBR", Some("GB")),
            ("United States", Some("US")),
            ("uk", Some("GB")),
        ] {
            assert_eq!(country(Some(name)).as_deref(), code, "{name}");
        }
        for unknown in ["XX", "Atlantis", "unknown", "", "-"] {
            assert_eq!(country(Some(unknown)), None, "{unknown}");
        }
    }

    #[test]
    fn geo_rules() {
        assert_eq!(
            geo(Some(0.0), Some(0.0), None, None),
            None,
            "null island alone is no location"
        );
        assert_eq!(
            geo(Some(91.0), Some(0.0), None, Some("France")),
            Some(Geo {
                country: Some("FR".into()),
                ..Geo::default()
            })
        );
        assert_eq!(
            geo(Some(48.8), None, Some("Paris"), None),
            Some(Geo {
                city: Some("Paris".into()),
                ..Geo::default()
            })
        );
        assert_eq!(
            geo(Some(48.8), Some(2.3), Some("unknown"), Some("Atlantis")),
            Some(Geo {
                lat: Some(48.8),
                lon: Some(2.3),
                ..Geo::default()
            })
        );
        assert_eq!(
            geo(Some(0.0), Some(0.0), Some(" City "), Some("Country")),
            Some(Geo {
                city: Some("City".into()),
                ..Geo::default()
            })
        );
        assert_eq!(geo(Some(f64::NAN), Some(1.0), Some(""), Some("null")), None);
    }

    #[test]
    fn identifiers_are_bounded() {
        assert_eq!(
            bounded_id(Format::Okta, Some("alice"), "actor.alternateId"),
            Ok(Some("alice".into()))
        );
        assert_eq!(bounded_id(Format::Okta, Some(String::new()), "x"), Ok(None));
        assert_eq!(bounded_id::<&str>(Format::Okta, None, "x"), Ok(None));
        let at_limit = "x".repeat(MAX_ID_BYTES);
        assert_eq!(
            bounded_id(Format::Okta, Some(at_limit.as_str()), "x"),
            Ok(Some(at_limit.as_str().into()))
        );
        let huge = "x".repeat(MAX_ID_BYTES + 1);
        let error = bounded_id(
            Format::Auth0,
            Some(huge),
            format_args!("{}{}", "data.", "user_name"),
        )
        .unwrap_err();
        assert_eq!(
            error.reason,
            format!(
                "invalid field `data.user_name`: {} bytes, more than the limit of {MAX_ID_BYTES}",
                MAX_ID_BYTES + 1
            )
        );
    }

    #[test]
    fn addresses_and_times() {
        assert_eq!(
            address(Format::Gws, Some("[::1]:443"), "ipAddress"),
            Ok(Some("::1".parse().unwrap()))
        );
        assert_eq!(address(Format::Gws, None, "ipAddress"), Ok(None));
        let error = address(Format::Gws, Some("1.2.3"), "ipAddress").unwrap_err();
        assert_eq!(
            error.reason,
            "invalid field `ipAddress`: `1.2.3` is not an IP address"
        );
        let time = Timestamp::parse("2024-05-01T10:00:00Z").unwrap();
        assert_eq!(
            event_time(
                Format::Okta,
                "published",
                Some("2024-05-01T10:00:00Z"),
                Some("junk")
            ),
            Ok(time)
        );
        assert_eq!(
            event_time(Format::Okta, "published", None, Some("2024-05-01 10:00:00")),
            Ok(time)
        );
        let missing = event_time(Format::Okta, "published", None, None).unwrap_err();
        assert_eq!(missing.reason, "missing field `published`");
        let invalid = event_time(Format::Okta, "published", None, Some("soon")).unwrap_err();
        assert!(
            invalid.reason.starts_with("invalid field `p_event_time`"),
            "{invalid}"
        );
    }

    #[test]
    fn unanswered_wording() {
        for reason in [
            "okta verify push timeout",
            "mfa denied; user did not respond to mobile app notification",
            "request timed out",
        ] {
            assert!(says_unanswered(reason), "{reason}");
        }
        for reason in [
            "user rejected okta push verify",
            "invalid verification code",
            "mfa denied; user declined the authentication",
        ] {
            assert!(!says_unanswered(reason), "{reason}");
        }
    }
}
