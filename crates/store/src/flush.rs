//! Flushing: makes the CommitLog durable (async on a timer, or sync with group commit) and
//! periodically flushes the derived stores and records both positions in the checkpoint.
//!
//! Group commit: appenders publish the offset they need; the flush thread fsyncs once for
//! everything appended so far and wakes every waiter whose offset is now covered.
//!
//! A failed msync is never retried into a false success (Linux reports a lost write-back once
//! and then marks the pages clean): the first failure is kept, every waiter is answered with
//! it, and the store refuses further appends until it is restarted.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use apogee_runtime::Clock;
use tokio::sync::watch;

use crate::checkpoint::Checkpoint;
use crate::commit_log::CommitLog;
use crate::config::FlushMode;
use crate::dispatch::Reput;

const PAGE_BYTES: i64 = 4096;
/// How often consume queues and the checkpoint are flushed (Java: 1 s).
const DERIVED_FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// How often that flush is complete even with many queues written to (Java: 60 s); a crash
/// replays dispatch from the last complete one.
const DERIVED_THOROUGH_INTERVAL: Duration = Duration::from_secs(10);

/// Shared flush state.
pub struct Flusher {
    commit_log: Arc<CommitLog>,
    reput: Arc<Reput>,
    mode: FlushMode,
    checkpoint_path: PathBuf,
    checkpoint: Mutex<Checkpoint>,
    requested: (Mutex<i64>, Condvar),
    durable_tx: watch::Sender<i64>,
    durable: (Mutex<i64>, Condvar),
    clock: Arc<dyn Clock>,
    /// The first flush failure; once set, nothing more counts as durable.
    failure: Mutex<Option<String>>,
    failed: AtomicBool,
    /// Bumped by every [`rewind_to`](Flusher::rewind_to): a flush of derived data that saw
    /// the log before a rewind must not record positions from before it.
    rewinds: std::sync::atomic::AtomicU64,
}

/// How a wait for durability ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Durable,
    TimedOut,
    /// A flush failed: the bytes may never reach the disk.
    Failed,
}

impl Flusher {
    pub fn new(
        commit_log: Arc<CommitLog>,
        reput: Arc<Reput>,
        mode: FlushMode,
        checkpoint_path: PathBuf,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let start = commit_log.max_offset();
        let mut checkpoint = Checkpoint::load(&checkpoint_path).unwrap_or_default();
        // Recovery's end is where the last valid record ends.
        checkpoint.boundary_offset = start;
        Self {
            commit_log,
            reput,
            mode,
            checkpoint_path,
            checkpoint: Mutex::new(checkpoint),
            requested: (Mutex::new(start), Condvar::new()),
            durable_tx: watch::Sender::new(start),
            durable: (Mutex::new(start), Condvar::new()),
            clock,
            failure: Mutex::new(None),
            failed: AtomicBool::new(false),
            rewinds: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The first flush failure, if one happened.
    pub fn failure(&self) -> Option<String> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn fail(&self, error: &std::io::Error) {
        let mut failure = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        if failure.is_none() {
            tracing::error!(error = %error, "commit log flush failed: writes stop until restart; nothing unsynced counts as durable");
            *failure = Some(error.to_string());
        }
        self.failed.store(true, Ordering::Release);
        drop(failure);
        self.durable_tx.send_modify(|_| {});
        let (lock, cv) = &self.durable;
        let _guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        cv.notify_all();
    }

    /// Offset up to which the CommitLog is durable.
    pub fn durable_offset(&self) -> i64 {
        *self
            .durable
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks for everything up to `offset` to be flushed (sync mode wakes the thread).
    pub fn request(&self, offset: i64) {
        let (lock, cv) = &self.requested;
        let mut requested = lock.lock().unwrap_or_else(PoisonError::into_inner);
        if offset > *requested {
            *requested = offset;
            cv.notify_one();
        }
    }

    /// Wakes the thread (shutdown).
    pub fn wake(&self) {
        self.requested.1.notify_all();
    }

    fn outcome(&self, durable: i64, offset: i64) -> Durability {
        if durable >= offset {
            Durability::Durable
        } else if self.failed.load(Ordering::Acquire) {
            Durability::Failed
        } else {
            Durability::TimedOut
        }
    }

    /// Waits (async) until `offset` is durable, a flush fails, or `timeout` passes.
    pub async fn wait_durable(&self, offset: i64, timeout: Duration) -> Durability {
        self.request(offset);
        let mut rx = self.durable_tx.subscribe();
        let failed = &self.failed;
        let _ = tokio::time::timeout(
            timeout,
            rx.wait_for(|d| *d >= offset || failed.load(Ordering::Acquire)),
        )
        .await;
        let durable = *rx.borrow();
        self.outcome(durable, offset)
    }

    /// Waits (blocking the thread) until `offset` is durable, a flush fails, or `timeout`.
    pub fn wait_durable_blocking(&self, offset: i64, timeout: Duration) -> Durability {
        self.request(offset);
        let (lock, cv) = &self.durable;
        let guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = cv
            .wait_timeout_while(guard, timeout, |durable| {
                *durable < offset && !self.failed.load(Ordering::Acquire)
            })
            .unwrap_or_else(PoisonError::into_inner);
        self.outcome(*guard, offset)
    }

    fn flush_commit_log(&self) {
        if self.failed.load(Ordering::Acquire) {
            return;
        }
        match self.commit_log.files().flush() {
            Ok(durable) => {
                self.durable_tx.send_replace(durable);
                let (lock, cv) = &self.durable;
                *lock.lock().unwrap_or_else(PoisonError::into_inner) = durable;
                cv.notify_all();
            }
            Err(e) => self.fail(&e),
        }
    }

    /// Flushes every dispatcher (consume queues, index) and records the durable CommitLog
    /// and dispatch positions in the checkpoint.
    pub fn flush_derived(&self) -> bool {
        self.flush_derived_with(true)
    }

    /// [`flush_derived`](Self::flush_derived), or with `thorough` false the periodic flush,
    /// which may leave consume queues partly unflushed (many queues written to at once); the
    /// checkpoint's dispatch position then stays where the last complete flush left it.
    fn flush_derived_with(&self, thorough: bool) -> bool {
        let rewinds = self.rewinds.load(Ordering::Acquire);
        let dispatched = self.reput.settled_offset();
        let flushed = if thorough {
            self.reput.flush_dispatchers().map(|()| true)
        } else {
            self.reput.flush_dispatchers_some()
        };
        let complete = match flushed {
            Ok(complete) => complete,
            Err(e) => {
                tracing::error!(error = %e, "flushing consume queues and index failed");
                return false;
            }
        };
        let mut checkpoint = self
            .checkpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        checkpoint.flushed_offset = self.durable_offset();
        if self.rewinds.load(Ordering::Acquire) != rewinds {
            // The log was cut while this flush ran: `dispatched` may lie above the cut.
            return false;
        }
        if complete {
            checkpoint.dispatched_offset = dispatched.min(checkpoint.flushed_offset);
        }
        // Dispatch stops only between records, so a dispatched offset that is durable is a
        // record boundary (a slave's durable offset may fall inside a record).
        checkpoint.boundary_offset = if dispatched <= checkpoint.flushed_offset {
            dispatched
        } else if checkpoint.boundary_offset <= checkpoint.flushed_offset {
            checkpoint.boundary_offset
        } else {
            0
        };
        let now = self.clock.now_ms();
        checkpoint.physic_msg_timestamp = now;
        checkpoint.logics_msg_timestamp = now;
        if let Err(e) = checkpoint.store(&self.checkpoint_path) {
            tracing::error!(error = %e, "checkpoint write failed");
            return false;
        }
        complete
    }

    /// The log was cut back to `end` (a record boundary): nothing above it is durable,
    /// dispatched or a record boundary any more, and bytes written there later are new.
    pub fn rewind_to(&self, end: i64) {
        let mut checkpoint = self
            .checkpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.rewinds.fetch_add(1, Ordering::AcqRel);
        checkpoint.boundary_offset = checkpoint.boundary_offset.min(end);
        checkpoint.flushed_offset = checkpoint.flushed_offset.min(end);
        checkpoint.dispatched_offset = checkpoint.dispatched_offset.min(end);
        {
            let (lock, _) = &self.durable;
            let mut durable = lock.lock().unwrap_or_else(PoisonError::into_inner);
            *durable = (*durable).min(end);
            self.durable_tx.send_replace(*durable);
        }
        let (lock, _) = &self.requested;
        let mut requested = lock.lock().unwrap_or_else(PoisonError::into_inner);
        *requested = (*requested).min(end);
    }

    /// Final flush on shutdown; whether the derived stores and the checkpoint were written.
    pub fn flush_all(&self) -> bool {
        self.flush_commit_log();
        self.flush_derived()
    }

    pub fn spawn(
        self: Arc<Self>,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("apogee-flush".into())
            .spawn(move || self.run(&stop))
    }

    fn run(&self, stop: &AtomicBool) {
        let mut last_derived = Instant::now();
        let mut last_thorough = Instant::now();
        let mut last_flush = Instant::now();
        while !stop.load(Ordering::Acquire) {
            match self.mode {
                FlushMode::Sync { .. } => {
                    let (lock, cv) = &self.requested;
                    let requested = lock.lock().unwrap_or_else(PoisonError::into_inner);
                    let durable = self.durable_offset();
                    let (requested, _) = cv
                        .wait_timeout_while(requested, Duration::from_millis(10), |r| {
                            *r <= durable || self.failed.load(Ordering::Acquire)
                        })
                        .unwrap_or_else(PoisonError::into_inner);
                    let pending = *requested > durable;
                    drop(requested);
                    if pending {
                        self.flush_commit_log();
                    }
                }
                FlushMode::Async {
                    interval,
                    min_pages,
                    thorough_interval,
                } => {
                    let (lock, cv) = &self.requested;
                    let guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
                    let (guard, _) = cv
                        .wait_timeout(guard, interval)
                        .unwrap_or_else(PoisonError::into_inner);
                    let requested = *guard;
                    drop(guard);
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    let durable = self.durable_offset();
                    let dirty = self.commit_log.max_offset() - durable;
                    let pages = i64::try_from(min_pages).unwrap_or(i64::MAX);
                    // Besides the page and time thresholds, an explicit request (derived
                    // state that must not get ahead of the log) is served at the next tick.
                    if dirty >= pages * PAGE_BYTES
                        || (dirty > 0 && last_flush.elapsed() >= thorough_interval)
                        || requested > durable
                    {
                        self.flush_commit_log();
                        last_flush = Instant::now();
                    }
                }
            }
            if last_derived.elapsed() >= DERIVED_FLUSH_INTERVAL {
                let thorough = last_thorough.elapsed() >= DERIVED_THOROUGH_INTERVAL;
                self.flush_derived_with(thorough);
                last_derived = Instant::now();
                if thorough {
                    last_thorough = last_derived;
                }
            }
        }
    }
}
