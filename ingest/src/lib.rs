//! vigil's senses: decoders from vendor log formats to the normalized [`Event`],
//! enrichment of events with geo, ASN and IP-list tags, and file sources.
//!
//! Guarantees:
//! - a decoder never panics on any bytes; a record it cannot read gives a
//!   [`DecodeError`] naming the format and field, for the rejects / dead-letter path;
//! - a well-formed record that is not an authentication, posture or access event of
//!   interest is [`Decoded::Skipped`] with a reason, counted and never rejected;
//! - vendor-supplied geolocation wins over a database lookup, and private, loopback and
//!   reserved addresses never get a location.

mod auth0;
mod cloudtrail;
pub mod country;
mod decode;
pub mod enrich;
pub mod file;
mod entra;
mod gws;
mod native;
mod ocsf;
mod okta;

pub use decode::{detect, parse_ip, present, DecodeError, Decoded, Format, MAX_RECORD_BYTES};
pub use vigil_schemas::Event;

/// Decodes one record of a format; `Format::Auto` recognises the format first.
pub fn decode(format: Format, record: &[u8]) -> Result<Decoded, DecodeError> {
    if record.len() > MAX_RECORD_BYTES {
        return Err(DecodeError::new(
            format,
            format!("record of {} bytes exceeds the limit of {MAX_RECORD_BYTES} bytes", record.len()),
        ));
    }
    let concrete = match format {
        Format::Auto => detect(record)?,
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

/// Reading the shared golden samples (`../shared/data` beside the repository) in tests.
#[cfg(test)]
pub(crate) mod testdata {
    use std::path::PathBuf;

    /// The path of a file under `shared/data`, or `None` when the folder is absent outside
    /// CI. In CI (`CI` set) a missing file fails the test instead of skipping it.
    pub(crate) fn shared(relative: &str) -> Option<PathBuf> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(relative);
        if path.exists() {
            return Some(path);
        }
        assert!(std::env::var_os("CI").is_none(), "golden sample {} missing in CI", path.display());
        eprintln!("skipping: {} not present", path.display());
        None
    }

    /// Every non-empty line of a shared sample file.
    pub(crate) fn lines(relative: &str) -> Option<Vec<String>> {
        let text = std::fs::read_to_string(shared(relative)?).expect("sample readable");
        Some(text.lines().filter(|line| !line.trim().is_empty()).map(str::to_string).collect())
    }

    /// Decodes a record that must give an event.
    pub(crate) fn event(format: crate::Format, record: &str) -> vigil_schemas::Event {
        match crate::decode(format, record.as_bytes()) {
            Ok(crate::Decoded::Event(event)) => *event,
            other => panic!("expected an event from {record}, got {other:?}"),
        }
    }
}
