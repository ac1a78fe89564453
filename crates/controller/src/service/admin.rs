//! Requests that change or show a broker set's leadership: elect master, alter SyncStateSet,
//! clean, and the views behind mqadmin's controller commands.

use std::collections::BTreeMap;

use apogee_protocol::body::controller::{
    BrokerReplicasInfo, ElectMasterResponseBody, ReplicaIdentity, ReplicasInfo, SyncStateSet,
};
use apogee_protocol::body::properties;
use apogee_protocol::body::route::BrokerMemberGroup;
use apogee_protocol::header::controller::{
    AlterSyncStateSetRequestHeader, AlterSyncStateSetResponseHeader,
    CleanControllerBrokerDataRequestHeader, ElectMasterRequestHeader, ElectMasterResponseHeader,
    GetMetaDataResponseHeader,
};
use apogee_protocol::{RemotingCommand, ResponseCode};

use super::core::{Core, Election, refusal, sync_state_set};
use super::{bad_request, success};
use crate::BrokerSet;
use crate::decide::{self, Refusal, Trigger};

/// CONTROLLER_ELECT_MASTER (1002): `designateElect` is an administrator's choice, a broker id
/// of −1 (or none) the controller's own trigger, anything else a broker asking for itself.
pub async fn elect_master(
    core: &Core,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: ElectMasterRequestHeader = request.header().map_err(bad_request)?;
    let trigger = match (h.designate_elect.unwrap_or(false), h.broker_id) {
        (true, Some(id)) => Trigger::Admin(id),
        (_, None | Some(-1)) => Trigger::Controller,
        (_, Some(id)) => Trigger::Broker(id),
    };
    let code = match core.elect(&h.broker_name, trigger).await? {
        Election::Elected => None,
        Election::Unchanged(r) => Some(r),
    };
    let set = core.broker_set(&h.broker_name).ok_or_else(|| {
        refusal(
            ResponseCode::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
            format!("broker set {} is unknown", h.broker_name),
        )
    })?;
    let body = ElectMasterResponseBody {
        broker_member_group: code.is_none().then(|| member_group(&h.broker_name, &set)),
        sync_state_set: set.sync_state_set.clone(),
    };
    let response = match code {
        None => success(request),
        Some(r) => RemotingCommand::response_to(request, r.code, Some(r.remark)),
    };
    Ok(response
        .with_header(&ElectMasterResponseHeader {
            master_broker_id: set.master,
            master_address: master_address(&set),
            master_epoch: Some(set.master_epoch),
            sync_state_set_epoch: Some(set.sync_state_set_epoch),
        })
        .with_body(body.to_json()))
}

fn master_address(set: &BrokerSet) -> Option<String> {
    set.master
        .and_then(|m| set.replicas.get(&m))
        .map(|r| r.address.clone())
}

fn member_group(broker_name: &str, set: &BrokerSet) -> BrokerMemberGroup {
    BrokerMemberGroup {
        broker_addrs: set
            .replicas
            .iter()
            .map(|(id, r)| (*id, r.address.clone()))
            .collect(),
        broker_name: broker_name.to_owned(),
        cluster: set.cluster.clone(),
    }
}

/// CONTROLLER_ALTER_SYNC_STATE_SET (1001), from the master.
pub async fn alter_sync_state_set(
    core: &Core,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: AlterSyncStateSetRequestHeader = request.header().map_err(bad_request)?;
    let proposed: SyncStateSet =
        apogee_protocol::body::from_json("SyncStateSet", &request.body).map_err(bad_request)?;
    let turn = core.lead().await?;
    let event = {
        let state = core.state.read();
        decide::alter_sync_state_set(
            &state,
            &h.broker_name,
            (
                h.master_broker_id.unwrap_or(-1),
                h.master_epoch.unwrap_or(-1),
            ),
            (&proposed.sync_state_set, proposed.sync_state_set_epoch),
            &core.live.at(core.now_ms()),
        )?
    };
    core.commit(&turn, event).await?;
    let set = core
        .broker_set(&h.broker_name)
        .ok_or_else(|| refusal(ResponseCode::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED, "gone"))?;
    Ok(success(request)
        .with_header(&AlterSyncStateSetResponseHeader {
            new_sync_state_set_epoch: Some(set.sync_state_set_epoch),
        })
        .with_body(sync_state_set(&set).to_json()))
}

/// CLEAN_BROKER_DATA (1011).
pub async fn clean_broker_data(
    core: &Core,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: CleanControllerBrokerDataRequestHeader = request.header().map_err(bad_request)?;
    let turn = core.lead().await?;
    let event = {
        let state = core.state.read();
        decide::clean_broker_data(
            &state,
            &h.broker_name,
            h.broker_controller_ids_to_clean.as_deref(),
            h.is_clean_living_broker.unwrap_or(false),
            &core.live.at(core.now_ms()),
        )?
    };
    core.commit(&turn, event).await?;
    tracing::info!(broker_name = %h.broker_name, ids = ?h.broker_controller_ids_to_clean, "broker metadata cleaned");
    Ok(success(request))
}

/// CONTROLLER_GET_METADATA_INFO (1005): any node answers.
pub fn metadata(core: &Core, request: &RemotingCommand) -> RemotingCommand {
    let leader = core.leader().and_then(|id| core.config.peers.get(&id));
    success(request).with_header(&GetMetaDataResponseHeader {
        group: Some(core.config.group.clone()).filter(|g| !g.is_empty()),
        controller_leader_id: leader.map(|p| p.name.clone()),
        controller_leader_address: leader.map(|p| p.addr.clone()),
        is_leader: Some(core.is_leader()),
        peers: Some(core.config.peers_text()),
    })
}

/// CONTROLLER_GET_SYNC_STATE_DATA (1006): the body names the broker sets.
pub async fn sync_state_data(
    core: &Core,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let names: Vec<String> =
        apogee_protocol::body::from_json("broker names", &request.body).map_err(bad_request)?;
    let _turn = core.lead().await?;
    let now = core.now_ms();
    let mut table = BTreeMap::new();
    for name in names {
        let Some(set) = core.broker_set(&name) else {
            continue;
        };
        let mut info = ReplicasInfo {
            master_address: master_address(&set),
            master_broker_id: set.master,
            master_epoch: set.master_epoch,
            sync_state_set_epoch: set.sync_state_set_epoch,
            ..ReplicasInfo::default()
        };
        for (id, replica) in &set.replicas {
            let identity = ReplicaIdentity {
                alive: core.live.alive(&name, *id, now).is_some(),
                broker_address: replica.address.clone(),
                broker_id: *id,
                broker_name: name.clone(),
            };
            if set.sync_state_set.contains(id) {
                info.in_sync_replicas.push(identity);
            } else {
                info.not_in_sync_replicas.push(identity);
            }
        }
        table.insert(name, info);
    }
    Ok(success(request).with_body(
        BrokerReplicasInfo {
            replicas_info_table: table,
        }
        .to_json(),
    ))
}

/// GET_CONTROLLER_CONFIG (1010): this node's configuration as Java properties text, the
/// runtime settings with their current values.
pub fn config(core: &Core, request: &RemotingCommand) -> RemotingCommand {
    let raw = &core.config.raw;
    let lines: BTreeMap<String, String> = [
        ("controllerDLegerGroup", raw.group.clone()),
        ("controllerDLegerPeers", raw.peers.clone()),
        ("controllerDLegerSelfId", raw.self_id.clone()),
        ("controllerStorePath", raw.data_dir.display().to_string()),
        ("controllerType", "apogee-raft".to_owned()),
        (
            "scanInactiveMasterInterval",
            raw.scan_inactive_master_interval_ms.to_string(),
        ),
        (
            "scanNotActiveBrokerInterval",
            raw.scan_not_active_broker_interval_ms.to_string(),
        ),
    ]
    .into_iter()
    .chain(core.settings.to_properties())
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    success(request).with_body(properties::render(&lines).into_bytes())
}

/// UPDATE_CONTROLLER_CONFIG (1009): Java properties text changing this node's runtime
/// settings (every node is updated on its own, as in RocketMQ).
pub fn update_config(core: &Core, request: &RemotingCommand) -> Result<RemotingCommand, Refusal> {
    let refuse = |remark: String| refusal(ResponseCode::SYSTEM_ERROR, remark);
    let text = std::str::from_utf8(&request.body)
        .map_err(|_| refuse("string2Properties error: body is not UTF-8".into()))?;
    let props = properties::parse(text)
        .map_err(|line| refuse(format!("string2Properties error: {line:?}")))?;
    if props
        .keys()
        .any(|k| ["configBlackList", "configStorePath"].contains(&k.as_str()))
    {
        return Err(refusal(
            ResponseCode::NO_PERMISSION,
            "Can not update config in black list.",
        ));
    }
    core.settings.update(&props).map_err(refuse)?;
    tracing::info!(?props, "controller settings updated");
    Ok(success(request))
}
