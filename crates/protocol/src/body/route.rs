//! Route bodies (REMOTING.md §3.7): `TopicRouteData`, `QueueData`, `BrokerData`, `ClusterInfo`,
//! `BrokerMemberGroup`. Field order is fastjson's alphabetical order; `brokerAddrs` is the
//! map with numeric keys that legacy output writes bare.

use std::collections::{BTreeMap, BTreeSet};

use apogee_model::{BrokerName, ClusterName};
use serde::{Deserialize, Serialize};

use crate::fastjson::{self, JsonStyle};

/// The maps whose keys fastjson writes bare in these bodies.
pub const NUMERIC_KEY_MAPS: &[&str] = &["brokerAddrs"];

/// One broker's queues for a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueData {
    pub broker_name: BrokerName,
    pub perm: i32,
    pub read_queue_nums: i32,
    #[serde(default)]
    pub topic_sys_flag: i32,
    pub write_queue_nums: i32,
}

/// A broker group (master + slaves) of one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerData {
    /// broker id → `ip:port`; id 0 is the master.
    #[serde(default)]
    pub broker_addrs: BTreeMap<i64, String>,
    pub broker_name: BrokerName,
    pub cluster: ClusterName,
    #[serde(default)]
    pub enable_acting_master: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
}

/// A topic's route: which brokers serve it with how many queues.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicRouteData {
    #[serde(default)]
    pub broker_datas: Vec<BrokerData>,
    #[serde(default)]
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    #[serde(default)]
    pub queue_datas: Vec<QueueData>,
}

impl TopicRouteData {
    pub fn to_json(&self, style: JsonStyle) -> Vec<u8> {
        fastjson::to_json(self, style, NUMERIC_KEY_MAPS)
    }
}

/// GET_BROKER_CLUSTER_INFO body; Java always writes it in legacy style.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    #[serde(default)]
    pub broker_addr_table: BTreeMap<BrokerName, BrokerData>,
    #[serde(default)]
    pub cluster_addr_table: BTreeMap<ClusterName, BTreeSet<BrokerName>>,
}

impl ClusterInfo {
    pub fn to_json(&self) -> Vec<u8> {
        fastjson::to_json(self, JsonStyle::Legacy, NUMERIC_KEY_MAPS)
    }
}

/// GET_BROKER_MEMBER_GROUP body: `{"brokerMemberGroup":{"brokerAddrs":{…},"brokerName":…,"cluster":…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetBrokerMemberGroupResponseBody {
    pub broker_member_group: BrokerMemberGroup,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerMemberGroup {
    #[serde(default)]
    pub broker_addrs: BTreeMap<i64, String>,
    pub broker_name: String,
    pub cluster: String,
}

impl GetBrokerMemberGroupResponseBody {
    pub fn to_json(&self) -> Vec<u8> {
        fastjson::to_json(self, JsonStyle::Legacy, NUMERIC_KEY_MAPS)
    }
}
