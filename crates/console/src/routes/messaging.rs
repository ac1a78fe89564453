//! The HTTP messaging endpoint (Apogee's own, for applications that speak HTTP rather than a
//! RocketMQ SDK, as the managed service's HTTP SDKs do): publish; consume with a wait time,
//! each message with a receipt handle; ack up to 16 handles at once; change a message's
//! visibility. Consuming is POP on the brokers: a received message stays invisible to the
//! group until its visibility timeout passes, then comes back unless acked; a handle whose
//! timeout has passed is refused with the managed service's `MessageNotExist` error.

use std::sync::Arc;
use std::time::Duration;

use apogee_client::{Message, MessageExt, POP_CK, SimpleConsumer, SimpleConsumerConfig};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State as Shared};
use serde::Deserialize;
use serde_json::{Value, json};

use super::json_body;
use crate::State;
use crate::auth::Caller;
use crate::reply::{self, ApiError, Reply};

/// Messages one consume returns at most, and handles one ack takes at most (the managed
/// service's limits).
const BATCH_MAX: u32 = 16;
/// Longest wait of a consume, in seconds.
const WAIT_MAX_SECS: u64 = 30;
/// Visibility timeouts accepted, in seconds (default 300, as the managed service).
const VISIBILITY_SECS: std::ops::RangeInclusive<u64> = 1..=43_200;
const VISIBILITY_DEFAULT_SECS: u64 = 300;
/// Body bytes of one published message at most.
const BODY_MAX: usize = 4 << 20;

/// POST …/messages' body.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Publish {
    pub message_body: String,
    pub message_tag: Option<String>,
    pub message_key: Option<String>,
    /// User properties.
    #[schema(value_type = Object)]
    pub properties: std::collections::BTreeMap<String, String>,
    /// Deliver no earlier than this time (ms since the epoch): a timer message.
    pub start_deliver_time: Option<i64>,
}

/// GET …/messages' query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", default)]
pub struct Consume {
    /// The consumer group (GID).
    pub consumer: String,
    /// 1..=16 (default 16).
    pub num_of_messages: Option<u32>,
    /// Seconds to wait for messages, 0..=30 (default 0: answer at once).
    #[serde(rename = "waitseconds")]
    #[param(rename = "waitseconds")]
    pub wait_seconds: Option<u64>,
    /// Seconds a received message stays invisible, 1..=43200 (default 300).
    pub visibility_timeout: Option<u64>,
    /// Tag expression (default `*`).
    pub tag: Option<String>,
}

/// DELETE …/messages' query and body.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", default)]
pub struct Group {
    pub consumer: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Ack {
    /// 1 to 16 receipt handles.
    pub receipt_handles: Vec<String>,
}

/// PUT …/messages' query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", default)]
pub struct Visibility {
    pub consumer: String,
    pub receipt_handle: String,
    /// Seconds from now, 1..=43200.
    pub visibility_timeout: u64,
}

fn check_names(topic: &str, group: Option<&str>) -> Result<(), ApiError> {
    apogee_model::TopicName::new(topic)
        .map_err(|e| ApiError::bad_request(format!("topic {topic}: {e}")))?;
    if let Some(group) = group {
        apogee_model::GroupName::new(group)
            .map_err(|e| ApiError::bad_request(format!("consumer {group}: {e}")))?;
    }
    Ok(())
}

async fn consumer(state: &State, group: &str, wait: Duration) -> Result<SimpleConsumer, ApiError> {
    let mut config = SimpleConsumerConfig::new(group);
    config.await_duration = wait;
    SimpleConsumer::start(state.client.clone(), config)
        .await
        .map_err(|e| ApiError::cluster(&e))
}

/// The managed service's answer for a handle that no longer names an invisible message.
fn expired(handle: &str) -> Value {
    json!({
        "receiptHandle": handle,
        "errorCode": "MessageNotExist",
        "errorMessage": "The receipt handle you provided has expired.",
    })
}

/// Whether a handle's visibility timeout is still running.
fn live(handle: &str) -> bool {
    apogee_client::parse_receipt_handle(handle)
        .is_ok_and(|h| h.deadline() > crate::history::now_ms())
}

/// POST /api/messaging/topics/{topic}/messages: publishes one message.
#[utoipa::path(post, path = "/api/messaging/topics/{topic}/messages", tag = "messaging",
    summary = "Publish a message", request_body = Publish,
    params(crate::auth::Common, ("topic" = String, Path)), responses(crate::reply::Answers))]
pub async fn publish(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    Path(topic): Path<String>,
    body: Result<Json<Publish>, JsonRejection>,
) -> Reply {
    caller.need_full("publishing")?;
    check_names(&topic, None)?;
    let Json(body) = json_body(body)?;
    if body.message_body.len() > BODY_MAX {
        return Err(ApiError::bad_request("messageBody is larger than 4 MiB"));
    }
    let mut message = Message::new(topic.clone(), body.message_body.clone().into_bytes());
    if let Some(tag) = body.message_tag.filter(|t| !t.is_empty()) {
        message = message.with_tags(tag);
    }
    if let Some(key) = body.message_key.filter(|k| !k.is_empty()) {
        message = message.with_keys([key]);
    }
    for (key, value) in body.properties {
        message = message.with_property(key, value);
    }
    if let Some(at) = body.start_deliver_time {
        message = message.with_property("TIMER_DELIVER_MS", at.to_string());
    }
    let sent = super::dial::producer(&state).await?.send(message).await?;
    reply::result(json!({ "messageId": sent.msg_id, "topic": topic }))
}

/// GET /api/messaging/topics/{topic}/messages: up to 16 messages for a group, each invisible
/// to the group for the visibility timeout; waits up to `waitseconds` when none are there.
#[utoipa::path(get, path = "/api/messaging/topics/{topic}/messages", tag = "messaging",
    summary = "Consume messages (each with a receipt handle)",
    params(crate::auth::Common, ("topic" = String, Path), Consume), responses(crate::reply::Answers))]
pub async fn consume(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    Path(topic): Path<String>,
    Query(query): Query<Consume>,
) -> Reply {
    caller.need_full("consuming")?;
    check_names(&topic, Some(&query.consumer))?;
    let count = query.num_of_messages.unwrap_or(BATCH_MAX);
    if !(1..=BATCH_MAX).contains(&count) {
        return Err(ApiError::bad_request("numOfMessages must be within 1..=16"));
    }
    let wait = query.wait_seconds.unwrap_or(0);
    if wait > WAIT_MAX_SECS {
        return Err(ApiError::bad_request("waitseconds must be within 0..=30"));
    }
    let visibility = query.visibility_timeout.unwrap_or(VISIBILITY_DEFAULT_SECS);
    if !VISIBILITY_SECS.contains(&visibility) {
        return Err(ApiError::bad_request(
            "visibilityTimeout must be within 1..=43200 seconds",
        ));
    }
    let consumer = consumer(&state, &query.consumer, Duration::from_secs(wait)).await?;
    consumer
        .subscribe(&topic, query.tag.as_deref().unwrap_or("*"))
        .await?;
    let count = i32::try_from(count).unwrap_or(16);
    let got = consumer
        .receive(count, Duration::from_secs(visibility))
        .await?;
    let rows: Vec<Value> = got.iter().map(row).collect();
    reply::result(json!({ "messages": rows }))
}

fn row(m: &MessageExt) -> Value {
    let handle = m.property(POP_CK).unwrap_or_default();
    let handle_info = apogee_client::parse_receipt_handle(handle).ok();
    json!({
        "messageId": m.msg_id,
        "receiptHandle": handle,
        "messageBody": String::from_utf8_lossy(&m.body),
        "messageTag": m.tags(),
        "messageKey": m.keys(),
        "properties": m.properties.iter()
            .filter(|(k, _)| !k.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()))
            .collect::<std::collections::BTreeMap<_, _>>(),
        "publishTime": m.born_timestamp,
        "firstConsumeTime": m.property("1ST_POP_TIME").and_then(|t| t.parse::<i64>().ok()),
        "nextConsumeTime": handle_info.map(|h| h.deadline()),
        "consumedTimes": m.reconsume_times + 1,
    })
}

/// DELETE /api/messaging/topics/{topic}/messages?consumer=: acks 1 to 16 receipt handles;
/// answers which were acked and which had expired.
#[utoipa::path(delete, path = "/api/messaging/topics/{topic}/messages", tag = "messaging",
    summary = "Ack messages by receipt handle (at most 16)", request_body = Ack,
    params(crate::auth::Common, ("topic" = String, Path), Group), responses(crate::reply::Answers))]
pub async fn ack(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    Path(topic): Path<String>,
    Query(group): Query<Group>,
    body: Result<Json<Ack>, JsonRejection>,
) -> Reply {
    caller.need_full("acking")?;
    check_names(&topic, Some(&group.consumer))?;
    let Json(body) = json_body(body)?;
    let count = body.receipt_handles.len();
    if count == 0 || count > BATCH_MAX as usize {
        return Err(ApiError::bad_request(format!(
            "Number of receiptHandles is out of range: {count} (1 to 16)"
        )));
    }
    let consumer = consumer(&state, &group.consumer, Duration::ZERO).await?;
    let (mut acked, mut failures) = (Vec::new(), Vec::new());
    for handle in &body.receipt_handles {
        if !live(handle) {
            failures.push(expired(handle));
            continue;
        }
        match consumer.ack_handle(&topic, handle).await {
            Ok(()) => acked.push(handle.clone()),
            Err(e) => failures.push(json!({
                "receiptHandle": handle, "errorCode": "AckFail", "errorMessage": e.to_string(),
            })),
        }
    }
    reply::result(json!({ "acked": acked, "failures": failures }))
}

/// PUT /api/messaging/topics/{topic}/messages?consumer=&receiptHandle=&visibilityTimeout=:
/// makes a received message invisible for that many seconds from now; answers its new handle.
#[utoipa::path(put, path = "/api/messaging/topics/{topic}/messages", tag = "messaging",
    summary = "Change a received message's visibility timeout",
    params(crate::auth::Common, ("topic" = String, Path), Visibility), responses(crate::reply::Answers))]
pub async fn change_visibility(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    Path(topic): Path<String>,
    Query(query): Query<Visibility>,
) -> Reply {
    caller.need_full("changing visibility")?;
    check_names(&topic, Some(&query.consumer))?;
    if !VISIBILITY_SECS.contains(&query.visibility_timeout) {
        return Err(ApiError::bad_request(
            "visibilityTimeout must be within 1..=43200 seconds",
        ));
    }
    if !live(&query.receipt_handle) {
        return Err(ApiError::not_found(
            expired(&query.receipt_handle).to_string(),
        ));
    }
    let consumer = consumer(&state, &query.consumer, Duration::ZERO).await?;
    let renewed = consumer
        .change_invisible_handle(
            &topic,
            &query.receipt_handle,
            Duration::from_secs(query.visibility_timeout),
        )
        .await
        .map_err(|_| ApiError::not_found(expired(&query.receipt_handle).to_string()))?;
    let next = apogee_client::parse_receipt_handle(&renewed)
        .map(|h| h.deadline())
        .ok();
    reply::result(json!({ "receiptHandle": renewed, "nextVisibleTime": next }))
}
