//! `engine/state`: one million identities with durable state. Judges eight rounds of
//! events for every identity (sign-ins with location, device and network, and access
//! calls, one per identity per hour of a working day) with checkpoints to redb every
//! 100,000 events, and reports throughput, the process's resident memory and the state
//! file's size. Then drops the engine and measures a restart: opening the state (device
//! owners and spray tracker loaded, identities on demand) until the first decision, an
//! impossible-travel revocation that needs the restored baseline.
//!
//! Run: `cargo bench --bench state` (`VIGIL_BENCH_IDENTITIES` changes the count,
//! `VIGIL_BENCH_IN_MEMORY` bounds the identities held in memory, default all of them;
//! `VIGIL_BENCH_CHECKPOINT_EVENTS` the events between checkpoints, default 100,000).

mod common;
use common::{env_or, live};

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::sync::Arc;
use std::time::Instant;
use vigil_engine::store::Store;
use vigil_engine::{Engine, MemoryLimits};
use vigil_rules::{Policy, Rules, RulesConfig};
use vigil_schemas::{
    AccessDetail, AuthAction, AuthDetail, Detail, Envelope, Event, Geo, IpTags, Origin, Outcome,
    Progress, Timestamp,
};

/// Counts heap bytes (what the engine holds) besides the resident set the kernel reports.
#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Resident and peak resident memory of this process, in bytes.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

const CITIES: [(&str, &str, f64, f64, u32); 6] = [
    ("Berlin", "DE", 52.52, 13.405, 3320),
    ("Paris", "FR", 48.857, 2.352, 3215),
    ("London", "GB", 51.507, -0.128, 2856),
    ("New York", "US", 40.713, -74.006, 7922),
    ("Tokyo", "JP", 35.68, 139.77, 2516),
    ("Sydney", "AU", -33.87, 151.21, 1221),
];

const START: i64 = 1_772_409_600 + 8 * 3600;

/// Identity `index`'s event in `round` (an hour of the day): sign-ins on even rounds,
/// access calls on odd ones.
fn event(index: usize, round: usize, line: u64, file: &Arc<str>) -> Envelope {
    let identity = format!("user{index:07}@bench.example");
    let time = Timestamp::from_secs(START + round as i64 * 3600 + (index % 3000) as i64);
    let home = CITIES[index % 4];
    let detail = if round.is_multiple_of(2) {
        Detail::Auth(AuthDetail {
            action: AuthAction::Login,
            outcome: Outcome::Success,
            factor: None,
            reason: None,
        })
    } else {
        Detail::Access(AccessDetail {
            resource: format!("/api/items/{}", index % 97),
            action: Some("GET".into()),
            bytes: Some(20_000 + (index % 5000) as u64),
            status: Some(200),
            tool: None,
            on_behalf_of: None,
        })
    };
    let mut event = Event::new(time, Some(&identity), detail);
    event.session_id = Some(format!("s-{index}-{}", round / 2).into());
    event.device_id = Some(format!("laptop-{index}").into());
    event.ip = Some(std::net::IpAddr::from([
        85,
        (index >> 16) as u8,
        (index >> 8) as u8,
        index as u8,
    ]));
    event.asn = Some(home.4);
    event.geo = Some(Geo {
        lat: Some(home.2),
        lon: Some(home.3),
        country: Some(home.1.into()),
        city: Some(home.0.into()),
        accuracy_km: Some(20.0),
    });
    event.user_agent = Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0".into());
    Envelope {
        event: Box::new(event),
        origin: Origin::File {
            file: file.clone(),
            line,
        },
        tags: IpTags::default(),
    }
}

fn main() {
    let identities = env_or("VIGIL_BENCH_IDENTITIES", 1_000_000);
    let in_memory = env_or("VIGIL_BENCH_IN_MEMORY", identities);
    let checkpoint_events = env_or("VIGIL_BENCH_CHECKPOINT_EVENTS", 100_000) as u64;
    let rounds = 8;
    let rules = Arc::new(Rules {
        config: RulesConfig::default(),
        policy: Policy::default_policy(),
    });
    let threads = std::thread::available_parallelism().map_or(2, |count| count.get());
    let folder = tempfile::tempdir().expect("tempdir");
    let limits = MemoryLimits {
        max_identities: in_memory,
        // The whole day stays in memory unless bounded by count.
        idle_after_micros: 24 * 3600 * 1_000_000,
    };
    let (rss_before, _) = memory();
    let region = Region::new(ALLOCATOR);
    let store = Arc::new(Store::open(folder.path()).expect("store"));
    let mut engine = Engine::with_store(rules.clone(), threads, store, limits).expect("engine");
    let file: Arc<str> = Arc::from("bench");
    let started = Instant::now();
    let (mut line, mut decisions, mut checkpoints) = (0u64, 0usize, 0u32);
    let mut in_checkpoint = std::time::Duration::ZERO;
    for round in 0..rounds {
        for chunk in (0..identities).collect::<Vec<_>>().chunks(16_384) {
            let batch: Vec<Envelope> = chunk
                .iter()
                .map(|&index| {
                    line += 1;
                    event(index, round, line, &file)
                })
                .collect();
            decisions += engine.process(batch).decisions.len();
            if engine.events_since_checkpoint() >= checkpoint_events {
                let begun = Instant::now();
                engine
                    .checkpoint(vec![(
                        "file:bench".into(),
                        Progress {
                            next: line,
                            mark: 0,
                        },
                    )])
                    .expect("checkpoint");
                in_checkpoint += begun.elapsed();
                checkpoints += 1;
            }
        }
    }
    engine
        .checkpoint(vec![(
            "file:bench".into(),
            Progress {
                next: line,
                mark: 0,
            },
        )])
        .expect("checkpoint");
    engine.finish_checkpoint().expect("checkpoint");
    let seconds = started.elapsed().as_secs_f64();
    let (rss, peak) = memory();
    let held = engine.identities();
    let with_engine = live(&region);
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let state_file = std::fs::metadata(folder.path().join("state.redb")).map_or(0, |m| m.len());
    println!(
        "engine/state: {identities} identities, {line} events in {seconds:.1} s ({:.0} events/s, {checkpoints} checkpoints, {decisions} decisions); {:.1} s of it in checkpoint calls (waiting for the previous write, evicting, encoding)",
        line as f64 / seconds,
        in_checkpoint.as_secs_f64()
    );
    println!(
        "engine/state: {held} identities in memory; resident {:.0} MiB (peak {:.0} MiB) = {:.0} bytes per identity held over the {:.0} MiB before; state file {:.0} MiB",
        mib(rss),
        mib(peak),
        (rss.saturating_sub(rss_before)) as f64 / held.max(1) as f64,
        mib(rss_before),
        mib(state_file)
    );
    drop(engine);
    let heap = with_engine - live(&region);
    println!(
        "engine/state: heap held by the engine (store and its cache included): {:.0} MiB = {:.0} bytes per identity in memory",
        heap as f64 / (1024.0 * 1024.0),
        heap as f64 / held.max(1) as f64
    );

    // Restart: open the state, then one sign-in from the other side of the world ten
    // minutes after the identity's last one (learned before the restart).
    let restart = Instant::now();
    let store = Arc::new(Store::open(folder.path()).expect("store"));
    let mut engine = Engine::with_store(rules, threads, store, limits).expect("engine");
    let opened = restart.elapsed().as_secs_f64();
    let index = identities / 2;
    let mut away = event(index, rounds - 2, line + 1, &file);
    away.event.time = away.event.time.plus_secs(600);
    let far = CITIES[5];
    away.event.ip = Some(std::net::IpAddr::from([1, 128, 0, 1]));
    away.event.asn = Some(far.4);
    away.event.geo = Some(Geo {
        lat: Some(far.2),
        lon: Some(far.3),
        country: Some(far.1.into()),
        city: Some(far.0.into()),
        accuracy_km: Some(20.0),
    });
    away.event.device_id = Some("unknown-device".into());
    away.event.session_id = Some("s-stolen".into());
    let output = engine.process(vec![away]);
    let first = restart.elapsed().as_secs_f64();
    let rules_fired: Vec<&str> = output
        .decisions
        .iter()
        .map(|decision| decision.rule.as_str())
        .collect();
    assert!(
        rules_fired.contains(&"revoke-impossible-travel"),
        "the restored baseline revokes: {rules_fired:?}"
    );
    println!(
        "engine/state: restart with {identities} identities in state: opened in {opened:.2} s, first decision ({}) after {first:.2} s",
        rules_fired.join(", ")
    );
}
