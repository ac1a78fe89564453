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

use apogee_client::{MessageExt, MessageQueue, redeliver};
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
fn check_group(group: &str) -> Result<(), ApiError> {
    apogee_model::GroupName::new(group)
        .map(drop)
        .map_err(|e| ApiError::bad_request(format!("groupName {group}: {e}")))
}

/// Publishes a copy of `m` to `group`'s retry topic with the console's producer.
async fn republish(state: &State, group: &str, m: &MessageExt) -> Result<String, ApiError> {
    let producer = super::dial::producer(state).await?;
    Ok(redeliver::resend_to_group(&state.admin, producer, group, m).await?)
}

/// The dead-letter topic's queues, or 404 when the group has none.
async fn dlq_queues(state: &State, group: &str) -> Result<Vec<(MessageQueue, i64, i64)>, ApiError> {
    state.admin.dead_letter_queues(group).await.map_err(|_| {
        ApiError::not_found(format!(
            "group {group} has no dead letters (%DLQ%{group} does not exist)"
        ))
    })
}

fn row(m: &MessageExt) -> Value {
    json!({
        "msgId": m.msg_id, "topic": redeliver::original_topic(m), "keys": m.keys(), "tags": m.tags(),
        "brokerName": m.broker_name, "queueId": m.queue_id, "queueOffset": m.queue_offset,
        "reconsumeTimes": m.reconsume_times, "storeTimestamp": m.store_timestamp,
        "bornTimestamp": m.born_timestamp, "bodySize": m.body.len(),
        "messageBody": String::from_utf8_lossy(&m.body),
    })
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
        let msgs = state.admin.read_range(q, from, to).await?;
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
        topic: apogee_model::system_topic::dlq_topic(group),
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
            picked.extend(state.admin.read_range(&q, lo, to).await?);
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
