//! State the processors share, one manager per concern. Each is a cloneable handle around a
//! std lock that is never held across `.await` or file IO on the request path.

pub mod client_registry;
pub mod consumer_offset;
pub mod orphan_checks;
pub mod other_calls;
pub mod pop_checkpoint;
pub mod pop_state;
pub mod queue_lock;
pub mod subscription_group;
pub mod topic_config;
pub mod topic_journal;

pub use apogee_model::system_topic::{dlq_topic, retry_topic};
