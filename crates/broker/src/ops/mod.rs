//! The broker's message operations beneath the remoting processors: what a send, a commit or
//! an internal re-put does to a message, independent of the request that carried it.

pub mod combine;
pub mod get;
pub mod message_type;
pub mod pop;
pub mod put;
pub mod redirect;
pub mod reput;
