//! Access control on the broker: its keys, the users and ACLs managed over the API
//! (`config/acl.json`), `plain_acl.yml` (default `config/plain_acl.yml`, re-read every few
//! seconds), the guard installed on the dispatcher, and the signer of the broker's own calls
//! (`innerClientAuthenticationCredentials`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use apogee_auth::{AccessControl, AuthKeys, Credentials, Managed};
use apogee_remoting::{Dispatcher, OutboundHook};
use apogee_runtime::{Clock, Shutdown};
use tokio::task::JoinHandle;

use crate::processor::Identity;
use crate::{BrokerConfig, BrokerError, RawBrokerConfig, persist};

/// How often `plain_acl.yml` is looked at for changes.
const RELOAD_PERIOD: Duration = Duration::from_secs(2);

/// The access-control keys of a broker config.
pub fn keys(raw: &RawBrokerConfig) -> AuthKeys {
    apogee_auth::auth_keys_of!(raw)
}

/// Where the managed users and ACLs are kept.
pub fn managed_path(config: &BrokerConfig) -> PathBuf {
    config.config_dir.join("acl.json")
}

/// Reads every source; a broken one refuses the start, naming it.
pub fn load(config: &BrokerConfig) -> Result<Arc<AccessControl>, BrokerError> {
    let managed: Managed = persist::load_json(&managed_path(config))?.unwrap_or_default();
    let plain = match config.raw.plain_acl_file.trim() {
        "" => config.config_dir.join("plain_acl.yml"),
        p => PathBuf::from(p),
    };
    AccessControl::load(&keys(&config.raw), config.cluster.as_str(), managed, plain)
        .map(Arc::new)
        .map_err(BrokerError::Config)
}

/// The credentials the broker signs its own calls with.
pub fn inner_credentials(config: &BrokerConfig) -> Result<Option<Credentials>, BrokerError> {
    keys(&config.raw)
        .inner_credentials()
        .map_err(BrokerError::Config)
}

/// Serves the user and ACL management codes and makes every request pass the guard first
/// (when access control is on; otherwise warns if the broker listens beyond loopback).
pub fn serve(
    access: &Arc<AccessControl>,
    config: &BrokerConfig,
    (identity, clock): (&Identity, &Arc<dyn Clock>),
    dispatcher: &mut Dispatcher,
) {
    crate::processor::register(
        dispatcher,
        crate::processor::AclAdminProcessor {
            access: Arc::clone(access),
            managed_path: managed_path(config),
        },
    );
    crate::processor::register(
        dispatcher,
        crate::processor::AclFileProcessor {
            access: Arc::clone(access),
            identity: identity.clone(),
            clock: Arc::clone(clock),
        },
    );
    if !access.enabled() {
        if !apogee_remoting::binds_loopback_only(&config.bind) {
            tracing::warn!(bind = %config.bind, "listening beyond loopback with access control off: anyone who reaches the port can send, consume and administer (set authentication_enabled and authorization_enabled)");
        }
        return;
    }
    let guard = Arc::clone(access.guard());
    dispatcher.guard(Arc::new(move |connection, request| {
        guard
            .check(connection.peer().ip(), request)
            .map_err(|r| (r.code, r.remark))
    }));
}

/// A hook that signs every request with `credentials` (none: no hook).
pub fn signer(credentials: Option<Credentials>) -> Option<OutboundHook> {
    credentials.map(|c| -> OutboundHook {
        Arc::new(move |request| apogee_auth::signature::sign_request(request, &c))
    })
}

/// Looks at `plain_acl.yml` every few seconds until `shutdown`.
pub fn spawn_reloader(access: &Arc<AccessControl>, shutdown: &Shutdown) -> JoinHandle<()> {
    let access = Arc::clone(access);
    apogee_runtime::spawn_periodic_blocking(RELOAD_PERIOD, shutdown, move || {
        access.reload_plain_file();
    })
}
