//! A message's trace timeline for the web console (Apogee's own endpoint): the records clients
//! with message trace on wrote to the trace topic (`Admin::message_trace`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State as Shared};
use serde_json::json;

use crate::State;
use crate::auth::Caller;
use crate::reply::{self, ApiError, Reply};

/// GET /api/console/messages/{msgId}/trace?traceTopic=: the message's trace events, oldest
/// first (`traceTopic` defaults to `RMQ_SYS_TRACE_TOPIC`).
#[utoipa::path(get, path = "/api/console/messages/{msgId}/trace", tag = "console",
    summary = "A message's trace timeline (from the trace topic)",
    params(crate::auth::Common, ("msgId" = String, Path), ("traceTopic" = Option<String>, Query)),
    responses(crate::reply::Answers))]
pub async fn trace(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path(msg_id): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Reply {
    let topic = q
        .get("traceTopic")
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .unwrap_or(apogee_client::TRACE_TOPIC);
    if msg_id.is_empty() || msg_id.len() > 128 {
        return Err(ApiError::bad_request("msgId must be 1 to 128 characters"));
    }
    let events = state.admin.message_trace(&msg_id, topic).await?;
    reply::result(json!({ "traceTopic": topic, "total": events.len(), "rows": events }))
}
