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
    /// The tags code some records get in their consume queue instead of their tag's hash
    /// (the broker's delay levels write delivery times); none by default.
    pub tags_code: TagsCodeRule,
    /// Messages further behind the newest than this percentage of the host's memory are
    /// likely on disk, not in the page cache (`accessMessageInMemoryMaxRatio`, 40): reads of
    /// them are "cold" (see `MessageStore::is_cold`).
    pub access_in_memory_ratio: u32,
}

/// A rule giving a record its consume-queue tags code (`None`: its tag's hash). The store
/// knows nothing of what the rule means; the broker passes one at open.
#[derive(Clone, Default)]
pub struct TagsCodeRule(Option<std::sync::Arc<TagsCodeFn>>);

/// The function behind a [`TagsCodeRule`].
pub type TagsCodeFn = dyn Fn(&apogee_protocol::record::StoredRecord) -> Option<i64> + Send + Sync;

impl TagsCodeRule {
    pub fn new(
        rule: impl Fn(&apogee_protocol::record::StoredRecord) -> Option<i64> + Send + Sync + 'static,
    ) -> Self {
        Self(Some(std::sync::Arc::new(rule)))
    }

    /// The code the rule gives `record`, if any.
    pub fn apply(&self, record: &apogee_protocol::record::StoredRecord) -> Option<i64> {
        self.0.as_ref().and_then(|rule| rule(record))
    }
}

impl std::fmt::Debug for TagsCodeRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "TagsCodeRule(custom)"
        } else {
            "TagsCodeRule(none)"
        })
    }
}

impl PartialEq for TagsCodeRule {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
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
            tags_code: TagsCodeRule::default(),
            access_in_memory_ratio: 40,
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

    /// How far behind the newest message a read may start and still count as served from
    /// memory: `access_in_memory_ratio` percent of the host's RAM.
    pub fn hot_read_bytes(&self) -> i64 {
        let info = rustix::system::sysinfo();
        let total = u128::from(info.totalram) * u128::from(info.mem_unit.max(1));
        let hot = total * u128::from(self.access_in_memory_ratio.min(100)) / 100;
        i64::try_from(hot).unwrap_or(i64::MAX).max(64 * 1024 * 1024)
    }
}
