//! What the leader decides for each request, from the state and from who is alive
//! (docs/controller-facts.md §3): the event to replicate, or a refusal with RocketMQ's code.

use std::collections::BTreeSet;

use apogee_protocol::ResponseCode;

use crate::state::FIRST_BROKER_ID;
use crate::{BrokerId, BrokerSet, ControllerState, Event};

/// A request the controller refuses, with RocketMQ's code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{remark}")]
pub struct Refusal {
    pub code: ResponseCode,
    pub remark: String,
}

fn refuse<T>(code: ResponseCode, remark: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        code,
        remark: remark.into(),
    })
}

/// What the controller knows of a live broker from its heartbeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// The highest master epoch the broker has seen.
    pub epoch: i32,
    /// Its CommitLog end.
    pub max_offset: i64,
    /// Lower wins a tie.
    pub election_priority: i32,
}

/// Who is alive, by heartbeat.
pub trait Liveness {
    fn heartbeat(&self, broker_name: &str, broker_id: BrokerId) -> Option<Heartbeat>;
}

/// GET_NEXT_BROKER_ID.
pub fn next_broker_id(state: &ControllerState, broker_name: &str) -> BrokerId {
    state
        .broker_set(broker_name)
        .map_or(FIRST_BROKER_ID, |s| s.next_broker_id)
}

/// APPLY_BROKER_ID: a new set takes only id 1; a known one takes an unused id, or the same id
/// again from the same broker (a retry). `None`: nothing to record (the retry case).
pub fn apply_broker_id(
    state: &ControllerState,
    cluster: &str,
    broker_name: &str,
    broker_id: BrokerId,
    check_code: &str,
) -> Result<Option<Event>, Refusal> {
    let event = Event::ApplyBrokerId {
        cluster: cluster.to_owned(),
        broker_name: broker_name.to_owned(),
        broker_id,
        check_code: check_code.to_owned(),
    };
    let Some(set) = state.broker_set(broker_name) else {
        if broker_id != FIRST_BROKER_ID {
            return refuse(
                ResponseCode::CONTROLLER_BROKER_ID_INVALID,
                format!(
                    "broker set {broker_name} is new: its first broker id must be 1, not {broker_id}"
                ),
            );
        }
        return Ok(Some(event));
    };
    match set.replicas.get(&broker_id) {
        None => Ok(Some(event)),
        Some(r) if r.check_code == check_code => Ok(None),
        Some(r) => refuse(
            ResponseCode::CONTROLLER_BROKER_ID_INVALID,
            format!(
                "broker id {broker_id} of {broker_name} is held by {}",
                r.address
            ),
        ),
    }
}

/// REGISTER_BROKER to the controller: the set and the id must exist; a changed address is
/// recorded.
pub fn register(
    state: &ControllerState,
    broker_name: &str,
    broker_id: BrokerId,
    address: &str,
) -> Result<Option<Event>, Refusal> {
    let replica = state
        .broker_set(broker_name)
        .and_then(|s| s.replicas.get(&broker_id));
    match replica {
        None => refuse(
            ResponseCode::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
            format!("broker {broker_name}:{broker_id} has not applied for its id"),
        ),
        Some(r) if r.address == address => Ok(None),
        Some(_) => Ok(Some(Event::UpdateBrokerAddress {
            broker_name: broker_name.to_owned(),
            broker_id,
            address: address.to_owned(),
        })),
    }
}

/// Who asked for an election.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A broker of the set (its own id): on start, or when it finds no master.
    Broker(BrokerId),
    /// The controller itself, after the master's heartbeats stopped.
    Controller,
    /// An administrator designating the new master (`electMaster -b`).
    Admin(BrokerId),
}

/// The outcome of an election the controller will record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elected {
    pub event: Event,
    pub new_master: BrokerId,
    pub master_epoch: i32,
    pub sync_state_set_epoch: i32,
}

/// ELECT_MASTER. `unclean`: `enableElectUncleanMaster`, which lets a replica outside the
/// SyncStateSet (and so maybe without every acknowledged message) become master.
///
/// Errors: unknown set 2010; the current master chosen again 2011 (callers answer with the
/// current state); nobody electable 2012 for broker and admin triggers. For the controller's
/// own trigger nobody electable clears the master: that event comes back with 2004.
pub fn elect_master(
    state: &ControllerState,
    broker_name: &str,
    trigger: Trigger,
    live: &dyn Liveness,
    unclean: bool,
) -> Result<Elected, (Refusal, Option<Event>)> {
    let Some(set) = state.broker_set(broker_name) else {
        return Err((
            Refusal {
                code: ResponseCode::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
                remark: format!("broker set {broker_name} is unknown"),
            },
            None,
        ));
    };
    let first = match trigger {
        Trigger::Broker(id) | Trigger::Admin(id)
            if set.master_epoch == 0 && set.replicas.contains_key(&id) =>
        {
            Some(id)
        }
        _ => None,
    };
    let chosen = first.or_else(|| choose(set, broker_name, trigger, live, unclean));
    match chosen {
        Some(id) if Some(id) == set.master => Err((
            Refusal {
                code: ResponseCode::CONTROLLER_MASTER_STILL_EXIST,
                remark: format!("broker {id} of {broker_name} is still the master"),
            },
            None,
        )),
        Some(id) => Ok(Elected {
            event: Event::ElectMaster {
                broker_name: broker_name.to_owned(),
                new_master: Some(id),
            },
            new_master: id,
            master_epoch: set.master_epoch + 1,
            sync_state_set_epoch: set.sync_state_set_epoch + 1,
        }),
        None if trigger == Trigger::Controller => Err((
            Refusal {
                code: ResponseCode::CONTROLLER_MASTER_NOT_AVAILABLE,
                remark: format!("no replica of {broker_name} can become master; it has none now"),
            },
            Some(Event::ElectMaster {
                broker_name: broker_name.to_owned(),
                new_master: None,
            }),
        )),
        None => Err((
            Refusal {
                code: ResponseCode::CONTROLLER_ELECT_MASTER_FAILED,
                remark: format!("no replica of {broker_name} can become master"),
            },
            None,
        )),
    }
}

/// The election policy: the SyncStateSet first, then (unclean only) every replica; among the
/// live ones, the old master if it is there and nobody was designated, the designated one,
/// or the best by (epoch, CommitLog end) with the lower priority number winning ties.
fn choose(
    set: &BrokerSet,
    broker_name: &str,
    trigger: Trigger,
    live: &dyn Liveness,
    unclean: bool,
) -> Option<BrokerId> {
    let designated = match trigger {
        Trigger::Admin(id) => Some(id),
        _ => None,
    };
    let all: BTreeSet<BrokerId> = set.replicas.keys().copied().collect();
    let pools = [Some(&set.sync_state_set), unclean.then_some(&all)];
    pools.into_iter().flatten().find_map(|pool| {
        let alive: Vec<(BrokerId, Heartbeat)> = pool
            .iter()
            .filter_map(|id| live.heartbeat(broker_name, *id).map(|h| (*id, h)))
            .collect();
        if let Some(master) = set.master
            && alive.iter().any(|(id, _)| *id == master)
            && designated.is_none_or(|d| d == master)
        {
            return Some(master);
        }
        if let Some(d) = designated {
            return alive.iter().any(|(id, _)| *id == d).then_some(d);
        }
        alive
            .iter()
            .max_by(|(a_id, a), (b_id, b)| {
                (a.epoch, a.max_offset, -a.election_priority, -a_id).cmp(&(
                    b.epoch,
                    b.max_offset,
                    -b.election_priority,
                    -b_id,
                ))
            })
            .map(|(id, _)| *id)
    })
}

/// ALTER_SYNC_STATE_SET from the master, checked in RocketMQ's order.
pub fn alter_sync_state_set(
    state: &ControllerState,
    broker_name: &str,
    (master_id, master_epoch): (BrokerId, i32),
    (new_set, sync_state_set_epoch): (&BTreeSet<BrokerId>, i32),
    live: &dyn Liveness,
) -> Result<Event, Refusal> {
    use ResponseCode as C;
    let Some(set) = state.broker_set(broker_name) else {
        return refuse(
            C::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
            format!("broker set {broker_name} is unknown"),
        );
    };
    if *new_set == set.sync_state_set {
        return refuse(
            C::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
            "the SyncStateSet is already that; no need to alter it",
        );
    }
    if set.master != Some(master_id) {
        return refuse(
            C::CONTROLLER_INVALID_MASTER,
            format!("broker {master_id} is not the master of {broker_name}"),
        );
    }
    let fenced = [
        (
            C::CONTROLLER_FENCED_MASTER_EPOCH,
            "master",
            master_epoch,
            set.master_epoch,
        ),
        (
            C::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH,
            "SyncStateSet",
            sync_state_set_epoch,
            set.sync_state_set_epoch,
        ),
    ];
    if let Some((code, what, sent, current)) = fenced.into_iter().find(|f| f.2 != f.3) {
        return refuse(
            code,
            format!("{what} epoch {sent} is not the current {current}"),
        );
    }
    for id in new_set {
        if !set.replicas.contains_key(id) {
            return refuse(
                C::CONTROLLER_INVALID_REPLICAS,
                format!("broker {id} is not a replica of {broker_name}"),
            );
        }
        if live.heartbeat(broker_name, *id).is_none() {
            return refuse(
                C::CONTROLLER_BROKER_NOT_ALIVE,
                format!("broker {id} of {broker_name} is not alive"),
            );
        }
    }
    if !new_set.contains(&master_id) {
        return refuse(
            C::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
            "the new SyncStateSet must contain the master",
        );
    }
    Ok(Event::AlterSyncStateSet {
        broker_name: broker_name.to_owned(),
        sync_state_set: new_set.clone(),
    })
}

/// CLEAN_BROKER_DATA: `ids` is RocketMQ's `;`-separated list (none: the whole set).
/// Without `clean_living`, only dead brokers go, and a whole set only while it has no master.
pub fn clean_broker_data(
    state: &ControllerState,
    broker_name: &str,
    ids: Option<&str>,
    clean_living: bool,
    live: &dyn Liveness,
) -> Result<Event, Refusal> {
    let code = ResponseCode::CONTROLLER_INVALID_CLEAN_BROKER_METADATA;
    let Some(set) = state.broker_set(broker_name) else {
        return refuse(code, format!("broker set {broker_name} is unknown"));
    };
    let ids = match ids.map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(text) => Some(
            text.split(';')
                .map(|id| id.trim().parse::<BrokerId>())
                .collect::<Result<BTreeSet<_>, _>>()
                .or_else(|_| {
                    refuse(
                        code,
                        format!("broker ids `{text}` are not numbers separated by ;"),
                    )
                })?,
        ),
    };
    if !clean_living {
        match &ids {
            None if set.master.is_some() => {
                return refuse(code, format!("broker set {broker_name} still has a master"));
            }
            Some(ids) => {
                if let Some(id) = ids
                    .iter()
                    .find(|id| live.heartbeat(broker_name, **id).is_some())
                {
                    return refuse(code, format!("broker {id} of {broker_name} is still alive"));
                }
            }
            None => {}
        }
    }
    Ok(Event::CleanBrokerData {
        broker_name: broker_name.to_owned(),
        broker_ids: ids,
    })
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
