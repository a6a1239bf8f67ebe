//! `engine/hot_path`: what one event costs on each step of the hot path, on one thread:
//! heap allocations (and bytes) per event, counted by a counting wrapper around the
//! system allocator, and nanoseconds per event. Two steps, as the pipeline runs them:
//! *decode* (bytes of a native JSON line to an enriched envelope: parse, build the event,
//! time check, enrichment) and *judge* (the engine with every detector and the default
//! policy, decisions built).
//!
//! The input is a simulated month (`vigil simulate` traffic of 2,000 identities, 30 days,
//! seed 11, serialized as native JSON lines), or the JSON lines file named by
//! `VIGIL_BENCH_INPUT` (for example the peer bench's realistic file, `benches/peers.py`),
//! of which the first `VIGIL_BENCH_EVENTS` (default 500,000) are judged.
//!
//! The allocation counts do not depend on the allocator; the times here are with the
//! system allocator under the counter (vigil itself runs mimalloc, faster on both steps),
//! so compare them only with each other.
//!
//! Run: `cargo bench --bench hot_path`

mod common;
use common::env_or;

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::io::BufRead;
use std::sync::Arc;
use std::time::Instant;
use vigil_backtest::simulate::{simulate_to, SimulateOptions};
use vigil_engine::Engine;
use vigil_ingest::enrich::Enricher;
use vigil_ingest::source::{RecordBatch, Stream};
use vigil_ingest::step::{decode_batch, Outcome};
use vigil_ingest::Format;
use vigil_rules::{Policy, Rules, RulesConfig};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Records per batch, as the pipeline reads them.
const BATCH: usize = 16_384;

fn lines(limit: usize) -> (String, Vec<Vec<u8>>) {
    let mut lines = Vec::with_capacity(limit);
    if let Ok(path) = std::env::var("VIGIL_BENCH_INPUT") {
        let file = std::fs::File::open(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
        for line in std::io::BufReader::new(file).split(b'\n').take(limit) {
            lines.push(line.expect("read"));
        }
        return (path, lines);
    }
    let options = SimulateOptions {
        identities: 2000,
        days: 30,
        seed: 11,
        ..SimulateOptions::default()
    };
    let mut simulated = Vec::new();
    simulate_to(&options, &mut simulated).expect("simulate");
    lines.extend(
        simulated
            .split(|&byte| byte == b'\n')
            .filter(|line| !line.is_empty())
            .take(limit)
            .map(<[u8]>::to_vec),
    );
    (
        "simulated month (2,000 identities, seed 11)".to_string(),
        lines,
    )
}

/// Allocations, bytes and seconds of one step.
#[derive(Default)]
struct Step {
    allocations: usize,
    bytes: usize,
    seconds: f64,
}

impl Step {
    fn measure<T>(&mut self, work: impl FnOnce() -> T) -> T {
        let region = Region::new(ALLOCATOR);
        let started = Instant::now();
        let value = work();
        self.seconds += started.elapsed().as_secs_f64();
        let change = region.change();
        self.allocations += change.allocations + change.reallocations;
        self.bytes += change.bytes_allocated;
        value
    }

    fn print(&self, name: &str, events: usize) {
        let events = events.max(1) as f64;
        println!(
            "engine/hot_path: {name:<6} {:>6.2} allocations per event, {:>6.0} bytes allocated per event, {:>6.0} ns per event",
            self.allocations as f64 / events,
            self.bytes as f64 / events,
            self.seconds * 1e9 / events,
        );
    }
}

fn main() {
    let limit = env_or("VIGIL_BENCH_EVENTS", 500_000);
    let (input, lines) = lines(limit);
    let rules = Arc::new(Rules {
        config: RulesConfig::default(),
        policy: Policy::default_policy(),
    });
    let enricher = Enricher::default();
    let mut engine = Engine::new(rules, 1);
    let (mut decode, mut judge) = (Step::default(), Step::default());
    let (mut events, mut decisions) = (0usize, 0usize);
    let mut batch = RecordBatch::default();
    let stream = Stream::file("bench");
    for (number, chunk) in lines.chunks(BATCH).enumerate() {
        batch.clear();
        let index = batch.stream_index(&stream, Format::Auto);
        for (offset, line) in chunk.iter().enumerate() {
            batch.push(index, (number * BATCH + offset) as u64, line);
        }
        let envelopes = decode.measure(|| {
            decode_batch(&batch, &enricher, i64::MAX / 4_000_000, 1)
                .into_iter()
                .flatten()
                .filter_map(|outcome| match outcome {
                    Outcome::Event(envelope) => Some(envelope),
                    _ => None,
                })
                .collect::<Vec<_>>()
        });
        events += envelopes.len();
        decisions += judge.measure(|| engine.process(envelopes).decisions.len());
    }
    println!("engine/hot_path: {input}: {events} events judged, {decisions} decisions, one thread");
    decode.print("decode", events);
    judge.print("judge", events);
}
