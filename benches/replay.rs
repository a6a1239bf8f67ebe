//! `engine/replay`: `vigil replay` end to end (read, decode, enrich, judge, write) over a
//! generated file of one million native events, with every detector of the default
//! policy on. Reports events per second (criterion's throughput) and, on Linux, events
//! per CPU-second of the whole process (user + system time of all threads).
//!
//! Run: `cargo bench --bench replay`

mod common;
use common::cpu_seconds;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use vigil::replay::{replay, ReplayOptions};
use vigil_backtest::simulate::{simulate_to, SimulateOptions};
use vigil_ingest::Format;

const EVENTS: usize = 1_000_000;

/// The binary's allocator, so the bench measures what `vigil replay` runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn input_file(folder: &Path) -> PathBuf {
    let full = folder.join("simulated.jsonl");
    let path = folder.join("events-1m.jsonl");
    let options = SimulateOptions {
        identities: 2600,
        days: 30,
        seed: 11,
        ..SimulateOptions::default()
    };
    let mut writer = BufWriter::new(std::fs::File::create(&full).expect("create"));
    simulate_to(&options, &mut writer).expect("simulate");
    writer.flush().expect("flush");
    drop(writer);
    let reader = BufReader::new(std::fs::File::open(&full).expect("open"));
    let mut trimmed = BufWriter::new(std::fs::File::create(&path).expect("create"));
    let mut written = 0;
    for line in reader.lines().take(EVENTS) {
        writeln!(trimmed, "{}", line.expect("line")).expect("write");
        written += 1;
    }
    trimmed.flush().expect("flush");
    assert_eq!(
        written, EVENTS,
        "the simulation must give at least {EVENTS} events"
    );
    path
}

fn bench_replay(criterion: &mut Criterion) {
    let folder = tempfile::tempdir().expect("tempdir");
    let input = input_file(folder.path());
    let options = ReplayOptions {
        inputs: vec![input],
        format: Format::Auto,
        policy: None,
        config: None,
        output: folder.path().join("decisions.jsonl"),
        rejects: None,
        state: None,
        archive: None,
    };
    let mut group = criterion.benchmark_group("engine");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(EVENTS as u64));
    let mut cpu_total = 0.0;
    let mut runs = 0u32;
    group.bench_function("replay", |bencher| {
        bencher.iter(|| {
            let before = cpu_seconds().unwrap_or(0.0);
            let summary = replay(&options).expect("replay");
            cpu_total += cpu_seconds().unwrap_or(0.0) - before;
            runs += 1;
            assert_eq!(summary.read, EVENTS as u64);
            summary
        })
    });
    group.finish();
    if runs > 0 && cpu_total > 0.0 {
        let per_run = cpu_total / f64::from(runs);
        println!("engine/replay: {:.0} events per CPU-second ({per_run:.3} CPU-s per run of {EVENTS} events, mean of {runs} runs)", EVENTS as f64 / per_run);
    }
}

criterion_group!(benches, bench_replay);
criterion_main!(benches);
