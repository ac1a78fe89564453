//! The controller's consensus: openraft (0.9, storage v2) around [`ControllerState`]. Its log
//! and snapshots are files in the controller's store directory; its messages travel over the
//! controller's own remoting port (codes 7101–7103, JSON bodies), beside the broker requests.
//!
//! [`ControllerState`]: crate::ControllerState

mod log_store;
mod network;
mod state_machine;
mod wal;

use std::io::Cursor;

pub use log_store::LogStore;
pub use network::{Network, serve_raft_rpc};
pub use state_machine::{SharedState, StateMachine};

/// A controller node's id (`n0` in Java's peer list is node 0).
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// The controller's raft: entries are controller [`Event`](crate::Event)s.
    pub TypeConfig:
        D = crate::Event,
        R = (),
        NodeId = NodeId,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// The raft handle.
pub type Raft = openraft::Raft<TypeConfig>;

/// Timings for a failover in about a second (docs/openraft-notes.md §3.1): a leader beats every
/// 100 ms; a follower that hears nothing for 300–600 ms stands for election.
pub fn raft_config() -> openraft::Config {
    openraft::Config {
        cluster_name: "apogee-controller".into(),
        heartbeat_interval: 100,
        election_timeout_min: 300,
        election_timeout_max: 600,
        install_snapshot_timeout: 10_000,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(1000),
        max_in_snapshot_log_to_keep: 100,
        ..openraft::Config::default()
    }
}
