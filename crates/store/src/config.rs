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
    /// Delay of each classic delay level in ms (`messageDelayLevel`); the dispatcher writes
    /// delivery times into `SCHEDULE_TOPIC_XXXX`'s consume queues with it.
    pub delay_levels_ms: Vec<i64>,
    /// Messages further behind the newest than this percentage of the host's memory are
    /// likely on disk, not in the page cache (`accessMessageInMemoryMaxRatio`, 40): reads of
    /// them are "cold" (see `MessageStore::is_cold`).
    pub access_in_memory_ratio: u32,
}

/// RocketMQ's default `messageDelayLevel`.
pub const DEFAULT_DELAY_LEVELS: &str = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

/// Parses a `messageDelayLevel` string (`1s 5s 1m 2h 1d`) into milliseconds per level.
pub fn parse_delay_levels(text: &str) -> Result<Vec<i64>, String> {
    let levels = text
        .split_whitespace()
        .map(|item| {
            let (number, unit) = item.split_at(item.len().saturating_sub(1));
            let factor = match unit {
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return Err(format!("delay level `{item}` must end in s, m, h or d")),
            };
            number
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .map(|n| n * factor)
                .ok_or_else(|| format!("delay level `{item}` is not a positive number"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if levels.is_empty() {
        return Err("messageDelayLevel lists no levels".into());
    }
    Ok(levels)
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
            delay_levels_ms: parse_delay_levels(DEFAULT_DELAY_LEVELS)
                .expect("the default delay levels parse"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_java_delay_levels_should_parse_all_units_and_refuse_garbage() {
        let levels = parse_delay_levels(DEFAULT_DELAY_LEVELS).unwrap();
        assert_eq!(levels.len(), 18);
        assert_eq!(levels[1], 5_000);
        assert_eq!(levels[17], 7_200_000);
        assert_eq!(parse_delay_levels("1d").unwrap(), vec![86_400_000]);
        assert!(parse_delay_levels("5x").is_err());
        assert!(parse_delay_levels("").is_err());
        assert!(parse_delay_levels("-1s").is_err());
    }
}
