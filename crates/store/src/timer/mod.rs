//! The timer store's derived files (REMOTING.md §6.7): `timerlog/` (what was enqueued and
//! when it is due) and `config/timercheck` (how far enqueueing and delivery got), plus the
//! in-memory pending set rebuilt from them. The messages themselves stay in the CommitLog
//! on `rmq_sys_wheel_timer`; the broker's timer service drives these.

pub mod checkpoint;
pub mod log;
pub mod pending;

pub use checkpoint::{CheckpointFile, TimerCheckpoint};
pub use log::{MAGIC_DEFAULT, MAGIC_DELETE, MAGIC_ROLL, TimerLog, TimerUnit};
pub use pending::{Pending, PendingTimers};
