//! The detectors: each reads one event and the identity's state and returns signals.
//! `password_spray` alone is keyed by source address: the engine runs it across
//! identities and hands its signals to the judge.

pub mod access_volume;
pub mod agent_scope;
pub mod brute_force;
pub mod first_seen;
pub mod impossible_travel;
pub mod mfa_fatigue;
pub mod password_spray;
pub mod posture_degraded;
pub mod session_hijack;
pub mod threat_ip;
pub mod unusual_hour;
