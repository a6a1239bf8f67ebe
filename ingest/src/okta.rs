//! Decoder for the `okta` format (being written).

use crate::{DecodeError, Decoded, Format};

pub(crate) fn decode(_record: &[u8]) -> Result<Decoded, DecodeError> {
    Err(DecodeError::new(Format::Okta, "decoder not written yet"))
}
