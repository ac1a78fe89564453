//! Headers of the user and ACL management requests: ACL 2.0's AUTH_* codes (3001–3010) and
//! ACL 1.0's (50–53). Facts: docs/acl-facts.md §4, §5.

use crate::CommandHeader;

/// AUTH_CREATE_USER, AUTH_UPDATE_USER, AUTH_DELETE_USER, AUTH_GET_USER (3001–3004).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct UserRequestHeader {
    pub username: String,
}

/// AUTH_LIST_USER (3005): users whose name contains `filter`.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct ListUsersRequestHeader {
    pub filter: Option<String>,
}

/// AUTH_CREATE_ACL, AUTH_UPDATE_ACL, AUTH_GET_ACL (3006, 3007, 3009): `User:<name>`.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct AclRequestHeader {
    pub subject: String,
}

/// AUTH_DELETE_ACL (3008): the whole ACL, or one resource's entry of one policy type.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct DeleteAclRequestHeader {
    pub subject: String,
    pub policy_type: Option<String>,
    pub resource: Option<String>,
}

/// AUTH_LIST_ACL (3010): substring filters on the subject and on entry resources.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct ListAclsRequestHeader {
    pub subject_filter: Option<String>,
    pub resource_filter: Option<String>,
}

/// UPDATE_AND_CREATE_ACL_CONFIG (50): one ACL 1.0 account; perms lists are comma-joined
/// `name=PERM` items.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct CreateAccessConfigRequestHeader {
    pub access_key: String,
    pub secret_key: Option<String>,
    pub white_remote_address: Option<String>,
    pub admin: Option<bool>,
    pub default_topic_perm: Option<String>,
    pub default_group_perm: Option<String>,
    pub topic_perms: Option<String>,
    pub group_perms: Option<String>,
}

/// DELETE_ACL_CONFIG (51).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct DeleteAccessConfigRequestHeader {
    pub access_key: String,
}

/// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53): comma-separated address patterns.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct UpdateGlobalWhiteAddrsConfigRequestHeader {
    pub global_white_addrs: String,
    pub acl_file_full_path: Option<String>,
}

/// GET_BROKER_CLUSTER_ACL_INFO (52) response: the ACL file's data version (JSON).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetBrokerAclConfigResponseHeader {
    pub version: String,
    pub broker_name: String,
    pub broker_addr: String,
    pub cluster_name: String,
}
