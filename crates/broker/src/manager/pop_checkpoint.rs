//! The POP checkpoint file, `config/popCheckpoint.json`: every queue's cursor and the messages
//! in flight (queue offset, pop time, deadline, CommitLog offset, orderly flag) and orderly
//! delivery counts, written with the consumer offsets (every `flushConsumerOffsetInterval` and
//! at shutdown) so that after a restart an unacked message still comes back at its deadline,
//! not at once, and its handle still acks it. What changed after the last write is not in the
//! file: a message popped since is popped again (early), one acked since comes back once more
//! (at least once, never lost). Entries below the group's committed offset are dropped at load.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::manager::pop_state::QueueKey;
use crate::{BrokerError, persist};

/// The file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Checkpoint {
    pub queues: Vec<QueueCheckpoint>,
}

/// One queue of one group.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueCheckpoint {
    pub group: String,
    pub topic: String,
    pub queue_id: i32,
    pub next: Option<i64>,
    /// `[queueOffset, popTime, deadline, commitLogOffset, orderly (0/1)]` per message.
    pub inflight: Vec<[i64; 5]>,
    /// `[queueOffset, deliveries beyond the first]` of orderly messages read again.
    pub attempts: Vec<[i64; 2]>,
}

impl QueueCheckpoint {
    pub fn key(&self) -> QueueKey {
        QueueKey::new(&self.group, &self.topic, self.queue_id)
    }
}

/// Reads the file; a missing one is empty.
pub fn load(path: &Path) -> Result<Checkpoint, BrokerError> {
    Ok(persist::load_json::<Checkpoint>(path)?.unwrap_or_default())
}

/// Writes the file atomically.
pub fn save(path: &Path, checkpoint: &Checkpoint) -> Result<(), BrokerError> {
    let bytes = serde_json::to_vec(checkpoint).map_err(|e| BrokerError::Persist {
        path: path.display().to_string(),
        source: std::io::Error::other(e),
    })?;
    persist::write_atomically(path, &bytes)
}
