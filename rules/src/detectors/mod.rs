//! The detectors: each reads one event and the identity's state and returns signals.
//! `password_spray` alone is keyed by source address: the engine runs it across
//! identities and hands its signals to the judge.
//!
//! Each detector's module owns its config section (`XConfig`, with its defaults), its
//! limits (constants named once) and its validation (`XConfig::validate`, messages built
//! from the limits). A new detector touches, besides its module here:
//! - `vigil_schemas::Detector` (`schemas/src/decision.rs`): the id, and the `detector`
//!   enum of `schemas/json/decision.v1.schema.json`;
//! - `crate::config::RulesConfig` (`rules/src/config.rs`): its section, re-exported
//!   config type, and its place in `RulesConfig::validate`;
//! - `crate::judge` (`rules/src/judge.rs`): where it runs on an event, and what it keeps in
//!   `IdentityState` (stored state: `engine/src/store.rs` versions its encoding);
//! - `rules/policy/default.yaml`: the rule that acts on it, if any;
//! - `tests/fixtures/<detector>_attack/` and `<detector>_false_positive_<case>/`: golden
//!   replays of the attack and of its classic false positive;
//! - `vigil_backtest` (`backtest/src/simulate.rs`, `labels.rs`): an attack the simulator
//!   weaves in, so `vigil eval` measures its recall and delay;
//! - README's Detectors table and DESIGN.md's detector ids.

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
