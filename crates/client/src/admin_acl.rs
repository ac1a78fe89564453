//! The admin API's user and ACL calls (ACL 2.0 codes 3001–3010), one broker at a time, as
//! mqadmin's createUser … listAcl send them.

use apogee_protocol::body::auth::{AclInfo, UserInfo};
use apogee_protocol::body::from_json;
use apogee_protocol::header::auth::{
    AclRequestHeader, DeleteAclRequestHeader, ListAclsRequestHeader, ListUsersRequestHeader,
    UserRequestHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode};
use serde::de::DeserializeOwned;

use crate::admin::Admin;
use crate::{ClientError, Result};

fn json_body(value: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| ClientError::Config(e.to_string()))
}

impl Admin {
    async fn optional_json<T: DeserializeOwned>(
        &self,
        addr: &str,
        request: RemotingCommand,
        what: &str,
    ) -> Result<Option<T>> {
        let response = self.call(addr, request).await?;
        if response.body.is_empty() {
            return Ok(None);
        }
        from_json(what, &response.body)
            .map(Some)
            .map_err(|e| ClientError::bad_response(addr, e))
    }

    async fn user_call(&self, addr: &str, code: RequestCode, user: &UserInfo) -> Result<()> {
        let header = UserRequestHeader {
            username: user.username.clone().unwrap_or_default(),
        };
        let request = RemotingCommand::request(code, &header).with_body(json_body(user)?);
        self.call(addr, request).await.map(drop)
    }

    /// AUTH_CREATE_USER (`createUser`).
    pub async fn create_user(&self, broker_addr: &str, user: &UserInfo) -> Result<()> {
        self.user_call(broker_addr, RequestCode::AUTH_CREATE_USER, user)
            .await
    }

    /// AUTH_UPDATE_USER (`updateUser`): only the fields given change.
    pub async fn update_user(&self, broker_addr: &str, user: &UserInfo) -> Result<()> {
        self.user_call(broker_addr, RequestCode::AUTH_UPDATE_USER, user)
            .await
    }

    /// AUTH_DELETE_USER (`deleteUser`).
    pub async fn delete_user(&self, broker_addr: &str, username: &str) -> Result<()> {
        let header = UserRequestHeader {
            username: username.to_owned(),
        };
        let request = RemotingCommand::request(RequestCode::AUTH_DELETE_USER, &header);
        self.call(broker_addr, request).await.map(drop)
    }

    /// AUTH_GET_USER (`getUser`); `None` for an unknown user.
    pub async fn user(&self, broker_addr: &str, username: &str) -> Result<Option<UserInfo>> {
        let header = UserRequestHeader {
            username: username.to_owned(),
        };
        let request = RemotingCommand::request(RequestCode::AUTH_GET_USER, &header);
        self.optional_json(broker_addr, request, "UserInfo").await
    }

    /// AUTH_LIST_USER (`listUser`): users whose name contains `filter`.
    pub async fn users(&self, broker_addr: &str, filter: Option<&str>) -> Result<Vec<UserInfo>> {
        let header = ListUsersRequestHeader {
            filter: filter.map(str::to_owned),
        };
        let request = RemotingCommand::request(RequestCode::AUTH_LIST_USER, &header);
        Ok(self
            .optional_json(broker_addr, request, "UserInfo list")
            .await?
            .unwrap_or_default())
    }

    /// AUTH_CREATE_ACL or AUTH_UPDATE_ACL (`createAcl`, `updateAcl`): merges `acl`'s entries
    /// into the subject's policies.
    pub async fn upsert_acl(&self, broker_addr: &str, acl: &AclInfo, create: bool) -> Result<()> {
        let code = if create {
            RequestCode::AUTH_CREATE_ACL
        } else {
            RequestCode::AUTH_UPDATE_ACL
        };
        let header = AclRequestHeader {
            subject: acl.subject.clone().unwrap_or_default(),
        };
        let request = RemotingCommand::request(code, &header).with_body(json_body(acl)?);
        self.call(broker_addr, request).await.map(drop)
    }

    /// AUTH_DELETE_ACL (`deleteAcl`): the whole ACL, or one resource's Custom entry.
    pub async fn delete_acl(
        &self,
        broker_addr: &str,
        subject: &str,
        resource: Option<&str>,
    ) -> Result<()> {
        let header = DeleteAclRequestHeader {
            subject: subject.to_owned(),
            policy_type: None,
            resource: resource.map(str::to_owned),
        };
        let request = RemotingCommand::request(RequestCode::AUTH_DELETE_ACL, &header);
        self.call(broker_addr, request).await.map(drop)
    }

    /// AUTH_GET_ACL (`getAcl`); `None` when the subject has none.
    pub async fn acl(&self, broker_addr: &str, subject: &str) -> Result<Option<AclInfo>> {
        let header = AclRequestHeader {
            subject: subject.to_owned(),
        };
        let request = RemotingCommand::request(RequestCode::AUTH_GET_ACL, &header);
        self.optional_json(broker_addr, request, "AclInfo").await
    }

    /// AUTH_LIST_ACL (`listAcl`): filtered by subject and by resource substrings.
    pub async fn acls(
        &self,
        broker_addr: &str,
        subject_filter: Option<&str>,
        resource_filter: Option<&str>,
    ) -> Result<Vec<AclInfo>> {
        let header = ListAclsRequestHeader {
            subject_filter: subject_filter.map(str::to_owned),
            resource_filter: resource_filter.map(str::to_owned),
        };
        let request = RemotingCommand::request(RequestCode::AUTH_LIST_ACL, &header);
        Ok(self
            .optional_json(broker_addr, request, "AclInfo list")
            .await?
            .unwrap_or_default())
    }
}
