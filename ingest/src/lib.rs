//! vigil's senses: sources behind one trait ([`source::Source`]: files, and Kafka with
//! the `kafka` feature) with one position type, the record step ([`step`]: bytes to an
//! enriched envelope, a skip or a reject), decoders from vendor log formats to the
//! normalized [`Event`], and enrichment of events with geo, ASN and IP-list tags.
//!
//! Guarantees:
//! - a decoder never panics on any bytes; a record it cannot read gives a
//!   [`DecodeError`] naming the format and field, for the rejects / dead-letter path;
//! - a well-formed record that is not an authentication, posture or access event of
//!   interest is [`Decoded::Skipped`] with a reason, counted and never rejected;
//! - a vendor batch (an Event Hub `records` array, a CloudTrail `Records` file, a Graph
//!   `value` page) is a [`Decoded::Batch`]: every member decoded on its own, so a bad
//!   member is rejected alone and loses nothing else;
//! - vendor-supplied geolocation wins over a database lookup, and private, loopback and
//!   reserved addresses never get a location.

mod auth0;
mod cloudtrail;
pub mod country;
mod decode;
pub mod enrich;
mod entra;
pub mod file;
mod gws;
#[cfg(feature = "kafka")]
pub mod kafka;
mod native;
mod ocsf;
mod okta;
pub mod source;
pub mod step;
mod vendor;

pub use decode::{detect, parse_ip, present, DecodeError, Decoded, Format, MAX_RECORD_BYTES};
pub use vigil_schemas::Event;

/// Whether the record has a top-level-looking `"kind": "auth" | "posture" | "access"`
/// pair (a cheap byte search; the native decoder has the last word).
fn names_native_kind(record: &[u8]) -> bool {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"kind\""));
    FINDER.find_iter(record).any(|position| {
        let rest = &record[position + 6..];
        let rest = rest.trim_ascii_start();
        let Some(rest) = rest.strip_prefix(b":") else {
            return false;
        };
        let rest = rest.trim_ascii_start();
        rest.starts_with(b"\"auth\"")
            || rest.starts_with(b"\"access\"")
            || rest.starts_with(b"\"posture\"")
    })
}

/// Decodes one record of a format; `Format::Auto` recognises the format first.
pub fn decode(format: Format, record: &[u8]) -> Result<Decoded, DecodeError> {
    if record.len() > MAX_RECORD_BYTES {
        return Err(DecodeError::new(
            format,
            format!(
                "record of {} bytes exceeds the limit of {MAX_RECORD_BYTES} bytes",
                record.len()
            ),
        ));
    }
    let concrete = match format {
        Format::Auto => {
            // Native records are the bulk of most inputs: when the record names a native
            // kind, try the native decoder first and sniff only when that fails.
            if names_native_kind(record) {
                if let decoded @ Ok(_) = native::decode(record) {
                    return decoded;
                }
            }
            detect(record)?
        }
        other => other,
    };
    match concrete {
        Format::Native | Format::Auto => native::decode(record),
        Format::Ocsf => ocsf::decode(record),
        Format::Okta => okta::decode(record),
        Format::Entra => entra::decode(record),
        Format::Cloudtrail => cloudtrail::decode(record),
        Format::Auth0 => auth0::decode(record),
        Format::Gws => gws::decode(record),
    }
}

/// Reading the shared golden samples and generating records, in tests.
#[cfg(test)]
pub(crate) mod testdata;

/// Properties every decoder must keep, checked over every format at once.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn every_format() -> impl Iterator<Item = Format> {
        std::iter::once(Format::Auto).chain(Format::CONCRETE)
    }

    proptest! {
        /// No panic on any bytes: every failure is a `DecodeError` with a reason.
        #[test]
        fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            for format in every_format() {
                if let Err(error) = decode(format, &bytes) {
                    prop_assert!(!error.reason.is_empty());
                }
            }
        }

        /// Nor on text that is almost JSON.
        #[test]
        fn never_panics_on_json_like_text(text in "[{}\\[\\]\":,. a-zA-Z0-9_@-]{0,200}") {
            for format in every_format() {
                let _ = decode(format, text.as_bytes());
            }
        }

        /// Nor on records shaped like the vendors' with odd values in their fields.
        #[test]
        fn never_panics_on_shaped_records(json in testdata::shaped_records()) {
            for format in every_format() {
                let _ = decode(format, json.as_bytes());
            }
        }
    }
}
