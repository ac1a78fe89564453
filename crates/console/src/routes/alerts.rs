//! Managing alert rules and reading their events (Apogee's own endpoints; the managed
//! services' document has none): `/api/alerts/rules` and `/api/alerts/events`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State as Shared};
use serde_json::json;

use super::json_body;
use crate::State;
use crate::alerts::rules::{self, Rule};
use crate::auth::Caller;
use crate::reply::{self, ApiError, Reply};

/// GET /api/alerts/rules: every rule, with whether it is firing.
#[utoipa::path(get, path = "/api/alerts/rules", tag = "alerts", summary = "Alert rules",
    params(crate::auth::Common),
    responses((status = 200, description = "result.data: the rules", body = crate::reply::Envelope)))]
pub async fn list(Shared(state): Shared<Arc<State>>, _caller: Caller) -> Reply {
    reply::data(
        state
            .history
            .run(rules::list)
            .await
            .map_err(ApiError::internal)?,
    )
}

/// POST /api/alerts/rules: a new rule (kinds: backlog, consume_delay, group_offline,
/// dlq_growing, disk); answers its id.
#[utoipa::path(post, path = "/api/alerts/rules", tag = "alerts", summary = "Create an alert rule",
    params(crate::auth::Common), request_body = Rule,
    responses((status = 200, description = "result.data.id: the new rule's id", body = crate::reply::Envelope),
        (status = 400, description = "what is wrong with the rule", body = crate::reply::Envelope)))]
pub async fn create(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    body: Result<Json<Rule>, JsonRejection>,
) -> Reply {
    let Json(rule) = json_body(body)?;
    rules::validate(&rule).map_err(ApiError::bad_request)?;
    let id = state
        .history
        .run(move |c| rules::insert_if_room(c, &rule))
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "there are {} alert rules already, the most kept; delete some first",
                rules::RULES_MAX
            ))
        })?;
    reply::data(json!({ "id": id }))
}

/// PUT /api/alerts/rules/{id}: replaces the rule's settings (it starts over, not firing).
#[utoipa::path(put, path = "/api/alerts/rules/{id}", tag = "alerts", summary = "Change an alert rule",
    params(crate::auth::Common, ("id" = i64, Path)), request_body = Rule,
    responses((status = 200, description = "changed", body = crate::reply::Envelope),
        (status = 400, description = "what is wrong with the rule", body = crate::reply::Envelope),
        (status = 404, description = "no such rule", body = crate::reply::Envelope)))]
pub async fn update(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path(id): Path<i64>,
    body: Result<Json<Rule>, JsonRejection>,
) -> Reply {
    let Json(rule) = json_body(body)?;
    rules::validate(&rule).map_err(ApiError::bad_request)?;
    let found = state
        .history
        .run(move |c| rules::update(c, id, &rule))
        .await
        .map_err(ApiError::internal)?;
    if found {
        reply::done()
    } else {
        Err(ApiError::not_found(format!("no alert rule {id}")))
    }
}

/// DELETE /api/alerts/rules/{id}
#[utoipa::path(delete, path = "/api/alerts/rules/{id}", tag = "alerts", summary = "Delete an alert rule",
    params(crate::auth::Common, ("id" = i64, Path)),
    responses((status = 200, description = "deleted", body = crate::reply::Envelope),
        (status = 404, description = "no such rule", body = crate::reply::Envelope)))]
pub async fn delete(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path(id): Path<i64>,
) -> Reply {
    let gone = state
        .history
        .run(move |c| rules::delete(c, id))
        .await
        .map_err(ApiError::internal)?;
    if gone {
        reply::done()
    } else {
        Err(ApiError::not_found(format!("no alert rule {id}")))
    }
}

/// GET /api/alerts/events?limit=: the newest firing and resolved events first (default 50, at
/// most 1000).
#[utoipa::path(get, path = "/api/alerts/events", tag = "alerts", summary = "Alert events, newest first",
    params(crate::auth::Common, ("limit" = Option<i64>, Query)),
    responses((status = 200, description = "result.data: the events", body = crate::reply::Envelope)))]
pub async fn events(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Query(q): Query<BTreeMap<String, String>>,
) -> Reply {
    let limit = match q.get("limit") {
        None => 50,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| ApiError::bad_request(format!("limit {l} is not in 1..=1000")))?,
    };
    reply::data(
        state
            .history
            .run(move |c| rules::events(c, limit))
            .await
            .map_err(ApiError::internal)?,
    )
}
