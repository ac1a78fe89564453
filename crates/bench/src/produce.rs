//! Producer load. Each producer task owns one [`Producer`] (its own client instance and
//! connections), its histogram and its error tally:
//!
//! ```text
//!  task ─ pace ─ stamp body ─ send ────────────────────────► broker
//!    ▲                         │ callback / batch task          │
//!    └── completion channel ◄──┘ (capacity = in-flight) ◄── ack ┘
//! ```
//!
//! Async mode keeps up to `in_flight` sends outstanding: callbacks report back on a bounded
//! channel the task drains, so the histogram is recorded by its owner alone. Sync mode awaits
//! each send. Failed sends are tallied by kind; the run goes on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apogee_client::{Message, Producer, ProducerConfig, SendResult, SendStatus};
use apogee_runtime::Shutdown;
use tokio::sync::mpsc;

use crate::config::{ProduceConfig, ProducerSettings, SendMode, Target};
use crate::error::{BenchError, Result};
use crate::pacing::{Pacer, share};
use crate::progress::{Follow, Progress};
use crate::report::Report;
use crate::stats::{Counters, ErrorTally, Latency, Throughput, error_kind};
use crate::{cpu, stamp, topic};

/// Longest wait for an outstanding send to report back (sends give up after their own 3 s
/// timeout and retries; this only guards against a lost callback).
const COMPLETION_WAIT: Duration = Duration::from_secs(60);

/// Runs the producers of `config` until its limit or `stop`, and reports.
pub async fn produce(config: &ProduceConfig, stop: Shutdown) -> Result<Report> {
    config.validate()?;
    if config.producer.topics == 1 {
        topic::ensure_topic(&config.target).await?;
    }
    let counters = Arc::new(Counters::default());
    let producers = start_producers(&config.target, &config.producer).await?;
    let total = config.limit.producer_messages();
    let progress = Progress::start(config.progress, total, Arc::clone(&counters), Follow::Sent);
    let plan = Arc::new(ProducerPlan {
        settings: config.producer.clone(),
        topics: topic_names(&config.target.topic, config.producer.topics),
        run_id: stamp::new_run_id(),
        counters,
        stop: stop.clone(),
        deadline: config.limit.duration.map(|d| Instant::now() + d),
        total,
    });
    let meter = cpu::Meter::start(&config.target).await;
    let outcome = run_producers(producers, plan).await;
    progress.finish();
    let mut report = Report::new("produce", config.settings());
    outcome.fill(&mut report);
    meter.finish(&mut report, outcome.messages, true).await;
    if stop.is_triggered() {
        report.notes.push("stopped early by a signal".into());
    }
    Ok(report)
}

/// What every producer task of a run shares.
pub(crate) struct ProducerPlan {
    pub settings: ProducerSettings,
    /// Messages go to these in turn (one topic unless `--topics`).
    pub topics: Vec<String>,
    pub run_id: u64,
    pub counters: Arc<Counters>,
    pub stop: Shutdown,
    pub deadline: Option<Instant>,
    /// Messages over all producers; `None`: until the deadline.
    pub total: Option<u64>,
}

/// What producers measured, merged over tasks.
#[derive(Debug, Default)]
pub(crate) struct ProduceOutcome {
    pub latency: Latency,
    pub errors: ErrorTally,
    pub messages: u64,
    pub bytes: u64,
    pub elapsed: Duration,
}

impl ProduceOutcome {
    fn merge(&mut self, other: &ProduceOutcome) {
        self.latency.merge(&other.latency);
        self.errors.merge(&other.errors);
        self.messages += other.messages;
        self.bytes += other.bytes;
        self.elapsed = self.elapsed.max(other.elapsed);
    }

    pub(crate) fn fill(&self, report: &mut Report) {
        report.elapsed_s = self.elapsed.as_secs_f64();
        report.sent = Some(Throughput::new(self.messages, self.bytes, self.elapsed));
        report.send_latency = self.latency.summary();
        report.add_errors(&self.errors);
    }

    fn record(&mut self, took: Duration, messages: u64, bytes: u64, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.latency.record_n(took, messages);
                self.messages += messages;
                self.bytes += bytes;
            }
            Err(kind) => self.errors.add(kind, messages),
        }
    }
}

/// Starts one producer per task, each in its own client instance, with compression off (the
/// bench measures the broker, not zlib) and the topic's route already fetched.
pub(crate) async fn start_producers(
    target: &Target,
    settings: &ProducerSettings,
) -> Result<Vec<Producer>> {
    let mut producers = Vec::with_capacity(settings.producers);
    for index in 0..settings.producers {
        let mut config = ProducerConfig::new(settings.group.clone());
        config.compress_over = usize::MAX;
        let producer = Producer::start(topic::client_config(target, "p", index), config)
            .await
            .map_err(|e| BenchError::client(format!("starting producer {index}"), e))?;
        // Every route is fetched before the clock starts: the run measures sends, not lookups.
        for topic in topic_names(&target.topic, settings.topics) {
            producer
                .instance()
                .route(&topic)
                .await
                .map_err(|e| BenchError::client(format!("route of `{topic}`"), e))?;
        }
        producers.push(producer);
    }
    Ok(producers)
}

/// Runs one task per producer from now, then shuts the producers down.
pub(crate) async fn run_producers(
    producers: Vec<Producer>,
    plan: Arc<ProducerPlan>,
) -> ProduceOutcome {
    let start = Instant::now();
    let tasks: Vec<_> = producers
        .iter()
        .enumerate()
        .map(|(index, producer)| {
            let task = ProducerTask {
                producer: producer.clone(),
                plan: Arc::clone(&plan),
                quota: plan.total.map(|t| share(t, plan.settings.producers, index)),
                pacer: Pacer::for_task(plan.settings.rate, plan.settings.producers, start),
                start,
                sent: 0,
            };
            tokio::spawn(task.run())
        })
        .collect();
    let mut outcome = ProduceOutcome::default();
    for task in tasks {
        match task.await {
            Ok(done) => outcome.merge(&done),
            Err(e) => outcome.errors.add(format!("producer task failed: {e}"), 1),
        }
    }
    for producer in &producers {
        producer.shutdown().await;
    }
    outcome
}

struct ProducerTask {
    producer: Producer,
    plan: Arc<ProducerPlan>,
    /// This task's share of the message count.
    quota: Option<u64>,
    pacer: Option<Pacer>,
    start: Instant,
    /// Messages built so far (picks the topic, spreads timers' due times).
    sent: u64,
}

/// One send's outcome, from a callback back to its task.
struct Completion {
    /// Send → acknowledgement, taken when the answer arrived (the task may read this later,
    /// after a pacing wait).
    took: Duration,
    messages: u64,
    bytes: u64,
    result: Result<(), String>,
}

impl ProducerTask {
    async fn run(self) -> ProduceOutcome {
        let start = self.start;
        let outcome = match self.plan.settings.mode {
            SendMode::Sync => self.run_sync().await,
            SendMode::Async => self.run_async().await,
        };
        ProduceOutcome {
            elapsed: start.elapsed(),
            ..outcome
        }
    }

    /// Messages of the next send (0 when this task is done).
    fn next_chunk(&self, issued: u64) -> u64 {
        let plan = &self.plan;
        if plan.stop.is_triggered() || plan.deadline.is_some_and(|d| Instant::now() >= d) {
            return 0;
        }
        let left = self.quota.map_or(u64::MAX, |q| q.saturating_sub(issued));
        left.min(plan.settings.batch as u64)
    }

    async fn pace(&mut self, messages: u64) {
        if let Some(pacer) = &mut self.pacer {
            let wait = pacer.reserve(messages, Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }

    fn messages(&mut self, count: u64) -> Vec<Message> {
        let size = self.plan.settings.size;
        let timer = self.plan.settings.timer;
        (0..count)
            .map(|_| {
                let now = stamp::now_micros();
                self.sent += 1;
                let topic = &self.plan.topics[self.sent as usize % self.plan.topics.len()];
                let Some((delay, spread)) = timer else {
                    return Message::new(topic.clone(), stamp::body(size, now, self.plan.run_id));
                };
                let due_ms = now / 1000 + delay + self.sent % spread.max(1);
                let body = stamp::body(size, due_ms * 1000, self.plan.run_id);
                Message::new(topic.clone(), body)
                    .with_property("TIMER_DELIVER_MS", due_ms.to_string())
            })
            .collect()
    }

    async fn run_sync(mut self) -> ProduceOutcome {
        let mut outcome = ProduceOutcome::default();
        let mut issued = 0;
        loop {
            let n = self.next_chunk(issued);
            if n == 0 {
                break;
            }
            self.pace(n).await;
            let mut msgs = self.messages(n);
            let bytes = n * self.plan.settings.size as u64;
            let started = Instant::now();
            let result = if self.plan.settings.batch > 1 {
                self.producer.send_batch(msgs).await
            } else {
                match msgs.pop() {
                    Some(msg) => self.producer.send(msg).await,
                    None => break,
                }
            };
            let result = judge(result);
            self.count(n, bytes, &result);
            outcome.record(started.elapsed(), n, bytes, result);
            issued += n;
        }
        outcome
    }

    async fn run_async(mut self) -> ProduceOutcome {
        let window = self.plan.settings.in_flight;
        let (tx, mut rx) = mpsc::channel::<Completion>(window);
        let mut outcome = ProduceOutcome::default();
        let (mut issued, mut outstanding) = (0, 0usize);
        loop {
            while let Ok(done) = rx.try_recv() {
                outstanding -= 1;
                outcome.record(done.took, done.messages, done.bytes, done.result);
            }
            if outstanding >= window {
                match tokio::time::timeout(COMPLETION_WAIT, rx.recv()).await {
                    Ok(Some(done)) => {
                        outstanding -= 1;
                        outcome.record(done.took, done.messages, done.bytes, done.result);
                        continue;
                    }
                    Ok(None) | Err(_) => {
                        lost(&mut outcome, outstanding);
                        outstanding = 0;
                        break;
                    }
                }
            }
            let n = self.next_chunk(issued);
            if n == 0 {
                break;
            }
            self.pace(n).await;
            self.issue(n, tx.clone());
            issued += n;
            outstanding += 1;
        }
        drop(tx);
        while outstanding > 0 {
            match tokio::time::timeout(COMPLETION_WAIT, rx.recv()).await {
                Ok(Some(done)) => {
                    outstanding -= 1;
                    outcome.record(done.took, done.messages, done.bytes, done.result);
                }
                Ok(None) | Err(_) => {
                    lost(&mut outcome, outstanding);
                    break;
                }
            }
        }
        outcome
    }

    /// Starts one send of `n` messages; its outcome arrives on `tx`.
    fn issue(&mut self, n: u64, tx: mpsc::Sender<Completion>) {
        let mut msgs = self.messages(n);
        let bytes = n * self.plan.settings.size as u64;
        let counters = Arc::clone(&self.plan.counters);
        let started = Instant::now();
        let report = move |result: apogee_client::Result<SendResult>| {
            let took = started.elapsed();
            let result = judge(result);
            count(&counters, n, bytes, &result);
            // Never full: the task keeps at most `in_flight` (the capacity) outstanding.
            let _ = tx.try_send(Completion {
                took,
                messages: n,
                bytes,
                result,
            });
        };
        if self.plan.settings.batch > 1 {
            let producer = self.producer.clone();
            tokio::spawn(async move { report(producer.send_batch(msgs).await) });
        } else if let Some(msg) = msgs.pop() {
            self.producer.send_with_callback(msg, report);
        }
    }

    fn count(&self, n: u64, bytes: u64, result: &Result<(), String>) {
        count(&self.plan.counters, n, bytes, result);
    }
}

/// A send counts as done only when the broker stored it with SEND_OK; a flush or replica
/// timeout is tallied as an error of its own kind.
fn judge(result: apogee_client::Result<SendResult>) -> Result<(), String> {
    match result {
        Ok(r) if r.status == SendStatus::SendOk => Ok(()),
        Ok(r) => Err(format!("status {:?}", r.status)),
        Err(e) => Err(error_kind(&e)),
    }
}

fn count(counters: &Counters, n: u64, bytes: u64, result: &Result<(), String>) {
    match result {
        Ok(()) => counters.add_sent(n, bytes),
        Err(_) => counters.add_errors(n),
    }
}

/// Sends that never reported back within [`COMPLETION_WAIT`].
fn lost(outcome: &mut ProduceOutcome, outstanding: usize) {
    let kind = format!("no outcome within {} s", COMPLETION_WAIT.as_secs());
    outcome.errors.add(kind, outstanding as u64);
}

/// The topics a run sends to: `topic` itself, or the `count` names `bench topics` created.
pub(crate) fn topic_names(topic: &str, count: usize) -> Vec<String> {
    if count <= 1 {
        return vec![topic.to_owned()];
    }
    (0..count)
        .map(|i| crate::topics::topic_name(topic, i))
        .collect()
}
