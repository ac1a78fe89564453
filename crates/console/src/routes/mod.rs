//! The management API's routes (seed 001 chapter 7) and what they share: paging, the masters
//! of a cluster, body parsing with a 400 that says why.

pub mod account;
pub mod alerts;
pub mod by_time;
pub mod clients;
pub mod consumption;
pub mod dial;
pub mod groups;
pub mod inspect;
pub mod instance;
pub mod messages;
pub mod messaging;
pub mod overview;
pub mod resend;
pub mod session;
pub mod topics;
pub mod tps;
pub mod trace;
pub mod users;

use std::sync::Arc;

use apogee_client::{BrokerData, ClusterInfo};
use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use crate::State;
use crate::reply::{self, ApiError, Reply};

/// Every route of the API.
pub fn router() -> Router<Arc<State>> {
    Router::new()
        .route("/api/openapi.json", get(crate::openapi::document))
        .route("/api/docs", get(crate::openapi::page))
        .route("/api/access/account", get(account::account))
        .route("/api/alerts/rules", get(alerts::list).post(alerts::create))
        .route(
            "/api/alerts/rules/{id}",
            axum::routing::delete(alerts::delete).put(alerts::update),
        )
        .route("/api/alerts/events", get(alerts::events))
        .route("/api/manager/cluster/base", get(instance::base))
        .route("/api/manager/cluster/detail", get(instance::detail))
        // §7.4.3's example writes /api/manager/cluster/{clusterName}/tps: both are served.
        .route("/api/manager/{clusterName}/tps", get(tps::cluster))
        .route("/api/manager/cluster/{clusterName}/tps", get(tps::cluster))
        .merge(topic_routes())
        .merge(group_routes())
        .merge(console_routes())
        .route(
            "/api/messaging/topics/{topic}/messages",
            post(messaging::publish)
                .get(messaging::consume)
                .delete(messaging::ack)
                .put(messaging::change_visibility),
        )
        .route("/api/manager/messages/{msgId}", get(messages::by_id))
        .route("/api/manager/messages/offset", get(messages::by_offset))
        .route("/api/manager/messages/key", get(messages::by_key))
        // §7.9.2 and §7.9.3's examples write /messages/messages/…: both spellings are served.
        .route(
            "/api/manager/messages/messages/offset",
            get(messages::by_offset),
        )
        .route("/api/manager/messages/messages/key", get(messages::by_key))
        .fallback(|| async { ApiError::not_found("no such endpoint (docs/console.md lists them)") })
}

/// §7.5 and the offset reset of §7.7.3.
fn topic_routes() -> Router<Arc<State>> {
    Router::new()
        .route("/api/manager/topics", post(topics::create))
        .route(
            "/api/manager/topics/{clusterName}/{topicName}",
            post(topics::modify).delete(topics::delete),
        )
        .route(
            "/api/manager/topics/{clusterName}/basedata/{topicName}",
            get(topics::detail),
        )
        .route(
            "/api/manager/topics/{clusterName}/basedatas",
            get(topics::list),
        )
        .route(
            "/api/manager/topics/{clusterName}/{topicName}/tps",
            get(tps::topic),
        )
        .route(
            "/api/manager/topics/{clusterName}/{topicName}/queues",
            get(consumption::queues),
        )
        .route(
            "/api/manager/topics/{clusterName}/{topicName}/depth",
            get(consumption::topic_depth),
        )
        .route(
            "/api/manager/topics/{clusterName}/{topicName}/producers",
            get(consumption::producers),
        )
        .route(
            "/api/manager/topics/{clusterName}/{topicName}/consumers",
            get(consumption::consumers),
        )
        // §7.7.3's example writes /api/manage/…: both spellings are served.
        .route(
            "/api/manager/topics/consumeOffset",
            post(consumption::reset_offset),
        )
        .route(
            "/api/manage/topics/consumeOffset",
            post(consumption::reset_offset),
        )
}

/// The web console's pages and its own endpoints (login, users, dial test, overview).
fn console_routes() -> Router<Arc<State>> {
    use axum::routing::delete;
    Router::new()
        .route("/", get(crate::ui::index))
        .route("/ui/{file}", get(crate::ui::file))
        .route(
            "/api/console/session",
            get(session::current)
                .post(session::login)
                .delete(session::logout),
        )
        .route("/api/console/overview", get(overview::overview))
        .route("/api/console/clusters", get(overview::clusters))
        .route(
            "/api/console/groups/{groupName}/connection",
            get(clients::connection),
        )
        .route("/api/console/users", get(users::list).post(users::create))
        .route(
            "/api/console/users/{username}",
            post(users::modify).delete(users::delete),
        )
        .route(
            "/api/console/users/{username}/acl",
            get(users::acl)
                .post(users::grant)
                .merge(delete(users::revoke)),
        )
        .route("/api/console/topics/{topicName}/dial", post(dial::send))
        .route("/api/console/dlq/{groupName}", get(resend::dlq))
        .route("/api/console/topics/{topicName}/route", get(inspect::route))
        .route("/api/console/producers", get(inspect::producers))
        .route(
            "/api/console/topics/{topicName}/stats",
            get(inspect::topic_stats),
        )
        .route("/api/console/messages/time", get(by_time::by_time))
        .route("/api/console/messages/{msgId}/trace", get(trace::trace))
        .route(
            "/api/console/groups/{groupName}/clients/{clientId}",
            get(inspect::running_info),
        )
        .route(
            "/api/console/brokers/{brokerName}/tps",
            get(inspect::broker),
        )
        .route(
            "/api/console/dlq/{groupName}/resend",
            post(resend::dlq_resend),
        )
        .route("/api/console/messages/resend", post(resend::message_resend))
        .route(
            "/api/console/topics/{topicName}/dial/consume",
            post(dial::consume),
        )
}

/// §7.6, §7.7.1 and §7.7.2.
fn group_routes() -> Router<Arc<State>> {
    Router::new()
        .route(
            "/api/manager/subscriptions/{clusterName}",
            post(groups::create),
        )
        .route(
            "/api/manager/subscriptions/{clusterName}/{groupName}",
            post(groups::modify).delete(groups::delete),
        )
        .route(
            "/api/manager/subscriptions/{clusterName}/{groupName}/detail",
            get(groups::detail),
        )
        .route(
            "/api/manager/subscriptions/{clusterName}/basedatas",
            get(groups::list),
        )
        .route(
            "/api/manager/subscriptions/{clusterName}/{groupName}/openStatus",
            post(groups::open_status),
        )
        .route(
            "/api/manager/subscriptions/{clusterName}/{groupName}/depth",
            get(consumption::group_depth),
        )
}

/// `pageNumber` (from 1, default 1) and `pageSize` (default 5, at most 1000).
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Page, from 1 (default 1).
    pub page_number: Option<String>,
    /// Rows per page, 1..=1000 (default 5).
    pub page_size: Option<String>,
}

impl Page {
    fn number(
        text: Option<&str>,
        default: usize,
        name: &str,
        max: usize,
    ) -> Result<usize, ApiError> {
        match text.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(default),
            Some(t) => t
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request(format!("{name} {t} is not a number in 1..={max}"))
                }),
        }
    }

    /// (page number from 1, rows per page), checked.
    pub fn bounds(&self) -> Result<(usize, usize), ApiError> {
        Ok((
            Self::number(self.page_number.as_deref(), 1, "pageNumber", usize::MAX)?,
            Self::number(self.page_size.as_deref(), 5, "pageSize", 1000)?,
        ))
    }

    /// The number of rows and this page's rows (so only shown rows need building).
    pub fn take<T>(&self, rows: Vec<T>) -> Result<(usize, Vec<T>), ApiError> {
        let (number, size) = self.bounds()?;
        let total = rows.len();
        let page: Vec<T> = rows
            .into_iter()
            .skip((number - 1).saturating_mul(size))
            .take(size)
            .collect();
        Ok((total, page))
    }

    /// `result` = `{"total": all rows, "rows": this page}`.
    pub fn reply<T: Serialize>(&self, rows: Vec<T>) -> Reply {
        let (total, page) = self.take(rows)?;
        reply::result(serde_json::json!({ "total": total, "rows": page }))
    }
}

/// The lists' filters (Apogee's, for the web console): part of the name, case-insensitive, and
/// the broker.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// Only names containing this (case-insensitive).
    pub name: Option<String>,
    /// Only rows of this broker.
    pub broker_name: Option<String>,
}

impl Filter {
    /// The lowercased name part, if any.
    fn needle(&self) -> Option<String> {
        self.name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_lowercase)
    }

    /// A predicate for (name, broker) built once per request.
    pub fn matcher(&self) -> impl Fn(&str, &str) -> bool + '_ {
        let needle = self.needle();
        let broker = self
            .broker_name
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty());
        move |name: &str, b: &str| {
            broker.is_none_or(|want| want == b)
                && needle
                    .as_deref()
                    .is_none_or(|n| name.to_lowercase().contains(n))
        }
    }
}

/// The broker sets of `cluster`, by name; 404 if the cluster is unknown.
pub fn cluster_sets<'a>(
    info: &'a ClusterInfo,
    cluster: &str,
) -> Result<Vec<(String, &'a BrokerData)>, ApiError> {
    let names = info
        .cluster_addr_table
        .iter()
        .find(|(c, _)| c.as_str() == cluster)
        .map(|(_, names)| names)
        .ok_or_else(|| ApiError::not_found(format!("cluster {cluster} does not exist")))?;
    Ok(names
        .iter()
        .filter_map(|name| Some((name.to_string(), info.broker_addr_table.get(name)?)))
        .collect())
}

/// (broker name, master address) of every broker set of `cluster`; 404 if it is unknown.
pub async fn cluster_masters(
    state: &State,
    cluster: &str,
) -> Result<Vec<(String, String)>, ApiError> {
    let info = state.admin.cluster_info().await?;
    Ok(cluster_sets(&info, cluster)?
        .into_iter()
        .filter_map(|(name, data)| Some((name, data.broker_addrs.get(&0)?.clone())))
        .collect())
}

/// Topics the console does not list as the user's: RocketMQ's system topics, retry and
/// dead-letter topics.
pub fn is_system_topic(topic: &str) -> bool {
    apogee_model::is_system_topic(topic)
        || apogee_model::system_topic::is_retry_topic(topic)
        || apogee_model::system_topic::is_dlq_topic(topic)
}

/// Query parameter `name`, trimmed; 400 when it is missing or blank.
pub fn param<'a>(
    q: &'a std::collections::BTreeMap<String, String>,
    name: &str,
) -> Result<&'a str, ApiError> {
    q.get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("{name} is required")))
}

/// Query parameter `name` as a number, if given; 400 when it is not one.
pub fn number_param(
    q: &std::collections::BTreeMap<String, String>,
    name: &str,
) -> Result<Option<i64>, ApiError> {
    match q.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("{name} must be a number"))),
    }
}

/// A JSON body, or a 400 saying what is wrong with it.
pub fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<Json<T>, ApiError> {
    body.map_err(|e| ApiError::bad_request(format!("request body: {}", e.body_text())))
}
