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
    change.bytes_allocated as isize - change.bytes_deallocated as isize + change.bytes_reallocated
}
