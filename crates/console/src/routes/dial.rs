//! The dial test (拨测) of the web console (Apogee's own endpoints): send N messages of a size to
//! a topic with the console's producer, and consume N with a group, committing what was read,
//! so a topic can be checked end to end from the browser.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apogee_client::{
    ClientConfig, ConsumeFrom, LitePullConsumer, LitePullConsumerConfig, Message, Producer,
    ProducerConfig,
};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State as Shared};
use serde::Deserialize;
use serde_json::json;

use super::json_body;
use crate::State;
use crate::auth::Caller;
use crate::reply::{self, ApiError, Reply};

/// The console's producer group and the dial test's default consumer group.
pub const DIAL_GROUP: &str = "apogee-console-dial";
/// Messages per dial test at most.
const COUNT_MAX: u32 = 1000;
/// Body bytes per message at most.
const SIZE_MAX: u32 = 64 * 1024;

/// POST …/dial's body.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DialSend {
    /// Messages to send, 1..=1000 (default 1).
    pub count: Option<u32>,
    /// Body bytes, 1..=65536 (default 64).
    pub size: Option<u32>,
    /// The messages' key (default `dial-<time>`).
    pub key: Option<String>,
    pub tag: Option<String>,
}

/// POST …/dial/consume's body.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DialConsume {
    /// The consumer group (default `apogee-console-dial`).
    pub group: Option<String>,
    /// Messages to consume at most, 1..=1000 (default 1).
    pub count: Option<u32>,
    /// How long to wait for them, at most 10,000 ms (default 3,000).
    pub timeout_ms: Option<u64>,
}

fn bounded(name: &str, value: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    let v = value.unwrap_or(default);
    if (1..=max).contains(&v) {
        Ok(v)
    } else {
        Err(ApiError::bad_request(format!(
            "{name} {v} is out of range (1..={max})"
        )))
    }
}

fn check_topic(topic: &str) -> Result<(), ApiError> {
    apogee_model::TopicName::new(topic)
        .map(drop)
        .map_err(|e| ApiError::bad_request(format!("topicName {topic}: {e}")))
}

/// The console's producer, started on first use.
pub(crate) async fn producer(state: &State) -> Result<&Producer, ApiError> {
    state
        .dial
        .get_or_try_init(|| async {
            let config = ClientConfig::clone(&state.client);
            Producer::start(config, ProducerConfig::new(DIAL_GROUP)).await
        })
        .await
        .map_err(|e| ApiError::cluster(&e))
}

/// POST /api/console/topics/{topicName}/dial: sends `count` messages of `size` bytes.
#[utoipa::path(post, path = "/api/console/topics/{topicName}/dial", tag = "console",
    summary = "Dial test: send N messages", request_body = DialSend,
    params(crate::auth::Common, ("topicName" = String, Path)), responses(crate::reply::Answers))]
pub async fn send(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    Path(topic): Path<String>,
    body: Result<Json<DialSend>, JsonRejection>,
) -> Reply {
    caller.need_full("a dial test")?;
    check_topic(&topic)?;
    let Json(body) = json_body(body)?;
    let count = bounded("count", body.count, 1, COUNT_MAX)?;
    let size = bounded("size", body.size, 64, SIZE_MAX)? as usize;
    let now = crate::history::now_ms();
    let key = body
        .key
        .filter(|k| !k.trim().is_empty())
        .unwrap_or_else(|| format!("dial-{now}"));
    if key.len() > 128 || key.contains(char::is_whitespace) {
        return Err(ApiError::bad_request(
            "key must be at most 128 characters, without spaces",
        ));
    }
    let producer = producer(&state).await?;
    let started = Instant::now();
    let mut rows = Vec::with_capacity(count as usize);
    for i in 0..count {
        let mut text = format!("apogee dial test {} of {count} at {now}", i + 1).into_bytes();
        text.resize(size, b'.');
        let mut msg = Message::new(topic.clone(), text).with_keys([key.clone()]);
        if let Some(tag) = body.tag.as_ref().filter(|t| !t.is_empty()) {
            msg = msg.with_tags(tag.clone());
        }
        let sent = producer.send(msg).await?;
        rows.push(json!({
            "msgId": sent.msg_id, "offsetMsgId": sent.offset_msg_id,
            "brokerName": sent.queue.broker_name, "queueId": sent.queue.queue_id,
            "queueOffset": sent.queue_offset, "status": format!("{:?}", sent.status),
        }));
    }
    let elapsed = started.elapsed().as_millis();
    reply::result(json!({ "key": key, "elapsedMs": elapsed, "total": rows.len(), "rows": rows }))
}

/// POST /api/console/topics/{topicName}/dial/consume: consumes `count` messages (or what
/// arrives in time; a last pull batch may add a few) with a group, from its committed offsets,
/// else from the first message kept, and commits what it read.
#[utoipa::path(post, path = "/api/console/topics/{topicName}/dial/consume", tag = "console",
    summary = "Dial test: consume N messages", request_body = DialConsume,
    params(crate::auth::Common, ("topicName" = String, Path)), responses(crate::reply::Answers))]
pub async fn consume(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    Path(topic): Path<String>,
    body: Result<Json<DialConsume>, JsonRejection>,
) -> Reply {
    caller.need_full("a dial test")?;
    check_topic(&topic)?;
    let Json(body) = json_body(body)?;
    let count = bounded("count", body.count, 1, COUNT_MAX)? as usize;
    let wait = Duration::from_millis(body.timeout_ms.unwrap_or(3000).clamp(100, 10_000));
    let group = body
        .group
        .filter(|g| !g.trim().is_empty())
        .unwrap_or(DIAL_GROUP.to_owned());
    let mut config = LitePullConsumerConfig::new(group.clone());
    config.consume_from = ConsumeFrom::FirstOffset;
    config.auto_commit = false;
    // Pulls stop soon after `count`: what was pulled is what gets committed.
    config.pull_batch_size = i32::try_from(count.min(32)).unwrap_or(32);
    let consumer = LitePullConsumer::start(ClientConfig::clone(&state.client), config).await?;
    let started = Instant::now();
    let polled = poll(&consumer, &topic, count, wait).await;
    let committed = consumer.commit_sync().await;
    consumer.shutdown().await;
    let msgs = polled?;
    committed?;
    let rows: Vec<_> = msgs
        .iter()
        .map(|m| {
            json!({
                "msgId": m.msg_id, "keys": m.keys(), "tags": m.tags(),
                "brokerName": m.broker_name, "queueId": m.queue_id,
                "queueOffset": m.queue_offset, "bornTimestamp": m.born_timestamp,
                "bodySize": m.body.len(),
            })
        })
        .collect();
    let elapsed = started.elapsed().as_millis();
    reply::result(
        json!({ "group": group, "elapsedMs": elapsed, "total": rows.len(), "rows": rows }),
    )
}

async fn poll(
    consumer: &LitePullConsumer,
    topic: &str,
    count: usize,
    wait: Duration,
) -> Result<Vec<apogee_client::MessageExt>, ApiError> {
    consumer.subscribe(topic, "*").await?;
    let deadline = Instant::now() + wait;
    let mut msgs = Vec::new();
    while msgs.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        msgs.extend(consumer.poll(left.min(Duration::from_millis(500))).await);
    }
    Ok(msgs)
}
