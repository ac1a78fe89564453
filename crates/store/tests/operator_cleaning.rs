//! The cleanings an operator asks for (mqadmin cleanExpiredCQ, cleanUnusedTopic,
//! deleteExpiredCommitLog) on real files: only what they name goes, and the store keeps
//! serving what stays.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use apogee_runtime::{Clock, ManualClock, SystemClock};
use apogee_store::index::IndexSizing;
use apogee_store::{GetMessageStatus, MessageStore, StoreConfig};

/// Small files; retention only by age and only when asked (no `deleteWhen` hour, a pass
/// interval longer than any test).
fn config(dir: &Path) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.commit_log_file_bytes = 64 * 1024;
    config.consume_queue_units_per_file = 50;
    config.index = IndexSizing {
        slots: 64,
        entries: 256,
    };
    config.retention.check_interval = Duration::from_secs(3600);
    config.retention.delete_when_hours = Vec::new();
    config.retention.clean_file_forcibly = false;
    config.retention.clean_ratio = 1.0;
    config.retention.reject_ratio = 1.0;
    config
}

fn fill(store: &MessageStore, topic: &str, count: usize) {
    for _ in 0..count {
        store
            .append(&[common::message(topic, 0, vec![7u8; 1000], String::new())])
            .unwrap();
    }
}

fn dispatched(store: &MessageStore) {
    common::wait_until("dispatch", || {
        store.dispatched_offset() >= store.commit_log_max_offset()
    });
}

/// "Old" is stored first and fills two files; "Live" comes after. Once the old files have
/// expired and gone, Old's queue indexes nothing the CommitLog still has.
fn store_with_expired_topic(dir: &Path) -> (MessageStore, ManualClock) {
    let clock = ManualClock::new(SystemClock.now_ms());
    let store = MessageStore::open(config(dir), Arc::new(clock.clone()), Vec::new()).unwrap();
    fill(&store, "Old", 130);
    fill(&store, "Live", 70);
    dispatched(&store);
    clock.advance_ms(73 * 3_600_000);
    (store, clock)
}

#[test]
fn given_a_queue_whose_messages_all_expired_should_delete_it_and_keep_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _clock) = store_with_expired_topic(dir.path());
    assert!(store.clean_now(true).unwrap().commit_log_files >= 2);
    assert!(store.commit_log_min_offset() > 0);
    assert_eq!(store.max_offset_in_queue("Old", 0), 130);
    let old_dir = dir.path().join("consumequeue").join("Old");
    assert!(old_dir.exists(), "retention keeps a queue's last file");

    // The broker says which topics may go; a topic it protects stays.
    assert_eq!(store.clean_expired_queues(|t| t != "Old").unwrap(), 0);
    assert!(old_dir.exists());
    assert_eq!(store.clean_expired_queues(|_| true).unwrap(), 1);
    assert!(!old_dir.exists());
    assert_eq!(
        store.max_offset_in_queue("Live", 0),
        70,
        "a queue with live messages stays"
    );
    let got = store.get_messages("Live", 0, 69, (32, 1 << 20), None);
    assert_eq!(got.status, GetMessageStatus::Found);

    // The deleted queue's offsets go on from where they were.
    fill(&store, "Old", 1);
    dispatched(&store);
    assert_eq!(store.max_offset_in_queue("Old", 0), 131);
    let got = store.get_messages("Old", 0, 130, (32, 1 << 20), None);
    assert_eq!(
        (got.status, got.queue_offsets.clone()),
        (GetMessageStatus::Found, vec![130])
    );
    assert_eq!(
        store.clean_expired_queues(|_| true).unwrap(),
        0,
        "it holds a live message again"
    );
}

#[test]
fn given_a_restart_a_queue_deleted_before_its_first_append_should_keep_its_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let (store, clock) = store_with_expired_topic(dir.path());
    assert!(store.clean_now(true).unwrap().commit_log_files >= 2);
    store.shutdown();
    drop(store);
    let store = MessageStore::open(config(dir.path()), Arc::new(clock), Vec::new()).unwrap();
    // Nothing was appended to "Old" since the restart: its next offset comes from its queue.
    assert_eq!(store.clean_expired_queues(|t| t == "Old").unwrap(), 1);
    let next = store
        .append(&[common::message("Old", 0, vec![7u8; 10], String::new())])
        .unwrap();
    assert_eq!(
        next.queue_offset, 130,
        "numbering goes on while the store runs"
    );
}

#[test]
fn given_topics_the_broker_no_longer_has_should_delete_only_their_queues() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(SystemClock.now_ms());
    let store = MessageStore::open(config(dir.path()), Arc::new(clock), Vec::new()).unwrap();
    fill(&store, "Gone", 3);
    fill(&store, "Kept", 3);
    dispatched(&store);
    assert_eq!(store.clean_unused_topics(|t| t == "Gone").unwrap(), 1);
    assert!(!dir.path().join("consumequeue").join("Gone").exists());
    assert_eq!(store.max_offset_in_queue("Gone", 0), 0);
    assert_eq!(store.max_offset_in_queue("Kept", 0), 3);
    assert_eq!(store.clean_unused_topics(|t| t == "Gone").unwrap(), 0);
}

#[test]
fn given_a_manual_delete_request_should_delete_expired_files_outside_delete_when_hours() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _clock) = store_with_expired_topic(dir.path());
    assert_eq!(
        store.commit_log_min_offset(),
        0,
        "no pass has run: no hour is a deleteWhen hour and the interval is an hour"
    );
    store.delete_expired_files_manually();
    common::wait_until("the manual pass", || store.commit_log_min_offset() > 0);
    // The file being written is never expired.
    let got = store.get_messages("Live", 0, 69, (32, 1 << 20), None);
    assert_eq!(
        got.status,
        GetMessageStatus::Found,
        "the newest message stays"
    );
}
