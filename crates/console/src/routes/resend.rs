//! Dead letters and redelivery for the web console (Apogee's own endpoints): browse a group's
//! dead-letter topic, resend one, several or all of its messages, resend any message to a group,
//! or push one to a single client (CONSUME_MESSAGE_DIRECTLY).
//!
//! A resend publishes a copy to the group's retry topic `%RETRY%{group}` with `RETRY_TOPIC` set
//! to the original topic: every RocketMQ client consumes its retry topic and hands the message
//! to the application under the original topic, so the group gets it again whether or not one
//! of its consumers is online now. (RocketMQ's dashboard resends dead letters with
//! CONSUME_MESSAGE_DIRECTLY, which needs a live consumer and skips the group's retry policy.)

use std::sync::Arc;

use apogee_client::{Message, MessageExt, MessageQueue, property};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State as Shared};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Page, json_body};
use crate::State;
use crate::auth::Caller;
use crate::reply::{self, ApiError, Reply};

/// Dead letters resent by one "resend all" at most.
const RESEND_ALL_MAX: i64 = 10_000;
/// Properties a copy does not carry over (the broker sets them again or they would misroute it).
const DROPPED: &[&str] = &[
    property::DELAY,
    property::REAL_TOPIC,
    property::REAL_QID,
    property::TRAN_MSG,
    property::MIN_OFFSET,
    property::MAX_OFFSET,
    property::RECONSUME_TIME,
    "CLUSTER",
    "TIMER_DELIVER_MS",
    "TIMER_DELAY_SEC",
];

fn check_group(group: &str) -> Result<(), ApiError> {
    apogee_model::GroupName::new(group)
        .map(drop)
        .map_err(|e| ApiError::bad_request(format!("groupName {group}: {e}")))
}

/// The topic the application sent `m` to.
fn original_topic(m: &MessageExt) -> String {
    m.properties
        .get(property::RETRY_TOPIC)
        .cloned()
        .unwrap_or_else(|| m.topic.clone())
}

/// Makes sure `retry` is routed to `broker`: a group that never failed a message has no retry
/// topic yet, so it is created there with one queue (RocketMQ's default) and the route awaited.
async fn ensure_routed(state: &State, retry: &str, broker: &str) -> Result<(), ApiError> {
    let routed = |route: Option<apogee_client::TopicRouteData>| {
        route.is_some_and(|r| {
            r.broker_datas
                .iter()
                .any(|b| b.broker_name.as_str() == broker)
        })
    };
    if routed(state.admin.topic_route(retry).await.ok()) {
        return Ok(());
    }
    let info = state.admin.cluster_info().await?;
    let addr = info
        .broker_addr_table
        .iter()
        .find(|(name, _)| name.as_str() == broker)
        .and_then(|(_, b)| b.broker_addrs.get(&0).cloned())
        .ok_or_else(|| ApiError::not_found(format!("broker {broker} has no master")))?;
    let mut spec = apogee_client::TopicSpec::new(retry);
    (spec.read_queue_nums, spec.write_queue_nums) = (1, 1);
    state.admin.create_topic(&addr, &spec).await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !routed(state.admin.topic_route(retry).await.ok()) {
        if std::time::Instant::now() > deadline {
            return Err(ApiError::internal(format!(
                "{retry} was created on {broker} but is not routed yet; try again"
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Publishes a copy of `m` to `group`'s retry topic, queue 0 on the broker that held `m`;
/// answers the copy's message id.
async fn republish(state: &State, group: &str, m: &MessageExt) -> Result<String, ApiError> {
    let retry = format!("%RETRY%{group}");
    ensure_routed(state, &retry, &m.broker_name).await?;
    let queue = MessageQueue {
        topic: retry.clone(),
        broker_name: m.broker_name.clone(),
        queue_id: 0,
    };
    let mut copy = Message::new(retry, m.body.clone());
    copy.flag = m.flag;
    for (k, v) in &m.properties {
        if !DROPPED.contains(&k.as_str()) {
            copy = copy.with_property(k.clone(), v.clone());
        }
    }
    copy = copy.with_property(property::RETRY_TOPIC, original_topic(m));
    if !m.properties.contains_key(property::ORIGIN_MESSAGE_ID) {
        copy = copy.with_property(property::ORIGIN_MESSAGE_ID, m.offset_msg_id.clone());
    }
    let producer = super::dial::producer(state).await?;
    let sent = producer.send_to_queue(copy, &queue).await?;
    Ok(sent.msg_id)
}

/// The dead-letter topic's queues with their (min, max) offsets, in a stable order.
async fn dlq_queues(state: &State, group: &str) -> Result<Vec<(MessageQueue, i64, i64)>, ApiError> {
    let topic = format!("%DLQ%{group}");
    let stats = state.admin.topic_stats(&topic).await.map_err(|_| {
        ApiError::not_found(format!(
            "group {group} has no dead letters ({topic} does not exist)"
        ))
    })?;
    let mut queues: Vec<_> = stats
        .offset_table
        .into_iter()
        .map(|(q, o)| (q, o.min_offset, o.max_offset.max(o.min_offset)))
        .collect();
    queues.sort_by(|a, b| (&a.0.broker_name, a.0.queue_id).cmp(&(&b.0.broker_name, b.0.queue_id)));
    Ok(queues)
}

fn row(m: &MessageExt) -> Value {
    json!({
        "msgId": m.msg_id, "topic": original_topic(m), "keys": m.keys(), "tags": m.tags(),
        "brokerName": m.broker_name, "queueId": m.queue_id, "queueOffset": m.queue_offset,
        "reconsumeTimes": m.reconsume_times, "storeTimestamp": m.store_timestamp,
        "bornTimestamp": m.born_timestamp, "bodySize": m.body.len(),
        "messageBody": String::from_utf8_lossy(&m.body),
    })
}

/// Reads messages `[from, to)` of one queue (as many pulls as it takes).
async fn read(
    state: &State,
    q: &MessageQueue,
    from: i64,
    to: i64,
) -> Result<Vec<MessageExt>, ApiError> {
    let mut out = Vec::new();
    let mut next = from;
    while next < to {
        let max = i32::try_from((to - next).min(32)).unwrap_or(32);
        let pulled = state.admin.pull_from(q, next, max).await?;
        let before = out.len();
        out.extend(
            pulled
                .messages
                .into_iter()
                .filter(|m| m.queue_offset >= next && m.queue_offset < to),
        );
        let Some(last) = out.last().map(|m| m.queue_offset) else {
            break;
        };
        if out.len() == before {
            break;
        }
        next = last + 1;
    }
    Ok(out)
}

/// GET /api/console/dlq/{groupName}: the group's dead letters, oldest first, paged.
#[utoipa::path(get, path = "/api/console/dlq/{groupName}", tag = "console",
    summary = "A group's dead letters, paged",
    params(crate::auth::Common, ("groupName" = String, Path), super::Page),
    responses(crate::reply::Answers))]
pub async fn dlq(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path(group): Path<String>,
    Query(page): Query<Page>,
) -> Reply {
    check_group(&group)?;
    let queues = dlq_queues(&state, &group).await?;
    let total: i64 = queues.iter().map(|(_, lo, hi)| hi - lo).sum();
    let (number, size) = page.bounds()?;
    let mut skip = i64::try_from((number - 1).saturating_mul(size)).unwrap_or(i64::MAX);
    let mut want = i64::try_from(size).unwrap_or(1000);
    let mut rows = Vec::new();
    for (q, lo, hi) in &queues {
        if want == 0 {
            break;
        }
        let here = hi - lo;
        if skip >= here {
            skip -= here;
            continue;
        }
        let from = lo + skip;
        let to = (from + want).min(*hi);
        skip = 0;
        let msgs = read(&state, q, from, to).await?;
        want -= to - from;
        rows.extend(msgs.iter().map(row));
    }
    reply::result(json!({ "total": total, "rows": rows }))
}

/// POST …/resend's body: the dead letters to resend, or all of them.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DlqResend {
    /// `{"brokerName","queueId","queueOffset"}` of each message.
    #[schema(value_type = Vec<Object>)]
    pub messages: Vec<Value>,
    /// Every dead letter (at most 10,000 per call).
    pub all: bool,
}

fn position(v: &Value, group: &str) -> Result<(MessageQueue, i64), ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "each of messages needs brokerName, queueId and queueOffset: {v}"
        ))
    };
    let queue = MessageQueue {
        topic: format!("%DLQ%{group}"),
        broker_name: v["brokerName"].as_str().ok_or_else(bad)?.to_owned(),
        queue_id: v["queueId"]
            .as_i64()
            .and_then(|q| i32::try_from(q).ok())
            .ok_or_else(bad)?,
    };
    Ok((queue, v["queueOffset"].as_i64().ok_or_else(bad)?))
}

/// POST /api/console/dlq/{groupName}/resend: sends the chosen dead letters (or all) back to
/// the group through its retry topic.
#[utoipa::path(post, path = "/api/console/dlq/{groupName}/resend", tag = "console",
    summary = "Resend dead letters to their group", request_body = DlqResend,
    params(crate::auth::Common, ("groupName" = String, Path)), responses(crate::reply::Answers))]
pub async fn dlq_resend(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    Path(group): Path<String>,
    body: Result<Json<DlqResend>, JsonRejection>,
) -> Reply {
    caller.need_full("resending dead letters")?;
    check_group(&group)?;
    let Json(body) = json_body(body)?;
    let mut picked = Vec::new();
    if body.all {
        let mut left = RESEND_ALL_MAX;
        for (q, lo, hi) in dlq_queues(&state, &group).await? {
            let to = hi.min(lo + left);
            left -= to - lo;
            picked.extend(read(&state, &q, lo, to).await?);
        }
    } else {
        if body.messages.is_empty() || body.messages.len() > 1000 {
            return Err(ApiError::bad_request(
                "messages must name 1 to 1000 dead letters, or set all",
            ));
        }
        for v in &body.messages {
            let (q, offset) = position(v, &group)?;
            let m = state.admin.message_at(&q, offset).await?.ok_or_else(|| {
                ApiError::not_found(format!(
                    "no dead letter at offset {offset} of {}:{}",
                    q.broker_name, q.queue_id
                ))
            })?;
            picked.push(m);
        }
    }
    let mut resent = Vec::with_capacity(picked.len());
    for m in &picked {
        resent.push(republish(&state, &group, m).await?);
    }
    reply::result(json!({ "total": resent.len(), "msgIds": resent }))
}

/// POST /api/console/messages/resend's body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageResend {
    pub topic_name: String,
    pub msg_id: String,
    pub group_name: String,
    /// Push to this client only (CONSUME_MESSAGE_DIRECTLY) instead of resending to the group.
    pub client_id: Option<String>,
}

/// POST /api/console/messages/resend: a message again to a group (through its retry topic), or
/// pushed to one of its clients, which consumes it at once and says how it went.
#[utoipa::path(post, path = "/api/console/messages/resend", tag = "console",
    summary = "Resend a message to a group, or push it to one client", request_body = MessageResend,
    params(crate::auth::Common), responses(crate::reply::Answers))]
pub async fn message_resend(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    body: Result<Json<MessageResend>, JsonRejection>,
) -> Reply {
    caller.need_full("resending a message")?;
    let Json(b) = json_body(body)?;
    check_group(&b.group_name)?;
    if let Some(client) = b.client_id.as_deref().filter(|c| !c.trim().is_empty()) {
        let result = state
            .admin
            .consume_message_directly(&b.group_name, client, Some(&b.topic_name), &b.msg_id)
            .await?;
        return reply::data(json!({
            "consumeResult": result.consume_result, "remark": result.remark,
            "spentTimeMills": result.spent_time_mills, "order": result.order,
        }));
    }
    let m = state
        .admin
        .query_message_by_id(Some(&b.topic_name), &b.msg_id)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            ApiError::not_found(format!("no message {} in {}", b.msg_id, b.topic_name))
        })?;
    let id = republish(&state, &b.group_name, &m).await?;
    reply::data(json!({ "msgId": id }))
}
