//! Reput: the CommitLog is tailed and every record handed to a list of dispatchers
//! (consume queues, index, and whatever later features add: timers, transactions), in log
//! order, one pass at a time. An append dispatches on its own thread when no pass is running
//! ([`Reput::appended`]); the dispatch thread takes whatever that leaves (a pass already
//! running, a dispatch limit, a replica's bytes, retries). This is the only way derived stores
//! are written, so recovery is just a replay.
//!
//! One bad record never stops dispatch for everyone: bytes that do not decode are skipped
//! (counted and logged), a dispatcher that refuses or panics on a record skips it for itself
//! only, and a consume queue that cannot be written keeps its records for a retry while the
//! others go on (see [`ConsumeQueueDispatcher`]).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, TryLockError};
use std::time::{Duration, Instant};

use apogee_protocol::record::{
    BLANK_BYTES, BLANK_MAGIC, RecordAt, StoredRecord, decode_record, find_property, sys_flag,
    tags_code,
};

use crate::StoreError;
use crate::commit_log::CommitLog;
use crate::config::TagsCodeRule;
use crate::consume_queue::{ConsumeQueueStore, CqUnit};
use crate::doorbell::Doorbell;

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
    /// The record's tags code is `rule`'s when it gives one (the broker's delay levels write
    /// delivery times), else its tag's hash.
    pub fn from_record(record: &StoredRecord, size: usize, rule: &TagsCodeRule) -> Self {
        let props = std::str::from_utf8(&record.properties).unwrap_or_default();
        let topic = record.topic_str();
        let tags_code = rule
            .apply(record)
            .unwrap_or_else(|| tags_code(find_property(props, "TAGS")));
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
    /// Writes one record's entry. An `Err` means this record can never be written here (a
    /// damaged record, an invalid name): the reput counts it and moves on. A dispatcher that
    /// can retry later (a full disk) keeps the record itself and answers `Ok`.
    fn dispatch(&self, request: &DispatchRequest) -> Result<(), StoreError>;

    /// Whether `request` can be dispatched without creating a file (directory entries,
    /// allocation, fsyncs). A pass on an appending thread — a network worker — stops before a
    /// record that is not and leaves it to the dispatch thread.
    fn ready(&self, _request: &DispatchRequest) -> bool {
        true
    }

    /// Makes everything dispatched so far durable.
    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }

    /// The periodic flush: may leave some data unflushed when flushing it all would cost too
    /// much; returns whether everything dispatched so far is durable.
    fn flush_some(&self) -> std::io::Result<bool> {
        self.flush().map(|()| true)
    }

    /// Retries the records kept for later; returns those written now.
    fn retry_deferred(&self) -> Vec<DispatchRequest> {
        Vec::new()
    }

    /// CommitLog offset of the oldest record kept for later, and how many are kept.
    fn deferred(&self) -> Option<(i64, usize)> {
        None
    }
}

/// Most records the consume-queue dispatcher keeps for later before the reput waits.
const DEFERRED_MAX: usize = 100_000;
/// How long the dispatch thread naps after a pass that found records before it looks again:
/// under a steady stream of sends it then wakes once per nap, not once per message (a
/// futex wake-up and two context switches each: ~20 % of the broker's CPU at 45,000 msg/s),
/// at the price of at most this much more delay before a consumer can see a message.
/// RocketMQ's reput sleeps 1 ms between passes.
const DISPATCH_NAP: Duration = Duration::from_micros(100);
/// Consume-queue files with unflushed units that a periodic flush flushes all of.
const EAGER_DIRTY_FILES: usize = 256;
/// Past [`EAGER_DIRTY_FILES`], the unflushed bytes a file needs to be flushed periodically.
const LAZY_DIRTY_BYTES: usize = 2 * 4096;

/// Writes consume-queue units. A queue whose file cannot be created or written (no space,
/// too many open files) does not hold up the others: its records wait in memory, in order,
/// and are retried; the checkpoint never moves past the oldest of them.
pub struct ConsumeQueueDispatcher {
    queues: Arc<ConsumeQueueStore>,
    deferred: Mutex<Deferred>,
    /// How many records `deferred` holds, readable without its lock: while none wait (the
    /// normal case) a record goes straight to its queue, with no lock and no key built.
    deferred_count: AtomicUsize,
}

#[derive(Default)]
struct Deferred {
    queues: HashMap<(String, i32), VecDeque<DispatchRequest>>,
    count: usize,
}

impl ConsumeQueueDispatcher {
    pub fn new(queues: Arc<ConsumeQueueStore>) -> Self {
        Self {
            queues,
            deferred: Mutex::new(Deferred::default()),
            deferred_count: AtomicUsize::new(0),
        }
    }

    fn put(&self, request: &DispatchRequest) -> Result<(), StoreError> {
        let queue = self
            .queues
            .get_or_create(&request.topic, request.queue_id)?;
        let unit = CqUnit {
            commit_log_offset: request.commit_log_offset,
            size: request.size,
            tags_code: request.tags_code,
        };
        queue.put(request.queue_offset, unit)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Deferred> {
        self.deferred.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Dispatcher for ConsumeQueueDispatcher {
    fn dispatch(&self, request: &DispatchRequest) -> Result<(), StoreError> {
        if !request.is_consumable() {
            return Ok(());
        }
        if self.deferred_count.load(Ordering::Acquire) > 0 {
            let key = (request.topic.clone(), request.queue_id);
            let mut deferred = self.lock();
            if let Some(waiting) = deferred.queues.get_mut(&key) {
                waiting.push_back(request.clone());
                deferred.count += 1;
                self.deferred_count.store(deferred.count, Ordering::Release);
                return Ok(());
            }
        }
        match self.put(request) {
            Err(e) if waits_for_retry(&e) => {
                tracing::error!(
                    topic = request.topic,
                    queue = request.queue_id,
                    offset = request.commit_log_offset,
                    error = %e,
                    "consume queue not writable; its records wait and are retried, other queues go on"
                );
                let mut deferred = self.lock();
                deferred
                    .queues
                    .entry((request.topic.clone(), request.queue_id))
                    .or_default()
                    .push_back(request.clone());
                deferred.count += 1;
                self.deferred_count.store(deferred.count, Ordering::Release);
                Ok(())
            }
            other => other,
        }
    }

    fn ready(&self, request: &DispatchRequest) -> bool {
        !request.is_consumable()
            || self
                .queues
                .if_open(&request.topic, request.queue_id, |queue| {
                    queue.can_put_in_place(request.queue_offset)
                })
                .unwrap_or(false)
    }

    fn flush(&self) -> std::io::Result<()> {
        for queue in self.queues.handles() {
            queue.files().flush()?;
        }
        Ok(())
    }

    /// Up to [`EAGER_DIRTY_FILES`] files with unflushed units are all flushed (one `msync`
    /// each). Past that (thousands of queues written to, each a unit or two a second), only
    /// files with [`LAZY_DIRTY_BYTES`] unflushed are, as RocketMQ's
    /// `flushConsumeQueueLeastPages` does, and the caller's checkpoint waits for a thorough
    /// flush: an `msync` per queue per second would cost more than the messages.
    fn flush_some(&self) -> std::io::Result<bool> {
        let queues = self.queues.handles();
        let dirty: Vec<_> = queues
            .iter()
            .filter_map(|queue| queue.files().last())
            .filter(|file| file.wrote() > file.flushed())
            .collect();
        if dirty.len() <= EAGER_DIRTY_FILES {
            self.flush()?;
            return Ok(true);
        }
        for file in dirty {
            if file.wrote() - file.flushed() >= LAZY_DIRTY_BYTES {
                file.flush()?;
            }
        }
        Ok(false)
    }

    fn retry_deferred(&self) -> Vec<DispatchRequest> {
        let mut landed = Vec::new();
        let mut deferred = self.lock();
        let Deferred { queues, count } = &mut *deferred;
        queues.retain(|_, waiting| {
            while let Some(request) = waiting.front() {
                match self.put(request) {
                    Ok(()) => {}
                    Err(e) if waits_for_retry(&e) => return true,
                    Err(e) => tracing::error!(error = %e, "deferred record dropped from its consume queue"),
                }
                if let Some(done) = waiting.pop_front() {
                    landed.push(done);
                }
                *count -= 1;
            }
            false
        });
        self.deferred_count.store(*count, Ordering::Release);
        landed
    }

    fn deferred(&self) -> Option<(i64, usize)> {
        if self.deferred_count.load(Ordering::Acquire) == 0 {
            return None;
        }
        let deferred = self.lock();
        let oldest = deferred
            .queues
            .values()
            .filter_map(|w| w.front().map(|r| r.commit_log_offset))
            .min()?;
        Some((oldest, deferred.count))
    }
}

/// Called after each record is dispatched (long polling wakes suspended pulls here).
pub type ArrivalListener = Arc<dyn Fn(&DispatchRequest) + Send + Sync>;

/// Whether a consume queue's refusal is its files' (I/O, or a queue that could not be opened
/// and is tried again later): its records wait for it rather than being dropped.
fn waits_for_retry(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Io { .. } | StoreError::QueueUnavailable { .. }
    )
}

/// What went wrong while dispatching, for logs and runtime figures.
#[derive(Debug, Default)]
pub struct DispatchHealth {
    /// Records that could not be decoded and were skipped.
    pub corrupt_records: AtomicU64,
    /// Records a dispatcher refused or panicked on (that dispatcher skipped them).
    pub dispatch_errors: AtomicU64,
    pub last_error: Mutex<Option<String>>,
}

impl DispatchHealth {
    fn note(&self, counter: &AtomicU64, message: String) {
        let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
        // Loud but bounded: the first ten, then every power of two.
        if n <= 10 || n.is_power_of_two() {
            tracing::error!(count = n, "{message}");
        }
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(message);
    }
}

/// What lies at a CommitLog offset, for the reput.
enum Next {
    Record(Box<DispatchRequest>, usize),
    /// Nothing to dispatch before this offset (end-of-file marker, unwritten rest of a file).
    SkipTo(i64),
    /// Bytes that are not a record; dispatch resumes at the offset given.
    Corrupt(String, i64),
    /// The record has not been written whole yet (a replica receives the master's bytes in
    /// frames that do not follow record boundaries): wait for the rest.
    Incomplete,
}

/// The reput position and its dispatchers.
pub struct Reput {
    commit_log: Arc<CommitLog>,
    dispatchers: Vec<Arc<dyn Dispatcher>>,
    listeners: RwLock<Vec<ArrivalListener>>,
    offset: AtomicI64,
    bell: Doorbell,
    tags_code: TagsCodeRule,
    health: DispatchHealth,
    last_retry: Mutex<Option<Instant>>,
    /// Set while the reput waits at a record that is not whole yet.
    incomplete: AtomicBool,
    /// Held by each dispatch pass, and by a tail cut so no pass sees it half done.
    pass: Mutex<()>,
    /// Dispatch stops here (controller mode's confirm offset: what every in-sync replica
    /// has); `i64::MAX` for no limit.
    limit: AtomicI64,
}

impl Reput {
    pub fn new(
        commit_log: Arc<CommitLog>,
        dispatchers: Vec<Arc<dyn Dispatcher>>,
        from: i64,
        tags_code: TagsCodeRule,
    ) -> Self {
        Self {
            tags_code,
            commit_log,
            dispatchers,
            listeners: RwLock::new(Vec::new()),
            offset: AtomicI64::new(from),
            bell: Doorbell::default(),
            health: DispatchHealth::default(),
            last_retry: Mutex::new(None),
            incomplete: AtomicBool::new(false),
            pass: Mutex::new(()),
            limit: AtomicI64::new(i64::MAX),
        }
    }

    /// Dispatches only below `limit` from now on (`i64::MAX`: everything); a raised limit
    /// wakes the dispatch thread.
    pub fn set_limit(&self, limit: i64) {
        let old = self.limit.swap(limit, Ordering::AcqRel);
        if limit > old {
            self.wake();
        }
    }

    /// Where dispatch may go up to now: the log's end, or the limit when lower.
    fn dispatchable(&self) -> i64 {
        self.commit_log
            .max_offset()
            .min(self.limit.load(Ordering::Acquire))
    }

    /// Runs `f` between dispatch passes (none runs meanwhile).
    pub fn paused<R>(&self, f: impl FnOnce() -> R) -> R {
        let _pass = self.pass.lock().unwrap_or_else(PoisonError::into_inner);
        f()
    }

    /// Moves the dispatch position back to `end` when the log was cut below it; call inside
    /// [`paused`](Self::paused).
    pub fn rewind_to(&self, end: i64) {
        self.offset.fetch_min(end, Ordering::AcqRel);
    }

    pub fn add_listener(&self, listener: ArrivalListener) {
        self.listeners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(listener);
    }

    /// Next CommitLog offset to dispatch.
    pub fn offset(&self) -> i64 {
        self.offset.load(Ordering::Acquire)
    }

    /// The offset below which every record is in every derived store (or was refused for
    /// good): the dispatch position, held back by records kept for a retry. The checkpoint
    /// records this, so a restart replays whatever is still waiting.
    pub fn settled_offset(&self) -> i64 {
        self.dispatchers
            .iter()
            .filter_map(|d| d.deferred().map(|(oldest, _)| oldest))
            .fold(self.offset(), i64::min)
    }

    /// Records kept for a retry by the dispatchers.
    pub fn deferred_count(&self) -> usize {
        self.dispatchers
            .iter()
            .filter_map(|d| d.deferred().map(|(_, n)| n))
            .sum()
    }

    pub fn health(&self) -> &DispatchHealth {
        &self.health
    }

    /// Flushes every dispatcher's data.
    pub fn flush_dispatchers(&self) -> std::io::Result<()> {
        for dispatcher in &self.dispatchers {
            dispatcher.flush()?;
        }
        Ok(())
    }

    /// The periodic flush of every dispatcher ([`Dispatcher::flush_some`]); whether all of
    /// them made everything durable.
    pub fn flush_dispatchers_some(&self) -> std::io::Result<bool> {
        let mut complete = true;
        for dispatcher in &self.dispatchers {
            complete &= dispatcher.flush_some()?;
        }
        Ok(complete)
    }

    /// Tells the thread new data was appended.
    pub fn wake(&self) {
        self.bell.ring();
    }

    /// Called after an append: dispatches it on the caller's thread when no pass is running
    /// (a consume-queue unit and an index entry cost far less than waking the dispatch
    /// thread: a futex wake-up and two context switches); when a pass is running, or this
    /// one stops short (a dispatch limit, a failure), it rings the thread as [`wake`] does.
    /// Never waits for the pass lock.
    ///
    /// [`wake`]: Reput::wake
    pub fn appended(&self) {
        let pass = match self.pass.try_lock() {
            Ok(pass) => pass,
            Err(TryLockError::Poisoned(pass)) => pass.into_inner(),
            Err(TryLockError::WouldBlock) => return self.bell.ring(),
        };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.pass(true)));
        let caught_up = matches!(outcome, Ok(Ok(_))) && self.offset() >= self.dispatchable();
        drop(pass);
        if !caught_up {
            self.bell.ring();
        }
    }

    fn file_end(&self, offset: i64) -> i64 {
        let file_size =
            i64::try_from(self.commit_log.files().file_size()).expect("a file size fits in i64");
        offset - offset.rem_euclid(file_size) + file_size
    }

    /// Whether `[offset, offset + len)` runs past `written` (the log's end, read before the
    /// read that failed) inside one file: the bytes may still come. Taking the end first
    /// matters: an append between a failed read and this check must not make the record
    /// look damaged.
    fn still_coming(&self, offset: i64, len: usize, written: i64) -> bool {
        let end = offset.saturating_add(i64::try_from(len).unwrap_or(i64::MAX));
        end > written && end <= self.file_end(offset)
    }

    /// What lies at `offset`; `written` is the log's end, read before this look.
    fn next(&self, offset: i64, written: i64) -> Next {
        let Some(head) = self.commit_log.read(offset, 8) else {
            if self.still_coming(offset, 8, written) {
                return Next::Incomplete;
            }
            return Next::SkipTo(self.file_end(offset));
        };
        let size = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let magic = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        if magic == BLANK_MAGIC {
            return Next::SkipTo(self.file_end(offset));
        }
        let Some(size) = usize::try_from(size).ok().filter(|s| *s > BLANK_BYTES) else {
            return Next::Corrupt(
                format!("record size {size} at {offset}"),
                self.file_end(offset),
            );
        };
        let Some(bytes) = self.commit_log.read(offset, size) else {
            if self.still_coming(offset, size, written) {
                return Next::Incomplete;
            }
            return Next::Corrupt(
                format!("record of {size} bytes at {offset} runs past the written data"),
                self.file_end(offset),
            );
        };
        let next = offset + i64::try_from(size).expect("a record size fits in i64");
        match decode_record(&bytes, 0, false) {
            Ok((RecordAt::Message(record), _)) => Next::Record(
                Box::new(DispatchRequest::from_record(&record, size, &self.tags_code)),
                size,
            ),
            Ok((RecordAt::Blank { .. }, _)) => Next::SkipTo(self.file_end(offset)),
            Err(e) => Next::Corrupt(format!("record at {offset}: {e}"), next),
        }
    }

    /// Hands one record to every dispatcher; a dispatcher's refusal or panic skips the record
    /// for that dispatcher only.
    fn dispatch_all(&self, request: &DispatchRequest) {
        for dispatcher in &self.dispatchers {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                dispatcher.dispatch(request)
            }));
            let problem = match outcome {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e.to_string(),
                Err(_) => "a dispatcher panicked".to_owned(),
            };
            self.health.note(
                &self.health.dispatch_errors,
                format!(
                    "dispatch skipped the record at {} ({}:{}): {problem}",
                    request.commit_log_offset, request.topic, request.queue_id
                ),
            );
        }
    }

    /// Retries deferred records (at most once a second) and tells the listeners about those
    /// that landed.
    fn retry_deferred(&self, listeners: &[ArrivalListener]) {
        let mut last = self
            .last_retry
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) || self.deferred_count() == 0
        {
            return;
        }
        *last = Some(Instant::now());
        drop(last);
        for dispatcher in &self.dispatchers {
            for landed in dispatcher.retry_deferred() {
                for listener in listeners {
                    listener(&landed);
                }
            }
        }
    }

    /// Dispatches everything appended so far (unless too many records wait for a retry);
    /// returns how many records.
    pub fn run_once(&self) -> Result<usize, StoreError> {
        let _pass = self.pass.lock().unwrap_or_else(PoisonError::into_inner);
        self.pass(false)
    }

    /// One dispatch pass; the caller holds `pass`. An `inline` pass (on an appending thread)
    /// stops before a record some dispatcher is not [`ready`](Dispatcher::ready) for.
    fn pass(&self, inline: bool) -> Result<usize, StoreError> {
        let mut count = 0;
        let listeners = self
            .listeners
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if !inline {
            // Retries write files: the dispatch thread's job, never a network worker's.
            self.retry_deferred(&listeners);
        }
        if self.deferred_count() >= DEFERRED_MAX {
            return Ok(count);
        }
        loop {
            let offset = self.offset();
            self.incomplete.store(false, Ordering::Release);
            let written = self.dispatchable();
            if offset >= written {
                return Ok(count);
            }
            let next = match self.next(offset, written) {
                Next::Incomplete => {
                    self.incomplete.store(true, Ordering::Release);
                    return Ok(count);
                }
                Next::SkipTo(to) => to,
                Next::Corrupt(reason, to) => {
                    self.health.note(
                        &self.health.corrupt_records,
                        format!("dispatch skipped unreadable bytes: {reason}"),
                    );
                    to
                }
                Next::Record(_, size)
                    if offset + i64::try_from(size).expect("a record size fits in i64")
                        > written =>
                {
                    // Past the dispatch limit: wait until every in-sync replica has it.
                    self.incomplete.store(true, Ordering::Release);
                    return Ok(count);
                }
                Next::Record(request, _)
                    if inline && !self.dispatchers.iter().all(|d| d.ready(&request)) =>
                {
                    return Ok(count);
                }
                Next::Record(request, size) => {
                    self.dispatch_all(&request);
                    for listener in listeners.iter() {
                        listener(&request);
                    }
                    count += 1;
                    let end = offset + i64::try_from(size).expect("a record size fits in i64");
                    if count % 1024 == 0 && self.deferred_count() >= DEFERRED_MAX {
                        self.offset.store(end, Ordering::Release);
                        return Ok(count);
                    }
                    end
                }
            };
            self.offset.store(next, Ordering::Release);
        }
    }

    /// Runs until `stop` is set. After a pass that dispatched something it naps
    /// [`DISPATCH_NAP`] and looks again (appends meanwhile wake nobody, and the next pass takes
    /// them together); after a pass that found nothing it parks until woken (or 10 ms).
    pub fn spawn(
        self: Arc<Self>,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("apogee-reput".into())
            .spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    self.bell.take();
                    let outcome =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run_once()));
                    let dispatched = match outcome {
                        Ok(Ok(count)) => count,
                        _ => {
                            tracing::error!(
                                offset = self.offset(),
                                "dispatch pass failed; retrying"
                            );
                            std::thread::sleep(Duration::from_millis(100));
                            0
                        }
                    };
                    let waiting = self.deferred_count() > 0;
                    let caught_up = self.offset() >= self.dispatchable()
                        || self.incomplete.load(Ordering::Acquire);
                    if dispatched > 0 && caught_up && !waiting {
                        self.bell.nap(DISPATCH_NAP);
                    } else if caught_up || waiting {
                        self.bell
                            .wait(Duration::from_millis(if waiting { 100 } else { 10 }));
                    }
                }
            })
    }
}

#[cfg(test)]
#[path = "dispatch_tests.rs"]
mod tests;
