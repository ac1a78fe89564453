//! Message queries (seed 001 §7.9): by message id, by queue offset, by key, each message with
//! its consume status — for the group asked about (`status`: `CONSUMED` / `TO_CONSUME`, the
//! document's values) and, as RocketMQ's `queryMsgById` track does, for every group of the
//! topic (`trackList`: `CONSUMED`, `CONSUMED_BUT_FILTERED`, `NOT_CONSUME_YET`, `NOT_ONLINE`,
//! `CONSUME_BROADCASTING`, `UNKNOWN_EXCEPTION`).

use std::collections::BTreeMap;
use std::sync::Arc;

use apogee_client::{MessageExt, MessageModel, MessageQueue};
use axum::extract::{Path, Query, State as Shared};
use serde_json::{Value, json};

use super::Page;
use super::param;
use crate::State;
use crate::auth::Caller;
use crate::reply::{self, ApiError, Reply};

/// How far one group got with one message (RocketMQ's `TrackType`).
async fn track(state: &State, group: &str, m: &MessageExt) -> (&'static str, &'static str) {
    let online = state.admin.consumer_connection(group).await.ok();
    let queue = MessageQueue {
        broker_name: m.broker_name.clone(),
        queue_id: m.queue_id,
        topic: m.topic.clone(),
    };
    let consumed = match state.admin.consume_stats(group, Some(&m.topic)).await {
        Ok(stats) => stats
            .offset_table
            .get(&queue)
            .map(|o| o.consumer_offset > m.queue_offset),
        Err(_) => None,
    };
    let status = if consumed == Some(true) {
        "CONSUMED"
    } else {
        "TO_CONSUME"
    };
    let track = match (&online, consumed) {
        (None, _) => "NOT_ONLINE",
        (Some(c), _) if c.message_model == MessageModel::Broadcasting => "CONSUME_BROADCASTING",
        (Some(c), Some(true)) => {
            let filtered = c.subscription_table.get(&m.topic).is_some_and(|sub| {
                let tag = m.tags().unwrap_or_default();
                sub.sub_string != "*" && !sub.sub_string.is_empty() && !sub.tags_set.contains(tag)
            });
            if filtered {
                "CONSUMED_BUT_FILTERED"
            } else {
                "CONSUMED"
            }
        }
        (Some(_), Some(false) | None) => "NOT_CONSUME_YET",
    };
    (status, track)
}

/// The document's message object, with Apogee's `brokerName`, `offsetMsgId` and `trackList`.
async fn message_json(state: &State, m: &MessageExt, group: Option<&str>) -> Value {
    let mut tracks = Vec::new();
    let groups = state
        .admin
        .topic_consumed_by(&m.topic)
        .await
        .unwrap_or_default();
    for g in &groups {
        let (status, t) = track(state, g, m).await;
        tracks.push(json!({ "consumerGroup": g, "trackType": t, "status": status }));
    }
    let status = match group.filter(|g| !g.is_empty()) {
        Some(g) => Some(track(state, g, m).await.0),
        None => None,
    };
    let properties: BTreeMap<&str, &str> = m
        .properties
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    json!({
        "queueId": m.queue_id,
        "storeSize": m.store_size,
        "queueOffset": m.queue_offset,
        "sysFlag": m.sys_flag,
        "bornTimestamp": m.born_timestamp,
        "bornHost": m.born_host.to_string(),
        "storeTimestamp": m.store_timestamp,
        "storeHost": m.store_host.to_string(),
        "msgId": m.msg_id,
        "offsetMsgId": m.offset_msg_id,
        "commitLogOffset": m.commit_log_offset,
        "bodyCRC": m.body_crc,
        "reconsumeTimes": m.reconsume_times,
        "preparedTransactionOffset": m.prepared_transaction_offset,
        "topic": m.topic,
        "brokerName": m.broker_name,
        "properties": properties,
        "messageBody": String::from_utf8_lossy(&m.body),
        "status": status,
        "messageBodyPath": Value::Null,
        "trackList": tracks,
    })
}

/// GET /api/manager/messages/{msgId}?topicName=&groupName= (§7.9.1): a message by its client
/// id (UNIQ_KEY, needs the topic) or its broker (offset) id.
#[utoipa::path(
    get,
    path = "/api/manager/messages/{msgId}",
    tag = "messages",
    summary = "A message by id, with its consume status (§7.9.1)",
    params(crate::auth::Common, ("msgId" = String, Path), ("topicName" = Option<String>, Query), ("groupName" = Option<String>, Query)),
    responses((status = 200, description = "result.data: the message", body = crate::reply::Envelope), (status = 404, description = "no such message", body = crate::reply::Envelope))
)]
pub async fn by_id(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path(msg_id): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Reply {
    let topic = q
        .get("topicName")
        .map(String::as_str)
        .filter(|t| !t.is_empty());
    let found = state
        .admin
        .query_message_by_id(topic, &msg_id)
        .await
        .map_err(|e| {
            if topic.is_none() {
                ApiError::bad_request(e.to_string())
            } else {
                ApiError::from(e)
            }
        })?;
    let Some(m) = found.first() else {
        return Err(ApiError::not_found(format!("no message {msg_id}")));
    };
    reply::data(message_json(&state, m, q.get("groupName").map(String::as_str)).await)
}

/// GET /api/manager/messages/offset (§7.9.2; also `/messages/messages/offset`, the document's
/// example): the message at `queueOffset` of queue `queueId` of `brokerName`'s `topicName`.
#[utoipa::path(
    get,
    path = "/api/manager/messages/offset",
    tag = "messages",
    summary = "A message by queue offset, with its consume status (§7.9.2)",
    params(crate::auth::Common, ("topicName" = String, Query), ("brokerName" = String, Query), ("queueId" = i32, Query), ("queueOffset" = i64, Query), ("groupName" = Option<String>, Query)),
    responses((status = 200, description = "result.data: the message", body = crate::reply::Envelope), (status = 404, description = "no message there", body = crate::reply::Envelope))
)]
pub async fn by_offset(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Query(q): Query<BTreeMap<String, String>>,
) -> Reply {
    let number = |name: &str| -> Result<i64, ApiError> {
        param(&q, name)?
            .parse()
            .map_err(|_| ApiError::bad_request(format!("{name} must be a number")))
    };
    let queue = MessageQueue {
        broker_name: param(&q, "brokerName")?.to_owned(),
        queue_id: i32::try_from(number("queueId")?)
            .map_err(|_| ApiError::bad_request("queueId is out of range"))?,
        topic: param(&q, "topicName")?.to_owned(),
    };
    let offset = number("queueOffset")?;
    let m = state
        .admin
        .message_at(&queue, offset)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no message at offset {offset} of {}:{}:{}",
                queue.topic, queue.broker_name, queue.queue_id
            ))
        })?;
    reply::data(message_json(&state, &m, q.get("groupName").map(String::as_str)).await)
}

/// GET /api/manager/messages/key (§7.9.3; also `/messages/messages/key`): messages of
/// `topicName` with key `key`, paged.
#[utoipa::path(
    get,
    path = "/api/manager/messages/key",
    tag = "messages",
    summary = "Messages by key, paged (§7.9.3)",
    params(crate::auth::Common, ("topicName" = String, Query), ("key" = String, Query), super::Page),
    responses((status = 200, description = "result: total and rows of messages", body = crate::reply::Envelope))
)]
pub async fn by_key(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Query(q): Query<BTreeMap<String, String>>,
    Query(page): Query<Page>,
) -> Reply {
    let topic = param(&q, "topicName")?;
    let key = param(&q, "key")?;
    let found = state
        .admin
        .query_message_by_key(topic, key, 0, i64::MAX)
        .await?;
    let mut rows = Vec::with_capacity(found.len());
    for m in &found {
        rows.push(message_json(&state, m, None).await);
    }
    page.reply(rows)
}
