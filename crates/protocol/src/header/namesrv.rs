//! Headers of the NameServer requests (REMOTING.md §2.1, §3.7; field lists verified against
//! `remoting/.../protocol/header/namesrv/*.java`, see docs/protocol-notes.md).

use apogee_model::{BrokerName, ClusterName, TopicName};

use crate::CommandHeader;

/// REGISTER_BROKER (103).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct RegisterBrokerRequestHeader {
    pub broker_name: BrokerName,
    pub broker_addr: String,
    pub cluster_name: ClusterName,
    pub ha_server_addr: String,
    pub broker_id: i64,
    pub heartbeat_timeout_millis: Option<i64>,
    pub enable_acting_master: Option<bool>,
    /// The body is the zlib form. Java writes the primitive, so it is always present from Java.
    pub compressed: Option<bool>,
    /// `crc32(body) & 0x7FFFFFFF`; 0 or absent means "not checked".
    pub body_crc32: Option<i32>,
}

/// REGISTER_BROKER response: the master's addresses, for a slave.
#[derive(Debug, Clone, PartialEq, Eq, Default, CommandHeader)]
pub struct RegisterBrokerResponseHeader {
    pub ha_server_addr: Option<String>,
    pub master_addr: Option<String>,
}

/// UNREGISTER_BROKER (104).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct UnRegisterBrokerRequestHeader {
    pub broker_name: BrokerName,
    pub broker_addr: String,
    pub cluster_name: ClusterName,
    pub broker_id: i64,
}

/// GET_ROUTEINFO_BY_TOPIC (105).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetRouteInfoRequestHeader {
    pub topic: String,
    pub accept_standard_json_only: Option<bool>,
}

/// PUT_KV_CONFIG (100).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct PutKvConfigRequestHeader {
    pub namespace: String,
    pub key: String,
    pub value: String,
}

/// GET_KV_CONFIG (101) and DELETE_KV_CONFIG (102).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct KvConfigKeyHeader {
    pub namespace: String,
    pub key: String,
}

/// GET_KV_CONFIG response.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetKvConfigResponseHeader {
    pub value: Option<String>,
}

/// GET_KVLIST_BY_NAMESPACE (219).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetKvListByNamespaceRequestHeader {
    pub namespace: String,
}

/// WIPE_WRITE_PERM_OF_BROKER (205) and ADD_WRITE_PERM_OF_BROKER (327).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct WritePermOfBrokerRequestHeader {
    pub broker_name: BrokerName,
}

/// WIPE_WRITE_PERM_OF_BROKER response.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct WipeWritePermOfBrokerResponseHeader {
    pub wipe_topic_count: i32,
}

/// ADD_WRITE_PERM_OF_BROKER response.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct AddWritePermOfBrokerResponseHeader {
    pub add_topic_count: i32,
}

/// QUERY_DATA_VERSION (322); body is the broker's DataVersion JSON.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct QueryDataVersionRequestHeader {
    pub broker_name: BrokerName,
    pub broker_addr: String,
    pub cluster_name: ClusterName,
    pub broker_id: i64,
}

/// QUERY_DATA_VERSION response.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct QueryDataVersionResponseHeader {
    pub changed: bool,
}

/// DELETE_TOPIC_IN_NAMESRV (216).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct DeleteTopicFromNamesrvRequestHeader {
    pub topic: TopicName,
    pub cluster_name: Option<String>,
}

/// REGISTER_TOPIC_IN_NAMESRV (217); body is TopicRouteData JSON.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct RegisterTopicRequestHeader {
    pub topic: TopicName,
}

/// GET_TOPICS_BY_CLUSTER (224).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetTopicsByClusterRequestHeader {
    pub cluster: String,
}

/// BROKER_HEARTBEAT (904).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct BrokerHeartbeatRequestHeader {
    pub cluster_name: ClusterName,
    pub broker_addr: String,
    pub broker_name: BrokerName,
    pub broker_id: Option<i64>,
    pub epoch: Option<i32>,
    pub max_offset: Option<i64>,
    pub confirm_offset: Option<i64>,
    pub heartbeat_timeout_mills: Option<i64>,
    pub election_priority: Option<i32>,
}

/// GET_BROKER_MEMBER_GROUP (901).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetBrokerMemberGroupRequestHeader {
    pub cluster_name: String,
    pub broker_name: String,
}

#[cfg(test)]
#[path = "namesrv_tests.rs"]
mod tests;
