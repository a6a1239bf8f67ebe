//! Helpers shared by the benches (each bench is its own crate and uses what it needs).
#![allow(dead_code)]

use stats_alloc::Region;
use std::alloc::System;

/// A number from the environment, or `default`.
pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Bytes allocated and not freed since the region began (benches counting with
/// `stats_alloc`).
pub fn live(region: &Region<System>) -> isize {
    let change = region.change();
    // A reallocation's growth is in `bytes_allocated` and its shrinking in
    // `bytes_deallocated` already; `bytes_reallocated` is their net, counted again if added.
    change.bytes_allocated as isize - change.bytes_deallocated as isize
}

/// Process CPU time (user + system, all threads) in seconds, from `/proc/self/stat`.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some((user + system) / 100.0)
}
