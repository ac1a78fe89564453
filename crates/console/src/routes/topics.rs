//! Topic management (seed 001 §7.5.1–7.5.5): create, delete, modify, detail and the paged
//! list, on the masters of the cluster named in the path or query.

use std::sync::Arc;

use apogee_client::{TopicConfig, TopicSpec};
use axum::Json;
use axum::extract::{Path, Query, State as Shared};
use serde::{Deserialize, Serialize};

use super::{Filter, Page, cluster_masters, is_system_topic, json_body};
use crate::State;
use crate::auth::Caller;
use crate::notes::Note;
use crate::reply::{self, ApiError, Reply};

/// The body of create and modify (the document's field names, `allowdConsumerGroups` included).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicBody {
    pub cluster_name_list: Vec<String>,
    pub broker_name_list: Vec<String>,
    pub write_queue_nums: Option<i32>,
    pub read_queue_nums: Option<i32>,
    pub remark: Option<String>,
    pub order: Option<bool>,
    pub perm: Option<i32>,
    #[serde(rename = "allowdConsumerGroups", alias = "allowedConsumerGroups")]
    pub allowed_consumer_groups: Vec<String>,
    pub topic_name: Option<String>,
    /// Apogee's addition: RocketMQ 5's `message.type` attribute (`NORMAL`, `FIFO`, `DELAY`,
    /// `TRANSACTION`); left unchanged when absent.
    pub message_type: Option<String>,
}

/// One topic on one broker, as the detail and the list show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicRow {
    pub topic_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    pub topic_filter_type: String,
    pub topic_sys_flag: i32,
    pub order: bool,
    pub remark: Option<String>,
    pub namesrv_name: Option<String>,
    pub cluster_name: Option<String>,
    pub broker_name: String,
    pub broker_id: i64,
    /// The `message.type` attribute (Apogee's addition), `NORMAL` when unset.
    pub message_type: String,
}

/// RocketMQ 5's message types (the `message.type` topic attribute).
const MESSAGE_TYPES: [&str; 4] = ["NORMAL", "FIFO", "DELAY", "TRANSACTION"];

fn validate(body: &TopicBody, topic: &str) -> Result<TopicSpec, ApiError> {
    apogee_model::TopicName::new(topic)
        .map_err(|e| ApiError::bad_request(format!("topicName {topic}: {e}")))?;
    let spec = TopicSpec {
        topic: topic.to_owned(),
        read_queue_nums: body.read_queue_nums.unwrap_or(8),
        write_queue_nums: body.write_queue_nums.unwrap_or(8),
        perm: body.perm.unwrap_or(6),
        order: body.order.unwrap_or(false),
        attributes: None,
    };
    let mut spec = spec;
    if let Some(t) = body.message_type.as_deref().filter(|t| !t.is_empty()) {
        if !MESSAGE_TYPES.contains(&t) {
            return Err(ApiError::bad_request(format!(
                "messageType {t} is not one of {MESSAGE_TYPES:?}"
            )));
        }
        spec.attributes = Some(format!("+message.type={t}"));
    }
    for (name, n) in [
        ("readQueueNums", spec.read_queue_nums),
        ("writeQueueNums", spec.write_queue_nums),
    ] {
        if !(1..=1024).contains(&n) {
            return Err(ApiError::bad_request(format!(
                "{name} {n} is out of range (1..=1024)"
            )));
        }
    }
    if ![2, 4, 6].contains(&spec.perm) {
        return Err(ApiError::bad_request(format!(
            "perm {} is not 2 (write), 4 (read) or 6 (read and write)",
            spec.perm
        )));
    }
    Ok(spec)
}

/// The cluster a request names: the path's, else the body's first, else the query's.
fn cluster_of(path: Option<&str>, body: &TopicBody, caller: &Caller) -> Result<String, ApiError> {
    path.map(str::to_owned)
        .or_else(|| body.cluster_name_list.first().cloned())
        .or_else(|| caller.cluster.clone())
        .ok_or_else(|| ApiError::bad_request("clusterName is required"))
}

/// Creates or updates the topic on the named brokers of the cluster (all its masters when
/// `brokerNameList` is empty).
async fn apply(state: &State, cluster: &str, spec: &TopicSpec, body: &TopicBody) -> Reply {
    let masters = cluster_masters(state, cluster).await?;
    let chosen: Vec<_> = masters
        .iter()
        .filter(|(name, _)| {
            body.broker_name_list.is_empty() || body.broker_name_list.contains(name)
        })
        .collect();
    if chosen.is_empty() {
        return Err(ApiError::bad_request(format!(
            "none of brokerNameList {:?} is a master of cluster {cluster}",
            body.broker_name_list
        )));
    }
    for (_, addr) in chosen {
        state.admin.create_topic(addr, spec).await?;
    }
    state.notes.set_topic(
        &spec.topic,
        Note {
            remark: body.remark.clone(),
            allowed_groups: body.allowed_consumer_groups.clone(),
            ..Note::default()
        },
    )?;
    reply::done()
}

/// POST /api/manager/topics (§7.5.1).
#[utoipa::path(
    post,
    path = "/api/manager/topics",
    tag = "topics",
    summary = "Create a topic (§7.5.1)",
    params(crate::auth::Common),
    request_body = TopicBody,
    responses(crate::reply::Answers)
)]
pub async fn create(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    body: Result<Json<TopicBody>, axum::extract::rejection::JsonRejection>,
) -> Reply {
    let Json(body) = json_body(body)?;
    let topic = body
        .topic_name
        .clone()
        .ok_or_else(|| ApiError::bad_request("topicName is required"))?;
    let spec = validate(&body, &topic)?;
    let cluster = cluster_of(None, &body, &caller)?;
    if topic_rows(&state, &cluster, Some(&topic)).await?.is_empty() {
        apply(&state, &cluster, &spec, &body).await
    } else {
        Err(ApiError::bad_request(format!(
            "topic {topic} already exists in cluster {cluster}; modify it instead"
        )))
    }
}

/// POST /api/manager/topics/{clusterName}/{topicName} (§7.5.3).
#[utoipa::path(
    post,
    path = "/api/manager/topics/{clusterName}/{topicName}",
    tag = "topics",
    summary = "Modify a topic (§7.5.3)",
    params(crate::auth::Common, ("clusterName" = String, Path), ("topicName" = String, Path)),
    request_body = TopicBody,
    responses(crate::reply::Answers)
)]
pub async fn modify(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
    body: Result<Json<TopicBody>, axum::extract::rejection::JsonRejection>,
) -> Reply {
    let Json(body) = json_body(body)?;
    let spec = validate(&body, &topic)?;
    let cluster = cluster_of(Some(&cluster), &body, &caller)?;
    if topic_rows(&state, &cluster, Some(&topic)).await?.is_empty() {
        return Err(ApiError::not_found(format!(
            "topic {topic} does not exist in cluster {cluster}"
        )));
    }
    apply(&state, &cluster, &spec, &body).await
}

/// DELETE /api/manager/topics/{clusterName}/{topicName} (§7.5.2).
#[utoipa::path(
    delete,
    path = "/api/manager/topics/{clusterName}/{topicName}",
    tag = "topics",
    summary = "Delete a topic (§7.5.2)",
    params(crate::auth::Common, ("clusterName" = String, Path), ("topicName" = String, Path)),
    responses(crate::reply::Answers)
)]
pub async fn delete(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
) -> Reply {
    if topic_rows(&state, &cluster, Some(&topic)).await?.is_empty() {
        return Err(ApiError::not_found(format!(
            "topic {topic} does not exist in cluster {cluster}"
        )));
    }
    state.admin.delete_topic(&cluster, &topic, false).await?;
    state.notes.remove_topic(&topic)?;
    reply::done()
}

/// GET /api/manager/topics/{clusterName}/basedata/{topicName} (§7.5.4): one row, its brokers
/// joined with commas.
#[utoipa::path(
    get,
    path = "/api/manager/topics/{clusterName}/basedata/{topicName}",
    tag = "topics",
    summary = "A topic (§7.5.4)",
    params(crate::auth::Common, ("clusterName" = String, Path), ("topicName" = String, Path)),
    responses(crate::reply::Answers)
)]
pub async fn detail(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path((cluster, topic)): Path<(String, String)>,
) -> Reply {
    let rows = topic_rows(&state, &cluster, Some(&topic)).await?;
    let Some(first) = rows.first() else {
        return Err(ApiError::not_found(format!(
            "topic {topic} does not exist in cluster {cluster}"
        )));
    };
    let brokers: Vec<&str> = rows.iter().map(|r| r.broker_name.as_str()).collect();
    reply::data(TopicRow {
        broker_name: brokers.join(","),
        ..first.clone()
    })
}

/// GET /api/manager/topics/{clusterName}/basedatas (§7.5.5): one row per topic and broker,
/// paged (`pageNumber` from 1, `pageSize` default 5), system topics left out.
#[utoipa::path(
    get,
    path = "/api/manager/topics/{clusterName}/basedatas",
    tag = "topics",
    summary = "Topics, paged (§7.5.5)",
    params(crate::auth::Common, ("clusterName" = String, Path), super::Page, super::Filter),
    responses(crate::reply::Answers)
)]
pub async fn list(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path(cluster): Path<String>,
    Query(page): Query<Page>,
    Query(filter): Query<Filter>,
) -> Reply {
    let keep = filter.matcher();
    let mut rows = topic_rows(&state, &cluster, None).await?;
    rows.retain(|r| keep(&r.topic_name, &r.broker_name));
    page.reply(rows)
}

/// Every (topic, master) of the cluster, or only `only`'s.
pub async fn topic_rows(
    state: &State,
    cluster: &str,
    only: Option<&str>,
) -> Result<Vec<TopicRow>, ApiError> {
    let mut rows = Vec::new();
    let masters = cluster_masters(state, cluster).await?;
    // Each broker keeps topics named after its cluster and itself: not the user's.
    let own = |name: &str| name == cluster || masters.iter().any(|(b, _)| b == name);
    for (broker, addr) in &masters {
        let table = state.admin.topic_configs(addr).await?;
        for (name, config) in table.topic_config_table {
            let hidden = is_system_topic(&name) || own(&name);
            if only.is_some_and(|t| t != name) || (only.is_none() && hidden) {
                continue;
            }
            rows.push(row(state, cluster, broker, &config));
        }
    }
    rows.sort_by(|a, b| (&a.topic_name, &a.broker_name).cmp(&(&b.topic_name, &b.broker_name)));
    Ok(rows)
}

fn row(state: &State, cluster: &str, broker: &str, c: &TopicConfig) -> TopicRow {
    TopicRow {
        topic_name: c.topic_name.to_string(),
        read_queue_nums: c.read_queue_nums,
        write_queue_nums: c.write_queue_nums,
        perm: c.perm,
        topic_filter_type: c.topic_filter_type.as_str().to_owned(),
        topic_sys_flag: c.topic_sys_flag,
        order: c.order,
        remark: state
            .notes
            .topic(c.topic_name.as_str())
            .and_then(|n| n.remark),
        namesrv_name: None,
        cluster_name: Some(cluster.to_owned()),
        broker_name: broker.to_owned(),
        broker_id: 0,
        message_type: c
            .attributes
            .get("message.type")
            .cloned()
            .unwrap_or_else(|| "NORMAL".to_owned()),
    }
}
