//! The whole record path as `vigil replay` and `vigil run` take it: lines of any bytes are
//! read into a batch, decoded in any format, time-checked, bounded, enriched, and judged
//! by one engine that lives across inputs (so state built by earlier inputs meets later
//! ones, as it would in a long run). Every record is judged, skipped or rejected with a
//! reason; nothing panics, hangs or allocates out of proportion.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, Mutex, OnceLock};
use vigil_engine::Engine;
use vigil_ingest::enrich::{EnrichConfig, Enricher};
use vigil_ingest::source::{RecordBatch, Stream};
use vigil_ingest::step::{decode_batch, Outcome, DEFAULT_MAX_CLOCK_SKEW_SECS};
use vigil_ingest::Format;
use vigil_rules::{Policy, Rules, RulesConfig};

struct Path {
    engine: Engine,
    enricher: Enricher,
}

fn path() -> &'static Mutex<Path> {
    static PATH: OnceLock<Mutex<Path>> = OnceLock::new();
    PATH.get_or_init(|| {
        let rules = Arc::new(Rules {
            config: RulesConfig::default(),
            policy: Policy::default_policy(),
        });
        let enrich = EnrichConfig {
            corporate_ranges: vec!["10.0.0.0/8".parse().unwrap()],
            anonymizer_ranges: vec!["185.220.101.0/24".parse().unwrap()],
            threat_ranges: vec!["45.155.205.0/24".parse().unwrap()],
            ..EnrichConfig::default()
        };
        Mutex::new(Path {
            engine: Engine::new(rules, 2),
            enricher: Enricher::open(&enrich).unwrap(),
        })
    })
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the format; the rest are lines.
    let Some((&choice, text)) = data.split_first() else {
        return;
    };
    let formats: Vec<Format> = std::iter::once(Format::Auto)
        .chain(Format::CONCRETE)
        .collect();
    let format = formats[usize::from(choice) % formats.len()];
    let mut batch = RecordBatch::default();
    let stream = batch.stream_index(
        &Stream::Kafka {
            topic: "fuzz".into(),
            partition: 0,
        },
        format,
    );
    for (line, record) in text.split(|byte| *byte == b'\n').enumerate() {
        batch.push(stream, line as u64, record);
    }
    let mut path = path()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let Path { engine, enricher } = &mut *path;
    let outcomes = decode_batch(&batch, enricher, DEFAULT_MAX_CLOCK_SKEW_SECS, 2);
    let mut envelopes = Vec::new();
    for outcome in outcomes.into_iter().flatten() {
        match outcome {
            Outcome::Event(envelope) => envelopes.push(envelope),
            Outcome::Skipped(_) => {}
            Outcome::Rejected { reject, .. } => {
                assert!(!reject.reason.is_empty(), "a reject says why");
                assert!(reject.reason.len() <= vigil_schemas::Reject::MAX_REASON_BYTES);
            }
        }
    }
    let output = engine.process(envelopes);
    for decision in &output.decisions {
        assert!(decision.risk.score.is_finite() && (0.0..=100.0).contains(&decision.risk.score));
        let _ = serde_json::to_vec(decision).unwrap();
    }
});
