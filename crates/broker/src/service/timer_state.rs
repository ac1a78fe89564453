//! What the timer service holds between passes, and the passes themselves: enqueue (timer
//! queue → timer log + pending set), deliver (due timers → their real topic), checkpoint.
//! Everything here runs on one blocking thread at a time, under the service's lock.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;

use apogee_model::TopicName;
use apogee_model::system_topic::TIMER_TOPIC;
use apogee_protocol::record::{StoredRecord, java_string_hash};
use apogee_protocol::{Properties, property};
use apogee_store::timer::{
    CheckpointFile, MAGIC_DEFAULT, MAGIC_DELETE, MAGIC_ROLL, Pending, PendingTimers,
    TimerCheckpoint, TimerLog, TimerUnit, pending::CANCEL_GRACE_MS,
};
use apogee_store::{MessageStore, MessageToStore};

use crate::BrokerError;
use crate::ops::reput;
use crate::service::internal_queue::InternalQueue;

/// The timer queue.
pub(crate) const QUEUE: InternalQueue<'static> = InternalQueue {
    topic: TIMER_TOPIC,
    queue_id: 0,
};
/// Timer messages read per enqueue step.
const ENQUEUE_BATCH: usize = 256;
/// Timers delivered per append.
const DELIVER_BATCH: usize = 64;

/// Counters for runtime info and metrics.
#[derive(Debug, Default, Clone, Copy)]
pub struct TimerCounters {
    pub enqueued: u64,
    pub delivered: u64,
    pub cancelled: u64,
    /// How late the last delivered timer was, ms.
    pub last_lag_ms: i64,
    /// Timer messages enqueued and delivered per second over the last sample (≥ 1 s).
    pub enqueue_tps: f64,
    pub dequeue_tps: f64,
    /// The last sample: time, enqueued, delivered.
    sampled: (i64, u64, u64),
}

impl TimerCounters {
    /// Recomputes the rates when a second or more has passed since the last sample.
    pub fn sample(&mut self, now_ms: i64) {
        let (at, enqueued, delivered) = self.sampled;
        let elapsed = now_ms - at;
        if elapsed < 1000 {
            return;
        }
        let per_second = |delta: u64| delta as f64 * 1000.0 / elapsed as f64;
        if at > 0 {
            self.enqueue_tps = per_second(self.enqueued - enqueued);
            self.dequeue_tps = per_second(self.delivered - delivered);
        }
        self.sampled = (now_ms, self.enqueued, self.delivered);
    }
}

pub(crate) struct TimerState {
    pub log: TimerLog,
    pub pending: PendingTimers,
    /// Next offset of the timer queue to enqueue.
    pub enqueue_offset: i64,
    /// `REAL_TOPIC+UNIQ_KEY` of cancelled timers → when the cancellation lapses.
    pub cancels: HashMap<String, i64>,
    /// Pending timers per real topic (GET_TIMER_METRICS).
    pub per_topic: BTreeMap<String, i64>,
    /// CommitLog position the next checkpoint needs on disk (enqueued and delivered records).
    pub needs_durable: i64,
    pub checkpoint: TimerCheckpoint,
    pub changed: bool,
    pub counters: TimerCounters,
    /// Set while the pending set is rebuilt from the timer queue itself.
    rebuild: Option<Rebuild>,
    /// Timer messages stored again by a roll whose newer copy is pending too (rebuild only).
    superseded: HashSet<i64>,
}

/// Rebuilding the pending set from the timer queue, when the timer log is missing or shorter
/// than the checkpoint says (a promoted slave, a lost directory).
struct Rebuild {
    /// Timers due before this were delivered (the checkpoint's read time).
    floor_ms: i64,
    /// The checkpoint's queue offset: the floor applies before it.
    checkpoint_offset: i64,
    /// The queue's end when the rebuild started: it ends there.
    until_offset: i64,
    /// Newest copy of each timer (`topic+uniqKey`) seen, by CommitLog offset.
    latest: HashMap<String, i64>,
}

impl TimerState {
    /// Rebuilds the pending set from the timer log and the checkpoint.
    pub fn recover(
        store: &MessageStore,
        (log_dir, file_bytes): (&std::path::Path, usize),
        checkpoint_file: &CheckpointFile,
        per_topic: BTreeMap<String, i64>,
    ) -> Result<Self, BrokerError> {
        let io = |e: std::io::Error| BrokerError::SystemError(format!("timer store: {e}"));
        let checkpoint = checkpoint_file.load().map_err(io)?;
        // Only units still pending are kept in memory while the log is read.
        let pending = |u: &TimerUnit| Pending::of(u, 0).due_ms >= checkpoint.last_read_time_ms;
        let flushed = checkpoint.last_timer_log_flush_pos;
        let (mut log, mut units) =
            TimerLog::open(log_dir, file_bytes, flushed, &pending).map_err(io)?;
        let mut rebuild = None;
        if log.write_pos() < checkpoint.last_timer_log_flush_pos {
            tracing::warn!(
                have = log.write_pos(),
                checkpoint = checkpoint.last_timer_log_flush_pos,
                "timer log shorter than its checkpoint; rebuilding the timers from the timer queue"
            );
            drop(log);
            (log, _) = TimerLog::open(log_dir, file_bytes, 0, &|_| false).map_err(io)?;
            units.clear();
            rebuild = Some(Rebuild {
                floor_ms: checkpoint.last_read_time_ms,
                checkpoint_offset: checkpoint.last_timer_queue_offset,
                until_offset: store.max_offset_in_queue(QUEUE.topic, QUEUE.queue_id),
                latest: HashMap::new(),
            });
        }
        // A rebuild counts every timer again, from the queue's start.
        let (enqueue_offset, per_topic) = match rebuild {
            Some(_) => (
                store.min_offset_in_queue(QUEUE.topic, QUEUE.queue_id),
                BTreeMap::new(),
            ),
            None => (
                QUEUE.clamp(store, checkpoint.last_timer_queue_offset),
                per_topic,
            ),
        };
        let mut state = Self {
            log,
            pending: PendingTimers::default(),
            enqueue_offset,
            cancels: HashMap::new(),
            per_topic,
            needs_durable: 0,
            checkpoint,
            changed: false,
            counters: TimerCounters::default(),
            rebuild,
            superseded: HashSet::new(),
        };
        for start in state.log.file_starts() {
            state.pending.track_file(start);
        }
        for (pos, unit) in units {
            let pending = Pending::of(&unit, pos);
            if pending.delete
                && let Some(key) = store
                    .record_at(unit.commit_offset)
                    .and_then(|r| delete_key(&r))
            {
                state.cancels.insert(key, pending.due_ms);
            }
            state.pending.push(pending, state.log.file_of(pos));
        }
        tracing::info!(
            pending = state.pending.len(),
            enqueue_offset = state.enqueue_offset,
            "timer store recovered"
        );
        Ok(state)
    }

    /// Moves timer messages from the queue into the log and the pending set; how many.
    pub fn enqueue(
        &mut self,
        store: &MessageStore,
        (pending_max, roll_window_ms): (usize, i64),
        now_ms: i64,
    ) -> Result<usize, BrokerError> {
        let room = pending_max
            .saturating_sub(self.pending.len())
            .min(ENQUEUE_BATCH);
        if room == 0 {
            return Ok(0);
        }
        let read = QUEUE.read(store, self.enqueue_offset, room);
        // Progress counts records skipped by a rebuild too, so the pass goes on reading.
        let count = read.records.len();
        for (queue_offset, record) in &read.records {
            if self.rebuilt_away(*queue_offset, record) {
                continue;
            }
            self.enqueue_one(record, now_ms, roll_window_ms)?;
        }
        if self
            .rebuild
            .as_ref()
            .is_some_and(|r| read.next >= r.until_offset)
        {
            tracing::info!(
                pending = self.pending.len(),
                "timers rebuilt from the timer queue"
            );
            self.rebuild = None;
        }
        if read.next != self.enqueue_offset {
            self.enqueue_offset = read.next;
            self.changed = true;
        }
        Ok(count)
    }

    /// During a rebuild: whether a timer message is skipped (delivered before the checkpoint);
    /// an older copy of a rolled timer is marked superseded.
    fn rebuilt_away(&mut self, queue_offset: i64, record: &StoredRecord) -> bool {
        let Some(rebuild) = self.rebuild.as_mut() else {
            return false;
        };
        let props = properties(record);
        let out = props
            .get(property::TIMER_OUT_MS)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(record.store_timestamp);
        if queue_offset < rebuild.checkpoint_offset && out < rebuild.floor_ms {
            return true;
        }
        let key = format!(
            "{}+{}+{}",
            props.get(property::REAL_TOPIC).unwrap_or(""),
            props.get(property::UNIQ_KEY).unwrap_or(""),
            props.contains(property::TIMER_DEL_UNIQKEY)
        );
        if let Some(older) = rebuild.latest.insert(key, record.physical_offset) {
            self.superseded.insert(older);
        }
        false
    }

    fn enqueue_one(
        &mut self,
        record: &StoredRecord,
        now_ms: i64,
        roll_window_ms: i64,
    ) -> Result<(), BrokerError> {
        let props = properties(record);
        let deliver_ms = fire_time(record);
        let real_topic = props.get(property::REAL_TOPIC).unwrap_or("");
        let delete = props.contains(property::TIMER_DEL_UNIQKEY);
        let mut magic = if delete {
            MAGIC_DEFAULT | MAGIC_DELETE
        } else {
            MAGIC_DEFAULT
        };
        let mut pops_at = deliver_ms;
        if deliver_ms.saturating_sub(now_ms) > roll_window_ms {
            magic |= MAGIC_ROLL;
            pops_at = now_ms.saturating_add(roll_window_ms);
        }
        let unit = TimerUnit {
            magic,
            write_ms: now_ms,
            deliver_ms: pops_at,
            commit_offset: record.physical_offset,
            size: record_size(record),
            topic_hash: java_string_hash(real_topic),
        };
        let pos = self
            .log
            .append(&unit)
            .map_err(|e| BrokerError::SystemError(format!("timerlog append: {e}")))?;
        let pending = Pending::of(&unit, pos);
        if delete {
            if let Some(key) = delete_key(record) {
                self.cancels
                    .insert(key, deliver_ms.saturating_add(CANCEL_GRACE_MS));
            }
        } else {
            *self.per_topic.entry(real_topic.to_owned()).or_default() += 1;
        }
        self.pending.push(pending, self.log.file_of(pos));
        self.needs_durable = self
            .needs_durable
            .max(record.physical_offset + i64::from(record_size(record)));
        self.counters.enqueued += 1;
        self.changed = true;
        Ok(())
    }

    /// Delivers every timer due by `now_ms` (at most `max`); how many were stored.
    pub fn deliver(
        &mut self,
        store: &MessageStore,
        now_ms: i64,
        max: usize,
        store_host: SocketAddr,
    ) -> Result<usize, BrokerError> {
        let mut delivered = 0;
        while delivered < max {
            let mut taken = Vec::new();
            let mut messages = Vec::new();
            while messages.len() < DELIVER_BATCH {
                let log = &self.log;
                let Some(timer) = self.pending.pop_due(now_ms, |pos| log.file_of(pos)) else {
                    break;
                };
                self.changed = true;
                if let Some(message) = self.resolve(store, &timer, now_ms, store_host) {
                    taken.push(timer);
                    messages.push(message);
                }
            }
            if messages.is_empty() {
                return Ok(delivered);
            }
            match store.append(&messages) {
                Ok(outcome) => {
                    self.needs_durable = self.needs_durable.max(outcome.end_offset);
                    for message in messages.iter().filter(|m| m.topic != TIMER_TOPIC) {
                        let topic = message.topic.clone();
                        self.count_down(&topic);
                    }
                    let lag = now_ms - taken.iter().map(|t| t.due_ms).max().unwrap_or(now_ms);
                    self.counters.last_lag_ms = lag;
                    self.counters.delivered += messages.len() as u64;
                    delivered += messages.len();
                }
                Err(e) => {
                    for timer in taken {
                        let file = self.log.file_of(timer.log_pos);
                        self.pending.push(timer, file);
                    }
                    return Err(BrokerError::from(e));
                }
            }
        }
        Ok(delivered)
    }

    /// The message a due timer delivers; `None` for a cancellation, a cancelled timer, or a
    /// unit whose record is gone or not the timer it names (logged).
    fn resolve(
        &mut self,
        store: &MessageStore,
        timer: &Pending,
        now_ms: i64,
        host: SocketAddr,
    ) -> Option<MessageToStore> {
        let record = timer_record(store, timer)?;
        if self.superseded.remove(&timer.commit_offset) {
            if !timer.delete {
                self.count_down(properties(&record).get(property::REAL_TOPIC).unwrap_or(""));
            }
            return None;
        }
        if timer.roll {
            return Some(self.rolled(&record, timer.delete, host));
        }
        if timer.delete {
            if let Some(key) = delete_key(&record) {
                self.cancels.remove(&key);
            }
            return None;
        }
        let mut props = properties(&record);
        let real_topic = props.get(property::REAL_TOPIC).map(str::to_owned);
        let real_queue = props
            .get(property::REAL_QUEUE_ID)
            .and_then(|q| q.trim().parse::<i32>().ok());
        let (Some(topic), Some(queue_id)) = (real_topic, real_queue) else {
            tracing::warn!(
                offset = timer.commit_offset,
                "timer message without REAL_TOPIC/REAL_QID dropped"
            );
            return None;
        };
        if TopicName::check(&topic).is_err() {
            tracing::warn!(
                offset = timer.commit_offset,
                topic,
                "timer message with an illegal REAL_TOPIC dropped"
            );
            return None;
        }
        let uniq = props.get(property::UNIQ_KEY).unwrap_or("");
        if self.cancels.remove(&format!("{topic}+{uniq}")).is_some() {
            self.count_down(&topic);
            self.counters.cancelled += 1;
            return None;
        }
        props.remove(property::REAL_TOPIC);
        props.remove(property::REAL_QUEUE_ID);
        props.insert(
            property::TIMER_ENQUEUE_MS,
            &record.store_timestamp.to_string(),
        );
        props.insert(property::TIMER_DEQUEUE_MS, &now_ms.to_string());
        Some(reput::copy_of(
            &record,
            (&topic, queue_id),
            props.into_string(),
            host,
        ))
    }

    /// The timer message stored again on the timer topic (Java's roll: `TIMER_ROLL_TIMES` + 1).
    fn rolled(&mut self, record: &StoredRecord, delete: bool, host: SocketAddr) -> MessageToStore {
        let mut props = properties(record);
        let times = props
            .get(property::TIMER_ROLL_TIMES)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(0);
        props.insert(property::TIMER_ROLL_TIMES, &(times + 1).to_string());
        if !delete {
            // Counted again when the copy is enqueued.
            self.count_down(props.get(property::REAL_TOPIC).unwrap_or(""));
        }
        reput::copy_of(record, (TIMER_TOPIC, 0), props.into_string(), host)
    }

    fn count_down(&mut self, topic: &str) {
        if let Some(count) = self.per_topic.get_mut(topic) {
            *count -= 1;
            if *count <= 0 {
                self.per_topic.remove(topic);
            }
        }
    }

    /// Saves the checkpoint when something changed and the CommitLog is on disk far enough
    /// (never waiting: a later pass tries again); then deletes drained log files.
    pub fn checkpoint(
        &mut self,
        store: &MessageStore,
        file: &CheckpointFile,
        now_ms: i64,
    ) -> Result<bool, BrokerError> {
        // Nothing is saved while a rebuild runs: a crash then starts the rebuild over.
        if !self.changed || self.rebuild.is_some() {
            return Ok(false);
        }
        if !store.wait_on_disk(self.needs_durable, std::time::Duration::ZERO) {
            return Ok(false);
        }
        let io = |e: std::io::Error| BrokerError::SystemError(format!("timer checkpoint: {e}"));
        let flushed = self.log.flush().map_err(io)?;
        // Every timer due at or before `now_ms` has popped unless it is still pending.
        let read_time = self
            .pending
            .next_due()
            .map_or(now_ms + 1, |due| due.min(now_ms + 1));
        self.checkpoint = TimerCheckpoint {
            last_read_time_ms: read_time,
            last_timer_log_flush_pos: flushed,
            last_timer_queue_offset: self.enqueue_offset,
            master_timer_queue_offset: self.enqueue_offset,
            state_version: 0,
            timestamp: now_ms,
            counter: self.checkpoint.counter + 1,
        };
        file.save(&self.checkpoint).map_err(io)?;
        self.changed = false;
        for start in self.pending.drained_files() {
            self.log.delete_file(start).map_err(io)?;
            if !self.log.file_starts().contains(&start) {
                self.pending.forget_file(start);
            }
        }
        let now = now_ms;
        self.cancels
            .retain(|_, lapses| lapses.saturating_add(CANCEL_GRACE_MS) >= now);
        Ok(true)
    }
}

fn properties(record: &StoredRecord) -> Properties {
    Properties::from_wire(String::from_utf8_lossy(&record.properties).into_owned())
}

/// The timer message a pending timer names; `None` (logged) when the record there is gone or
/// is not that timer (a unit that outlived its record in a crash).
fn timer_record(store: &MessageStore, timer: &Pending) -> Option<StoredRecord> {
    let grace = if timer.delete && !timer.roll {
        CANCEL_GRACE_MS
    } else {
        0
    };
    let deliver_ms = timer.due_ms.saturating_sub(grace);
    let record = store
        .record_at(timer.commit_offset)
        .filter(|r| r.topic_str() == TIMER_TOPIC && record_size(r) == timer.size)
        .filter(|r| timer.roll || fire_time(r) == deliver_ms);
    if record.is_none() {
        tracing::warn!(
            offset = timer.commit_offset,
            "timer unit names no timer message (lost in a crash?); skipped"
        );
    }
    record
}

/// `TIMER_OUT_MS`, or the store time when it is missing.
fn fire_time(record: &StoredRecord) -> i64 {
    properties(record)
        .get(property::TIMER_OUT_MS)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(record.store_timestamp)
}

/// A cancellation's key (`TIMER_DEL_UNIQKEY`, Java's `realTopic+uniqKey`).
fn delete_key(record: &StoredRecord) -> Option<String> {
    properties(record)
        .get(property::TIMER_DEL_UNIQKEY)
        .map(str::to_owned)
}

fn record_size(record: &StoredRecord) -> i32 {
    i32::try_from(record.encoded_len()).unwrap_or(i32::MAX)
}

#[cfg(test)]
#[path = "timer_state_tests.rs"]
mod tests;
