//! Store errors. The broker maps them to response codes at its processor boundary.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("message record of {size} bytes exceeds the {max}-byte limit")]
    RecordTooLarge { size: usize, max: usize },
    #[error("properties of {size} bytes exceed the 32767-byte limit")]
    PropertiesTooLarge { size: usize },
    #[error("topic of {size} bytes is too long for a stored record")]
    TopicTooLong { size: usize },
    #[error("not a valid topic for the store: {0}")]
    InvalidTopic(String),
    #[error(
        "service not available: disk full ({used_percent}% used, writes refused above {limit_percent}%)"
    )]
    DiskFull {
        used_percent: u32,
        limit_percent: u32,
    },
    #[error("store is read-only: {0}")]
    NotWritable(String),
    #[error("store directory {path} is in use by another process")]
    Locked { path: String },
    #[error("I/O error on {what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("replicated bytes at offset {got} do not continue this log (its end is {expected})")]
    ReplicaOffset { expected: i64, got: i64 },
    #[error("corrupt store data: {0}")]
    Corrupt(String),
    #[error("consume queue {queue} cannot be opened ({cause}); tried again in {retry_in_s} s")]
    QueueUnavailable {
        queue: String,
        cause: String,
        retry_in_s: u64,
    },
}

impl StoreError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
        let what = what.into();
        move |source| StoreError::Io { what, source }
    }
}
