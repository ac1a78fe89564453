//! Push consumer settings, with Java's defaults.

use std::path::PathBuf;
use std::time::Duration;

use apogee_protocol::body::client::MessageModel;

use super::super::{AllocateStrategy, ConsumeFrom};
use crate::{ClientError, Result};

/// Push consumer settings; `PushConsumerConfig::new(group)` gives the Java defaults.
#[derive(Debug, Clone)]
pub struct PushConsumerConfig {
    pub group: String,
    pub message_model: MessageModel,
    pub consume_from: ConsumeFrom,
    pub allocate: AllocateStrategy,
    /// Listener calls running at once (`consumeThreadMax`, 20).
    pub consume_threads: usize,
    /// Messages per listener call, 1–32 (`consumeMessageBatchMaxSize`, 1).
    pub consume_batch_size: usize,
    /// Messages per pull (32).
    pub pull_batch_size: i32,
    /// Pulling pauses while a queue holds this many unconsumed messages (1000)…
    pub pull_threshold_for_queue: usize,
    /// …or this many bytes (100 MiB).
    pub pull_threshold_size_for_queue: usize,
    /// A message whose listener runs longer than this is handed back for redelivery (15 min).
    pub consume_timeout: Duration,
    /// Deliveries before a message goes to the DLQ; `None`: 16 (concurrent) or unlimited
    /// (orderly), as in Java.
    pub max_reconsume_times: Option<i32>,
    /// Orderly: wait before retrying a failed batch (1 s).
    pub suspend_current_queue_time: Duration,
    /// Broadcasting: where local offsets are kept.
    pub offset_store_dir: PathBuf,
    /// Write `SubBefore`/`SubAfter` traces of every consumed message (`enableMsgTrace`, off).
    pub enable_trace: bool,
    /// The trace topic (`customizedTraceTopic`; `RMQ_SYS_TRACE_TOPIC` when unset).
    pub trace_topic: Option<String>,
}

impl PushConsumerConfig {
    pub fn new(group: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            message_model: MessageModel::Clustering,
            consume_from: ConsumeFrom::LastOffset,
            allocate: AllocateStrategy::Average,
            consume_threads: 20,
            consume_batch_size: 1,
            pull_batch_size: 32,
            pull_threshold_for_queue: 1000,
            pull_threshold_size_for_queue: 100 * 1024 * 1024,
            consume_timeout: Duration::from_secs(15 * 60),
            max_reconsume_times: None,
            suspend_current_queue_time: Duration::from_secs(1),
            offset_store_dir: super::super::default_offset_dir(),
            enable_trace: false,
            trace_topic: None,
        }
    }

    pub(super) fn validate(&self) -> Result<()> {
        apogee_model::GroupName::new(self.group.clone())
            .map_err(|e| ClientError::Config(format!("group `{}`: {e}", self.group)))?;
        if !(1..=32).contains(&self.consume_batch_size) {
            return Err(ClientError::Config(format!(
                "consume_batch_size is {}; it must be 1–32",
                self.consume_batch_size
            )));
        }
        if self.consume_threads == 0
            || self.pull_batch_size <= 0
            || self.pull_threshold_for_queue == 0
        {
            return Err(ClientError::Config(
                "consume_threads, pull_batch_size and pull_threshold_for_queue must be > 0".into(),
            ));
        }
        Ok(())
    }
}
