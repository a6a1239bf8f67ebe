//! The `vigil` binary's library: command-line wiring, configuration, the replay pipeline,
//! the traffic simulator and the demo. Everything a command does lives here so tests and
//! benches call the same code the binary runs.

pub mod config;
pub mod demo;
pub mod labels;
pub mod replay;
pub mod report;
pub mod simulate;

/// mimalloc: decoding allocates a handful of short strings per event on every core, and
/// the system allocator spent a third of replay time in `malloc`/`free` (perf, 1M events).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
