//! Messages of a topic stored in a time range (Apogee's own endpoint, as RocketMQ's dashboard
//! offers): on every queue, SEARCH_OFFSET_BY_TIMESTAMP finds where the range starts and ends,
//! and the messages between are read without committing anything.

use std::collections::BTreeMap;
use std::sync::Arc;

use apogee_client::{MessageExt, MessageQueue};
use axum::extract::{Query, State as Shared};
use serde_json::json;

use super::{number_param, param};
use crate::State;
use crate::auth::Caller;
use crate::reply::{self, ApiError, Reply};

/// Messages answered at most.
const MAX: i64 = 1000;

/// Sorts `found` by store time and keeps the first `max`.
fn keep_oldest(found: &mut Vec<MessageExt>, max: i64) {
    found.sort_by_key(|m| (m.store_timestamp, m.queue_offset));
    found.truncate(usize::try_from(max).unwrap_or(usize::MAX));
}

/// Up to `max` messages of `queue` stored in `[begin, end)`.
async fn in_queue(
    state: &State,
    addr: &str,
    queue: &MessageQueue,
    (begin, end): (i64, i64),
    max: i64,
) -> Result<Vec<MessageExt>, ApiError> {
    let instance = state.admin.instance();
    let from = instance.search_offset(addr, queue, begin).await?;
    let to = if end == i64::MAX {
        i64::MAX
    } else {
        instance.search_offset(addr, queue, end).await?
    };
    let mut found = Vec::new();
    let mut next = from;
    while next < to && (found.len() as i64) < max {
        let want = i32::try_from((to - next).min(max - found.len() as i64).min(32)).unwrap_or(32);
        let pulled = state.admin.pull_from(queue, next, want).await?;
        let Some(last) = pulled.messages.last().map(|m| m.queue_offset) else {
            break;
        };
        found.extend(pulled.messages.into_iter().filter(|m| {
            m.store_timestamp >= begin && m.store_timestamp < end && m.queue_offset < to
        }));
        next = last + 1;
    }
    Ok(found)
}

/// GET /api/console/messages/time?topicName=&begin=&end=&max=: up to `max` (≤ 1000, default
/// 100) messages stored in `[begin, end)` (milliseconds), oldest first.
#[utoipa::path(get, path = "/api/console/messages/time", tag = "console",
    summary = "Messages of a topic stored in a time range",
    params(crate::auth::Common, ("topicName" = String, Query), ("begin" = i64, Query),
        ("end" = i64, Query), ("max" = Option<i64>, Query)),
    responses(crate::reply::Answers))]
pub async fn by_time(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Query(q): Query<BTreeMap<String, String>>,
) -> Reply {
    let topic = param(&q, "topicName")?.to_owned();
    let begin =
        number_param(&q, "begin")?.ok_or_else(|| ApiError::bad_request("begin is required"))?;
    let end = number_param(&q, "end")?.unwrap_or(i64::MAX);
    let max = number_param(&q, "max")?.unwrap_or(100).clamp(1, MAX);
    if end <= begin {
        return Err(ApiError::bad_request("end must be after begin"));
    }
    let route = state
        .admin
        .topic_route(&topic)
        .await
        .map_err(|e| ApiError::not_found(format!("topic {topic}: {e}")))?;
    let mut found = Vec::new();
    for broker in &route.broker_datas {
        let Some(addr) = broker.broker_addrs.get(&0) else {
            continue;
        };
        let queues = route
            .queue_datas
            .iter()
            .filter(|d| d.broker_name == broker.broker_name)
            .map(|d| d.read_queue_nums)
            .max()
            .unwrap_or(0);
        for queue_id in 0..queues {
            let queue = MessageQueue {
                topic: topic.clone(),
                broker_name: broker.broker_name.to_string(),
                queue_id,
            };
            found.extend(in_queue(&state, addr, &queue, (begin, end), max).await?);
            // Only the oldest `max` can be answered: memory stays at two queues' worth.
            keep_oldest(&mut found, max);
        }
    }
    keep_oldest(&mut found, max);
    let rows: Vec<_> = found
        .iter()
        .map(|m| {
            json!({
                "msgId": m.msg_id, "topic": m.topic, "properties": m.properties,
                "brokerName": m.broker_name, "queueId": m.queue_id, "queueOffset": m.queue_offset,
                "storeTimestamp": m.store_timestamp, "bornTimestamp": m.born_timestamp,
            })
        })
        .collect();
    reply::result(json!({ "total": rows.len(), "rows": rows }))
}
