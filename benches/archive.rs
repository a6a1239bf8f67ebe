//! `archive`: the Parquet archive and SQL over it, beside DuckDB.
//!
//! Simulates ten million events (about 22,000 identities over 30 days, attacks woven
//! in) and measures the archive's write throughput two ways:
//! - the archive alone: the replay's judged stream (events, signals, decisions, batch
//!   ends, in the order a replay hands them on) is recorded in memory once, then fed to
//!   an archive a few times; rows written per CPU-second of the feeding (the caller's
//!   thread and the writer's), and per second of wall time. This is the write
//!   throughput, with no engine around it to add noise.
//! - end to end: replays in pairs, without and with `--archive`; rows per CPU-second of
//!   the extra CPU time of the run with the archive, and per second of extra wall time.
//!   The difference of two large numbers, so noisier, but it also counts what the
//!   archive costs the engine beside it (caches, allocator).
//!
//! The first reads back gigabytes of recorded events, cold in cache, where a replay
//! hands the archive each event just decoded: it errs on the slow side.
//!
//! Then runs five queries over the archive with DataFusion (`vigil sql`'s session) and
//! with DuckDB on the same files (`benches/archive_duckdb.py`, which installs DuckDB from
//! PyPI into a venv on its first run), in rounds that alternate the engines, and prints
//! the medians of all runs, their ratio, and the range of the rounds' ratios.
//!
//! Run: `cargo bench --bench archive`. Environment: `VIGIL_BENCH_EVENTS` the count,
//! `VIGIL_BENCH_RUNS` the timed runs per query and round (default 5), `VIGIL_BENCH_ROUNDS`
//! the rounds (default 3), `VIGIL_BENCH_WRITE_RUNS` the
//! pairs of replays and the feeds of the archive alone (default 3), `VIGIL_BENCH_DIR`
//! where the input and archive are kept (default `target/bench-archive`; an input of the
//! right size is reused), `VIGIL_BENCH_REUSE` queries the archive already there without
//! replaying, `VIGIL_BENCH_EXPLAIN` prints each query's `EXPLAIN ANALYZE`,
//! `VIGIL_BENCH_NO_DUCKDB` leaves DuckDB out. DataFusion's own `DATAFUSION_*` variables change its settings.

mod common;
use common::{cpu_seconds, env_or};

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use vigil::replay::{replay, ReplayOptions};
use vigil_backtest::simulate::{simulate_to, SimulateOptions};
use vigil_ingest::Format;
use vigil_schemas::SignalRecord;
use vigil_schemas::{Decision, Envelope};
use vigil_sinks::{Ack, BoxFuture, Judged, Output, SinkError};

/// The binary's allocator, so the bench measures what `vigil` runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Events per identity over 30 days in the simulation (measured: 910k for 2,000).
const EVENTS_PER_IDENTITY: usize = 450;

fn input(folder: &Path, events: usize) -> PathBuf {
    let path = folder.join(format!("events-{events}.jsonl"));
    if path.exists() {
        return path;
    }
    let full = folder.join("simulated.jsonl");
    let options = SimulateOptions {
        identities: events.div_ceil(EVENTS_PER_IDENTITY) + events / 20 / EVENTS_PER_IDENTITY,
        days: 30,
        seed: 23,
        ..SimulateOptions::default()
    };
    eprintln!("simulating {} identities over 30 days", options.identities);
    let mut writer = BufWriter::new(std::fs::File::create(&full).expect("create"));
    simulate_to(&options, &mut writer).expect("simulate");
    writer.flush().expect("flush");
    drop(writer);
    let reader = BufReader::new(std::fs::File::open(&full).expect("open"));
    let partial = folder.join(".events.partial");
    let mut trimmed = BufWriter::new(std::fs::File::create(&partial).expect("create"));
    let mut written = 0;
    for line in reader.lines().take(events) {
        writeln!(trimmed, "{}", line.expect("line")).expect("write");
        written += 1;
    }
    trimmed.flush().expect("flush");
    drop(trimmed);
    std::fs::remove_file(&full).expect("remove");
    assert_eq!(written, events, "the simulation gave too few events");
    std::fs::rename(&partial, &path).expect("rename");
    path
}

/// What a replay hands its sink, in order.
enum Call {
    Event(Envelope),
    Signal(Box<SignalRecord>),
    Decision(Box<Decision>),
    EndBatch,
}

/// An output that records what an archive would be given.
#[derive(Default, Clone)]
struct Recorder {
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Recorder {
    fn push(&self, call: Call) {
        self.calls.lock().expect("recorder").push(call);
    }
}

impl Output for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }
    fn wants_history(&self) -> bool {
        true
    }
    fn events(&mut self, envelopes: &[Envelope]) -> Result<(), SinkError> {
        for envelope in envelopes {
            self.push(Call::Event(envelope.clone()));
        }
        Ok(())
    }
    fn judged<'a>(&'a mut self, judged: Judged<'a>) -> BoxFuture<'a, Result<Ack, SinkError>> {
        for signal in judged.signals {
            self.push(Call::Signal(Box::new(signal.clone())));
        }
        for decision in judged.decisions {
            self.push(Call::Decision(Box::new(decision.clone())));
        }
        self.push(Call::EndBatch);
        Box::pin(async { Ok(Ack::done()) })
    }
}

/// The judged stream of a replay of `input` with the default config and policy.
fn record(input: &Path) -> (vigil::config::Config, Vec<Call>) {
    let (config, rules) = vigil::compose::load_rules(None, None).expect("rules");
    let enricher = vigil_ingest::enrich::Enricher::open(&config.enrich).expect("enricher");
    let engine = vigil::compose::engine(&config, rules, None).expect("engine");
    let recorder = Recorder::default();
    let mut pipeline = vigil_pipeline::Pipeline::new(
        engine,
        enricher,
        vec![Box::new(recorder.clone())],
        vigil::compose::options(&config, false),
    );
    let mut source =
        vigil_ingest::file::FileSource::open(input, Format::Auto, config.engine.batch_size)
            .expect("input");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(pipeline.run(&mut source, std::future::pending(), |_| {}))
        .expect("replay");
    pipeline.finish().expect("finish");
    let calls = std::mem::take(&mut *recorder.calls.lock().expect("recorder"));
    (config, calls)
}

/// Feeds a recorded stream to a new archive in `dir`: wall seconds, CPU seconds (every
/// thread: the caller's and the writer's), up to the last file written.
fn feed(config: &vigil::config::Config, calls: &[Call], dir: &Path) -> (f64, f64) {
    let _ = std::fs::remove_dir_all(dir);
    let cpu = cpu_seconds().unwrap_or(0.0);
    let started = Instant::now();
    let mut archive = config.open_archive(dir).expect("archive");
    for call in calls {
        match call {
            Call::Event(envelope) => archive.event(envelope).expect("archive"),
            // As a replay archives a signal (one home for unpacking the engine's record).
            Call::Signal(record) => archive.signal(record).expect("archive"),
            Call::Decision(decision) => archive.decision(decision).expect("archive"),
            Call::EndBatch => archive.end_batch().expect("archive"),
        }
    }
    archive.finish().expect("finish");
    (
        started.elapsed().as_secs_f64(),
        cpu_seconds().unwrap_or(0.0) - cpu,
    )
}

/// One replay: wall seconds, CPU seconds.
fn timed_replay(options: &ReplayOptions) -> (f64, f64) {
    let cpu = cpu_seconds().unwrap_or(0.0);
    let started = Instant::now();
    replay(options).expect("replay");
    (
        started.elapsed().as_secs_f64(),
        cpu_seconds().unwrap_or(0.0) - cpu,
    )
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn rows(batches: &[datafusion::arrow::array::RecordBatch]) -> usize {
    batches.iter().map(|batch| batch.num_rows()).sum()
}

fn main() {
    // `cargo bench` passes `--bench`; a filter naming another bench skips this one.
    let filter = std::env::args()
        .skip(1)
        .find(|argument| !argument.starts_with("--"));
    if filter.is_some_and(|filter| !"archive".contains(&filter)) {
        return;
    }
    let events = env_or("VIGIL_BENCH_EVENTS", 10_000_000);
    let runs = env_or("VIGIL_BENCH_RUNS", 5).max(1);
    let rounds = env_or("VIGIL_BENCH_ROUNDS", 3).max(1);
    let write_runs = env_or("VIGIL_BENCH_WRITE_RUNS", 3).max(1);
    let folder = std::env::var_os("VIGIL_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-archive"));
    std::fs::create_dir_all(&folder).expect("bench folder");
    let input = input(&folder, events);
    let archive = folder.join("archive");
    let reuse = std::env::var_os("VIGIL_BENCH_REUSE").is_some() && archive.is_dir();
    if !reuse {
        let _ = std::fs::remove_dir_all(&archive);
    }
    let mut options = ReplayOptions {
        inputs: vec![input.clone()],
        format: Format::Auto,
        policy: None,
        config: None,
        output: folder.join("decisions.jsonl"),
        rejects: None,
        state: None,
        archive: None,
    };
    // Pairs of replays, without and with the archive, back to back: the archive's cost is
    // each pair's difference (the machine's noise moves both runs of a pair alike).
    let mut pairs: Vec<[f64; 4]> = Vec::new();
    if !reuse {
        for _ in 0..write_runs {
            let _ = std::fs::remove_dir_all(&archive);
            options.archive = None;
            let (plain_wall, plain_cpu) = timed_replay(&options);
            options.archive = Some(archive.clone());
            let (archive_wall, archive_cpu) = timed_replay(&options);
            pairs.push([plain_wall, plain_cpu, archive_wall, archive_cpu]);
        }
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let context = runtime
        .block_on(vigil_history::open(
            &archive,
            vigil_history::DEFAULT_MEMORY_LIMIT,
        ))
        .expect("open the archive");
    let sql = |query: &str| {
        runtime
            .block_on(vigil_history::query(&context, query))
            .unwrap_or_else(|error| panic!("{error}"))
    };
    // Rows in a table of the archive `context` opened.
    let count = |context: &datafusion::prelude::SessionContext, table: &str| -> u64 {
        let batches = runtime
            .block_on(vigil_history::query(
                context,
                &format!("SELECT count(*) AS n FROM {table}"),
            ))
            .unwrap_or_else(|error| panic!("{error}"));
        let column = batches[0].column(0);
        datafusion::arrow::array::cast::as_primitive_array::<
            datafusion::arrow::datatypes::Int64Type,
        >(column)
        .value(0) as u64
    };
    let tables = ["events", "signals", "decisions", "sessions"];
    let counts: Vec<u64> = tables.iter().map(|table| count(&context, table)).collect();
    let written: u64 = counts.iter().sum();

    // The archive alone, fed the recorded stream `write_runs` times.
    let mut feeds: Vec<(f64, f64)> = Vec::new();
    if !reuse {
        let (config, calls) = record(&input);
        let alone = folder.join("archive-alone");
        for _ in 0..write_runs {
            feeds.push(feed(&config, &calls, &alone));
        }
        // Dropping ten million events takes a while: not timed.
        drop(calls);
        let check = runtime
            .block_on(vigil_history::open(
                &alone,
                vigil_history::DEFAULT_MEMORY_LIMIT,
            ))
            .expect("open the archive written alone");
        let rows_alone: u64 = tables.iter().map(|table| count(&check, table)).sum();
        assert_eq!(
            rows_alone, written,
            "the archive fed alone holds other rows than the replay's"
        );
        let _ = std::fs::remove_dir_all(&alone);
    }
    let bytes = folder_bytes(&archive);
    println!(
        "archive: {} rows ({}) in {:.1} MB",
        written,
        tables
            .iter()
            .zip(&counts)
            .map(|(table, count)| format!("{table} {count}"))
            .collect::<Vec<_>>()
            .join(", "),
        bytes as f64 / 1e6
    );
    for (wall, cpu) in &feeds {
        println!(
            "archive alone: {wall:.1} s wall, {cpu:.1} CPU-s: {:.0} rows per CPU-second, {:.0} rows/s",
            written as f64 / cpu.max(f64::EPSILON),
            written as f64 / wall.max(f64::EPSILON)
        );
    }
    if !feeds.is_empty() {
        println!(
            "archive alone, median of {} feeds: {:.0} rows per CPU-second, {:.0} rows/s",
            feeds.len(),
            median(
                feeds
                    .iter()
                    .map(|(_, cpu)| written as f64 / cpu.max(f64::EPSILON))
                    .collect()
            ),
            median(
                feeds
                    .iter()
                    .map(|(wall, _)| written as f64 / wall.max(f64::EPSILON))
                    .collect()
            )
        );
    }
    // Per pair: rows per extra CPU-second, rows per extra wall second.
    let rates: Vec<(f64, f64)> = pairs
        .iter()
        .map(|[plain_wall, plain_cpu, archive_wall, archive_cpu]| {
            (
                written as f64 / (archive_cpu - plain_cpu).max(f64::EPSILON),
                written as f64 / (archive_wall - plain_wall).max(f64::EPSILON),
            )
        })
        .collect();
    for ([plain_wall, plain_cpu, archive_wall, archive_cpu], (per_cpu, per_wall)) in
        pairs.iter().zip(&rates)
    {
        println!(
            "archive write: replay {plain_wall:.1} s wall / {plain_cpu:.1} CPU-s without, {archive_wall:.1} s / {archive_cpu:.1} CPU-s with the archive: {per_cpu:.0} rows per CPU-second, {per_wall:.0} rows/s of extra wall time",
        );
    }
    if !rates.is_empty() {
        println!(
            "archive write, median of {} pairs: {:.0} rows per CPU-second, {:.0} rows/s of extra wall time",
            rates.len(),
            median(rates.iter().map(|rate| rate.0).collect()),
            median(rates.iter().map(|rate| rate.1).collect())
        );
    }

    // A typical person (the median number of events among people), the busiest identity
    // (a service account or agent), and a week in the middle of the month.
    let per_identity = sql(
        "SELECT identity, count(*) AS n FROM events WHERE identity_type = 'user' \
         GROUP BY identity ORDER BY n, identity",
    );
    let people = first_column_texts(&per_identity);
    let typical = people[people.len() / 2].clone();
    let busiest = first_column_texts(&sql(
        "SELECT identity, count(*) AS n FROM events GROUP BY identity ORDER BY n DESC, identity LIMIT 1",
    ))[0]
        .clone();
    let start = SimulateOptions::default().start;
    let day = |offset: i64| {
        let text = vigil_schemas::Timestamp(start.0 + offset * 86_400_000_000).to_string();
        format!("{} 00:00:00+00", &text[..10])
    };
    let queries: Vec<(&str, String)> = vec![
        (
            "time-filtered aggregate",
            format!(
                "SELECT kind, count(*) AS events, sum(bytes) AS bytes FROM events \
                 WHERE time >= TIMESTAMP '{}' AND time < TIMESTAMP '{}' GROUP BY kind ORDER BY kind",
                day(10),
                day(17)
            ),
        ),
        (
            "timeline of a typical person",
            format!(
                "SELECT time, kind, action, outcome, session_id, ip, country, resource \
                 FROM events WHERE identity = '{typical}' ORDER BY time"
            ),
        ),
        (
            "timeline of the busiest identity",
            format!(
                "SELECT time, kind, action, outcome, session_id, ip, country, resource \
                 FROM events WHERE identity = '{busiest}' ORDER BY time"
            ),
        ),
        (
            "top-N by peak risk",
            "SELECT identity, max(peak_risk) AS peak, count(DISTINCT session_id) AS sessions \
             FROM sessions GROUP BY identity ORDER BY peak DESC, identity LIMIT 10"
                .to_string(),
        ),
        (
            "count-distinct per identity",
            "SELECT identity, count(DISTINCT ip) AS addresses FROM events \
             GROUP BY identity ORDER BY addresses DESC, identity LIMIT 20"
                .to_string(),
        ),
    ];
    let mut expected = Vec::new();
    for (name, query) in &queries {
        if std::env::var_os("VIGIL_BENCH_EXPLAIN").is_some() {
            let plan = sql(&format!("EXPLAIN ANALYZE {query}"));
            let shown =
                datafusion::arrow::util::pretty::pretty_format_batches(&plan).expect("plan");
            println!("{name}:\n{shown}");
        }
        expected.push(rows(&sql(query)));
    }
    let queries_file = folder.join("queries.json");
    let object: serde_json::Map<String, serde_json::Value> = queries
        .iter()
        .map(|(name, query)| (name.to_string(), serde_json::Value::from(query.clone())))
        .collect();
    std::fs::write(&queries_file, serde_json::to_vec(&object).expect("json")).expect("write");
    let with_duckdb = std::env::var_os("VIGIL_BENCH_NO_DUCKDB").is_none();
    // Rounds alternate the engines (DataFusion's runs of every query, then DuckDB's), so
    // a slow spell of this shared machine lands on both instead of on whichever ran then.
    let mut ours: Vec<Vec<f64>> = vec![Vec::new(); queries.len()];
    let mut theirs: Vec<Vec<f64>> = vec![Vec::new(); queries.len()];
    let mut version = "-".to_string();
    for _ in 0..rounds {
        for (((name, query), times), expected) in queries.iter().zip(&mut ours).zip(&expected) {
            for _ in 0..runs {
                let started = Instant::now();
                let got = rows(&sql(query));
                times.push(started.elapsed().as_secs_f64() * 1000.0);
                assert_eq!(got, *expected, "{name}: the row count changed between runs");
            }
        }
        if !with_duckdb {
            continue;
        }
        let Some(duckdb) = duckdb_round(&archive, &queries_file, runs) else {
            eprintln!("DuckDB did not run: the table holds the rounds before this one");
            break;
        };
        version = duckdb["duckdb_version"].as_str().unwrap_or("-").to_string();
        for (((name, _), times), expected) in queries.iter().zip(&mut theirs).zip(&expected) {
            let result = &duckdb["queries"][*name];
            if let Some(their_rows) = result["rows"].as_u64() {
                assert_eq!(
                    their_rows as usize, *expected,
                    "{name}: DuckDB and DataFusion disagree on the row count"
                );
            }
            times.extend(
                result["times_ms"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|time| time.as_f64()),
            );
        }
    }
    println!(
        "\nmedian of {rounds} rounds of {runs} runs, {} identities' archive, DataFusion 55 vs DuckDB {version}:",
        identity_count(&sql)
    );
    println!(
        "{:<33} {:>10} {:>10} {:>8} {:>13} {:>6}",
        "query", "DataFusion", "DuckDB", "ratio", "per round", "rows"
    );
    for ((((name, _), ours), theirs), found) in
        queries.iter().zip(&ours).zip(&theirs).zip(&expected)
    {
        let ms = median(ours.clone());
        let their_ms = (!theirs.is_empty()).then(|| median(theirs.clone()));
        // The ratio of each round's medians: how far the verdict moves with the machine.
        let per_round: Vec<f64> = ours
            .chunks(runs)
            .zip(theirs.chunks(runs))
            .map(|(ours, theirs)| median(ours.to_vec()) / median(theirs.to_vec()))
            .collect();
        let spread = if per_round.is_empty() {
            "-".to_string()
        } else {
            let low = per_round.iter().copied().fold(f64::INFINITY, f64::min);
            let high = per_round.iter().copied().fold(0.0, f64::max);
            format!("{low:.2}-{high:.2}x")
        };
        println!(
            "{:<33} {:>8.1}ms {:>10} {:>8} {:>13} {:>6}",
            name,
            ms,
            their_ms.map_or("-".to_string(), |theirs| format!("{theirs:.1}ms")),
            their_ms.map_or("-".to_string(), |theirs| format!("{:.2}x", ms / theirs)),
            spread,
            found
        );
    }
    println!("(ratio: DataFusion's time over DuckDB's; below 1 is faster)");
}

/// One round of DuckDB on the same files and queries (`benches/archive_duckdb.py`): its
/// JSON report, or nothing when it could not run.
fn duckdb_round(archive: &Path, queries: &Path, runs: usize) -> Option<serde_json::Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/archive_duckdb.py");
    let output = std::process::Command::new("python3")
        .arg(&script)
        .arg("--archive")
        .arg(archive)
        .arg("--queries")
        .arg(queries)
        .arg("--runs")
        .arg(runs.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| serde_json::from_slice(&output.stdout).ok())
        .flatten()
}

/// The first column of a result as text (whatever string type it came as).
fn first_column_texts(batches: &[datafusion::arrow::array::RecordBatch]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|batch| {
            let column = datafusion::arrow::compute::cast(
                batch.column(0),
                &datafusion::arrow::datatypes::DataType::Utf8,
            )
            .expect("text");
            datafusion::arrow::array::cast::as_string_array(&column)
                .iter()
                .flatten()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn identity_count(sql: &dyn Fn(&str) -> Vec<datafusion::arrow::array::RecordBatch>) -> u64 {
    let batches = sql("SELECT count(DISTINCT identity) FROM events");
    datafusion::arrow::array::cast::as_primitive_array::<datafusion::arrow::datatypes::Int64Type>(
        batches[0].column(0),
    )
    .value(0) as u64
}

fn folder_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                folder_bytes(&path)
            } else {
                entry.metadata().map_or(0, |metadata| metadata.len())
            }
        })
        .sum()
}
