//! POP bookkeeping: for each (group, topic, queue) a consumer group pops, where the next pop
//! reads (the cursor) and which popped messages are still invisible (in flight), each with its
//! pop time, invisible time and deadline. The group's committed offset of the queue is the
//! first message not yet done (the oldest in flight, else the cursor), so it never passes a
//! message that has not been acked or revived.
//!
//! ```text
//! claim ─► read the queue ─► finish (cursor moves, messages in flight)
//!                                   │ ack (handle's pop time matches) ─► done
//!                                   │ change invisible ─► new pop time and deadline
//!                                   └ deadline passes ─► take_due ─► copied to the retry topic ─► revived
//! ```
//!
//! A queue is read by one pop at a time (a claim); an orderly (FIFO) group's queue is not
//! popped again while any of its messages is in flight, and an orderly message whose deadline
//! passes is read again from the same queue (its attempt count goes up) instead of being
//! copied. In-flight messages live in memory, bounded by `inflight_max`, and are checkpointed
//! with the consumer offsets (`pop_checkpoint`): after a restart they stay invisible until
//! their deadline and their handles still ack them; what changed after the last checkpoint is
//! delivered again (at least once, never lost).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::pop_checkpoint;

/// A queue as one group pops it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueKey {
    pub group: String,
    pub topic: String,
    pub queue_id: i32,
}

impl QueueKey {
    pub fn new(group: &str, topic: &str, queue_id: i32) -> Self {
        Self {
            group: group.to_owned(),
            topic: topic.to_owned(),
            queue_id,
        }
    }
}

/// A popped message not yet acked.
#[derive(Debug, Clone, Copy)]
struct Inflight {
    pop_time: i64,
    deadline: i64,
    commit_log_offset: i64,
    orderly: bool,
    /// Taken by the revive loop; an ack no longer applies.
    reviving: bool,
}

#[derive(Debug)]
struct QueueState {
    key: QueueKey,
    next: Option<i64>,
    reading: bool,
    inflight: BTreeMap<i64, Inflight>,
    /// Orderly messages delivered again: offset → deliveries so far beyond the first.
    attempts: HashMap<i64, i32>,
}

#[derive(Default)]
struct Table {
    ids: HashMap<QueueKey, usize>,
    queues: Vec<QueueState>,
    /// (deadline, queue index, offset) of every message in flight not being revived.
    due: BTreeSet<(i64, usize, i64)>,
    inflight: usize,
}

/// Counters for runtime info and metrics.
#[derive(Debug, Default)]
struct Counters {
    popped: AtomicU64,
    acked: AtomicU64,
    changed: AtomicU64,
    revived: AtomicU64,
}

/// POP figures at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PopFigures {
    pub inflight: u64,
    pub popped: u64,
    pub acked: u64,
    pub changed: u64,
    pub revived: u64,
}

/// Why an ack or a change of invisible time was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleError {
    /// No such message in flight with that pop time: acked already, revived (its invisible
    /// time passed) or never popped.
    NotInFlight,
}

/// A message whose invisible time passed, for the revive loop to copy to the retry topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub key: QueueKey,
    pub offset: i64,
    pub commit_log_offset: i64,
    /// When it was last popped.
    pub pop_time: i64,
    /// An orderly message: already readable again from its queue; nothing to store, but
    /// pops waiting on its queue's topic should be woken.
    pub orderly: bool,
}

/// One message as a pop recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Popped {
    pub queue_offset: i64,
    pub commit_log_offset: i64,
}

/// Shared handle to the POP tables.
#[derive(Clone)]
pub struct PopStates {
    table: Arc<Mutex<Table>>,
    counters: Arc<Counters>,
    offsets: ConsumerOffsets,
    inflight_max: usize,
    /// Where the checkpoint is written (none: never written).
    checkpoint: Option<Arc<std::path::PathBuf>>,
    dirty: Arc<std::sync::atomic::AtomicBool>,
}

/// The right to read one queue for a pop; dropping it without [`PopStates::finish`] lets the
/// next pop read the queue again from the same cursor.
pub struct Claim {
    table: Arc<Mutex<Table>>,
    index: usize,
    /// Where the read starts.
    pub start: i64,
    finished: bool,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.finished {
            let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(queue) = table.queues.get_mut(self.index) {
                queue.reading = false;
            }
        }
    }
}

impl PopStates {
    /// Committed offsets go to `offsets`; at most `inflight_max` messages in flight at once.
    pub fn new(offsets: ConsumerOffsets, inflight_max: usize) -> Self {
        Self {
            table: Arc::default(),
            counters: Arc::default(),
            offsets,
            inflight_max,
            checkpoint: None,
            dirty: Arc::default(),
        }
    }

    /// The tables as the checkpoint in `config_dir` left them (see `pop_checkpoint`).
    pub fn load(
        offsets: ConsumerOffsets,
        inflight_max: usize,
        config_dir: &std::path::Path,
    ) -> Result<Self, crate::BrokerError> {
        let path = config_dir.join("popCheckpoint.json");
        let saved = pop_checkpoint::load(&path)?;
        let mut states = Self::new(offsets, inflight_max);
        states.checkpoint = Some(Arc::new(path));
        states.restore(saved);
        Ok(states)
    }

    fn restore(&self, saved: pop_checkpoint::Checkpoint) {
        let mut table = self.lock();
        for queue in saved.queues {
            let key = queue.key();
            let committed = self.offsets.query(&key.group, &key.topic, key.queue_id);
            let floor = committed.unwrap_or(i64::MIN);
            let index = index_of(&mut table, &key);
            table.queues[index].next = queue.next.max(committed);
            for [offset, pop_time, deadline, commit_log_offset, orderly] in queue.inflight {
                // Never dropped, even past `inflight_max`: the cursor is already past it.
                if offset < floor {
                    continue;
                }
                let entry = Inflight {
                    pop_time,
                    deadline,
                    commit_log_offset,
                    orderly: orderly != 0,
                    reviving: false,
                };
                if table.queues[index].inflight.insert(offset, entry).is_none() {
                    table.inflight += 1;
                    table.due.insert((deadline, index, offset));
                }
            }
            for [offset, count] in queue.attempts {
                let count = i32::try_from(count).unwrap_or(i32::MAX);
                table.queues[index].attempts.insert(offset, count);
            }
        }
    }

    /// Writes the checkpoint when something changed since the last write.
    pub fn persist(&self) -> Result<(), crate::BrokerError> {
        let Some(path) = &self.checkpoint else {
            return Ok(());
        };
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let checkpoint = self.snapshot();
        pop_checkpoint::save(path, &checkpoint)
            .inspect_err(|_| self.dirty.store(true, Ordering::Release))
    }

    fn snapshot(&self) -> pop_checkpoint::Checkpoint {
        let table = self.lock();
        let queues = table
            .queues
            .iter()
            .filter(|q| q.next.is_some() || !q.inflight.is_empty())
            .map(|q| pop_checkpoint::QueueCheckpoint {
                group: q.key.group.clone(),
                topic: q.key.topic.clone(),
                queue_id: q.key.queue_id,
                next: q.next,
                inflight: q
                    .inflight
                    .iter()
                    .map(|(offset, e)| {
                        [
                            *offset,
                            e.pop_time,
                            e.deadline,
                            e.commit_log_offset,
                            i64::from(e.orderly),
                        ]
                    })
                    .collect(),
                attempts: q
                    .attempts
                    .iter()
                    .map(|(o, n)| [*o, i64::from(*n)])
                    .collect(),
            })
            .collect();
        pop_checkpoint::Checkpoint { queues }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The lock, for a change the checkpoint must get.
    fn lock_mut(&self) -> MutexGuard<'_, Table> {
        self.dirty.store(true, Ordering::Release);
        self.lock()
    }

    /// The right to read `key`, or `None` while another pop reads it, while an orderly
    /// queue has messages in flight, or while `inflight_max` messages are in flight. A
    /// queue popped for the first time starts at the group's committed offset, else at
    /// `initial()`; a pending reset (`reset()`, asked only when no other pop reads the queue)
    /// moves the cursor and forgets what was in flight.
    pub fn claim(
        &self,
        key: &QueueKey,
        orderly: bool,
        reset: impl FnOnce() -> Option<i64>,
        initial: impl FnOnce() -> i64,
    ) -> Option<Claim> {
        let mut table = self.lock_mut();
        let index = index_of(&mut table, key);
        if table.queues[index].reading {
            return None;
        }
        if let Some(target) = reset() {
            forget_inflight(&mut table, index);
            table.queues[index].next = Some(target);
        }
        if table.inflight >= self.inflight_max {
            return None;
        }
        let queue = &mut table.queues[index];
        if orderly && !queue.inflight.is_empty() {
            return None;
        }
        let start = match queue.next {
            Some(next) => next,
            None => self
                .offsets
                .query(&key.group, &key.topic, key.queue_id)
                .unwrap_or_else(initial),
        };
        queue.next = Some(start);
        queue.reading = true;
        Some(Claim {
            table: Arc::clone(&self.table),
            index,
            start,
            finished: false,
        })
    }

    /// Records a read: the messages popped become in flight until `pop_time + invisible_ms`
    /// and the cursor moves to `next`. Returns each message's earlier deliveries (orderly
    /// messages read again; 0 otherwise).
    pub fn finish(
        &self,
        mut claim: Claim,
        popped: &[Popped],
        next: i64,
        (pop_time, invisible_ms): (i64, i64),
        orderly: bool,
    ) -> Vec<i32> {
        claim.finished = true;
        let deadline = pop_time.saturating_add(invisible_ms);
        let mut table = self.lock_mut();
        let index = claim.index;
        let mut attempts = Vec::with_capacity(popped.len());
        for message in popped {
            let queue = &mut table.queues[index];
            attempts.push(
                queue
                    .attempts
                    .get(&message.queue_offset)
                    .copied()
                    .unwrap_or(0),
            );
            let entry = Inflight {
                pop_time,
                deadline,
                commit_log_offset: message.commit_log_offset,
                orderly,
                reviving: false,
            };
            match queue.inflight.insert(message.queue_offset, entry) {
                Some(old) => {
                    table
                        .due
                        .remove(&(old.deadline, index, message.queue_offset));
                }
                None => table.inflight += 1,
            }
            table.due.insert((deadline, index, message.queue_offset));
        }
        let queue = &mut table.queues[index];
        // The read is the authority: it may move the cursor back (a queue that restarted
        // lower, a reset) as well as forward.
        queue.next = Some(next);
        queue.reading = false;
        self.counters
            .popped
            .fetch_add(u64::try_from(popped.len()).unwrap_or(0), Ordering::Relaxed);
        self.commit(&table, index);
        attempts
    }

    /// Acks the message at `offset` popped at `pop_time`.
    pub fn ack(&self, key: &QueueKey, offset: i64, pop_time: i64) -> Result<(), HandleError> {
        let mut table = self.lock_mut();
        let index = *table.ids.get(key).ok_or(HandleError::NotInFlight)?;
        let entry = live_entry(&table, index, offset, pop_time)?;
        table.due.remove(&(entry.deadline, index, offset));
        let queue = &mut table.queues[index];
        queue.inflight.remove(&offset);
        queue.attempts.remove(&offset);
        table.inflight -= 1;
        self.counters.acked.fetch_add(1, Ordering::Relaxed);
        self.commit(&table, index);
        Ok(())
    }

    /// Makes the message at `offset` popped at `pop_time` invisible until `now +
    /// invisible_ms`; returns its new pop time (`now`), which the new handle carries.
    pub fn change_invisible(
        &self,
        key: &QueueKey,
        offset: i64,
        pop_time: i64,
        (now, invisible_ms): (i64, i64),
    ) -> Result<i64, HandleError> {
        let mut table = self.lock_mut();
        let index = *table.ids.get(key).ok_or(HandleError::NotInFlight)?;
        let entry = live_entry(&table, index, offset, pop_time)?;
        let deadline = now.saturating_add(invisible_ms);
        table.due.remove(&(entry.deadline, index, offset));
        table.due.insert((deadline, index, offset));
        if let Some(slot) = table.queues[index].inflight.get_mut(&offset) {
            slot.pop_time = now;
            slot.deadline = deadline;
        }
        self.counters.changed.fetch_add(1, Ordering::Relaxed);
        Ok(now)
    }

    /// Messages whose deadline is at or before `now` (at most `max`). Orderly ones are made
    /// readable again from their queue at once (returned with `orderly`, for the caller to
    /// wake that topic's pops); the others are returned, marked as being revived, for the
    /// caller to copy and then call [`revived`](Self::revived).
    pub fn take_due(&self, now: i64, max: usize) -> Vec<Due> {
        if self.next_deadline().is_none_or(|deadline| deadline > now) {
            return Vec::new();
        }
        let mut table = self.lock_mut();
        let mut out = Vec::new();
        while out.len() < max {
            let Some(&(deadline, index, offset)) = table.due.first() else {
                break;
            };
            if deadline > now {
                break;
            }
            table.due.pop_first();
            let queue = &mut table.queues[index];
            let Some(entry) = queue
                .inflight
                .get_mut(&offset)
                .filter(|e| e.deadline == deadline)
            else {
                continue;
            };
            if entry.orderly {
                let pop_time = entry.pop_time;
                queue.inflight.remove(&offset);
                *queue.attempts.entry(offset).or_insert(0) += 1;
                queue.next = Some(queue.next.map_or(offset, |n| n.min(offset)));
                let key = queue.key.clone();
                table.inflight -= 1;
                self.counters.revived.fetch_add(1, Ordering::Relaxed);
                self.commit(&table, index);
                out.push(Due {
                    key,
                    offset,
                    commit_log_offset: -1,
                    pop_time,
                    orderly: true,
                });
                continue;
            }
            entry.reviving = true;
            out.push(Due {
                key: queue.key.clone(),
                offset,
                commit_log_offset: entry.commit_log_offset,
                pop_time: entry.pop_time,
                orderly: false,
            });
        }
        out
    }

    /// A message taken by [`take_due`](Self::take_due) is stored again (or needs nothing
    /// more): it leaves the in-flight table.
    pub fn revived(&self, due: &Due) {
        let mut table = self.lock_mut();
        let Some(&index) = table.ids.get(&due.key) else {
            return;
        };
        let taken = table.queues[index]
            .inflight
            .get(&due.offset)
            .is_some_and(|e| e.reviving && e.pop_time == due.pop_time);
        if taken {
            table.queues[index].inflight.remove(&due.offset);
            table.inflight -= 1;
            self.counters.revived.fetch_add(1, Ordering::Relaxed);
        }
        self.commit(&table, index);
    }

    /// A revive that could not store the copy: try again at `retry_at`.
    pub fn revive_failed(&self, due: &Due, retry_at: i64) {
        let mut table = self.lock_mut();
        let Some(&index) = table.ids.get(&due.key) else {
            return;
        };
        let taken = table.queues[index].inflight.get_mut(&due.offset);
        if let Some(entry) = taken.filter(|e| e.reviving && e.pop_time == due.pop_time) {
            entry.reviving = false;
            entry.deadline = retry_at;
            table.due.insert((retry_at, index, due.offset));
        }
    }

    /// The earliest deadline of a message in flight.
    pub fn next_deadline(&self) -> Option<i64> {
        self.lock().due.first().map(|(deadline, _, _)| *deadline)
    }

    /// Where the group's next pop of the queue reads, once it has popped it.
    pub fn cursor(&self, key: &QueueKey) -> Option<i64> {
        let table = self.lock();
        table.ids.get(key).and_then(|&i| table.queues[i].next)
    }

    /// The CommitLog offset of the message at `offset` popped at `pop_time`, while it is in
    /// flight (a handle's own claim about it is not trusted).
    pub fn commit_log_offset(&self, key: &QueueKey, offset: i64, pop_time: i64) -> Option<i64> {
        let table = self.lock();
        let index = *table.ids.get(key)?;
        live_entry(&table, index, offset, pop_time)
            .ok()
            .map(|e| e.commit_log_offset)
    }

    /// Messages in flight on one queue of one group.
    pub fn inflight_of(&self, key: &QueueKey) -> usize {
        let table = self.lock();
        table
            .ids
            .get(key)
            .map_or(0, |&i| table.queues[i].inflight.len())
    }

    pub fn figures(&self) -> PopFigures {
        let inflight = u64::try_from(self.lock().inflight).unwrap_or(u64::MAX);
        let c = &self.counters;
        PopFigures {
            inflight,
            popped: c.popped.load(Ordering::Relaxed),
            acked: c.acked.load(Ordering::Relaxed),
            changed: c.changed.load(Ordering::Relaxed),
            revived: c.revived.load(Ordering::Relaxed),
        }
    }

    /// Commits the queue's first message not done (its oldest in flight, else its cursor).
    fn commit(&self, table: &Table, index: usize) {
        let queue = &table.queues[index];
        let first = queue.inflight.keys().next().copied();
        if let Some(offset) = first.or(queue.next) {
            let key = &queue.key;
            self.offsets
                .commit(&key.group, &key.topic, key.queue_id, offset);
        }
    }
}

fn index_of(table: &mut Table, key: &QueueKey) -> usize {
    if let Some(&index) = table.ids.get(key) {
        return index;
    }
    let index = table.queues.len();
    table.queues.push(QueueState {
        key: key.clone(),
        next: None,
        reading: false,
        inflight: BTreeMap::new(),
        attempts: HashMap::new(),
    });
    table.ids.insert(key.clone(), index);
    index
}

/// The message in flight at `offset` with `pop_time`, not being revived.
fn live_entry(
    table: &Table,
    index: usize,
    offset: i64,
    pop_time: i64,
) -> Result<Inflight, HandleError> {
    table.queues[index]
        .inflight
        .get(&offset)
        .filter(|e| e.pop_time == pop_time && !e.reviving)
        .copied()
        .ok_or(HandleError::NotInFlight)
}

fn forget_inflight(table: &mut Table, index: usize) {
    let entries = std::mem::take(&mut table.queues[index].inflight);
    table.queues[index].attempts.clear();
    for (offset, entry) in &entries {
        table.due.remove(&(entry.deadline, index, *offset));
    }
    table.inflight -= entries.len();
}

#[cfg(test)]
#[path = "pop_state_tests.rs"]
mod tests;
