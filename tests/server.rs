//! The HTTP home over real loopback HTTP, in process: health, readiness before and after
//! the outputs connect, metrics that equal the run's own summary, the identity endpoint
//! answered live by the loop, and JSON errors for bad requests.

mod common;

use common::{http, metric};
use std::path::PathBuf;
use vigil_ingest::file::FileSource;
use vigil_ingest::Format;
use vigil_pipeline::Pipeline;
use vigil_server::{Server, ServerState};
use vigil_sinks::{DecisionsFile, JsonLines, Output};

/// The sum of every sample whose series starts with `prefix`.
fn metric_sum(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

#[test]
fn health_readiness_metrics_and_identities() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let folder = tempfile::tempdir().unwrap();
    let input = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/impossible_travel_attack/input.jsonl");
    runtime.block_on(async {
        let (config, rules) = vigil::compose::load_rules(None, None).unwrap();
        let engine = vigil::compose::engine(&config, rules, None).unwrap();
        let decisions = JsonLines::create(&folder.path().join("decisions.jsonl")).unwrap();
        let archive =
            vigil::compose::archive_output(&config, &folder.path().join("archive"), false).unwrap();
        let outputs: Vec<Box<dyn Output>> =
            vec![Box::new(DecisionsFile::new(decisions)), Box::new(archive)];
        let enricher = vigil_ingest::enrich::Enricher::open(&config.enrich).unwrap();
        let mut pipeline = Pipeline::new(
            engine,
            enricher,
            outputs,
            vigil::compose::options(&config, false),
        );
        let server = Server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let url = server.url();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = server.spawn(
            ServerState {
                telemetry: pipeline.telemetry(),
                handle: pipeline.handle(),
                ssf: None,
            },
            async move {
                let _ = stopped.await;
            },
        );
        let base = url.clone();
        let (status, body) = tokio::task::spawn_blocking(move || http("GET", &base, "/readyz"))
            .await
            .unwrap();
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("outputs have not connected"), "{body}");

        let mut source = FileSource::open(&input, Format::Native, 1024).unwrap();
        pipeline
            .run(&mut source, std::future::pending(), |_| {})
            .await
            .unwrap();
        let summary = pipeline.summary().clone();
        assert!(summary.decision_count() > 0, "{summary}");

        // The loop goes on answering while the requests run on a thread of their own.
        let (done, finished) = tokio::sync::oneshot::channel::<()>();
        let base = url.clone();
        let asking = tokio::task::spawn_blocking(move || {
            let answers = [
                http("GET", &base, "/healthz"),
                http("GET", &base, "/readyz"),
                http("GET", &base, "/metrics"),
                http("GET", &base, "/v1/identities/alice@example.com"),
                http("GET", &base, "/v1/identities/nobody@example.com"),
                http("GET", &base, "/v1/identities/%ff%00%22"),
                http("GET", &base, "/nowhere"),
                http("POST", &base, "/healthz"),
            ];
            let _ = done.send(());
            answers
        });
        pipeline
            .answer_until(async move {
                let _ = finished.await;
            })
            .await;
        let [healthz, readyz, metrics, alice, nobody, odd, nowhere, post] = asking.await.unwrap();

        assert_eq!(healthz.0, 200);
        assert_eq!(readyz, (200, r#"{"status":"ready"}"#.to_string()));
        assert_eq!(metrics.0, 200);
        let text = metrics.1;
        assert_eq!(
            metric(&text, "vigil_events_judged_total"),
            summary.events() as f64
        );
        assert_eq!(
            metric(
                &text,
                &format!("vigil_records_read_total{{input=\"{}\"}}", input.display())
            ),
            summary.read as f64
        );
        for ((action, mode), count) in &summary.decisions {
            let prefix = format!("vigil_decisions_total{{action=\"{action}\",mode=\"{mode}\",");
            assert_eq!(
                metric_sum(&text, &prefix),
                *count as f64,
                "{action} {mode}\n{text}"
            );
        }
        for (detector, count) in &summary.decisions_by_detector {
            let series = format!("vigil_decision_detectors_total{{detector=\"{detector}\"}}");
            assert_eq!(metric(&text, &series), *count as f64, "{series}");
        }
        assert_eq!(
            metric_sum(&text, "vigil_decisions_by_basis_total"),
            summary.decision_count() as f64
        );
        assert!(metric(&text, "vigil_batch_seconds_count") >= 1.0, "{text}");
        assert_eq!(
            metric(
                &text,
                "vigil_output_written_total{output=\"archive\",kind=\"decisions\"}"
            ),
            summary.decision_count() as f64,
            "{text}"
        );

        assert_eq!(alice.0, 200, "{}", alice.1);
        let document: serde_json::Value = serde_json::from_str(&alice.1).unwrap();
        assert_eq!(document["identity"], "alice@example.com");
        assert!(document["state"].is_object(), "{document}");
        for (expected, (status, body)) in [(404, &nobody), (400, &odd), (404, &nowhere)] {
            assert_eq!(*status, expected, "{body}");
            let error: serde_json::Value = serde_json::from_str(body).unwrap();
            assert!(error["error"].is_string(), "{body}");
        }
        assert!(nobody.1.contains("nobody@example.com"));
        assert_eq!(post.0, 405, "{}", post.1);
        assert!(serde_json::from_str::<serde_json::Value>(&post.1).unwrap()["error"].is_string());

        let _ = stop.send(());
        serving.await.unwrap().unwrap();
        // With the loop gone, the identity endpoint says so instead of waiting.
        let server = Server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = server.url();
        let handle = pipeline.handle();
        let telemetry = pipeline.telemetry();
        drop(pipeline);
        let serving = server.spawn(
            ServerState {
                telemetry,
                handle,
                ssf: None,
            },
            std::future::pending(),
        );
        let (status, body) = tokio::task::spawn_blocking(move || {
            http("GET", &base, "/v1/identities/alice@example.com")
        })
        .await
        .unwrap();
        assert_eq!(status, 503, "{body}");
        serving.abort();
    });
}
