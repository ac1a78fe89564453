//! The admin API's ACL 1.0 calls (codes 50–54), one broker at a time, as mqadmin's
//! updateAclConfig, deleteAclConfig, updateGlobalWhiteAddr, clusterAclConfigVersion and
//! getAclConfig send them.

use apogee_protocol::body::auth::AclConfig;
use apogee_protocol::header::auth::{
    CreateAccessConfigRequestHeader, DeleteAccessConfigRequestHeader,
    GetBrokerAclConfigResponseHeader, UpdateGlobalWhiteAddrsConfigRequestHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode};

use crate::admin::Admin;
use crate::{ClientError, Result};

impl Admin {
    /// UPDATE_AND_CREATE_ACL_CONFIG (`updateAclConfig`): creates or updates one account.
    pub async fn update_acl_config(
        &self,
        broker_addr: &str,
        account: &CreateAccessConfigRequestHeader,
    ) -> Result<()> {
        let request = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_ACL_CONFIG, account);
        self.call(broker_addr, request).await.map(drop)
    }

    /// DELETE_ACL_CONFIG (`deleteAclConfig`).
    pub async fn delete_acl_config(&self, broker_addr: &str, access_key: &str) -> Result<()> {
        let header = DeleteAccessConfigRequestHeader {
            access_key: access_key.to_owned(),
        };
        let request = RemotingCommand::request(RequestCode::DELETE_ACL_CONFIG, &header);
        self.call(broker_addr, request).await.map(drop)
    }

    /// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (`updateGlobalWhiteAddr`): comma-separated patterns.
    pub async fn update_global_white_addrs(&self, broker_addr: &str, addrs: &str) -> Result<()> {
        let header = UpdateGlobalWhiteAddrsConfigRequestHeader {
            global_white_addrs: addrs.to_owned(),
            acl_file_full_path: None,
        };
        let request =
            RemotingCommand::request(RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG, &header);
        self.call(broker_addr, request).await.map(drop)
    }

    /// GET_BROKER_CLUSTER_ACL_INFO (`clusterAclConfigVersion`): the ACL file's version.
    pub async fn acl_config_version(
        &self,
        broker_addr: &str,
    ) -> Result<GetBrokerAclConfigResponseHeader> {
        let request = RemotingCommand::bare_request(RequestCode::GET_BROKER_CLUSTER_ACL_INFO);
        let response = self.call(broker_addr, request).await?;
        response
            .header()
            .map_err(|e| ClientError::bad_response(broker_addr, e))
    }

    /// GET_BROKER_CLUSTER_ACL_CONFIG (`getAclConfig`): every account and white address.
    pub async fn acl_config(&self, broker_addr: &str) -> Result<AclConfig> {
        let request = RemotingCommand::bare_request(RequestCode::GET_BROKER_CLUSTER_ACL_CONFIG);
        self.call_json(broker_addr, request, "AclConfig").await
    }
}
