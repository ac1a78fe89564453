//! Broker statistics behind GET_BROKER_RUNTIME_INFO (28): put and get counters, their rates
//! over 10 s / 1 min / 10 min, the put-latency distribution, and the day marks.
//!
//! ```text
//! send ─┐ relaxed fetch_add (nothing else on the hot paths)
//! pull ─┴────────────────────────► Counters (atomics)
//!                                     │ read once a second by the sampler task
//!                                     │ (or Broker::sample_stats_now)
//!                                     ▼
//!                  Sampler: ring of 601 snapshots · UTC-midnight marks · last minute's buckets
//!                                     │
//! GET_BROKER_RUNTIME_INFO ◄───────────┘ Java's strings (java_double, runtime, distribution)
//! ```
//!
//! As in Java's `StoreStatsService`, a rate over N seconds is the difference between the
//! newest snapshot and the one N samples before it, divided by their time apart; until N + 1
//! samples exist the figure is the empty string. The sampler's lock is taken only by the
//! sampler and by readers, never by sends or pulls.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apogee_runtime::{Clock, Shutdown};

use crate::manager::topic_config::is_system_topic;
use crate::stats_items::StatsItems;

/// Snapshots kept: 10 minutes at one a second, plus the one the oldest rate starts from.
const RING: usize = 601;
/// The three windows of every TPS figure, in samples (seconds).
const WINDOWS: [usize; 3] = [10, 60, 600];
const DAY_MS: i64 = 86_400_000;
/// The distribution and latency buckets report the last complete minute.
const MINUTE_MS: i64 = 60_000;

/// Java's `PUT_MESSAGE_ENTIRE_TIME_MAX_DESC`: the labels of the coarse put-time buckets.
const DISTRIBUTION_LABELS: [&str; 13] = [
    "[<=0ms]",
    "[0~10ms]",
    "[10~50ms]",
    "[50~100ms]",
    "[100~200ms]",
    "[200~500ms]",
    "[500ms~1s]",
    "[1~2s]",
    "[2~3s]",
    "[3~4s]",
    "[4~5s]",
    "[5~10s]",
    "[10s~]",
];
/// Upper bounds (exclusive) of the coarse buckets after the first (`<= 0`).
const DISTRIBUTION_BOUNDS: [i64; 11] =
    [10, 50, 100, 200, 500, 1000, 2000, 3000, 4000, 5000, 10_000];

/// Fine buckets for the put latency percentiles (Java 5.x): 1 ms steps to 20, 2 ms to 50,
/// 5 ms to 100, 10 ms to 200, 50 ms to 500, 100 ms to 1 s, 1 s to 10 s, then everything else.
const LATENCY_STEPS: [(u64, usize); 7] = [
    (1, 20),
    (2, 15),
    (5, 10),
    (10, 10),
    (50, 6),
    (100, 5),
    (1000, 9),
];
const LATENCY_BUCKETS: usize = 76;
const LATENCY_BOUNDS: [u64; LATENCY_BUCKETS] = latency_bounds();

const fn latency_bounds() -> [u64; LATENCY_BUCKETS] {
    let mut bounds = [u64::MAX; LATENCY_BUCKETS];
    let (mut i, mut step, mut bound) = (0, 0, 0);
    while step < LATENCY_STEPS.len() {
        let (width, count) = LATENCY_STEPS[step];
        let mut n = 0;
        while n < count {
            bound += width;
            bounds[i] = bound;
            i += 1;
            n += 1;
        }
        step += 1;
    }
    bounds
}

/// Coarse then fine bucket counts, in one array so a minute's difference is one loop.
const BUCKETS: usize = DISTRIBUTION_LABELS.len() + LATENCY_BUCKETS;

/// The counters the hot paths touch; monotonic since boot.
struct Counters {
    put_times: AtomicU64,
    put_bytes: AtomicU64,
    put_failed: AtomicU64,
    put_max_ms: AtomicU64,
    /// Messages put to non-system topics (`msgPutTotal…`).
    put_user: AtomicU64,
    buckets: [AtomicU64; BUCKETS],
    get_found: AtomicU64,
    get_miss: AtomicU64,
    transferred: AtomicU64,
    /// Messages handed to consumers from non-system topics (`msgGetTotal…`).
    get_user: AtomicU64,
}

impl Counters {
    fn new() -> Self {
        Self {
            put_times: AtomicU64::new(0),
            put_bytes: AtomicU64::new(0),
            put_failed: AtomicU64::new(0),
            put_max_ms: AtomicU64::new(0),
            put_user: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            get_found: AtomicU64::new(0),
            get_miss: AtomicU64::new(0),
            transferred: AtomicU64::new(0),
            get_user: AtomicU64::new(0),
        }
    }

    fn snapshot(&self, at_ms: i64) -> Snapshot {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Snapshot {
            at_ms,
            put: load(&self.put_times),
            found: load(&self.get_found),
            miss: load(&self.get_miss),
            transferred: load(&self.transferred),
            put_user: load(&self.put_user),
            get_user: load(&self.get_user),
        }
    }

    fn buckets(&self) -> [u64; BUCKETS] {
        std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed))
    }
}

/// The counters at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub at_ms: i64,
    pub put: u64,
    pub found: u64,
    pub miss: u64,
    pub transferred: u64,
    pub put_user: u64,
    pub get_user: u64,
}

/// The put and get totals at a UTC midnight (Java's "morning" marks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayMark {
    pub put: u64,
    pub get: u64,
}

/// The sampled history: pure, fed with snapshots, so rates are tested with made-up times.
#[derive(Debug)]
pub struct Sampler {
    ring: VecDeque<Snapshot>,
    day: i64,
    today_morning: DayMark,
    yesterday_morning: DayMark,
    minute_start_ms: i64,
    minute_base: [u64; BUCKETS],
    last_minute: Option<[u64; BUCKETS]>,
}

impl Sampler {
    pub fn new(boot_ms: i64) -> Self {
        Self {
            ring: VecDeque::with_capacity(RING),
            day: boot_ms.div_euclid(DAY_MS),
            today_morning: DayMark::default(),
            yesterday_morning: DayMark::default(),
            minute_start_ms: boot_ms,
            minute_base: [0; BUCKETS],
            last_minute: None,
        }
    }

    /// Adds a snapshot; at the first snapshot of a new UTC day the morning marks move.
    pub fn push(&mut self, snapshot: Snapshot) {
        if self.ring.len() == RING {
            self.ring.pop_front();
        }
        self.ring.push_back(snapshot);
        let day = snapshot.at_ms.div_euclid(DAY_MS);
        if day > self.day {
            self.day = day;
            self.yesterday_morning = self.today_morning;
            self.today_morning = DayMark {
                put: snapshot.put_user,
                get: snapshot.get_user,
            };
        }
    }

    /// Closes the minute when a full one has passed: the buckets report it until the next.
    fn roll_minute(&mut self, now_ms: i64, buckets: [u64; BUCKETS]) {
        if now_ms - self.minute_start_ms >= MINUTE_MS {
            self.last_minute = Some(std::array::from_fn(|i| {
                buckets[i].saturating_sub(self.minute_base[i])
            }));
            self.minute_base = buckets;
            self.minute_start_ms = now_ms;
        }
    }

    /// Per second over the last `window` samples; `None` until `window + 1` samples exist.
    pub fn rate(&self, window: usize, pick: fn(&Snapshot) -> u64) -> Option<f64> {
        let last = self.ring.back()?;
        let first = self.ring.get(self.ring.len().checked_sub(window + 1)?)?;
        let elapsed_ms = (last.at_ms - first.at_ms).max(1);
        Some(pick(last).saturating_sub(pick(first)) as f64 * 1000.0 / elapsed_ms as f64)
    }

    /// Java's three-figure TPS string (`"12.5 10.2 3.0"`); a figure without enough samples is
    /// empty, as in Java (so the string may be `"  "`).
    pub fn tps(&self, pick: fn(&Snapshot) -> u64) -> String {
        WINDOWS
            .iter()
            .map(|w| self.rate(*w, pick).map(java_double).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `getTotalTps`: found + miss, `0.0` where a figure has too few samples (Java adds
    /// doubles there instead of concatenating strings).
    pub fn total_get_tps(&self) -> String {
        WINDOWS
            .iter()
            .map(|w| {
                let found = self.rate(*w, |s| s.found).unwrap_or(0.0);
                let miss = self.rate(*w, |s| s.miss).unwrap_or(0.0);
                java_double(found + miss)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn today_morning(&self) -> DayMark {
        self.today_morning
    }

    pub fn yesterday_morning(&self) -> DayMark {
        self.yesterday_morning
    }
}

/// Shared handle to the statistics. Cheap to clone.
#[derive(Clone)]
pub struct BrokerStats {
    inner: Arc<Inner>,
}

struct Inner {
    counters: Counters,
    sampler: Mutex<Sampler>,
    /// Per-topic and per-group windows (VIEW_BROKER_STATS_DATA).
    items: StatsItems,
    boot_ms: i64,
    clock: Arc<dyn Clock>,
}

impl BrokerStats {
    /// Statistics of a broker of `cluster` starting now (the boot time reported as
    /// `bootTimestamp`).
    pub fn new(clock: Arc<dyn Clock>, cluster: &str) -> Self {
        let boot_ms = clock.now_ms();
        Self {
            inner: Arc::new(Inner {
                counters: Counters::new(),
                sampler: Mutex::new(Sampler::new(boot_ms)),
                items: StatsItems::new(cluster, boot_ms),
                boot_ms,
                clock,
            }),
        }
    }

    /// The per-topic and per-group items.
    pub fn items(&self) -> &StatsItems {
        &self.inner.items
    }

    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    pub fn boot_ms(&self) -> i64 {
        self.inner.boot_ms
    }

    /// A stored send of `messages` messages (`bytes` of bodies) that took `elapsed_ms` from
    /// the append to its durability answer.
    pub fn record_put(&self, topic: &str, messages: u64, bytes: u64, elapsed_ms: i64) {
        let c = &self.inner.counters;
        c.put_times.fetch_add(messages, Ordering::Relaxed);
        c.put_bytes.fetch_add(bytes, Ordering::Relaxed);
        if !is_system_topic(topic) {
            c.put_user.fetch_add(messages, Ordering::Relaxed);
        }
        c.buckets[distribution_bucket(elapsed_ms)].fetch_add(1, Ordering::Relaxed);
        c.buckets[DISTRIBUTION_LABELS.len() + latency_bucket(elapsed_ms)]
            .fetch_add(1, Ordering::Relaxed);
        c.put_max_ms
            .fetch_max(u64::try_from(elapsed_ms).unwrap_or(0), Ordering::Relaxed);
        self.inner
            .items
            .topic_put(topic, messages, bytes, self.now_ms());
    }

    /// A send the store refused.
    pub fn record_put_failed(&self) {
        self.inner
            .counters
            .put_failed
            .fetch_add(1, Ordering::Relaxed);
    }

    /// One read of a queue by a pull: found messages or not.
    pub fn record_get(&self, found: bool) {
        let c = &self.inner.counters;
        let counter = if found { &c.get_found } else { &c.get_miss };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Messages (`bytes` in all) handed to `group` in a pull response.
    pub fn record_transferred(&self, (topic, group): (&str, &str), messages: u64, bytes: u64) {
        let c = &self.inner.counters;
        c.transferred.fetch_add(messages, Ordering::Relaxed);
        if !is_system_topic(topic) {
            c.get_user.fetch_add(messages, Ordering::Relaxed);
        }
        self.inner
            .items
            .group_get((topic, group), messages, bytes, self.now_ms());
    }

    /// A message of `topic` that `group` sent back for retry.
    pub fn record_send_back(&self, topic: &str, group: &str) {
        self.inner.items.send_back(topic, group, self.now_ms());
    }

    fn sampler(&self) -> std::sync::MutexGuard<'_, Sampler> {
        self.inner
            .sampler
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one snapshot now (the sampler task does this once a second).
    pub fn sample(&self, now_ms: i64) {
        let counters = &self.inner.counters;
        let snapshot = counters.snapshot(now_ms);
        let buckets = counters.buckets();
        let mut sampler = self.sampler();
        sampler.push(snapshot);
        sampler.roll_minute(now_ms, buckets);
        drop(sampler);
        self.inner.items.sample_due(now_ms);
    }

    /// Takes one snapshot at the clock's time.
    pub fn sample_now(&self) {
        self.sample(self.inner.clock.now_ms());
    }

    /// Samples once a second until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => self.sample_now(),
                () = shutdown.wait() => return,
            }
        }
    }

    /// [`runtime_info`](Self::runtime_info) at the clock's time.
    pub fn runtime_info_now(&self) -> Vec<(&'static str, String)> {
        self.runtime_info(self.inner.clock.now_ms())
    }

    /// The store-statistics part of the runtime info, with Java's keys and formats.
    pub fn runtime_info(&self, now_ms: i64) -> Vec<(&'static str, String)> {
        let c = &self.inner.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        // Java reports at least 1 (it divides by it for the average).
        let times = load(&c.put_times).max(1);
        let bytes = load(&c.put_bytes);
        let sampler = self.sampler();
        let last_minute = sampler.last_minute.unwrap_or([0; BUCKETS]);
        let now = c.snapshot(now_ms);
        let transferred = sampler.tps(|s| s.transferred);
        vec![
            ("bootTimestamp", self.inner.boot_ms.to_string()),
            ("runtime", format_runtime(now_ms - self.inner.boot_ms)),
            ("putMessageEntireTimeMax", load(&c.put_max_ms).to_string()),
            ("putMessageTimesTotal", times.to_string()),
            ("putMessageFailedTimes", load(&c.put_failed).to_string()),
            ("putMessageSizeTotal", bytes.to_string()),
            (
                "putMessageDistributeTime",
                format_distribution(&last_minute[..DISTRIBUTION_LABELS.len()]),
            ),
            (
                "putMessageAverageSize",
                java_double(bytes as f64 / times as f64),
            ),
            ("putTps", sampler.tps(|s| s.put)),
            ("getFoundTps", sampler.tps(|s| s.found)),
            ("getMissTps", sampler.tps(|s| s.miss)),
            ("getTotalTps", sampler.total_get_tps()),
            ("getTransferedTps", transferred.clone()),
            ("getTransferredTps", transferred),
            (
                "putLatency99",
                format!(
                    "{:.2}",
                    percentile(&last_minute[DISTRIBUTION_LABELS.len()..], 0.99)
                ),
            ),
            (
                "putLatency999",
                format!(
                    "{:.2}",
                    percentile(&last_minute[DISTRIBUTION_LABELS.len()..], 0.999)
                ),
            ),
            (
                "msgPutTotalYesterdayMorning",
                sampler.yesterday_morning.put.to_string(),
            ),
            (
                "msgPutTotalTodayMorning",
                sampler.today_morning.put.to_string(),
            ),
            ("msgPutTotalTodayNow", now.put_user.to_string()),
            (
                "msgGetTotalYesterdayMorning",
                sampler.yesterday_morning.get.to_string(),
            ),
            (
                "msgGetTotalTodayMorning",
                sampler.today_morning.get.to_string(),
            ),
            ("msgGetTotalTodayNow", now.get_user.to_string()),
        ]
    }
}

fn distribution_bucket(elapsed_ms: i64) -> usize {
    if elapsed_ms <= 0 {
        return 0;
    }
    1 + DISTRIBUTION_BOUNDS.partition_point(|bound| *bound <= elapsed_ms)
}

fn latency_bucket(elapsed_ms: i64) -> usize {
    let value = u64::try_from(elapsed_ms).unwrap_or(0);
    LATENCY_BOUNDS
        .partition_point(|bound| *bound < value)
        .min(LATENCY_BUCKETS - 1)
}

/// Java's `findPutMessageEntireTimePX`: the `px` quantile of the fine buckets, interpolated
/// linearly inside the bucket it falls in.
pub fn percentile(counts: &[u64], px: f64) -> f64 {
    let total: u64 = counts.iter().sum();
    let index = (total as f64 * px) as u64;
    let mut passed = 0u64;
    for (i, &count) in counts.iter().enumerate() {
        if index <= passed + count {
            let relative = (index - passed) as f64;
            let bound = LATENCY_BOUNDS[i] as f64;
            let share = |width: f64| {
                if count == 0 {
                    0.0
                } else {
                    width * relative / count as f64
                }
            };
            return if i == 0 {
                share(bound)
            } else {
                let previous = LATENCY_BOUNDS[i - 1] as f64;
                previous + share(bound - previous)
            };
        }
        passed += count;
    }
    0.0
}

/// `[<=0ms]:N [0~10ms]:N … [10s~]:N ` (with Java's trailing space).
pub fn format_distribution(counts: &[u64]) -> String {
    DISTRIBUTION_LABELS
        .iter()
        .zip(counts)
        .map(|(label, n)| format!("{label}:{n} "))
        .collect()
}

/// Java's `getFormatRuntime`: `[ 0 days, 0 hours, 1 minutes, 5 seconds ]`.
pub fn format_runtime(elapsed_ms: i64) -> String {
    let t = elapsed_ms.max(0);
    format!(
        "[ {} days, {} hours, {} minutes, {} seconds ]",
        t / DAY_MS,
        (t % DAY_MS) / 3_600_000,
        (t % 3_600_000) / 60_000,
        (t % 60_000) / 1000
    )
}

/// Java's `Double.toString`: at least one fractional digit (`3.0`), scientific notation
/// outside [10⁻³, 10⁷) (`1.0E7`), `NaN` and `Infinity` spelled out.
pub fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let magnitude = v.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let text = format!("{v}");
        return if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        };
    }
    let text = format!("{v:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    if mantissa.contains('.') {
        format!("{mantissa}E{exponent}")
    } else {
        format!("{mantissa}.0E{exponent}")
    }
}

/// Java's `MixAll.humanReadableByteCount(bytes, false)`: `512 B`, `1.5 KiB`, `2.0 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let exp = ((bytes as f64).ln() / 1024f64.ln()) as i32;
    let exp = exp.clamp(1, 6);
    let unit = "KMGTPE".as_bytes()[usize::try_from(exp - 1).unwrap_or(0)] as char;
    format!("{:.1} {unit}iB", bytes as f64 / 1024f64.powi(exp))
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
