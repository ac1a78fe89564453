//! What brokers ask: heartbeats, broker ids, registration and replica info.

use apogee_protocol::header::controller::{
    ApplyBrokerIdRequestHeader, ApplyBrokerIdResponseHeader, GetNextBrokerIdRequestHeader,
    GetNextBrokerIdResponseHeader, GetReplicaInfoRequestHeader, GetReplicaInfoResponseHeader,
    RegisterBrokerToControllerRequestHeader, RegisterBrokerToControllerResponseHeader,
};
use apogee_protocol::header::namesrv::BrokerHeartbeatRequestHeader;
use apogee_protocol::{RemotingCommand, ResponseCode};
use apogee_remoting::Connection;

use super::core::{Core, refusal, sync_state_set};
use super::{bad_request, success};
use crate::BrokerSet;
use crate::decide::{self, Refusal};
use crate::live::{Beat, DEFAULT_TIMEOUT_MS};

/// BROKER_HEARTBEAT (904, oneway): served by every controller, leader or not.
pub fn heartbeat(
    core: &Core,
    connection: &Connection,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: BrokerHeartbeatRequestHeader = request.header().map_err(bad_request)?;
    let Some(broker_id) = h.broker_id else {
        return Err(refusal(
            ResponseCode::CONTROLLER_INVALID_REQUEST,
            "a heartbeat must carry brokerId",
        ));
    };
    core.live.beat(
        Beat {
            cluster: h.cluster_name.to_string(),
            broker_name: h.broker_name.to_string(),
            broker_id,
            address: h.broker_addr,
            epoch: h.epoch.unwrap_or_default(),
            max_offset: h.max_offset.unwrap_or_default(),
            confirm_offset: h.confirm_offset.unwrap_or_default(),
            timeout_ms: h
                .heartbeat_timeout_mills
                .filter(|t| *t > 0)
                .unwrap_or(DEFAULT_TIMEOUT_MS),
            election_priority: h.election_priority.unwrap_or(i32::MAX),
        },
        core.now_ms(),
        Some(connection.id()),
    );
    Ok(success(request).with_remark("Heart beat success"))
}

/// The master's id and address, when the set has a master.
fn master_of(set: &BrokerSet) -> (Option<i64>, Option<String>) {
    let address = set
        .master
        .and_then(|m| set.replicas.get(&m))
        .map(|r| r.address.clone());
    (set.master, address)
}

/// CONTROLLER_REGISTER_BROKER (1003): the answer names the master only while it is alive.
pub async fn register(core: &Core, request: &RemotingCommand) -> Result<RemotingCommand, Refusal> {
    let h: RegisterBrokerToControllerRequestHeader = request.header().map_err(bad_request)?;
    let id = h.broker_id.unwrap_or(-1);
    let turn = core.lead().await?;
    let event = decide::register(&core.state.read(), &h.broker_name, id, &h.broker_address)?;
    if let Some(event) = event {
        core.commit(&turn, event).await?;
    }
    let set = core.broker_set(&h.broker_name).ok_or_else(|| {
        refusal(
            ResponseCode::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
            format!("broker set {} was cleaned meanwhile", h.broker_name),
        )
    })?;
    let mut header = RegisterBrokerToControllerResponseHeader {
        cluster_name: Some(h.cluster_name.clone()),
        broker_name: Some(h.broker_name.clone()),
        ..Default::default()
    };
    let (master, address) = master_of(&set);
    let now = core.now_ms();
    if master.is_some_and(|m| core.live.alive(&h.broker_name, m, now).is_some()) {
        header.master_broker_id = master;
        header.master_address = address;
        header.master_epoch = Some(set.master_epoch);
        header.sync_state_set_epoch = Some(set.sync_state_set_epoch);
    }
    Ok(success(request)
        .with_header(&header)
        .with_body(sync_state_set(&set).to_json()))
}

/// CONTROLLER_GET_REPLICA_INFO (1004).
pub async fn replica_info(
    core: &Core,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetReplicaInfoRequestHeader = request.header().map_err(bad_request)?;
    let _turn = core.lead().await?;
    let set = core.broker_set(&h.broker_name).ok_or_else(|| {
        refusal(
            ResponseCode::CONTROLLER_BROKER_METADATA_NOT_EXIST,
            format!("broker set {} is unknown", h.broker_name),
        )
    })?;
    let (master_broker_id, master_address) = master_of(&set);
    Ok(success(request)
        .with_header(&GetReplicaInfoResponseHeader {
            master_broker_id,
            master_address,
            master_epoch: Some(set.master_epoch),
        })
        .with_body(sync_state_set(&set).to_json()))
}

/// CONTROLLER_GET_NEXT_BROKER_ID (1012).
pub async fn next_broker_id(
    core: &Core,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetNextBrokerIdRequestHeader = request.header().map_err(bad_request)?;
    let _turn = core.lead().await?;
    let next = decide::next_broker_id(&core.state.read(), &h.broker_name);
    Ok(
        success(request).with_header(&GetNextBrokerIdResponseHeader {
            cluster_name: Some(h.cluster_name),
            broker_name: Some(h.broker_name),
            next_broker_id: Some(next),
        }),
    )
}

/// CONTROLLER_APPLY_BROKER_ID (1013).
pub async fn apply_broker_id(
    core: &Core,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: ApplyBrokerIdRequestHeader = request.header().map_err(bad_request)?;
    let turn = core.lead().await?;
    let event = decide::apply_broker_id(
        &core.state.read(),
        &h.cluster_name,
        &h.broker_name,
        h.applied_broker_id,
        &h.register_check_code,
    )?;
    if let Some(event) = event {
        core.commit(&turn, event).await?;
    }
    Ok(success(request).with_header(&ApplyBrokerIdResponseHeader {
        cluster_name: Some(h.cluster_name),
        broker_name: Some(h.broker_name),
    }))
}
