//! Helpers shared by the integration tests (each test file is its own crate and uses what
//! it needs).
#![allow(dead_code)]

pub mod receiver;
pub mod set_checks;

use std::path::{Path, PathBuf};
use vigil_backtest::simulate::{simulate_to, SimulateOptions};

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

/// Simulated traffic with attacks, one native JSON record per event, in event-time order.
pub fn simulated_records(
    identities: usize,
    days: u32,
    seed: u64,
    attack_rate: f64,
) -> Vec<Vec<u8>> {
    let mut records = Vec::new();
    vigil_backtest::simulate::simulate(
        &SimulateOptions {
            identities,
            days,
            seed,
            attack_rate,
            ..SimulateOptions::default()
        },
        |event| {
            records.push(serde_json::to_vec(event).map_err(std::io::Error::other)?);
            Ok(())
        },
    )
    .expect("simulate");
    records
}

/// A loopback port the OS has just given out (free unless another process takes it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The value of `variable`, which names a real broker (or its binary) that `.ci/run`
/// provides; None outside CI, where the real-broker test is skipped with a note. Under CI
/// a missing variable fails the test: the real-broker run must never be skipped there.
pub fn real_broker(variable: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(value) => Some(value),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but {variable} is not: .ci/run provides the real broker"
            );
            eprintln!("{variable} not set: the real-broker test is skipped");
            None
        }
    }
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

/// Deletes topics on a real broker through the admin API.
pub async fn delete_topics(brokers: &str, names: &[&str]) {
    use rdkafka::admin::{AdminClient, AdminOptions};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("admin client");
    for result in admin
        .delete_topics(names, &AdminOptions::new())
        .await
        .expect("delete topics")
    {
        result.expect("topic deleted");
    }
}

/// One HTTP/1.1 request over loopback (`Connection: close`): the status code and the
/// body. A plain client, so the tests see exactly what any client would.
pub fn http(method: &str, base: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let address = base.strip_prefix("http://").expect("an http:// URL");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code");
    let chunked = head
        .lines()
        .any(|line| line.eq_ignore_ascii_case("transfer-encoding: chunked"));
    let body = if chunked {
        unchunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

/// The body of a chunked response.
fn unchunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        body.push_str(&after[..size.min(after.len())]);
        rest = after.get(size + 2..).unwrap_or("");
    }
    body
}

/// The value of one sample of a Prometheus text exposition (`name{labels}` as written),
/// 0 when absent.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok())?
        })
        .unwrap_or(0.0)
}

/// A `vigil run` child that is killed when dropped, so a failed assertion leaves no
/// process behind to run on into the next tests.
pub struct Run(pub std::process::Child);

impl Drop for Run {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl std::ops::Deref for Run {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for Run {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

/// Starts `vigil run --config <config>` in `folder`; every run's log goes to one file
/// there ([`log_tail`] shows it when a test fails).
pub fn start_run(folder: &Path, config: &str) -> Run {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(folder.join("vigil.log"))
        .unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["run", "--config", config])
        .current_dir(folder)
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .map(Run)
        .unwrap()
}

/// The end of the runs' log in `folder`.
pub fn log_tail(folder: &Path) -> String {
    let text = std::fs::read_to_string(folder.join("vigil.log")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Appends `records` to partition 0 of `topic`, in order.
pub fn send_records(brokers: &str, topic: &str, records: &[Vec<u8>]) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let producer: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    for payload in records {
        while producer
            .send(
                BaseRecord::<[u8], [u8]>::to(topic)
                    .partition(0)
                    .payload(payload),
            )
            .is_err()
        {
            producer.poll(std::time::Duration::from_millis(5));
        }
    }
    producer.flush(std::time::Duration::from_secs(30)).unwrap();
}
