//! Retention and disk protection.
//!
//! - Expired CommitLog files (older than `file_reserved_hours`) are deleted at `delete_when`
//!   hours, or at any time when disk usage passes `clean_ratio` (75 %).
//! - Above `force_clean_ratio` (85 %) the oldest files go even if not expired
//!   (`cleanFileForciblyEnable`).
//! - Above `reject_ratio` (90 %) appends are refused with "disk full"; the guard re-measures at
//!   most once a second while refusing, so writes resume by themselves as soon as space is
//!   freed (RocketMQ waits for its next 10 s clean cycle and users see CODE 14 until then).
//! - Consume-queue and index files wholly before the new CommitLog start are deleted too.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::StoreError;

/// Retention settings with RocketMQ's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionConfig {
    /// `fileReservedTime`: hours a CommitLog file is kept (72).
    pub file_reserved_hours: u64,
    /// `deleteWhen`: hours of the day (UTC) when expired files are deleted ("04").
    pub delete_when_hours: Vec<u32>,
    /// `diskMaxUsedSpaceRatio`: above this, expired files are deleted at any hour (0.75).
    pub clean_ratio: f64,
    /// `diskSpaceCleanForciblyRatio`: above this, the oldest files are deleted even if not expired (0.85).
    pub force_clean_ratio: f64,
    /// `diskSpaceWarningLevelRatio`: above this, appends are refused (0.90).
    pub reject_ratio: f64,
    /// `cleanFileForciblyEnable` (true).
    pub clean_file_forcibly: bool,
    /// How often the cleaner runs (10 s).
    pub check_interval: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            file_reserved_hours: 72,
            delete_when_hours: vec![4],
            clean_ratio: 0.75,
            force_clean_ratio: 0.85,
            reject_ratio: 0.90,
            clean_file_forcibly: true,
            check_interval: Duration::from_secs(10),
        }
    }
}

/// Parses Java's `deleteWhen` ("04" or "04;12").
pub fn parse_delete_when(text: &str) -> Result<Vec<u32>, String> {
    text.split(';')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| {
            h.parse::<u32>()
                .ok()
                .filter(|h| *h < 24)
                .ok_or_else(|| format!("deleteWhen hour {h:?} is not 0-23"))
        })
        .collect()
}

/// Used fraction of the filesystem holding `path`.
pub fn disk_usage(path: &Path) -> std::io::Result<f64> {
    let total = fs4::total_space(path)?;
    let available = fs4::available_space(path)?;
    if total == 0 {
        return Ok(0.0);
    }
    Ok((total.saturating_sub(available)) as f64 / total as f64)
}

/// (total, free) bytes of the filesystem holding `path` (free counts blocks reserved for root,
/// like Java's `File.getFreeSpace`).
pub fn disk_space(path: &Path) -> std::io::Result<(u64, u64)> {
    Ok((fs4::total_space(path)?, fs4::free_space(path)?))
}

/// Refuses appends while the disk is too full, re-measuring at most once a second.
#[derive(Debug)]
pub struct DiskGuard {
    path: PathBuf,
    /// The refusal threshold as `f64` bits, so it can change while the store runs.
    reject_ratio: AtomicU64,
    full: AtomicBool,
    used_percent: AtomicU32,
    last_check_ms: AtomicI64,
}

impl DiskGuard {
    pub fn new(path: &Path, reject_ratio: f64) -> Self {
        Self {
            path: path.to_owned(),
            reject_ratio: AtomicU64::new(reject_ratio.to_bits()),
            full: AtomicBool::new(false),
            used_percent: AtomicU32::new(0),
            last_check_ms: AtomicI64::new(i64::MIN),
        }
    }

    fn reject_ratio(&self) -> f64 {
        f64::from_bits(self.reject_ratio.load(Ordering::Acquire))
    }

    /// Moves the refusal threshold; takes effect at the next measurement.
    pub fn set_reject_ratio(&self, ratio: f64) {
        self.reject_ratio.store(ratio.to_bits(), Ordering::Release);
    }

    /// Measures now; returns the used fraction.
    pub fn measure(&self, now_ms: i64) -> f64 {
        self.last_check_ms.store(now_ms, Ordering::Release);
        let reject_ratio = self.reject_ratio();
        match disk_usage(&self.path) {
            Ok(used) => {
                let was_full = self.full.swap(used > reject_ratio, Ordering::AcqRel);
                self.used_percent
                    .store((used * 100.0) as u32, Ordering::Release);
                if was_full != (used > reject_ratio) {
                    if was_full {
                        tracing::info!(
                            used_percent = (used * 100.0) as u32,
                            "disk space freed: writes resume"
                        );
                    } else {
                        tracing::error!(
                            used_percent = (used * 100.0) as u32,
                            "disk full: refusing writes"
                        );
                    }
                }
                used
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot measure disk usage");
                0.0
            }
        }
    }

    /// Ok if appends may proceed.
    pub fn check(&self, now_ms: i64) -> Result<(), StoreError> {
        if self.full.load(Ordering::Acquire)
            && now_ms - self.last_check_ms.load(Ordering::Acquire) >= 1000
        {
            self.measure(now_ms);
        }
        if self.full.load(Ordering::Acquire) {
            return Err(StoreError::DiskFull {
                used_percent: self.used_percent.load(Ordering::Acquire),
                limit_percent: (self.reject_ratio() * 100.0) as u32,
            });
        }
        Ok(())
    }

    /// Marks the disk full after a failed allocation (ENOSPC), so appends stop at once.
    pub fn mark_full(&self, now_ms: i64) {
        self.full.store(true, Ordering::Release);
        self.last_check_ms.store(now_ms, Ordering::Release);
    }
}

/// What one cleaning pass should delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanDecision {
    Nothing,
    /// Expired files only.
    Expired,
    /// Oldest files regardless of age (disk nearly full).
    Forcibly,
}

/// Decides a cleaning pass from the hour of day, disk usage and whether a manual delete was asked.
pub fn decide(config: &RetentionConfig, hour_utc: u32, used: f64, manual: bool) -> CleanDecision {
    if config.clean_file_forcibly && used > config.force_clean_ratio {
        CleanDecision::Forcibly
    } else if manual || used > config.clean_ratio || config.delete_when_hours.contains(&hour_utc) {
        CleanDecision::Expired
    } else {
        CleanDecision::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_usage_and_hour_should_decide_like_rocketmq() {
        let config = RetentionConfig::default();
        assert_eq!(decide(&config, 3, 0.10, false), CleanDecision::Nothing);
        assert_eq!(decide(&config, 4, 0.10, false), CleanDecision::Expired);
        assert_eq!(decide(&config, 3, 0.80, false), CleanDecision::Expired);
        assert_eq!(decide(&config, 3, 0.10, true), CleanDecision::Expired);
        assert_eq!(decide(&config, 3, 0.86, false), CleanDecision::Forcibly);
        let off = RetentionConfig {
            clean_file_forcibly: false,
            ..RetentionConfig::default()
        };
        assert_eq!(decide(&off, 3, 0.86, false), CleanDecision::Expired);
    }

    #[test]
    fn given_delete_when_text_should_parse_hours() {
        assert_eq!(parse_delete_when("04").unwrap(), vec![4]);
        assert_eq!(parse_delete_when("04;12").unwrap(), vec![4, 12]);
        assert!(parse_delete_when("25").is_err());
    }
}
