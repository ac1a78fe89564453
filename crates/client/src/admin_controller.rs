//! The admin API's controller calls (RocketMQ 5's controller mode): who leads the controllers
//! (CONTROLLER_GET_METADATA_INFO), each broker set's master and SyncStateSet
//! (CONTROLLER_GET_SYNC_STATE_DATA), electing a chosen master (CONTROLLER_ELECT_MASTER) and
//! forgetting brokers (CLEAN_BROKER_DATA). Like mqadmin, the changes go to the leader the
//! metadata names.

use std::collections::BTreeMap;

use apogee_protocol::body::controller::{
    BrokerReplicasInfo, ElectMasterResponseBody, EpochEntryCache,
};
use apogee_protocol::body::{from_json, properties};
use apogee_protocol::header::controller::{
    CleanControllerBrokerDataRequestHeader, ElectMasterRequestHeader, ElectMasterResponseHeader,
    GetMetaDataResponseHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode};

use crate::admin::Admin;
use crate::{ClientError, Result};

/// A controller group as one of its nodes sees it.
pub type ControllerMetadata = GetMetaDataResponseHeader;

/// The outcome of `electMaster`.
#[derive(Debug, Clone)]
pub struct ElectedMaster {
    pub header: ElectMasterResponseHeader,
    pub body: ElectMasterResponseBody,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Admin {
    /// A controller-mode broker's epoch history (mqadmin `getBrokerEpoch`): under which master
    /// epoch each stretch of its CommitLog was written.
    pub async fn broker_epoch_cache(&self, broker_addr: &str) -> Result<EpochEntryCache> {
        self.call_json(
            broker_addr,
            RemotingCommand::bare_request(RequestCode::GET_BROKER_EPOCH_CACHE),
            "EpochEntryCache",
        )
        .await
    }

    /// Who leads the controller group `controller_addr` belongs to.
    pub async fn controller_metadata(&self, controller_addr: &str) -> Result<ControllerMetadata> {
        let response = self
            .call(
                controller_addr,
                RemotingCommand::bare_request(RequestCode::CONTROLLER_GET_METADATA_INFO),
            )
            .await?;
        response
            .header()
            .map_err(|e| ClientError::bad_response(controller_addr, e))
    }

    /// The leader's address, asked of `controller_addr` (any node of the group; `;`-separated
    /// lists are tried in order).
    pub async fn controller_leader(&self, controller_addrs: &str) -> Result<String> {
        let mut last = None;
        for addr in controller_addrs
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            match self.controller_metadata(addr).await {
                Ok(m) => match m.controller_leader_address {
                    Some(leader) => return Ok(leader),
                    None => {
                        last = Some(ClientError::bad_response(addr, "no controller leader yet"))
                    }
                },
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            ClientError::bad_response(controller_addrs, "no controller address")
        }))
    }

    /// One controller node's configuration (mqadmin `getControllerConfig`), by Java key name.
    pub async fn controller_config(
        &self,
        controller_addr: &str,
    ) -> Result<BTreeMap<String, String>> {
        let response = self
            .call(
                controller_addr,
                RemotingCommand::bare_request(RequestCode::GET_CONTROLLER_CONFIG),
            )
            .await?;
        properties::parse(&String::from_utf8_lossy(&response.body)).map_err(|line| {
            ClientError::bad_response(controller_addr, format!("bad properties line {line:?}"))
        })
    }

    /// Changes one controller node's runtime settings (mqadmin `updateControllerConfig`), all
    /// or none; each node of a group is updated on its own, as in RocketMQ.
    pub async fn update_controller_config(
        &self,
        controller_addr: &str,
        changes: &BTreeMap<String, String>,
    ) -> Result<()> {
        let body = properties::render(changes).into_bytes();
        self.call(
            controller_addr,
            RemotingCommand::bare_request(RequestCode::UPDATE_CONTROLLER_CONFIG).with_body(body),
        )
        .await
        .map(|_| ())
    }

    /// Master, epochs and in-sync / not-in-sync replicas of each broker set named.
    pub async fn sync_state_data(
        &self,
        controller_addrs: &str,
        broker_names: &[String],
    ) -> Result<BrokerReplicasInfo> {
        let leader = self.controller_leader(controller_addrs).await?;
        let body = serde_json::to_vec(broker_names).unwrap_or_default();
        self.call_json(
            &leader,
            RemotingCommand::bare_request(RequestCode::CONTROLLER_GET_SYNC_STATE_DATA)
                .with_body(body),
            "BrokerReplicasInfo",
        )
        .await
    }

    /// Makes `broker_id` the master of `broker_name` (mqadmin `electMaster`). The broker must
    /// be alive, and in the SyncStateSet unless the controller allows unclean elections.
    pub async fn elect_master(
        &self,
        controller_addrs: &str,
        cluster: &str,
        broker_name: &str,
        broker_id: i64,
    ) -> Result<ElectedMaster> {
        let leader = self.controller_leader(controller_addrs).await?;
        let request = RemotingCommand::request(
            RequestCode::CONTROLLER_ELECT_MASTER,
            &ElectMasterRequestHeader {
                cluster_name: Some(cluster.to_owned()),
                broker_name: broker_name.to_owned(),
                broker_id: Some(broker_id),
                designate_elect: Some(true),
                invoke_time: Some(now_ms()),
            },
        );
        let response = self.call(&leader, request).await?;
        Ok(ElectedMaster {
            header: response
                .header()
                .map_err(|e| ClientError::bad_response(&leader, e))?,
            body: from_json("ElectMasterResponseBody", &response.body)
                .map_err(|e| ClientError::bad_response(&leader, e))?,
        })
    }

    /// Forgets a broker set, or some of its brokers (`ids` like `1;2`), in the controller
    /// (mqadmin `cleanBrokerMetadata`). Unless `clean_living`, only dead brokers may go.
    pub async fn clean_broker_metadata(
        &self,
        controller_addrs: &str,
        cluster: Option<&str>,
        broker_name: &str,
        ids: Option<&str>,
        clean_living: bool,
    ) -> Result<()> {
        let leader = self.controller_leader(controller_addrs).await?;
        let request = RemotingCommand::request(
            RequestCode::CLEAN_BROKER_DATA,
            &CleanControllerBrokerDataRequestHeader {
                cluster_name: cluster.map(str::to_owned),
                broker_name: broker_name.to_owned(),
                broker_controller_ids_to_clean: ids.map(str::to_owned),
                is_clean_living_broker: Some(clean_living),
                invoke_time: Some(now_ms()),
            },
        );
        self.call(&leader, request).await.map(|_| ())
    }
}
