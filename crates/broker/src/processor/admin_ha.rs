//! GET_BROKER_HA_STATUS (907, RocketMQ 5.x): the master's slave connections or the slave's
//! view of its master, as `HARuntimeInfo` JSON (what `mqadmin haStatus` prints).

use apogee_protocol::body::controller::EpochEntryCache;
use apogee_protocol::header::controller::ExchangeHaInfoResponseHeader;
use apogee_protocol::{RemotingCommand, RequestCode};
use apogee_remoting::Connection;

use super::{Handler, success};
use crate::BrokerError;
use crate::ha::Replication;

/// The replication status family.
pub struct HaStatusProcessor {
    pub replication: Replication,
}

impl Handler for HaStatusProcessor {
    const CODES: &'static [RequestCode] = &[RequestCode::GET_BROKER_HA_STATUS];

    async fn handle(
        &self,
        _connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let info = self.replication.runtime_info();
        let body =
            serde_json::to_vec(&info).map_err(|e| BrokerError::SystemError(e.to_string()))?;
        Ok(success(request).with_body(body))
    }
}

/// Controller mode's broker requests: NOTIFY_BROKER_ROLE_CHANGED (1008, from the controller:
/// the link asks it at once), GET_BROKER_EPOCH_CACHE (1007, `mqadmin getBrokerEpoch`) and
/// EXCHANGE_BROKER_HA_INFO (906, a slave asking its master for the HA address).
pub struct ControllerModeProcessor {
    pub replication: Replication,
    pub cluster: String,
    pub broker_name: String,
    pub broker_addr: String,
}

impl Handler for ControllerModeProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::NOTIFY_BROKER_ROLE_CHANGED,
        RequestCode::GET_BROKER_EPOCH_CACHE,
        RequestCode::EXCHANGE_BROKER_HA_INFO,
    ];

    async fn handle(
        &self,
        _connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let Some(switching) = self.replication.switching() else {
            return Err(BrokerError::Refused {
                code: apogee_protocol::ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                remark: "this broker is not in controller mode (enable_controller_mode)".into(),
            });
        };
        match request.request_code() {
            RequestCode::NOTIFY_BROKER_ROLE_CHANGED => {
                switching.poke();
                Ok(success(request))
            }
            RequestCode::GET_BROKER_EPOCH_CACHE => {
                let max = self.replication.max_offset();
                let cache = EpochEntryCache {
                    broker_id: self.replication.registered_id(),
                    broker_name: self.broker_name.clone(),
                    cluster_name: self.cluster.clone(),
                    epoch_list: switching.epochs().snapshot().to_wire(max),
                    max_offset: max,
                };
                Ok(success(request).with_body(cache.to_json()))
            }
            _ => Ok(success(request).with_header(&ExchangeHaInfoResponseHeader {
                master_ha_address: Some(self.replication.ha_server_addr()),
                master_flush_offset: Some(self.replication.max_offset()),
                master_address: Some(self.broker_addr.clone()),
            })),
        }
    }
}
