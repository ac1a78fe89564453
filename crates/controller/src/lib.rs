//! The failover controller's replicated state (RocketMQ 5's controller mode, RIP-44; facts in
//! docs/controller-facts.md): for every broker set, its replicas and broker ids, which one is
//! master, the master epoch, and the SyncStateSet (the replicas caught up enough to take
//! over) with its epoch.
//!
//! ```text
//! request ─► decide::* (validate against the state + who is alive) ─► Event ─► raft log
//!                                                                          │ committed
//!                                         ControllerState::apply(event) ◄──┘ (every node)
//! ```
//! Deciding is separate from applying: only the leader decides, every node applies the same
//! committed events in the same order, so every node holds the same state. Nothing here does
//! I/O; the raft layer (openraft) and the remoting front end come on top.

pub mod config;
pub mod decide;
mod event;
pub mod live;
mod node;
pub mod raft;
mod service;
mod settings;
mod state;

pub use config::{ControllerConfig, RawControllerConfig};
pub use event::Event;
pub use node::{Controller, ControllerError, run};
pub use state::{BrokerId, BrokerSet, ControllerState, Replica};
