//! The messages pulled from one queue and not yet acknowledged (Java's `ProcessQueue`). The
//! smallest offset still held is what the group may commit: a slow message holds progress
//! back rather than being skipped.
//!
//! A message is never copied into the queue. Orderly consumption keeps it here until a loop
//! takes it; concurrent consumption hands it to a listener batch, and the queue keeps its
//! size and, once a listener has it, a weak reference to that batch (only a message stuck in
//! its listener past the consume timeout is ever read back, and copied, from there).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Instant;

use apogee_protocol::body::admin::ProcessQueueInfo;
use apogee_protocol::body::client::MessageQueue;

use crate::MessageExt;

#[derive(Debug)]
pub(crate) struct ProcessQueue {
    pub(crate) queue: MessageQueue,
    state: Mutex<State>,
    dropped: AtomicBool,
    /// Orderly: the broker lock is held (and when it was last confirmed, ms).
    locked: AtomicBool,
    last_lock_ms: AtomicI64,
    /// Orderly: one consume loop per queue at a time.
    pub(crate) consume_lock: tokio::sync::Mutex<()>,
    flow_control_times: AtomicU64,
    /// When the last pull answered and the last listener call started (ms).
    last_pull_ms: AtomicI64,
    last_consume_ms: AtomicI64,
}

#[derive(Debug, Default)]
struct State {
    /// Offset → the held message.
    msgs: BTreeMap<i64, Held>,
    bytes: usize,
    /// Orderly: the offsets taken out for the listener, with their messages' footprints.
    consuming: BTreeMap<i64, usize>,
    max_offset: i64,
    flow_controlled: bool,
}

/// One message the queue holds.
#[derive(Debug)]
enum Held {
    /// Orderly: the message itself (boxed: a map of lent entries stays small), until a
    /// consume loop takes it.
    Kept(Box<MessageExt>),
    /// Concurrent: handed to the consume service; `listener` once a listener has it.
    Lent {
        footprint: usize,
        listener: Option<Listening>,
    },
}

/// A lent message under a listener: since when, and where in which batch.
#[derive(Debug)]
struct Listening {
    started: Instant,
    batch: Weak<Vec<MessageExt>>,
    index: usize,
}

impl Held {
    fn footprint(&self) -> usize {
        match self {
            Self::Kept(m) => m.footprint(),
            Self::Lent { footprint, .. } => *footprint,
        }
    }
}

/// A snapshot for stats and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStat {
    pub queue: MessageQueue,
    pub cached_messages: usize,
    pub cached_bytes: usize,
    /// True while pulling is paused by the per-queue thresholds.
    pub flow_controlled: bool,
    /// How many times pulling was paused so far.
    pub flow_control_times: u64,
    pub locked: bool,
}

impl State {
    /// Holds a message at `offset` unless one is held there already; true when it was new.
    fn hold(&mut self, offset: i64, held: impl FnOnce() -> Held) -> bool {
        if self.msgs.contains_key(&offset) || self.consuming.contains_key(&offset) {
            return false;
        }
        let held = held();
        self.bytes += held.footprint();
        self.max_offset = self.max_offset.max(offset);
        self.msgs.insert(offset, held);
        true
    }
}

impl ProcessQueue {
    pub(crate) fn new(queue: MessageQueue) -> Self {
        Self {
            queue,
            state: Mutex::new(State {
                max_offset: -1,
                ..State::default()
            }),
            dropped: AtomicBool::new(false),
            locked: AtomicBool::new(false),
            last_lock_ms: AtomicI64::new(0),
            consume_lock: tokio::sync::Mutex::new(()),
            flow_control_times: AtomicU64::new(0),
            last_pull_ms: AtomicI64::new(0),
            last_consume_ms: AtomicI64::new(0),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::SeqCst)
    }

    pub(crate) fn set_dropped(&self) {
        self.dropped.store(true, Ordering::SeqCst);
    }

    pub(crate) fn set_locked(&self, locked: bool, now_ms: i64) {
        self.locked.store(locked, Ordering::SeqCst);
        if locked {
            self.last_lock_ms.store(now_ms, Ordering::SeqCst);
        }
    }

    /// Locked and confirmed within `max_live_ms` (Java: 30 s).
    pub(crate) fn is_locked(&self, now_ms: i64, max_live_ms: i64) -> bool {
        self.locked.load(Ordering::SeqCst)
            && now_ms - self.last_lock_ms.load(Ordering::SeqCst) <= max_live_ms
    }

    /// Orderly: keeps pulled messages until a consume loop takes them; returns how many were
    /// new.
    pub(crate) fn keep(&self, msgs: Vec<MessageExt>) -> usize {
        let mut s = self.state();
        let mut added = 0;
        for m in msgs {
            added += usize::from(s.hold(m.queue_offset, move || Held::Kept(Box::new(m))));
        }
        added
    }

    /// Concurrent: notes pulled messages that go to listener batches (no copy is kept);
    /// returns how many were new.
    pub(crate) fn lend(&self, msgs: &[MessageExt]) -> usize {
        let mut s = self.state();
        msgs.iter()
            .filter(|m| {
                s.hold(m.queue_offset, || Held::Lent {
                    footprint: m.footprint(),
                    listener: None,
                })
            })
            .count()
    }

    /// Concurrent: the batch's messages are with a listener from now on.
    pub(crate) fn mark_consuming(&self, batch: &Arc<Vec<MessageExt>>) {
        let now = Instant::now();
        let mut s = self.state();
        for (index, m) in batch.iter().enumerate() {
            if let Some(Held::Lent { listener, .. }) = s.msgs.get_mut(&m.queue_offset) {
                *listener = Some(Listening {
                    started: now,
                    batch: Arc::downgrade(batch),
                    index,
                });
            }
        }
    }

    /// Concurrent: acknowledges `offsets`; returns the offset now safe to commit (the smallest
    /// held, or one past the largest seen), or `None` if nothing was removed.
    pub(crate) fn remove(&self, offsets: &[i64]) -> Option<i64> {
        let mut s = self.state();
        let mut removed = false;
        for o in offsets {
            if let Some(held) = s.msgs.remove(o) {
                s.bytes = s.bytes.saturating_sub(held.footprint());
                removed = true;
            }
        }
        if !removed {
            return None;
        }
        Some(s.msgs.keys().next().copied().unwrap_or(s.max_offset + 1))
    }

    /// Concurrent: copies of the messages whose listener started longer ago than `timeout`
    /// (a batch its listener has given back is not read).
    pub(crate) fn expired(&self, timeout: std::time::Duration) -> Vec<MessageExt> {
        self.state()
            .msgs
            .values()
            .filter_map(|held| match held {
                Held::Lent {
                    listener: Some(l), ..
                } if l.started.elapsed() >= timeout => l.batch.upgrade()?.get(l.index).cloned(),
                _ => None,
            })
            .collect()
    }

    /// Orderly: takes up to `n` messages in offset order.
    pub(crate) fn take(&self, n: usize) -> Vec<MessageExt> {
        let mut s = self.state();
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match s.msgs.pop_first() {
                Some((offset, Held::Kept(m))) => {
                    s.consuming.insert(offset, m.footprint());
                    out.push(*m);
                }
                Some((offset, lent)) => {
                    // Not kept here (a concurrent listener has it): nothing to take.
                    s.msgs.insert(offset, lent);
                    break;
                }
                None => break,
            }
        }
        out
    }

    /// Orderly: the taken messages are done; returns the offset to commit.
    pub(crate) fn commit(&self) -> Option<i64> {
        let mut s = self.state();
        let last = s.consuming.keys().next_back().copied()?;
        let freed: usize = s.consuming.values().sum();
        s.bytes = s.bytes.saturating_sub(freed);
        s.consuming.clear();
        Some(last + 1)
    }

    /// Orderly: puts taken messages back (to be retried), with their new reconsume counts.
    pub(crate) fn make_available(&self, msgs: Vec<MessageExt>) {
        let mut s = self.state();
        for m in msgs {
            s.consuming.remove(&m.queue_offset);
            s.msgs.insert(m.queue_offset, Held::Kept(Box::new(m)));
        }
    }

    /// Forgets every held message (after an offset reset).
    pub(crate) fn clear(&self) {
        let mut s = self.state();
        s.msgs.clear();
        s.consuming.clear();
        s.bytes = 0;
        s.max_offset = -1;
    }

    /// Orderly: messages waiting to be taken.
    pub(crate) fn has_available(&self) -> bool {
        !self.state().msgs.is_empty()
    }

    pub(crate) fn is_empty(&self) -> bool {
        let s = self.state();
        s.msgs.is_empty() && s.consuming.is_empty()
    }

    /// Whether pulling must pause; logs when the pause starts and ends.
    pub(crate) fn flow_control(&self, max_count: usize, max_bytes: usize) -> bool {
        let mut s = self.state();
        let count = s.msgs.len() + s.consuming.len();
        let over = count >= max_count || s.bytes >= max_bytes;
        if over && !s.flow_controlled {
            self.flow_control_times.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                queue = ?self.queue, cached_messages = count, cached_bytes = s.bytes,
                max_count, max_bytes,
                "flow control: the queue holds too many unconsumed messages; pulling paused"
            );
        } else if !over && s.flow_controlled {
            tracing::info!(queue = ?self.queue, cached_messages = count, "flow control released; pulling resumes");
        }
        s.flow_controlled = over;
        over
    }

    pub(crate) fn note_pulled(&self, now_ms: i64) {
        self.last_pull_ms.store(now_ms, Ordering::Relaxed);
    }

    pub(crate) fn note_consumed(&self, now_ms: i64) {
        self.last_consume_ms.store(now_ms, Ordering::Relaxed);
    }

    /// Java's `ProcessQueue.fillProcessQueueInfo`: the held messages (the orderly ones taken
    /// out for the listener count as its "transaction" messages), lock and timestamps.
    pub(crate) fn info(&self, commit_offset: i64) -> ProcessQueueInfo {
        let s = self.state();
        fn first<V>(m: &BTreeMap<i64, V>) -> i64 {
            m.keys().next().copied().unwrap_or(0)
        }
        fn last<V>(m: &BTreeMap<i64, V>) -> i64 {
            m.keys().next_back().copied().unwrap_or(0)
        }
        let dropped = self.is_dropped();
        ProcessQueueInfo {
            cached_msg_count: i32::try_from(s.msgs.len()).unwrap_or(i32::MAX),
            cached_msg_max_offset: last(&s.msgs),
            cached_msg_min_offset: first(&s.msgs),
            cached_msg_size_in_mib: i32::try_from(s.bytes / (1024 * 1024)).unwrap_or(i32::MAX),
            commit_offset,
            droped: dropped,
            dropped,
            last_consume_timestamp: self.last_consume_ms.load(Ordering::Relaxed),
            last_lock_timestamp: self.last_lock_ms.load(Ordering::SeqCst),
            last_pull_timestamp: self.last_pull_ms.load(Ordering::Relaxed),
            locked: self.locked.load(Ordering::SeqCst),
            transaction_msg_count: i32::try_from(s.consuming.len()).unwrap_or(i32::MAX),
            transaction_msg_max_offset: last(&s.consuming),
            transaction_msg_min_offset: first(&s.consuming),
            try_unlock_times: 0,
        }
    }

    pub(crate) fn stat(&self, now_ms: i64) -> QueueStat {
        let s = self.state();
        QueueStat {
            queue: self.queue.clone(),
            cached_messages: s.msgs.len() + s.consuming.len(),
            cached_bytes: s.bytes,
            flow_controlled: s.flow_controlled,
            flow_control_times: self.flow_control_times.load(Ordering::Relaxed),
            locked: self.is_locked(now_ms, i64::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apogee_protocol::record::StoredRecord;
    use bytes::Bytes;

    fn msg(offset: i64) -> MessageExt {
        let host = "127.0.0.1:10911".parse().unwrap();
        let record = StoredRecord {
            magic: apogee_protocol::record::MAGIC_V1,
            body_crc: 0,
            queue_id: 0,
            flag: 0,
            queue_offset: offset,
            physical_offset: offset * 100,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: host,
            store_timestamp: 0,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(b"body"),
            topic: Bytes::from_static(b"T"),
            properties: Bytes::new(),
        };
        MessageExt::from_record(record, "b")
    }

    fn pq() -> ProcessQueue {
        ProcessQueue::new(MessageQueue {
            topic: "T".into(),
            broker_name: "b".into(),
            queue_id: 0,
        })
    }

    #[test]
    fn given_out_of_order_acks_should_commit_only_below_the_oldest_unacked() {
        let q = pq();
        assert_eq!(q.lend(&[msg(10), msg(11), msg(12)]), 3);
        assert_eq!(q.lend(&[msg(12)]), 0, "duplicates are ignored");
        assert_eq!(q.remove(&[11]), Some(10), "10 still held");
        assert_eq!(q.remove(&[10]), Some(12));
        assert_eq!(
            q.remove(&[12]),
            Some(13),
            "empty: one past the largest seen"
        );
        assert_eq!(q.remove(&[12]), None);
    }

    #[test]
    fn given_orderly_take_should_commit_or_put_back_in_order() {
        let q = pq();
        assert_eq!(q.keep(vec![msg(0), msg(1), msg(2)]), 3);
        assert_eq!(q.keep(vec![msg(1)]), 0, "duplicates are ignored");
        let batch = q.take(2);
        assert_eq!(q.keep(vec![msg(0)]), 0, "a taken message is still held");
        assert_eq!(
            batch.iter().map(|m| m.queue_offset).collect::<Vec<_>>(),
            [0, 1]
        );
        q.make_available(batch);
        assert_eq!(q.take(1)[0].queue_offset, 0, "put back in front");
        assert_eq!(q.commit(), Some(1));
        assert!(q.has_available());
    }

    #[test]
    fn given_held_and_taken_messages_should_report_them_like_java() {
        let q = pq();
        q.keep(vec![msg(4), msg(5), msg(6)]);
        let taken = q.take(1);
        q.note_pulled(77);
        let info = q.info(4);
        assert_eq!(
            (
                info.cached_msg_count,
                info.cached_msg_min_offset,
                info.cached_msg_max_offset
            ),
            (2, 5, 6)
        );
        assert_eq!(
            (info.transaction_msg_count, info.transaction_msg_min_offset),
            (1, taken[0].queue_offset)
        );
        assert_eq!((info.commit_offset, info.last_pull_timestamp), (4, 77));
        assert!(!info.is_dropped());
        q.set_dropped();
        assert!(q.info(4).droped && q.info(4).dropped);
    }

    #[test]
    fn given_thresholds_should_engage_once_and_release() {
        let q = pq();
        q.lend(&[msg(0), msg(1)]);
        assert_eq!(q.stat(0).cached_bytes, 2 * msg(0).footprint());
        assert!(q.flow_control(2, usize::MAX));
        assert!(q.flow_control(2, usize::MAX));
        q.remove(&[0]);
        assert!(!q.flow_control(2, usize::MAX));
        assert_eq!(q.stat(0).flow_control_times, 1);
    }

    #[test]
    fn given_a_lent_batch_should_expire_only_while_its_listener_holds_it() {
        let q = pq();
        let pulled = vec![msg(0), msg(1), msg(2)];
        q.lend(&pulled);
        assert!(
            q.expired(std::time::Duration::ZERO).is_empty(),
            "not with a listener yet"
        );
        let batch = Arc::new(pulled[1..].to_vec());
        q.mark_consuming(&batch);
        let expired = q.expired(std::time::Duration::ZERO);
        assert_eq!(
            expired.iter().map(|m| m.queue_offset).collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(q.expired(std::time::Duration::from_secs(3600)).is_empty());
        let back = Arc::try_unwrap(batch).expect("the queue holds no strong reference");
        assert_eq!(back.len(), 2);
        assert!(
            q.expired(std::time::Duration::ZERO).is_empty(),
            "a batch given back is not read"
        );
        assert_eq!(q.remove(&[1, 2]), Some(0), "0 is still held");
    }
}
