//! The broker's typed calls to the controllers (docs/controller-facts.md §5): find the leader,
//! take an id, register, heartbeat, ask who is master, ask to be master, report the
//! SyncStateSet; and to a master broker, its HA address (EXCHANGE_BROKER_HA_INFO). Typed calls
//! over `remoting`: the broker does not depend on the client crate.

use std::collections::BTreeSet;
use std::time::Duration;

use apogee_model::{BrokerName, ClusterName};
use apogee_protocol::body::controller::SyncStateSet;
use apogee_protocol::header::controller::*;
use apogee_protocol::header::namesrv::BrokerHeartbeatRequestHeader;
use apogee_protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::RemotingClient;

use crate::config::ControllerMode;

const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Who is master of the set, as the controller says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterView {
    pub master_id: Option<i64>,
    pub master_addr: Option<String>,
    pub epoch: i32,
    pub sync_state_set: (BTreeSet<i64>, i32),
}

/// A call that did not succeed: the code (when there was an answer) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    pub code: Option<ResponseCode>,
    pub remark: String,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(code) => write!(f, "{code}: {}", self.remark),
            None => f.write_str(&self.remark),
        }
    }
}

fn failed(remark: impl Into<String>) -> CallError {
    CallError {
        code: None,
        remark: remark.into(),
    }
}

/// Who this broker is, for the controller.
#[derive(Clone)]
pub struct ControllerCalls {
    pub client: RemotingClient,
    pub mode: ControllerMode,
    pub cluster: String,
    pub broker_name: String,
    /// This broker's remoting address (what clients and other brokers use).
    pub broker_addr: String,
}

impl ControllerCalls {
    async fn call(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<RemotingCommand, CallError> {
        let response = self
            .client
            .invoke(addr, request, CALL_TIMEOUT)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if response.response_code() != ResponseCode::SUCCESS
            && response.response_code() != ResponseCode::CONTROLLER_MASTER_STILL_EXIST
        {
            return Err(CallError {
                code: Some(response.response_code()),
                remark: response.remark.clone().unwrap_or_default(),
            });
        }
        Ok(response)
    }

    fn header<H: CommandHeader>(response: &RemotingCommand) -> Result<H, CallError> {
        response.header().map_err(|e| failed(e.to_string()))
    }

    /// The leader's address, asked of each controller in turn.
    pub async fn leader(&self) -> Result<String, CallError> {
        let mut last = failed("no controller answered");
        for addr in &self.mode.controller_addrs {
            let request = RemotingCommand::bare_request(RequestCode::CONTROLLER_GET_METADATA_INFO);
            match self.call(addr, request).await {
                Ok(r) => {
                    match Self::header::<GetMetaDataResponseHeader>(&r)?.controller_leader_address {
                        Some(leader) => return Ok(leader),
                        None => last = failed(format!("{addr} knows no leader yet")),
                    }
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    pub async fn next_broker_id(&self, leader: &str) -> Result<i64, CallError> {
        let request = RemotingCommand::request(
            RequestCode::CONTROLLER_GET_NEXT_BROKER_ID,
            &GetNextBrokerIdRequestHeader {
                cluster_name: self.cluster.clone(),
                broker_name: self.broker_name.clone(),
            },
        );
        let r = self.call(leader, request).await?;
        Self::header::<GetNextBrokerIdResponseHeader>(&r)?
            .next_broker_id
            .ok_or_else(|| failed("no nextBrokerId in the answer"))
    }

    pub async fn apply_broker_id(
        &self,
        leader: &str,
        id: i64,
        check_code: &str,
    ) -> Result<(), CallError> {
        let request = RemotingCommand::request(
            RequestCode::CONTROLLER_APPLY_BROKER_ID,
            &ApplyBrokerIdRequestHeader {
                cluster_name: self.cluster.clone(),
                broker_name: self.broker_name.clone(),
                applied_broker_id: id,
                register_check_code: check_code.to_owned(),
            },
        );
        self.call(leader, request).await.map(|_| ())
    }

    fn view(
        master_id: Option<i64>,
        master_addr: Option<String>,
        epoch: Option<i32>,
        body: &[u8],
    ) -> MasterView {
        let sss: SyncStateSet =
            apogee_protocol::body::from_json("SyncStateSet", body).unwrap_or_default();
        MasterView {
            master_id,
            master_addr,
            epoch: epoch.unwrap_or_default(),
            sync_state_set: (sss.sync_state_set, sss.sync_state_set_epoch),
        }
    }

    /// REGISTER_BROKER to the controller; the view names the master only while it is alive.
    pub async fn register(&self, leader: &str, id: i64) -> Result<MasterView, CallError> {
        let request = RemotingCommand::request(
            RequestCode::CONTROLLER_REGISTER_BROKER,
            &RegisterBrokerToControllerRequestHeader {
                cluster_name: self.cluster.clone(),
                broker_name: self.broker_name.clone(),
                broker_id: Some(id),
                broker_address: self.broker_addr.clone(),
                invoke_time: Some(now_ms()),
            },
        );
        let r = self.call(leader, request).await?;
        let h: RegisterBrokerToControllerResponseHeader = Self::header(&r)?;
        Ok(Self::view(
            h.master_broker_id,
            h.master_address,
            h.master_epoch,
            &r.body,
        ))
    }

    pub async fn replica_info(&self, leader: &str) -> Result<MasterView, CallError> {
        let request = RemotingCommand::request(
            RequestCode::CONTROLLER_GET_REPLICA_INFO,
            &GetReplicaInfoRequestHeader {
                broker_name: self.broker_name.clone(),
            },
        );
        let r = self.call(leader, request).await?;
        let h: GetReplicaInfoResponseHeader = Self::header(&r)?;
        Ok(Self::view(
            h.master_broker_id,
            h.master_address,
            h.master_epoch,
            &r.body,
        ))
    }

    /// Asks to become master (the controller picks the best live in-sync broker, which may
    /// be another one).
    pub async fn elect(&self, leader: &str, id: i64) -> Result<MasterView, CallError> {
        let request = RemotingCommand::request(
            RequestCode::CONTROLLER_ELECT_MASTER,
            &ElectMasterRequestHeader {
                cluster_name: Some(self.cluster.clone()),
                broker_name: self.broker_name.clone(),
                broker_id: Some(id),
                designate_elect: Some(false),
                invoke_time: Some(now_ms()),
            },
        );
        let r = self.call(leader, request).await?;
        let h: ElectMasterResponseHeader = Self::header(&r)?;
        let body: apogee_protocol::body::controller::ElectMasterResponseBody =
            apogee_protocol::body::from_json("ElectMasterResponseBody", &r.body)
                .unwrap_or_default();
        Ok(MasterView {
            master_id: h.master_broker_id,
            master_addr: h.master_address,
            epoch: h.master_epoch.unwrap_or_default(),
            sync_state_set: (
                body.sync_state_set,
                h.sync_state_set_epoch.unwrap_or_default(),
            ),
        })
    }

    /// Proposes a SyncStateSet (from the master); returns its new epoch.
    pub async fn alter_sync_state_set(
        &self,
        leader: &str,
        (id, master_epoch): (i64, i32),
        (set, held_epoch): (&BTreeSet<i64>, i32),
    ) -> Result<i32, CallError> {
        let request = RemotingCommand::request(
            RequestCode::CONTROLLER_ALTER_SYNC_STATE_SET,
            &AlterSyncStateSetRequestHeader {
                broker_name: self.broker_name.clone(),
                master_broker_id: Some(id),
                master_epoch: Some(master_epoch),
                invoke_time: Some(now_ms()),
            },
        )
        .with_body(
            SyncStateSet {
                sync_state_set: set.clone(),
                sync_state_set_epoch: held_epoch,
            }
            .to_json(),
        );
        let r = self.call(leader, request).await?;
        Self::header::<AlterSyncStateSetResponseHeader>(&r)?
            .new_sync_state_set_epoch
            .ok_or_else(|| failed("no newSyncStateSetEpoch in the answer"))
    }

    /// BROKER_HEARTBEAT (oneway) to every controller, over connections kept open: a closed one
    /// tells the controller at once that this broker is gone.
    pub async fn heartbeat(&self, id: i64, epoch: i32, (max, confirm): (i64, i64)) {
        let (Ok(cluster_name), Ok(broker_name)) = (
            ClusterName::new(&self.cluster),
            BrokerName::new(&self.broker_name),
        ) else {
            return;
        };
        let header = BrokerHeartbeatRequestHeader {
            cluster_name,
            broker_addr: self.broker_addr.clone(),
            broker_name,
            broker_id: Some(id),
            epoch: Some(epoch),
            max_offset: Some(max),
            confirm_offset: Some(confirm),
            heartbeat_timeout_mills: Some(self.mode.heartbeat_timeout_ms),
            election_priority: Some(self.mode.election_priority),
        };
        let calls = self.mode.controller_addrs.iter().map(|addr| {
            let request =
                RemotingCommand::request(RequestCode::BROKER_HEARTBEAT, &header).into_oneway();
            async move {
                if let Err(e) = self.client.invoke_oneway(addr, request, CALL_TIMEOUT).await {
                    tracing::debug!(controller = %addr, error = %e, "heartbeat not sent");
                }
            }
        });
        futures::future::join_all(calls).await;
    }

    /// A master broker's HA address (EXCHANGE_BROKER_HA_INFO with an empty header).
    pub async fn master_ha_addr(&self, master_addr: &str) -> Result<String, CallError> {
        let request = RemotingCommand::request(
            RequestCode::EXCHANGE_BROKER_HA_INFO,
            &ExchangeHaInfoRequestHeader::default(),
        );
        let r = self.call(master_addr, request).await?;
        Self::header::<ExchangeHaInfoResponseHeader>(&r)?
            .master_ha_address
            .filter(|a| !a.is_empty())
            .ok_or_else(|| failed(format!("{master_addr} gave no HA address")))
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
