//! The retention pass and its background thread: measures the disk, deletes what the rules
//! allow (expired files at `deleteWhen` hours — local time, as RocketMQ — or the oldest ones
//! when the disk is nearly full; `manual` deletes expired files at any hour), then drops
//! consume-queue and index files that only covered deleted data. Settings are read at every
//! pass, so they can change while the store runs.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::JoinHandle;

use apogee_runtime::Clock;

use crate::StoreError;
use crate::commit_log::CommitLog;
use crate::consume_queue::ConsumeQueueStore;
use crate::dispatch::Reput;
use crate::index::IndexService;
use crate::retention::{CleanDecision, DiskGuard, RetentionConfig, decide};

/// What a retention pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanReport {
    pub decision: CleanDecision,
    pub commit_log_files: usize,
    pub consume_queue_files: usize,
    pub index_files: usize,
}

/// Holds only what the retention pass touches.
pub(crate) struct Cleaner {
    pub(crate) retention: RwLock<RetentionConfig>,
    pub(crate) commit_log: Arc<CommitLog>,
    pub(crate) queues: Arc<ConsumeQueueStore>,
    pub(crate) index: Arc<IndexService>,
    pub(crate) reput: Arc<Reput>,
    pub(crate) guard: Arc<DiskGuard>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Passes left that delete expired files at any hour (DELETE_EXPIRED_COMMITLOG).
    pub(crate) manual_passes: AtomicU32,
}

/// How many passes one DELETE_EXPIRED_COMMITLOG makes manual (Java's
/// `MAX_MANUAL_DELETE_FILE_TIMES`).
const MANUAL_PASSES: u32 = 20;

/// The local hour of day of `now_ms` (the host's time zone, as Java's `Calendar`), UTC when the
/// zone cannot be read.
pub fn local_hour(now_ms: i64) -> u32 {
    use chrono::{Local, TimeZone, Timelike};
    Local.timestamp_millis_opt(now_ms).single().map_or_else(
        || u32::try_from(now_ms.rem_euclid(86_400_000) / 3_600_000).unwrap_or(0),
        |t| t.hour(),
    )
}

impl Cleaner {
    pub(crate) fn retention(&self) -> RetentionConfig {
        self.retention
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn clean(&self, manual: bool) -> Result<CleanReport, StoreError> {
        let retention = &self.retention();
        let now = self.clock.now_ms();
        let used = self.guard.measure(now);
        let decision = decide(retention, local_hour(now), used, manual);
        let reserved_ms = i64::try_from(retention.file_reserved_hours)
            .unwrap_or(i64::MAX / 3_600_001)
            .saturating_mul(3_600_000);
        let dispatched = self.reput.settled_offset();
        let file_size = i64::try_from(self.commit_log.files().file_size()).unwrap_or(i64::MAX);
        let mut deleted = 0usize;
        let mut budget = 10usize;
        let deletable =
            |file: &crate::mapped_file::MappedFile| file.start_offset() + file_size <= dispatched;
        let removed = match decision {
            CleanDecision::Nothing => Ok(0),
            CleanDecision::Expired => self.commit_log.files().delete_oldest_while(|file| {
                let expired = file
                    .modified_ms()
                    .is_some_and(|m| m.saturating_add(reserved_ms) <= now);
                let go = budget > 0 && expired && deletable(file);
                budget = budget.saturating_sub(1);
                go
            }),
            CleanDecision::Forcibly => self.commit_log.files().delete_oldest_while(|file| {
                let go = budget > 0
                    && deletable(file)
                    && (deleted == 0
                        || crate::retention::disk_usage(file.path()).unwrap_or(0.0)
                            > retention.force_clean_ratio);
                budget = budget.saturating_sub(1);
                deleted += usize::from(go);
                go
            }),
        }
        .map_err(StoreError::io("deleting commit-log files"))?;
        let min = self.commit_log.min_offset();
        // Queues not opened since start-up drop their expired files when they are.
        self.queues.set_commit_log_min(min);
        let mut queue_files = 0;
        for queue in self.queues.handles() {
            queue_files += queue.delete_before(min)?;
        }
        let index_files = self.index.delete_before(min);
        if removed > 0 {
            tracing::info!(
                removed,
                queue_files,
                index_files,
                used_percent = (used * 100.0) as u32,
                ?decision,
                "retention deleted files"
            );
        }
        self.guard.measure(self.clock.now_ms());
        Ok(CleanReport {
            decision,
            commit_log_files: removed,
            consume_queue_files: queue_files,
            index_files,
        })
    }

    /// Makes the next [`MANUAL_PASSES`] passes manual; the first runs within a step.
    pub(crate) fn request_manual_passes(&self) {
        self.manual_passes.store(MANUAL_PASSES, Ordering::Release);
        tracing::info!(
            "expired commit-log files will be deleted at any hour for the next {MANUAL_PASSES} passes"
        );
    }

    /// Takes one manual pass if any is left.
    fn take_manual_pass(&self) -> bool {
        self.manual_passes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }

    pub(crate) fn spawn(self: Arc<Self>, stop: Arc<AtomicBool>) -> std::io::Result<JoinHandle<()>> {
        std::thread::Builder::new()
            .name("apogee-clean".into())
            .spawn(move || {
                let step = std::time::Duration::from_millis(50);
                let mut waited = std::time::Duration::ZERO;
                // A request for manual passes runs the first one at once.
                let mut seen_manual = 0;
                while !stop.load(Ordering::Acquire) {
                    std::thread::sleep(step);
                    waited += step;
                    let manual_now = self.manual_passes.load(Ordering::Acquire);
                    let requested = manual_now > seen_manual;
                    seen_manual = manual_now;
                    if requested || waited >= self.retention().check_interval {
                        waited = std::time::Duration::ZERO;
                        let manual = self.take_manual_pass();
                        seen_manual = self.manual_passes.load(Ordering::Acquire);
                        if let Err(e) = self.clean(manual) {
                            tracing::error!(error = %e, "retention pass failed");
                        }
                    }
                }
            })
    }
}

/// The thread that allocates the next CommitLog file before the writer needs it, so a roll
/// over is a rename instead of a 1 GiB allocation under the append lock.
pub(crate) fn spawn_allocator(
    commit_log: Arc<CommitLog>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("apogee-alloc".into())
        .spawn(move || {
            let mut failing = false;
            while !stop.load(Ordering::Acquire) {
                match commit_log.files().prepare_spare() {
                    Ok(()) => failing = false,
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "cannot allocate the next commit-log file ahead; the writer will");
                    }
                    Err(_) => {}
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        })
}
