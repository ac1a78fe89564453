//! App users and their permissions for the web console (Apogee's own endpoints; the managed
//! services' document has none): the brokers' ACL 2.0 users and policies, written to every
//! master of every cluster as `mqadmin createUser … -c` does, read from the first one.

use std::collections::BTreeMap;
use std::sync::Arc;

use apogee_client::{AclInfo, PolicyEntryInfo, PolicyInfo, UserInfo};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State as Shared};
use serde::Deserialize;
use serde_json::json;

use super::json_body;
use crate::State;
use crate::auth::Caller;
use crate::reply::{self, ApiError, Reply};

/// A new user, or the fields of one to change.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct UserBody {
    pub username: Option<String>,
    pub password: Option<String>,
    /// `Super` or `Normal`.
    pub user_type: Option<String>,
    /// `enable` or `disable`.
    pub user_status: Option<String>,
}

/// One permission of a user: a resource (`Topic:Orders`, `Group:billing`, `Topic:*`), its
/// actions (`Pub`, `Sub`, `Create`, `Update`, `Delete`, `Get`, `List`, `All`) and `Allow`/`Deny`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    pub resource: String,
    pub actions: Vec<String>,
    pub decision: String,
}

/// The masters of every cluster: where users and policies live.
async fn masters(state: &State) -> Result<Vec<String>, ApiError> {
    let info = state.admin.cluster_info().await?;
    let addrs: Vec<String> = info
        .broker_addr_table
        .values()
        .filter_map(|b| b.broker_addrs.get(&0).cloned())
        .collect();
    if addrs.is_empty() {
        return Err(ApiError::not_found("no master broker is registered"));
    }
    Ok(addrs)
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "username {name:?} must be 1 to 64 letters, digits, '_' or '-'"
        )))
    }
}

fn check_fields(body: &UserBody) -> Result<(), ApiError> {
    if let Some(t) = &body.user_type
        && !["Super", "Normal"].contains(&t.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "userType {t} is not Super or Normal"
        )));
    }
    if let Some(s) = &body.user_status
        && !["enable", "disable"].contains(&s.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "userStatus {s} is not enable or disable"
        )));
    }
    if body
        .password
        .as_ref()
        .is_some_and(|p| p.is_empty() || p.len() > 256)
    {
        return Err(ApiError::bad_request(
            "password must be 1 to 256 characters",
        ));
    }
    Ok(())
}

/// GET /api/console/users.
#[utoipa::path(
    get,
    path = "/api/console/users",
    tag = "console",
    summary = "App users (the brokers' ACL 2.0 users)",
    params(crate::auth::Common),
    responses(crate::reply::Answers)
)]
pub async fn list(Shared(state): Shared<Arc<State>>, caller: Caller) -> Reply {
    caller.need_full("managing users")?;
    let addr = masters(&state).await?.remove(0);
    let users = state.admin.users(&addr, None).await?;
    let rows: Vec<_> = users
        .into_iter()
        .map(|u| {
            json!({
                "username": u.username, "password": u.password,
                "userType": u.user_type, "userStatus": u.user_status,
            })
        })
        .collect();
    reply::result(json!({ "total": rows.len(), "rows": rows }))
}

/// POST /api/console/users.
#[utoipa::path(post, path = "/api/console/users", tag = "console", summary = "Create an app user",
    request_body = UserBody, params(crate::auth::Common), responses(crate::reply::Answers))]
pub async fn create(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    body: Result<Json<UserBody>, JsonRejection>,
) -> Reply {
    caller.need_full("managing users")?;
    let Json(body) = json_body(body)?;
    let name = body.username.clone().unwrap_or_default();
    check_name(&name)?;
    check_fields(&body)?;
    if body.password.is_none() {
        return Err(ApiError::bad_request("password is required"));
    }
    let user = UserInfo {
        username: Some(name),
        password: body.password,
        user_type: body.user_type.or(Some("Normal".into())),
        user_status: body.user_status.or(Some("enable".into())),
    };
    for addr in masters(&state).await? {
        state.admin.create_user(&addr, &user).await?;
    }
    reply::done()
}

/// POST /api/console/users/{username}: changes the fields given.
#[utoipa::path(post, path = "/api/console/users/{username}", tag = "console",
    summary = "Modify an app user", request_body = UserBody, params(crate::auth::Common, ("username" = String, Path)), responses(crate::reply::Answers))]
pub async fn modify(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<Json<UserBody>, JsonRejection>,
) -> Reply {
    caller.need_full("managing users")?;
    check_name(&name)?;
    let Json(body) = json_body(body)?;
    check_fields(&body)?;
    let user = UserInfo {
        username: Some(name),
        password: body.password,
        user_type: body.user_type,
        user_status: body.user_status,
    };
    for addr in masters(&state).await? {
        state.admin.update_user(&addr, &user).await?;
    }
    reply::done()
}

/// DELETE /api/console/users/{username}.
#[utoipa::path(delete, path = "/api/console/users/{username}", tag = "console",
    summary = "Delete an app user", params(crate::auth::Common, ("username" = String, Path)), responses(crate::reply::Answers))]
pub async fn delete(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Reply {
    caller.need_full("managing users")?;
    check_name(&name)?;
    for addr in masters(&state).await? {
        state.admin.delete_user(&addr, &name).await?;
    }
    reply::done()
}

/// GET /api/console/users/{username}/acl: the user's permissions, one row per resource.
#[utoipa::path(get, path = "/api/console/users/{username}/acl", tag = "console",
    summary = "An app user's permissions", params(crate::auth::Common, ("username" = String, Path)), responses(crate::reply::Answers))]
pub async fn acl(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Reply {
    caller.need_full("managing users")?;
    check_name(&name)?;
    let addr = masters(&state).await?.remove(0);
    let acl = state.admin.acl(&addr, &format!("User:{name}")).await?;
    let rows: Vec<_> = acl
        .map(|a| a.policies)
        .unwrap_or_default()
        .into_iter()
        .flat_map(|p| p.entries)
        .map(|e| json!({ "resource": e.resource, "actions": e.actions, "decision": e.decision }))
        .collect();
    reply::result(json!({ "total": rows.len(), "rows": rows }))
}

/// POST /api/console/users/{username}/acl: grants (or denies) actions on one resource.
#[utoipa::path(post, path = "/api/console/users/{username}/acl", tag = "console",
    summary = "Set an app user's permission on a resource", request_body = Permission,
    params(crate::auth::Common, ("username" = String, Path)), responses(crate::reply::Answers))]
pub async fn grant(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<Json<Permission>, JsonRejection>,
) -> Reply {
    caller.need_full("managing users")?;
    check_name(&name)?;
    let Json(p) = json_body(body)?;
    if !["Allow", "Deny"].contains(&p.decision.as_str()) {
        return Err(ApiError::bad_request(format!(
            "decision {} is not Allow or Deny",
            p.decision
        )));
    }
    if p.actions.is_empty() || p.resource.trim().is_empty() {
        return Err(ApiError::bad_request("resource and actions are required"));
    }
    let subject = format!("User:{name}");
    let acl = AclInfo {
        subject: Some(subject.clone()),
        policies: vec![PolicyInfo {
            entries: vec![PolicyEntryInfo {
                resource: Some(p.resource.trim().to_owned()),
                actions: p.actions,
                decision: Some(p.decision),
                source_ips: Vec::new(),
            }],
            policy_type: None,
        }],
    };
    for addr in masters(&state).await? {
        let exists = state.admin.acl(&addr, &subject).await?.is_some();
        state.admin.upsert_acl(&addr, &acl, !exists).await?;
    }
    reply::done()
}

/// DELETE /api/console/users/{username}/acl?resource=…: takes one resource's permission away.
#[utoipa::path(delete, path = "/api/console/users/{username}/acl", tag = "console",
    summary = "Remove an app user's permission on a resource", params(crate::auth::Common, ("username" = String, Path), ("resource" = String, Query)),
    responses(crate::reply::Answers))]
pub async fn revoke(
    Shared(state): Shared<Arc<State>>,
    caller: Caller,
    Path(name): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Reply {
    caller.need_full("managing users")?;
    check_name(&name)?;
    let resource = q
        .get("resource")
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::bad_request("resource is required"))?;
    for addr in masters(&state).await? {
        state
            .admin
            .delete_acl(&addr, &format!("User:{name}"), Some(resource))
            .await?;
    }
    reply::done()
}
