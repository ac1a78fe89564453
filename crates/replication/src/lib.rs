//! Master/slave replication of the CommitLog over RocketMQ's classic HA protocol
//! (docs/ha-facts.md §1–2). Only the store's [`ReplicaLog`](apogee_store::ReplicaLog) seam is
//! used: the master reads frames from it, the slave appends the master's bytes at the
//! master's offsets and its own reput builds the consume queues and the index.
//!
//! ```text
//! master: MessageStore::append ─appended─► HaMaster writer ─12-byte header + bytes─► slave
//!                                             ▲ acks (8-byte offset)                    │
//!         send ─► Acks::wait(end) ◄───────────┘            HaSlave ─append_at─► ReplicaLog
//! ```

mod acks;
pub mod autoswitch;
mod epochs;
mod master;
mod settings;
mod slave;
mod waiters;

pub use acks::{Acks, QuorumHook, ReplicaStatus};
pub use epochs::{EpochCache, SharedEpochs, common_point};
pub use master::{HaMaster, SLAVES_MAX};
pub use settings::HaSettings;
pub use slave::{HaSlave, SlaveStatus};
