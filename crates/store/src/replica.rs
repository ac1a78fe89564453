//! The replication seam: what master/slave replication needs from the store and nothing
//! else. A master reads its CommitLog in frames and learns of appends; a slave appends the
//! master's bytes at the master's offsets and lets its own reput build queues and index.

use bytes::Bytes;

use super::MessageStore;
use crate::StoreError;

/// A CommitLog as replication sees it.
pub trait ReplicaLog: Send + Sync {
    /// The next offset to be written (what a slave reports, what a master has).
    fn max_offset(&self) -> i64;
    /// The size of one CommitLog file (an empty slave starts at the master's last file).
    fn file_size(&self) -> usize;
    /// Appends a master's bytes at exactly `offset` (this log's end); returns the new end.
    fn append_at(&self, offset: i64, bytes: &[u8]) -> Result<i64, StoreError>;
    /// Written bytes from `offset`, at most `max`, never across a file end; `None` when
    /// there are none (yet, or any more).
    fn read_from(&self, offset: i64, max: usize) -> Option<Bytes>;
    /// A receiver that sees the log's end move after every local append.
    fn appended(&self) -> tokio::sync::watch::Receiver<i64>;
    /// Cuts the log (and its queues) back to `offset`, a record boundary; see
    /// [`MessageStore::truncate_tail`].
    fn truncate_tail(&self, offset: i64) -> Result<i64, StoreError>;
    /// Where dispatch to the queues has got to (a new master waits for it to reach the end).
    fn dispatched(&self) -> i64;
    /// Before a promoted replica's first write: see [`MessageStore::restore_queue_offsets`].
    fn restore_queue_offsets(&self);
    /// Consumers see only records that end at or below `limit` (controller mode's confirm
    /// offset: what every in-sync replica has; `i64::MAX` lifts it). A record that straddles
    /// the limit waits for it.
    fn set_dispatch_limit(&self, limit: i64);
}

impl ReplicaLog for MessageStore {
    fn max_offset(&self) -> i64 {
        self.commit_log.max_offset()
    }

    fn file_size(&self) -> usize {
        self.commit_log.files().file_size()
    }

    fn append_at(&self, offset: i64, bytes: &[u8]) -> Result<i64, StoreError> {
        if self.stop.load(std::sync::atomic::Ordering::Acquire) {
            return Err(StoreError::NotWritable("the store is shutting down".into()));
        }
        self.guard.check(self.clock.now_ms())?;
        let end = self.commit_log.append_replica(offset, bytes);
        // Ringing also after an error: the bytes of the files before a failing one are
        // published and want dispatching.
        self.reput.wake();
        end.map_err(|e| self.on_append_error(e))
    }

    fn read_from(&self, offset: i64, max: usize) -> Option<Bytes> {
        self.commit_log.read_replica(offset, max)
    }

    fn appended(&self) -> tokio::sync::watch::Receiver<i64> {
        self.appended.subscribe()
    }

    fn truncate_tail(&self, offset: i64) -> Result<i64, StoreError> {
        MessageStore::truncate_tail(self, offset)
    }

    fn dispatched(&self) -> i64 {
        self.dispatched_offset()
    }

    fn restore_queue_offsets(&self) {
        MessageStore::restore_queue_offsets(self);
    }

    fn set_dispatch_limit(&self, limit: i64) {
        self.reput.set_limit(limit);
    }
}
