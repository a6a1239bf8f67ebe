//! vigil's judgement, pure and synchronous: identity profiles, detectors, session risk
//! and policy.
//!
//! Everything here is a function of (state, event): no IO, no clock (time comes from
//! events), no randomness. The same events in the same per-identity order always give the
//! same signals and decisions, live or replayed, which makes every judgement testable and
//! every backtest honest.
//!
//! - [`profile`]: what is normal for an identity, bounded in memory.
//! - [`detectors`]: impossible travel, first-seen device/country/ASN, brute force.
//! - [`risk`]: signals combine into a decaying 0-100 session risk.
//! - [`policy`]: ordered CEL rules mapping facts to actions, with modes and cooldowns.
//! - [`judge`]: one event through all of the above.

mod check;
pub mod condition;
pub mod config;
pub mod detectors;
mod duration;
pub mod geo;
mod hash;
pub mod judge;
pub mod policy;
pub mod profile;
pub mod risk;
pub mod slim;
#[cfg(test)]
mod testing;
pub mod window;

pub use config::RulesConfig;
pub use duration::Duration;
pub use hash::{client_family, fingerprint, Prints};

pub use judge::{decision_id, IdentityState, IdentityStateV3, Judge, Rules, Verdict};
pub use policy::{Policy, PolicyError, DEFAULT_POLICY};
