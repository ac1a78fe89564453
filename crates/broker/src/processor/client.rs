//! Client registration and rebalance support (REMOTING.md §3.4, §7.3): HEART_BEAT,
//! UNREGISTER_CLIENT, GET_CONSUMER_LIST_BY_GROUP, LOCK_BATCH_MQ, UNLOCK_BATCH_MQ,
//! CHECK_CLIENT_CONFIG. A change in a consumer group's members is pushed to every member
//! with NOTIFY_CONSUMER_IDS_CHANGED (oneway) so they rebalance at once.

use std::sync::Arc;
use std::time::Duration;

use apogee_model::Perm;
use apogee_protocol::body::client::{
    ConsumerIdList, HeartbeatData, LockBatchRequestBody, LockBatchResponseBody,
};
use apogee_protocol::body::from_json;
use apogee_protocol::header::consumer::{ConsumerGroupHeader, UnregisterClientRequestHeader};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::Connection;
use apogee_runtime::Clock;

use super::{Handler, success};
use crate::BrokerError;
use crate::filter::SqlFilters;
use crate::manager::client_registry::{ClientChannel, ClientRegistry};
use crate::manager::queue_lock::QueueLocks;
use crate::manager::retry_topic;
use crate::manager::subscription_group::SubscriptionGroups;
use crate::manager::topic_config::TopicConfigs;

/// The client family.
pub struct ClientProcessor {
    pub clients: ClientRegistry,
    pub groups: SubscriptionGroups,
    pub topics: TopicConfigs,
    pub locks: QueueLocks,
    pub clock: Arc<dyn Clock>,
    /// `heartbeat_groups_max`: groups per heartbeat, and subscriptions per consumer group.
    pub heartbeat_groups_max: usize,
    /// SQL92 subscriptions are compiled (and refused) at heartbeat and CHECK_CLIENT_CONFIG.
    pub filters: SqlFilters,
}

impl Handler for ClientProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::HEART_BEAT,
        RequestCode::UNREGISTER_CLIENT,
        RequestCode::GET_CONSUMER_LIST_BY_GROUP,
        RequestCode::LOCK_BATCH_MQ,
        RequestCode::UNLOCK_BATCH_MQ,
        RequestCode::CHECK_CLIENT_CONFIG,
    ];

    async fn handle(
        &self,
        connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        match request.request_code() {
            RequestCode::HEART_BEAT => self.heartbeat(&connection, request),
            RequestCode::UNREGISTER_CLIENT => {
                let h: UnregisterClientRequestHeader = request.header()?;
                let changed = self.clients.unregister(
                    connection.id(),
                    h.producer_group.as_deref(),
                    h.consumer_group.as_deref(),
                );
                if let Some(group) = changed {
                    notify_ids_changed(&self.clients, &self.groups, &group);
                }
                Ok(success(request))
            }
            RequestCode::GET_CONSUMER_LIST_BY_GROUP => {
                let h: ConsumerGroupHeader = request.header()?;
                let ids = self.clients.consumer_ids(&h.consumer_group);
                if ids.is_empty() {
                    return Err(BrokerError::SystemError(format!(
                        "no consumer for this group, {}",
                        h.consumer_group
                    )));
                }
                let body = serde_json::to_vec(&ConsumerIdList {
                    consumer_id_list: ids,
                })
                .unwrap_or_default();
                Ok(success(request).with_body(body))
            }
            RequestCode::LOCK_BATCH_MQ => {
                let body: LockBatchRequestBody = from_json("LockBatchRequestBody", &request.body)?;
                let granted = self.locks.lock(
                    &body.consumer_group,
                    &body.mq_set,
                    &body.client_id,
                    self.clock.now_ms(),
                );
                let body = serde_json::to_vec(&LockBatchResponseBody {
                    lock_ok_mq_set: granted,
                })
                .unwrap_or_default();
                Ok(success(request).with_body(body))
            }
            RequestCode::UNLOCK_BATCH_MQ => {
                let body: LockBatchRequestBody =
                    from_json("UnlockBatchRequestBody", &request.body)?;
                self.locks
                    .unlock(&body.consumer_group, &body.mq_set, &body.client_id);
                Ok(success(request))
            }
            _ => check_client_config(request, &self.filters),
        }
    }
}

impl ClientProcessor {
    /// Refuses a heartbeat carrying more groups (or one consumer more subscriptions) than
    /// `heartbeat_groups_max`: each group costs the broker state and a persisted config.
    fn check_heartbeat_size(&self, data: &HeartbeatData) -> Result<(), BrokerError> {
        let max = self.heartbeat_groups_max;
        let groups = data.consumer_data_set.len() + data.producer_data_set.len();
        if groups > max {
            return Err(BrokerError::SystemError(format!(
                "the heartbeat carries {groups} producer and consumer groups; the broker takes at most {max} (heartbeat_groups_max)"
            )));
        }
        if let Some(consumer) = data
            .consumer_data_set
            .iter()
            .find(|c| c.subscription_data_set.len() > max)
        {
            return Err(BrokerError::SystemError(format!(
                "consumer group {} subscribes to {} topics in one heartbeat; the broker takes at most {max} (heartbeat_groups_max)",
                consumer.group_name,
                consumer.subscription_data_set.len()
            )));
        }
        Ok(())
    }

    fn heartbeat(
        &self,
        connection: &Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let data: HeartbeatData = from_json("HeartbeatData", &request.body)?;
        self.check_heartbeat_size(&data)?;
        // A consumer group with a subscription the broker cannot serve is not registered and
        // the heartbeat answers why (Java logs it and fails each pull later); the client's
        // other groups and its producers are registered all the same.
        let mut refused = None;
        let channel = ClientChannel {
            connection: connection.clone(),
            client_id: data.client_id.clone(),
            language: request.language,
            version: request.version,
            last_update_ms: self.clock.now_ms(),
        };
        for consumer in &data.consumer_data_set {
            let unservable = consumer.subscription_data_set.iter().find_map(|sub| {
                self.filters
                    .of(sub.expression_type.as_deref(), &sub.sub_string)
                    .err()
            });
            if let Some(e) = unservable {
                refused = Some(e);
                continue;
            }
            let group = match self.groups.find_or_create(&consumer.group_name) {
                Ok(group) => group,
                Err(e) => {
                    tracing::warn!(group = consumer.group_name, error = %e, "heartbeat for an unusable group");
                    continue;
                }
            };
            if group.retry_queue_nums > 0
                && let Err(e) = self.topics.ensure(
                    &retry_topic(&consumer.group_name),
                    group.retry_queue_nums,
                    Perm::READ_WRITE.0,
                )
            {
                tracing::warn!(group = consumer.group_name, error = %e, "retry topic not created");
            }
            if self.clients.register_consumer(consumer, channel.clone())
                && group.notify_consumer_ids_changed_enable
            {
                notify_ids_changed(&self.clients, &self.groups, &consumer.group_name);
            }
        }
        for producer in &data.producer_data_set {
            self.clients
                .register_producer(&producer.group_name, channel.clone());
        }
        if let Some(e) = refused {
            return Err(e);
        }
        let mut response = success(request);
        // This broker does not implement heartbeat V2: clients keep sending full heartbeats.
        response
            .ext_fields
            .insert("IS_SUPPORT_HEART_BEAT_V2", "false");
        response.ext_fields.insert("IS_SUB_CHANGE", "true");
        Ok(response)
    }
}

/// CHECK_CLIENT_CONFIG: TAG subscriptions are fine; an SQL92 one must compile
/// (SUBSCRIPTION_PARSE_FAILED with the reason otherwise) and needs `enablePropertyFilter`.
fn check_client_config(
    request: &RemotingCommand,
    filters: &SqlFilters,
) -> Result<RemotingCommand, BrokerError> {
    let body: serde_json::Value = from_json("CheckClientRequestBody", &request.body)?;
    let kind = body
        .pointer("/subscriptionData/expressionType")
        .and_then(|v| v.as_str());
    let text = body
        .pointer("/subscriptionData/subString")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    filters.check(kind, text)?;
    Ok(RemotingCommand::response_to(
        request,
        ResponseCode::SUCCESS,
        None,
    ))
}

/// Sends NOTIFY_CONSUMER_IDS_CHANGED (oneway) to every member of `group`, in the background.
pub(crate) fn notify_ids_changed(
    clients: &ClientRegistry,
    groups: &SubscriptionGroups,
    group: &str,
) {
    if groups
        .get(group)
        .is_some_and(|g| !g.notify_consumer_ids_changed_enable)
    {
        return;
    }
    let header = ConsumerGroupHeader {
        consumer_group: group.to_owned(),
    };
    for connection in clients.consumer_connections(group) {
        let request = RemotingCommand::request(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED, &header);
        tokio::spawn(async move {
            if let Err(e) = connection
                .send_oneway(request, Duration::from_secs(3))
                .await
            {
                tracing::debug!(error = %e, "NOTIFY_CONSUMER_IDS_CHANGED not delivered");
            }
        });
    }
}
