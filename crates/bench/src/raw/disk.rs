//! File appends: `size`-byte writes to a fresh temp file in the chosen directory, one `write`
//! per message, flushed one of two ways:
//!
//! * async: no flush while writing, or `fdatasync` every `fsync_every_bytes`; one final
//!   `fdatasync` whose time is reported apart (`final_sync_s`): an async-flush broker
//!   acknowledges after the page-cache write, as this loop counts.
//! * sync: `batch` writes then `fdatasync`, like a broker's group commit with `batch`
//!   messages per flush; every batch waits for its flush.
//!
//! The file is deleted at the end; a run never writes more than [`DISK_BYTES_MAX`].

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apogee_runtime::Shutdown;
use serde_json::{Map, Value, json};

use crate::config::{Limit, MESSAGE_BYTES_MAX, check_range};
use crate::error::{BenchError, Result};
use crate::progress::{Follow, Progress};
use crate::report::Report;
use crate::stats::{Counters, Latency, Throughput};

/// Most bytes one run appends (1 GiB); duration runs stop there.
pub const DISK_BYTES_MAX: u64 = 1 << 30;

/// When appended data is forced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFlush {
    /// `fdatasync` every this many bytes; 0: only once at the end.
    Async { fsync_every_bytes: u64 },
    /// `fdatasync` after every `batch` messages.
    Sync { batch: usize },
}

/// A file-append run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskConfig {
    /// Directory of the temp file (put it on the disk the broker stores to).
    pub dir: PathBuf,
    pub size: usize,
    pub flush: DiskFlush,
    pub limit: Limit,
    pub progress: bool,
}

impl Default for DiskConfig {
    fn default() -> Self {
        Self {
            dir: std::env::temp_dir(),
            size: 1024,
            flush: DiskFlush::Async {
                fsync_every_bytes: 0,
            },
            limit: Limit::default(),
            progress: false,
        }
    }
}

impl DiskConfig {
    pub fn validate(&self) -> Result<()> {
        check_range("--size", self.size, 1, MESSAGE_BYTES_MAX)?;
        if let DiskFlush::Sync { batch } = self.flush {
            check_range("--batch", batch, 1, 1 << 20)?;
        }
        if self.limit.messages == Some(0) || self.limit.duration.is_some_and(|d| d.is_zero()) {
            return Err(BenchError::Config(
                "--messages and --duration must be positive".into(),
            ));
        }
        let planned = self
            .limit
            .producer_messages()
            .map(|m| m.saturating_mul(self.size as u64));
        if planned.is_some_and(|bytes| bytes > DISK_BYTES_MAX) {
            return Err(BenchError::Config(format!(
                "--messages × --size exceeds the {DISK_BYTES_MAX} B a disk run may write"
            )));
        }
        Ok(())
    }

    fn settings(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("dir".into(), json!(self.dir.display().to_string()));
        map.insert("size".into(), json!(self.size));
        match self.flush {
            DiskFlush::Async { fsync_every_bytes } => {
                map.insert("flush".into(), json!("async"));
                map.insert("fsync_every_bytes".into(), json!(fsync_every_bytes));
            }
            DiskFlush::Sync { batch } => {
                map.insert("flush".into(), json!("sync"));
                map.insert("batch".into(), json!(batch));
            }
        }
        if let Some(m) = self.limit.producer_messages() {
            map.insert("messages".into(), json!(m));
        }
        if let Some(d) = self.limit.duration {
            map.insert("duration_s".into(), json!(d.as_secs_f64()));
        }
        map
    }
}

/// What the writer loop measured.
struct Appended {
    messages: u64,
    elapsed: Duration,
    fsyncs: u64,
    fsync_latency: Latency,
    final_sync: Duration,
    capped: bool,
}

/// Appends to a temp file and reports messages and MB per second.
pub async fn disk(config: &DiskConfig, stop: Shutdown) -> Result<Report> {
    config.validate()?;
    let counters = Arc::new(Counters::default());
    let total = config.limit.producer_messages();
    let progress = Progress::start(config.progress, total, Arc::clone(&counters), Follow::Sent);
    let run = {
        let (config, counters, stop) = (config.clone(), Arc::clone(&counters), stop.clone());
        tokio::task::spawn_blocking(move || append(&config, &counters, &stop))
    };
    let appended = run.await;
    progress.finish();
    let appended =
        appended.map_err(|e| BenchError::Failed(format!("the disk writer failed: {e}")))??;
    let mut report = Report::new("raw-disk", config.settings());
    report.elapsed_s = appended.elapsed.as_secs_f64();
    report.sent = Some(Throughput::new(
        appended.messages,
        appended.messages * config.size as u64,
        appended.elapsed,
    ));
    report.extra.insert("fsyncs".into(), json!(appended.fsyncs));
    report.extra.insert(
        "final_sync_s".into(),
        json!(appended.final_sync.as_secs_f64()),
    );
    if let Some(fsync) = appended.fsync_latency.summary() {
        report.extra.insert("fsync_latency".into(), json!(fsync));
    }
    if appended.capped {
        report.notes.push(format!(
            "stopped at the {DISK_BYTES_MAX} B a disk run may write"
        ));
    }
    Ok(report)
}

fn append(config: &DiskConfig, counters: &Counters, stop: &Shutdown) -> Result<Appended> {
    let file = tempfile::Builder::new()
        .prefix("apogee-bench-disk-")
        .tempfile_in(&config.dir)
        .map_err(|e| BenchError::io(format!("creating a file in {}", config.dir.display()), e))?;
    let mut out = file.as_file();
    let body = vec![b'x'; config.size];
    let size = config.size as u64;
    let quota = config.limit.producer_messages();
    let start = Instant::now();
    let deadline = config.limit.duration.map(|d| start + d);
    let (batch, fsync_every) = match config.flush {
        DiskFlush::Sync { batch } => (batch as u64, 0),
        DiskFlush::Async { fsync_every_bytes } => (64, fsync_every_bytes),
    };
    let mut done = Appended {
        messages: 0,
        elapsed: Duration::ZERO,
        fsyncs: 0,
        fsync_latency: Latency::new(),
        final_sync: Duration::ZERO,
        capped: false,
    };
    let mut unsynced = 0u64;
    let io = |e| BenchError::io("appending to the temp file", e);
    loop {
        let left = quota.map_or(u64::MAX, |q| q - done.messages);
        if left == 0 || stop.is_triggered() || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        if (done.messages + 1) * size > DISK_BYTES_MAX {
            done.capped = true;
            break;
        }
        let n = left
            .min(batch)
            .min((DISK_BYTES_MAX / size).saturating_sub(done.messages));
        let batch_start = Instant::now();
        for _ in 0..n {
            out.write_all(&body).map_err(io)?;
        }
        unsynced += n * size;
        let sync_now = match config.flush {
            DiskFlush::Sync { .. } => true,
            DiskFlush::Async { .. } => fsync_every > 0 && unsynced >= fsync_every,
        };
        if sync_now {
            out.sync_data().map_err(io)?;
            done.fsyncs += 1;
            unsynced = 0;
            done.fsync_latency.record(batch_start.elapsed());
        }
        done.messages += n;
        counters.add_sent(n, n * size);
    }
    done.elapsed = start.elapsed();
    let final_start = Instant::now();
    out.sync_data().map_err(io)?;
    done.final_sync = final_start.elapsed();
    // `file` is deleted when dropped here.
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn given_sync_batches_should_fsync_once_per_batch_and_remove_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = DiskConfig {
            dir: dir.path().to_owned(),
            size: 100,
            flush: DiskFlush::Sync { batch: 8 },
            limit: Limit::messages(20),
            progress: false,
        };
        let report = disk(&config, Shutdown::new()).await.unwrap();
        let sent = report.sent.unwrap();
        assert_eq!(sent.messages, 20);
        assert_eq!(sent.bytes, 2000);
        assert_eq!(report.extra["fsyncs"], 3, "8 + 8 + 4");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn given_async_flush_every_bytes_should_fsync_when_crossed() {
        let dir = tempfile::tempdir().unwrap();
        let config = DiskConfig {
            dir: dir.path().to_owned(),
            size: 1000,
            flush: DiskFlush::Async {
                fsync_every_bytes: 100_000,
            },
            limit: Limit::messages(1000),
            progress: false,
        };
        let report = disk(&config, Shutdown::new()).await.unwrap();
        assert_eq!(report.sent.unwrap().messages, 1000);
        // 64-message steps of 64 kB: a sync after every second step (128 kB ≥ 100 kB), the
        // last after the 40-message tail (104 kB).
        assert_eq!(report.extra["fsyncs"], 8);
    }

    #[test]
    fn given_run_larger_than_the_cap_should_refuse() {
        let config = DiskConfig {
            size: 1 << 20,
            limit: Limit::messages(2048),
            ..DiskConfig::default()
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("exceeds"), "{err}");
    }
}
