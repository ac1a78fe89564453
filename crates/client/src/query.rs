//! Message lookup for operators (`queryMsgById`, `queryMsgByKey`, `queryMsgByOffset`,
//! `consumeMessage`): by offset message id (VIEW_MESSAGE_BY_ID), by key or unique key through
//! the broker's index (QUERY_MESSAGE), and by queue position (a PULL that commits nothing).

use std::collections::BTreeSet;
use std::time::Duration;

use apogee_protocol::body::client::MessageQueue;
use apogee_protocol::header::consumer::{QueryMessageRequestHeader, ViewMessageRequestHeader};
use apogee_protocol::header::message::{PullMessageRequestHeader, pull_sys_flag};
use apogee_protocol::message_id::decode_offset_msg_id;
use apogee_protocol::record::{RecordAt, decode_record};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::admin::Admin;
use crate::message::{MessageExt, property};
use crate::{ClientError, PullResult, Result};

/// The group tools pull with (Java's `TOOLS_CONSUMER`); nothing is committed for it.
pub const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";

/// At most this many messages per key lookup, per broker (Java's default `maxNum`).
const KEY_QUERY_MAX: i32 = 64;

impl Admin {
    /// The message an offset message id (store host + CommitLog offset) names.
    pub async fn view_message(&self, offset_msg_id: &str) -> Result<MessageExt> {
        let (host, offset) = decode_offset_msg_id(offset_msg_id).ok_or_else(|| {
            ClientError::InvalidArgument(format!(
                "`{offset_msg_id}` is not an offset message id (32 hex digits for IPv4); \
                 for a client message id (UNIQ_KEY) give the topic too"
            ))
        })?;
        let addr = host.to_string();
        let header = ViewMessageRequestHeader {
            topic: None,
            offset,
        };
        let response = self
            .call(
                &addr,
                RemotingCommand::request(RequestCode::VIEW_MESSAGE_BY_ID, &header),
            )
            .await?;
        let broker_name = self.broker_name_of(&addr).await;
        decode_all(&response.body, &broker_name)
            .into_iter()
            .next()
            .ok_or_else(|| {
                ClientError::bad_response(&addr, "VIEW_MESSAGE_BY_ID answered no record")
            })
    }

    /// Messages of `topic` whose KEYS include `key`, stored between the two timestamps (ms).
    pub async fn query_message_by_key(
        &self,
        topic: &str,
        key: &str,
        begin_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<MessageExt>> {
        let found = self
            .query_index(topic, key, false, KEY_QUERY_MAX, begin_ms, end_ms)
            .await?;
        // The index is a hash: keep only true matches.
        Ok(found
            .into_iter()
            .filter(|m| m.keys().is_some_and(|k| k.split(' ').any(|k| k == key)))
            .collect())
    }

    /// The message(s) of `topic` with client message id (UNIQ_KEY) `msg_id`; more than one
    /// when a retry stored it again.
    pub async fn query_message_by_unique_key(
        &self,
        topic: &str,
        msg_id: &str,
    ) -> Result<Vec<MessageExt>> {
        let found = self
            .query_index(topic, msg_id, true, 32, 0, i64::MAX)
            .await?;
        Ok(found
            .into_iter()
            .filter(|m| m.property(property::UNIQ_KEY) == Some(msg_id))
            .collect())
    }

    /// A message id of either kind: an offset message id is looked up directly; anything
    /// else (or an offset id that names no reachable broker) as a UNIQ_KEY of `topic`.
    pub async fn query_message_by_id(
        &self,
        topic: Option<&str>,
        msg_id: &str,
    ) -> Result<Vec<MessageExt>> {
        if decode_offset_msg_id(msg_id).is_some() {
            match self.view_message(msg_id).await {
                Ok(m) => return Ok(vec![m]),
                Err(e) if topic.is_none() => return Err(e),
                Err(_) => {}
            }
        }
        let topic = topic.ok_or_else(|| {
            ClientError::InvalidArgument(format!(
                "`{msg_id}` is a client message id (UNIQ_KEY): give its topic to look it up"
            ))
        })?;
        self.query_message_by_unique_key(topic, msg_id).await
    }

    /// Up to `max` messages of one queue from `offset` on, read without committing anything.
    pub async fn pull_from(
        &self,
        queue: &MessageQueue,
        offset: i64,
        max: i32,
    ) -> Result<PullResult> {
        let addr = self.master_of(&queue.topic, &queue.broker_name).await?;
        let header = PullMessageRequestHeader {
            consumer_group: TOOLS_CONSUMER_GROUP.into(),
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            queue_offset: offset,
            max_msg_nums: max,
            sys_flag: pull_sys_flag::SUBSCRIPTION,
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some("*".into()),
            sub_version: 0,
            expression_type: Some("TAG".into()),
            max_msg_bytes: None,
            request_source: None,
            proxy_forward_client_id: None,
            broker_name: Some(queue.broker_name.clone()),
        };
        let timeout = self.instance().config.request_timeout + Duration::from_secs(1);
        self.instance()
            .pull(&addr, header, &BTreeSet::new(), timeout)
            .await
    }

    /// The message at `offset` of one queue, if it is still stored.
    pub async fn message_at(
        &self,
        queue: &MessageQueue,
        offset: i64,
    ) -> Result<Option<MessageExt>> {
        let pulled = self.pull_from(queue, offset, 1).await?;
        Ok(pulled
            .messages
            .into_iter()
            .find(|m| m.queue_offset == offset))
    }

    /// QUERY_MESSAGE on every master of `topic`'s route; brokers without a hit are skipped.
    async fn query_index(
        &self,
        topic: &str,
        key: &str,
        unique: bool,
        max: i32,
        begin_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<MessageExt>> {
        let route = self.topic_route(topic).await?;
        let mut found = Vec::new();
        for broker in &route.broker_datas {
            let Some(addr) = broker.broker_addrs.get(&apogee_model::MASTER_ID) else {
                continue;
            };
            let header = QueryMessageRequestHeader {
                topic: topic.to_owned(),
                key: key.to_owned(),
                max_num: max,
                begin_timestamp: begin_ms,
                end_timestamp: end_ms,
            };
            let mut request = RemotingCommand::request(RequestCode::QUERY_MESSAGE, &header);
            if unique {
                request.ext_fields.insert("_UNIQUE_KEY_QUERY", "true");
            }
            let response = self
                .instance()
                .invoke(addr, request, self.instance().config.request_timeout)
                .await?;
            match response.response_code() {
                ResponseCode::SUCCESS => {
                    found.extend(decode_all(&response.body, broker.broker_name.as_str()));
                }
                ResponseCode::QUERY_NOT_FOUND => {}
                _ => return Err(ClientError::refused(addr, &response)),
            }
        }
        found.sort_by_key(|m| m.store_timestamp);
        Ok(found)
    }

    /// The master address of `broker_name` in `topic`'s route.
    async fn master_of(&self, topic: &str, broker_name: &str) -> Result<String> {
        let route = self.topic_route(topic).await?;
        route
            .broker_datas
            .iter()
            .find(|b| b.broker_name.as_str() == broker_name)
            .and_then(|b| b.broker_addrs.get(&apogee_model::MASTER_ID).cloned())
            .ok_or_else(|| {
                ClientError::InvalidArgument(format!(
                    "broker `{broker_name}` is not in the route of `{topic}`; `topicRoute -t {topic}` shows its brokers"
                ))
            })
    }

    /// The name of the broker listening at `addr` (empty when the NameServer doesn't know it).
    async fn broker_name_of(&self, addr: &str) -> String {
        let Ok(info) = self.cluster_info().await else {
            return String::new();
        };
        info.broker_addr_table
            .iter()
            .find(|(_, b)| b.broker_addrs.values().any(|a| a == addr))
            .map(|(name, _)| name.to_string())
            .unwrap_or_default()
    }
}

/// Every message record in a query body.
fn decode_all(body: &bytes::Bytes, broker_name: &str) -> Vec<MessageExt> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < body.len() {
        match decode_record(body, at, false) {
            Ok((RecordAt::Message(record), size)) => {
                at += size;
                out.push(MessageExt::from_record(record, broker_name));
            }
            Ok((RecordAt::Blank { .. }, _)) | Err(_) => break,
        }
    }
    out
}
