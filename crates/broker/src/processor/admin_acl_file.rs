//! ACL 1.0 management (codes 50–54, docs/acl-facts.md §5): accounts and global white addresses
//! in `plain_acl.yml`, written atomically with a bumped `dataVersion` and applied at once.
//! RocketMQ 5.3.3 dropped these codes; mqadmin 4.x and 5.0–5.3.2 still send them.

use std::path::Path;
use std::sync::Arc;

use apogee_auth::manage;
use apogee_auth::{AccessControl, IpRule, PlainAclDoc};
use apogee_protocol::body::auth::{AclConfig, PlainAccessConfig};
use apogee_protocol::header::auth::{
    CreateAccessConfigRequestHeader, DeleteAccessConfigRequestHeader,
    GetBrokerAclConfigResponseHeader, UpdateGlobalWhiteAddrsConfigRequestHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::Connection;
use apogee_runtime::Clock;

use super::{Handler, Identity, blocking, success};
use crate::{BrokerError, persist};

/// RocketMQ's failure codes of 50, 51 and 53 (they share numbers with other codes).
const UPDATE_ACL_CONFIG_FAILED: ResponseCode = ResponseCode(209);
const DELETE_ACL_CONFIG_FAILED: ResponseCode = ResponseCode(210);
const UPDATE_WHITE_ADDRS_FAILED: ResponseCode = ResponseCode(211);

pub struct AclFileProcessor {
    pub access: Arc<AccessControl>,
    pub identity: Identity,
    pub clock: Arc<dyn Clock>,
}

fn failed(code: ResponseCode) -> impl Fn(String) -> BrokerError {
    move |remark| BrokerError::Refused { code, remark }
}

/// Checks a comma-joined `name=PERM` list the way RocketMQ 1.0 does.
fn perms(text: Option<&str>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for item in text
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        let Some((_, perm)) = item.split_once('=') else {
            return Err(format!(
                "Parse Resource format error for {item}.\nThe expected resource format is 'Res=Perm'. For example: topicA=SUB"
            ));
        };
        if !["PUB", "SUB", "PUB|SUB", "SUB|PUB", "DENY", "ANY"].contains(&perm.trim()) {
            return Err(format!(
                "Parse resource permission error for {item}.\nThe expected permissions are 'SUB' or 'PUB' or 'SUB|PUB' or 'PUB|SUB'."
            ));
        }
        out.push(item.to_owned());
    }
    if out.len() > manage::ACL_ENTRIES_MAX {
        return Err(format!(
            "at most {} perms per list",
            manage::ACL_ENTRIES_MAX
        ));
    }
    Ok(out)
}

/// The account an UPDATE_AND_CREATE_ACL_CONFIG describes, over `existing` when there is one.
fn account(
    h: &CreateAccessConfigRequestHeader,
    existing: Option<&PlainAccessConfig>,
) -> Result<PlainAccessConfig, String> {
    let secret = h.secret_key.clone().unwrap_or_default();
    if h.access_key.len() <= 6 || secret.len() <= 6 {
        return Err(format!(
            "The accessKey={} and secretKey={secret} cannot be null and length should longer than 6",
            h.access_key
        ));
    }
    if let Some(w) = &h.white_remote_address {
        IpRule::parse_white_address(w)?;
    }
    let mut account = existing.cloned().unwrap_or_default();
    account.access_key.clone_from(&h.access_key);
    account.secret_key = secret;
    let or_keep = |given: &Option<String>, kept: &mut Option<String>| {
        if given.is_some() {
            kept.clone_from(given);
        }
    };
    or_keep(&h.white_remote_address, &mut account.white_remote_address);
    or_keep(&h.default_topic_perm, &mut account.default_topic_perm);
    or_keep(&h.default_group_perm, &mut account.default_group_perm);
    if let Some(admin) = h.admin {
        account.admin = admin;
    }
    if h.topic_perms.is_some() {
        account.topic_perms = perms(h.topic_perms.as_deref())?;
    }
    if h.group_perms.is_some() {
        account.group_perms = perms(h.group_perms.as_deref())?;
    }
    Ok(account)
}

/// Replaces the global white addresses with the comma-separated `text`, each checked.
fn set_white_addrs(doc: &mut PlainAclDoc, text: &str) -> Result<(), String> {
    let addrs: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    for a in &addrs {
        IpRule::parse_white_address(a).map_err(|e| {
            format!("The globalWhiteAddresses[{text}] has been updated failed. {e}")
        })?;
    }
    doc.global_white_remote_addresses = addrs;
    Ok(())
}

impl AclFileProcessor {
    async fn update(
        &self,
        code: ResponseCode,
        change: impl FnOnce(&mut PlainAclDoc) -> Result<(), String> + Send + 'static,
    ) -> Result<(), BrokerError> {
        let (access, now) = (Arc::clone(&self.access), self.clock.now_ms());
        blocking(move || {
            access.update_plain_file(
                now,
                |doc| change(doc).map_err(failed(code)),
                |path: &Path, bytes: &[u8]| persist::write_atomically(path, bytes),
                failed(code),
            )
        })
        .await?
        .map(drop)
    }

    async fn doc(&self) -> Result<PlainAclDoc, BrokerError> {
        let access = Arc::clone(&self.access);
        blocking(move || access.plain_doc())
            .await?
            .map_err(BrokerError::SystemError)
    }
}

impl Handler for AclFileProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::UPDATE_AND_CREATE_ACL_CONFIG,
        RequestCode::DELETE_ACL_CONFIG,
        RequestCode::GET_BROKER_CLUSTER_ACL_INFO,
        RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
        RequestCode::GET_BROKER_CLUSTER_ACL_CONFIG,
    ];

    async fn handle(
        &self,
        _connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        match request.request_code() {
            RequestCode::UPDATE_AND_CREATE_ACL_CONFIG => {
                let h: CreateAccessConfigRequestHeader = request.header()?;
                self.update(UPDATE_ACL_CONFIG_FAILED, move |doc| {
                    let i = doc
                        .accounts
                        .iter()
                        .position(|a| a.access_key == h.access_key);
                    let updated = account(&h, i.map(|i| &doc.accounts[i]))?;
                    match i {
                        Some(i) => doc.accounts[i] = updated,
                        None if doc.accounts.len() >= manage::USERS_MAX => {
                            return Err(format!("at most {} accounts", manage::USERS_MAX));
                        }
                        None => doc.accounts.push(updated),
                    }
                    Ok(())
                })
                .await?;
            }
            RequestCode::DELETE_ACL_CONFIG => {
                let h: DeleteAccessConfigRequestHeader = request.header()?;
                self.update(DELETE_ACL_CONFIG_FAILED, move |doc| {
                    let before = doc.accounts.len();
                    doc.accounts.retain(|a| a.access_key != h.access_key);
                    if doc.accounts.len() == before {
                        return Err(format!(
                            "The accessKey[{}] corresponding to accessConfig has been deleted failed.",
                            h.access_key
                        ));
                    }
                    Ok(())
                })
                .await?;
            }
            RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG => {
                let h: UpdateGlobalWhiteAddrsConfigRequestHeader = request.header()?;
                self.update(UPDATE_WHITE_ADDRS_FAILED, move |doc| {
                    set_white_addrs(doc, &h.global_white_addrs)
                })
                .await?;
            }
            RequestCode::GET_BROKER_CLUSTER_ACL_INFO => {
                let doc = self.doc().await?;
                let header = GetBrokerAclConfigResponseHeader {
                    version: serde_json::to_string(&doc.data_version).unwrap_or_default(),
                    broker_name: self.identity.broker_name.clone(),
                    broker_addr: self.identity.store_host.to_string(),
                    cluster_name: self.identity.cluster.clone(),
                };
                return Ok(success(request).with_header(&header));
            }
            _ => {
                let doc = self.doc().await?;
                let body = AclConfig {
                    global_white_addrs: doc.global_white_remote_addresses,
                    plain_access_configs: doc.accounts,
                };
                let json = serde_json::to_vec(&body).unwrap_or_default();
                return Ok(success(request).with_body(json));
            }
        }
        Ok(success(request))
    }
}
