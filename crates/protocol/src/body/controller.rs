//! Controller bodies (docs/controller-facts.md §2.3): `SyncStateSet`, `ElectMasterResponseBody`,
//! `BrokerReplicasInfo` and the broker's `EpochEntryCache`. Fields in fastjson's alphabetical
//! order; `brokerAddrs` (inside the member group) has bare numeric keys.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::body::route::{BrokerMemberGroup, NUMERIC_KEY_MAPS};
use crate::fastjson::{self, JsonStyle};

/// The replicas caught up with the master, and the epoch of this set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncStateSet {
    pub sync_state_set: BTreeSet<i64>,
    pub sync_state_set_epoch: i32,
}

impl SyncStateSet {
    pub fn to_json(&self) -> Vec<u8> {
        fastjson::to_json(self, JsonStyle::Legacy, &[])
    }
}

/// CONTROLLER_ELECT_MASTER body: the member group when a new master was elected.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ElectMasterResponseBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_member_group: Option<BrokerMemberGroup>,
    pub sync_state_set: BTreeSet<i64>,
}

impl ElectMasterResponseBody {
    pub fn to_json(&self) -> Vec<u8> {
        fastjson::to_json(self, JsonStyle::Legacy, NUMERIC_KEY_MAPS)
    }
}

/// One replica as CONTROLLER_GET_SYNC_STATE_DATA shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicaIdentity {
    pub alive: bool,
    pub broker_address: String,
    pub broker_id: i64,
    pub broker_name: String,
}

/// One broker set: master, epochs, who is in and out of the SyncStateSet.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicasInfo {
    pub in_sync_replicas: Vec<ReplicaIdentity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_broker_id: Option<i64>,
    pub master_epoch: i32,
    pub not_in_sync_replicas: Vec<ReplicaIdentity>,
    pub sync_state_set_epoch: i32,
}

/// CONTROLLER_GET_SYNC_STATE_DATA body: broker name → its replicas.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerReplicasInfo {
    pub replicas_info_table: BTreeMap<String, ReplicasInfo>,
}

impl BrokerReplicasInfo {
    pub fn to_json(&self) -> Vec<u8> {
        fastjson::to_json(self, JsonStyle::Legacy, &[])
    }
}

/// One entry of a broker's epoch file: from `start_offset`, the log was written under `epoch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EpochEntry {
    pub end_offset: i64,
    pub epoch: i32,
    pub start_offset: i64,
}

/// GET_BROKER_EPOCH_CACHE (1007) body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EpochEntryCache {
    pub broker_id: i64,
    pub broker_name: String,
    pub cluster_name: String,
    pub epoch_list: Vec<EpochEntry>,
    pub max_offset: i64,
}

impl EpochEntryCache {
    pub fn to_json(&self) -> Vec<u8> {
        fastjson::to_json(self, JsonStyle::Legacy, &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_java_sync_state_set_should_round_trip() {
        let json = br#"{"syncStateSet":[1,2],"syncStateSetEpoch":3}"#;
        let set: SyncStateSet = crate::body::from_json("sss", json).expect("parses");
        assert_eq!(set.sync_state_set, BTreeSet::from([1, 2]));
        assert_eq!(set.to_json(), json.to_vec());
    }

    #[test]
    fn given_elected_group_should_write_bare_numeric_keys() {
        let body = ElectMasterResponseBody {
            broker_member_group: Some(BrokerMemberGroup {
                broker_addrs: BTreeMap::from([(1, "10.0.0.1:10911".into())]),
                broker_name: "broker-a".into(),
                cluster: "c".into(),
            }),
            sync_state_set: BTreeSet::from([1]),
        };
        let text = String::from_utf8(body.to_json()).expect("utf8");
        assert!(text.contains(r#"{1:"10.0.0.1:10911"}"#), "{text}");
        let back: ElectMasterResponseBody =
            crate::body::from_json("elect", text.as_bytes()).expect("parses");
        assert_eq!(back, body);
    }
}
