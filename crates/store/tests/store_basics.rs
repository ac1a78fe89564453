//! The store through its public API on real files: append, read, restart, lock, group commit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use apogee_protocol::record::{RecordAt, decode_record, tags_code};
use apogee_runtime::SystemClock;
use apogee_store::{
    FlushMode, GetMessageStatus, MessageStore, MessageToStore, PutStatus, StoreConfig, StoreError,
};
use bytes::Bytes;

fn message(topic: &str, queue_id: i32, body: &[u8], tag: &str) -> MessageToStore {
    common::message(
        topic,
        queue_id,
        Bytes::copy_from_slice(body),
        format!("TAGS\u{1}{tag}\u{2}"),
    )
}

fn config(dir: &std::path::Path, flush: FlushMode) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.commit_log_file_bytes = 64 * 1024;
    config.consume_queue_units_per_file = 100;
    config.index = apogee_store::index::IndexSizing {
        slots: 1_000,
        entries: 4_000,
    };
    // The host disk is shared and may be past the 90 % refusal or 85 % forced-clean marks:
    // neither is what these tests are about.
    config.retention.reject_ratio = 1.0;
    config.retention.clean_file_forcibly = false;
    config.flush = flush;
    config
}

fn open(dir: &std::path::Path, flush: FlushMode) -> MessageStore {
    MessageStore::open(config(dir, flush), Arc::new(SystemClock), Vec::new()).unwrap()
}

fn wait_dispatched(store: &MessageStore) {
    common::caught_up(store);
}

#[test]
fn given_messages_when_read_by_queue_should_filter_by_tag_and_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path(), FlushMode::java_async_default());
        for i in 0..300 {
            let tag = if i % 2 == 0 { "TagA" } else { "TagB" };
            store
                .append(&[message("T", i % 3, format!("m{i}").as_bytes(), tag)])
                .unwrap();
        }
        wait_dispatched(&store);
        assert_eq!(store.max_offset_in_queue("T", 0), 100);
        let want = tags_code(Some("TagA"));
        let keep = move |code: i64| code == want;
        let got = store.get_messages("T", 0, 0, (32, 1 << 20), Some(&keep));
        assert_eq!(got.status, GetMessageStatus::Found);
        assert_eq!(got.messages.len(), 32);
        for raw in &got.messages {
            let (RecordAt::Message(record), _) = decode_record(raw, 0, true).unwrap() else {
                panic!()
            };
            assert_eq!(record.properties_map()["TAGS"], "TagA");
        }
        assert_eq!(
            store.get_messages("T", 0, 100, (32, 1 << 20), None).status,
            GetMessageStatus::OffsetOverflowOne
        );
        assert_eq!(
            store
                .get_messages("T", 0, 500, (32, 1 << 20), None)
                .next_begin_offset,
            0
        );
        assert_eq!(
            store.get_messages("nope", 0, 0, (32, 1 << 20), None).status,
            GetMessageStatus::NoMatchedLogicQueue
        );
        store.shutdown();
    }
    let store = open(dir.path(), FlushMode::java_async_default());
    assert!(!store.recovered_after_crash());
    assert_eq!(store.max_offset_in_queue("T", 2), 100);
    let next = store
        .append(&[message("T", 2, b"after restart", "TagA")])
        .unwrap();
    assert_eq!(
        next.queue_offset, 100,
        "queue offsets continue after restart"
    );
    let mut keyed = message("T", 0, b"keyed", "TagA");
    keyed
        .properties
        .push_str("KEYS\u{1}order-42 customer-7\u{2}UNIQ_KEY\u{1}AC1100FF\u{2}");
    let stored = store.append(&[keyed]).unwrap();
    wait_dispatched(&store);
    assert_eq!(
        store.query_by_key("T", "order-42", 32, 0, i64::MAX),
        vec![stored.physical_offset]
    );
    assert_eq!(
        store.query_by_key("T", "AC1100FF", 32, 0, i64::MAX),
        vec![stored.physical_offset]
    );
    assert!(
        store
            .query_by_key("T", "order-43", 32, 0, i64::MAX)
            .is_empty()
    );
    let earliest = store.earliest_message_time().unwrap();
    assert_eq!(store.offset_by_time("T", 1, earliest), 0);
    assert_eq!(store.offset_by_time("T", 1, i64::MAX), 100);
}

#[test]
fn given_a_restart_the_first_append_to_a_queue_nobody_read_should_continue_from_its_end() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path(), FlushMode::java_async_default());
        for i in 0..150 {
            store
                .append(&[message("T", i % 3, b"before", "TagA")])
                .unwrap();
        }
        wait_dispatched(&store);
        store.shutdown();
    }
    let store = open(dir.path(), FlushMode::java_async_default());
    // Queues are opened on first use: this append is the first use of queue 1.
    let batch: Vec<_> = (0..3).map(|_| message("T", 1, b"after", "TagA")).collect();
    let first = store.append(&batch).unwrap();
    assert_eq!(first.queue_offset, 50, "continues from the queue's end");
    let other = store.append(&[message("T", 2, b"after", "TagA")]).unwrap();
    assert_eq!(other.queue_offset, 50);
    let fresh = store.append(&[message("T", 7, b"new", "TagA")]).unwrap();
    assert_eq!(
        fresh.queue_offset, 0,
        "a queue new to the store starts at 0"
    );
    wait_dispatched(&store);
    assert_eq!(store.max_offset_in_queue("T", 0), 50, "read without writes");
    assert_eq!(store.max_offset_in_queue("T", 1), 53);
    let got = store.get_messages("T", 1, 48, (8, 1 << 20), None);
    assert_eq!(got.queue_offsets, vec![48, 49, 50, 51, 52]);
}

#[test]
fn given_open_store_when_opened_again_should_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let _store = open(dir.path(), FlushMode::java_async_default());
    let again = MessageStore::open(
        config(dir.path(), FlushMode::java_async_default()),
        Arc::new(SystemClock),
        Vec::new(),
    );
    assert!(matches!(again, Err(StoreError::Locked { .. })));
}

#[test]
fn given_sync_flush_when_many_threads_append_should_share_fsyncs_and_ack_only_durable_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(
        dir.path(),
        FlushMode::Sync {
            timeout: Duration::from_secs(5),
        },
    ));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..50 {
                    let outcome = store
                        .append(&[message("S", t, format!("{t}-{i}").as_bytes(), "x")])
                        .unwrap();
                    assert_eq!(store.durable_blocking(&outcome), PutStatus::Ok);
                    assert!(store.durable_offset() >= outcome.end_offset);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    wait_dispatched(&store);
    for q in 0..8 {
        assert_eq!(store.max_offset_in_queue("S", q), 50);
    }
}

#[test]
fn given_async_runtime_when_awaiting_sync_flush_should_complete() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(
        dir.path(),
        FlushMode::Sync {
            timeout: Duration::from_secs(5),
        },
    );
    let outcome = store.append(&[message("A", 0, b"x", "t")]).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(store.durable(&outcome)), PutStatus::Ok);
}

#[test]
fn given_a_tags_code_rule_should_index_the_codes_it_gives_and_tag_hashes_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), FlushMode::java_async_default());
    // The broker's delay levels give this kind of rule; the store only applies it.
    config.tags_code = apogee_store::config::TagsCodeRule::new(|record| {
        (record.topic_str() == "Later").then_some(record.store_timestamp + 5_000)
    });
    let store = MessageStore::open(config, Arc::new(SystemClock), Vec::new()).unwrap();
    let props = "TAGS\u{1}A\u{2}";
    let later = common::message("Later", 1, Bytes::from_static(b"later"), props.into());
    let plain = common::message("Now", 1, Bytes::from_static(b"now"), props.into());
    let outcome = store.append(&[later, plain]).unwrap();
    wait_dispatched(&store);
    let codes = |topic: &str| {
        let seen = std::sync::Mutex::new(Vec::new());
        let filter = |code: i64| {
            seen.lock().unwrap().push(code);
            true
        };
        let result = store.get_messages(topic, 1, 0, (32, 1 << 20), Some(&filter));
        assert_eq!(result.status, GetMessageStatus::Found);
        seen.into_inner().unwrap()
    };
    assert_eq!(codes("Later"), vec![outcome.store_timestamp + 5_000]);
    assert_eq!(
        codes("Now"),
        vec![apogee_protocol::record::tags_code(Some("A"))]
    );
}

#[test]
fn given_a_record_filter_matching_nothing_a_read_should_stop_after_a_bounded_scan() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), FlushMode::java_async_default());
    config.commit_log_file_bytes = 1 << 20;
    config.consume_queue_units_per_file = 10_000;
    let store = MessageStore::open(config, Arc::new(SystemClock), Vec::new()).unwrap();
    let batch: Vec<_> = (0..3_000)
        .map(|_| common::message("Many", 0, Bytes::from_static(b"x"), String::new()))
        .collect();
    store.append(&batch).unwrap();
    wait_dispatched(&store);
    let nothing = |_: &Bytes| false;
    let filter = apogee_store::read::ReadFilter {
        tags: None,
        record: Some(&nothing),
    };
    let result = store.get_messages_filtered("Many", 0, 0, (32, 1 << 20), filter);
    assert_eq!(result.status, GetMessageStatus::NoMatchedMessage);
    let scanned = result.next_begin_offset;
    assert!(
        (800..3_000).contains(&scanned),
        "one read scans a bounded number of units, then says where it stopped: {scanned}"
    );
}
