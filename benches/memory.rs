//! `engine/memory`: bytes of state per identity. Simulates 100,000 identities for a week
//! (humans, service accounts and agents, with attacks), judges every event with the
//! default policy, and counts the heap bytes the engine holds afterwards with a counting
//! wrapper around the system allocator: every profile, window, session and
//! hash-map slot is in the figure.
//!
//! Run: `cargo bench --bench memory` (`VIGIL_BENCH_IDENTITIES` and `VIGIL_BENCH_DAYS`
//! change the size; `VIGIL_BENCH_BREAKDOWN=1` adds the heap bytes per identity of each
//! part of the identity states, each measured by cloning it under the counter).

mod common;
use common::{env_or, live};

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::sync::Arc;
use std::time::Instant;
use vigil_backtest::simulate::{simulate, SimulateOptions};
use vigil_engine::Engine;
use vigil_rules::{Policy, Rules, RulesConfig};
use vigil_schemas::{Envelope, IpTags, Origin};

/// Counts requested bytes (the figure does not depend on the allocator underneath).
#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() {
    let identities = env_or("VIGIL_BENCH_IDENTITIES", 100_000);
    let days = env_or("VIGIL_BENCH_DAYS", 7) as u32;
    let options = SimulateOptions {
        identities,
        days,
        seed: 3,
        ..SimulateOptions::default()
    };
    let rules = Arc::new(Rules {
        config: RulesConfig::default(),
        policy: Policy::default_policy(),
    });
    let threads = std::thread::available_parallelism().map_or(2, |count| count.get());
    let region = Region::new(ALLOCATOR);
    let mut engine = Engine::new(rules, threads);
    let file: Arc<str> = Arc::from("simulated");
    let mut batch = Vec::with_capacity(16_384);
    let mut events = 0u64;
    let breakdown = std::env::var_os("VIGIL_BENCH_BREAKDOWN").is_some_and(|value| value == "1");
    let mut names: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut decisions = 0usize;
    let started = Instant::now();
    simulate(&options, |event| {
        events += 1;
        if breakdown {
            if let Some(identity) = &event.identity {
                names.insert(identity.to_string());
            }
        }
        batch.push(Envelope {
            event: Box::new(event.clone()),
            origin: Origin::File {
                file: file.clone(),
                line: events,
            },
            tags: IpTags::default(),
        });
        if batch.len() == batch.capacity() {
            decisions += engine.process(std::mem::take(&mut batch)).decisions.len();
            batch.reserve(16_384);
        }
        Ok(())
    })
    .expect("simulate");
    decisions += engine.process(std::mem::take(&mut batch)).decisions.len();
    let seconds = started.elapsed().as_secs_f64();
    drop(batch);
    let count = engine.identities();
    let parts = breakdown.then(|| parts_of(&engine, &names, &region));
    drop(names);
    let with_engine = live(&region);
    drop(engine);
    let held = with_engine - live(&region);
    println!(
        "engine/memory: {count} identities, {events} events over {days} days ({decisions} decisions, {seconds:.1} s simulate + judge)"
    );
    println!(
        "engine/memory: {held} bytes held by the engine = {:.0} bytes per identity",
        held as f64 / count.max(1) as f64
    );
    for (part, bytes) in parts.unwrap_or_default() {
        println!(
            "engine/memory:   {part:<22} {:>6.1} bytes per identity",
            bytes as f64 / count.max(1) as f64
        );
    }
}

/// Heap bytes of each part of the held identity states (the boxed state itself counted
/// as `state (fixed)`); each part is measured by cloning it under the counter, which
/// allocates what the original holds (boxed slices and strings clone to their length).
fn parts_of(
    engine: &Engine,
    names: &std::collections::HashSet<String>,
    region: &Region<System>,
) -> Vec<(&'static str, isize)> {
    fn cloned<T: Clone>(value: &T, region: &Region<System>) -> isize {
        let before = live(region);
        let copy = value.clone();
        let after = live(region);
        drop(copy);
        after - before
    }
    let mut totals: Vec<(&'static str, isize)> = Vec::new();
    let mut add = |part: &'static str, bytes: isize| match totals
        .iter_mut()
        .find(|(name, _)| *name == part)
    {
        Some((_, total)) => *total += bytes,
        None => totals.push((part, bytes)),
    };
    for name in names {
        let Some(state) = engine.identity(name) else {
            continue;
        };
        add("state (fixed)", std::mem::size_of_val(state) as isize);
        let parts = [
            ("profile", cloned(&state.profile, region)),
            ("travel", cloned(&state.travel, region)),
            ("access", cloned(&state.access, region)),
            ("recent_access", cloned(&state.recent_access, region)),
            ("risks", cloned(&state.risks, region)),
        ];
        let listed: isize = parts.iter().map(|(_, bytes)| bytes).sum();
        for (part, bytes) in parts {
            add(part, bytes);
        }
        // The rest of the state's heap: the windows, postures, scope and cooldowns
        // behind the rare parts' box.
        add("rare parts", cloned(state, region) - listed);
        add("key (name)", name.len() as isize);
    }
    totals
}
