//! Decoder for the `cloudtrail` format (being written).

use crate::{DecodeError, Decoded, Format};

pub(crate) fn decode(_record: &[u8]) -> Result<Decoded, DecodeError> {
    Err(DecodeError::new(Format::Cloudtrail, "decoder not written yet"))
}
