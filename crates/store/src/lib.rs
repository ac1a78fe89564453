//! Local persistence, byte-compatible with RocketMQ's store (REMOTING.md §4.3, §6).
//!
//! ```text
//! MessageStore::append ─► commit_log (the only truth, mapped 1 GiB files)
//!                              │ reput thread (dispatch)            flush thread
//!                              ├──► consume_queue (20-byte units)   (async timer or
//!                              └──► more dispatchers (index, …)      sync group commit)
//! MessageStore::get_messages ◄── consume_queue units ─► zero-copy record slices
//! ```
//! No sockets here: the store can be tested, fuzzed and benchmarked alone.

pub mod capability;
pub mod checkpoint;
mod cleaner;
pub mod commit_log;
pub mod config;
pub mod consume_queue;
mod consume_queues;
pub mod dispatch;
mod doorbell;
mod error;
pub mod flush;
pub mod index;
pub mod io;
pub mod mapped_file;
pub mod mapped_file_queue;
pub mod quarantine;
pub mod read;
pub mod recovery;
pub mod retention;
mod store;
pub mod timer;

pub use capability::{AppendLog, Durable, QueueReader, RecordReader, StoreAdmin};
pub use cleaner::{CleanReport, local_hour};
pub use commit_log::{AppendOutcome, MessageToStore, normalize_properties};
pub use config::{FlushMode, StoreConfig};
pub use error::StoreError;
pub use read::{GetMessageResult, GetMessageStatus};
pub use store::replica::ReplicaLog;
pub use store::{MessageStore, PutStatus, StoreHealth};
