//! Headers of the controller requests, 1001–1013 (docs/controller-facts.md §2.2; field lists
//! verified in RocketMQ 5.3.1's `protocol/header/controller/*.java`). BROKER_HEARTBEAT (904)
//! is `namesrv::BrokerHeartbeatRequestHeader`. EXCHANGE_BROKER_HA_INFO (906) passes between
//! brokers of a set.

use crate::CommandHeader;

/// CONTROLLER_ALTER_SYNC_STATE_SET (1001); the body is the proposed `SyncStateSet`.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct AlterSyncStateSetRequestHeader {
    pub broker_name: String,
    pub master_broker_id: Option<i64>,
    pub master_epoch: Option<i32>,
    pub invoke_time: Option<i64>,
}

/// CONTROLLER_ALTER_SYNC_STATE_SET response.
#[derive(Debug, Clone, PartialEq, Eq, Default, CommandHeader)]
pub struct AlterSyncStateSetResponseHeader {
    pub new_sync_state_set_epoch: Option<i32>,
}

/// CONTROLLER_ELECT_MASTER (1002). A broker asks for itself; an admin designates an id
/// (`designateElect`); the controller's own trigger sends −1.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct ElectMasterRequestHeader {
    pub cluster_name: Option<String>,
    pub broker_name: String,
    pub broker_id: Option<i64>,
    pub designate_elect: Option<bool>,
    pub invoke_time: Option<i64>,
}

/// CONTROLLER_ELECT_MASTER response; the body is `ElectMasterResponseBody`.
#[derive(Debug, Clone, PartialEq, Eq, Default, CommandHeader)]
pub struct ElectMasterResponseHeader {
    pub master_broker_id: Option<i64>,
    pub master_address: Option<String>,
    pub master_epoch: Option<i32>,
    pub sync_state_set_epoch: Option<i32>,
}

/// CONTROLLER_REGISTER_BROKER (1003).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct RegisterBrokerToControllerRequestHeader {
    pub cluster_name: String,
    pub broker_name: String,
    pub broker_id: Option<i64>,
    pub broker_address: String,
    pub invoke_time: Option<i64>,
}

/// CONTROLLER_REGISTER_BROKER response (master fields only when a live master exists); the
/// body is the `SyncStateSet`.
#[derive(Debug, Clone, PartialEq, Eq, Default, CommandHeader)]
pub struct RegisterBrokerToControllerResponseHeader {
    pub cluster_name: Option<String>,
    pub broker_name: Option<String>,
    pub master_broker_id: Option<i64>,
    pub master_address: Option<String>,
    pub master_epoch: Option<i32>,
    pub sync_state_set_epoch: Option<i32>,
}

/// CONTROLLER_GET_REPLICA_INFO (1004).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetReplicaInfoRequestHeader {
    pub broker_name: String,
}

/// CONTROLLER_GET_REPLICA_INFO response; the body is the `SyncStateSet`.
#[derive(Debug, Clone, PartialEq, Eq, Default, CommandHeader)]
pub struct GetReplicaInfoResponseHeader {
    pub master_broker_id: Option<i64>,
    pub master_address: Option<String>,
    pub master_epoch: Option<i32>,
}

/// CONTROLLER_GET_METADATA_INFO (1005) response: who leads the controllers.
#[derive(Debug, Clone, PartialEq, Eq, Default, CommandHeader)]
pub struct GetMetaDataResponseHeader {
    pub group: Option<String>,
    pub controller_leader_id: Option<String>,
    pub controller_leader_address: Option<String>,
    pub is_leader: Option<bool>,
    /// `id:addr;` repeated, with a trailing `;`.
    pub peers: Option<String>,
}

/// NOTIFY_BROKER_ROLE_CHANGED (1008), controller → broker, oneway; the body is the
/// `SyncStateSet`.
#[derive(Debug, Clone, PartialEq, Eq, Default, CommandHeader)]
pub struct NotifyBrokerRoleChangedRequestHeader {
    pub master_address: Option<String>,
    pub master_epoch: Option<i32>,
    pub sync_state_set_epoch: Option<i32>,
    pub master_broker_id: Option<i64>,
}

/// CLEAN_BROKER_DATA (1011).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct CleanControllerBrokerDataRequestHeader {
    pub cluster_name: Option<String>,
    pub broker_name: String,
    /// `1;2;3`; absent means the whole broker set.
    pub broker_controller_ids_to_clean: Option<String>,
    pub is_clean_living_broker: Option<bool>,
    pub invoke_time: Option<i64>,
}

/// CONTROLLER_GET_NEXT_BROKER_ID (1012).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetNextBrokerIdRequestHeader {
    pub cluster_name: String,
    pub broker_name: String,
}

/// CONTROLLER_GET_NEXT_BROKER_ID response.
#[derive(Debug, Clone, PartialEq, Eq, Default, CommandHeader)]
pub struct GetNextBrokerIdResponseHeader {
    pub cluster_name: Option<String>,
    pub broker_name: Option<String>,
    pub next_broker_id: Option<i64>,
}

/// CONTROLLER_APPLY_BROKER_ID (1013).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct ApplyBrokerIdRequestHeader {
    pub cluster_name: String,
    pub broker_name: String,
    pub applied_broker_id: i64,
    /// `brokerAddr;timestampMillis`: who asked, so a retry by the same broker is accepted.
    pub register_check_code: String,
}

/// CONTROLLER_APPLY_BROKER_ID response.
#[derive(Debug, Clone, PartialEq, Eq, Default, CommandHeader)]
pub struct ApplyBrokerIdResponseHeader {
    pub cluster_name: Option<String>,
    pub broker_name: Option<String>,
}

/// EXCHANGE_BROKER_HA_INFO (906) request: empty when a slave asks a master for its HA
/// address; a master telling a slave fills it.
#[derive(Debug, Clone, PartialEq, Eq, Default, CommandHeader)]
pub struct ExchangeHaInfoRequestHeader {
    pub master_ha_address: Option<String>,
    pub master_flush_offset: Option<i64>,
    pub master_address: Option<String>,
}

/// EXCHANGE_BROKER_HA_INFO response: the master's HA address, flushed offset and address.
#[derive(Debug, Clone, PartialEq, Eq, Default, CommandHeader)]
pub struct ExchangeHaInfoResponseHeader {
    pub master_ha_address: Option<String>,
    pub master_flush_offset: Option<i64>,
    pub master_address: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExtFields;

    #[test]
    fn given_java_keys_should_read_the_clean_request() {
        let mut fields = ExtFields::default();
        fields.insert("brokerName", "broker-a");
        fields.insert("brokerControllerIdsToClean", "1;2");
        fields.insert("isCleanLivingBroker", "true");
        fields.insert("invokeTime", "17");
        let h = CleanControllerBrokerDataRequestHeader::from_ext_fields(&fields).expect("reads");
        assert_eq!(h.broker_controller_ids_to_clean.as_deref(), Some("1;2"));
        assert_eq!(h.is_clean_living_broker, Some(true));
        assert_eq!(h.cluster_name, None);
    }

    #[test]
    fn given_metadata_answer_should_write_is_leader_as_java_names_it() {
        let mut out = ExtFields::default();
        GetMetaDataResponseHeader {
            is_leader: Some(true),
            peers: Some("n0:127.0.0.1:9878;".into()),
            ..Default::default()
        }
        .write_ext_fields(&mut out);
        assert_eq!(out.get("isLeader"), Some("true"));
        assert!(!out.contains_key("controllerLeaderAddress"));
    }
}
