//! Hostile input through `vigil replay --state`: each kind of bad record is rejected with
//! its reason, nothing crashes, and the identity's baseline is not poisoned: an impossible-travel attack after
//! the junk is still caught against the real home, and the stored state's clock is the
//! real one.

use std::io::Write;
use vigil::replay::{replay, ReplayOptions};
use vigil_engine::store::Store;

fn login(day: u32, minute: u32, city: (&str, &str, f64, f64), ip: &str) -> String {
    format!(
        r#"{{"kind":"auth","time":"2026-02-{day:02}T08:{minute:02}:00Z","identity":"alice@example.com","action":"login","outcome":"success","session_id":"s-{day}-{minute}","device_id":"laptop-1","ip":"{ip}","geo":{{"city":"{}","country":"{}","lat":{},"lon":{}}}}}"#,
        city.0, city.1, city.2, city.3
    )
}

const BERLIN: (&str, &str, f64, f64) = ("Berlin", "DE", 52.52, 13.405);
const NEW_YORK: (&str, &str, f64, f64) = ("New York", "US", 40.713, -74.006);

/// A good sign-in with a field nested 100,000 arrays deep.
fn nested_login() -> Vec<u8> {
    let mut nested = login(13, 8, BERLIN, "85.214.1.1").into_bytes();
    nested.pop();
    nested.extend_from_slice(br#","extra":"#);
    nested.extend(std::iter::repeat_n(b'[', 100_000));
    nested.extend(std::iter::repeat_n(b']', 100_000));
    nested.push(b'}');
    nested
}

#[test]
fn deep_nesting_never_overflows_the_stack_in_any_format() {
    for format in std::iter::once(vigil_ingest::Format::Auto).chain(vigil_ingest::Format::CONCRETE)
    {
        // Decoded or refused with a reason: both fine, a crash is not.
        let _ = vigil_ingest::decode(format, &nested_login());
        let mut open_only = vec![b'['; 100_000];
        open_only.extend_from_slice(b"{}");
        let _ = vigil_ingest::decode(format, &open_only);
    }
}

#[test]
fn hostile_records_are_rejected_with_reasons_and_poison_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let input = folder.path().join("events.jsonl");
    let mut file = std::fs::File::create(&input).unwrap();
    let mut line = |bytes: &[u8]| {
        file.write_all(bytes).unwrap();
        file.write_all(b"\n").unwrap();
    };
    for day in 1..=12 {
        line(login(day, 0, BERLIN, "85.214.1.1").as_bytes());
    }
    // Each hostile record, with the words its rejection must contain.
    let mut expected: Vec<&str> = Vec::new();
    // An oversized record: a megabyte identity.
    let huge = login(13, 0, BERLIN, "85.214.1.1").replace(
        "alice@example.com",
        &"a".repeat(vigil_ingest::MAX_RECORD_BYTES + 10),
    );
    line(huge.as_bytes());
    expected.push("exceeds the limit");
    // An identity of 100 KB: under the record limit, over the identity limit.
    line(
        login(13, 1, BERLIN, "85.214.1.1")
            .replace("alice@example.com", &"b".repeat(100_000))
            .as_bytes(),
    );
    expected.push("more than the limit");
    // JSON nested 100,000 deep in a field no decoder reads: skipped without recursion,
    // the event is judged.
    line(&nested_login());
    // Invalid UTF-8 inside a string.
    let mut broken = login(13, 2, BERLIN, "85.214.1.1").into_bytes();
    let at = broken.windows(6).position(|w| w == b"Berlin").unwrap();
    broken[at] = 0xff;
    broken[at + 1] = 0xfe;
    line(&broken);
    expected.push("utf-8");
    // A timestamp seven thousand years ahead, and one from 1900.
    line(
        login(13, 3, BERLIN, "85.214.1.1")
            .replace("2026-02-13", "9026-02-13")
            .as_bytes(),
    );
    expected.push("ahead of this machine's clock");
    line(
        login(13, 4, BERLIN, "85.214.1.1")
            .replace("2026-02-13", "1900-02-13")
            .as_bytes(),
    );
    expected.push("before 2000-01-01");
    // NaN is not JSON; a number past f64 is an error too.
    line(
        login(13, 5, BERLIN, "85.214.1.1")
            .replace("52.52", "NaN")
            .as_bytes(),
    );
    expected.push("expected value");
    line(
        login(13, 6, BERLIN, "85.214.1.1")
            .replace("52.52", "1e999")
            .as_bytes(),
    );
    expected.push("number out of range");
    // Coordinates off the globe.
    line(login(13, 7, ("Nowhere", "DE", 1.0e300, -1.0e300), "85.214.1.1").as_bytes());
    expected.push("within ±90 and ±180");
    // The attack after the junk: Berlin, then New York 40 minutes later.
    line(login(14, 0, BERLIN, "85.214.1.1").as_bytes());
    line(login(14, 40, NEW_YORK, "23.1.1.1").as_bytes());
    drop(file);

    let output = folder.path().join("decisions.jsonl");
    let rejects = folder.path().join("rejects.jsonl");
    let summary = replay(&ReplayOptions {
        inputs: vec![input],
        format: vigil_ingest::Format::Native,
        policy: None,
        config: None,
        output: output.clone(),
        rejects: Some(rejects.clone()),
        state: Some(folder.path().join("state")),
        archive: None,
    })
    .unwrap();
    let reasons: Vec<String> = std::fs::read_to_string(&rejects)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["reason"].to_string())
        .collect();
    assert_eq!(summary.rejected, expected.len() as u64, "{reasons:#?}");
    let rejected: Vec<serde_json::Value> = std::fs::read_to_string(&rejects)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(rejected.len(), expected.len());
    for (reject, words) in rejected.iter().zip(&expected) {
        let reason = reject["reason"].as_str().unwrap().to_lowercase();
        assert!(
            reason.contains(&words.to_lowercase()),
            "`{reason}` should say `{words}`"
        );
        assert!(
            reject["line"].as_u64().is_some(),
            "every reject names its line"
        );
    }
    // Every good record judged.
    assert_eq!(summary.events(), 12 + 1 + 2);

    let decisions: Vec<serde_json::Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let travel: Vec<&serde_json::Value> = decisions
        .iter()
        .filter(|decision| decision["rule"] == "revoke-impossible-travel")
        .collect();
    assert_eq!(travel.len(), 1, "{decisions:?}");
    assert_eq!(travel[0]["time"], "2026-02-14T08:40:00Z");

    let store = Store::open(&folder.path().join("state")).unwrap();
    let state = store
        .reader()
        .unwrap()
        .identity("alice@example.com")
        .unwrap()
        .unwrap();
    assert_eq!(state.latest.to_string(), "2026-02-14T08:40:00Z");
    assert!(state
        .travel
        .fixes()
        .iter()
        .all(|fix| fix.coordinates.0.abs() <= 90.0 && fix.coordinates.1.abs() <= 180.0));
}

/// The access-volume attack case moved by whole days to end an hour before now (so its
/// hours and weekdays stay), with one forged access event of the victim stamped two hours
/// ahead inserted before the event at `forged_before` (none: nothing forged): replayed one
/// record per batch.
fn replay_with_a_forged_future_event(
    max_clock_skew: &str,
    forged_before: Option<usize>,
) -> (Vec<serde_json::Value>, Vec<String>) {
    let case = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/access_volume_attack/input.jsonl");
    let mut events: Vec<serde_json::Value> = std::fs::read_to_string(case)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let time = |event: &serde_json::Value| {
        vigil_schemas::Timestamp::parse(event["time"].as_str().unwrap()).unwrap()
    };
    let last = events.iter().map(time).max().unwrap();
    let now = vigil_schemas::Timestamp::now();
    let days = (now.0 - 3_600_000_000 - last.0).div_euclid(86_400_000_000);
    for event in &mut events {
        let shifted = time(event).plus_secs(days * 86_400);
        event["time"] = shifted.to_string().into();
    }
    if let Some(index) = forged_before {
        let mut forged = events[1].clone();
        forged["time"] = now.plus_secs(2 * 3600).to_string().into();
        events.insert(index, forged);
    }

    let folder = tempfile::tempdir().unwrap();
    let input = folder.path().join("events.jsonl");
    let text: String = events.iter().map(|event| format!("{event}\n")).collect();
    std::fs::write(&input, text).unwrap();
    let config = folder.path().join("vigil.toml");
    std::fs::write(
        &config,
        format!("[engine]\nshards = 1\nbatch_size = 1\nmax_clock_skew = \"{max_clock_skew}\"\n"),
    )
    .unwrap();
    let output = folder.path().join("decisions.jsonl");
    let rejects = folder.path().join("rejects.jsonl");
    replay(&ReplayOptions {
        inputs: vec![input],
        format: vigil_ingest::Format::Native,
        policy: None,
        config: Some(config),
        output: output.clone(),
        rejects: Some(rejects.clone()),
        state: None,
        archive: None,
    })
    .unwrap();
    let decisions = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    // No rejects file when nothing was rejected.
    let reasons = std::fs::read_to_string(&rejects)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["reason"].to_string())
        .collect();
    (decisions, reasons)
}

#[test]
fn a_forged_future_event_blinds_no_detector() {
    let revoked = |decisions: &[serde_json::Value]| {
        decisions
            .iter()
            .any(|decision| decision["rule"] == "revoke-exfiltration")
    };
    // Unforged, the exfiltration is revoked on one request: the forged event goes before it.
    let (decisions, _) = replay_with_a_forged_future_event("5m", None);
    let revoking = decisions
        .iter()
        .find(|decision| decision["rule"] == "revoke-exfiltration")
        .and_then(|decision| decision["trigger"]["line"].as_u64())
        .expect("the attack case is revoked") as usize;
    let forged_before = Some(revoking - 1);
    // The default skew (5 minutes) rejects the forged event: the exfiltration is revoked.
    let (decisions, reasons) = replay_with_a_forged_future_event("5m", forged_before);
    assert!(revoked(&decisions), "{decisions:#?}");
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].contains("ahead of this machine's clock"),
        "{reasons:?}"
    );
    // A day of skew (the old bound) lets it in, and it moves the victim's hour bucket two
    // hours ahead: every real request after it is a late one, and nothing is revoked.
    let (decisions, reasons) = replay_with_a_forged_future_event("1d", forged_before);
    assert!(!revoked(&decisions), "{decisions:#?}");
    assert!(reasons.is_empty(), "{reasons:?}");
}
