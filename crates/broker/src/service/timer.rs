//! Timer messages (REMOTING.md §6.7): a send with `TIMER_DELIVER_MS`, `TIMER_DELAY_SEC`,
//! `TIMER_DELAY_MS` or `__STARTDELIVERTIME` is stored on `rmq_sys_wheel_timer` queue 0 with its
//! fire time in `TIMER_OUT_MS` (`ops::redirect`). This service enqueues each such message into
//! the timer log and an in-memory pending set ordered by fire time, and at that millisecond
//! copies it to its real topic and queue, keeping its `UNIQ_KEY` (so its msgId) and adding
//! `TIMER_ENQUEUE_MS` / `TIMER_DEQUEUE_MS`. A message carrying `TIMER_DEL_UNIQKEY =
//! {topic}+{uniqKey}` cancels that timer.
//!
//! Crash safety: `config/timercheck` records the timer-log position, the queue offset enqueued
//! and a time before which every timer was delivered; it is written only once the CommitLog
//! holds every enqueued and delivered record durably. A restart rebuilds the pending set from
//! the log up to that position and re-reads the queue from that offset, so nothing acknowledged
//! is lost; a timer delivered just before a crash may be delivered again (at least once, as
//! RocketMQ).
//!
//! Unlike RocketMQ's wheel (1 s slots, fire times rounded down, so up to a second early, and
//! rolled every two days), the fire time is kept to the millisecond and never early; the loop
//! sleeps until the next one is due or a timer message arrives.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apogee_model::DataVersion;
use apogee_runtime::{Clock, Shutdown};
use apogee_store::MessageStore;
use apogee_store::timer::{CheckpointFile, TimerCheckpoint};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::timer_state::{QUEUE, TimerCounters, TimerState};
use crate::config::TimerLimits;
use crate::{BrokerError, persist};

/// Longest sleep between passes (a checkpoint waiting for the CommitLog's flush retries).
const TICK: Duration = Duration::from_millis(100);
/// Most timers one pass delivers (the rest go on the next, at once).
const PASS_MAX: usize = 8192;
/// Most enqueue-and-deliver rounds in one pass.
const PASS_ROUNDS_MAX: usize = 32;

/// What runtime info and GET_TIMER_METRICS report.
#[derive(Debug, Clone, Default)]
pub struct TimerView {
    pub pending: usize,
    /// Timer messages stored but not yet enqueued.
    pub offset_behind: i64,
    /// How far delivery is behind now (0 when nothing is overdue), ms.
    pub read_behind_ms: i64,
    pub counters: TimerCounters,
}

/// `config/timermetrics` (Java's `TimerMetricsSerializeWrapper`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct MetricsDocument {
    data_version: DataVersion,
    timing_count: BTreeMap<String, Metric>,
}

impl MetricsDocument {
    /// Pending timers per topic, stamped `now_ms`.
    fn of(per_topic: &BTreeMap<String, i64>, now_ms: i64) -> Self {
        let metric = |count: i64| Metric {
            count,
            time_stamp: now_ms,
        };
        Self {
            data_version: DataVersion::new(now_ms),
            timing_count: per_topic
                .iter()
                .map(|(topic, count)| (topic.clone(), metric(*count)))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Metric {
    count: i64,
    time_stamp: i64,
}

/// The timer service.
pub struct TimerService {
    store: Arc<MessageStore>,
    clock: Arc<dyn Clock>,
    store_host: SocketAddr,
    limits: TimerLimits,
    /// Recovered when the service starts running (a master), dropped when it stops.
    state: Mutex<Option<TimerState>>,
    checkpoint_file: CheckpointFile,
    log_dir: PathBuf,
    metrics_path: PathBuf,
    arrived: Arc<Notify>,
    /// What `figures` answered last (given while a pass holds the state).
    last_figures: Mutex<(TimerView, Vec<(String, i64)>)>,
    /// Set from the start of `run` (before recovery) to its end: a master's timer store is
    /// never replaced by a copied checkpoint.
    running: std::sync::atomic::AtomicBool,
}

impl TimerService {
    /// The service over the timer store under the store root (`timerlog/`) and `config_dir`;
    /// it recovers when it starts running.
    pub fn load(
        store: Arc<MessageStore>,
        clock: Arc<dyn Clock>,
        config_dir: &std::path::Path,
        limits: TimerLimits,
        store_host: SocketAddr,
    ) -> Result<Self, BrokerError> {
        let checkpoint_file = CheckpointFile::new(config_dir);
        checkpoint_file
            .load()
            .map_err(|e| BrokerError::Config(format!("timer checkpoint: {e}")))?;
        let metrics_path = config_dir.join("timermetrics");
        let log_dir = store.config().root.join("timerlog");
        let arrived = Arc::new(Notify::new());
        let notify = Arc::clone(&arrived);
        store.add_arrival_listener(Arc::new(move |d| {
            if d.topic == QUEUE.topic {
                notify.notify_one();
            }
        }));
        Ok(Self {
            store,
            clock,
            store_host,
            limits,
            state: Mutex::new(None),
            checkpoint_file,
            log_dir,
            metrics_path,
            arrived,
            last_figures: Mutex::default(),
            running: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Rebuilds the pending set from the timer store (at start, and when a slave becomes
    /// master).
    pub fn recover(&self) -> Result<(), BrokerError> {
        let per_topic = persist::load_json::<MetricsDocument>(&self.metrics_path)?
            .unwrap_or_default()
            .timing_count
            .into_iter()
            .map(|(topic, m)| (topic, m.count))
            .filter(|(_, count)| *count > 0)
            .collect();
        let state = TimerState::recover(
            &self.store,
            (&self.log_dir, self.limits.log_file_bytes),
            &self.checkpoint_file,
            per_topic,
        )?;
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = Some(state);
        Ok(())
    }

    /// Recovers, then enqueues and delivers until `shutdown`; checkpoints as it goes and once
    /// more at the end.
    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        self.running
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let service = Arc::clone(&self);
        match tokio::task::spawn_blocking(move || service.recover()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "timer store not recovered; timer messages wait");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "timer recovery panicked");
                return;
            }
        }
        loop {
            let service = Arc::clone(&self);
            let pass = tokio::task::spawn_blocking(move || service.pass());
            let next_due = match pass.await {
                Ok(Ok(next)) => next,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "timer pass failed; retrying");
                    None
                }
                Err(e) => {
                    tracing::error!(error = %e, "timer pass panicked");
                    None
                }
            };
            let now = self.clock.now_ms();
            let sleep = next_due.map_or(TICK, |due| {
                Duration::from_millis(u64::try_from(due.saturating_sub(now)).unwrap_or(0)).min(TICK)
            });
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                () = self.arrived.notified() => {}
                () = shutdown.wait() => break,
            }
        }
        let service = Arc::clone(&self);
        let _ = tokio::task::spawn_blocking(move || {
            // Give the CommitLog's flush a moment, so the final checkpoint can be written.
            let needs = service.lock().as_ref().map_or(0, |s| s.needs_durable);
            service.store.wait_on_disk(needs, Duration::from_secs(2));
            if let Err(e) = service.checkpoint_now() {
                tracing::warn!(error = %e, "final timer checkpoint failed");
            }
            *service.lock() = None;
            service
                .running
                .store(false, std::sync::atomic::Ordering::SeqCst);
        })
        .await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<TimerState>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slave takes its master's checkpoint (GET_TIMER_CHECK_POINT) and drops its own timer
    /// log, so once promoted it rebuilds the timers from the replicated timer queue.
    pub fn adopt(&self, bytes: &[u8]) -> Result<(), BrokerError> {
        // The lock is held throughout, so a promotion's recovery cannot start in between.
        let guard = self.lock();
        if guard.is_some() || self.running.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        let checkpoint = TimerCheckpoint::decode(bytes).ok_or_else(|| {
            BrokerError::SystemError(format!("a timer checkpoint of {} bytes", bytes.len()))
        })?;
        let io = |e: std::io::Error| BrokerError::SystemError(format!("timer store: {e}"));
        if self.log_dir.exists() {
            std::fs::remove_dir_all(&self.log_dir).map_err(io)?;
        }
        self.checkpoint_file.save(&checkpoint).map_err(io)
    }

    /// One pass: enqueue what arrived, deliver what is due, checkpoint; returns when the next
    /// timer is due.
    pub fn pass(&self) -> Result<Option<i64>, BrokerError> {
        let mut guard = self.lock();
        let Some(state) = guard.as_mut() else {
            return Ok(None);
        };
        let mut delivered = 0;
        // Bounded, so a long backlog never holds the state for long; the next pass goes on.
        for _ in 0..PASS_ROUNDS_MAX {
            let now = self.clock.now_ms();
            let limits = (self.limits.pending_max, self.limits.roll_window_ms);
            let enqueued = state.enqueue(&self.store, limits, now)?;
            let sent = state.deliver(&self.store, now, PASS_MAX - delivered, self.store_host)?;
            delivered += sent;
            if (enqueued == 0 && sent == 0) || delivered >= PASS_MAX {
                break;
            }
        }
        state.counters.sample(self.clock.now_ms());
        self.checkpoint_locked(state)?;
        Ok(state.pending.next_due())
    }

    /// Writes the checkpoint (and the metrics file) if the CommitLog allows it now.
    pub fn checkpoint_now(&self) -> Result<bool, BrokerError> {
        match self.lock().as_mut() {
            Some(state) => self.checkpoint_locked(state),
            None => Ok(false),
        }
    }

    fn checkpoint_locked(&self, state: &mut TimerState) -> Result<bool, BrokerError> {
        let now = self.clock.now_ms();
        let saved = state.checkpoint(&self.store, &self.checkpoint_file, now)?;
        if saved {
            let doc = MetricsDocument::of(&state.per_topic, now);
            persist::write_json(&self.metrics_path, &doc, &["timingCount"])?;
        }
        Ok(saved)
    }

    /// The last checkpoint written (GET_TIMER_CHECK_POINT): the running state's, or the file's.
    pub fn checkpoint(&self) -> Result<TimerCheckpoint, BrokerError> {
        if let Some(state) = self.lock().as_ref() {
            return Ok(state.checkpoint);
        }
        self.checkpoint_file
            .load()
            .map_err(|e| BrokerError::SystemError(format!("timer checkpoint: {e}")))
    }

    /// `config/timermetrics` as Java writes it (GET_TIMER_METRICS).
    pub fn metrics_json(&self) -> Vec<u8> {
        let per_topic: BTreeMap<String, i64> = self.figures().1.into_iter().collect();
        let doc = MetricsDocument::of(&per_topic, self.clock.now_ms());
        apogee_protocol::fastjson::to_json(
            &doc,
            apogee_protocol::fastjson::JsonStyle::Legacy,
            &["timingCount"],
        )
    }

    /// Pending timers per real topic.
    pub fn pending_per_topic(&self) -> Vec<(String, i64)> {
        self.figures().1
    }

    /// Figures for runtime info and metrics.
    pub fn view(&self) -> TimerView {
        self.figures().0
    }

    /// The figures now, or as the last reader saw them when a pass holds the state: the
    /// callers run on async workers and must not wait for a pass's appends and fsyncs.
    fn figures(&self) -> (TimerView, Vec<(String, i64)>) {
        let guard = match self.state.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                return self
                    .last_figures
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
            }
        };
        let Some(state) = guard.as_ref() else {
            return (TimerView::default(), Vec::new());
        };
        let now = self.clock.now_ms();
        let max = self.store.max_offset_in_queue(QUEUE.topic, QUEUE.queue_id);
        let view = TimerView {
            pending: state.pending.len(),
            offset_behind: (max - state.enqueue_offset).max(0),
            read_behind_ms: state
                .pending
                .next_due()
                .map_or(0, |due| now.saturating_sub(due).max(0)),
            counters: state.counters,
        };
        let per_topic = state
            .per_topic
            .iter()
            .map(|(t, c)| (t.clone(), *c))
            .collect();
        let figures = (view, per_topic);
        *self
            .last_figures
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = figures.clone();
        figures
    }
}
