//! What the controller's log records: each committed event changes the state the same way on
//! every node (RocketMQ's event types 1–6, less the read marker).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::BrokerId;

/// One change to the controller's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A broker took an id (APPLY_BROKER_ID); the first one creates its broker set.
    ApplyBrokerId {
        cluster: String,
        broker_name: String,
        broker_id: BrokerId,
        /// `address;uuid`: who asked, so a retry by the same broker is accepted.
        check_code: String,
    },
    /// A registered broker now listens somewhere else.
    UpdateBrokerAddress {
        broker_name: String,
        broker_id: BrokerId,
        address: String,
    },
    /// A new master (its SyncStateSet restarts as itself), or none: the master is cleared.
    /// Either way the master epoch goes up.
    ElectMaster {
        broker_name: String,
        new_master: Option<BrokerId>,
    },
    /// The master's new SyncStateSet.
    AlterSyncStateSet {
        broker_name: String,
        sync_state_set: BTreeSet<BrokerId>,
    },
    /// Forget a broker set (`None`) or some of its replicas.
    CleanBrokerData {
        broker_name: String,
        broker_ids: Option<BTreeSet<BrokerId>>,
    },
}
