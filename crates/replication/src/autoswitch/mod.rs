//! Replication between brokers in controller mode, over RocketMQ 5's AutoSwitch HA protocol
//! (docs/controller-facts.md §7): the slave names its broker id, the master answers with its
//! epoch history, the slave cuts its log back to the last point both histories share, and
//! every frame says which epoch its bytes belong to. The broker switches the two sides on and
//! off as the controller makes it master or slave.

mod master;
mod slave;

pub use master::AsMaster;
pub use slave::AsSlave;
