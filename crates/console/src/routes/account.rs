//! §7.2's credential lookup: an account's access key and secret key as the managed services'
//! console shows them.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State as Shared};
use serde_json::{Value, json};

use crate::State;
use crate::auth::Caller;
use crate::reply::{self, ApiError, Reply};

/// GET /api/access/account (§7.2): the caller's own account, or with `account=NAME` another
/// one (administrator and `Super` users only). Unlike the document, which hands out a secret
/// for an access key alone, Apogee asks for the caller's `secretKey` too.
#[utoipa::path(
    get,
    path = "/api/access/account",
    tag = "instance",
    summary = "An account's accessKey and secretKey (§7.2)",
    params(crate::auth::Common, ("account" = Option<String>, Query, description = "another account (administrator or Super users only)")),
    responses((status = 200, description = "result.data: accountCode (accessKey) and accountPasswd (secretKey)", body = crate::reply::Envelope), (status = 403, description = "looking up another account without full rights", body = crate::reply::Envelope), (status = 404, description = "no such account", body = crate::reply::Envelope))
)]
pub async fn account(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    Query(q): Query<BTreeMap<String, String>>,
) -> Reply {
    let name = match q.get("account").map(|a| a.trim()).filter(|a| !a.is_empty()) {
        Some(other) if other != caller.access_key && !caller.full => {
            return Err(ApiError::forbidden(
                "only the administrator or a Super user may look up another account",
            ));
        }
        Some(other) => other.to_owned(),
        None => caller.access_key.clone(),
    };
    let secret = state
        .users
        .secret_of(&state.admin, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no account {name}")))?;
    reply::data(json!({
        "accountId": name,
        "appId": "RocketMQ",
        "tenantId": state.tenant_id,
        "tenantName": state.tenant_id,
        "clusterName": caller.cluster,
        "accountCode": name,
        "accountPasswd": secret,
        "description": Value::Null,
        "createdBy": Value::Null,
        "createdTime": Value::Null,
        "shardingId": Value::Null,
    }))
}
