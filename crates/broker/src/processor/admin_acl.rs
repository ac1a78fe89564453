//! User and ACL management (ACL 2.0 codes 3001–3010, docs/acl-facts.md §4): changes go to the
//! managed set, which is written to `config/acl.json` before it takes effect. Who may call
//! these is decided by the guard (Update or Get on the cluster, or a super user); this family
//! adds RocketMQ's super-user rules.

use std::path::PathBuf;
use std::sync::Arc;

use apogee_auth::manage::{self, Caller, ManageError, UserRequest};
use apogee_auth::signature::ACCESS_KEY;
use apogee_auth::{AccessControl, Managed, Registry};
use apogee_protocol::RemotingCommand;
use apogee_protocol::RequestCode;
use apogee_protocol::body::auth::{AclInfo, UserInfo};
use apogee_protocol::body::from_json;
use apogee_protocol::header::auth::{
    AclRequestHeader, DeleteAclRequestHeader, ListAclsRequestHeader, ListUsersRequestHeader,
    UserRequestHeader,
};
use apogee_remoting::Connection;

use super::{Handler, blocking, success};
use crate::{BrokerError, persist};

pub struct AclAdminProcessor {
    pub access: Arc<AccessControl>,
    /// `config/acl.json`.
    pub managed_path: PathBuf,
}

fn refused(e: ManageError) -> BrokerError {
    BrokerError::Refused {
        code: e.code,
        remark: e.remark,
    }
}

/// The request body as `T`; an empty body is `T::default()`.
fn body_or_default<T: serde::de::DeserializeOwned + Default>(
    what: &str,
    request: &RemotingCommand,
) -> Result<T, BrokerError> {
    if request.body.is_empty() {
        return Ok(T::default());
    }
    Ok(from_json(what, &request.body)?)
}

/// SUCCESS with `value` as its JSON body, or with no body when there is nothing (as Java).
fn with_json<T: serde::Serialize>(request: &RemotingCommand, value: Option<&T>) -> RemotingCommand {
    let response = success(request);
    match value {
        Some(v) => response.with_body(serde_json::to_vec(v).unwrap_or_default()),
        None => response,
    }
}

impl AclAdminProcessor {
    /// Applies `change` to the managed set with the current registry, writes it, then applies it.
    async fn change(
        &self,
        change: impl FnOnce(&mut Managed, &Registry) -> Result<(), ManageError> + Send + 'static,
    ) -> Result<(), BrokerError> {
        let access = Arc::clone(&self.access);
        let path = self.managed_path.clone();
        blocking(move || {
            let registry = access.guard().registry();
            access.update_managed(
                |m| change(m, &registry).map_err(refused),
                |m| persist::write_json(&path, m, &[]),
            )
        })
        .await?
    }

    fn list_users(&self, request: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
        let h: ListUsersRequestHeader = request.header()?;
        let registry = self.access.guard().registry();
        let users = manage::list_users(&registry, h.filter.as_deref());
        Ok(with_json(request, Some(&users).filter(|u| !u.is_empty())))
    }

    fn list_acls(&self, request: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
        let h: ListAclsRequestHeader = request.header()?;
        let registry = self.access.guard().registry();
        let acls = manage::list_acls(
            &registry,
            h.subject_filter.as_deref(),
            h.resource_filter.as_deref(),
        );
        Ok(with_json(request, Some(&acls).filter(|a| !a.is_empty())))
    }
}

impl Handler for AclAdminProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::AUTH_CREATE_USER,
        RequestCode::AUTH_UPDATE_USER,
        RequestCode::AUTH_DELETE_USER,
        RequestCode::AUTH_GET_USER,
        RequestCode::AUTH_LIST_USER,
        RequestCode::AUTH_CREATE_ACL,
        RequestCode::AUTH_UPDATE_ACL,
        RequestCode::AUTH_DELETE_ACL,
        RequestCode::AUTH_GET_ACL,
        RequestCode::AUTH_LIST_ACL,
    ];

    async fn handle(
        &self,
        _connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let registry = self.access.guard().registry();
        let caller_user = request
            .ext_fields
            .get(ACCESS_KEY)
            .and_then(|name| registry.user(name))
            .cloned();
        match request.request_code() {
            code @ (RequestCode::AUTH_CREATE_USER | RequestCode::AUTH_UPDATE_USER) => {
                let h: UserRequestHeader = request.header()?;
                let info: UserInfo = body_or_default("UserInfo", request)?;
                let create = code == RequestCode::AUTH_CREATE_USER;
                self.change(move |m, r| {
                    let request = UserRequest {
                        caller: Caller(caller_user.as_ref()),
                        header_name: &h.username,
                        info: &info,
                    };
                    if create {
                        manage::create_user(m, r, request)
                    } else {
                        manage::update_user(m, r, request)
                    }
                })
                .await?;
                Ok(success(request))
            }
            RequestCode::AUTH_DELETE_USER => {
                let h: UserRequestHeader = request.header()?;
                self.change(move |m, r| {
                    manage::delete_user(m, r, Caller(caller_user.as_ref()), &h.username)
                })
                .await?;
                Ok(success(request))
            }
            RequestCode::AUTH_GET_USER => {
                let h: UserRequestHeader = request.header()?;
                if h.username.trim().is_empty() {
                    return Err(BrokerError::InvalidParameter(
                        "The username is blank".into(),
                    ));
                }
                let info = registry.user(&h.username).map(manage::user_info);
                Ok(with_json(request, info.as_ref()))
            }
            RequestCode::AUTH_LIST_USER => self.list_users(request),
            RequestCode::AUTH_CREATE_ACL | RequestCode::AUTH_UPDATE_ACL => {
                let h: AclRequestHeader = request.header()?;
                let info: AclInfo = body_or_default("AclInfo", request)?;
                self.change(move |m, r| manage::upsert_acl(m, r, &h.subject, &info))
                    .await?;
                Ok(success(request))
            }
            RequestCode::AUTH_DELETE_ACL => {
                let h: DeleteAclRequestHeader = request.header()?;
                self.change(move |m, r| {
                    manage::delete_acl(
                        m,
                        r,
                        &h.subject,
                        h.policy_type.as_deref(),
                        h.resource.as_deref(),
                    )
                })
                .await?;
                Ok(success(request))
            }
            RequestCode::AUTH_GET_ACL => {
                let h: AclRequestHeader = request.header()?;
                let name = h.subject.strip_prefix("User:").unwrap_or(&h.subject);
                let info = registry.acl(name).map(manage::acl_info);
                Ok(with_json(request, info.as_ref()))
            }
            _ => self.list_acls(request),
        }
    }
}
