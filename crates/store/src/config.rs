//! Store settings with RocketMQ's defaults.

use std::path::PathBuf;
use std::time::Duration;

/// How appends become durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushMode {
    /// Flush in the background every `interval`, when at least `min_pages` 4 KiB pages are dirty
    /// (or every `thorough_interval` regardless). Java: ASYNC_FLUSH, 500 ms, 4 pages, 10 s.
    Async {
        interval: Duration,
        min_pages: usize,
        thorough_interval: Duration,
    },
    /// An append is acknowledged only after its bytes are fsynced; concurrent appends share
    /// one fsync (group commit). Java: SYNC_FLUSH, timeout 5 s.
    Sync { timeout: Duration },
}

impl FlushMode {
    pub fn java_async_default() -> Self {
        Self::Async {
            interval: Duration::from_millis(500),
            min_pages: 4,
            thorough_interval: Duration::from_secs(10),
        }
    }

    pub fn java_sync_default() -> Self {
        Self::Sync {
            timeout: Duration::from_secs(5),
        }
    }
}

/// Everything the store needs to open.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// `storePathRootDir`: holds `commitlog/`, `consumequeue/`, `index/`, `checkpoint`, `abort`, `lock`.
    pub root: PathBuf,
    /// `mappedFileSizeCommitLog`, 1 GiB.
    pub commit_log_file_bytes: usize,
    /// Units per consume-queue file, 300,000.
    pub consume_queue_units_per_file: usize,
    /// Largest stored record: `maxMessageSize` (4 MiB) plus 64 KiB for headers and properties.
    pub record_bytes_max: usize,
    pub flush: FlushMode,
    /// Verify body CRCs when recovering after a crash (`checkCRCOnRecover`, true).
    pub check_crc_on_recover: bool,
    /// Append the whole-record CRC property to every record (`enabledAppendPropCRC`, false).
    /// Recovery verifies it wherever present.
    pub append_prop_crc: bool,
    /// Index file sizing (`maxHashSlotNum`, `maxIndexNum`).
    pub index: crate::index::IndexSizing,
    pub retention: crate::retention::RetentionConfig,
}

impl StoreConfig {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            commit_log_file_bytes: 1024 * 1024 * 1024,
            consume_queue_units_per_file: crate::consume_queue::DEFAULT_UNITS_PER_FILE,
            record_bytes_max: 4 * 1024 * 1024 + 64 * 1024,
            flush: FlushMode::java_async_default(),
            check_crc_on_recover: true,
            append_prop_crc: false,
            index: crate::index::IndexSizing::default(),
            retention: crate::retention::RetentionConfig::default(),
        }
    }

    pub fn commit_log_dir(&self) -> PathBuf {
        self.root.join("commitlog")
    }

    pub fn consume_queue_dir(&self) -> PathBuf {
        self.root.join("consumequeue")
    }

    pub fn index_dir(&self) -> PathBuf {
        self.root.join("index")
    }
}
