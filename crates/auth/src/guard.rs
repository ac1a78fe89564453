//! The guard a server runs before every request: authentication (the signature of a known,
//! enabled user), then authorization (each check of the request against the user's policies).
//! Remarks are RocketMQ 5.3's (docs/acl-facts.md §2.2, §2.4); every refusal is NO_PERMISSION.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use apogee_model::{Actions, ResourceKind};
use apogee_protocol::{RemotingCommand, ResponseCode};
use arc_swap::ArcSwap;

use crate::checks::{Check, checks_of};
use crate::policy::Decision;
use crate::registry::Registry;
use crate::signature::{self, ACCESS_KEY, SIGNATURE};
use crate::signature_v5::V5Credentials;
use crate::user::UserStatus;

/// Trace data may always be published, as ACL 1.0 allowed (clients trace on their own).
const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// The switches of a server's guard (RocketMQ's `AuthConfig` keys).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardSettings {
    pub authentication: bool,
    pub authorization: bool,
    /// Request codes served without authentication (`authenticationWhitelist`).
    pub authentication_whitelist: HashSet<i32>,
    /// Request codes served without authorization (`authorizationWhitelist`).
    pub authorization_whitelist: HashSet<i32>,
    /// The cluster named by `Cluster:` checks.
    pub cluster: String,
}

impl GuardSettings {
    /// Whether the guard has anything to do.
    pub fn enabled(&self) -> bool {
        self.authentication || self.authorization
    }
}

/// Parses a comma-separated list of request codes (`authenticationWhitelist = 34,105`).
pub fn parse_code_list(text: &str) -> Result<HashSet<i32>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i32>().map_err(|_| {
                format!("`{s}` is not a request code (the list holds numbers such as 34,105)")
            })
        })
        .collect()
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ResponseCode,
    pub remark: String,
}

impl Refusal {
    fn new(remark: impl Into<String>) -> Self {
        Self {
            code: ResponseCode::NO_PERMISSION,
            remark: remark.into(),
        }
    }
}

/// Checks requests against the current registry; cheap to share.
pub struct Guard {
    settings: GuardSettings,
    registry: ArcSwap<Registry>,
}

impl Guard {
    pub fn new(settings: GuardSettings, registry: Registry) -> Self {
        Self {
            settings,
            registry: ArcSwap::from_pointee(registry),
        }
    }

    pub fn settings(&self) -> &GuardSettings {
        &self.settings
    }

    /// Swaps in a new snapshot (a reloaded file, a user created over the API).
    pub fn replace(&self, registry: Registry) {
        self.registry.store(Arc::new(registry));
    }

    pub fn registry(&self) -> Arc<Registry> {
        self.registry.load_full()
    }

    /// Passes or refuses `request`, which came from `peer`.
    pub fn check(&self, peer: IpAddr, request: &RemotingCommand) -> Result<(), Refusal> {
        let registry = self.registry.load();
        if registry.globally_white(peer) {
            return Ok(());
        }
        let code = request.code;
        let access_key = request.ext_fields.get(ACCESS_KEY).filter(|k| !k.is_empty());
        if self.settings.authentication && !self.settings.authentication_whitelist.contains(&code) {
            authenticate(&registry, peer, request, access_key)?;
        }
        if self.settings.authorization && !self.settings.authorization_whitelist.contains(&code) {
            let checks = checks_of(request, &self.settings.cluster)
                .map_err(|_| Refusal::new("parse authorization context error."))?;
            authorize(&registry, peer, access_key, &checks)?;
        }
        Ok(())
    }
}

impl Guard {
    /// Passes or refuses a v5 (gRPC) call from `peer` needing `checks`, authenticated by its
    /// `authorization` header (REMOTING.md §10.6), under the same users and policies.
    pub fn check_v5(
        &self,
        peer: IpAddr,
        credentials: Option<&V5Credentials>,
        checks: &[Check],
    ) -> Result<(), Refusal> {
        let registry = self.registry.load();
        if registry.globally_white(peer) {
            return Ok(());
        }
        let access_key = credentials.map(|c| c.access_key.as_str());
        if self.settings.authentication {
            let name = access_key.ok_or_else(|| Refusal::new("username cannot be null."))?;
            let user = registry
                .user(name)
                .ok_or_else(|| Refusal::new(format!("User:{name} is not found.")))?;
            if user.user_status == UserStatus::Disabled {
                return Err(Refusal::new(format!("User:{name} is disabled.")));
            }
            let signed = credentials.is_some_and(|c| c.verify(&user.password));
            if !registry.account_white(name, peer) && !signed {
                tracing::info!(user = name, %peer, "[AUTHENTICATION] v5 signature check failed");
                return Err(Refusal::new("check signature failed."));
            }
        }
        if self.settings.authorization {
            authorize(&registry, peer, access_key, checks)?;
        }
        Ok(())
    }
}

fn authenticate(
    registry: &Registry,
    peer: IpAddr,
    request: &RemotingCommand,
    access_key: Option<&str>,
) -> Result<(), Refusal> {
    let name = access_key.ok_or_else(|| Refusal::new("username cannot be null."))?;
    let user = registry
        .user(name)
        .ok_or_else(|| Refusal::new(format!("User:{name} is not found.")))?;
    if user.user_status == UserStatus::Disabled {
        return Err(Refusal::new(format!("User:{name} is disabled.")));
    }
    if registry.account_white(name, peer) {
        return Ok(());
    }
    let signature = request
        .ext_fields
        .get(SIGNATURE)
        .ok_or_else(|| Refusal::new("check signature failed."))?;
    if signature::verify(
        &user.password,
        &request.ext_fields,
        &request.body,
        request.version,
        signature,
    ) {
        Ok(())
    } else {
        tracing::info!(user = name, %peer, "[AUTHENTICATION] signature check failed");
        Err(Refusal::new("check signature failed."))
    }
}

fn authorize(
    registry: &Registry,
    peer: IpAddr,
    access_key: Option<&str>,
    checks: &[Check],
) -> Result<(), Refusal> {
    if checks.is_empty() {
        return Ok(());
    }
    let Some(name) = access_key else {
        return Err(Refusal::new(
            "Authorization failed. Please verify your access rights and try again.",
        ));
    };
    let user = registry
        .user(name)
        .ok_or_else(|| Refusal::new(format!("User:{name} not found.")))?;
    if user.is_super() {
        return Ok(());
    }
    let acl = registry.acl(name);
    for check in checks {
        if check.kind == ResourceKind::Topic
            && check.name == TRACE_TOPIC
            && check.actions == Actions::PUB
        {
            continue;
        }
        let decision = acl.and_then(|a| a.decide(check.kind, &check.name, check.actions, peer));
        let detail = match decision {
            Some(Decision::Allow) => continue,
            Some(Decision::Deny) => "the decision is deny.",
            None => "no matched policies.",
        };
        tracing::info!(user = name, %peer, resource = %check.resource_key(), actions = %check.actions, "[AUTHORIZATION] denied");
        return Err(Refusal::new(format!(
            "User:{name} has no permission to access {} from {peer}, {detail}",
            check.resource_key()
        )));
    }
    Ok(())
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
