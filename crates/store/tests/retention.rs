//! Retention and disk protection on real files: expired files go, reads move past them,
//! and a full disk refuses writes until space is freed, then writes resume by themselves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use apogee_runtime::{Clock, ManualClock, SystemClock};
use apogee_store::index::IndexSizing;
use apogee_store::{GetMessageStatus, MessageStore, MessageToStore, StoreConfig, StoreError};

fn message(body_len: usize) -> MessageToStore {
    common::message("R", 0, vec![9u8; body_len], String::new())
}

fn config(dir: &Path, file_bytes: usize) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.commit_log_file_bytes = file_bytes;
    config.consume_queue_units_per_file = 50;
    config.index = IndexSizing {
        slots: 64,
        entries: 256,
    };
    config.retention.check_interval = Duration::from_millis(100);
    config
}

#[test]
fn given_expired_files_when_cleaned_should_delete_them_and_move_queue_min_offset() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(SystemClock.now_ms());
    let mut config = config(dir.path(), 64 * 1024);
    // Only age decides here, whatever the host's disk usage: a nearly full CI disk would
    // otherwise delete the oldest files forcibly before they expire.
    config.retention.clean_file_forcibly = false;
    config.retention.clean_ratio = 1.0;
    config.retention.reject_ratio = 1.0;
    let store = MessageStore::open(config, Arc::new(clock.clone()), Vec::new()).unwrap();
    for _ in 0..200 {
        store.append(&[message(1000)]).unwrap();
    }
    common::wait_until("dispatch", || {
        store.dispatched_offset() >= store.commit_log_max_offset()
    });
    let report = store.clean_now(true).unwrap();
    assert_eq!(report.commit_log_files, 0, "nothing is older than 72 h yet");
    clock.advance_ms(73 * 3_600_000);
    let report = store.clean_now(true).unwrap();
    assert!(report.commit_log_files >= 2, "{report:?}");
    assert!(report.consume_queue_files >= 1, "{report:?}");
    let min = store.min_offset_in_queue("R", 0);
    assert!(min > 0);
    let got = store.get_messages("R", 0, 0, (32, 1 << 20), None);
    assert_eq!(
        (got.status, got.next_begin_offset),
        (GetMessageStatus::OffsetTooSmall, min)
    );
    let got = store.get_messages("R", 0, min, (32, 1 << 20), None);
    assert_eq!(got.status, GetMessageStatus::Found);
    assert_eq!(store.max_offset_in_queue("R", 0), 200);
}

#[test]
fn given_retention_updated_while_running_when_cleaned_should_use_the_new_reserved_time() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(SystemClock.now_ms());
    let mut config = config(dir.path(), 64 * 1024);
    config.retention.clean_file_forcibly = false;
    config.retention.clean_ratio = 1.0;
    config.retention.reject_ratio = 1.0;
    let store = MessageStore::open(config, Arc::new(clock.clone()), Vec::new()).unwrap();
    for _ in 0..200 {
        store.append(&[message(1000)]).unwrap();
    }
    common::wait_until("dispatch", || {
        store.dispatched_offset() >= store.commit_log_max_offset()
    });
    clock.advance_ms(49 * 3_600_000);
    assert_eq!(store.clean_now(true).unwrap().commit_log_files, 0, "72 h");
    let mut retention = store.retention();
    retention.file_reserved_hours = 48;
    store.update_retention(retention);
    assert_eq!(store.retention().file_reserved_hours, 48);
    assert_eq!(
        store.config().retention.file_reserved_hours,
        72,
        "as opened"
    );
    assert!(store.clean_now(true).unwrap().commit_log_files >= 2);
}

/// Mounts a size-limited tmpfs for the test and unmounts it afterwards.
struct SmallDisk(tempfile::TempDir);

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "this test mounts a small tmpfs and needs root (CI runs as root)"
        );
        SmallDisk(dir)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn given_full_disk_when_appending_should_refuse_then_resume_once_space_is_freed() {
    let disk = SmallDisk::mount("16m");
    let root = disk.0.path().join("store");
    let filler = disk.0.path().join("filler");
    std::fs::write(&filler, vec![1u8; 11 * 1024 * 1024]).unwrap();
    let store = MessageStore::open(
        config(&root, 1024 * 1024),
        Arc::new(SystemClock),
        Vec::new(),
    )
    .unwrap();
    let mut acked = Vec::new();
    let refused = loop {
        match store.append(&[message(16 * 1024)]) {
            Ok(outcome) => acked.push(outcome.physical_offset),
            Err(e) => break e,
        }
        assert!(acked.len() < 2_000, "the disk never filled up");
    };
    assert!(matches!(refused, StoreError::DiskFull { .. }), "{refused}");
    assert!(refused.to_string().contains("disk full"), "{refused}");
    assert!(matches!(
        store.append(&[message(10)]),
        Err(StoreError::DiskFull { .. })
    ));
    for offset in &acked {
        assert!(
            store.record_at(*offset).is_some(),
            "acknowledged message at {offset} lost"
        );
    }
    std::fs::remove_file(&filler).unwrap();
    common::wait_until("writes to resume", || store.append(&[message(10)]).is_ok());
    drop(store);
}
