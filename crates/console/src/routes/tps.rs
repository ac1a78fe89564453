//! The 24-hour series (seed 001 §7.4.3, §7.8.1), one point per history sample, read from the
//! history database.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State as Shared};
use serde_json::{Value, json};

use crate::State;
use crate::auth::Caller;
use crate::history::{Point, now_ms};
use crate::reply::{self, ApiError, Reply};

const DAY_MS: i64 = 86_400_000;

fn point((at, inn, out): &Point) -> Value {
    json!({ "inTPS": inn, "outTPS": out, "crtTime": at })
}

async fn read<T: Send + 'static>(
    state: &State,
    query: impl FnOnce(&crate::history::HistoryStore) -> Result<T, String> + Send + 'static,
) -> Result<T, ApiError> {
    let store = Arc::clone(&state.history);
    tokio::task::spawn_blocking(move || query(&store))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(ApiError::internal)
}

/// GET /api/manager/{clusterName}/tps (§7.4.3; also `/api/manager/cluster/{clusterName}/tps`,
/// the example's spelling): the cluster's produce (`inTPS`) and consume (`outTPS`) TPS over the
/// last 24 hours, summed over its masters, one row per sample.
#[utoipa::path(
    get,
    path = "/api/manager/{clusterName}/tps",
    tag = "instance",
    summary = "The cluster's produce and consume TPS over 24 hours (§7.4.3)",
    params(crate::auth::Common, ("clusterName" = String, Path)),
    responses((status = 200, description = "result: total and rows of {inTPS, outTPS, crtTime}", body = crate::reply::Envelope))
)]
pub async fn cluster(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path(cluster): Path<String>,
) -> Reply {
    let since = now_ms() - DAY_MS;
    let points = read(&state, move |h| h.cluster_series(&cluster, since)).await?;
    let rows: Vec<Value> = points.iter().map(point).collect();
    reply::result(json!({ "total": rows.len(), "rows": rows }))
}

/// GET /api/manager/topics/{clusterName}/{topicName}/tps?brokerName=&groupName= (§7.8.1): the
/// topic's produce TPS (`inTpslist`), the group's consume TPS on it (`outTpslist`, when a group
/// is named) and both per sample (`totalTpslist`), over the last 24 hours, on `brokerName` or
/// summed over all brokers. `taotal` (the document's spelling) and `total` count `totalTpslist`.
#[utoipa::path(
    get,
    path = "/api/manager/topics/{clusterName}/{topicName}/tps",
    tag = "topics",
    summary = "A topic's produce and a group's consume TPS over 24 hours (§7.8.1)",
    params(crate::auth::Common, ("clusterName" = String, Path), ("topicName" = String, Path), ("brokerName" = Option<String>, Query), ("groupName" = Option<String>, Query)),
    responses((status = 200, description = "result: inTpslist, outTpslist, totalTpslist", body = crate::reply::Envelope))
)]
pub async fn topic(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Reply {
    let since = now_ms() - DAY_MS;
    let broker = q
        .get("brokerName")
        .filter(|b| !b.trim().is_empty())
        .cloned();
    let group = q.get("groupName").filter(|g| !g.trim().is_empty()).cloned();
    let (c, t, b) = (cluster.clone(), topic.clone(), broker.clone());
    let ins = read(&state, move |h| h.topic_series(&c, &t, b.as_deref(), since)).await?;
    let outs = match group {
        Some(g) => {
            read(&state, move |h| {
                h.group_series(&cluster, &topic, &g, broker.as_deref(), since)
            })
            .await?
        }
        None => Vec::new(),
    };
    let mut total: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for (at, inn, _) in &ins {
        total.entry(*at).or_default().0 = *inn;
    }
    for (at, _, out) in &outs {
        total.entry(*at).or_default().1 = *out;
    }
    let total: Vec<Value> = total
        .iter()
        .map(|(at, (i, o))| point(&(*at, *i, *o)))
        .collect();
    reply::result(json!({
        "taotal": total.len(),
        "total": total.len(),
        "inTpslist": ins.iter().map(point).collect::<Vec<_>>(),
        "outTpslist": outs.iter().map(point).collect::<Vec<_>>(),
        "totalTpslist": total,
    }))
}
