//! Per-topic and per-group statistics with RocketMQ's minute, hour and day windows (Java's
//! `BrokerStatsManager` and `StatsItem`), answered by VIEW_BROKER_STATS_DATA (315) and used for
//! the consume TPS of GET_CONSUME_STATS and GET_BROKER_CONSUME_STATS.
//!
//! Each item counts a value (messages or bytes) and how many times it was added, with relaxed
//! atomics; the recording path takes a shared lock for the lookup and allocates only when a key
//! is first seen. Every 10 s, 10 min and 1 h a snapshot of each item joins its minute (7 kept),
//! hour (7) and day (25) list. A window's figures run from its oldest snapshot to the live
//! counters (Java stops at the last snapshot, and its new items miss their first additions:
//! Apogee starts each item with a zero snapshot).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use apogee_protocol::body::stats::{BrokerStatsData, BrokerStatsItem};

/// The stats names mqadmin and the dashboard ask for (Java's `BrokerStatsManager` constants).
pub mod names {
    /// Messages put, by topic.
    pub const TOPIC_PUT_NUMS: &str = "TOPIC_PUT_NUMS";
    /// Bytes written (whole records, Java's `wroteBytes`), by topic.
    pub const TOPIC_PUT_SIZE: &str = "TOPIC_PUT_SIZE";
    /// Messages pulled, by `topic@group`.
    pub const GROUP_GET_NUMS: &str = "GROUP_GET_NUMS";
    /// Bytes pulled, by `topic@group`.
    pub const GROUP_GET_SIZE: &str = "GROUP_GET_SIZE";
    /// Messages sent back for retry, by `topic@group` (the original topic).
    pub const SNDBCK_PUT_NUMS: &str = "SNDBCK_PUT_NUMS";
    /// Messages put, by cluster name.
    pub const BROKER_PUT_NUMS: &str = "BROKER_PUT_NUMS";
    /// Messages pulled, by cluster name.
    pub const BROKER_GET_NUMS: &str = "BROKER_GET_NUMS";
}

/// Keys each stats set may hold; past it new keys are not counted (and a warning is logged).
pub const KEYS_MAX: usize = 50_000;

const MINUTE_SAMPLE_MS: i64 = 10_000;
const HOUR_SAMPLE_MS: i64 = 600_000;
const DAY_SAMPLE_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Copy)]
struct Point {
    at_ms: i64,
    value: u64,
    times: u64,
}

#[derive(Debug, Default)]
struct Windows {
    minute: VecDeque<Point>,
    hour: VecDeque<Point>,
    day: VecDeque<Point>,
}

/// One counted key.
#[derive(Debug)]
pub struct StatsItem {
    value: AtomicU64,
    times: AtomicU64,
    windows: Mutex<Windows>,
}

impl StatsItem {
    fn new(now_ms: i64) -> Self {
        let zero = Point {
            at_ms: now_ms,
            value: 0,
            times: 0,
        };
        Self {
            value: AtomicU64::new(0),
            times: AtomicU64::new(0),
            windows: Mutex::new(Windows {
                minute: [zero].into(),
                hour: [zero].into(),
                day: [zero].into(),
            }),
        }
    }

    fn add(&self, value: u64, times: u64) {
        self.value.fetch_add(value, Ordering::Relaxed);
        self.times.fetch_add(times, Ordering::Relaxed);
    }

    fn now(&self, at_ms: i64) -> Point {
        Point {
            at_ms,
            value: self.value.load(Ordering::Relaxed),
            times: self.times.load(Ordering::Relaxed),
        }
    }

    fn windows(&self) -> std::sync::MutexGuard<'_, Windows> {
        self.windows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sample(&self, window: Window, now_ms: i64) {
        let point = self.now(now_ms);
        let mut windows = self.windows();
        let (list, keep) = match window {
            Window::Minute => (&mut windows.minute, 7),
            Window::Hour => (&mut windows.hour, 7),
            Window::Day => (&mut windows.day, 25),
        };
        list.push_back(point);
        while list.len() > keep {
            list.pop_front();
        }
    }

    /// Sum, TPS and average per addition from the window's oldest snapshot to now.
    fn figures(&self, window: Window, now_ms: i64) -> BrokerStatsItem {
        let last = self.now(now_ms);
        let windows = self.windows();
        let list = match window {
            Window::Minute => &windows.minute,
            Window::Hour => &windows.hour,
            Window::Day => &windows.day,
        };
        let Some(first) = list.front() else {
            return BrokerStatsItem::default();
        };
        let sum = last.value.saturating_sub(first.value);
        let times = last.times.saturating_sub(first.times);
        // A rate over less than a second (an item queried just after it was seeded) is
        // taken over one second, so a fresh count never reads as zero or as a spike.
        let span_ms = (last.at_ms - first.at_ms).max(1000);
        let as_f64 = |v: u64| v as f64;
        BrokerStatsItem {
            sum: i64::try_from(sum).unwrap_or(i64::MAX),
            tps: as_f64(sum) * 1000.0 / span_ms as f64,
            avgpt: if times > 0 {
                as_f64(sum) / as_f64(times)
            } else {
                0.0
            },
        }
    }

    /// Minute, hour and day figures (VIEW_BROKER_STATS_DATA).
    pub fn data(&self, now_ms: i64) -> BrokerStatsData {
        BrokerStatsData {
            stats_minute: self.figures(Window::Minute, now_ms),
            stats_hour: self.figures(Window::Hour, now_ms),
            stats_day: self.figures(Window::Day, now_ms),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    Minute,
    Hour,
    Day,
}

/// The items of one stats name, keyed by a primary key (topic or cluster) and an optional
/// secondary one (group), so recording `topic@group` needs no string building.
#[derive(Debug, Default)]
struct StatsItemSet {
    items: RwLock<HashMap<String, HashMap<String, Arc<StatsItem>>>>,
    count: AtomicUsize,
}

impl StatsItemSet {
    fn get(&self, key: &str, sub: &str) -> Option<Arc<StatsItem>> {
        self.items
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .and_then(|m| m.get(sub))
            .cloned()
    }

    fn add(&self, (key, sub): (&str, &str), value: u64, times: u64, now_ms: i64) {
        if let Some(item) = self.get(key, sub) {
            item.add(value, times);
            return;
        }
        let mut items = self.items.write().unwrap_or_else(PoisonError::into_inner);
        let subs = items.entry(key.to_owned()).or_default();
        if let Some(item) = subs.get(sub) {
            item.add(value, times);
            return;
        }
        if self.count.load(Ordering::Relaxed) >= KEYS_MAX {
            if subs.is_empty() {
                items.remove(key);
            }
            tracing::warn!(key, sub, "stats set full ({KEYS_MAX} keys); not counted");
            return;
        }
        let item = Arc::new(StatsItem::new(now_ms));
        item.add(value, times);
        subs.insert(sub.to_owned(), item);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn all(&self) -> Vec<Arc<StatsItem>> {
        self.items
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .flat_map(|m| m.values().cloned())
            .collect()
    }

    fn totals(&self) -> Vec<(String, String, u64)> {
        let items = self.items.read().unwrap_or_else(PoisonError::into_inner);
        let mut out = Vec::with_capacity(self.count.load(Ordering::Relaxed));
        for (key, subs) in items.iter() {
            for (sub, item) in subs {
                out.push((key.clone(), sub.clone(), item.value.load(Ordering::Relaxed)));
            }
        }
        out
    }

    /// Forgets every item whose primary key is `key` or whose secondary key is `sub`.
    fn remove(&self, key: Option<&str>, sub: Option<&str>) {
        let mut items = self.items.write().unwrap_or_else(PoisonError::into_inner);
        let mut removed = 0;
        if let Some(key) = key {
            removed += items.remove(key).map_or(0, |m| m.len());
        }
        if let Some(sub) = sub {
            for subs in items.values_mut() {
                removed += usize::from(subs.remove(sub).is_some());
            }
            items.retain(|_, subs| !subs.is_empty());
        }
        self.count.fetch_sub(removed, Ordering::Relaxed);
    }
}

/// Every stats set of a broker, and when each window was last sampled.
#[derive(Debug)]
pub struct StatsItems {
    cluster: String,
    sets: HashMap<&'static str, StatsItemSet>,
    last_sample: Mutex<[i64; 3]>,
}

impl StatsItems {
    pub fn new(cluster: &str, now_ms: i64) -> Self {
        let sets = [
            names::TOPIC_PUT_NUMS,
            names::TOPIC_PUT_SIZE,
            names::GROUP_GET_NUMS,
            names::GROUP_GET_SIZE,
            names::SNDBCK_PUT_NUMS,
            names::BROKER_PUT_NUMS,
            names::BROKER_GET_NUMS,
        ]
        .into_iter()
        .map(|name| (name, StatsItemSet::default()))
        .collect();
        Self {
            cluster: cluster.to_owned(),
            sets,
            last_sample: Mutex::new([now_ms; 3]),
        }
    }

    fn set(&self, name: &str) -> Option<&StatsItemSet> {
        self.sets.get(name)
    }

    fn add(&self, name: &str, keys: (&str, &str), value: u64, times: u64, now_ms: i64) {
        if let Some(set) = self.set(name) {
            set.add(keys, value, times, now_ms);
        }
    }

    /// A stored send: `messages` (one addition) and the bytes written for them.
    pub fn topic_put(&self, topic: &str, messages: u64, bytes: u64, now_ms: i64) {
        self.add(names::TOPIC_PUT_NUMS, (topic, ""), messages, 1, now_ms);
        self.add(names::TOPIC_PUT_SIZE, (topic, ""), bytes, 1, now_ms);
        let cluster = self.cluster.as_str();
        self.add(names::BROKER_PUT_NUMS, (cluster, ""), messages, 1, now_ms);
    }

    /// Messages (and their bytes) handed to `group` from `topic` by one pull.
    pub fn group_get(&self, (topic, group): (&str, &str), messages: u64, bytes: u64, now_ms: i64) {
        self.add(names::GROUP_GET_NUMS, (topic, group), messages, 1, now_ms);
        self.add(names::GROUP_GET_SIZE, (topic, group), bytes, 1, now_ms);
        let cluster = self.cluster.as_str();
        self.add(names::BROKER_GET_NUMS, (cluster, ""), messages, 1, now_ms);
    }

    /// One message of `topic` that `group` sent back for retry.
    pub fn send_back(&self, topic: &str, group: &str, now_ms: i64) {
        self.add(names::SNDBCK_PUT_NUMS, (topic, group), 1, 1, now_ms);
    }

    /// Every item of `name` with its running total: (key, secondary key, value).
    pub fn totals(&self, name: &str) -> Vec<(String, String, u64)> {
        self.set(name).map_or_else(Vec::new, StatsItemSet::totals)
    }

    /// The item `name` counts under `key` (`topic@group` for the group sets).
    pub fn item(&self, name: &str, key: &str) -> Option<Arc<StatsItem>> {
        let set = self.set(name)?;
        match key.split_once('@') {
            Some((topic, group)) => set.get(topic, group),
            None => set.get(key, ""),
        }
    }

    /// Messages per second `group` pulled from `topic` over the last minute.
    pub fn group_get_tps(&self, topic: &str, group: &str, now_ms: i64) -> f64 {
        self.set(names::GROUP_GET_NUMS)
            .and_then(|s| s.get(topic, group))
            .map_or(0.0, |i| i.figures(Window::Minute, now_ms).tps)
    }

    /// Takes the snapshots that are due (called every second).
    pub fn sample_due(&self, now_ms: i64) {
        let mut last = self
            .last_sample
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let due = [
            (Window::Minute, MINUTE_SAMPLE_MS),
            (Window::Hour, HOUR_SAMPLE_MS),
            (Window::Day, DAY_SAMPLE_MS),
        ];
        for (slot, (window, every)) in due.into_iter().enumerate() {
            if now_ms - last[slot] >= every {
                last[slot] = now_ms;
                for set in self.sets.values() {
                    for item in set.all() {
                        item.sample(window, now_ms);
                    }
                }
            }
        }
    }

    /// A deleted topic's items go (DELETE_TOPIC).
    pub fn forget_topic(&self, topic: &str) {
        for set in self.sets.values() {
            set.remove(Some(topic), None);
        }
    }

    /// A deleted group's items go (DELETE_SUBSCRIPTIONGROUP).
    pub fn forget_group(&self, group: &str) {
        for name in [
            names::GROUP_GET_NUMS,
            names::GROUP_GET_SIZE,
            names::SNDBCK_PUT_NUMS,
        ] {
            if let Some(set) = self.set(name) {
                set.remove(None, Some(group));
            }
        }
    }
}

#[cfg(test)]
#[path = "stats_items_tests.rs"]
mod tests;
