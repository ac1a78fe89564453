//! Per-topic consumption figures of a push consumer, reported in GET_CONSUMER_RUNNING_INFO's
//! `statusTable` (Java's `ConsumerStatsManager`): pull RT and TPS, consume RT, OK and failed
//! TPS over about the last minute, and the messages that failed in about the last hour.
//!
//! Totals only grow; a copy of them is kept every 10 s (for an hour), and a figure is the
//! difference between now and the newest copy at least a minute (an hour) old.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use apogee_protocol::body::admin::ConsumeStatus;

const MARK_EVERY_MS: i64 = 10_000;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    pulled: u64,
    pulls: u64,
    pull_rt_ms: u64,
    ok: u64,
    failed: u64,
    consumes: u64,
    consume_rt_ms: u64,
}

impl Counts {
    fn minus(&self, base: &Counts) -> Counts {
        Counts {
            pulled: self.pulled.saturating_sub(base.pulled),
            pulls: self.pulls.saturating_sub(base.pulls),
            pull_rt_ms: self.pull_rt_ms.saturating_sub(base.pull_rt_ms),
            ok: self.ok.saturating_sub(base.ok),
            failed: self.failed.saturating_sub(base.failed),
            consumes: self.consumes.saturating_sub(base.consumes),
            consume_rt_ms: self.consume_rt_ms.saturating_sub(base.consume_rt_ms),
        }
    }
}

type Totals = HashMap<String, Counts>;

/// The figures of one consumer group, by topic.
#[derive(Debug)]
pub(crate) struct StatusBook {
    inner: Mutex<Book>,
}

#[derive(Debug)]
struct Book {
    start_ms: i64,
    totals: Totals,
    marks: VecDeque<(i64, Totals)>,
}

impl Book {
    /// Copies the totals when the last copy is 10 s old; drops copies past an hour.
    fn mark(&mut self, now_ms: i64) {
        let last = self.marks.back().map_or(self.start_ms, |(t, _)| *t);
        if now_ms - last >= MARK_EVERY_MS {
            self.marks.push_back((now_ms, self.totals.clone()));
        }
        while self
            .marks
            .get(1)
            .is_some_and(|(t, _)| now_ms - t >= HOUR_MS)
        {
            self.marks.pop_front();
        }
    }

    /// The newest copy at least `age_ms` old (or the zero totals at start) and its time.
    fn base(&self, now_ms: i64, age_ms: i64) -> (i64, Option<&Totals>) {
        self.marks
            .iter()
            .rev()
            .find(|(t, _)| now_ms - t >= age_ms)
            .map_or((self.start_ms, None), |(t, totals)| (*t, Some(totals)))
    }
}

impl StatusBook {
    pub(crate) fn new(now_ms: i64) -> Self {
        Self {
            inner: Mutex::new(Book {
                start_ms: now_ms,
                totals: HashMap::new(),
                marks: VecDeque::new(),
            }),
        }
    }

    /// When the book was opened (the consumer started), ms.
    pub(crate) fn start_ms(&self) -> i64 {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .start_ms
    }

    fn record(&self, topic: &str, now_ms: i64, update: impl FnOnce(&mut Counts)) {
        let mut book = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        book.mark(now_ms);
        update(book.totals.entry(topic.to_owned()).or_default());
    }

    /// A pull that found `messages` messages and took `rt_ms`.
    pub(crate) fn pulled(&self, topic: &str, messages: usize, rt_ms: i64, now_ms: i64) {
        self.record(topic, now_ms, |c| {
            c.pulled += messages as u64;
            c.pulls += 1;
            c.pull_rt_ms += u64::try_from(rt_ms).unwrap_or(0);
        });
    }

    /// A listener call over `messages` messages that took `rt_ms`.
    pub(crate) fn consumed(&self, topic: &str, messages: usize, ok: bool, rt_ms: i64, now_ms: i64) {
        self.record(topic, now_ms, |c| {
            if ok {
                c.ok += messages as u64;
            } else {
                c.failed += messages as u64;
            }
            c.consumes += 1;
            c.consume_rt_ms += u64::try_from(rt_ms).unwrap_or(0);
        });
    }

    /// Topic → figures now.
    pub(crate) fn status(&self, now_ms: i64) -> HashMap<String, ConsumeStatus> {
        let mut book = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        book.mark(now_ms);
        let (minute_at, minute) = book.base(now_ms, MINUTE_MS);
        let (_, hour) = book.base(now_ms, HOUR_MS);
        let span_s = ((now_ms - minute_at).max(1)) as f64 / 1000.0;
        let zero = Counts::default();
        book.totals
            .iter()
            .map(|(topic, total)| {
                let d = total.minus(minute.and_then(|m| m.get(topic)).unwrap_or(&zero));
                let failed_hour = total
                    .minus(hour.and_then(|m| m.get(topic)).unwrap_or(&zero))
                    .failed;
                let avg = |sum: u64, n: u64| if n == 0 { 0.0 } else { sum as f64 / n as f64 };
                let status = ConsumeStatus {
                    consume_failed_msgs: i64::try_from(failed_hour).unwrap_or(i64::MAX),
                    consume_failed_tps: d.failed as f64 / span_s,
                    consume_ok_tps: d.ok as f64 / span_s,
                    consume_rt: avg(d.consume_rt_ms, d.consumes),
                    pull_rt: avg(d.pull_rt_ms, d.pulls),
                    pull_tps: d.pulled as f64 / span_s,
                };
                (topic.clone(), status)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    #[test]
    fn given_steady_traffic_should_report_per_second_rates_over_the_last_minute() {
        let book = StatusBook::new(T0);
        for second in 0..120 {
            let now = T0 + second * 1000;
            book.pulled("T", 10, 4, now);
            book.consumed("T", 9, true, 2, now);
            book.consumed("T", 1, false, 6, now);
        }
        let status = book.status(T0 + 120_000)["T"];
        assert!((status.pull_tps - 10.0).abs() < 0.5, "{status:?}");
        assert!((status.consume_ok_tps - 9.0).abs() < 0.5, "{status:?}");
        assert!((status.consume_failed_tps - 1.0).abs() < 0.1, "{status:?}");
        assert!((status.pull_rt - 4.0).abs() < 1e-9);
        assert!((status.consume_rt - 4.0).abs() < 1e-9, "mean of 2 and 6");
        assert_eq!(status.consume_failed_msgs, 120, "all within the hour");
    }

    #[test]
    fn given_silence_after_traffic_should_fall_to_zero_but_keep_the_hourly_failures() {
        let book = StatusBook::new(T0);
        for second in 0..30 {
            book.consumed("T", 1, false, 1, T0 + second * 1000);
        }
        // Reports now and then keep the marks moving while nothing happens.
        for minute in 1..=5 {
            book.status(T0 + 30_000 + minute * 60_000);
        }
        let status = book.status(T0 + 6 * 60_000)["T"];
        assert_eq!(status.consume_failed_tps, 0.0);
        assert_eq!(status.consume_failed_msgs, 30);
        for minute in 7..=80 {
            book.status(T0 + minute * 60_000);
        }
        assert_eq!(book.status(T0 + 81 * 60_000)["T"].consume_failed_msgs, 0);
    }
}
