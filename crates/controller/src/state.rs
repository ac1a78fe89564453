//! The state every controller node holds, changed only by applying committed events.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::Event;

/// A broker's id within its set (the master of a controller-mode set has whatever id won).
pub type BrokerId = i64;

/// The first id a broker set hands out (Java's `FIRST_BROKER_CONTROLLER_ID`).
pub const FIRST_BROKER_ID: BrokerId = 1;

/// One registered broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replica {
    pub address: String,
    /// `address;uuid` as the broker sent it with APPLY_BROKER_ID.
    pub check_code: String,
}

/// One broker set (one `brokerName`): replicas, master and SyncStateSet with their epochs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerSet {
    pub cluster: String,
    pub replicas: BTreeMap<BrokerId, Replica>,
    /// The id GET_NEXT_BROKER_ID answers; goes up by one with every id taken.
    pub next_broker_id: BrokerId,
    pub master: Option<BrokerId>,
    pub master_epoch: i32,
    pub sync_state_set: BTreeSet<BrokerId>,
    pub sync_state_set_epoch: i32,
}

impl BrokerSet {
    fn new(cluster: &str) -> Self {
        Self {
            cluster: cluster.to_owned(),
            replicas: BTreeMap::new(),
            next_broker_id: FIRST_BROKER_ID,
            master: None,
            master_epoch: 0,
            sync_state_set: BTreeSet::new(),
            sync_state_set_epoch: 0,
        }
    }
}

/// Every broker set, by broker name (RocketMQ keys them by name alone).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerState {
    sets: BTreeMap<String, BrokerSet>,
}

/// The address part of a check code (`address;uuid`).
pub(crate) fn address_of(check_code: &str) -> &str {
    check_code.split(';').next().unwrap_or_default()
}

impl ControllerState {
    pub fn broker_set(&self, broker_name: &str) -> Option<&BrokerSet> {
        self.sets.get(broker_name)
    }

    pub fn broker_sets(&self) -> impl Iterator<Item = (&String, &BrokerSet)> {
        self.sets.iter()
    }

    /// Applies a committed event. Events were validated when they were decided; applying
    /// one that no longer fits (its broker set is gone) changes nothing.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::ApplyBrokerId {
                cluster,
                broker_name,
                broker_id,
                check_code,
            } => {
                let set = self
                    .sets
                    .entry(broker_name.clone())
                    .or_insert_with(|| BrokerSet::new(cluster));
                set.replicas.insert(
                    *broker_id,
                    Replica {
                        address: address_of(check_code).to_owned(),
                        check_code: check_code.clone(),
                    },
                );
                set.next_broker_id += 1;
            }
            Event::UpdateBrokerAddress {
                broker_name,
                broker_id,
                address,
            } => {
                if let Some(replica) = self
                    .sets
                    .get_mut(broker_name)
                    .and_then(|s| s.replicas.get_mut(broker_id))
                {
                    replica.address.clone_from(address);
                }
            }
            Event::ElectMaster {
                broker_name,
                new_master,
            } => {
                if let Some(set) = self.sets.get_mut(broker_name) {
                    set.master_epoch += 1;
                    set.master = *new_master;
                    if let Some(master) = new_master {
                        set.sync_state_set = BTreeSet::from([*master]);
                        set.sync_state_set_epoch += 1;
                    }
                }
            }
            Event::AlterSyncStateSet {
                broker_name,
                sync_state_set,
            } => {
                if let Some(set) = self.sets.get_mut(broker_name) {
                    set.sync_state_set.clone_from(sync_state_set);
                    set.sync_state_set_epoch += 1;
                }
            }
            Event::CleanBrokerData {
                broker_name,
                broker_ids,
            } => self.clean(broker_name, broker_ids.as_ref()),
        }
    }

    /// Removes a set, or replicas of it. A removed master is no longer master (the epoch goes
    /// up): RocketMQ leaves it in place, naming a master that is not a replica any more.
    fn clean(&mut self, broker_name: &str, ids: Option<&BTreeSet<BrokerId>>) {
        let Some(ids) = ids else {
            self.sets.remove(broker_name);
            return;
        };
        let Some(set) = self.sets.get_mut(broker_name) else {
            return;
        };
        for id in ids {
            set.replicas.remove(id);
            set.sync_state_set.remove(id);
        }
        if set.master.is_some_and(|m| ids.contains(&m)) {
            set.master = None;
            set.master_epoch += 1;
        }
        if set.replicas.is_empty() {
            self.sets.remove(broker_name);
        }
    }
}
