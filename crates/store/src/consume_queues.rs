//! Every consume queue of a store, by topic and queue id. After a clean stop, queues found on
//! disk at start-up are listed, not opened: each is opened, checked and mapped when first used
//! (a broker with 10,000 topics × 8 queues starts without touching 80,000 files). After a
//! crash every queue is recovered at start-up, as before: units past the recovered CommitLog
//! end must go before the log grows over them, whether or not the queue is used this run.
//! Queues are created on first dispatch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use apogee_model::TopicName;

use crate::StoreError;
use crate::consume_queue::{ConsumeQueue, CqUnit};
use crate::io::FileIo;
use crate::quarantine::Quarantine;

/// How a queue found at start-up is recovered when it is first opened: the CommitLog's end
/// as recovery left it (units pointing past it are cut), and whether the last run crashed
/// (the last files are checked unit by unit) or stopped cleanly (the end is found by search).
#[derive(Debug, Clone, Copy)]
pub struct QueueRecovery {
    pub crashed: bool,
    pub commit_log_end: i64,
}

/// A queue with its topic and queue id.
pub type NamedQueue = ((String, i32), Arc<ConsumeQueue>);

/// How long a queue that failed to open is left alone before the next attempt: its readers
/// and writers are refused meanwhile without touching its files or logging again (a pull
/// loop on a damaged queue would otherwise retry, and log, on every request).
const OPEN_RETRY_MS: u64 = 10_000;

/// One queue: opened at most once, by whoever needs it first.
#[derive(Debug, Default)]
struct Slot {
    queue: OnceLock<Arc<ConsumeQueue>>,
    /// Held while the queue is opened, so it is recovered once; remembers the last failure.
    opening: Mutex<Option<OpenFailure>>,
}

#[derive(Debug)]
struct OpenFailure {
    at: Instant,
    cause: String,
}

impl Slot {
    fn opened(queue: Arc<ConsumeQueue>) -> Self {
        let slot = Slot::default();
        let _ = slot.queue.set(queue);
        slot
    }
}

/// All consume queues of a store.
#[derive(Debug)]
pub struct ConsumeQueueStore {
    root: PathBuf,
    units_per_file: usize,
    /// Topic, then queue id: looked up by `&str` with no allocation (one lookup per
    /// dispatched message and per pull).
    queues: RwLock<HashMap<String, HashMap<i32, Arc<Slot>>>>,
    io: FileIo,
    quarantine: Quarantine,
    recovery: QueueRecovery,
    /// The CommitLog's first offset as last seen (start-up, then each retention pass): a
    /// queue opened later drops its files and units before it at once.
    commit_log_min: AtomicI64,
    /// [`OPEN_RETRY_MS`]; shorter in tests.
    open_retry_ms: AtomicU64,
}

/// Why `<topic>/<queue id>` cannot be a consume queue directory: the topic must be a valid
/// topic name (so it can never be a path such as `..` or `/x`) and the queue id not negative.
fn check_queue_name(topic: &str, queue_id: i32) -> Result<(), StoreError> {
    TopicName::check(topic).map_err(|e| StoreError::InvalidTopic(e.to_string()))?;
    if queue_id < 0 {
        return Err(StoreError::InvalidTopic(format!(
            "queue id {queue_id} of topic {topic} is negative"
        )));
    }
    Ok(())
}

impl ConsumeQueueStore {
    /// Lists every `<root>/<topic>/<queueId>/` directory (others are ignored, with a
    /// warning); each is opened and recovered as `recovery` says: all of them now after a
    /// crash, each on first use after a clean stop.
    pub fn open(
        root: &Path,
        units_per_file: usize,
        (io, quarantine): (&FileIo, &Quarantine),
        recovery: QueueRecovery,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(root).map_err(StoreError::io(root.display().to_string()))?;
        let mut queues: HashMap<String, HashMap<i32, Arc<Slot>>> = HashMap::new();
        for topic_dir in
            std::fs::read_dir(root).map_err(StoreError::io(root.display().to_string()))?
        {
            let topic_dir = topic_dir.map_err(StoreError::io(root.display().to_string()))?;
            let topic = topic_dir.file_name().to_string_lossy().into_owned();
            let Ok(entries) = std::fs::read_dir(topic_dir.path()) else {
                continue;
            };
            for queue_dir in entries.flatten() {
                let Ok(queue_id) = queue_dir.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                if let Err(e) = check_queue_name(&topic, queue_id) {
                    tracing::warn!(dir = %queue_dir.path().display(), error = %e, "not a consume queue; ignored");
                    continue;
                }
                queues
                    .entry(topic.clone())
                    .or_default()
                    .insert(queue_id, Arc::default());
            }
        }
        let store = Self {
            root: root.to_owned(),
            units_per_file,
            queues: RwLock::new(queues),
            io: io.clone(),
            quarantine: quarantine.clone(),
            recovery,
            commit_log_min: AtomicI64::new(0),
            open_retry_ms: AtomicU64::new(OPEN_RETRY_MS),
        };
        if recovery.crashed {
            store.all()?;
        }
        Ok(store)
    }

    /// A store whose queues on disk are recovered as after a crash with nothing lost (tests).
    #[cfg(test)]
    pub(crate) fn open_fresh(
        root: &Path,
        units_per_file: usize,
        files: (&FileIo, &Quarantine),
    ) -> Result<Self, StoreError> {
        let recovery = QueueRecovery {
            crashed: true,
            commit_log_end: i64::MAX,
        };
        Self::open(root, units_per_file, files, recovery)
    }

    /// Retries a queue that failed to open after `after` instead of [`OPEN_RETRY_MS`].
    #[cfg(test)]
    pub(crate) fn set_open_retry(&self, after: Duration) {
        let ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
        self.open_retry_ms.store(ms, Ordering::Relaxed);
    }

    /// Tells queues opened from now on where the CommitLog starts (retention moved it).
    pub fn set_commit_log_min(&self, min: i64) {
        self.commit_log_min.fetch_max(min, Ordering::AcqRel);
    }

    fn dir(&self, topic: &str, queue_id: i32) -> PathBuf {
        self.root.join(topic).join(queue_id.to_string())
    }

    /// Opens a queue listed at start-up: once, recovered, its expired files dropped.
    fn open_slot(
        &self,
        (topic, queue_id): (&str, i32),
        slot: &Slot,
    ) -> Result<Arc<ConsumeQueue>, StoreError> {
        if let Some(queue) = slot.queue.get() {
            return Ok(Arc::clone(queue));
        }
        let mut failure = slot.opening.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(queue) = slot.queue.get() {
            return Ok(Arc::clone(queue));
        }
        let retry = Duration::from_millis(self.open_retry_ms.load(Ordering::Relaxed));
        if let Some(last) = failure.as_ref() {
            let waited = last.at.elapsed();
            if waited < retry {
                return Err(StoreError::QueueUnavailable {
                    queue: format!("{topic}/{queue_id}"),
                    cause: last.cause.clone(),
                    retry_in_s: (retry - waited).as_secs().max(1),
                });
            }
        }
        match self.recovered(topic, queue_id) {
            Ok(queue) => {
                *failure = None;
                let queue = Arc::new(queue);
                let _ = slot.queue.set(Arc::clone(&queue));
                Ok(queue)
            }
            Err(e) => {
                tracing::error!(topic, queue_id, error = %e, retry_in_s = retry.as_secs(), "consume queue cannot be opened");
                *failure = Some(OpenFailure {
                    at: Instant::now(),
                    cause: e.to_string(),
                });
                Err(e)
            }
        }
    }

    /// A listed queue's files opened, recovered and trimmed to the CommitLog's start.
    fn recovered(&self, topic: &str, queue_id: i32) -> Result<ConsumeQueue, StoreError> {
        let queue = ConsumeQueue::open(
            &self.dir(topic, queue_id),
            self.units_per_file,
            (&self.io, &self.quarantine),
        )?;
        let QueueRecovery {
            crashed,
            commit_log_end,
        } = self.recovery;
        if crashed {
            queue.recover(commit_log_end)?;
        } else {
            queue.recover_clean(commit_log_end)?;
        }
        let min = self.commit_log_min.load(Ordering::Acquire);
        if min > 0 {
            queue.delete_before(min)?;
        }
        Ok(queue)
    }

    /// The queue, opened if it was not yet; `None` when there is no such queue.
    pub fn open_queue(
        &self,
        topic: &str,
        queue_id: i32,
    ) -> Result<Option<Arc<ConsumeQueue>>, StoreError> {
        let slot = {
            let queues = self.queues.read().unwrap_or_else(PoisonError::into_inner);
            let Some(slot) = queues.get(topic).and_then(|q| q.get(&queue_id)) else {
                return Ok(None);
            };
            if let Some(queue) = slot.queue.get() {
                return Ok(Some(Arc::clone(queue)));
            }
            Arc::clone(slot)
        };
        self.open_slot((topic, queue_id), &slot).map(Some)
    }

    /// [`open_queue`](Self::open_queue) for readers: a queue that cannot be opened (logged
    /// when an attempt fails) reads as absent.
    pub fn get(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.open_queue(topic, queue_id).ok().flatten()
    }

    /// `f` of the queue when it exists and is open (no file is touched, no handle taken);
    /// `None` otherwise.
    pub fn if_open<R>(
        &self,
        topic: &str,
        queue_id: i32,
        f: impl FnOnce(&ConsumeQueue) -> R,
    ) -> Option<R> {
        let queues = self.queues.read().unwrap_or_else(PoisonError::into_inner);
        let queue = queues.get(topic)?.get(&queue_id)?.queue.get()?;
        Some(f(queue))
    }

    pub fn get_or_create(
        &self,
        topic: &str,
        queue_id: i32,
    ) -> Result<Arc<ConsumeQueue>, StoreError> {
        if let Some(queue) = self.open_queue(topic, queue_id)? {
            return Ok(queue);
        }
        check_queue_name(topic, queue_id)?;
        // Opening creates the directory (file I/O): done before taking the map's write lock.
        let created = Arc::new(ConsumeQueue::open(
            &self.dir(topic, queue_id),
            self.units_per_file,
            (&self.io, &self.quarantine),
        )?);
        let slot = {
            let mut queues = self.queues.write().unwrap_or_else(PoisonError::into_inner);
            let slot = queues
                .entry(topic.to_owned())
                .or_default()
                .entry(queue_id)
                .or_insert_with(|| Arc::new(Slot::opened(created)));
            if let Some(queue) = slot.queue.get() {
                return Ok(Arc::clone(queue));
            }
            Arc::clone(slot)
        };
        self.open_slot((topic, queue_id), &slot)
    }

    /// Forgets every queue of `topic` and deletes their files (DELETE_TOPIC); returns how many
    /// queues there were.
    pub fn delete_topic(&self, topic: &str) -> Result<usize, StoreError> {
        check_queue_name(topic, 0)?;
        let removed = {
            let mut queues = self.queues.write().unwrap_or_else(PoisonError::into_inner);
            queues.remove(topic).map_or(0, |of_topic| of_topic.len())
        };
        let dir = self.root.join(topic);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(StoreError::io(dir.display().to_string()))?;
        }
        Ok(removed)
    }

    /// CLEAN_EXPIRED_CONSUMEQUEUE for one queue: deletes it when its last unit names a message
    /// wholly before `commit_log_min` (everything it indexes has left the CommitLog) and
    /// `next_offset` — the CommitLog's next offset for the queue, `None` when nothing was
    /// appended to it since start-up — equals its max offset (no message of it is on its
    /// way). The check and the deletion happen under the map's write lock, so no dispatch can
    /// reach the old queue afterwards: a later message of the queue creates a fresh one at
    /// the offset it was given. Returns whether it was deleted.
    ///
    /// `keep_offset` gets the deleted queue's max offset while no dispatch or append can reach
    /// the queue (the map's write lock is held): the CommitLog keeps numbering from it.
    pub fn remove_if_expired(
        &self,
        (topic, queue_id): (&str, i32),
        commit_log_min: i64,
        next_offset: Option<i64>,
        keep_offset: impl FnOnce(i64),
    ) -> Result<bool, StoreError> {
        check_queue_name(topic, queue_id)?;
        // Opened before the write lock is taken (recovery reads files).
        if self.open_queue(topic, queue_id)?.is_none() {
            return Ok(false);
        }
        let mut queues = self.queues.write().unwrap_or_else(PoisonError::into_inner);
        let Some(queue) = queues
            .get(topic)
            .and_then(|q| q.get(&queue_id))
            .and_then(|slot| slot.queue.get())
        else {
            return Ok(false);
        };
        let max = queue.max_offset();
        let expired = max > 0
            && next_offset.unwrap_or(max) == max
            && queue.get(max - 1).is_some_and(|u| {
                u != CqUnit::BLANK
                    && u.commit_log_offset.saturating_add(i64::from(u.size)) <= commit_log_min
            });
        if !expired {
            return Ok(false);
        }
        keep_offset(max);
        if let Some(of_topic) = queues.get_mut(topic) {
            of_topic.remove(&queue_id);
            if of_topic.is_empty() {
                queues.remove(topic);
            }
        }
        let dir = self.dir(topic, queue_id);
        std::fs::remove_dir_all(&dir).map_err(StoreError::io(dir.display().to_string()))?;
        // The topic's directory goes with its last queue (fails harmlessly while others stay).
        let _ = std::fs::remove_dir(self.root.join(topic));
        Ok(true)
    }

    /// Every open queue, without its name (the periodic flush and cleaner walk them every
    /// second: no `String` per queue). A queue not opened since start-up has nothing to flush,
    /// and drops its expired files when it is opened.
    pub fn handles(&self) -> Vec<Arc<ConsumeQueue>> {
        self.queues
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .flat_map(|of_topic| of_topic.values().filter_map(|s| s.queue.get().cloned()))
            .collect()
    }

    /// Every queue's name, opened or not.
    pub fn names(&self) -> Vec<(String, i32)> {
        self.queues
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .flat_map(|(topic, of_topic)| of_topic.keys().map(|id| (topic.clone(), *id)))
            .collect()
    }

    /// Whether there is no queue at all.
    pub fn is_empty(&self) -> bool {
        self.queues
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .all(HashMap::is_empty)
    }

    /// Every queue, each opened (a tail cut must reach them all).
    pub fn all(&self) -> Result<Vec<NamedQueue>, StoreError> {
        let mut all = Vec::new();
        for (topic, queue_id) in self.names() {
            if let Some(queue) = self.open_queue(&topic, queue_id)? {
                all.push(((topic, queue_id), queue));
            }
        }
        Ok(all)
    }
}

#[cfg(test)]
#[path = "consume_queues_tests.rs"]
mod tests;
