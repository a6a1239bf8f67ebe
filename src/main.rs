//! The `vigil` command line: parses the arguments, runs the command, and turns its error
//! into a message and an exit code (2: it could not start; 1: it failed while running).

use clap::Parser;
use std::process::ExitCode;

/// mimalloc: decoding allocates a handful of short strings per event on every core, and
/// the system allocator spent a third of replay time in `malloc`/`free` (perf, 1M events).
/// Declared by the binary (and the benches), not the library, so a bench can wrap it to
/// count bytes.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// vigil: continuous verification for Zero Trust. Watches sign-ins, device posture and
/// access, keeps per-identity baselines, and decides when a session must be re-checked
/// or revoked.
#[derive(Parser)]
#[command(name = "vigil", version, about)]
struct Cli {
    #[command(subcommand)]
    command: vigil::commands::Command,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code().clamp(1, 255) as u8)
        }
    }
}
