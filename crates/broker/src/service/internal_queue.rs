//! The primitive under the broker's internal delivery loops (delay levels, the timer, later
//! POP revive): read a system queue from a saved position, decode each record, and report how
//! far the read got, skipping what cannot be decoded and jumping over what retention has
//! cleaned. Callers decide, re-put through `ops`, and advance their own saved position.

use apogee_protocol::record::{RecordAt, StoredRecord, decode_record};
use apogee_store::MessageStore;

/// One read of an internal queue.
pub struct QueueBatch {
    /// Decoded records with their queue offsets, in order.
    pub records: Vec<(i64, StoredRecord)>,
    /// Where the next read starts if every record here is handled: past the last record or
    /// unreadable unit, or the queue's first offset after cleaning.
    pub next: i64,
}

/// A queue of one system topic.
#[derive(Debug, Clone, Copy)]
pub struct InternalQueue<'a> {
    pub topic: &'a str,
    pub queue_id: i32,
}

impl InternalQueue<'_> {
    /// Up to `max` records from `offset`.
    pub fn read(&self, store: &MessageStore, offset: i64, max: usize) -> QueueBatch {
        let result = store.get_messages(self.topic, self.queue_id, offset, (max, usize::MAX), None);
        let mut next = result.next_begin_offset.max(offset);
        let mut records = Vec::with_capacity(result.messages.len());
        for (bytes, queue_offset) in result.messages.iter().zip(&result.queue_offsets) {
            match decode_record(bytes, 0, false) {
                Ok((RecordAt::Message(record), _)) => records.push((*queue_offset, record)),
                _ => tracing::warn!(
                    topic = self.topic,
                    queue_id = self.queue_id,
                    queue_offset,
                    "unreadable record in an internal queue skipped"
                ),
            }
            next = next.max(queue_offset + 1);
        }
        QueueBatch { records, next }
    }

    /// `offset` pulled into the queue's `[min, max]`: after a crash a saved position may be
    /// ahead of the recovered queue (new messages in the gap would never be read), or behind
    /// what retention has deleted (Java's `correctDelayOffset`).
    pub fn clamp(&self, store: &MessageStore, offset: i64) -> i64 {
        let min = store.min_offset_in_queue(self.topic, self.queue_id);
        let max = store.max_offset_in_queue(self.topic, self.queue_id);
        let corrected = offset.clamp(min, max.max(min));
        if corrected != offset {
            tracing::warn!(
                topic = self.topic,
                queue_id = self.queue_id,
                from = offset,
                to = corrected,
                "saved position outside its queue (a crash lost the queue's tail); corrected"
            );
        }
        corrected
    }
}
