//! The domain vocabulary every Apogee crate shares.
//!
//! Pure types only: no IO, no async. Names are validated newtypes so that a bare `String`
//! never stands for a topic or a broker; permissions and topic flags are the RocketMQ bit
//! values; [`TopicConfig`] and [`DataVersion`] carry the field names RocketMQ writes in JSON.

mod access;
mod data_version;
mod names;
mod perm;
pub mod sql92;
pub mod system_topic;
mod topic_config;

pub use access::{Action, Actions, ResourceKind};
pub use data_version::DataVersion;
pub use names::{
    BrokerName, ClusterName, GroupName, NameError, SYSTEM_TOPICS, TopicName, is_system_topic,
};
pub use perm::{Perm, TopicSysFlag};
pub use topic_config::{TopicConfig, TopicFilterType};

/// Broker id of a master; slaves use ids ≥ 1.
pub const MASTER_ID: i64 = 0;
