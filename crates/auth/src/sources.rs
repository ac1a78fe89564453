//! Where a server's users and policies come from, kept together so a change to any source
//! rebuilds the guard's snapshot: the configured super users, `plain_acl.yml` (re-read when it
//! changes) and the users and ACLs managed over the API. The server persists the managed part.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use serde::Deserialize;

use crate::guard::parse_code_list;
use crate::{Credentials, Guard, GuardSettings, Managed, PlainAcl, PlainAclDoc, Registry};

/// RocketMQ's access-control keys as a server's config file holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthKeys {
    pub authentication_enabled: bool,
    pub authorization_enabled: bool,
    pub authentication_whitelist: String,
    pub authorization_whitelist: String,
    /// `{"username":"…","password":"…"}`.
    pub init_authentication_user: String,
    /// `{"accessKey":"…","secretKey":"…"}`.
    pub inner_client_authentication_credentials: String,
    /// ACL 1.0: both stages on, accounts from `plain_acl.yml`.
    pub acl_enable: bool,
}

/// An [`AuthKeys`] from any config struct with fields of the same names (the broker's and the
/// NameServer's raw configs), so the keys are listed once.
#[macro_export]
macro_rules! auth_keys_of {
    ($raw:expr) => {
        $crate::AuthKeys {
            authentication_enabled: $raw.authentication_enabled,
            authorization_enabled: $raw.authorization_enabled,
            authentication_whitelist: $raw.authentication_whitelist.clone(),
            authorization_whitelist: $raw.authorization_whitelist.clone(),
            init_authentication_user: $raw.init_authentication_user.clone(),
            inner_client_authentication_credentials: $raw
                .inner_client_authentication_credentials
                .clone(),
            acl_enable: $raw.acl_enable,
        }
    };
}

impl AuthKeys {
    /// The guard's switches; the error names the key.
    pub fn settings(&self, cluster: &str) -> Result<GuardSettings, String> {
        let list = |key: &str, text: &str| parse_code_list(text).map_err(|e| format!("{key}: {e}"));
        Ok(GuardSettings {
            authentication: self.authentication_enabled || self.acl_enable,
            authorization: self.authorization_enabled || self.acl_enable,
            authentication_whitelist: list(
                "authentication_whitelist",
                &self.authentication_whitelist,
            )?,
            authorization_whitelist: list(
                "authorization_whitelist",
                &self.authorization_whitelist,
            )?,
            cluster: cluster.to_owned(),
        })
    }

    /// The credentials this server signs its own calls with, if any.
    pub fn inner_credentials(&self) -> Result<Option<Credentials>, String> {
        let text = self.inner_client_authentication_credentials.trim();
        if text.is_empty() {
            return Ok(None);
        }
        Credentials::from_json(text)
            .map(Some)
            .map_err(|e| format!("inner_client_authentication_credentials: {e}"))
    }

    /// The configured super users: the initial user and the inner credentials.
    pub fn configured_users(&self) -> Result<Vec<Credentials>, String> {
        #[derive(Deserialize)]
        struct Raw {
            username: String,
            password: String,
        }
        let mut out = Vec::new();
        let init = self.init_authentication_user.trim();
        if !init.is_empty() {
            let raw: Raw =
                serde_json::from_str(init).map_err(|e| format!("init_authentication_user: {e}"))?;
            if raw.username.trim().is_empty() || raw.password.is_empty() {
                return Err("init_authentication_user: username and password must be set".into());
            }
            out.push(Credentials::new(raw.username, raw.password));
        }
        out.extend(self.inner_credentials()?);
        Ok(out)
    }
}

/// The last version of `plain_acl.yml` read, and what it held.
struct PlainFile {
    path: PathBuf,
    stamp: Option<(SystemTime, u64)>,
    parsed: Option<PlainAcl>,
}

impl PlainFile {
    fn read_doc(&self) -> Result<PlainAclDoc, String> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => PlainAclDoc::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PlainAclDoc::default()),
            Err(e) => Err(format!("{}: {e}", self.path.display())),
        }
    }

    /// Reads the file when its modification time or length changed; `Ok(true)` when it did.
    /// A missing file holds no accounts.
    fn refresh(&mut self) -> Result<bool, String> {
        let stamp = std::fs::metadata(&self.path)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
        if stamp == self.stamp {
            return Ok(false);
        }
        let parsed = match stamp {
            None => None,
            Some(_) => {
                let text = std::fs::read_to_string(&self.path)
                    .map_err(|e| format!("{}: {e}", self.path.display()))?;
                let parsed = crate::plain_acl::parse(&text)
                    .map_err(|e| format!("{}: {e}", self.path.display()))?;
                Some(parsed)
            }
        };
        self.stamp = stamp;
        self.parsed = parsed;
        Ok(true)
    }
}

/// A server's guard and the sources it is built from.
pub struct AccessControl {
    guard: Arc<Guard>,
    managed: Mutex<Managed>,
    plain: Mutex<PlainFile>,
    configured: Vec<Credentials>,
}

impl AccessControl {
    /// Reads the keys and `plain_acl` (absent is fine); the error names what is wrong.
    pub fn load(
        keys: &AuthKeys,
        cluster: &str,
        managed: Managed,
        plain_acl: PathBuf,
    ) -> Result<Self, String> {
        let settings = keys.settings(cluster)?;
        let configured = keys.configured_users()?;
        let mut plain = PlainFile {
            path: plain_acl,
            stamp: None,
            parsed: None,
        };
        plain.refresh()?;
        if settings.authorization && !settings.authentication {
            tracing::warn!(
                "authorization without authentication trusts the AccessKey a client names"
            );
        }
        let registry = Registry::build(&managed, plain.parsed.as_ref(), &configured);
        if settings.enabled() && registry.user_count() == 0 {
            tracing::warn!(
                "access control is on but no user exists: every signed request is refused"
            );
        }
        Ok(Self {
            guard: Arc::new(Guard::new(settings, registry)),
            managed: Mutex::new(managed),
            plain: Mutex::new(plain),
            configured,
        })
    }

    pub fn guard(&self) -> &Arc<Guard> {
        &self.guard
    }

    pub fn enabled(&self) -> bool {
        self.guard.settings().enabled()
    }

    fn rebuild(&self) {
        let managed = self.managed.lock().unwrap_or_else(PoisonError::into_inner);
        let plain = self.plain.lock().unwrap_or_else(PoisonError::into_inner);
        self.guard.replace(Registry::build(
            &managed,
            plain.parsed.as_ref(),
            &self.configured,
        ));
    }

    /// Re-reads `plain_acl.yml` if it changed (blocking IO). A broken file keeps the previous
    /// accounts in force and is reported.
    pub fn reload_plain_file(&self) {
        let outcome = self
            .plain
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .refresh();
        match outcome {
            Ok(true) => {
                tracing::info!("plain_acl.yml reloaded");
                self.rebuild();
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, "plain_acl.yml not reloaded; the previous accounts stay in force");
            }
        }
    }

    /// Changes the managed users and ACLs: `change` edits a copy, `persist` writes it, and only
    /// then does it replace the live state.
    pub fn update_managed<T, E>(
        &self,
        change: impl FnOnce(&mut Managed) -> Result<T, E>,
        persist: impl FnOnce(&Managed) -> Result<(), E>,
    ) -> Result<T, E> {
        let outcome = {
            let mut managed = self.managed.lock().unwrap_or_else(PoisonError::into_inner);
            let mut next = managed.clone();
            let outcome = change(&mut next)?;
            persist(&next)?;
            *managed = next;
            outcome
        };
        self.rebuild();
        Ok(outcome)
    }

    /// `plain_acl.yml` as a document (empty when there is no file).
    pub fn plain_doc(&self) -> Result<PlainAclDoc, String> {
        let plain = self.plain.lock().unwrap_or_else(PoisonError::into_inner);
        plain.read_doc()
    }

    /// Changes `plain_acl.yml` (ACL 1.0 management): `change` edits the document, the version
    /// is bumped, the result must still read as accounts, `write` puts it on disk, and only
    /// then does it take effect. Returns the written document.
    pub fn update_plain_file<E>(
        &self,
        now_ms: i64,
        change: impl FnOnce(&mut PlainAclDoc) -> Result<(), E>,
        write: impl FnOnce(&Path, &[u8]) -> Result<(), E>,
        invalid: impl Fn(String) -> E,
    ) -> Result<PlainAclDoc, E> {
        let doc = {
            let mut plain = self.plain.lock().unwrap_or_else(PoisonError::into_inner);
            let mut doc = plain.read_doc().map_err(&invalid)?;
            change(&mut doc)?;
            doc.data_version.next(now_ms);
            doc.to_model().map_err(&invalid)?;
            write(&plain.path, doc.to_yaml().as_bytes())?;
            plain.refresh().map_err(&invalid)?;
            doc
        };
        self.rebuild();
        Ok(doc)
    }

    /// The managed users and ACLs as they are now.
    pub fn managed(&self) -> Managed {
        self.managed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apogee_protocol::RemotingCommand;
    use std::net::IpAddr;

    fn keys() -> AuthKeys {
        AuthKeys {
            acl_enable: true,
            init_authentication_user: r#"{"username":"root","password":"root-secret"}"#.into(),
            ..AuthKeys::default()
        }
    }

    #[test]
    fn given_bad_keys_should_name_them() {
        let bad = AuthKeys {
            authentication_whitelist: "34,x".into(),
            ..AuthKeys::default()
        };
        assert!(
            bad.settings("C")
                .unwrap_err()
                .contains("authentication_whitelist")
        );
        let bad = AuthKeys {
            init_authentication_user: "{".into(),
            ..AuthKeys::default()
        };
        assert!(
            bad.configured_users()
                .unwrap_err()
                .contains("init_authentication_user")
        );
    }

    #[test]
    fn given_a_rewritten_plain_file_should_apply_its_accounts_and_keep_them_when_broken() {
        let dir = std::env::temp_dir().join(format!("apogee-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("plain_acl.yml");
        let _ = std::fs::remove_file(&path);
        let ac = AccessControl::load(&keys(), "C", Managed::default(), path.clone()).unwrap();
        let registry = ac.guard().registry();
        assert!(registry.user("root").unwrap().is_super());
        assert!(registry.user("RocketMQ").is_none());
        std::fs::write(
            &path,
            "accounts:\n  - accessKey: RocketMQ\n    secretKey: '12345678'\n",
        )
        .unwrap();
        ac.reload_plain_file();
        assert!(ac.guard().registry().user("RocketMQ").is_some());
        std::fs::write(&path, "accounts: [ broken").unwrap();
        ac.reload_plain_file();
        assert!(ac.guard().registry().user("RocketMQ").is_some(), "kept");
        let _ = std::fs::remove_dir_all(&dir);
        // The guard refuses a request with no AccessKey.
        let request = RemotingCommand::bare_request(apogee_protocol::RequestCode::HEART_BEAT);
        assert!(
            ac.guard()
                .check(IpAddr::from([127, 0, 0, 1]), &request)
                .is_err()
        );
    }
}
