//! Bodies of the user and ACL management requests (RocketMQ 5.3's `UserInfo`, `AclInfo`,
//! `PolicyInfo`, `PolicyEntryInfo`). Every field is optional text, as Java reads them: values
//! are interpreted (case-insensitively) by the access-control crate. Fields are declared in
//! alphabetical order so the JSON reads like fastjson's.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AclInfo {
    pub policies: Vec<PolicyInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PolicyInfo {
    pub entries: Vec<PolicyEntryInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PolicyEntryInfo {
    pub actions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_ips: Vec<String>,
}

/// GET_BROKER_CLUSTER_ACL_CONFIG (54) body: the ACL 1.0 file as accounts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AclConfig {
    pub global_white_addrs: Vec<String>,
    pub plain_access_configs: Vec<PlainAccessConfig>,
}

/// One ACL 1.0 account as RocketMQ's `PlainAccessConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PlainAccessConfig {
    pub access_key: String,
    pub secret_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub white_remote_address: Option<String>,
    pub admin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_topic_perm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_group_perm: Option<String>,
    pub topic_perms: Vec<String>,
    pub group_perms: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_java_json_should_read_nulls_and_write_fastjson_order() {
        let user: UserInfo = crate::body::from_json(
            "UserInfo",
            br#"{"username":"alice","password":null,"userType":"normal"}"#,
        )
        .unwrap();
        assert_eq!(user.username.as_deref(), Some("alice"));
        assert_eq!(user.password, None);
        assert_eq!(
            serde_json::to_string(&user).unwrap(),
            r#"{"userType":"normal","username":"alice"}"#
        );
        let acl: AclInfo = crate::body::from_json(
            "AclInfo",
            br#"{"subject":"User:a","policies":[{"entries":[{"resource":"Topic:t","actions":["Pub"],"decision":"allow"}]}]}"#,
        )
        .unwrap();
        assert_eq!(acl.policies[0].policy_type, None);
        assert_eq!(acl.policies[0].entries[0].actions, ["Pub"]);
    }
}
