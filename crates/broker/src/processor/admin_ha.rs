//! GET_BROKER_HA_STATUS (907, RocketMQ 5.x): the master's slave connections or the slave's
//! view of its master, as `HARuntimeInfo` JSON (what `mqadmin haStatus` prints).

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
