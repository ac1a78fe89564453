//! The messages pulled from one queue and not yet acknowledged (Java's `ProcessQueue`). The
//! smallest offset still held is what the group may commit: a slow message holds progress
//! back rather than being skipped.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

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
}

#[derive(Debug, Default)]
struct State {
    /// Offset → message and, once a listener has it, when it started.
    msgs: BTreeMap<i64, (MessageExt, Option<Instant>)>,
    bytes: usize,
    /// Orderly: messages taken out for the listener.
    consuming: BTreeMap<i64, MessageExt>,
    max_offset: i64,
    flow_controlled: bool,
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

    /// Adds pulled messages; returns how many were new.
    pub(crate) fn put(&self, msgs: &[MessageExt]) -> usize {
        let mut s = self.state();
        let mut added = 0;
        for m in msgs {
            if s.msgs.contains_key(&m.queue_offset) || s.consuming.contains_key(&m.queue_offset) {
                continue;
            }
            s.bytes += m.footprint();
            s.max_offset = s.max_offset.max(m.queue_offset);
            s.msgs.insert(m.queue_offset, (m.clone(), None));
            added += 1;
        }
        added
    }

    /// Concurrent: marks these offsets as handed to a listener now.
    pub(crate) fn mark_consuming(&self, offsets: &[i64]) {
        let now = Instant::now();
        let mut s = self.state();
        for o in offsets {
            if let Some(entry) = s.msgs.get_mut(o) {
                entry.1 = Some(now);
            }
        }
    }

    /// Concurrent: acknowledges `offsets`; returns the offset now safe to commit (the smallest
    /// held, or one past the largest seen), or `None` if nothing was removed.
    pub(crate) fn remove(&self, offsets: &[i64]) -> Option<i64> {
        let mut s = self.state();
        let mut removed = false;
        for o in offsets {
            if let Some((m, _)) = s.msgs.remove(o) {
                s.bytes = s.bytes.saturating_sub(m.footprint());
                removed = true;
            }
        }
        if !removed {
            return None;
        }
        Some(s.msgs.keys().next().copied().unwrap_or(s.max_offset + 1))
    }

    /// Concurrent: messages whose listener started longer ago than `timeout`.
    pub(crate) fn expired(&self, timeout: std::time::Duration) -> Vec<MessageExt> {
        self.state()
            .msgs
            .values()
            .filter(|(_, started)| started.is_some_and(|t| t.elapsed() >= timeout))
            .map(|(m, _)| m.clone())
            .collect()
    }

    /// Orderly: takes up to `n` messages in offset order.
    pub(crate) fn take(&self, n: usize) -> Vec<MessageExt> {
        let mut s = self.state();
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let Some((offset, (m, _))) = s.msgs.pop_first() else {
                break;
            };
            s.consuming.insert(offset, m.clone());
            out.push(m);
        }
        out
    }

    /// Orderly: the taken messages are done; returns the offset to commit.
    pub(crate) fn commit(&self) -> Option<i64> {
        let mut s = self.state();
        let last = s.consuming.keys().next_back().copied()?;
        let freed: usize = s.consuming.values().map(MessageExt::footprint).sum();
        s.bytes = s.bytes.saturating_sub(freed);
        s.consuming.clear();
        Some(last + 1)
    }

    /// Orderly: puts taken messages back (to be retried), with their new reconsume counts.
    pub(crate) fn make_available(&self, msgs: Vec<MessageExt>) {
        let mut s = self.state();
        for m in msgs {
            s.consuming.remove(&m.queue_offset);
            s.msgs.insert(m.queue_offset, (m, None));
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
