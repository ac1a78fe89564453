//! Measurements. Each task owns a [`Latency`] histogram and an [`ErrorTally`] and records
//! into them without locks; the run merges them once at the end. Live progress reads shared
//! [`Counters`] (relaxed atomics, one add per send or per received batch).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency recorded as itself (one hour, in µs); longer ones are clamped to it.
const LATENCY_MAX_MICROS: u64 = 3_600_000_000;

/// A latency histogram in microseconds (3 significant digits).
#[derive(Debug, Clone)]
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub fn new() -> Self {
        let histogram = Histogram::new_with_bounds(1, LATENCY_MAX_MICROS, 3)
            .expect("constant bounds hdrhistogram accepts: low 1, high ≥ 2 × low, 3 sigfigs");
        Self(histogram)
    }

    pub fn record(&mut self, elapsed: Duration) {
        self.record_n(elapsed, 1);
    }

    pub fn record_micros(&mut self, micros: u64) {
        self.record_micros_n(micros, 1);
    }

    /// Records `count` messages that took the same time (the messages of one batch).
    pub fn record_n(&mut self, elapsed: Duration, count: u64) {
        self.record_micros_n(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            count,
        );
    }

    fn record_micros_n(&mut self, micros: u64, count: u64) {
        // Cannot fail: the value is clamped into the histogram's range.
        let _ = self.0.record_n(micros.clamp(1, LATENCY_MAX_MICROS), count);
    }

    /// Adds another task's histogram (same bounds, so this cannot fail).
    pub fn merge(&mut self, other: &Latency) {
        let _ = self.0.add(&other.0);
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// Percentiles of what was recorded; `None` when nothing was.
    pub fn summary(&self) -> Option<LatencySummary> {
        if self.0.is_empty() {
            return None;
        }
        let h = &self.0;
        Some(LatencySummary {
            count: h.len(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
            mean_us: h.mean(),
        })
    }
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
}

/// Failures by kind (`"refused SYSTEM_BUSY(2)"`, `"Remoting::Timeout"`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ErrorTally(BTreeMap<String, u64>);

impl ErrorTally {
    pub fn add(&mut self, kind: impl Into<String>, count: u64) {
        *self.0.entry(kind.into()).or_default() += count;
    }

    pub fn merge(&mut self, other: &ErrorTally) {
        for (kind, count) in &other.0 {
            self.add(kind.clone(), *count);
        }
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

/// The kind of a failed client call, for the error tally: the response code when a broker
/// refused, otherwise the error's variant path (`Remoting::Timeout`, `NoRoute`, …) without
/// addresses, so failures of one kind against different brokers add up.
pub fn error_kind(error: &apogee_client::ClientError) -> String {
    if let Some(code) = error.response_code() {
        return format!("refused {code}");
    }
    variant_path(&format!("{error:?}"))
}

/// `Remoting(Timeout { addr: .. })` → `Remoting::Timeout`; `Shutdown` → `Shutdown`.
fn variant_path(debug: &str) -> String {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let outer = ident(debug);
    let rest = &debug[outer.len()..];
    match rest.strip_prefix('(') {
        Some(inner) if inner.starts_with(|c: char| c.is_ascii_uppercase()) => {
            format!("{outer}::{}", ident(inner))
        }
        _ => outer,
    }
}

/// Live totals of a run, read by the progress bar.
#[derive(Debug, Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub sent_bytes: AtomicU64,
    pub received: AtomicU64,
    pub received_bytes: AtomicU64,
    pub errors: AtomicU64,
}

impl Counters {
    pub fn add_sent(&self, messages: u64, bytes: u64) {
        self.sent.fetch_add(messages, Ordering::Relaxed);
        self.sent_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_received(&self, messages: u64, bytes: u64) {
        self.received.fetch_add(messages, Ordering::Relaxed);
        self.received_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_errors(&self, count: u64) {
        self.errors.fetch_add(count, Ordering::Relaxed);
    }

    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

/// Messages and payload bytes moved in some time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Throughput {
    pub messages: u64,
    pub bytes: u64,
    pub msgs_per_s: f64,
    /// Payload (body) megabytes per second, 1 MB = 10^6 bytes.
    pub mb_per_s: f64,
}

impl Throughput {
    pub fn new(messages: u64, bytes: u64, elapsed: Duration) -> Self {
        let secs = elapsed.as_secs_f64();
        let per_s = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        Self {
            messages,
            bytes,
            msgs_per_s: per_s(messages),
            mb_per_s: per_s(bytes) / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_recorded_latencies_should_report_ordered_percentiles() {
        let mut h = Latency::new();
        for micros in 1..=1000 {
            h.record_micros(micros);
        }
        let s = h.summary().unwrap();
        assert_eq!(s.count, 1000);
        assert_eq!(s.p50_us, 500);
        assert_eq!(s.p90_us, 900);
        assert_eq!(s.p99_us, 990);
        assert_eq!(s.p999_us, 999);
        assert_eq!(s.max_us, 1000);
        assert!((s.mean_us - 500.5).abs() < 1.0, "{}", s.mean_us);
    }

    #[test]
    fn given_task_histograms_when_merged_should_count_all() {
        let (mut a, mut b) = (Latency::new(), Latency::new());
        a.record(Duration::from_micros(10));
        b.record(Duration::from_millis(5));
        b.record(Duration::from_secs(7200)); // clamped to the 1 h bound
        a.merge(&b);
        let s = a.summary().unwrap();
        assert_eq!(s.count, 3);
        assert!(s.max_us >= LATENCY_MAX_MICROS - LATENCY_MAX_MICROS / 1000);
        assert!(Latency::new().summary().is_none());
    }

    #[test]
    fn given_zero_latency_should_record_as_one_microsecond() {
        let mut h = Latency::new();
        h.record(Duration::ZERO);
        assert_eq!(h.summary().unwrap().max_us, 1);
    }

    #[test]
    fn given_errors_of_several_tasks_should_add_by_kind() {
        let mut a = ErrorTally::default();
        a.add("Remoting::Timeout", 2);
        let mut b = ErrorTally::default();
        b.add("Remoting::Timeout", 1);
        b.add("refused SYSTEM_BUSY(2)", 4);
        a.merge(&b);
        assert_eq!(a.total(), 7);
        assert_eq!(
            a.iter().collect::<Vec<_>>(),
            [("Remoting::Timeout", 3), ("refused SYSTEM_BUSY(2)", 4)]
        );
    }

    #[test]
    fn given_client_errors_should_name_their_kind_without_addresses() {
        assert_eq!(
            variant_path(r#"Remoting(Timeout { addr: "1.2.3.4:10911", timeout: 3s })"#),
            "Remoting::Timeout"
        );
        assert_eq!(
            variant_path(r#"NoRoute { topic: "T", namesrv: "x" }"#),
            "NoRoute"
        );
        assert_eq!(variant_path("Shutdown"), "Shutdown");
        assert_eq!(variant_path(r#"InvalidMessage("empty")"#), "InvalidMessage");
        let e = apogee_client::ClientError::InvalidMessage("body is empty".into());
        assert_eq!(error_kind(&e), "InvalidMessage");
    }

    #[test]
    fn given_bytes_and_time_should_compute_rates() {
        let t = Throughput::new(2000, 2_000_000, Duration::from_secs(2));
        assert_eq!(t.msgs_per_s, 1000.0);
        assert_eq!(t.mb_per_s, 1.0);
        assert_eq!(Throughput::new(5, 5, Duration::ZERO).msgs_per_s, 0.0);
    }
}
