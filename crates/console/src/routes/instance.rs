//! The instance (cluster) views (seed 001 §7.4.1, §7.4.2): its figures in one row, and every
//! broker's runtime table.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::State as Shared;
use serde_json::{Value, json};

use super::groups::is_system_group;
use super::{cluster_masters, cluster_sets, is_system_topic};
use crate::State;
use crate::auth::Caller;
use crate::reply::{self, ApiError, Reply};

/// The cluster a query names (`clusterName`), else the only one there is.
async fn the_cluster(state: &State, caller: &Caller) -> Result<String, ApiError> {
    if let Some(c) = &caller.cluster {
        return Ok(c.clone());
    }
    let info = state.admin.cluster_info().await?;
    let mut names = info.cluster_addr_table.keys();
    match (names.next(), names.next()) {
        (Some(only), None) => Ok(only.to_string()),
        _ => Err(ApiError::bad_request("clusterName is required")),
    }
}

/// GET /api/manager/cluster/base (§7.4.1): masters and slaves, producer and consumer groups,
/// messages put since the brokers started (`msgHistoryNums`) and messages they hold now
/// (`msgNowNums`: every user topic's queues, max − min offset).
#[utoipa::path(
    get,
    path = "/api/manager/cluster/base",
    tag = "instance",
    summary = "Instance figures (§7.4.1)",
    params(crate::auth::Common),
    responses(crate::reply::Answers)
)]
pub async fn base(Shared(state): Shared<Arc<State>>, caller: Caller) -> Reply {
    let cluster = the_cluster(&state, &caller).await?;
    let masters = cluster_masters(&state, &cluster).await?;
    let info = state.admin.cluster_info().await?;
    let slaves: usize = cluster_sets(&info, &cluster)?
        .iter()
        .map(|(_, data)| data.broker_addrs.keys().filter(|id| **id != 0).count())
        .sum();
    let (mut producers, mut consumers) = (BTreeSet::new(), BTreeSet::new());
    let mut stored = Vec::new();
    let mut history: i64 = 0;
    for (_, addr) in &masters {
        producers.extend(state.admin.producers(addr).await?.data.into_keys());
        let groups = state.admin.subscription_groups(addr).await?;
        consumers.extend(
            groups
                .subscription_group_table
                .into_keys()
                .filter(|g| !is_system_group(g)),
        );
        let runtime = state.admin.broker_runtime_info(addr).await?;
        history += runtime
            .get("msgPutTotalTodayNow")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        let table = state.admin.topic_configs(addr).await?.topic_config_table;
        stored.extend(
            table
                .into_keys()
                .filter(|t| {
                    !is_system_topic(t) && *t != cluster && !masters.iter().any(|(b, _)| b == t)
                })
                .map(|t| (addr.clone(), t)),
        );
    }
    let now = stored_messages(&state, &cluster, stored).await?;
    reply::data([json!({
        "mainBrokerNums": masters.len(),
        "slaveBrokerNums": slaves,
        "produceGroupNums": producers.len(),
        "consumeGroupNums": consumers.len(),
        "msgHistoryNums": history,
        "msgNowNums": now,
        "clusterName": cluster,
        "namesrvAddr": state.namesrv_addr,
        "remark": "",
    })])
}

/// Topic statistics requests in flight at once.
const STATS_IN_FLIGHT: usize = 32;

/// Messages kept now (max − min offset of every queue) over `(master, topic)`, asked
/// concurrently and remembered for `stored_count_cache_secs`.
async fn stored_messages(
    state: &State,
    cluster: &str,
    pairs: Vec<(String, String)>,
) -> Result<i64, ApiError> {
    use futures::StreamExt;
    if let Some(n) = state.stored_cache.get(cluster) {
        return Ok(n);
    }
    let mut counts = futures::stream::iter(pairs)
        .map(|(addr, topic)| async move { state.admin.topic_stats_on(&addr, &topic).await })
        .buffer_unordered(STATS_IN_FLIGHT);
    let mut total: i64 = 0;
    while let Some(stats) = counts.next().await {
        total += stats?
            .offset_table
            .values()
            .map(|o| (o.max_offset - o.min_offset).max(0))
            .sum::<i64>();
    }
    state.stored_cache.put(cluster, total);
    Ok(total)
}

/// GET /api/manager/cluster/detail (§7.4.2): every broker's runtime table (GET_BROKER_RUNTIME_INFO,
/// as `brokerStatus` shows it) with its address and id, by broker name and id.
#[utoipa::path(
    get,
    path = "/api/manager/cluster/detail",
    tag = "instance",
    summary = "Every broker's runtime table (§7.4.2)",
    params(crate::auth::Common),
    responses(crate::reply::Answers)
)]
pub async fn detail(Shared(state): Shared<Arc<State>>, caller: Caller) -> Reply {
    let cluster = the_cluster(&state, &caller).await?;
    let info = state.admin.cluster_info().await?;
    let sets = cluster_sets(&info, &cluster)?;
    let mut broker_map: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for (name, data) in &sets {
        for (id, addr) in &data.broker_addrs {
            let mut runtime = state.admin.broker_runtime_info(addr).await?;
            runtime.insert("brokerAddress".into(), addr.clone());
            runtime.insert("brokerId".into(), id.to_string());
            broker_map
                .entry(name.clone())
                .or_default()
                .insert(id.to_string(), json!(runtime));
        }
    }
    let list: Vec<&String> = sets.iter().map(|(name, _)| name).collect();
    reply::data(json!({
        "brokerInfoMap": { cluster: { "brokerMap": broker_map } },
        "brokerList": list,
    }))
}
