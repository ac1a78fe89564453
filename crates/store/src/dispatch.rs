//! Reput: one thread tails the CommitLog and hands every record to a list of dispatchers
//! (consume queues, index, and whatever later features add: timers, transactions). This is
//! the only way derived stores are written, so recovery is just a replay.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use apogee_protocol::record::{
    BLANK_MAGIC, RecordAt, StoredRecord, decode_record, find_property, sys_flag, tags_code,
};

use crate::StoreError;
use crate::commit_log::CommitLog;
use crate::consume_queue::{ConsumeQueueStore, CqUnit};

/// The topic classic delay messages wait on, one queue per level (REMOTING.md §6.7).
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

/// What a dispatcher learns about one stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchRequest {
    pub topic: String,
    pub queue_id: i32,
    pub commit_log_offset: i64,
    pub size: i32,
    pub tags_code: i64,
    pub store_timestamp: i64,
    pub queue_offset: i64,
    pub sys_flag: i32,
    /// `KEYS` property (space-separated).
    pub keys: Option<String>,
    /// `UNIQ_KEY` property.
    pub uniq_key: Option<String>,
}

impl DispatchRequest {
    /// `delay_levels_ms` is the delay table: records of [`SCHEDULE_TOPIC`] get their delivery
    /// time as tags code (store time + the delay of their `DELAY` level), as Java writes it.
    pub fn from_record(record: &StoredRecord, size: usize, delay_levels_ms: &[i64]) -> Self {
        let props = std::str::from_utf8(&record.properties).unwrap_or_default();
        let topic = record.topic_str();
        let tags_code = if topic == SCHEDULE_TOPIC {
            let level = find_property(props, "DELAY")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(1)
                .clamp(1, delay_levels_ms.len().max(1));
            record.store_timestamp + delay_levels_ms.get(level - 1).copied().unwrap_or(0)
        } else {
            tags_code(find_property(props, "TAGS"))
        };
        DispatchRequest {
            topic: topic.to_owned(),
            queue_id: record.queue_id,
            commit_log_offset: record.physical_offset,
            size: i32::try_from(size).unwrap_or(i32::MAX),
            tags_code,
            store_timestamp: record.store_timestamp,
            queue_offset: record.queue_offset,
            sys_flag: record.sys_flag,
            keys: find_property(props, "KEYS").map(str::to_owned),
            uniq_key: find_property(props, "UNIQ_KEY").map(str::to_owned),
        }
    }

    /// Prepared and rolled-back transactional records are not consumable.
    pub fn is_consumable(&self) -> bool {
        let tx = self.sys_flag & sys_flag::TRANSACTION_MASK;
        tx != sys_flag::TRANSACTION_PREPARED && tx != sys_flag::TRANSACTION_ROLLBACK
    }
}

/// A derived store fed by the reput thread.
pub trait Dispatcher: Send + Sync {
    fn dispatch(&self, request: &DispatchRequest) -> Result<(), StoreError>;

    /// Makes everything dispatched so far durable.
    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes consume-queue units.
pub struct ConsumeQueueDispatcher(pub Arc<ConsumeQueueStore>);

impl Dispatcher for ConsumeQueueDispatcher {
    fn dispatch(&self, request: &DispatchRequest) -> Result<(), StoreError> {
        if !request.is_consumable() {
            return Ok(());
        }
        let queue = self.0.get_or_create(&request.topic, request.queue_id)?;
        let unit = CqUnit {
            commit_log_offset: request.commit_log_offset,
            size: request.size,
            tags_code: request.tags_code,
        };
        queue.put(request.queue_offset, unit)
    }

    fn flush(&self) -> std::io::Result<()> {
        for (_, queue) in self.0.all() {
            queue.files().flush()?;
        }
        Ok(())
    }
}

/// Called after each record is dispatched (long polling wakes suspended pulls here).
pub type ArrivalListener = Arc<dyn Fn(&DispatchRequest) + Send + Sync>;

/// The reput position and its dispatchers.
pub struct Reput {
    commit_log: Arc<CommitLog>,
    dispatchers: Vec<Arc<dyn Dispatcher>>,
    listeners: Mutex<Vec<ArrivalListener>>,
    offset: AtomicI64,
    wake: (Mutex<bool>, Condvar),
    delay_levels_ms: Vec<i64>,
}

impl Reput {
    pub fn new(
        commit_log: Arc<CommitLog>,
        dispatchers: Vec<Arc<dyn Dispatcher>>,
        from: i64,
        delay_levels_ms: Vec<i64>,
    ) -> Self {
        Self {
            delay_levels_ms,
            commit_log,
            dispatchers,
            listeners: Mutex::new(Vec::new()),
            offset: AtomicI64::new(from),
            wake: (Mutex::new(false), Condvar::new()),
        }
    }

    pub fn add_listener(&self, listener: ArrivalListener) {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(listener);
    }

    /// Next CommitLog offset to dispatch.
    pub fn offset(&self) -> i64 {
        self.offset.load(Ordering::Acquire)
    }

    /// Flushes every dispatcher's data.
    pub fn flush_dispatchers(&self) -> std::io::Result<()> {
        for dispatcher in &self.dispatchers {
            dispatcher.flush()?;
        }
        Ok(())
    }

    /// Tells the thread new data was appended.
    pub fn wake(&self) {
        let (flag, cv) = &self.wake;
        *flag.lock().unwrap_or_else(PoisonError::into_inner) = true;
        cv.notify_one();
    }

    /// Dispatches everything appended so far; returns how many records.
    pub fn run_once(&self) -> Result<usize, StoreError> {
        let mut count = 0;
        let file_size = i64::try_from(self.commit_log.files().file_size()).unwrap_or(i64::MAX);
        let listeners = self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        loop {
            let offset = self.offset();
            if offset >= self.commit_log.max_offset() {
                return Ok(count);
            }
            let Some(head) = self.commit_log.read(offset, 8) else {
                // Nothing readable here: the rest of this file is unused.
                self.offset
                    .store(offset - offset % file_size + file_size, Ordering::Release);
                continue;
            };
            let magic = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
            let size = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            if magic == BLANK_MAGIC {
                self.offset
                    .store(offset - offset % file_size + file_size, Ordering::Release);
                continue;
            }
            let size = usize::try_from(size)
                .map_err(|_| StoreError::Corrupt(format!("negative record size at {offset}")))?;
            let bytes = self
                .commit_log
                .read(offset, size)
                .ok_or_else(|| StoreError::Corrupt(format!("short record at {offset}")))?;
            let (RecordAt::Message(record), _) = decode_record(&bytes, 0, false)
                .map_err(|e| StoreError::Corrupt(format!("record at {offset}: {e}")))?
            else {
                return Err(StoreError::Corrupt(format!(
                    "blank marker inside a record at {offset}"
                )));
            };
            let request = DispatchRequest::from_record(&record, size, &self.delay_levels_ms);
            for dispatcher in &self.dispatchers {
                dispatcher.dispatch(&request)?;
            }
            self.offset
                .store(offset + i64::try_from(size).unwrap_or(0), Ordering::Release);
            for listener in &listeners {
                listener(&request);
            }
            count += 1;
        }
    }

    /// Runs until `stop` is set, sleeping until woken (or 10 ms) when caught up.
    pub fn spawn(
        self: Arc<Self>,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("apogee-reput".into())
            .spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    match self.run_once() {
                        Ok(_) => {}
                        Err(e) => {
                            tracing::error!(error = %e, offset = self.offset(), "dispatch failed; retrying");
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                    let (flag, cv) = &self.wake;
                    let mut woken = flag.lock().unwrap_or_else(PoisonError::into_inner);
                    if !*woken && self.offset() >= self.commit_log.max_offset() {
                        woken = cv.wait_timeout(woken, Duration::from_millis(10)).unwrap_or_else(PoisonError::into_inner).0;
                    }
                    *woken = false;
                }
            })
    }
}
