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

pub mod config;
pub mod detectors;
pub mod geo;
pub mod judge;
pub mod policy;
pub mod profile;
pub mod risk;
pub mod slim;
#[cfg(test)]
mod testing;
pub mod window;

pub use config::{Duration, RulesConfig};

/// A string's 64-bit fingerprint (FxHash): how per-identity state remembers device ids,
/// tools and principals in 8 bytes, and how the engine keys devices. Fixed across runs
/// and machines; a collision needs billions of distinct values.
pub fn fingerprint(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    text.hash(&mut hasher);
    hasher.finish()
}

/// A user agent's family: its fingerprint with every digit, `.` and `_` left out, so a
/// browser or OS update (`Chrome/131.0` to `Chrome/132.0`, `Mac OS X 14_5`) is the same
/// client and another browser or a script (`python-requests`) is not. 32 bits: it is
/// compared within one identity's few clients.
pub fn client_family(user_agent: &str) -> u32 {
    use std::hash::Hasher;
    let mut hasher = rustc_hash::FxHasher::default();
    for byte in user_agent.bytes() {
        if !(byte.is_ascii_digit() || byte == b'.' || byte == b'_') {
            hasher.write_u8(byte);
        }
    }
    hasher.finish() as u32
}
pub use judge::{decision_id, IdentityState, Judge, Rules, Verdict};
pub use policy::{Policy, PolicyError, DEFAULT_POLICY};
