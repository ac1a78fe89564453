//! A consumer group's online members for the web console (Apogee's own endpoint): each
//! client's address, language and version, the group's subscriptions, and whether every member
//! subscribes the same way (each member's running info compared, as `mqadmin
//! consumerStatus` does).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, State as Shared};
use serde_json::json;

use crate::State;
use crate::auth::Caller;
use crate::reply::{self, ApiError, Reply};

/// Members asked for their running info at most.
const MEMBERS_ASKED: usize = 32;

/// GET /api/console/groups/{groupName}/connection
#[utoipa::path(get, path = "/api/console/groups/{groupName}/connection", tag = "console",
    summary = "A consumer group's online members and whether their subscriptions agree",
    params(crate::auth::Common, ("groupName" = String, Path)), responses(crate::reply::Answers))]
pub async fn connection(
    Shared(state): Shared<Arc<State>>,
    _caller: Caller,
    Path(group): Path<String>,
) -> Reply {
    apogee_model::GroupName::new(group.as_str())
        .map_err(|e| ApiError::bad_request(format!("groupName {group}: {e}")))?;
    let conn =
        state.admin.consumer_connection(&group).await.map_err(|e| {
            ApiError::not_found(format!("group {group} has no consumer online: {e}"))
        })?;
    let mut views = BTreeSet::new();
    let mut members = Vec::new();
    for c in conn.connection_set.iter().take(MEMBERS_ASKED) {
        let subscriptions = match state
            .admin
            .consumer_running_info(&group, &c.client_id)
            .await
        {
            Ok(info) => {
                let set: BTreeSet<(String, String)> = info
                    .subscription_set
                    .iter()
                    .filter(|s| !apogee_model::system_topic::is_retry_topic(&s.topic))
                    .map(|s| (s.topic.clone(), s.sub_string.clone()))
                    .collect();
                views.insert(set.clone());
                Some(
                    set.into_iter()
                        .map(|(t, e)| format!("{t}: {e}"))
                        .collect::<Vec<_>>(),
                )
            }
            Err(_) => None,
        };
        members.push(json!({
            "clientId": c.client_id, "clientAddr": c.client_addr, "language": c.language,
            "version": c.version, "subscriptions": subscriptions,
        }));
    }
    let subscriptions: Vec<_> = conn
        .subscription_table
        .values()
        .map(|s| json!({ "topic": s.topic, "subString": s.sub_string }))
        .collect();
    let topics: Vec<&String> = conn
        .subscription_table
        .keys()
        .filter(|t| !apogee_model::system_topic::is_retry_topic(t))
        .collect();
    reply::data(json!({
        "connections": members,
        "subscriptions": subscriptions,
        "topics": topics,
        "consistent": views.len() <= 1,
        "messageModel": format!("{:?}", conn.message_model),
        "consumeType": conn.consume_type,
    }))
}
