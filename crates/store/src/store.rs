//! `MessageStore`: opens (and recovers) a store directory, appends, reads, and shuts down
//! cleanly. The broker talks to the store only through this type.
//!
//! Start-up: lock → detect crash (`abort` file) → CommitLog recovery from the checkpoint's
//! durable offset (CRC-checked; a cut keeps the bytes in `quarantine/`) → consume queues cut
//! back to the CommitLog end → replay dispatch from the checkpoint's dispatched offset →
//! restore queue offsets → start the reput, flush, retention and allocator threads → write
//! `abort`. Clean shutdown flushes and removes `abort`.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;

use apogee_protocol::record::StoredRecord;
use apogee_runtime::Clock;
use bytes::Bytes;

use crate::StoreError;
use crate::checkpoint::Checkpoint;
use crate::cleaner::{CleanReport, Cleaner, spawn_allocator};
use crate::commit_log::{AppendOutcome, CommitLog};
use crate::config::{FlushMode, StoreConfig};
use crate::consume_queue::{ConsumeQueueStore, QueueRecovery};
use crate::dispatch::{ArrivalListener, ConsumeQueueDispatcher, Dispatcher, Reput};
use crate::flush::{Durability, Flusher};
use crate::index::IndexService;
use crate::io::FileIo;
use crate::quarantine::Quarantine;
use crate::read::{GetMessageResult, get_messages};
use crate::recovery::RecoveryReport;
use crate::retention::DiskGuard;

/// Whether an acknowledged append met its durability promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutStatus {
    /// Stored (and, under SYNC_FLUSH, fsynced).
    Ok,
    /// Stored, but the sync flush did not finish within its timeout (FLUSH_DISK_TIMEOUT).
    FlushDiskTimeout,
    /// Stored in memory, but a flush failed: it may never reach the disk, and the store now
    /// refuses writes.
    FlushFailed,
}

/// What is wrong with the store, if anything (runtime info shows it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreHealth {
    /// What start-up recovery found (a cut, and where its bytes were kept).
    pub recovery: RecoveryReport,
    /// Records the reput skipped because they do not decode.
    pub corrupt_records: u64,
    /// Records a dispatcher refused (invalid name, damaged header) or panicked on.
    pub dispatch_errors: u64,
    /// Records waiting for a consume queue that cannot be written yet.
    pub deferred_records: usize,
    pub last_dispatch_error: Option<String>,
    /// Set once a flush failed; the store refuses writes from then on.
    pub flush_failure: Option<String>,
}

/// An open store.
pub struct MessageStore {
    config: StoreConfig,
    commit_log: Arc<CommitLog>,
    queues: Arc<ConsumeQueueStore>,
    index: Arc<IndexService>,
    reput: Arc<Reput>,
    flusher: Arc<Flusher>,
    guard: Arc<DiskGuard>,
    cleaner: Arc<Cleaner>,
    clock: Arc<dyn Clock>,
    stop: Arc<AtomicBool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    lock: File,
    abort_path: PathBuf,
    recovered_after_crash: bool,
    recovery: RecoveryReport,
    hot_read_bytes: i64,
    /// The CommitLog's end after each append (replication's writers wait on it).
    appended: tokio::sync::watch::Sender<i64>,
    /// CommitLog writes so far (one per append, one per combined append).
    writes: std::sync::atomic::AtomicU64,
}

impl MessageStore {
    /// Opens `config.root`, recovering it if the last run did not shut down cleanly.
    /// `dispatchers` are added after the consume-queue dispatcher.
    pub fn open(
        config: StoreConfig,
        clock: Arc<dyn Clock>,
        dispatchers: Vec<Arc<dyn Dispatcher>>,
    ) -> Result<Self, StoreError> {
        Self::open_with_io(config, clock, dispatchers, FileIo::default())
    }

    /// [`open`](Self::open) with the file operations going through `io` (tests record or
    /// fail them).
    pub fn open_with_io(
        config: StoreConfig,
        clock: Arc<dyn Clock>,
        dispatchers: Vec<Arc<dyn Dispatcher>>,
        io: FileIo,
    ) -> Result<Self, StoreError> {
        let root = config.root.clone();
        std::fs::create_dir_all(&root).map_err(StoreError::io(root.display().to_string()))?;
        let lock = lock_root(&root)?;
        let abort_path = root.join("abort");
        let crashed = abort_path.exists();
        let Recovered {
            commit_log,
            queues,
            index,
            reput,
            report,
        } = recover(&config, &clock, dispatchers, crashed, &io)?;
        std::fs::write(&abort_path, std::process::id().to_string())
            .map_err(StoreError::io(abort_path.display().to_string()))?;
        let flusher = Arc::new(Flusher::new(
            Arc::clone(&commit_log),
            Arc::clone(&reput),
            config.flush,
            root.join("checkpoint"),
            Arc::clone(&clock),
        ));
        let guard = Arc::new(DiskGuard::new(&root, config.retention.reject_ratio));
        guard.measure(clock.now_ms());
        let cleaner = Arc::new(Cleaner {
            retention: RwLock::new(config.retention.clone()),
            commit_log: Arc::clone(&commit_log),
            queues: Arc::clone(&queues),
            index: Arc::clone(&index),
            reput: Arc::clone(&reput),
            guard: Arc::clone(&guard),
            clock: Arc::clone(&clock),
            manual_passes: std::sync::atomic::AtomicU32::new(0),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let hot_read_bytes = config.hot_read_bytes();
        let threads = vec![
            Arc::clone(&reput)
                .spawn(Arc::clone(&stop))
                .map_err(StoreError::io("starting the reput thread"))?,
            Arc::clone(&flusher)
                .spawn(Arc::clone(&stop))
                .map_err(StoreError::io("starting the flush thread"))?,
            Arc::clone(&cleaner)
                .spawn(Arc::clone(&stop))
                .map_err(StoreError::io("starting the retention thread"))?,
            spawn_allocator(Arc::clone(&commit_log), Arc::clone(&stop))
                .map_err(StoreError::io("starting the allocator thread"))?,
        ];
        Ok(Self {
            config,
            commit_log,
            queues,
            index,
            reput,
            flusher,
            guard,
            cleaner,
            clock,
            stop,
            threads: Mutex::new(threads),
            lock,
            abort_path,
            recovered_after_crash: crashed,
            recovery: report,
            hot_read_bytes,
            appended: tokio::sync::watch::Sender::new(0),
            writes: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// What start-up recovery found and what has gone wrong since.
    pub fn health(&self) -> StoreHealth {
        let dispatch = self.reput.health();
        StoreHealth {
            recovery: self.recovery.clone(),
            corrupt_records: dispatch.corrupt_records.load(Ordering::Relaxed),
            dispatch_errors: dispatch.dispatch_errors.load(Ordering::Relaxed),
            deferred_records: self.reput.deferred_count(),
            last_dispatch_error: dispatch
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            flush_failure: self.flusher.failure(),
        }
    }

    /// Whether this open followed a crash (the `abort` file was present).
    pub fn recovered_after_crash(&self) -> bool {
        self.recovered_after_crash
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Registers a callback run after each record is dispatched.
    pub fn add_arrival_listener(&self, listener: ArrivalListener) {
        self.reput.add_listener(listener);
    }

    /// The retention settings in force (those of [`config`](Self::config) until
    /// [`update_retention`](Self::update_retention) changes them).
    pub fn retention(&self) -> crate::retention::RetentionConfig {
        self.cleaner.retention()
    }

    /// Changes the retention settings while the store runs: the next cleaning pass and the
    /// next disk measurement use them.
    pub fn update_retention(&self, retention: crate::retention::RetentionConfig) {
        self.guard.set_reject_ratio(retention.reject_ratio);
        *self
            .cleaner
            .retention
            .write()
            .unwrap_or_else(PoisonError::into_inner) = retention;
        self.guard.measure(self.clock.now_ms());
    }

    /// One retention pass now (also runs every `retention.check_interval` on its own);
    /// `manual` deletes expired files at any hour (TRIGGER_DELETE_FILES).
    pub fn clean_now(&self, manual: bool) -> Result<CleanReport, StoreError> {
        self.cleaner.clean(manual)
    }

    /// DELETE_EXPIRED_COMMITLOG: the retention thread's next passes (Java's 20, the first at
    /// once) delete expired files whatever the hour, as if `deleteWhen` had come.
    pub fn delete_expired_files_manually(&self) {
        self.cleaner.request_manual_passes();
    }

    /// Waits until `outcome` meets the flush mode's promise (async).
    pub async fn durable(&self, outcome: &AppendOutcome) -> PutStatus {
        match self.config.flush {
            FlushMode::Async { .. } => PutStatus::Ok,
            FlushMode::Sync { timeout } => {
                put_status(self.flusher.wait_durable(outcome.end_offset, timeout).await)
            }
        }
    }

    /// Waits until `outcome` meets the flush mode's promise (blocking the thread).
    pub fn durable_blocking(&self, outcome: &AppendOutcome) -> PutStatus {
        match self.config.flush {
            FlushMode::Async { .. } => PutStatus::Ok,
            FlushMode::Sync { timeout } => put_status(
                self.flusher
                    .wait_durable_blocking(outcome.end_offset, timeout),
            ),
        }
    }

    /// Whether the CommitLog is on disk up to `offset`, whatever the flush mode, waiting at
    /// most `timeout` (blocking; zero only asks the flusher and looks): derived state kept
    /// elsewhere (the timer checkpoint) must never claim more than the log holds, even under
    /// ASYNC_FLUSH, where the records it covers may be days old.
    pub fn wait_on_disk(&self, offset: i64, timeout: std::time::Duration) -> bool {
        self.flusher.wait_durable_blocking(offset, timeout) == crate::flush::Durability::Durable
    }

    /// The flush service (the capability layer's durability waits use it).
    pub(crate) fn flusher(&self) -> Arc<Flusher> {
        Arc::clone(&self.flusher)
    }

    /// Offset up to which the CommitLog is on disk.
    pub fn durable_offset(&self) -> i64 {
        self.flusher.durable_offset()
    }

    /// Next CommitLog offset the dispatcher will process.
    pub fn dispatched_offset(&self) -> i64 {
        self.reput.offset()
    }

    /// Reads up to `max_count` messages / `max_bytes` bytes from a queue; `filter` sees each
    /// unit's tags code and keeps the message when it returns true.
    pub fn get_messages(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        limits: (usize, usize),
        filter: Option<&dyn Fn(i64) -> bool>,
    ) -> GetMessageResult {
        let filter = crate::read::ReadFilter {
            tags: filter,
            record: None,
        };
        self.get_messages_filtered(topic, queue_id, offset, limits, filter)
    }

    /// [`get_messages`](Self::get_messages) keeping only what `filter` accepts.
    pub fn get_messages_filtered(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        limits: (usize, usize),
        filter: crate::read::ReadFilter<'_>,
    ) -> GetMessageResult {
        let Ok(queue) = self.queues.open_queue(topic, queue_id) else {
            return crate::read::unavailable(offset);
        };
        get_messages(&self.commit_log, queue.as_deref(), offset, limits, filter)
    }

    /// The queue's lowest and next offsets: `(0, 0)` for a queue that does not exist, and
    /// `QueueUnavailable` while it cannot be opened (its offsets are unknown then, not 0: a
    /// consumer starting from them would rewind to the start).
    pub fn queue_offset_range(&self, topic: &str, queue_id: i32) -> Result<(i64, i64), StoreError> {
        Ok(self
            .queues
            .open_queue(topic, queue_id)?
            .map_or((0, 0), |q| (q.min_offset(), q.max_offset())))
    }

    pub fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.queues
            .get(topic, queue_id)
            .map_or(0, |q| q.min_offset())
    }

    pub fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.queues
            .get(topic, queue_id)
            .map_or(0, |q| q.max_offset())
    }

    /// The record at a physical offset, as stored, without checks: for offsets the store
    /// itself produced (consume-queue units, append outcomes). Offsets from a client go
    /// through [`lookup_record`](Self::lookup_record).
    pub fn record_at(&self, commit_log_offset: i64) -> Option<StoredRecord> {
        self.commit_log.read_record(commit_log_offset)
    }

    /// Whether reading `queue` from `queue_offset` will likely touch the disk: its message
    /// lies further behind the newest than the page cache is expected to hold. Callers on an
    /// async worker run such reads on a blocking thread.
    pub fn is_cold(&self, topic: &str, queue_id: i32, queue_offset: i64) -> bool {
        let Some(unit) = self
            .queues
            .get(topic, queue_id)
            .and_then(|q| q.get(queue_offset))
        else {
            return false;
        };
        self.commit_log.max_offset() - unit.commit_log_offset > self.hot_read_bytes
    }

    /// The message stored at `commit_log_offset`, only if one really starts there: the bytes
    /// decode with a matching body CRC, name that offset as their own, and the consume queue
    /// of their topic and queue points back at it. Whatever a client names by offset
    /// (send-back, end-transaction, view by id) is looked up here, so forged bytes inside a
    /// message body are never taken for a message.
    pub fn lookup_record(&self, commit_log_offset: i64) -> Option<StoredRecord> {
        let header = self.commit_log.read(commit_log_offset, 4)?;
        let size = usize::try_from(i32::from_be_bytes([
            header[0], header[1], header[2], header[3],
        ]))
        .ok()?;
        let bytes = self.commit_log.read(commit_log_offset, size)?;
        let record = match apogee_protocol::record::decode_record(&bytes, 0, true) {
            Ok((apogee_protocol::record::RecordAt::Message(record), _)) => record,
            _ => return None,
        };
        if record.physical_offset != commit_log_offset {
            return None;
        }
        let dispatched = self.reput.offset();
        if commit_log_offset >= dispatched {
            // Not in its queue yet (dispatch runs behind appends): a record starts here only
            // if the walk over record boundaries from the dispatch position lands here.
            return self
                .commit_log
                .is_record_boundary(dispatched, commit_log_offset)
                .then_some(record);
        }
        let unit = self
            .queues
            .get(record.topic_str(), record.queue_id)?
            .get(record.queue_offset)?;
        (unit.commit_log_offset == commit_log_offset).then_some(record)
    }

    /// Deletes the consume queues of `topic` (DELETE_TOPIC), after dispatching everything
    /// stored so far, and forgets its queue offsets, so a topic created again under the same
    /// name starts empty. The checkpoint is written at once, so a restart does not replay the
    /// deleted topic's records into new queues.
    pub fn delete_topic(&self, topic: &str) -> Result<usize, StoreError> {
        let end = self.commit_log.max_offset();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.reput.offset() < end && std::time::Instant::now() < deadline {
            self.reput.wake();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let removed = self.queues.delete_topic(topic)?;
        self.commit_log.forget_topic(topic);
        self.flusher.flush_derived();
        Ok(removed)
    }

    /// CLEAN_EXPIRED_CONSUMEQUEUE: deletes the queues of topics `eligible` accepts whose every
    /// message has left the CommitLog (retention keeps a queue's last file; this frees it).
    /// The queue's offsets go on from where they were while the store runs; after a restart a
    /// queue deleted this way starts again at 0, as in RocketMQ. Returns how many queues went.
    pub fn clean_expired_queues(
        &self,
        eligible: impl Fn(&str) -> bool,
    ) -> Result<usize, StoreError> {
        let min = self.commit_log.min_offset();
        let mut removed = 0;
        for (topic, queue_id) in self.queues.names() {
            if !eligible(&topic) {
                continue;
            }
            let next = self.commit_log.next_queue_offset(&topic, queue_id);
            let keep = |max| self.commit_log.seed_queue_offset(&topic, queue_id, max);
            if self
                .queues
                .remove_if_expired((&topic, queue_id), min, next, keep)?
            {
                tracing::info!(topic, queue_id, "expired consume queue deleted");
                removed += 1;
            }
        }
        if removed > 0 {
            self.flusher.flush_derived();
        }
        Ok(removed)
    }

    /// CLEAN_UNUSED_TOPIC: deletes the consume queues of every topic `unused` accepts (those
    /// with no topic config, the broker decides); returns how many topics went.
    pub fn clean_unused_topics(&self, unused: impl Fn(&str) -> bool) -> Result<usize, StoreError> {
        let topics: std::collections::BTreeSet<String> =
            self.queues.names().into_iter().map(|(t, _)| t).collect();
        let mut removed = 0;
        for topic in topics.into_iter().filter(|t| unused(t)) {
            self.delete_topic(&topic)?;
            tracing::info!(topic, "unused topic's consume queues deleted");
            removed += 1;
        }
        Ok(removed)
    }

    /// Raw bytes of the record at a physical offset (what VIEW_MESSAGE_BY_ID returns).
    pub fn record_bytes_at(&self, commit_log_offset: i64, size: usize) -> Option<Bytes> {
        self.commit_log.read(commit_log_offset, size)
    }

    /// Up to `count` consume-queue units of a queue from `from`, with their queue offsets
    /// (QUERY_CONSUME_QUEUE); blank units are skipped.
    pub fn queue_units(
        &self,
        topic: &str,
        queue_id: i32,
        from: i64,
        count: usize,
    ) -> Vec<(i64, crate::consume_queue::CqUnit)> {
        let Some(queue) = self.queues.get(topic, queue_id) else {
            return Vec::new();
        };
        let end = queue
            .max_offset()
            .min(from.saturating_add(i64::try_from(count).unwrap_or(i64::MAX)));
        (from.max(0)..end)
            .filter_map(|offset| queue.get(offset).map(|unit| (offset, unit)))
            .filter(|(_, unit)| unit.size != i32::MAX)
            .collect()
    }

    /// Store time of the message at `queue_offset`.
    pub fn store_time_at(&self, topic: &str, queue_id: i32, queue_offset: i64) -> Option<i64> {
        let unit = self.queues.get(topic, queue_id)?.get(queue_offset)?;
        self.commit_log
            .read_record(unit.commit_log_offset)
            .map(|r| r.store_timestamp)
    }

    /// Smallest queue offset whose message was stored at or after `timestamp_ms` (the max
    /// offset if none was).
    pub fn offset_by_time(&self, topic: &str, queue_id: i32, timestamp_ms: i64) -> i64 {
        let (mut low, mut high) = (
            self.min_offset_in_queue(topic, queue_id),
            self.max_offset_in_queue(topic, queue_id),
        );
        while low < high {
            let mid = low + (high - low) / 2;
            match self.store_time_at(topic, queue_id, mid) {
                Some(time) if time >= timestamp_ms => high = mid,
                _ => low = mid + 1,
            }
        }
        low
    }

    /// Store time of the oldest message still in the CommitLog.
    pub fn earliest_message_time(&self) -> Option<i64> {
        self.commit_log
            .read_record(self.commit_log.min_offset())
            .map(|r| r.store_timestamp)
    }

    /// CommitLog offsets of `topic` messages whose key (a `KEYS` token or the `UNIQ_KEY`) is
    /// `key`, stored in `[begin_ms, end_ms]`; at most `max`. Collisions are possible: check
    /// the records' keys.
    pub fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> Vec<i64> {
        self.index.query(topic, key, max, begin_ms, end_ms)
    }

    /// How long the append in progress has held the CommitLog lock (0 when none is).
    pub fn append_lock_held_ms(&self) -> i64 {
        self.commit_log.lock_held_ms()
    }

    /// CommitLog writes since start: one per append, one per combined
    /// [`append_groups`](Self::append_groups) (messages / writes is how much sends were
    /// combined).
    pub fn commit_log_writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    pub fn commit_log_min_offset(&self) -> i64 {
        self.commit_log.min_offset()
    }

    pub fn commit_log_max_offset(&self) -> i64 {
        self.commit_log.max_offset()
    }

    /// Takes the next queue offsets from the consume queues: a replica's appends carry the
    /// master's queue offsets and do not move this log's own counters, so a replica promoted to
    /// master calls this (after dispatch caught up) before its first write.
    pub fn restore_queue_offsets(&self) {
        self.reput.paused(|| self.commit_log.clear_queue_offsets());
    }

    /// Cuts the CommitLog back to `offset` (a record boundary) with the queue units of the
    /// messages cut: a demoted master drops the tail its new master never had (controller
    /// mode). The caller fences appends first. Returns the new end.
    pub fn truncate_tail(&self, offset: i64) -> Result<i64, StoreError> {
        self.reput.paused(|| {
            // Every queue, opened or not (a queue opened later would only be cut to the end
            // recovery found, above this one), opened before the log is cut.
            let queues = self.queues.all()?;
            let end = self.commit_log.truncate_tail(offset)?;
            for (_, queue) in queues {
                queue.cut_to(end)?;
            }
            self.commit_log.clear_queue_offsets();
            self.reput.rewind_to(end);
            self.flusher.rewind_to(end);
            self.appended.send_replace(end);
            Ok(end)
        })
    }

    /// Stops the threads, flushes everything and marks the shutdown clean.
    pub fn shutdown(&self) {
        if self.stop.swap(true, Ordering::AcqRel) {
            return;
        }
        self.reput.wake();
        self.flusher.wake();
        for thread in self
            .threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            let _ = thread.join();
        }
        let dispatched = match self.reput.run_once() {
            Ok(_) => true,
            Err(e) => {
                tracing::error!(error = %e, "final dispatch failed; the next start will replay");
                false
            }
        };
        let flushed = self.flusher.flush_all();
        if self.flusher.failure().is_some() {
            tracing::error!("a flush failed while running: the next start runs crash recovery");
        } else if !(dispatched && flushed) {
            tracing::error!(
                "the final flush of consume queues or checkpoint failed: the next start runs crash recovery"
            );
        } else if let Err(e) = std::fs::remove_file(&self.abort_path) {
            tracing::warn!(error = %e, "cannot remove the abort file; the next start will run crash recovery");
        }
        let _ = self.lock.unlock();
    }
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub(crate) fn put_status(durability: Durability) -> PutStatus {
    match durability {
        Durability::Durable => PutStatus::Ok,
        Durability::TimedOut => PutStatus::FlushDiskTimeout,
        Durability::Failed => PutStatus::FlushFailed,
    }
}

/// What recovery hands to the running store.
struct Recovered {
    commit_log: Arc<CommitLog>,
    queues: Arc<ConsumeQueueStore>,
    index: Arc<IndexService>,
    reput: Arc<Reput>,
    report: RecoveryReport,
}

/// CommitLog recovery from the checkpoint, dispatch replayed (from the start when the
/// derived stores were deleted). Consume queues are cut back to the recovered end here after
/// a crash, each when first opened after a clean stop; a queue's next offset is taken from it
/// before its first append.
fn recover(
    config: &StoreConfig,
    clock: &Arc<dyn Clock>,
    dispatchers: Vec<Arc<dyn Dispatcher>>,
    crashed: bool,
    io: &FileIo,
) -> Result<Recovered, StoreError> {
    let checkpoint = Checkpoint::load(&config.root.join("checkpoint"))?;
    let quarantine = Quarantine::new(&config.root, io.clone());
    let commit_log = CommitLog::open(
        &config.commit_log_dir(),
        config.commit_log_file_bytes,
        config.record_bytes_max,
        Arc::clone(clock),
        (io, &quarantine),
    )?
    .with_prop_crc(config.append_prop_crc);
    let commit_log = Arc::new(commit_log);
    let report = recover_commit_log(&commit_log, &checkpoint, config, crashed)?;
    let end = report.end;
    let queues = Arc::new(ConsumeQueueStore::open(
        &config.consume_queue_dir(),
        config.consume_queue_units_per_file,
        (io, &quarantine),
        QueueRecovery {
            crashed,
            commit_log_end: end,
        },
    )?);
    queues.set_commit_log_min(commit_log.min_offset());
    let index = Arc::new(IndexService::open(
        &config.index_dir(),
        config.index,
        Arc::clone(clock),
        io.clone(),
    )?);
    let mut all: Vec<Arc<dyn Dispatcher>> = vec![
        Arc::new(ConsumeQueueDispatcher::new(Arc::clone(&queues))),
        Arc::clone(&index) as Arc<dyn Dispatcher>,
    ];
    all.extend(dispatchers);
    let derived_missing = queues.is_empty() && end > commit_log.min_offset();
    let reput_from = if derived_missing {
        commit_log.min_offset()
    } else {
        checkpoint.dispatched_offset
    };
    let reput_from = reput_from.min(end).max(commit_log.min_offset());
    let reput = Arc::new(Reput::new(
        Arc::clone(&commit_log),
        all,
        reput_from,
        config.tags_code.clone(),
    ));
    let replayed = reput.run_once()?;
    if crashed || replayed > 0 {
        tracing::warn!(crashed, end, replayed, "store recovered");
    }
    Ok(Recovered {
        commit_log,
        queues,
        index,
        reput,
        report,
    })
}

/// CommitLog recovery: records are checked from the last durable record boundary the
/// checkpoint names (after a clean shutdown: the end), else from the start of the last file.
fn recover_commit_log(
    commit_log: &CommitLog,
    checkpoint: &Checkpoint,
    config: &StoreConfig,
    crashed: bool,
) -> Result<RecoveryReport, StoreError> {
    let last_start = commit_log.files().last().map_or(0, |f| f.start_offset());
    let boundary = checkpoint.boundary_offset;
    let scan_from = if boundary > 0 && boundary <= checkpoint.flushed_offset {
        boundary
    } else {
        checkpoint.flushed_offset.min(last_start)
    };
    if crashed {
        let report = commit_log.recover(
            scan_from,
            config.check_crc_on_recover,
            checkpoint.flushed_offset,
        )?;
        // What recovery kept may be only in the page cache (a killed process): on disk before
        // the checkpoint names it durable.
        for file in commit_log.files().files().iter().rev().take(2) {
            file.sync_written()
                .map_err(StoreError::io("syncing the recovered commit log"))?;
        }
        Ok(report)
    } else {
        commit_log.recover_clean(
            scan_from,
            config.check_crc_on_recover,
            checkpoint.flushed_offset,
        )
    }
}

fn lock_root(root: &std::path::Path) -> Result<File, StoreError> {
    let path = root.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(StoreError::io(path.display().to_string()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
            path: root.display().to_string(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Io {
            what: path.display().to_string(),
            source: e,
        }),
    }
}

#[path = "store_append.rs"]
mod append;
#[path = "replica.rs"]
pub mod replica;
