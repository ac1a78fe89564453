//! The web console's sessions: a login with an access key and secret key (or the administrator)
//! gets a random token in an `HttpOnly`, `SameSite=Strict` cookie and a second random token for
//! CSRF protection, which the page sends back in the `X-CSRF-Token` header of every change. The
//! API's own callers keep sending `accessKey`/`secretKey` in the query string (seed 001 §7.2).
//!
//! ```text
//! POST /api/console/session {accessKey, secretKey} ─► Users::check ─► Sessions::open
//!     ◄── Set-Cookie: apogee_session=…; HttpOnly; SameSite=Strict   {"csrf": …}
//! later: Cookie ─► Sessions::get ─► Caller (changes also need X-CSRF-Token == csrf)
//! ```

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

/// The cookie's name.
pub const COOKIE: &str = "apogee_session";
/// The header a page sends its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Sessions end after this long without use.
const IDLE: Duration = Duration::from_secs(2 * 60 * 60);
/// And after this long in any case.
const LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// Sessions kept at most (the oldest go first).
const SESSIONS_MAX: usize = 10_000;

/// Who a session belongs to.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_key: String,
    /// The administrator or a `Super` user.
    pub full: bool,
    pub csrf: String,
    opened: Instant,
    used: Instant,
}

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes as hex (from the operating system's generator).
pub fn token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new session for `access_key`: its cookie token, and the session (with its CSRF token).
    pub fn open(
        &self,
        access_key: &str,
        full: bool,
        now: Instant,
    ) -> Result<(String, Session), String> {
        let (id, csrf) = (token()?, token()?);
        let mut map = self.lock();
        map.retain(|_, s| alive(s, now));
        if map.len() >= SESSIONS_MAX
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.opened)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        let session = Session {
            access_key: access_key.to_owned(),
            full,
            csrf,
            opened: now,
            used: now,
        };
        map.insert(id.clone(), session.clone());
        Ok((id, session))
    }

    /// The live session with cookie token `id`, marked as used.
    pub fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let mut map = self.lock();
        let session = map.get_mut(id)?;
        if !alive(session, now) {
            map.remove(id);
            return None;
        }
        session.used = now;
        Some(session.clone())
    }

    pub fn close(&self, id: &str) {
        self.lock().remove(id);
    }
}

fn alive(s: &Session, now: Instant) -> bool {
    now.duration_since(s.used) < IDLE && now.duration_since(s.opened) < LIFETIME
}

/// The session cookie's token in a request's `Cookie` headers.
pub fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `Set-Cookie` value that gives the browser `id` (or, with `None`, takes it away).
pub fn set_cookie(id: Option<&str>) -> String {
    match id {
        Some(id) => format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict"),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_an_opened_session_should_find_it_until_it_idles_out() {
        let sessions = Sessions::default();
        let t0 = Instant::now();
        let (id, _) = sessions.open("alice", false, t0).unwrap();
        let found = sessions.get(&id, t0 + Duration::from_secs(60)).unwrap();
        assert_eq!(found.access_key, "alice");
        assert_ne!(found.csrf, id, "the CSRF token is not the cookie");
        assert!(sessions.get(&id, t0 + IDLE * 2).is_none());
        assert!(
            sessions.get(&id, t0).is_none(),
            "an expired session is gone"
        );
    }

    #[test]
    fn given_a_closed_session_should_not_find_it() {
        let sessions = Sessions::default();
        let now = Instant::now();
        let (id, _) = sessions.open("bob", true, now).unwrap();
        sessions.close(&id);
        assert!(sessions.get(&id, now).is_none());
    }

    #[test]
    fn given_cookie_headers_should_read_only_a_well_formed_session_token() {
        let id = token().unwrap();
        let mut headers = HeaderMap::new();
        let value = format!("theme=dark; {COOKIE}={id}");
        headers.insert(axum::http::header::COOKIE, value.parse().unwrap());
        assert_eq!(cookie_token(&headers), Some(id.as_str()));
        let mut bad = HeaderMap::new();
        let value = format!("{COOKIE}=../../etc");
        bad.insert(axum::http::header::COOKIE, value.parse().unwrap());
        assert_eq!(cookie_token(&bad), None);
    }
}
