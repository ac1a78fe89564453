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
//! With `useServerSideResetOffset=false` the 4.x way is taken instead: targets (not moved
//! forward past the committed offset unless `isForce`) are pushed to every online consumer of
//! the group with RESET_CONSUMER_CLIENT_OFFSET (220, oneway), and the clients commit them;
//! with none online the reset is refused with CONSUMER_NOT_ONLINE. C++ clients are sent the
//! offset table in the array form they parse, where Java's broker sends them one they cannot.

use std::collections::BTreeMap;
use std::sync::Arc;

use apogee_protocol::body::admin::{ResetOffsetBody, to_java_json};
use apogee_protocol::body::client::MessageQueue;
use apogee_protocol::header::admin::ResetOffsetRequestHeader;
use std::time::Duration;

use apogee_protocol::{LanguageCode, RemotingCommand, RequestCode};
use apogee_remoting::Connection;
use apogee_store::QueueReader;

use super::{Handler, Identity, success};
use crate::BrokerError;
use crate::live::LiveSettings;
use crate::manager::client_registry::ClientRegistry;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::subscription_group::SubscriptionGroups;
use crate::manager::topic_config::TopicConfigs;
use crate::service::long_polling::PullWaiters;

/// The offset-reset family.
pub struct ResetOffsetProcessor {
    pub store: Arc<dyn QueueReader>,
    pub topics: TopicConfigs,
    pub groups: SubscriptionGroups,
    pub offsets: ConsumerOffsets,
    pub waiters: PullWaiters,
    pub clients: ClientRegistry,
    pub live: LiveSettings,
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
        let server_side = self.live.server_side_reset();
        let targets = if server_side {
            self.targets(&h)?
        } else {
            self.legacy_targets(&h)?
        };
        let mut body = ResetOffsetBody::default();
        for (&queue_id, &offset) in &targets {
            if server_side {
                self.offsets
                    .assign_reset(&h.group, &h.topic, queue_id, offset);
                self.waiters.arrived(&h.topic, queue_id);
            }
            body.offset_table.insert(
                MessageQueue {
                    broker_name: self.identity.broker_name.clone(),
                    queue_id,
                    topic: h.topic.clone(),
                },
                offset,
            );
        }
        if !server_side {
            self.push_to_clients(&h, &body)?;
        }
        tracing::info!(topic = h.topic, group = h.group, timestamp = h.timestamp, server_side, caller = %connection.peer(), ?targets, "reset offsets");
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

    /// The 4.x targets: every queue by time, kept at the committed offset when that is
    /// earlier unless `isForce`; a queue the group never committed on is an error, as in Java.
    fn legacy_targets(
        &self,
        h: &ResetOffsetRequestHeader,
    ) -> Result<BTreeMap<i32, i64>, BrokerError> {
        let config = self.topics.get(&h.topic).ok_or_else(|| {
            BrokerError::SystemError(format!(
                "[reset-offset] reset offset failed, no topic in this broker. topic={}",
                h.topic
            ))
        })?;
        (0..config.write_queue_nums)
            .map(|queue_id| {
                let committed = self
                    .offsets
                    .query(&h.group, &h.topic, queue_id)
                    .ok_or_else(|| {
                        BrokerError::SystemError(format!(
                            "The consumer group <{}> has no offset on {} queue {queue_id}",
                            h.group, h.topic
                        ))
                    })?;
                let by_time = self.offset_at(&h.topic, queue_id, h.timestamp).max(0);
                let offset = if h.is_force || by_time < committed {
                    by_time
                } else {
                    committed
                };
                Ok((queue_id, offset))
            })
            .collect()
    }

    /// RESET_CONSUMER_CLIENT_OFFSET (oneway) to every online consumer of the group.
    fn push_to_clients(
        &self,
        h: &ResetOffsetRequestHeader,
        body: &ResetOffsetBody,
    ) -> Result<(), BrokerError> {
        let channels: Vec<_> = self
            .clients
            .consumer_group(&h.group)
            .map(|g| g.channels.into_values().collect())
            .unwrap_or_default();
        if channels.is_empty() {
            return Err(BrokerError::ConsumerNotOnline(format!(
                "Consumer not online, so can not reset offset, Group: {} Topic: {} Timestamp: {}",
                h.group, h.topic, h.timestamp
            )));
        }
        let header = ResetOffsetRequestHeader {
            topic: h.topic.clone(),
            group: h.group.clone(),
            queue_id: None,
            offset: None,
            timestamp: h.timestamp,
            is_force: h.is_force,
        };
        let java = bytes::Bytes::from(to_java_json(body));
        // C++ clients cannot read Java's object keys: they get the array form they parse.
        let cpp = bytes::Bytes::from(body.to_cpp_json());
        for channel in channels {
            let payload = if channel.language == LanguageCode::CPP {
                cpp.clone()
            } else {
                java.clone()
            };
            let connection = channel.connection;
            let request =
                RemotingCommand::request(RequestCode::RESET_CONSUMER_CLIENT_OFFSET, &header)
                    .with_body(payload);
            tokio::spawn(async move {
                if let Err(e) = connection
                    .send_oneway(request, Duration::from_secs(3))
                    .await
                {
                    tracing::warn!(peer = %connection.peer(), error = %e, "RESET_CONSUMER_CLIENT_OFFSET not delivered");
                }
            });
        }
        Ok(())
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
