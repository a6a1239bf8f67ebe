//! The detectors: each reads one event and the identity's state and returns signals.

pub mod brute_force;
pub mod first_seen;
pub mod impossible_travel;
pub mod mfa_fatigue;
pub mod unusual_hour;
