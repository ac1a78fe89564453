//! The store's surface as narrow capabilities: what appends ([`AppendLog`]), what reads a
//! queue ([`QueueReader`]), what reads records by offset or key ([`RecordReader`]), what
//! operates the store ([`StoreAdmin`]), and replication's [`ReplicaLog`](crate::ReplicaLog).
//! [`MessageStore`] has them all; a processor holds only the ones it uses, so a wrapper (a
//! slave's read-only view, a fault-injecting test store) needs to implement only those.

use std::sync::Arc;
use std::time::Duration;

use apogee_protocol::record::StoredRecord;
use bytes::Bytes;

use crate::consume_queue::CqUnit;
use crate::flush::Flusher;
use crate::retention::RetentionConfig;
use crate::store::put_status;
use crate::{
    AppendOutcome, CleanReport, FlushMode, GetMessageResult, MessageStore, MessageToStore,
    PutStatus, StoreConfig, StoreError, StoreHealth,
};

/// Waiting for an append to meet the flush mode's promise: nothing under ASYNC_FLUSH, the
/// group commit under SYNC_FLUSH.
#[must_use = "an append is durable only once waited for"]
pub struct Durable {
    flush: Option<(Arc<Flusher>, Duration)>,
    end: i64,
}

impl Durable {
    /// Waits on the async runtime.
    pub async fn wait(self) -> PutStatus {
        match self.flush {
            None => PutStatus::Ok,
            Some((flusher, timeout)) => put_status(flusher.wait_durable(self.end, timeout).await),
        }
    }

    /// Waits blocking the thread (services that run on blocking threads).
    pub fn wait_blocking(self) -> PutStatus {
        match self.flush {
            None => PutStatus::Ok,
            Some((flusher, timeout)) => {
                put_status(flusher.wait_durable_blocking(self.end, timeout))
            }
        }
    }
}

/// Appending messages.
pub trait AppendLog: Send + Sync {
    /// Appends without waiting for durability; see [`durability`](Self::durability).
    fn append(&self, messages: &[MessageToStore]) -> Result<AppendOutcome, StoreError>;
    /// Several appends written as one; see [`MessageStore::append_groups`].
    fn append_groups(&self, groups: &[&[MessageToStore]])
    -> Result<Vec<AppendOutcome>, StoreError>;
    /// What `outcome` must wait for to be durable.
    fn durability(&self, outcome: &AppendOutcome) -> Durable;
    /// How long the append in progress has held the CommitLog lock (ms).
    fn append_lock_held_ms(&self) -> i64;
}

/// Reading consume queues.
pub trait QueueReader: Send + Sync {
    /// A read keeping only what `filter` accepts (tags code, then the record).
    fn get_messages_filtered(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        limits: (usize, usize),
        filter: crate::read::ReadFilter<'_>,
    ) -> GetMessageResult;
    /// A read with at most a tags-code filter.
    fn get_messages(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        limits: (usize, usize),
        tags: Option<&dyn Fn(i64) -> bool>,
    ) -> GetMessageResult {
        let filter = crate::read::ReadFilter { tags, record: None };
        self.get_messages_filtered(topic, queue_id, offset, limits, filter)
    }
    fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64;
    fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64;
    /// Lowest and next offset; an error while the queue cannot be opened (see
    /// [`MessageStore::queue_offset_range`]). Answers a consumer's start position from it.
    fn queue_offset_range(&self, topic: &str, queue_id: i32) -> Result<(i64, i64), StoreError>;
    /// Whether reading at `queue_offset` likely goes to disk.
    fn is_cold(&self, topic: &str, queue_id: i32, queue_offset: i64) -> bool;
    fn queue_units(
        &self,
        topic: &str,
        queue_id: i32,
        from: i64,
        count: usize,
    ) -> Vec<(i64, CqUnit)>;
    fn store_time_at(&self, topic: &str, queue_id: i32, queue_offset: i64) -> Option<i64>;
    fn offset_by_time(&self, topic: &str, queue_id: i32, timestamp_ms: i64) -> i64;
}

/// Reading records by CommitLog offset or by key.
pub trait RecordReader: Send + Sync {
    fn record_at(&self, commit_log_offset: i64) -> Option<StoredRecord>;
    /// The record at an offset a client named (validated as a record boundary first).
    fn lookup_record(&self, commit_log_offset: i64) -> Option<StoredRecord>;
    fn record_bytes_at(&self, commit_log_offset: i64, size: usize) -> Option<Bytes>;
    fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> Vec<i64>;
    /// Below this CommitLog offset every record is in the queues and the index.
    fn indexed_offset(&self) -> i64;
}

/// Operating the store: health, retention, cleaning, figures.
pub trait StoreAdmin: Send + Sync {
    fn config(&self) -> &StoreConfig;
    fn health(&self) -> StoreHealth;
    fn retention(&self) -> RetentionConfig;
    fn update_retention(&self, retention: RetentionConfig);
    fn clean_now(&self, manual: bool) -> Result<CleanReport, StoreError>;
    fn delete_expired_files_manually(&self);
    fn delete_topic(&self, topic: &str) -> Result<usize, StoreError>;
    fn clean_expired_queues(&self, eligible: &dyn Fn(&str) -> bool) -> Result<usize, StoreError>;
    fn clean_unused_topics(&self, unused: &dyn Fn(&str) -> bool) -> Result<usize, StoreError>;
    fn commit_log_min_offset(&self) -> i64;
    fn commit_log_max_offset(&self) -> i64;
    fn durable_offset(&self) -> i64;
    fn dispatched_offset(&self) -> i64;
    fn lock_held_ms(&self) -> i64;
    /// CommitLog writes since start (see [`MessageStore::commit_log_writes`]).
    fn commit_log_writes(&self) -> u64;
    fn earliest_message_time(&self) -> Option<i64>;
}

impl AppendLog for MessageStore {
    fn append(&self, messages: &[MessageToStore]) -> Result<AppendOutcome, StoreError> {
        MessageStore::append(self, messages)
    }

    fn append_groups(
        &self,
        groups: &[&[MessageToStore]],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        MessageStore::append_groups(self, groups)
    }

    fn durability(&self, outcome: &AppendOutcome) -> Durable {
        let flush = match self.config().flush {
            FlushMode::Async { .. } => None,
            FlushMode::Sync { timeout } => Some((self.flusher(), timeout)),
        };
        Durable {
            flush,
            end: outcome.end_offset,
        }
    }

    fn append_lock_held_ms(&self) -> i64 {
        MessageStore::append_lock_held_ms(self)
    }
}

impl QueueReader for MessageStore {
    fn get_messages_filtered(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        limits: (usize, usize),
        filter: crate::read::ReadFilter<'_>,
    ) -> GetMessageResult {
        MessageStore::get_messages_filtered(self, topic, queue_id, offset, limits, filter)
    }

    fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        MessageStore::min_offset_in_queue(self, topic, queue_id)
    }

    fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        MessageStore::max_offset_in_queue(self, topic, queue_id)
    }

    fn queue_offset_range(&self, topic: &str, queue_id: i32) -> Result<(i64, i64), StoreError> {
        MessageStore::queue_offset_range(self, topic, queue_id)
    }

    fn is_cold(&self, topic: &str, queue_id: i32, queue_offset: i64) -> bool {
        MessageStore::is_cold(self, topic, queue_id, queue_offset)
    }

    fn queue_units(
        &self,
        topic: &str,
        queue_id: i32,
        from: i64,
        count: usize,
    ) -> Vec<(i64, CqUnit)> {
        MessageStore::queue_units(self, topic, queue_id, from, count)
    }

    fn store_time_at(&self, topic: &str, queue_id: i32, queue_offset: i64) -> Option<i64> {
        MessageStore::store_time_at(self, topic, queue_id, queue_offset)
    }

    fn offset_by_time(&self, topic: &str, queue_id: i32, timestamp_ms: i64) -> i64 {
        MessageStore::offset_by_time(self, topic, queue_id, timestamp_ms)
    }
}

impl RecordReader for MessageStore {
    fn record_at(&self, commit_log_offset: i64) -> Option<StoredRecord> {
        MessageStore::record_at(self, commit_log_offset)
    }

    fn lookup_record(&self, commit_log_offset: i64) -> Option<StoredRecord> {
        MessageStore::lookup_record(self, commit_log_offset)
    }

    fn record_bytes_at(&self, commit_log_offset: i64, size: usize) -> Option<Bytes> {
        MessageStore::record_bytes_at(self, commit_log_offset, size)
    }

    fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> Vec<i64> {
        MessageStore::query_by_key(self, topic, key, max, begin_ms, end_ms)
    }

    fn indexed_offset(&self) -> i64 {
        MessageStore::dispatched_offset(self)
    }
}

impl StoreAdmin for MessageStore {
    fn config(&self) -> &StoreConfig {
        MessageStore::config(self)
    }

    fn health(&self) -> StoreHealth {
        MessageStore::health(self)
    }

    fn retention(&self) -> RetentionConfig {
        MessageStore::retention(self)
    }

    fn update_retention(&self, retention: RetentionConfig) {
        MessageStore::update_retention(self, retention);
    }

    fn clean_now(&self, manual: bool) -> Result<CleanReport, StoreError> {
        MessageStore::clean_now(self, manual)
    }

    fn delete_expired_files_manually(&self) {
        MessageStore::delete_expired_files_manually(self);
    }

    fn delete_topic(&self, topic: &str) -> Result<usize, StoreError> {
        MessageStore::delete_topic(self, topic)
    }

    fn clean_expired_queues(&self, eligible: &dyn Fn(&str) -> bool) -> Result<usize, StoreError> {
        MessageStore::clean_expired_queues(self, eligible)
    }

    fn clean_unused_topics(&self, unused: &dyn Fn(&str) -> bool) -> Result<usize, StoreError> {
        MessageStore::clean_unused_topics(self, unused)
    }

    fn commit_log_min_offset(&self) -> i64 {
        MessageStore::commit_log_min_offset(self)
    }

    fn commit_log_max_offset(&self) -> i64 {
        MessageStore::commit_log_max_offset(self)
    }

    fn durable_offset(&self) -> i64 {
        MessageStore::durable_offset(self)
    }

    fn dispatched_offset(&self) -> i64 {
        MessageStore::dispatched_offset(self)
    }

    fn lock_held_ms(&self) -> i64 {
        MessageStore::append_lock_held_ms(self)
    }

    fn commit_log_writes(&self) -> u64 {
        MessageStore::commit_log_writes(self)
    }

    fn earliest_message_time(&self) -> Option<i64> {
        MessageStore::earliest_message_time(self)
    }
}
