//! The store's append paths: the checks before, the CommitLog write, and the wake-ups after
//! (replication's writers, the sync flush, dispatch).

use std::sync::atomic::Ordering;

use crate::StoreError;
use crate::commit_log::{AppendOutcome, MessageToStore};
use crate::config::FlushMode;

use super::MessageStore;

impl MessageStore {
    /// Appends without waiting for durability; see [`durable`](Self::durable).
    pub fn append(&self, messages: &[MessageToStore]) -> Result<AppendOutcome, StoreError> {
        self.before_append()?;
        let outcome = self
            .commit_log
            .append_seeded(messages, &|topic, queue_id| self.seed(topic, queue_id))
            .map_err(|e| self.on_append_error(e))?;
        self.after_append(outcome.end_offset);
        Ok(outcome)
    }

    /// Several appends written as one, each group's records consecutive and in order, each
    /// group with the outcome it would have had alone (see [`CommitLog::append_groups`]). All
    /// or nothing for the whole call.
    pub fn append_groups(
        &self,
        groups: &[&[MessageToStore]],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        self.before_append()?;
        let outcomes = self
            .commit_log
            .append_groups(groups, &|topic, queue_id| self.seed(topic, queue_id))
            .map_err(|e| self.on_append_error(e))?;
        let end = outcomes.iter().map(|o| o.end_offset).max();
        if let Some(end) = end {
            self.after_append(end);
        }
        Ok(outcomes)
    }

    fn before_append(&self) -> Result<(), StoreError> {
        if self.stop.load(Ordering::Acquire) {
            return Err(StoreError::NotWritable("the store is shutting down".into()));
        }
        if let Some(failure) = self.flusher.failure() {
            return Err(StoreError::NotWritable(format!(
                "a commit-log flush failed ({failure}); writes stay refused until the broker is restarted"
            )));
        }
        self.guard.check(self.clock.now_ms())
    }

    /// A queue's first append since start-up continues from its consume queue's end.
    fn seed(&self, topic: &str, queue_id: i32) -> Result<i64, StoreError> {
        Ok(self
            .queues
            .open_queue(topic, queue_id)?
            .map_or(0, |queue| queue.max_offset()))
    }

    fn after_append(&self, end_offset: i64) {
        self.writes.fetch_add(1, Ordering::Relaxed);
        // Only a wake-up for replication's writers (they read the log itself): skipped when
        // no slave is connected.
        if self.appended.receiver_count() > 0 {
            self.appended.send_replace(end_offset);
        }
        if matches!(self.config.flush, FlushMode::Sync { .. }) {
            self.flusher.request(end_offset);
        }
        // Last, so the flush and the replicas start meanwhile.
        self.reput.appended();
    }

    pub(super) fn on_append_error(&self, error: StoreError) -> StoreError {
        let no_space =
            matches!(&error, StoreError::Io { source, .. } if source.raw_os_error() == Some(28));
        if no_space {
            let now = self.clock.now_ms();
            self.guard.mark_full(now);
            self.guard.measure(now);
            return self.guard.check(now).err().unwrap_or(error);
        }
        error
    }
}
