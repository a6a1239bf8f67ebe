//! The `vigil` binary's library: command-line wiring, configuration, the replay pipeline,
//! the traffic simulator and the demo. Everything a command does lives here so tests and
//! benches call the same code the binary runs.

pub mod compose;
pub mod config;
pub mod demo;
pub mod error;
pub mod eval;
pub mod labels;
pub mod replay;
pub mod report;
pub mod run;
pub mod signals;
pub mod simulate;
pub mod sql;
pub mod state;
