//! Who is calling: every endpoint takes `accessKey` and `secretKey` in its query string (seed
//! 001 §7.2). They are checked against the console's administrator and against the users of
//! the brokers' access control (ACL 2.0: the username is the access key, the password the
//! secret key). The administrator and `Super` users may do everything; `Normal` users may read
//! (GET). Users are looked up on a master of the cluster and remembered for a few seconds.
//! The web console's pages send no keys: they carry a session cookie instead ([`crate::session`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use apogee_client::{Admin, UserInfo};
use axum::extract::{FromRequestParts, Query};
use axum::http::Method;
use axum::http::request::Parts;

use crate::State;
use crate::reply::ApiError;

/// How long a looked-up user (or its absence) is believed.
const USER_TTL: Duration = Duration::from_secs(5);

/// The parameters every endpoint shares.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct Common {
    /// Tenant id (accepted, one tenant).
    pub tenant_id: Option<String>,
    /// The administrator's access key or a broker user's name.
    pub access_key: Option<String>,
    /// Its secret key (password).
    pub secret_key: Option<String>,
    /// The RocketMQ cluster.
    pub cluster_name: Option<String>,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub access_key: String,
    /// Administrator or `Super` user.
    pub full: bool,
    /// `clusterName` from the query string, if given.
    pub cluster: Option<String>,
}

impl Caller {
    /// Refuses (403) a caller who is neither the administrator nor a `Super` user; `what` says
    /// what they tried.
    pub fn need_full(&self, what: &str) -> Result<(), ApiError> {
        if self.full {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "{what} needs the administrator or a Super user"
            )))
        }
    }
}

/// The users the console knows: its administrator and the brokers' users (cached).
pub struct Users {
    admin: Option<(String, String)>,
    cache: Mutex<HashMap<String, (Instant, Option<UserInfo>)>>,
}

/// Equal without an early exit (so a wrong secret takes as long as a right one).
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Users {
    pub fn new(admin: Option<(String, String)>) -> Self {
        Self {
            admin,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok(full)` when `secret` is the secret of `access_key`.
    pub async fn check(
        &self,
        admin: &Admin,
        access_key: &str,
        secret: &str,
    ) -> Result<bool, ApiError> {
        if let Some((ak, sk)) = &self.admin
            && ak == access_key
        {
            return if same(sk, secret) {
                Ok(true)
            } else {
                Err(ApiError::unauthorized("wrong accessKey or secretKey"))
            };
        }
        let user = self.user(admin, access_key).await?;
        match user {
            Some(u)
                if u.password.as_deref().is_some_and(|p| same(p, secret))
                    && !u
                        .user_status
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case("disable")) =>
            {
                Ok(u.user_type
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case("super")))
            }
            _ => Err(ApiError::unauthorized("wrong accessKey or secretKey")),
        }
    }

    /// The secret of `name` (the administrator's or a broker user's password), if known.
    pub async fn secret_of(&self, admin: &Admin, name: &str) -> Result<Option<String>, ApiError> {
        if let Some((ak, sk)) = &self.admin
            && ak == name
        {
            return Ok(Some(sk.clone()));
        }
        Ok(self.user(admin, name).await?.and_then(|u| u.password))
    }

    async fn user(&self, admin: &Admin, name: &str) -> Result<Option<UserInfo>, ApiError> {
        if let Some((at, user)) = self.lock().get(name)
            && at.elapsed() < USER_TTL
        {
            return Ok(user.clone());
        }
        let info = admin.cluster_info().await?;
        let master = info
            .broker_addr_table
            .values()
            .find_map(|b| b.broker_addrs.get(&0).cloned());
        let user = match master {
            Some(addr) => admin.user(&addr, name).await.unwrap_or(None),
            None => None,
        };
        let mut cache = self.lock();
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(name.to_owned(), (Instant::now(), user.clone()));
        Ok(user)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Option<UserInfo>)>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl FromRequestParts<std::sync::Arc<State>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &std::sync::Arc<State>,
    ) -> Result<Self, ApiError> {
        let Query(common) = Query::<Common>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let (access_key, full) = match (common.access_key, common.secret_key) {
            (Some(access_key), Some(secret)) => {
                let full = state
                    .users
                    .check(&state.admin, &access_key, &secret)
                    .await?;
                (access_key, full)
            }
            (None, None) => from_session(parts, state)?,
            _ => {
                return Err(ApiError::unauthorized(
                    "accessKey and secretKey are required (query parameters)",
                ));
            }
        };
        // Counted once the key is proven, so nobody can spend another user's budget.
        if !state.limiter.allow(&access_key, std::time::Instant::now()) {
            return Err(ApiError::too_many(crate::limit::DENIED));
        }
        if !full && parts.method != Method::GET {
            return Err(ApiError::forbidden(format!(
                "user {access_key} may only read; changes need the administrator or a Super user"
            )));
        }
        Ok(Caller {
            access_key,
            full,
            cluster: common.cluster_name.filter(|c| !c.trim().is_empty()),
        })
    }
}

/// The caller of a console page: its session cookie, and for a change its CSRF token.
fn from_session(parts: &Parts, state: &State) -> Result<(String, bool), ApiError> {
    let session = crate::session::cookie_token(&parts.headers)
        .and_then(|id| state.sessions.get(id, std::time::Instant::now()))
        .ok_or_else(|| {
            ApiError::unauthorized(
                "accessKey and secretKey are required (query parameters), or a console login",
            )
        })?;
    if parts.method != Method::GET && parts.method != Method::HEAD {
        let sent = parts
            .headers
            .get(crate::session::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !same(sent, &session.csrf) {
            return Err(ApiError::forbidden(
                "the CSRF token (X-CSRF-Token header) is missing or wrong; reload the page",
            ));
        }
    }
    Ok((session.access_key, session.full))
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn given_secrets_should_compare_whole_strings() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(same("", ""));
    }
}
