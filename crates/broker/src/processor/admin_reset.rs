//! INVOKE_BROKER_TO_RESET_OFFSET (222), the RocketMQ 5.x server-side way
//! (`useServerSideResetOffset=true`, REMOTING.md §3.9): works whether or not the group's
//! consumers are online.
//!
//! ```text
//! admin ─222─► targets per queue (explicit offset, or by store time; -1 = the end)
//!                 │ ConsumerOffsets::assign_reset: committed now + parked for the next pull
//!                 │ PullWaiters::arrived: suspended pulls of those queues wake up
//!                 ▼
//! consumer ─PULL─► PULL_OFFSET_MOVED, nextBeginOffset = target (the reset is then taken)
//! ```
//!
//! The legacy path (the broker pushes RESET_CONSUMER_CLIENT_OFFSET to online clients) is not
//! implemented; `isForce` only matters there.

use std::collections::BTreeMap;
use std::sync::Arc;

use apogee_protocol::body::admin::{ResetOffsetBody, to_java_json};
use apogee_protocol::body::client::MessageQueue;
use apogee_protocol::header::admin::ResetOffsetRequestHeader;
use apogee_protocol::{RemotingCommand, RequestCode};
use apogee_remoting::Connection;
use apogee_store::MessageStore;

use super::{Handler, Identity, success};
use crate::BrokerError;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::subscription_group::SubscriptionGroups;
use crate::manager::topic_config::TopicConfigs;
use crate::service::long_polling::PullWaiters;

/// The offset-reset family.
pub struct ResetOffsetProcessor {
    pub store: Arc<MessageStore>,
    pub topics: TopicConfigs,
    pub groups: SubscriptionGroups,
    pub offsets: ConsumerOffsets,
    pub waiters: PullWaiters,
    pub identity: Identity,
}

impl Handler for ResetOffsetProcessor {
    const CODES: &'static [RequestCode] = &[RequestCode::INVOKE_BROKER_TO_RESET_OFFSET];

    async fn handle(
        &self,
        connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let h: ResetOffsetRequestHeader = request.header()?;
        let targets = self.targets(&h)?;
        let mut body = ResetOffsetBody::default();
        for (&queue_id, &offset) in &targets {
            self.offsets
                .assign_reset(&h.group, &h.topic, queue_id, offset);
            self.waiters.arrived(&h.topic, queue_id);
            body.offset_table.insert(
                MessageQueue {
                    broker_name: self.identity.broker_name.clone(),
                    queue_id,
                    topic: h.topic.clone(),
                },
                offset,
            );
        }
        tracing::info!(topic = h.topic, group = h.group, timestamp = h.timestamp, caller = %connection.peer(), ?targets, "reset offsets");
        Ok(success(request).with_body(to_java_json(&body)))
    }
}

impl ResetOffsetProcessor {
    /// Queue id → target offset, with Java's checks and remarks.
    fn targets(&self, h: &ResetOffsetRequestHeader) -> Result<BTreeMap<i32, i64>, BrokerError> {
        let config = self
            .topics
            .get(&h.topic)
            .ok_or_else(|| BrokerError::TopicNotExist(h.topic.clone()))?;
        if self.groups.get(&h.group).is_none() {
            return Err(BrokerError::GroupNotExist(h.group.clone()));
        }
        let Some(queue_id) = h.single_queue() else {
            if config.read_queue_nums <= 0 {
                return Err(BrokerError::SystemError("No queues to reset.".into()));
            }
            return Ok((0..config.read_queue_nums)
                .map(|q| (q, self.offset_at(&h.topic, q, h.timestamp)))
                .collect());
        };
        if queue_id >= config.read_queue_nums {
            return Err(BrokerError::InvalidParameter(format!(
                "queueId[{queue_id}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}]",
                h.topic, config.read_queue_nums
            )));
        }
        let offset = match h.explicit_offset() {
            Some(offset) => {
                let min = self.store.min_offset_in_queue(&h.topic, queue_id);
                let max = self.store.max_offset_in_queue(&h.topic, queue_id);
                if !(min..=max).contains(&offset) {
                    return Err(BrokerError::SystemError(format!(
                        "Target offset {offset} not in consume queue range [{min}-{max}]"
                    )));
                }
                offset
            }
            None => self.offset_at(&h.topic, queue_id, h.timestamp),
        };
        Ok(BTreeMap::from([(queue_id, offset)]))
    }

    /// The first offset stored at or after `timestamp`; a negative timestamp means the end.
    fn offset_at(&self, topic: &str, queue_id: i32, timestamp: i64) -> i64 {
        if timestamp < 0 {
            self.store.max_offset_in_queue(topic, queue_id)
        } else {
            self.store.offset_by_time(topic, queue_id, timestamp)
        }
    }
}
