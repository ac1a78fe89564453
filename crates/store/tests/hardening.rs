//! The store against damage and hostile input on real files: failed flushes, consume queues
//! that cannot be written, records that must not be dispatched, forged offsets, deleted
//! topics, and a store laid out by RocketMQ itself.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use apogee_protocol::record::{MAGIC_V1, StoredRecord, body_crc};
use apogee_runtime::SystemClock;
use apogee_store::io::{FileIo, FileOp, RecordingHooks};
use apogee_store::{FlushMode, GetMessageStatus, MessageStore, PutStatus, StoreConfig, StoreError};
use bytes::Bytes;

fn config(dir: &std::path::Path, flush: FlushMode) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.commit_log_file_bytes = 64 * 1024;
    config.consume_queue_units_per_file = 100;
    config.index = apogee_store::index::IndexSizing {
        slots: 100,
        entries: 400,
    };
    config.retention.reject_ratio = 1.0;
    config.retention.clean_file_forcibly = false;
    config.flush = flush;
    config
}

/// A store with asynchronous flush on `dir`.
fn open_async(dir: &std::path::Path) -> MessageStore {
    MessageStore::open(
        config(dir, FlushMode::java_async_default()),
        Arc::new(SystemClock),
        Vec::new(),
    )
    .unwrap()
}

fn sync_flush() -> FlushMode {
    FlushMode::Sync {
        timeout: Duration::from_secs(5),
    }
}

fn msg(topic: &str, queue_id: i32, body: &str) -> apogee_store::MessageToStore {
    common::message(
        topic,
        queue_id,
        body.to_owned(),
        "TAGS\u{1}A\u{2}".to_owned(),
    )
}

#[test]
fn given_a_failing_msync_under_sync_flush_should_answer_flush_failed_and_refuse_writes() {
    let dir = tempfile::tempdir().unwrap();
    let failing = Arc::new(AtomicBool::new(false));
    let switch = Arc::clone(&failing);
    let hooks = RecordingHooks::failing(move |op| {
        switch.load(Ordering::Acquire)
            && matches!(op, FileOp::Msync { path, .. } if path.to_string_lossy().contains("commitlog"))
    });
    let store = MessageStore::open_with_io(
        config(dir.path(), sync_flush()),
        Arc::new(SystemClock),
        Vec::new(),
        FileIo::with_hooks(hooks),
    )
    .unwrap();
    let ok = store.append(&[msg("T", 0, "before")]).unwrap();
    assert_eq!(store.durable_blocking(&ok), PutStatus::Ok);
    failing.store(true, Ordering::Release);
    let lost = store.append(&[msg("T", 0, "during")]).unwrap();
    assert_eq!(
        store.durable_blocking(&lost),
        PutStatus::FlushFailed,
        "never a false success"
    );
    failing.store(false, Ordering::Release);
    let err = store.append(&[msg("T", 0, "after")]).unwrap_err();
    assert!(matches!(err, StoreError::NotWritable(_)), "{err}");
    assert!(err.to_string().contains("flush failed"), "{err}");
    assert!(store.health().flush_failure.is_some());
    assert!(
        store.durable_offset() < lost.end_offset,
        "the failed range never counts as durable"
    );
}

#[test]
fn given_a_failing_msync_under_async_flush_should_stop_writes_too() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = RecordingHooks::failing(
        |op| matches!(op, FileOp::Msync { path, .. } if path.to_string_lossy().contains("commitlog")),
    );
    let mut cfg = config(dir.path(), FlushMode::java_async_default());
    cfg.flush = FlushMode::Async {
        interval: Duration::from_millis(10),
        min_pages: 0,
        thorough_interval: Duration::from_millis(10),
    };
    let store = MessageStore::open_with_io(
        cfg,
        Arc::new(SystemClock),
        Vec::new(),
        FileIo::with_hooks(hooks),
    )
    .unwrap();
    store.append(&[msg("T", 0, "x")]).unwrap();
    common::wait_until("the flush to fail", || {
        store.health().flush_failure.is_some()
    });
    assert!(matches!(
        store.append(&[msg("T", 0, "y")]),
        Err(StoreError::NotWritable(_))
    ));
}

#[test]
fn given_one_consume_queue_that_cannot_be_created_should_keep_dispatching_the_others_and_catch_up_later()
 {
    let dir = tempfile::tempdir().unwrap();
    let broken = Arc::new(AtomicBool::new(true));
    let switch = Arc::clone(&broken);
    let hooks = RecordingHooks::failing(move |op| {
        switch.load(Ordering::Acquire)
            && matches!(op, FileOp::Create { path, .. } if path.to_string_lossy().contains("consumequeue/Stuck/"))
    });
    let store = MessageStore::open_with_io(
        config(dir.path(), FlushMode::java_async_default()),
        Arc::new(SystemClock),
        Vec::new(),
        FileIo::with_hooks(hooks),
    )
    .unwrap();
    for i in 0..5 {
        store.append(&[msg("Stuck", 0, &format!("s{i}"))]).unwrap();
        store.append(&[msg("Fine", 0, &format!("f{i}"))]).unwrap();
    }
    common::wait_until("Fine to be dispatched", || {
        store.max_offset_in_queue("Fine", 0) == 5
    });
    common::wait_until("Stuck to wait", || store.health().deferred_records == 5);
    assert_eq!(store.max_offset_in_queue("Stuck", 0), 0);
    let read = store.get_messages("Fine", 0, 0, (10, 1 << 20), None);
    assert_eq!(read.status, GetMessageStatus::Found);
    assert_eq!(read.messages.len(), 5);
    broken.store(false, Ordering::Release);
    store.append(&[msg("Stuck", 0, "s5")]).unwrap();
    common::wait_until("Stuck to catch up", || {
        store.max_offset_in_queue("Stuck", 0) == 6
    });
    assert_eq!(store.health().deferred_records, 0);
    let read = store.get_messages("Stuck", 0, 0, (10, 1 << 20), None);
    assert_eq!(read.messages.len(), 6, "in order, none lost");
}

/// A record as another writer (RocketMQ, an older Apogee, a forger) put it on disk.
fn raw_record(
    topic: &str,
    physical_offset: i64,
    queue_offset: i64,
    props: &str,
    body: &[u8],
) -> Vec<u8> {
    let record = StoredRecord {
        magic: MAGIC_V1,
        body_crc: body_crc(body),
        queue_id: 0,
        flag: 0,
        queue_offset,
        physical_offset,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "10.0.0.1:5000".parse().unwrap(),
        store_timestamp: 1_700_000_000_001,
        store_host: "10.0.0.2:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::copy_from_slice(body),
        topic: Bytes::copy_from_slice(topic.as_bytes()),
        properties: Bytes::copy_from_slice(props.as_bytes()),
    };
    let mut out = Vec::new();
    record.encode(&mut out);
    out
}

/// Writes `records` as the first CommitLog file of a fresh store directory, with a
/// checkpoint that says nothing (as RocketMQ's, which lacks Apogee's two offsets).
fn write_log(dir: &std::path::Path, file_bytes: usize, records: &[Vec<u8>]) {
    let log = dir.join("commitlog");
    std::fs::create_dir_all(&log).unwrap();
    let mut file = records.concat();
    file.resize(file_bytes, 0);
    std::fs::write(log.join("00000000000000000000"), file).unwrap();
    std::fs::write(dir.join("checkpoint"), vec![0u8; 4096]).unwrap();
}

#[test]
fn given_a_store_written_by_rocketmq_should_recover_every_record_and_serve_them() {
    let dir = tempfile::tempdir().unwrap();
    let shapes = [
        "UNIQ_KEY\u{1}AC1\u{2}CLUSTER\u{1}c\u{2}TAGS\u{1}A\u{2}",
        "UNIQ_KEY\u{1}AC2\u{2}CLUSTER\u{1}c", // 5.x clients may omit the last separator
        "TAGS\u{1}A\u{2}__CRC32#\u{1}0000000000\u{2}", // a client-sent CRC property
        "",
    ];
    let mut records = Vec::new();
    let mut at = 0i64;
    for (i, props) in shapes.iter().enumerate() {
        let r = raw_record("Orders", at, i as i64, props, format!("m{i}").as_bytes());
        at += r.len() as i64;
        records.push(r);
    }
    write_log(dir.path(), 64 * 1024, &records);
    let store = open_async(dir.path());
    assert_eq!(store.health().recovery.cut, None);
    assert_eq!(store.commit_log_max_offset(), at);
    common::caught_up(&store);
    let read = store.get_messages("Orders", 0, 0, (10, 1 << 20), None);
    assert_eq!(read.messages.len(), 4);
    let next = store.append(&[msg("Orders", 0, "new")]).unwrap();
    assert_eq!((next.physical_offset, next.queue_offset), (at, 4));
}

#[test]
fn given_records_with_invalid_topics_or_queue_offsets_should_skip_them_and_dispatch_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = Vec::new();
    let mut at = 0i64;
    for (topic, queue_offset) in [
        ("Good", 0),
        ("../../escape", 0),
        ("Good", 1),
        ("Good", 1 << 40),
        ("Good", 2),
    ] {
        let r = raw_record(topic, at, queue_offset, "", b"x");
        at += r.len() as i64;
        records.push(r);
    }
    write_log(dir.path(), 64 * 1024, &records);
    let store = open_async(dir.path());
    common::caught_up(&store);
    assert_eq!(
        store.max_offset_in_queue("Good", 0),
        3,
        "the good records are all there"
    );
    let health = store.health();
    assert_eq!(health.dispatch_errors, 2, "{health:?}");
    assert!(
        !dir.path().join("escape").exists()
            && !dir
                .path()
                .join("consumequeue/..")
                .join("..")
                .join("escape")
                .exists()
    );
    assert!(
        std::fs::read_dir(dir.path().join("consumequeue"))
            .unwrap()
            .all(|e| e.unwrap().file_name() == "Good")
    );
}

#[test]
fn given_a_record_forged_inside_a_message_body_should_not_be_found_by_offset() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_async(dir.path());
    let carrier = store.append(&[msg("T", 0, "carrier")]).unwrap();
    // A body holding a complete record claiming to sit where the body lands: the next
    // record starts at the carrier's end, and its body after the 88 bytes of fixed fields.
    let body_at = carrier.end_offset + 88;
    let forged = raw_record("T", body_at, 0, "", b"forged");
    let mut m = msg("T", 0, "");
    m.body = Bytes::from(forged);
    m.properties = String::new();
    let outer = store.append(&[m]).unwrap();
    common::caught_up(&store);
    assert_eq!(outer.physical_offset, carrier.end_offset);
    let decoded = store
        .record_at(body_at)
        .expect("the forgery decodes as a record");
    assert_eq!(
        (decoded.physical_offset, &decoded.body[..]),
        (body_at, &b"forged"[..])
    );
    assert!(store.lookup_record(carrier.physical_offset).is_some());
    assert!(store.lookup_record(outer.physical_offset).is_some());
    for offset in [
        body_at - 2,
        body_at - 1,
        body_at,
        body_at + 1,
        outer.physical_offset + 4,
        -1,
        i64::MAX,
    ] {
        assert!(store.lookup_record(offset).is_none(), "offset {offset}");
    }
}

#[test]
fn given_a_deleted_topic_when_created_again_should_start_empty_even_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open_async(dir.path());
        for i in 0..3 {
            store.append(&[msg("Gone", 0, &format!("old{i}"))]).unwrap();
        }
        assert_eq!(store.delete_topic("Gone").unwrap(), 1);
        assert_eq!(store.max_offset_in_queue("Gone", 0), 0);
        assert!(!dir.path().join("consumequeue/Gone").exists());
        let again = store.append(&[msg("Gone", 0, "new")]).unwrap();
        assert_eq!(again.queue_offset, 0, "offsets start over");
        common::caught_up(&store);
    }
    let store = open_async(dir.path());
    common::caught_up(&store);
    let read = store.get_messages("Gone", 0, 0, (10, 1 << 20), None);
    assert_eq!(read.messages.len(), 1, "only the new message");
}

#[test]
fn given_sync_flush_should_sync_a_new_files_directory_before_counting_its_bytes_durable() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = RecordingHooks::new();
    let mut cfg = config(dir.path(), sync_flush());
    cfg.commit_log_file_bytes = 4096;
    let store = MessageStore::open_with_io(
        cfg,
        Arc::new(SystemClock),
        Vec::new(),
        FileIo::with_hooks(hooks.clone()),
    )
    .unwrap();
    let mut last = None;
    for i in 0..80 {
        let outcome = store
            .append(&[msg("T", 0, &format!("message {i:>40}"))])
            .unwrap();
        assert_eq!(store.durable_blocking(&outcome), PutStatus::Ok);
        last = Some(outcome);
    }
    assert!(
        last.unwrap().physical_offset > 4096 * 2,
        "several files were used"
    );
    let ops = hooks.ops();
    let log_dir = dir.path().join("commitlog");
    for file in ["00000000000000004096", "00000000000000008192"] {
        let path = log_dir.join(file);
        let renamed = ops
            .iter()
            .position(|op| matches!(op, FileOp::Rename { to, .. } if *to == path))
            .unwrap();
        let synced = ops[renamed..]
            .iter()
            .position(|op| {
                *op == FileOp::SyncDir {
                    dir: log_dir.clone(),
                }
            })
            .map(|i| i + renamed)
            .unwrap();
        let first_msync = ops
            .iter()
            .position(|op| matches!(op, FileOp::Msync { path: p, .. } if *p == path))
            .unwrap();
        assert!(
            renamed < synced && synced < first_msync,
            "{file}: rename {renamed}, dir sync {synced}, msync {first_msync}"
        );
    }
}

#[test]
fn given_a_queue_that_cannot_be_opened_a_read_should_leave_the_readers_offset_alone() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open_async(dir.path());
        for i in 0..5 {
            store.append(&[msg("Broken", 0, &format!("m{i}"))]).unwrap();
        }
        common::caught_up(&store);
    }
    // After a clean stop the queue is listed, then fails to open on first use.
    let queue_dir = dir.path().join("consumequeue/Broken/0");
    std::fs::rename(&queue_dir, dir.path().join("saved")).unwrap();
    std::fs::write(&queue_dir, b"not a queue directory").unwrap();
    let store = open_async(dir.path());
    for _ in 0..2 {
        let read = store.get_messages("Broken", 0, 3, (10, 1 << 20), None);
        assert_eq!(read.status, GetMessageStatus::QueueUnavailable);
        assert_eq!(read.next_begin_offset, 3, "not moved to 0 (no rewind)");
        assert!(read.messages.is_empty());
    }
    let absent = store.get_messages("NeverWritten", 0, 3, (10, 1 << 20), None);
    assert_eq!(absent.status, GetMessageStatus::NoMatchedLogicQueue);
}
