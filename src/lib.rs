//! The `vigil` command line's library: the commands (`commands/`), config composition
//! (`config`, `compose`), errors and exit codes (`error`). It only wires the crates below
//! it; tests and benches call the same code the binary runs.

pub mod commands;
pub mod compose;
pub mod config;
pub mod error;
pub mod report;
pub mod signals;

pub use commands::{demo, replay, run, sql, state};
