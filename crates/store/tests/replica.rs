//! The replica seam: a second store fed the first one's CommitLog bytes, in frames that do
//! not follow record boundaries, ends up with the same log and the same queues.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use apogee_runtime::SystemClock;
use apogee_store::{FlushMode, GetMessageStatus, MessageStore, ReplicaLog, StoreConfig};
use bytes::Bytes;
use proptest::prelude::*;

fn config(dir: &std::path::Path) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.commit_log_file_bytes = 64 * 1024;
    config.consume_queue_units_per_file = 100;
    config.index = apogee_store::index::IndexSizing {
        slots: 1_000,
        entries: 4_000,
    };
    config.retention.reject_ratio = 1.0;
    config.retention.clean_file_forcibly = false;
    config.flush = FlushMode::java_async_default();
    config
}

fn open(dir: &std::path::Path) -> MessageStore {
    MessageStore::open(config(dir), Arc::new(SystemClock), Vec::new()).unwrap()
}

/// Appends `count` messages and waits until the master's own queues have them all.
fn fill(master: &MessageStore, count: usize) {
    for i in 0..count {
        let body = Bytes::from(vec![u8::try_from(i % 251).unwrap(); 300 + i % 700]);
        let props = format!("TAGS\u{1}t{}\u{2}KEYS\u{1}k{i}\u{2}", i % 3);
        let queue = i32::try_from(i % 4).unwrap();
        master
            .append(&[common::message("R", queue, body, props)])
            .unwrap();
    }
    common::caught_up(master);
}

/// Copies `from..` of the master into the replica in frames cut at `cuts` (cycled).
fn stream(master: &MessageStore, replica: &MessageStore, from: i64, cuts: &[usize]) -> i64 {
    let mut at = from;
    let mut i = 0;
    while let Some(frame) = master.read_from(at, cuts[i % cuts.len()]) {
        at = replica.append_at(at, &frame).unwrap();
        i += 1;
    }
    at
}

fn log_bytes(store: &MessageStore, from: i64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = from;
    while let Some(frame) = store.read_from(at, 1 << 20) {
        out.extend_from_slice(&frame);
        at += i64::try_from(frame.len()).unwrap();
    }
    out
}

fn queue(store: &MessageStore, queue_id: i32, from: i64) -> Vec<Bytes> {
    let got = store.get_messages("R", queue_id, from, (10_000, 64 << 20), None);
    assert_eq!(got.status, GetMessageStatus::Found, "queue {queue_id}");
    got.messages
}

/// The same messages, compared by count and UNIQ-less content without printing megabytes.
fn same(a: &[Bytes], b: &[Bytes]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    #[test]
    fn given_frames_cut_anywhere_replica_should_match_the_master(
        cuts in proptest::collection::vec(1usize..5_000, 1..8),
    ) {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (master, replica) = (open(a.path()), open(b.path()));
        fill(&master, 400);
        let end = stream(&master, &replica, 0, &cuts);
        prop_assert_eq!(end, master.commit_log_max_offset());
        prop_assert!(end > 3 * 64 * 1024, "the test spans several files");
        prop_assert!(log_bytes(&replica, 0) == log_bytes(&master, 0), "the logs differ");
        common::caught_up(&replica);
        for q in 0..4 {
            prop_assert!(same(&queue(&replica, q, 0), &queue(&master, q, 0)), "queue {}", q);
        }
        prop_assert_eq!(replica.query_by_key("R", "k399", 10, 0, i64::MAX).len(), 1);
    }
}

#[test]
fn given_an_empty_replica_when_fed_from_the_last_file_should_serve_queues_from_there() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (master, replica) = (open(a.path()), open(b.path()));
    fill(&master, 400);
    let size = i64::try_from(master.file_size()).unwrap();
    let max = master.commit_log_max_offset();
    let start = max - max % size;
    assert!(start > 0);
    assert!(matches!(
        replica.append_at(start + 1, b"x"),
        Err(apogee_store::StoreError::ReplicaOffset { .. })
    ));
    stream(&master, &replica, start, &[777]);
    common::caught_up(&replica);
    let tail = replica.get_messages("R", 0, 0, (10_000, 64 << 20), None);
    assert!(tail.status != GetMessageStatus::Found || tail.messages.len() < 100);
    let first = replica.min_offset_in_queue("R", 0);
    let theirs = queue(&master, 0, first);
    assert!(
        same(&queue(&replica, 0, first), &theirs),
        "queue 0 from {first}"
    );
}

#[test]
fn given_a_replica_restarted_mid_record_should_resume_at_its_own_end() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = open(a.path());
    fill(&master, 150);
    let half = {
        let replica = open(b.path());
        let first = master.read_from(0, 10_001).unwrap();
        let end = replica.append_at(0, &first).unwrap();
        assert!(
            replica.append_at(end + 1, b"gap").is_err(),
            "a gap is refused"
        );
        replica.shutdown();
        end
    };
    let replica = open(b.path());
    let resumed = replica.max_offset();
    assert!(
        resumed <= half,
        "recovery may cut the torn record, never invent bytes"
    );
    stream(&master, &replica, resumed, &[4096]);
    assert!(
        log_bytes(&replica, 0) == log_bytes(&master, 0),
        "the logs differ"
    );
    common::caught_up(&replica);
    assert!(
        same(&queue(&replica, 1, 0), &queue(&master, 1, 0)),
        "queue 1"
    );
}

/// A demoted master cuts the tail its new master never had: the log, its queues and the next
/// queue offsets go back to the cut, across files, and the store goes on from there (also
/// after a restart).
#[test]
fn given_a_cut_tail_the_queues_follow_and_appends_continue_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store, 400);
    let keep = store.commit_log_max_offset();
    let queue_ends: Vec<i64> = (0..4).map(|q| store.max_offset_in_queue("R", q)).collect();
    fill(&store, 500); // several 64 KiB files past the cut
    assert!(store.commit_log_max_offset() > keep + 3 * 64 * 1024);
    assert!(
        store.truncate_tail(keep + 1).is_err(),
        "not a record boundary"
    );
    assert_eq!(store.truncate_tail(keep).unwrap(), keep);
    assert_eq!(store.commit_log_max_offset(), keep);
    // Nothing above the cut counts as durable any more (new bytes written there are not).
    assert!(store.durable_offset() <= keep);
    let after: Vec<i64> = (0..4).map(|q| store.max_offset_in_queue("R", q)).collect();
    assert_eq!(after, queue_ends);
    let last = store.get_messages("R", 0, queue_ends[0] - 1, (1, 1 << 20), None);
    assert_eq!(last.status, GetMessageStatus::Found);
    let gone = store.get_messages("R", 0, queue_ends[0], (1, 1 << 20), None);
    assert_ne!(gone.status, GetMessageStatus::Found);
    fill(&store, 8);
    assert_eq!(store.max_offset_in_queue("R", 0), queue_ends[0] + 2);
    drop(store);
    let checkpoint =
        apogee_store::checkpoint::Checkpoint::load(&dir.path().join("checkpoint")).unwrap();
    assert!(checkpoint.boundary_offset <= checkpoint.flushed_offset);
    let reopened = open(dir.path());
    assert_eq!(reopened.max_offset_in_queue("R", 0), queue_ends[0] + 2);
}

/// Controller mode's confirm offset: consumers see only what every in-sync replica has. A
/// record that straddles the limit waits; raising the limit releases it.
#[test]
fn given_a_dispatch_limit_the_queues_stop_below_it_until_it_rises() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    fill(&store, 10);
    let before: Vec<i64> = (0..4).map(|q| store.max_offset_in_queue("R", q)).collect();
    let held = store.commit_log_max_offset();
    store.set_dispatch_limit(held + 100); // inside the next record
    for i in 0..8 {
        let body = Bytes::from(vec![1u8; 500]);
        store
            .append(&[common::message("R", i % 4, body, String::new())])
            .unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    let during: Vec<i64> = (0..4).map(|q| store.max_offset_in_queue("R", q)).collect();
    assert_eq!(during, before, "nothing past the limit is consumable");
    store.set_dispatch_limit(i64::MAX);
    common::caught_up(&store);
    let after: i64 = (0..4).map(|q| store.max_offset_in_queue("R", q)).sum();
    assert_eq!(after, before.iter().sum::<i64>() + 8);
}
