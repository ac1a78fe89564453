//! Subscription-group administration (REMOTING.md §2.2, §3.8):
//! UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200, body = SubscriptionGroupConfig JSON),
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201), DELETE_SUBSCRIPTIONGROUP (207, optionally with the
//! group's offsets), CLONE_GROUP_OFFSET (314: one group's committed offsets copied to another,
//! for one topic or all the source group has), UPDATE_AND_GET_GROUP_FORBIDDEN (353: forbid or
//! allow a group to pull one topic, answered with the state in force).

use apogee_model::{GroupName, TopicName};
use apogee_protocol::body::admin::{GroupForbidden, SubscriptionGroupConfig, to_java_json};
use apogee_protocol::body::from_json;
use apogee_protocol::body::inspect::SubscriptionGroupList;
use apogee_protocol::header::admin::{
    CloneGroupOffsetRequestHeader, DeleteSubscriptionGroupRequestHeader,
    GetSubscriptionGroupConfigRequestHeader, UpdateGroupForbiddenRequestHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode};
use apogee_remoting::Connection;

use super::{Handler, success};
use crate::BrokerError;
use crate::manager::client_registry::ClientRegistry;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::subscription_group::SubscriptionGroups;
use crate::manager::topic_config::TopicConfigs;

/// The subscription-group administration family.
pub struct GroupAdminProcessor {
    pub groups: SubscriptionGroups,
    pub offsets: ConsumerOffsets,
    pub topics: TopicConfigs,
    pub clients: ClientRegistry,
    /// `topic_queue_nums_max` (bounds a group's retry queues).
    pub queue_nums_max: i32,
    /// A deleted group's statistics go with it.
    pub stats: crate::stats::BrokerStats,
}

impl Handler for GroupAdminProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
        RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
        RequestCode::DELETE_SUBSCRIPTIONGROUP,
        RequestCode::CLONE_GROUP_OFFSET,
        RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG,
        RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST,
        RequestCode::UPDATE_AND_GET_GROUP_FORBIDDEN,
    ];

    async fn handle(
        &self,
        connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        match request.request_code() {
            RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => {
                let config: SubscriptionGroupConfig =
                    from_json("SubscriptionGroupConfig", &request.body)?;
                self.check_group(&config)?;
                tracing::info!(group = config.group_name, caller = %connection.peer(), "create or update subscription group");
                self.groups.put(config)?;
                self.groups.persisted().await?;
                Ok(success(request))
            }
            RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST => {
                // Every group is checked before any is applied.
                let list: SubscriptionGroupList =
                    from_json("SubscriptionGroupList", &request.body)?;
                for config in &list.group_config_list {
                    self.check_group(config)?;
                }
                tracing::info!(groups = list.group_config_list.len(), caller = %connection.peer(), "create or update subscription groups");
                for config in list.group_config_list {
                    self.groups.put(config)?;
                }
                self.groups.persisted().await?;
                Ok(success(request))
            }
            RequestCode::DELETE_SUBSCRIPTIONGROUP => {
                let h: DeleteSubscriptionGroupRequestHeader = request.header()?;
                let clean_offset = h.clean_offset.unwrap_or(false);
                let existed = self.groups.delete(&h.group_name)?;
                self.stats.items().forget_group(&h.group_name);
                if clean_offset {
                    self.offsets.remove_group(&h.group_name);
                }
                self.groups.persisted().await?;
                tracing::info!(group = h.group_name, existed, clean_offset, caller = %connection.peer(), "delete subscription group");
                Ok(success(request))
            }
            RequestCode::CLONE_GROUP_OFFSET => {
                let h: CloneGroupOffsetRequestHeader = request.header()?;
                let cloned = self.clone_offsets(&h);
                tracing::info!(src = h.src_group, dest = h.dest_group, topic = ?h.topic, ?cloned, caller = %connection.peer(), "clone group offsets");
                Ok(success(request))
            }
            RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG => {
                let h: GetSubscriptionGroupConfigRequestHeader = request.header()?;
                let config = self
                    .groups
                    .get(&h.group)
                    .ok_or_else(|| BrokerError::GroupNotExist(h.group.clone()))?;
                Ok(success(request).with_body(to_java_json(&config)))
            }
            RequestCode::UPDATE_AND_GET_GROUP_FORBIDDEN => {
                let h: UpdateGroupForbiddenRequestHeader = request.header()?;
                GroupName::new(h.group.as_str())
                    .map_err(|e| BrokerError::InvalidParameter(e.to_string()))?;
                TopicName::check(&h.topic)
                    .map_err(|e| BrokerError::InvalidParameter(e.to_string()))?;
                if let Some(readable) = h.readable {
                    tracing::info!(group = h.group, topic = h.topic, readable, caller = %connection.peer(), "update group forbidden");
                    self.groups
                        .set_read_forbidden(&h.group, &h.topic, !readable)?;
                    self.groups.persisted().await?;
                }
                let body = GroupForbidden {
                    readable: !self.groups.read_forbidden(&h.group, &h.topic),
                    group: h.group,
                    topic: h.topic,
                };
                // Java answers with an empty remark.
                let mut response = success(request).with_body(to_java_json(&body));
                response.remark = Some(String::new());
                Ok(response)
            }
            _ => Ok(success(request).with_body(to_java_json(&self.groups.snapshot()))),
        }
    }
}

impl GroupAdminProcessor {
    /// A valid group name and retry queues within `0..=topic_queue_nums_max`.
    fn check_group(&self, config: &SubscriptionGroupConfig) -> Result<(), BrokerError> {
        GroupName::new(config.group_name.as_str())
            .map_err(|e| BrokerError::SystemError(e.to_string()))?;
        if !(0..=self.queue_nums_max).contains(&config.retry_queue_nums) {
            return Err(BrokerError::SystemError(format!(
                "retryQueueNums {} is outside 0..={} (topic_queue_nums_max)",
                config.retry_queue_nums, self.queue_nums_max
            )));
        }
        Ok(())
    }

    /// Java's `cloneGroupOffset`: the requested topic, or every topic the source group has
    /// offsets for; topics without a config are skipped, and unless `offline`, so are topics
    /// an online source group does not subscribe to. Returns the topics cloned. (Java passes
    /// the request's topic, possibly null, to each copy; the intended topic is used here.)
    fn clone_offsets(&self, h: &CloneGroupOffsetRequestHeader) -> Vec<String> {
        let topics = match h.topic.as_deref().map(str::trim) {
            Some(topic) if !topic.is_empty() => [topic.to_owned()].into(),
            _ => self.offsets.topics_of_group(&h.src_group),
        };
        let subscriptions = if h.offline.unwrap_or(false) {
            None
        } else {
            self.clients
                .consumer_group(&h.src_group)
                .map(|info| info.subscriptions)
                .filter(|subs| !subs.is_empty())
        };
        topics
            .into_iter()
            .filter(|topic| {
                if self.topics.get(topic).is_none() {
                    tracing::warn!(topic, "clone group offsets: topic config does not exist");
                    return false;
                }
                subscriptions.as_ref().is_none_or(|s| s.contains_key(topic))
            })
            .filter(|topic| {
                self.offsets
                    .clone_offsets(&h.src_group, &h.dest_group, topic)
            })
            .collect()
    }
}
