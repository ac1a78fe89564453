//! Who exists and what they may do: one immutable snapshot built from every source (users and
//! ACLs managed over the API, `plain_acl.yml`, the configured initial and inner users). The
//! guard swaps in a new snapshot when a source changes.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::Credentials;
use crate::plain_acl::PlainAcl;
use crate::policy::Acl;
use crate::source_ip::IpRule;
use crate::user::{User, UserType};

/// Users and ACLs managed over the API (codes 3001–3010); persisted by the server as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Managed {
    pub users: Vec<User>,
    pub acls: Vec<Acl>,
}

/// Where a user is defined; only managed users can be changed over the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Managed,
    PlainAclFile,
    Configured,
}

/// A snapshot of users, ACLs and white addresses.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    users: HashMap<String, User>,
    sources: HashMap<String, Source>,
    /// Keyed by user name (the subject without `User:`).
    acls: HashMap<String, Acl>,
    global_white: Vec<IpRule>,
    account_white: HashMap<String, Vec<IpRule>>,
}

impl Registry {
    /// Builds a snapshot. Precedence: `plain_acl.yml` accounts over managed users of the same
    /// name (the file is reloaded whenever it changes); configured super users (`initial`,
    /// `inner`) are added only when no source defines that name, as RocketMQ creates them.
    pub fn build(managed: &Managed, plain: Option<&PlainAcl>, configured: &[Credentials]) -> Self {
        let mut registry = Self::default();
        for user in &managed.users {
            registry.users.insert(user.username.clone(), user.clone());
            registry
                .sources
                .insert(user.username.clone(), Source::Managed);
        }
        for acl in &managed.acls {
            if let Some(name) = acl.subject.strip_prefix("User:") {
                registry.acls.insert(name.to_owned(), acl.clone());
            }
        }
        if let Some(plain) = plain {
            registry.global_white.clone_from(&plain.global_white);
            for account in &plain.accounts {
                let name = account.user.username.clone();
                registry.users.insert(name.clone(), account.user.clone());
                registry.sources.insert(name.clone(), Source::PlainAclFile);
                registry.acls.insert(name.clone(), account.acl.clone());
                if !account.white.is_empty() {
                    registry.account_white.insert(name, account.white.clone());
                }
            }
        }
        for c in configured {
            if !registry.users.contains_key(&c.access_key) {
                let user = User::new(&c.access_key, &c.secret_key, UserType::Super);
                registry.users.insert(c.access_key.clone(), user);
                registry
                    .sources
                    .insert(c.access_key.clone(), Source::Configured);
            }
        }
        registry
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }

    pub fn acl(&self, name: &str) -> Option<&Acl> {
        self.acls.get(name)
    }

    /// Where `name` is defined, if anywhere.
    pub fn source(&self, name: &str) -> Option<Source> {
        self.sources.get(name).copied()
    }

    /// Every user, by name.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        let mut users: Vec<&User> = self.users.values().collect();
        users.sort_by(|a, b| a.username.cmp(&b.username));
        users.into_iter()
    }

    /// Every ACL, by subject.
    pub fn acls(&self) -> impl Iterator<Item = &Acl> {
        let mut acls: Vec<&Acl> = self.acls.values().collect();
        acls.sort_by(|a, b| a.subject.cmp(&b.subject));
        acls.into_iter()
    }

    /// Requests from `ip` pass without any check (ACL 1.0 `globalWhiteRemoteAddresses`).
    pub fn globally_white(&self, ip: IpAddr) -> bool {
        self.global_white.iter().any(|r| r.matches(ip))
    }

    /// Requests signed by `user` from `ip` need no signature (ACL 1.0 `whiteRemoteAddress`).
    pub fn account_white(&self, user: &str, ip: IpAddr) -> bool {
        self.account_white
            .get(user)
            .is_some_and(|rules| rules.iter().any(|r| r.matches(ip)))
    }

    pub fn user_count(&self) -> usize {
        self.users.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plain_acl;

    #[test]
    fn given_sources_should_let_the_file_win_and_configured_users_fill_gaps() {
        let managed = Managed {
            users: vec![User::new("RocketMQ", "old-password", UserType::Normal)],
            acls: vec![],
        };
        let plain =
            plain_acl::parse("accounts:\n  - accessKey: RocketMQ\n    secretKey: new-password\n")
                .unwrap();
        let configured = [
            Credentials::new("inner", "inner-secret"),
            Credentials::new("RocketMQ", "ignored"),
        ];
        let r = Registry::build(&managed, Some(&plain), &configured);
        assert_eq!(r.user("RocketMQ").unwrap().password, "new-password");
        assert!(r.user("inner").unwrap().is_super());
        assert_eq!(r.user_count(), 2);
        assert!(r.acl("RocketMQ").is_some());
    }
}
