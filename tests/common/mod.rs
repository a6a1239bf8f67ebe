//! Helpers shared by the integration tests (each test file is its own crate and uses what
//! it needs).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use vigil::simulate::{simulate_to, SimulateOptions};

/// Simulated traffic (native JSON lines) written to `<folder>/events.jsonl`: the path and
/// the bytes.
pub fn simulated_input(
    folder: &Path,
    identities: usize,
    days: u32,
    seed: u64,
    attack_rate: f64,
) -> (PathBuf, Vec<u8>) {
    let mut events = Vec::new();
    simulate_to(
        &SimulateOptions {
            identities,
            days,
            seed,
            attack_rate,
            ..SimulateOptions::default()
        },
        &mut events,
    )
    .expect("simulate");
    let path = folder.join("events.jsonl");
    std::fs::write(&path, &events).expect("write the input");
    (path, events)
}

/// Creates single-partition topics on a real broker through the admin API.
pub async fn create_topics(brokers: &str, names: &[String]) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("admin client");
    let new: Vec<NewTopic> = names
        .iter()
        .map(|name| NewTopic::new(name, 1, TopicReplication::Fixed(1)))
        .collect();
    for result in admin
        .create_topics(&new, &AdminOptions::new())
        .await
        .expect("create topics")
    {
        result.expect("topic created");
    }
}
