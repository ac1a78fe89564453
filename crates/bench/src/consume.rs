//! Consumer load: push consumers of one group (clustering, so they share the queues), each
//! with a collector task that owns its histogram:
//!
//! ```text
//!  broker ─ pull ─► PushConsumer ─► listener (worker pool) ─ Received ─► collector task
//!                                   counts into Counters     bounded      (histogram)
//! ```
//!
//! The listener reads each body's stamp and sends one [`Received`] per call (up to 32
//! messages) to its consumer's collector, so no lock is taken per message. A watcher decides
//! when the run is over: the goal reached, the deadline passed, nothing new for the idle
//! timeout, or a stop signal.
//!
//! Counts are at-least-once, like the consumers: when a queue moves between members of the
//! group (several consumers joining one by one), messages consumed but not yet committed by
//! the old owner are delivered again to the new one and counted again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apogee_client::{ConsumeFrom, ConsumeResult, MessageExt, PushConsumer, PushConsumerConfig};
use apogee_runtime::Shutdown;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::{ConsumeConfig, ConsumerSettings, StartFrom, Target};
use crate::error::{BenchError, Result};
use crate::pop::PopGroup;
use crate::progress::{Follow, Progress};
use crate::report::Report;
use crate::stats::{Counters, Latency, Throughput};
use crate::{stamp, topic};

/// Messages per listener call (the most the client allows).
const LISTENER_BATCH: usize = 32;
/// Listener calls a collector may lag behind before listeners wait for it.
const COLLECTOR_QUEUE: usize = 1024;
/// How often the watcher looks at the counters.
const WATCH_TICK: Duration = Duration::from_millis(20);
/// Longest wait for the group to own every queue before producers start (e2e).
const ASSIGNMENT_WAIT: Duration = Duration::from_secs(30);

/// Runs the consumers of `config` until its limit, idle timeout or `stop`, and reports.
pub async fn consume(config: &ConsumeConfig, stop: Shutdown) -> Result<Report> {
    config.validate()?;
    topic::ensure_topic(&config.target).await?;
    let counters = Arc::new(Counters::default());
    let progress = Progress::start(
        config.progress,
        config.limit.messages,
        Arc::clone(&counters),
        Follow::Received,
    );
    // Measured from before the consumers start: the first of them consumes while the others
    // are still joining.
    let meter = crate::cpu::Meter::start(&config.target).await;
    let start = Instant::now();
    let (target, settings, from) = (&config.target, &config.consumer, config.start_from());
    let group = if settings.pop {
        Consumers::Pop(PopGroup::start(target, settings, from, Arc::clone(&counters)).await?)
    } else {
        let counters = Arc::clone(&counters);
        Consumers::Push(ConsumerGroup::start(target, settings, from, counters, None).await?)
    };
    let goal = AtomicU64::new(config.limit.messages.unwrap_or(u64::MAX));
    let watch = Watch {
        counters: &counters,
        goal: &goal,
        deadline: config
            .limit
            .duration
            .map(|d| tokio::time::Instant::now() + d),
        idle_timeout: config.consumer.idle_timeout,
        stop: &stop,
    };
    let end = watch.wait().await;
    let outcome = group.finish().await;
    progress.finish();
    let mut report = Report::new("consume", config.settings());
    outcome.fill(&mut report, start);
    meter.finish(&mut report, outcome.messages, false).await;
    if let Some(note) = end.note(
        config.limit.messages,
        outcome.messages,
        config.consumer.idle_timeout,
    ) {
        report.notes.push(note);
    }
    Ok(report)
}

/// Push consumers, or POP consumers (`--pop`).
enum Consumers {
    Push(ConsumerGroup),
    Pop(PopGroup),
}

impl Consumers {
    async fn finish(self) -> ConsumeOutcome {
        match self {
            Self::Push(group) => group.finish().await,
            Self::Pop(group) => group.finish().await,
        }
    }
}

/// One listener call's worth of received messages.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// Send → receipt of each stamped message of this run, in µs.
    latencies_us: Vec<u64>,
    pub(crate) messages: u64,
    pub(crate) bytes: u64,
    /// Bench messages of another run (skipped by e2e).
    stale: u64,
    at: Option<Instant>,
}

/// What consumers measured, merged over consumers.
#[derive(Debug, Default)]
pub(crate) struct ConsumeOutcome {
    pub latency: Latency,
    pub messages: u64,
    pub bytes: u64,
    pub stale: u64,
    pub last_receipt: Option<Instant>,
}

impl ConsumeOutcome {
    pub(crate) fn add(&mut self, batch: Received) {
        for &us in &batch.latencies_us {
            self.latency.record_micros(us);
        }
        self.messages += batch.messages;
        self.bytes += batch.bytes;
        self.stale += batch.stale;
        if batch.messages > 0 {
            self.last_receipt = self.last_receipt.max(batch.at);
        }
    }

    pub(crate) fn merge(&mut self, other: &ConsumeOutcome) {
        self.latency.merge(&other.latency);
        self.messages += other.messages;
        self.bytes += other.bytes;
        self.stale += other.stale;
        self.last_receipt = self.last_receipt.max(other.last_receipt);
    }

    /// Fills the receive side of `report`, measured from `start` to the last receipt.
    pub(crate) fn fill(&self, report: &mut Report, start: Instant) {
        let elapsed = self
            .last_receipt
            .map_or(Duration::ZERO, |last| last.saturating_duration_since(start));
        report.elapsed_s = report.elapsed_s.max(elapsed.as_secs_f64());
        report.received = Some(Throughput::new(self.messages, self.bytes, elapsed));
        report.e2e_latency = self.latency.summary();
        let unstamped = self.messages - self.latency.count().min(self.messages);
        if unstamped > 0 {
            report.notes.push(format!(
                "{unstamped} messages carried no bench timestamp (body under {} B or not sent by apogee bench): counted, no latency",
                stamp::STAMP_BYTES
            ));
        }
        if self.stale > 0 {
            report.notes.push(format!(
                "skipped {} bench messages of earlier runs",
                self.stale
            ));
        }
    }
}

/// The push consumers of a run and their collectors.
pub(crate) struct ConsumerGroup {
    consumers: Vec<PushConsumer>,
    collectors: Vec<JoinHandle<ConsumeOutcome>>,
    done: Shutdown,
}

impl ConsumerGroup {
    /// Starts `settings.consumers` push consumers of one group on `target.topic`. With
    /// `only_run`, messages stamped by another run are skipped (and counted as stale).
    pub(crate) async fn start(
        target: &Target,
        settings: &ConsumerSettings,
        from: StartFrom,
        counters: Arc<Counters>,
        only_run: Option<u64>,
    ) -> Result<ConsumerGroup> {
        let done = Shutdown::new();
        let mut group = ConsumerGroup {
            consumers: Vec::new(),
            collectors: Vec::new(),
            done: done.clone(),
        };
        for index in 0..settings.consumers {
            let (tx, rx) = mpsc::channel(COLLECTOR_QUEUE);
            group
                .collectors
                .push(tokio::spawn(collect(rx, done.clone())));
            let mut config = PushConsumerConfig::new(settings.group.clone());
            config.consume_from = match from {
                StartFrom::First => ConsumeFrom::FirstOffset,
                StartFrom::Last => ConsumeFrom::LastOffset,
            };
            config.consume_batch_size = LISTENER_BATCH;
            let counters = Arc::clone(&counters);
            let started = PushConsumer::builder(topic::client_config(target, "c", index), config)
                .subscribe(target.topic.clone(), "*")
                .listener(move |msgs: &[MessageExt]| {
                    let batch = receive(msgs, only_run);
                    counters.add_received(batch.messages, batch.bytes);
                    // The listener runs on the blocking pool, where waiting is allowed; a
                    // closed channel means the run is over and the batch is not needed.
                    let _ = tx.blocking_send(batch);
                    ConsumeResult::Success
                })
                .start()
                .await;
            match started {
                Ok(consumer) => group.consumers.push(consumer),
                Err(e) => {
                    group.finish().await;
                    return Err(BenchError::client(format!("starting consumer {index}"), e));
                }
            }
        }
        Ok(group)
    }

    /// Waits (bounded) until the group owns all `queues` readable queues of `topic`, so that
    /// consumers starting from the last offset miss nothing sent afterwards. Returns whether
    /// it did.
    pub(crate) async fn await_assignment(&self, topic: &str, queues: usize) -> bool {
        let deadline = Instant::now() + ASSIGNMENT_WAIT;
        for round in 0u64.. {
            let owned: std::collections::BTreeSet<_> = self
                .consumers
                .iter()
                .flat_map(|c| c.assignment())
                .filter(|q| q.topic == topic)
                .collect();
            if owned.len() >= queues {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            // Members rebalance when the broker tells them the group changed; asking now and
            // then covers a lost notification.
            if round % 10 == 9 {
                for c in &self.consumers {
                    c.rebalance().await;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// Stops the consumers (committing their progress) and merges what the collectors saw.
    pub(crate) async fn finish(self) -> ConsumeOutcome {
        for consumer in &self.consumers {
            consumer.shutdown().await;
        }
        self.done.trigger();
        let mut outcome = ConsumeOutcome::default();
        for collector in self.collectors {
            if let Ok(part) = collector.await {
                outcome.merge(&part);
            }
        }
        outcome
    }
}

/// Reads the stamps of one listener batch.
pub(crate) fn receive(msgs: &[MessageExt], only_run: Option<u64>) -> Received {
    let now = stamp::now_micros();
    let mut batch = Received {
        latencies_us: Vec::with_capacity(msgs.len()),
        at: Some(Instant::now()),
        ..Received::default()
    };
    for msg in msgs {
        match stamp::read(&msg.body) {
            Some(s) if only_run.is_some_and(|run| run != s.run_id) => {
                batch.stale += 1;
                continue;
            }
            Some(s) => batch.latencies_us.push(now.saturating_sub(s.sent_micros)),
            None if only_run.is_some() => {
                batch.stale += 1;
                continue;
            }
            None => {}
        }
        batch.messages += 1;
        batch.bytes += msg.body.len() as u64;
    }
    batch
}

/// A consumer's collector: owns the histogram until the run is `done`.
async fn collect(mut rx: mpsc::Receiver<Received>, done: Shutdown) -> ConsumeOutcome {
    let mut outcome = ConsumeOutcome::default();
    loop {
        tokio::select! {
            batch = rx.recv() => match batch {
                Some(batch) => outcome.add(batch),
                None => break,
            },
            () = done.wait() => {
                while let Ok(batch) = rx.try_recv() {
                    outcome.add(batch);
                }
                break;
            }
        }
    }
    outcome
}

/// Why consumers stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Goal,
    Deadline,
    Idle,
    Signal,
}

impl End {
    pub(crate) fn note(self, goal: Option<u64>, received: u64, idle: Duration) -> Option<String> {
        let of = goal.map_or(String::new(), |g| format!(" of {g}"));
        match self {
            End::Goal | End::Deadline => None,
            End::Idle => Some(format!(
                "stopped after {} s without new messages: received {received}{of}",
                idle.as_secs_f64()
            )),
            End::Signal => Some(format!(
                "stopped early by a signal: received {received}{of}"
            )),
        }
    }
}

/// The watcher's view of a run. It reads Tokio's clock, so tests can run it in paused time.
pub(crate) struct Watch<'a> {
    pub counters: &'a Counters,
    /// Messages to receive in total; `u64::MAX` while unknown (e2e producers still running).
    pub goal: &'a AtomicU64,
    pub deadline: Option<tokio::time::Instant>,
    pub idle_timeout: Duration,
    pub stop: &'a Shutdown,
}

impl Watch<'_> {
    pub(crate) async fn wait(&self) -> End {
        let (mut seen, mut changed) = (self.counters.received(), tokio::time::Instant::now());
        loop {
            let received = self.counters.received();
            let now = tokio::time::Instant::now();
            if received >= self.goal.load(Ordering::Relaxed) {
                return End::Goal;
            }
            if self.stop.is_triggered() {
                return End::Signal;
            }
            if self.deadline.is_some_and(|d| now >= d) {
                return End::Deadline;
            }
            if received != seen {
                (seen, changed) = (received, now);
            } else if now.duration_since(changed) >= self.idle_timeout {
                return End::Idle;
            }
            tokio::select! {
                () = tokio::time::sleep(WATCH_TICK) => {}
                () = self.stop.wait() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_notes_should_explain_only_early_ends() {
        let idle = Duration::from_secs(10);
        assert_eq!(End::Goal.note(Some(5), 5, idle), None);
        assert_eq!(
            End::Idle.note(Some(2000), 1990, idle).unwrap(),
            "stopped after 10 s without new messages: received 1990 of 2000"
        );
        assert_eq!(
            End::Signal.note(None, 7, idle).unwrap(),
            "stopped early by a signal: received 7"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn given_counters_when_goal_reached_or_idle_should_end_the_watch() {
        let counters = Counters::default();
        let stop = Shutdown::new();
        let goal = AtomicU64::new(3);
        let watch = Watch {
            counters: &counters,
            goal: &goal,
            deadline: None,
            idle_timeout: Duration::from_secs(5),
            stop: &stop,
        };
        counters.add_received(3, 30);
        assert_eq!(watch.wait().await, End::Goal);
        goal.store(u64::MAX, Ordering::Relaxed);
        // With paused time the idle timeout passes without real waiting.
        assert_eq!(watch.wait().await, End::Idle);
        stop.trigger();
        assert_eq!(watch.wait().await, End::Signal);
    }
}
