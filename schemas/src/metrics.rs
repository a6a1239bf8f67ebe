//! Prometheus metric primitives shared by every component that keeps its own metrics:
//! a component declares its metrics once ([`Metric`], in the order they are rendered),
//! updates them under one short lock per batch ([`Registry::update`]) and renders them
//! in the Prometheus text exposition format, version 0.0.4 ([`Registry::render_into`]).
//!
//! Guarantees: the rendered text lists every declared metric, in declaration order, with
//! its `# HELP` and `# TYPE` lines, even before anything was counted; label values are
//! escaped (`\\`, `\"`, `\n`); a poisoned lock is recovered rather than propagated, so a
//! panic elsewhere never takes the metrics down with it.

#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard};

/// What a metric measures, and so how it is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that only grows (rendered as is).
    Counter,
    /// A value that goes up and down (rendered as is).
    Gauge,
    /// Observations counted into [`BUCKETS`], with their sum and count.
    Histogram,
}

impl Kind {
    /// The type's name in a `# TYPE` line.
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One declared metric: its name, kind and help text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// The metric's name, e.g. `vigil_records_read_total`.
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: Kind,
    /// The `# HELP` text: one line, no newline.
    pub help: &'static str,
    /// Whether its series carry labels. A labelled metric shows no series until one is
    /// counted or observed; an unlabelled counter renders `name 0` and an unlabelled
    /// histogram renders empty buckets before that.
    pub labelled: bool,
}

/// A series' labels, in a fixed order (the order they are rendered in).
pub type Labels = Vec<(&'static str, String)>;

/// One label of a series: its name and value.
pub fn label(name: &'static str, value: impl Into<String>) -> (&'static str, String) {
    (name, value.into())
}

/// Upper bounds of the histograms' buckets, in seconds: a millisecond to a minute.
pub const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

/// One histogram series: cumulative counts per bucket, the count and the sum.
#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, value: f64) {
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if value <= *bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += value;
    }
}

/// Every series of a registry: counter and gauge values, and histograms, both keyed by
/// metric name and labels.
#[derive(Debug, Default)]
pub struct Series {
    values: BTreeMap<(&'static str, Labels), f64>,
    histograms: BTreeMap<(&'static str, Labels), Histogram>,
}

/// Whether a series' labels include every given pair.
fn labels_match(series_labels: &Labels, wanted: &[(&str, &str)]) -> bool {
    wanted.iter().all(|(key, value)| {
        series_labels
            .iter()
            .any(|(series_key, series_value)| series_key == key && series_value == value)
    })
}

/// The entries of `map` for metric `name`, in label order.
fn series_of<'map, V>(
    map: &'map BTreeMap<(&'static str, Labels), V>,
    name: &'static str,
) -> impl Iterator<Item = (&'map Labels, &'map V)> {
    map.range((name, Labels::new())..)
        .take_while(move |((metric, _), _)| *metric == name)
        .map(|((_, labels), value)| (labels, value))
}

impl Series {
    /// Adds `value` to a counter (or gauge) series, starting from 0.
    pub fn add(&mut self, name: &'static str, labels: Labels, value: f64) {
        *self.values.entry((name, labels)).or_default() += value;
    }

    /// Sets a gauge (or a counter kept elsewhere) series to `value`.
    pub fn set(&mut self, name: &'static str, labels: Labels, value: f64) {
        self.values.insert((name, labels), value);
    }

    /// Observes `value` in a histogram series.
    pub fn observe(&mut self, name: &'static str, labels: Labels, value: f64) {
        self.histograms
            .entry((name, labels))
            .or_default()
            .observe(value);
    }

    /// Drops every series of `name` whose labels include all the given pairs (a gauge of
    /// something that went away, such as a partition no longer assigned).
    pub fn remove(&mut self, name: &'static str, labels: &[(&str, &str)]) {
        self.values.retain(|(metric, series_labels), _| {
            *metric != name || !labels_match(series_labels, labels)
        });
        self.histograms.retain(|(metric, series_labels), _| {
            *metric != name || !labels_match(series_labels, labels)
        });
    }
}

/// A component's metrics: a fixed list of declared metrics and their series behind one
/// lock.
#[derive(Debug)]
pub struct Registry {
    metrics: &'static [Metric],
    series: Mutex<Series>,
}

impl Registry {
    /// A registry of `metrics`, rendered in this order, with no series yet.
    pub fn new(metrics: &'static [Metric]) -> Registry {
        debug_assert!(
            metrics.iter().all(|metric| !metric.help.contains('\n')),
            "a metric's help text is one line"
        );
        Registry {
            metrics,
            series: Mutex::new(Series::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Series> {
        self.series
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `update` on the series under one short lock (take it once per batch, not per
    /// event).
    pub fn update<T>(&self, update: impl FnOnce(&mut Series) -> T) -> T {
        update(&mut self.lock())
    }

    /// The sum of the counter and gauge series of `name` whose labels include all the
    /// given pairs, 0 when there is none (for tests and summaries).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.lock()
            .values
            .iter()
            .filter(|((metric, series_labels), _)| {
                *metric == name && labels_match(series_labels, labels)
            })
            .map(|(_, value)| *value)
            .sum()
    }

    /// The observations in the histogram series of `name` whose labels include all the
    /// given pairs, 0 when there is none.
    pub fn histogram_count(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.lock()
            .histograms
            .iter()
            .filter(|((metric, series_labels), _)| {
                *metric == name && labels_match(series_labels, labels)
            })
            .map(|(_, histogram)| histogram.count)
            .sum()
    }

    /// Appends every declared metric to `text` in the Prometheus text exposition format
    /// (version 0.0.4): `# HELP`, `# TYPE` and its samples, in declaration order.
    pub fn render_into(&self, text: &mut String) {
        let series = self.lock();
        for metric in self.metrics {
            let name = metric.name;
            let _ = writeln!(text, "# HELP {name} {}", metric.help);
            let _ = writeln!(text, "# TYPE {name} {}", metric.kind.as_str());
            let mut any = false;
            if metric.kind == Kind::Histogram {
                for (labels, histogram) in series_of(&series.histograms, name) {
                    any = true;
                    render_histogram(text, name, labels, histogram);
                }
                if !any && !metric.labelled {
                    render_histogram(text, name, &Labels::new(), &Histogram::default());
                }
                continue;
            }
            for (labels, value) in series_of(&series.values, name) {
                any = true;
                let _ = write!(text, "{name}");
                write_labels(text, labels, None);
                let _ = writeln!(text, " {}", number(*value));
            }
            if !any && metric.kind == Kind::Counter && !metric.labelled {
                let _ = writeln!(text, "{name} 0");
            }
        }
    }
}

fn render_histogram(text: &mut String, name: &str, labels: &Labels, histogram: &Histogram) {
    for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter()) {
        let _ = write!(text, "{name}_bucket");
        write_labels(text, labels, Some(&number(*bound)));
        let _ = writeln!(text, " {count}");
    }
    let _ = write!(text, "{name}_bucket");
    write_labels(text, labels, Some("+Inf"));
    let _ = writeln!(text, " {}", histogram.count);
    let _ = write!(text, "{name}_sum");
    write_labels(text, labels, None);
    let _ = writeln!(text, " {}", number(histogram.sum));
    let _ = write!(text, "{name}_count");
    write_labels(text, labels, None);
    let _ = writeln!(text, " {}", histogram.count);
}

/// Writes `{key="value",...}` with the values escaped, and a bucket's `le` last; nothing
/// when there is no label at all.
fn write_labels(text: &mut String, labels: &Labels, le: Option<&str>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    text.push('{');
    for (index, (key, value)) in labels.iter().enumerate() {
        if index > 0 {
            text.push(',');
        }
        let _ = write!(text, "{key}=\"");
        for character in value.chars() {
            match character {
                '\\' => text.push_str("\\\\"),
                '"' => text.push_str("\\\""),
                '\n' => text.push_str("\\n"),
                other => text.push(other),
            }
        }
        text.push('"');
    }
    if let Some(bound) = le {
        if !labels.is_empty() {
            text.push(',');
        }
        let _ = write!(text, "le=\"{bound}\"");
    }
    text.push('}');
}

/// A sample value as Prometheus writes it: integers without a fraction.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUESTS: &str = "test_requests_total";
    const STARTS: &str = "test_starts_total";
    const QUEUED: &str = "test_queued";
    const SECONDS: &str = "test_seconds";
    const STREAM_SECONDS: &str = "test_stream_seconds";

    static METRICS: [Metric; 5] = [
        Metric {
            name: REQUESTS,
            kind: Kind::Counter,
            help: "Requests, by route.",
            labelled: true,
        },
        Metric {
            name: STARTS,
            kind: Kind::Counter,
            help: "Starts.",
            labelled: false,
        },
        Metric {
            name: QUEUED,
            kind: Kind::Gauge,
            help: "Items queued, by queue.",
            labelled: true,
        },
        Metric {
            name: SECONDS,
            kind: Kind::Histogram,
            help: "Seconds per request.",
            labelled: false,
        },
        Metric {
            name: STREAM_SECONDS,
            kind: Kind::Histogram,
            help: "Seconds per send, by stream.",
            labelled: true,
        },
    ];

    fn render(registry: &Registry) -> String {
        let mut text = String::new();
        registry.render_into(&mut text);
        text
    }

    #[test]
    fn renders_nothing_counted_as_declared() {
        let text = render(&Registry::new(&METRICS));
        let mut expected = String::from(
            "# HELP test_requests_total Requests, by route.\n\
             # TYPE test_requests_total counter\n\
             # HELP test_starts_total Starts.\n\
             # TYPE test_starts_total counter\n\
             test_starts_total 0\n\
             # HELP test_queued Items queued, by queue.\n\
             # TYPE test_queued gauge\n\
             # HELP test_seconds Seconds per request.\n\
             # TYPE test_seconds histogram\n",
        );
        for bound in [
            "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
            "5", "10", "60", "+Inf",
        ] {
            expected.push_str(&format!("test_seconds_bucket{{le=\"{bound}\"}} 0\n"));
        }
        expected.push_str(
            "test_seconds_sum 0\n\
             test_seconds_count 0\n\
             # HELP test_stream_seconds Seconds per send, by stream.\n\
             # TYPE test_stream_seconds histogram\n",
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn renders_counters_gauges_and_histograms_in_the_text_format() {
        let registry = Registry::new(&METRICS);
        registry.update(|series| {
            series.add(REQUESTS, vec![label("route", "/a")], 2.0);
            series.add(REQUESTS, vec![label("route", "/a")], 3.0);
            series.add(
                REQUESTS,
                vec![label("route", "a \"quoted\"\\ \n route")],
                1.0,
            );
            series.add(STARTS, Vec::new(), 1.0);
            series.set(QUEUED, vec![label("queue", "q"), label("shard", "0")], 12.0);
            series.set(QUEUED, vec![label("queue", "q"), label("shard", "1")], 0.5);
            series.observe(SECONDS, Vec::new(), 0.003);
        });
        let text = render(&registry);
        assert!(
            text.contains("test_requests_total{route=\"/a\"} 5\n"),
            "{text}"
        );
        assert!(
            text.contains("test_requests_total{route=\"a \\\"quoted\\\"\\\\ \\n route\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("test_starts_total 1\n"), "{text}");
        assert!(
            text.contains("test_queued{queue=\"q\",shard=\"0\"} 12\n"),
            "{text}"
        );
        assert!(
            text.contains("test_queued{queue=\"q\",shard=\"1\"} 0.5\n"),
            "{text}"
        );
        assert!(
            text.contains("test_seconds_bucket{le=\"0.0025\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("test_seconds_bucket{le=\"0.005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("test_seconds_bucket{le=\"+Inf\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("test_seconds_sum 0.003\n"), "{text}");
        assert!(text.contains("test_seconds_count 1\n"), "{text}");
        assert!(!text.contains("test_stream_seconds_"), "{text}");
        // Every sample line is `name{labels} value` with a number.
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
        assert_eq!(registry.value(REQUESTS, &[("route", "/a")]), 5.0);
        assert_eq!(registry.value(REQUESTS, &[]), 6.0);
        assert_eq!(registry.value(QUEUED, &[("queue", "q")]), 12.5);
        assert_eq!(registry.value(QUEUED, &[("queue", "other")]), 0.0);
        assert_eq!(registry.histogram_count(SECONDS, &[]), 1);
    }

    #[test]
    fn renders_a_labelled_histograms_labels_before_its_bound() {
        let registry = Registry::new(&METRICS);
        registry.update(|series| {
            series.observe(STREAM_SECONDS, vec![label("stream", "a")], 0.0005);
            series.observe(STREAM_SECONDS, vec![label("stream", "a")], 0.002);
            series.observe(STREAM_SECONDS, vec![label("stream", "b")], 2.0);
        });
        let text = render(&registry);
        for line in [
            "test_stream_seconds_bucket{stream=\"a\",le=\"0.001\"} 1\n",
            "test_stream_seconds_bucket{stream=\"a\",le=\"0.0025\"} 2\n",
            "test_stream_seconds_bucket{stream=\"a\",le=\"+Inf\"} 2\n",
            "test_stream_seconds_sum{stream=\"a\"} 0.0025\n",
            "test_stream_seconds_count{stream=\"a\"} 2\n",
            "test_stream_seconds_bucket{stream=\"b\",le=\"1\"} 0\n",
            "test_stream_seconds_bucket{stream=\"b\",le=\"2.5\"} 1\n",
            "test_stream_seconds_sum{stream=\"b\"} 2\n",
            "test_stream_seconds_count{stream=\"b\"} 1\n",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert!(text.find("{stream=\"a\"").unwrap() < text.find("{stream=\"b\"").unwrap());
        assert_eq!(
            registry.histogram_count(STREAM_SECONDS, &[("stream", "a")]),
            2
        );
        assert_eq!(registry.histogram_count(STREAM_SECONDS, &[]), 3);
        assert_eq!(
            registry.histogram_count(STREAM_SECONDS, &[("stream", "c")]),
            0
        );
    }

    #[test]
    fn remove_drops_the_matching_series_of_one_metric() {
        let registry = Registry::new(&METRICS);
        registry.update(|series| {
            series.set(QUEUED, vec![label("queue", "q"), label("shard", "0")], 1.0);
            series.set(QUEUED, vec![label("queue", "q"), label("shard", "1")], 2.0);
            series.set(QUEUED, vec![label("queue", "r"), label("shard", "0")], 4.0);
            series.add(REQUESTS, vec![label("queue", "q")], 8.0);
            series.observe(STREAM_SECONDS, vec![label("stream", "a")], 1.0);
            series.observe(STREAM_SECONDS, vec![label("stream", "b")], 1.0);
        });
        registry.update(|series| {
            series.remove(QUEUED, &[("queue", "q")]);
            series.remove(STREAM_SECONDS, &[("stream", "a")]);
        });
        assert_eq!(registry.value(QUEUED, &[]), 4.0);
        assert_eq!(registry.value(REQUESTS, &[("queue", "q")]), 8.0);
        assert_eq!(registry.histogram_count(STREAM_SECONDS, &[]), 1);
        let text = render(&registry);
        assert!(!text.contains("queue=\"q\",shard"), "{text}");
        assert!(!text.contains("stream=\"a\""), "{text}");
        registry.update(|series| series.remove(QUEUED, &[]));
        let text = render(&registry);
        assert!(text.contains("# TYPE test_queued gauge\n# HELP"), "{text}");
    }

    #[test]
    fn a_poisoned_lock_is_recovered() {
        let registry = Registry::new(&METRICS);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            registry.update(|series| {
                series.add(STARTS, Vec::new(), 1.0);
                panic!("a panic while updating");
            })
        }));
        assert!(panicked.is_err());
        registry.update(|series| series.add(STARTS, Vec::new(), 1.0));
        assert_eq!(registry.value(STARTS, &[]), 2.0);
        assert!(render(&registry).contains("test_starts_total 2\n"));
    }
}
