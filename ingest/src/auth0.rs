//! Decoder for the `auth0` format (being written).

use crate::{DecodeError, Decoded, Format};

pub(crate) fn decode(_record: &[u8]) -> Result<Decoded, DecodeError> {
    Err(DecodeError::new(Format::Auth0, "decoder not written yet"))
}
