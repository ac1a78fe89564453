//! Subscription (consumer) group management (seed 001 §7.6.1–7.6.5, §7.7.1): create, modify,
//! delete, detail, the paged list, and turning consumption on or off.

use std::sync::Arc;

use apogee_client::SubscriptionGroupConfig;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State as Shared};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Filter, Page, cluster_masters, json_body};
use crate::State;
use crate::auth::Caller;
use crate::notes::Note;
use crate::reply::{self, ApiError, Reply};

/// `subscriptionGroupConfig` as the document sends it: RocketMQ's fields plus the managed
/// service's `pullMechanism`, `firstConsumeMechanism` and `subscribeMap`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupSettings {
    pub group_name: Option<String>,
    pub consume_enable: Option<bool>,
    pub consume_from_min_enable: Option<bool>,
    pub consume_broadcast_enable: Option<bool>,
    pub retry_queue_nums: Option<i32>,
    pub retry_max_times: Option<i32>,
    pub broker_id: Option<i64>,
    pub which_broker_when_consume_slowly: Option<i64>,
    pub notify_consumer_ids_changed_enable: Option<bool>,
    /// 1 or 2 (a number or a string).
    #[schema(value_type = Option<String>)]
    pub pull_mechanism: Option<Value>,
    /// 1 or 2 (a number or a string).
    #[schema(value_type = Option<String>)]
    pub first_consume_mechanism: Option<Value>,
    /// Topics the group may consume (kept and shown as given).
    #[schema(value_type = Object)]
    pub subscribe_map: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupBody {
    pub subscription_group_config: GroupSettings,
    pub broker_name_list: Vec<String>,
    pub cluster_name_list: Vec<String>,
    pub remark: Option<String>,
}

/// "1" or 1 → 1 (the document sends strings and shows numbers).
fn small_number(value: Option<&Value>, name: &str) -> Result<Option<i64>, ApiError> {
    let number = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(_) => None,
    };
    number
        .map(Some)
        .ok_or_else(|| ApiError::bad_request(format!("{name} must be a number")))
}

fn config_of(
    group: &str,
    s: &GroupSettings,
    base: SubscriptionGroupConfig,
) -> Result<SubscriptionGroupConfig, ApiError> {
    apogee_model::GroupName::new(group)
        .map_err(|e| ApiError::bad_request(format!("groupName {group}: {e}")))?;
    let config = SubscriptionGroupConfig {
        group_name: group.to_owned(),
        consume_enable: s.consume_enable.unwrap_or(base.consume_enable),
        consume_from_min_enable: s
            .consume_from_min_enable
            .unwrap_or(base.consume_from_min_enable),
        consume_broadcast_enable: s
            .consume_broadcast_enable
            .unwrap_or(base.consume_broadcast_enable),
        retry_queue_nums: s.retry_queue_nums.unwrap_or(base.retry_queue_nums),
        retry_max_times: s.retry_max_times.unwrap_or(base.retry_max_times),
        broker_id: s.broker_id.unwrap_or(base.broker_id),
        which_broker_when_consume_slowly: s
            .which_broker_when_consume_slowly
            .unwrap_or(base.which_broker_when_consume_slowly),
        notify_consumer_ids_changed_enable: s
            .notify_consumer_ids_changed_enable
            .unwrap_or(base.notify_consumer_ids_changed_enable),
        ..base
    };
    if !(0..=64).contains(&config.retry_queue_nums) || !(-1..=256).contains(&config.retry_max_times)
    {
        return Err(ApiError::bad_request(
            "retryQueueNums must be within 0..=64 and retryMaxTimes within -1..=256",
        ));
    }
    Ok(config)
}

fn note_of(body: &GroupBody) -> Result<Note, ApiError> {
    let s = &body.subscription_group_config;
    Ok(Note {
        remark: body.remark.clone(),
        pull_mechanism: small_number(s.pull_mechanism.as_ref(), "pullMechanism")?,
        first_consume_mechanism: small_number(
            s.first_consume_mechanism.as_ref(),
            "firstConsumeMechanism",
        )?,
        subscribe_map: s.subscribe_map.clone(),
        ..Note::default()
    })
}

/// (broker, address, its config) for every master of the cluster that has the group.
async fn group_on(
    state: &State,
    cluster: &str,
    group: &str,
) -> Result<Vec<(String, String, SubscriptionGroupConfig)>, ApiError> {
    let mut out = Vec::new();
    for (broker, addr) in cluster_masters(state, cluster).await? {
        let table = state.admin.subscription_groups(&addr).await?;
        if let Some(config) = table.subscription_group_table.get(group) {
            out.push((broker, addr, config.clone()));
        }
    }
    Ok(out)
}

async fn apply(state: &State, cluster: &str, group: &str, body: &GroupBody, exists: bool) -> Reply {
    let present = group_on(state, cluster, group).await?;
    if exists && present.is_empty() {
        return Err(ApiError::not_found(format!(
            "group {group} does not exist in cluster {cluster}"
        )));
    }
    if !exists && !present.is_empty() {
        return Err(ApiError::bad_request(format!(
            "group {group} already exists in cluster {cluster}; modify it instead"
        )));
    }
    let note = note_of(body)?;
    let base = present
        .first()
        .map(|(_, _, c)| c.clone())
        .unwrap_or_default();
    let config = config_of(group, &body.subscription_group_config, base)?;
    let masters: Vec<_> = cluster_masters(state, cluster)
        .await?
        .into_iter()
        .filter(|(b, _)| body.broker_name_list.is_empty() || body.broker_name_list.contains(b))
        .collect();
    if masters.is_empty() {
        return Err(ApiError::bad_request(format!(
            "none of brokerNameList {:?} is a master of cluster {cluster}",
            body.broker_name_list
        )));
    }
    for (_, addr) in &masters {
        state.admin.create_subscription_group(addr, &config).await?;
    }
    state.notes.set_group(group, note)?;
    reply::done()
}

/// POST /api/manager/subscriptions/{clusterName} (§7.6.1).
#[utoipa::path(
    post,
    path = "/api/manager/subscriptions/{clusterName}",
    tag = "groups",
    summary = "Create a subscription group (§7.6.1)",
    params(crate::auth::Common, ("clusterName" = String, Path)),
    request_body = GroupBody,
    responses(crate::reply::Answers)
)]
pub async fn create(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path(cluster): Path<String>,
    body: Result<Json<GroupBody>, JsonRejection>,
) -> Reply {
    let Json(body) = json_body(body)?;
    let group = body
        .subscription_group_config
        .group_name
        .clone()
        .ok_or_else(|| ApiError::bad_request("subscriptionGroupConfig.groupName is required"))?;
    apply(&state, &cluster, &group, &body, false).await
}

/// POST /api/manager/subscriptions/{clusterName}/{groupName} (§7.6.2).
#[utoipa::path(
    post,
    path = "/api/manager/subscriptions/{clusterName}/{groupName}",
    tag = "groups",
    summary = "Modify a subscription group (§7.6.2)",
    params(crate::auth::Common, ("clusterName" = String, Path), ("groupName" = String, Path)),
    request_body = GroupBody,
    responses(crate::reply::Answers)
)]
pub async fn modify(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
    body: Result<Json<GroupBody>, JsonRejection>,
) -> Reply {
    let Json(body) = json_body(body)?;
    apply(&state, &cluster, &group, &body, true).await
}

/// DELETE /api/manager/subscriptions/{clusterName}/{groupName} (§7.6.3); offsets go too.
#[utoipa::path(
    delete,
    path = "/api/manager/subscriptions/{clusterName}/{groupName}",
    tag = "groups",
    summary = "Delete a subscription group and its offsets (§7.6.3)",
    params(crate::auth::Common, ("clusterName" = String, Path), ("groupName" = String, Path)),
    responses(crate::reply::Answers)
)]
pub async fn delete(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
) -> Reply {
    if group_on(&state, &cluster, &group).await?.is_empty() {
        return Err(ApiError::not_found(format!(
            "group {group} does not exist in cluster {cluster}"
        )));
    }
    state
        .admin
        .delete_subscription_group(&cluster, &group, true)
        .await?;
    state.notes.remove_group(&group)?;
    reply::done()
}

fn settings_json(c: &SubscriptionGroupConfig, note: &Note) -> Value {
    json!({
        "groupName": c.group_name,
        "consumeEnable": c.consume_enable,
        "consumeFromMinEnable": c.consume_from_min_enable,
        "consumeBroadcastEnable": c.consume_broadcast_enable,
        "retryQueueNums": c.retry_queue_nums,
        "retryMaxTimes": c.retry_max_times,
        "brokerId": c.broker_id,
        "whichBrokerWhenConsumeSlowly": c.which_broker_when_consume_slowly,
        "notifyConsumerIdsChangedEnable": c.notify_consumer_ids_changed_enable,
        "pullMechanism": note.pull_mechanism.unwrap_or(1),
        "firstConsumeMechanism": note.first_consume_mechanism.unwrap_or(1),
        "subscribeMap": note.subscribe_map,
        "allowdAllTopics": note.subscribe_map.is_empty(),
    })
}

/// GET /api/manager/subscriptions/{clusterName}/{groupName}/detail (§7.6.4).
#[utoipa::path(
    get,
    path = "/api/manager/subscriptions/{clusterName}/{groupName}/detail",
    tag = "groups",
    summary = "A subscription group (§7.6.4)",
    params(crate::auth::Common, ("clusterName" = String, Path), ("groupName" = String, Path)),
    responses(crate::reply::Answers)
)]
pub async fn detail(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
) -> Reply {
    let present = group_on(&state, &cluster, &group).await?;
    let Some((_, _, config)) = present.first() else {
        return Err(ApiError::not_found(format!(
            "group {group} does not exist in cluster {cluster}"
        )));
    };
    let note = state.notes.group(&group).unwrap_or_default();
    reply::data(json!({
        "clusterNameList": [cluster],
        "brokerNameList": present.iter().map(|(b, _, _)| b).collect::<Vec<_>>(),
        "subscriptionGroupConfig": settings_json(config, &note),
        "remark": note.remark,
    }))
}

/// GET /api/manager/subscriptions/{clusterName}/basedatas (§7.6.5): one row per group and
/// broker, paged; the brokers' built-in groups left out.
#[utoipa::path(
    get,
    path = "/api/manager/subscriptions/{clusterName}/basedatas",
    tag = "groups",
    summary = "Subscription groups, paged (§7.6.5)",
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
    let mut found = Vec::new();
    for (broker, addr) in cluster_masters(&state, &cluster).await? {
        let table = state.admin.subscription_groups(&addr).await?;
        for (name, config) in table.subscription_group_table {
            if !is_system_group(&name) && keep(&name, &broker) {
                found.push((name, broker.clone(), config));
            }
        }
    }
    found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let (total, shown) = page.take(found)?;
    let rows: Vec<Value> = shown
        .into_iter()
        .map(|(name, broker, config)| {
            let note = state.notes.group(&name).unwrap_or_default();
            let mut row = settings_json(&config, &note);
            if let Value::Object(map) = &mut row {
                map.insert("remark".into(), json!(note.remark));
                map.insert("namesrvAddr".into(), Value::Null);
                map.insert("clusterName".into(), json!(cluster));
                map.insert("brokerName".into(), json!(broker));
                map.insert("type".into(), json!(0));
            }
            row
        })
        .collect();
    reply::result(json!({ "total": total, "rows": rows }))
}

/// The groups every broker creates for itself (RocketMQ's `MixAll` system groups).
pub fn is_system_group(group: &str) -> bool {
    group.starts_with("CID_RMQ_SYS_")
        || group.starts_with("rmq_sys_")
        || [
            "TOOLS_CONSUMER",
            "FILTERSRV_CONSUMER",
            "__MONITOR_CONSUMER",
            "CLIENT_INNER_PRODUCER",
            "SELF_TEST_P_GROUP",
            "SELF_TEST_C_GROUP",
            "CID_ONS-HTTP-PROXY",
            "CID_ONSAPI_PERMISSION",
            "CID_ONSAPI_OWNER",
            "CID_ONSAPI_PULL",
        ]
        .contains(&group)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct OpenStatus {
    /// 0 opens consumption, 1 closes it.
    pub is_open: Option<String>,
    /// Brokers, `a,b` or a JSON array (all masters when empty).
    pub broker_names: Option<String>,
}

/// `a,b` or a JSON array `["a","b"]` (the document's example sends the latter).
fn broker_names(text: Option<&str>) -> Vec<String> {
    let text = text.map(str::trim).unwrap_or_default();
    if let Ok(list) = serde_json::from_str::<Vec<String>>(text) {
        return list;
    }
    text.split(',')
        .map(|b| b.trim().trim_matches('"').to_owned())
        .filter(|b| !b.is_empty())
        .collect()
}

/// POST /api/manager/subscriptions/{clusterName}/{groupName}/openStatus (§7.7.1): `isOpen=0`
/// lets the group consume, `isOpen=1` stops it (consumeEnable), on `brokerNames` (all the
/// cluster's masters when empty).
#[utoipa::path(
    post,
    path = "/api/manager/subscriptions/{clusterName}/{groupName}/openStatus",
    tag = "groups",
    summary = "Open (isOpen=0) or close (isOpen=1) consumption (§7.7.1)",
    params(crate::auth::Common, ("clusterName" = String, Path), ("groupName" = String, Path), OpenStatus),
    responses(crate::reply::Answers)
)]
pub async fn open_status(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path((cluster, group)): Path<(String, String)>,
    Query(q): Query<OpenStatus>,
) -> Reply {
    let enable = match q.is_open.as_deref().map(str::trim) {
        Some("0") => true,
        Some("1") => false,
        other => {
            return Err(ApiError::bad_request(format!(
                "isOpen must be 0 (open) or 1 (close), not {other:?}"
            )));
        }
    };
    let only = broker_names(q.broker_names.as_deref());
    let present: Vec<_> = group_on(&state, &cluster, &group)
        .await?
        .into_iter()
        .filter(|(b, _, _)| only.is_empty() || only.contains(b))
        .collect();
    if present.is_empty() {
        return Err(ApiError::not_found(format!(
            "group {group} does not exist on {only:?} in cluster {cluster}"
        )));
    }
    for (_, addr, config) in present {
        let config = SubscriptionGroupConfig {
            consume_enable: enable,
            ..config
        };
        state
            .admin
            .create_subscription_group(&addr, &config)
            .await?;
    }
    reply::done()
}

#[cfg(test)]
mod tests {
    use super::broker_names;

    #[test]
    fn given_either_spelling_of_broker_names_should_read_both() {
        assert_eq!(broker_names(Some("[\n  \"a\",\n  \"b\"\n]")), ["a", "b"]);
        assert_eq!(broker_names(Some("a, b")), ["a", "b"]);
        assert!(broker_names(None).is_empty());
    }
}
