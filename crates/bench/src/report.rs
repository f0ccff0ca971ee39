//! Latency histograms per operation and the report: a table for people, JSON for scripts.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::workload::OpKind;

/// Latencies are recorded in microseconds, up to a minute, with 3 significant digits.
const LATENCY_MAX_US: u64 = 60_000_000;

#[allow(clippy::expect_used)]
pub fn new_histogram() -> Histogram<u64> {
    // Constant bounds that hdrhistogram accepts (every test builds one), never user input.
    Histogram::new_with_bounds(1, LATENCY_MAX_US, 3).expect("valid histogram bounds")
}

/// What one worker measured.
pub struct Tally {
    pub latencies: Vec<Histogram<u64>>,
    /// Error answers by operation and error type.
    pub errors: BTreeMap<(OpKind, String), u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            latencies: OpKind::ALL.iter().map(|_| new_histogram()).collect(),
            errors: BTreeMap::new(),
        }
    }
}

impl Tally {
    pub fn record(&mut self, op: OpKind, latency: Duration) {
        let us = (latency.as_micros() as u64).clamp(1, LATENCY_MAX_US);
        if let Some(h) = self.latencies.get_mut(op.index()) {
            let _ = h.record(us);
        }
    }

    pub fn error(&mut self, op: OpKind, kind: String) {
        *self.errors.entry((op, kind)).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Tally) {
        for (mine, theirs) in self.latencies.iter_mut().zip(&other.latencies) {
            let _ = mine.add(theirs);
        }
        for (k, n) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += n;
        }
    }
}

/// Figures of one operation kind (or of all), latencies in milliseconds.
#[derive(Clone, Debug, Serialize)]
pub struct OpStats {
    pub operations: u64,
    pub errors: u64,
    pub ops_per_sec: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

fn stats(h: &Histogram<u64>, errors: u64, secs: f64) -> OpStats {
    let ms = |us: u64| us as f64 / 1000.0;
    OpStats {
        operations: h.len(),
        errors,
        ops_per_sec: if secs > 0.0 { h.len() as f64 / secs } else { 0.0 },
        mean_ms: h.mean() / 1000.0,
        p50_ms: ms(h.value_at_quantile(0.50)),
        p95_ms: ms(h.value_at_quantile(0.95)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        p999_ms: ms(h.value_at_quantile(0.999)),
        max_ms: ms(h.max()),
    }
}

/// The load phase's figures.
#[derive(Clone, Debug, Serialize)]
pub struct LoadStats {
    pub records: u64,
    pub seconds: f64,
    pub records_per_sec: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub workload: String,
    pub mix: String,
    pub distribution: String,
    pub endpoints: Vec<String>,
    pub table: String,
    pub records: u64,
    pub record_bytes: usize,
    pub concurrency: usize,
    pub consistent_read: bool,
    pub load: Option<LoadStats>,
    /// Length of the measured window (after the warm-up).
    pub seconds: f64,
    /// Every successful operation of the measured window.
    pub total: OpStats,
    pub operations: BTreeMap<String, OpStats>,
    /// Error answers (and failed exchanges) by `operation: type`.
    pub errors: BTreeMap<String, u64>,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        workload: String,
        mix: String,
        distribution: String,
        endpoints: Vec<String>,
        table: String,
        records: u64,
        record_bytes: usize,
        concurrency: usize,
        consistent_read: bool,
        load: Option<LoadStats>,
        seconds: f64,
        tally: &Tally,
    ) -> Report {
        let mut total = new_histogram();
        let mut operations = BTreeMap::new();
        for op in OpKind::ALL {
            let h = &tally.latencies[op.index()];
            let errors: u64 = tally.errors.iter().filter(|((o, _), _)| *o == op).map(|(_, n)| n).sum();
            if h.is_empty() && errors == 0 {
                continue;
            }
            let _ = total.add(h);
            operations.insert(op.name().to_string(), stats(h, errors, seconds));
        }
        let all_errors: u64 = tally.errors.values().sum();
        Report {
            workload,
            mix,
            distribution,
            endpoints,
            table,
            records,
            record_bytes,
            concurrency,
            consistent_read,
            load,
            seconds,
            total: stats(&total, all_errors, seconds),
            operations,
            errors: tally
                .errors
                .iter()
                .map(|((op, kind), n)| (format!("{}: {kind}", op.name()), *n))
                .collect(),
        }
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "workload {} ({}), {} keys over {} records of ~{} B, {} connections{}\n",
            self.workload,
            self.mix,
            self.distribution,
            self.records,
            self.record_bytes,
            self.concurrency,
            if self.consistent_read { ", consistent reads" } else { "" }
        ));
        out.push_str(&format!("endpoints: {}\n", self.endpoints.join(" ")));
        if let Some(l) = &self.load {
            out.push_str(&format!(
                "load: {} records in {:.1} s ({:.0} records/s)\n",
                l.records, l.seconds, l.records_per_sec
            ));
        }
        out.push_str(&format!("run: {:.1} s measured\n", self.seconds));
        out.push_str(&format!(
            "{:<18} {:>10} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8}\n",
            "operation", "ops", "errors", "ops/s", "p50 ms", "p95 ms", "p99 ms", "p99.9 ms", "max ms"
        ));
        let row = |name: &str, s: &OpStats| {
            format!(
                "{:<18} {:>10} {:>8} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}\n",
                name, s.operations, s.errors, s.ops_per_sec, s.p50_ms, s.p95_ms, s.p99_ms, s.p999_ms, s.max_ms
            )
        };
        for (name, s) in &self.operations {
            out.push_str(&row(name, s));
        }
        out.push_str(&row("total", &self.total));
        for (what, n) in &self.errors {
            out.push_str(&format!("error: {what}: {n}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Percentiles, rates and error counts come out of the merged tallies.
    #[test]
    fn reports_summarise_tallies() {
        let mut a = Tally::default();
        let mut b = Tally::default();
        for ms in 1..=100u64 {
            a.record(OpKind::Read, Duration::from_millis(ms));
        }
        b.record(OpKind::Update, Duration::from_millis(5));
        b.error(OpKind::Update, "ConditionalCheckFailedException".into());
        a.merge(&b);
        let r = Report::build(
            "a".into(),
            "50% read, 50% update".into(),
            "zipfian".into(),
            vec!["http://x:1".into()],
            "t".into(),
            10,
            1000,
            1,
            false,
            None,
            2.0,
            &a,
        );
        let read = &r.operations["read"];
        assert_eq!(read.operations, 100);
        assert_eq!(read.ops_per_sec, 50.0);
        assert!((read.p50_ms - 50.0).abs() < 0.1, "{}", read.p50_ms);
        assert!((read.p99_ms - 99.0).abs() < 0.1, "{}", read.p99_ms);
        assert_eq!(r.operations["update"].errors, 1);
        assert_eq!(r.total.operations, 101);
        assert_eq!(r.errors["update: ConditionalCheckFailedException"], 1);
        let table = r.table();
        assert!(table.contains("read") && table.contains("total"), "{table}");
    }
}
