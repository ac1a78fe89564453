//! Who produces and consumes a topic and how far behind they are (seed 001 §7.5.7–7.5.10,
//! §7.7.2), and resetting a group's progress by time (§7.7.3).

use std::collections::BTreeMap;
use std::sync::Arc;

use apogee_client::{ConsumeStats, OffsetWrapper};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State as Shared};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Page, cluster_masters, json_body};
use crate::State;
use crate::auth::Caller;
use crate::reply::{self, ApiError, Reply};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The topic must exist in the cluster (some master of it hosts the topic).
async fn topic_brokers(
    state: &State,
    cluster: &str,
    topic: &str,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut hosting = Vec::new();
    for (broker, addr) in cluster_masters(state, cluster).await? {
        if state
            .admin
            .topic_configs(&addr)
            .await?
            .topic_config_table
            .contains_key(topic)
        {
            hosting.push((broker, addr));
        }
    }
    if hosting.is_empty() {
        return Err(ApiError::not_found(format!(
            "topic {topic} does not exist in cluster {cluster}"
        )));
    }
    Ok(hosting)
}

/// A group's progress on a topic (empty when it has none).
async fn stats(state: &State, group: &str, topic: &str) -> ConsumeStats {
    state
        .admin
        .consume_stats(group, Some(topic))
        .await
        .unwrap_or_default()
}

/// Messages per second over the last minute and messages over the last day that `group`
/// pulled from `topic` on one broker (0 when it never pulled there).
async fn out_figures(state: &State, addr: &str, topic: &str, group: &str) -> (f64, i64) {
    match state
        .admin
        .view_broker_stats(addr, "GROUP_GET_NUMS", &format!("{topic}@{group}"))
        .await
    {
        Ok(d) => (d.stats_minute.tps, d.stats_day.sum),
        Err(_) => (0.0, 0),
    }
}

/// One depth row over the queues of `on` brokers: `total` messages ever written, of which
/// `consumedTotal` consumed and `diff` not; `notAckMsgNum` pulled but not committed;
/// `notConsumeMsgTime` the consume delay: milliseconds since the oldest unconsumed message was
/// stored (`oldest`; 0 without backlog).
fn depth_row(
    offsets: &[&OffsetWrapper],
    now: i64,
    oldest: Option<i64>,
) -> serde_json::Map<String, Value> {
    let total: i64 = offsets.iter().map(|o| o.broker_offset).sum();
    let consumed: i64 = offsets.iter().map(|o| o.consumer_offset).sum();
    let diff = (total - consumed).max(0);
    let not_acked: i64 = offsets
        .iter()
        .map(|o| (o.pull_offset - o.consumer_offset).max(0))
        .sum();
    let mut row = serde_json::Map::new();
    row.insert("diff".into(), json!(diff));
    row.insert("total".into(), json!(total));
    row.insert("consumedTotal".into(), json!(consumed));
    row.insert("namesvrId".into(), json!(0));
    row.insert("offSetDiff".into(), json!(not_acked));
    row.insert("notAckMsgNum".into(), json!(not_acked));
    row.insert("notAckMsgTime".into(), json!(0));
    row.insert(
        "notConsumeMsgTime".into(),
        json!(if diff > 0 {
            crate::lag::delay_ms(oldest, now)
        } else {
            0
        }),
    );
    row
}

/// Messages waiting in the group's retry topic.
async fn retry_nums(state: &State, group: &str) -> i64 {
    match state
        .admin
        .topic_stats(&apogee_model::system_topic::retry_topic(group))
        .await
    {
        Ok(t) => t
            .offset_table
            .values()
            .map(|o| (o.max_offset - o.min_offset).max(0))
            .sum(),
        Err(_) => 0,
    }
}

/// GET /api/manager/topics/{clusterName}/{topicName}/queues (§7.5.7): each consuming group's
/// offsets on every queue.
#[utoipa::path(
    get,
    path = "/api/manager/topics/{clusterName}/{topicName}/queues",
    tag = "topics",
    summary = "Each consuming group's offsets per queue (§7.5.7)",
    params(crate::auth::Common, ("clusterName" = String, Path), ("topicName" = String, Path)),
    responses(crate::reply::Answers)
)]
pub async fn queues(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
) -> Reply {
    topic_brokers(&state, &cluster, &topic).await?;
    let mut rows = Vec::new();
    for group in state.admin.topic_consumed_by(&topic).await? {
        let s = stats(&state, &group, &topic).await;
        let list: Vec<Value> = s
            .offset_table
            .iter()
            .map(|(q, o)| {
                json!({
                    "brokerName": q.broker_name, "queueId": q.queue_id,
                    "brokerOffset": o.broker_offset, "consumerOffset": o.consumer_offset,
                    "clientInfo": Value::Null, "lastTimestamp": o.last_timestamp,
                })
            })
            .collect();
        rows.push(json!({
            "topic": topic,
            "consumerGroup": group,
            "diffTotal": s.offset_table.values().map(|o| (o.broker_offset - o.consumer_offset).max(0)).sum::<i64>(),
            "lastTimestamp": s.offset_table.values().map(|o| o.last_timestamp).max().unwrap_or(0),
            "queueStatInfoList": list,
        }));
    }
    reply::result(json!({ "total": rows.len(), "rows": rows }))
}

/// GET /api/manager/topics/{clusterName}/{topicName}/depth (§7.5.8): backlog per consuming
/// group and broker, paged.
#[utoipa::path(
    get,
    path = "/api/manager/topics/{clusterName}/{topicName}/depth",
    tag = "topics",
    summary = "Backlog per group and broker (§7.5.8)",
    params(crate::auth::Common, ("clusterName" = String, Path), ("topicName" = String, Path), super::Page),
    responses(crate::reply::Answers)
)]
pub async fn topic_depth(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    Query(page): Query<Page>,
) -> Reply {
    let brokers = topic_brokers(&state, &cluster, &topic).await?;
    let now = now_ms();
    let mut rows = Vec::new();
    for group in state.admin.topic_consumed_by(&topic).await? {
        let s = stats(&state, &group, &topic).await;
        let retry = retry_nums(&state, &group).await;
        for (broker, addr) in &brokers {
            let offsets: Vec<&OffsetWrapper> = s
                .offset_table
                .iter()
                .filter(|(q, _)| &q.broker_name == broker)
                .map(|(_, o)| o)
                .collect();
            let (tps, today) = out_figures(&state, addr, &topic, &group).await;
            let oldest = crate::lag::oldest_unconsumed(&state.admin, &s, Some(broker)).await;
            let mut row = depth_row(&offsets, now, oldest);
            row.insert("retryNums".into(), json!(retry));
            row.insert("groupName".into(), json!(group));
            row.insert("brokerName".into(), json!(broker));
            row.insert("topicName".into(), json!(topic));
            row.insert("outTps".into(), json!(tps));
            row.insert("outTotalMsgToday".into(), json!(today));
            rows.push(Value::Object(row));
        }
    }
    page.reply(rows)
}

/// GET /api/manager/subscriptions/{clusterName}/{groupName}/depth?topicName= (§7.7.2): the
/// group's backlog on the topic and on its retry topic, over all brokers.
#[utoipa::path(
    get,
    path = "/api/manager/subscriptions/{clusterName}/{groupName}/depth",
    tag = "groups",
    summary = "A group's backlog on a topic and its retry topic (§7.7.2)",
    params(crate::auth::Common, ("clusterName" = String, Path), ("groupName" = String, Path), ("topicName" = String, Query)),
    responses(crate::reply::Answers)
)]
pub async fn group_depth(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Reply {
    let topic = q
        .get("topicName")
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("topicName is required"))?
        .clone();
    let brokers = topic_brokers(&state, &cluster, &topic).await?;
    let names: Vec<&String> = brokers.iter().map(|(b, _)| b).collect();
    let now = now_ms();
    let retry_topic = apogee_model::system_topic::retry_topic(&group);
    let mut rows = Vec::new();
    for t in [&topic, &retry_topic] {
        let s = stats(&state, &group, t).await;
        let offsets: Vec<&OffsetWrapper> = s.offset_table.values().collect();
        let mut today = 0;
        for (_, addr) in &brokers {
            today += out_figures(&state, addr, t, &group).await.1;
        }
        let oldest = crate::lag::oldest_unconsumed(&state.admin, &s, None).await;
        let mut row = depth_row(&offsets, now, oldest);
        row.insert(
            "retryNums".into(),
            json!(if *t == topic {
                retry_nums(&state, &group).await
            } else {
                0
            }),
        );
        row.insert("groupName".into(), json!(group));
        row.insert("brokerName".into(), json!(names));
        row.insert("topicName".into(), json!(t));
        row.insert("outTps".into(), json!(s.consume_tps));
        row.insert("outTotalMsgToday".into(), json!(today));
        rows.push(Value::Object(row));
    }
    reply::result(json!({ "total": rows.len(), "rows": rows }))
}

/// GET /api/manager/topics/{clusterName}/{topicName}/producers (§7.5.9): the online producer
/// groups of the brokers hosting the topic (producers do not say which topics they send to).
#[utoipa::path(
    get,
    path = "/api/manager/topics/{clusterName}/{topicName}/producers",
    tag = "topics",
    summary = "Online producer groups (§7.5.9)",
    params(crate::auth::Common, ("clusterName" = String, Path), ("topicName" = String, Path), super::Page),
    responses(crate::reply::Answers)
)]
pub async fn producers(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    Query(page): Query<Page>,
) -> Reply {
    let mut groups = std::collections::BTreeSet::new();
    for (_, addr) in topic_brokers(&state, &cluster, &topic).await? {
        groups.extend(state.admin.producers(&addr).await?.data.into_keys());
    }
    page.reply(groups.into_iter().collect())
}

/// GET /api/manager/topics/{clusterName}/{topicName}/consumers (§7.5.10): groups subscribed to
/// the topic or holding offsets on it.
#[utoipa::path(
    get,
    path = "/api/manager/topics/{clusterName}/{topicName}/consumers",
    tag = "topics",
    summary = "Consumer groups (§7.5.10)",
    params(crate::auth::Common, ("clusterName" = String, Path), ("topicName" = String, Path), super::Page),
    responses(crate::reply::Answers)
)]
pub async fn consumers(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    Query(page): Query<Page>,
) -> Reply {
    topic_brokers(&state, &cluster, &topic).await?;
    page.reply(
        state
            .admin
            .topic_consumed_by(&topic)
            .await?
            .into_iter()
            .collect(),
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetBody {
    pub consumer_group_list: Vec<String>,
    pub topic_name: String,
    #[serde(default)]
    pub force: Option<bool>,
    /// Milliseconds since the epoch, a number or a string.
    #[schema(value_type = String)]
    pub reset_time: Value,
}

/// POST /api/manager/topics/consumeOffset (§7.7.3; also `/api/manage/…`, the document's
/// example spelling): moves each group's offsets on the topic to the first message stored at
/// or after `resetTime` (milliseconds), on every queue; rows show each queue before and after.
#[utoipa::path(
    post,
    path = "/api/manager/topics/consumeOffset",
    tag = "groups",
    summary = "Reset offsets by time (§7.7.3; also /api/manage/topics/consumeOffset)",
    params(crate::auth::Common),
    request_body = ResetBody,
    responses(crate::reply::Answers)
)]
pub async fn reset_offset(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    body: Result<Json<ResetBody>, JsonRejection>,
) -> Reply {
    let Json(body) = json_body(body)?;
    let time = match &body.reset_time {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|t| *t >= 0)
    .ok_or_else(|| ApiError::bad_request("resetTime must be a time in milliseconds"))?;
    if body.consumer_group_list.is_empty() {
        return Err(ApiError::bad_request("consumerGroupList is empty"));
    }
    let mut rows = Vec::new();
    let mut diff = 0;
    for group in &body.consumer_group_list {
        let before = stats(&state, group, &body.topic_name).await;
        let after = state
            .admin
            .reset_offset_by_time(group, &body.topic_name, time, body.force.unwrap_or(true))
            .await?;
        for (q, offset) in &after {
            let old = before.offset_table.get(q);
            let consumer = old.map_or(0, |o| o.consumer_offset);
            diff += consumer - offset;
            rows.push(json!({
                "brokerName": q.broker_name, "queueId": q.queue_id,
                "brokerOffset": old.map_or(0, |o| o.broker_offset),
                "consumerOffset": consumer, "timestampOffset": offset, "rollbackOffset": offset,
            }));
        }
    }
    reply::result(json!({ "total": rows.len(), "diffOffset": diff, "rows": rows }))
}
