//! The web console's overview tables (Apogee's own endpoint): from the latest history sample,
//! the 20 (topic, group) pairs furthest behind and the 20 busiest topics.

use std::sync::Arc;

use axum::extract::State as Shared;
use serde_json::json;

use crate::State;
use crate::auth::Caller;
use crate::history::top;
use crate::reply::{self, ApiError, Reply};

/// Rows per table.
const TOP: u32 = 20;

/// GET /api/console/overview?clusterName=…
#[utoipa::path(
    get,
    path = "/api/console/overview",
    tag = "console",
    summary = "Top backlogs and busiest topics (latest history sample)",
    params(crate::auth::Common),
    responses(crate::reply::Answers)
)]
pub async fn overview(Shared(state): Shared<Arc<State>>, caller: Caller) -> Reply {
    let cluster = caller
        .cluster
        .ok_or_else(|| ApiError::bad_request("clusterName is required"))?;
    let (backlog, busiest) = state
        .history
        .run(move |conn| {
            Ok((
                top::backlog(conn, &cluster, TOP)?,
                top::busiest(conn, &cluster, TOP)?,
            ))
        })
        .await
        .map_err(ApiError::internal)?;
    reply::data(json!({ "topBacklog": backlog, "busiestTopics": busiest }))
}

/// GET /api/console/clusters: the names of the clusters the NameServers know.
#[utoipa::path(
    get,
    path = "/api/console/clusters",
    tag = "console",
    summary = "Cluster names",
    params(crate::auth::Common),
    responses(crate::reply::Answers)
)]
pub async fn clusters(Shared(state): Shared<Arc<State>>, _caller: Caller) -> Reply {
    let info = state.admin.cluster_info().await?;
    let names: Vec<String> = info
        .cluster_addr_table
        .keys()
        .map(ToString::to_string)
        .collect();
    reply::data(names)
}
