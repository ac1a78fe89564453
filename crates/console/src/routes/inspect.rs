//! Read-only views the web console adds to the document's (Apogee's own endpoints): a topic's
//! route, a producer group's instances, one consumer's running info, a broker's TPS history and
//! the groups consuming from it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State as Shared};
use serde_json::json;

use super::cluster_masters;
use super::param;
use crate::State;
use crate::auth::Caller;
use crate::history::now_ms;
use crate::reply::{self, ApiError, Reply};

const DAY_MS: i64 = 86_400_000;

/// GET /api/console/topics/{topicName}/route: the NameServer's route (brokers and queues).
#[utoipa::path(get, path = "/api/console/topics/{topicName}/route", tag = "console",
    summary = "A topic's route", params(crate::auth::Common, ("topicName" = String, Path)),
    responses(crate::reply::Answers))]
pub async fn route(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path(topic): Path<String>,
) -> Reply {
    let route = state
        .admin
        .topic_route(&topic)
        .await
        .map_err(|e| ApiError::not_found(format!("topic {topic} has no route: {e}")))?;
    reply::data(route)
}

/// GET /api/console/producers?groupName=&topicName=: a producer group's online instances.
#[utoipa::path(get, path = "/api/console/producers", tag = "console",
    summary = "A producer group's instances (address, language, version)",
    params(crate::auth::Common, ("groupName" = String, Query), ("topicName" = String, Query)),
    responses(crate::reply::Answers))]
pub async fn producers(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Query(q): Query<BTreeMap<String, String>>,
) -> Reply {
    let (group, topic) = (param(&q, "groupName")?, param(&q, "topicName")?);
    let conn = state.admin.producer_connection(group, topic).await?;
    let rows: Vec<_> = conn
        .connection_set
        .iter()
        .map(|c| {
            json!({ "clientId": c.client_id, "clientAddr": c.client_addr,
                    "language": c.language, "version": c.version })
        })
        .collect();
    reply::result(json!({ "total": rows.len(), "rows": rows }))
}

/// GET /api/console/groups/{groupName}/clients/{clientId}: one consumer's running info.
#[utoipa::path(get, path = "/api/console/groups/{groupName}/clients/{clientId}", tag = "console",
    summary = "A consumer's running info (CONSUMER_RUNNING_INFO)",
    params(crate::auth::Common, ("groupName" = String, Path), ("clientId" = String, Path)),
    responses(crate::reply::Answers))]
pub async fn running_info(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path((group, client)): Path<(String, String)>,
) -> Reply {
    let info = state.admin.consumer_running_info(&group, &client).await?;
    let queues: Vec<_> = info
        .mq_table
        .iter()
        .map(|(q, p)| {
            json!({ "topic": q.topic, "brokerName": q.broker_name, "queueId": q.queue_id,
                    "commitOffset": p.commit_offset, "cachedMsgCount": p.cached_msg_count,
                    "cachedMsgMinOffset": p.cached_msg_min_offset,
                    "cachedMsgMaxOffset": p.cached_msg_max_offset })
        })
        .collect();
    reply::data(json!({
        "properties": info.properties,
        "subscriptions": info.subscription_set.iter()
            .map(|s| json!({ "topic": s.topic, "subString": s.sub_string })).collect::<Vec<_>>(),
        "queues": queues,
        "status": info.status_table,
    }))
}

/// GET /api/console/brokers/{brokerName}/tps?clusterName=: the broker's in and out TPS over
/// 24 hours (history) and the groups consuming from it now.
#[utoipa::path(get, path = "/api/console/brokers/{brokerName}/tps", tag = "console",
    summary = "A broker's TPS history and consuming groups",
    params(crate::auth::Common, ("brokerName" = String, Path)), responses(crate::reply::Answers))]
pub async fn broker(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    Path(broker): Path<String>,
) -> Reply {
    let cluster = caller
        .cluster
        .ok_or_else(|| ApiError::bad_request("clusterName is required"))?;
    let addr = cluster_masters(&state, &cluster)
        .await?
        .into_iter()
        .find(|(b, _)| *b == broker)
        .map(|(_, a)| a)
        .ok_or_else(|| {
            ApiError::not_found(format!("broker {broker} is not a master of {cluster}"))
        })?;
    let store = Arc::clone(&state.history);
    let (c, b) = (cluster.clone(), broker.clone());
    let series =
        tokio::task::spawn_blocking(move || store.broker_series(&c, &b, now_ms() - DAY_MS))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(ApiError::internal)?;
    let rows: Vec<_> = series
        .iter()
        .map(|(at, inn, out)| json!({ "crtTime": at, "inTPS": inn, "outTPS": out }))
        .collect();
    let stats = state.admin.broker_consume_stats(&addr, false).await?;
    let mut groups: Vec<String> = stats
        .consume_stats_list
        .iter()
        .flat_map(|m| m.keys().cloned())
        .filter(|g| !super::groups::is_system_group(g))
        .collect();
    groups.sort();
    groups.dedup();
    reply::data(json!({ "tps": rows, "groups": groups }))
}

/// GET /api/console/topics/{topicName}/stats: each queue's oldest and next offsets and the
/// messages stored in all.
#[utoipa::path(get, path = "/api/console/topics/{topicName}/stats", tag = "console",
    summary = "A topic's stored messages per queue", params(crate::auth::Common, ("topicName" = String, Path)),
    responses(crate::reply::Answers))]
pub async fn topic_stats(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path(topic): Path<String>,
) -> Reply {
    let stats = state
        .admin
        .topic_stats(&topic)
        .await
        .map_err(|e| ApiError::not_found(format!("topic {topic}: {e}")))?;
    let rows: Vec<_> = stats
        .offset_table
        .iter()
        .map(|(q, o)| {
            json!({ "brokerName": q.broker_name, "queueId": q.queue_id, "minOffset": o.min_offset,
                    "maxOffset": o.max_offset, "lastUpdateTimestamp": o.last_update_timestamp })
        })
        .collect();
    let stored: i64 = stats
        .offset_table
        .values()
        .map(|o| (o.max_offset - o.min_offset).max(0))
        .sum();
    reply::result(json!({ "stored": stored, "total": rows.len(), "rows": rows }))
}
