//! Local persistence, byte-compatible with RocketMQ's store (REMOTING.md §4.3, §6).
//!
//! ```text
//! mapped_file ──► mapped_file_queue ──► commit_log (the only truth)
//!                                            │ reput (dispatch)
//!                                            ├──► consume_queue  (topic/queue → 20-byte units)
//!                                            └──► index          (key → commit-log offset)
//! ```
//! No sockets here: the store is driven by the broker through narrow traits and can be
//! tested, fuzzed and benchmarked alone.

pub mod commit_log;
pub mod consume_queue;
mod error;
pub mod mapped_file;
pub mod mapped_file_queue;
pub use error::StoreError;
