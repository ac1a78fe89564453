//! The web console's login (Apogee's own endpoints): open a session with an access key and
//! secret key, read it back after a reload, close it. See [`crate::session`].

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::State as Shared;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::json_body;
use crate::State;
use crate::reply::{self, ApiError, Reply};
use crate::session::{self, Session};

/// POST /api/console/session's body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Login {
    pub access_key: String,
    pub secret_key: String,
}

fn answer(session: &Session, cookie: Option<String>) -> Reply {
    let mut response: Response = reply::data(json!({
        "accessKey": session.access_key,
        "full": session.full,
        "csrf": session.csrf,
    }))?;
    if let Some(cookie) = cookie {
        let value =
            HeaderValue::from_str(&cookie).map_err(|e| ApiError::internal(e.to_string()))?;
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// POST /api/console/session: checks the keys, sets the session cookie, returns the CSRF token.
#[utoipa::path(
    post,
    path = "/api/console/session",
    tag = "console",
    summary = "Log in to the web console (sets an HttpOnly session cookie)",
    request_body = Login,
    responses(crate::reply::Answers)
)]
pub async fn login(
    Shared(state): Shared<Arc<State>>,
    body: Result<Json<Login>, JsonRejection>,
) -> Reply {
    let Json(login) = json_body(body)?;
    let key = login.access_key.trim();
    if key.is_empty() || key.len() > 256 || login.secret_key.len() > 1024 {
        return Err(ApiError::bad_request(
            "accessKey and secretKey are required",
        ));
    }
    // Tries per access key are limited like requests, so secrets cannot be guessed quickly.
    if !state.limiter.allow(&format!("login:{key}"), Instant::now()) {
        return Err(ApiError::too_many(crate::limit::DENIED));
    }
    let full = state
        .users
        .check(&state.admin, key, &login.secret_key)
        .await?;
    let (id, session) = state
        .sessions
        .open(key, full, Instant::now())
        .map_err(ApiError::internal)?;
    answer(&session, Some(session::set_cookie(Some(&id))))
}

/// GET /api/console/session: who the cookie belongs to (and the CSRF token), or 401.
#[utoipa::path(
    get,
    path = "/api/console/session",
    tag = "console",
    summary = "The web console's session",
    responses(crate::reply::Answers)
)]
pub async fn current(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Reply {
    let session = session::cookie_token(&headers)
        .and_then(|id| state.sessions.get(id, Instant::now()))
        .ok_or_else(|| ApiError::unauthorized("not logged in"))?;
    answer(&session, None)
}

/// DELETE /api/console/session: logs out.
#[utoipa::path(
    delete,
    path = "/api/console/session",
    tag = "console",
    summary = "Log out of the web console",
    responses(crate::reply::Answers)
)]
pub async fn logout(Shared(state): Shared<Arc<State>>, headers: HeaderMap) -> Reply {
    if let Some(id) = session::cookie_token(&headers) {
        state.sessions.close(id);
    }
    let mut response = reply::done()?;
    let value = HeaderValue::from_str(&session::set_cookie(None))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    response.headers_mut().insert(header::SET_COOKIE, value);
    Ok(response)
}
