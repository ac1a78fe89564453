//! A message's trace timeline for the web console (Apogee's own endpoint): the records clients
//! with message trace on wrote to the trace topic, found by the message's id (the key they are
//! indexed under), decoded and put in time order.

use std::collections::BTreeMap;
use std::sync::Arc;

use apogee_client::TraceEvent;
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
    let found = match state
        .admin
        .query_message_by_key(topic, &msg_id, 0, i64::MAX)
        .await
    {
        Ok(found) => found,
        // No trace topic yet: nothing was traced.
        Err(apogee_client::ClientError::NoRoute { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let mut events: Vec<TraceEvent> = found
        .iter()
        .flat_map(|m| apogee_client::decode_trace(&String::from_utf8_lossy(&m.body)))
        .filter(|e| e.msg_id == msg_id)
        .collect();
    events.sort_by_key(|e| (e.timestamp.unwrap_or(i64::MAX), order(&e.trace_type)));
    events.dedup();
    reply::result(json!({ "traceTopic": topic, "total": events.len(), "rows": events }))
}

/// Where a step goes among steps of the same millisecond.
fn order(kind: &str) -> u8 {
    match kind {
        "Pub" => 0,
        "EndTransaction" => 1,
        "SubBefore" => 2,
        _ => 3,
    }
}
