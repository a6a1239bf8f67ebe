//! Decoder for the `ocsf` format (being written).

use crate::{DecodeError, Decoded, Format};

pub(crate) fn decode(_record: &[u8]) -> Result<Decoded, DecodeError> {
    Err(DecodeError::new(Format::Ocsf, "decoder not written yet"))
}
