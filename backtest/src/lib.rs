//! vigil's backtests, pure and deterministic for a seed:
//!
//! - [`simulate`]: realistic traffic (people, service accounts, AI agents; sign-ins,
//!   posture, access) with attacks woven in, as native events;
//! - [`labels`]: the ground truth of a simulation (attacks and sessions);
//! - [`eval`]: decisions scored against the labels: recall, precision and delay per
//!   attack kind and per detector, and the share of benign sessions acted on.

pub mod eval;
pub mod labels;
pub mod simulate;
