//! Topic administration (REMOTING.md §2.2, §3.8): UPDATE_AND_CREATE_TOPIC (17),
//! DELETE_TOPIC_IN_BROKER (215), GET_ALL_TOPIC_CONFIG (21). A change is made durable (one
//! line in `topics.journal`), then the broker registers the changed topics with every
//! NameServer before answering (as Java's `registerIncrementBrokerData` does), so the route
//! is current when the admin tool continues.
//!
//! Deleting a topic that online clients use (a consumer group subscribed to it, or an open
//! connection that has sent to it) is refused unless the request says `force=true`; the
//! topic's consumer offsets go with it.

use std::collections::BTreeMap;
use std::sync::Arc;

use apogee_model::{TopicConfig, TopicFilterType, TopicName};
use apogee_protocol::body::admin::to_java_json;
use apogee_protocol::body::from_json;
use apogee_protocol::body::inspect::CreateTopicListRequestBody;
use apogee_protocol::header::admin::{
    CreateTopicRequestHeader, DeleteTopicRequestHeader, GetTopicConfigRequestHeader,
    parse_attribute_changes,
};
use apogee_protocol::{RemotingCommand, RequestCode};
use apogee_remoting::Connection;
use apogee_store::StoreAdmin;

use super::{Handler, Identity, blocking, success};
use crate::BrokerError;
use crate::manager::client_registry::ClientRegistry;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::topic_config::{TopicConfigs, is_system_topic};
use crate::service::register::Registration;

/// The topic administration family.
pub struct TopicAdminProcessor {
    pub store: Arc<dyn StoreAdmin>,
    pub topics: TopicConfigs,
    pub offsets: ConsumerOffsets,
    pub clients: ClientRegistry,
    pub registration: Registration,
    pub identity: Identity,
    /// `topic_queue_nums_max`.
    pub queue_nums_max: i32,
    /// A deleted topic's statistics go with it.
    pub stats: crate::stats::BrokerStats,
}

impl Handler for TopicAdminProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::UPDATE_AND_CREATE_TOPIC,
        RequestCode::DELETE_TOPIC_IN_BROKER,
        RequestCode::GET_ALL_TOPIC_CONFIG,
        RequestCode::GET_TOPIC_CONFIG,
        RequestCode::UPDATE_AND_CREATE_TOPIC_LIST,
        RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_BROKER,
    ];

    async fn handle(
        &self,
        connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        match request.request_code() {
            RequestCode::UPDATE_AND_CREATE_TOPIC => {
                let config = self.topic_config(&request.header()?)?;
                tracing::info!(topic = %config.topic_name, caller = %connection.peer(), "create or update topic");
                self.topics.put(config)?;
                self.topics.persisted().await?;
                self.registration.register_changes().await;
                Ok(success(request))
            }
            RequestCode::DELETE_TOPIC_IN_BROKER => {
                let h: DeleteTopicRequestHeader = request.header()?;
                self.checked_name(&h.topic)?;
                if !h.force.unwrap_or(false) {
                    self.check_unused(&h.topic)?;
                }
                tracing::info!(topic = h.topic, caller = %connection.peer(), force = ?h.force, "delete topic");
                self.topics.delete(&h.topic)?;
                self.offsets.remove_topic(&h.topic);
                self.stats.items().forget_topic(&h.topic);
                self.topics.persisted().await?;
                // Its consume queues go too, so a topic created again starts empty.
                let (store, topic) = (Arc::clone(&self.store), h.topic.clone());
                blocking(move || store.delete_topic(&topic)).await??;
                self.registration.register_all().await;
                Ok(success(request))
            }
            RequestCode::UPDATE_AND_CREATE_TOPIC_LIST => {
                self.create_list(request, &connection).await?;
                Ok(success(request))
            }
            RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_BROKER => {
                let list = self.system_topics();
                Ok(success(request).with_body(serde_json::to_vec(&list).unwrap_or_default()))
            }
            RequestCode::GET_TOPIC_CONFIG => {
                // mqadmin 5.x asks every broker of a route for this before topicStatus,
                // consumerProgress and statsAll; only TOPIC_NOT_EXIST counts as "not here".
                let h: GetTopicConfigRequestHeader = request.header()?;
                let config = self
                    .topics
                    .get(&h.topic)
                    .ok_or_else(|| BrokerError::TopicNotExist(h.topic.clone()))?;
                Ok(success(request).with_body(to_java_json(&config)))
            }
            _ => Ok(success(request).with_body(to_java_json(&self.topics.snapshot()))),
        }
    }
}

impl TopicAdminProcessor {
    /// UPDATE_AND_CREATE_TOPIC_LIST: every topic is checked before any is applied, and all are
    /// applied (Java stops at the first unchanged one and skips the rest of the list).
    async fn create_list(
        &self,
        request: &RemotingCommand,
        connection: &Connection,
    ) -> Result<(), BrokerError> {
        let body: CreateTopicListRequestBody =
            from_json("CreateTopicListRequestBody", &request.body)?;
        for config in &body.topic_config_list {
            self.checked_name(config.topic_name.as_str())?;
            self.check_settings(config.read_queue_nums, config.write_queue_nums, config.perm)?;
        }
        tracing::info!(topics = body.topic_config_list.len(), caller = %connection.peer(), "create or update topics");
        for config in body.topic_config_list {
            self.topics.put(config)?;
        }
        self.topics.persisted().await?;
        self.registration.register_changes().await;
        Ok(())
    }

    /// The system topics this broker holds (GET_SYSTEM_TOPIC_LIST_FROM_BROKER).
    fn system_topics(&self) -> apogee_protocol::body::TopicList {
        let topic_list = self
            .topics
            .snapshot()
            .topic_config_table
            .into_keys()
            .filter(|t| {
                is_system_topic(t) || *t == self.identity.cluster || *t == self.identity.broker_name
            })
            .collect();
        apogee_protocol::body::TopicList {
            broker_addr: None,
            topic_list,
        }
    }

    /// A legal topic name that is not a system topic (Java answers SYSTEM_ERROR for both).
    fn checked_name(&self, topic: &str) -> Result<TopicName, BrokerError> {
        let name = TopicName::new(topic).map_err(|e| BrokerError::SystemError(e.to_string()))?;
        if is_system_topic(topic)
            || topic == self.identity.cluster
            || topic == self.identity.broker_name
        {
            return Err(BrokerError::SystemError(format!(
                "The topic[{topic}] is conflict with system topic."
            )));
        }
        Ok(name)
    }

    /// Queue counts within `0..=topic_queue_nums_max` and permission bits within 0..=15.
    fn check_settings(&self, read: i32, write: i32, perm: i32) -> Result<(), BrokerError> {
        let queues = 0..=self.queue_nums_max;
        if !queues.contains(&read) || !queues.contains(&write) || !(0..=15).contains(&perm) {
            return Err(BrokerError::SystemError(format!(
                "invalid topic settings: readQueueNums={read} writeQueueNums={write} (each 0..={}, topic_queue_nums_max) perm={perm}",
                self.queue_nums_max
            )));
        }
        Ok(())
    }

    /// The config a create/update request asks for, attributes merged into the current ones.
    fn topic_config(&self, h: &CreateTopicRequestHeader) -> Result<TopicConfig, BrokerError> {
        let name = self.checked_name(&h.topic)?;
        let filter = TopicFilterType::parse(&h.topic_filter_type).ok_or_else(|| {
            BrokerError::SystemError(format!(
                "topicFilterType = [{}] value invalid",
                h.topic_filter_type
            ))
        })?;
        self.check_settings(h.read_queue_nums, h.write_queue_nums, h.perm)?;
        let current = self.topics.get(&h.topic).map(|c| c.attributes);
        let attributes = merge_attributes(current, h.attributes.as_deref().unwrap_or(""))?;
        Ok(TopicConfig {
            attributes,
            order: h.order,
            perm: h.perm,
            read_queue_nums: h.read_queue_nums,
            topic_filter_type: filter,
            topic_name: name,
            topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
            write_queue_nums: h.write_queue_nums,
        })
    }

    /// Refuses a topic that online consumers subscribe to or open connections send to.
    fn check_unused(&self, topic: &str) -> Result<(), BrokerError> {
        let consumers = self.clients.groups_subscribed_to(topic);
        let producers = self.clients.senders_to(topic);
        if consumers.is_empty() && producers == 0 {
            return Ok(());
        }
        let mut users = Vec::new();
        if !consumers.is_empty() {
            let names: Vec<_> = consumers.into_iter().collect();
            users.push(format!("consumer groups [{}] are online", names.join(", ")));
        }
        if producers > 0 {
            users.push(format!(
                "{producers} producer connection(s) have sent to it"
            ));
        }
        Err(BrokerError::SystemError(format!(
            "the topic[{topic}] is in use: {}; set force=true to delete it anyway",
            users.join(" and ")
        )))
    }
}

/// Applies `+key=value,-key` changes (Java's `AttributeUtil.alterCurrentAttributes`): a new
/// topic (`current` = `None`) only takes additions; an existing one may not delete a key it
/// does not have.
fn merge_attributes(
    current: Option<BTreeMap<String, String>>,
    text: &str,
) -> Result<BTreeMap<String, String>, BrokerError> {
    let changes =
        parse_attribute_changes(text).map_err(|e| BrokerError::SystemError(e.to_string()))?;
    let creating = current.is_none();
    let mut attributes = current.unwrap_or_default();
    for (key, change) in changes {
        match change {
            Some(value) => {
                attributes.insert(key, value);
            }
            None if creating => {
                return Err(BrokerError::SystemError(format!(
                    "only add attribute is supported while creating topic. key: {key}"
                )));
            }
            None => {
                if attributes.remove(&key).is_none() {
                    return Err(BrokerError::SystemError(format!(
                        "attempt to delete a nonexistent key: {key}"
                    )));
                }
            }
        }
    }
    Ok(attributes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_attribute_changes_should_add_alter_and_delete_like_java() {
        let created = merge_attributes(None, "+message.type=FIFO").unwrap();
        assert_eq!(created["message.type"], "FIFO");
        let err = merge_attributes(None, "-message.type").unwrap_err();
        assert!(err.to_string().contains("only add"), "{err}");
        let altered = merge_attributes(Some(created.clone()), "+message.type=NORMAL,+x=1").unwrap();
        assert_eq!(
            (altered["message.type"].as_str(), altered.len()),
            ("NORMAL", 2)
        );
        let deleted = merge_attributes(Some(altered), "-x").unwrap();
        assert_eq!(
            deleted,
            BTreeMap::from([("message.type".into(), "NORMAL".into())])
        );
        let err = merge_attributes(Some(deleted.clone()), "-nope").unwrap_err();
        assert!(err.to_string().contains("nonexistent key: nope"), "{err}");
        assert_eq!(
            merge_attributes(Some(deleted.clone()), "").unwrap(),
            deleted
        );
        assert!(merge_attributes(None, "x=1").is_err());
    }
}
