//! Property tests: random sequences of appends and restarts keep every queue dense and
//! monotonic; consume queues rebuilt from the CommitLog equal the ones written live; the
//! index finds every key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use apogee_protocol::record::{RecordAt, decode_record};
use apogee_runtime::SystemClock;
use apogee_store::index::IndexSizing;
use apogee_store::{GetMessageStatus, MessageStore, MessageToStore, StoreConfig};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append {
        queue_id: i32,
        count: usize,
        body_len: usize,
    },
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0i32..3, 1usize..16, 1usize..1500).prop_map(|(queue_id, count, body_len)| Op::Append { queue_id, count, body_len }),
        1 => Just(Op::Restart),
    ]
}

fn open(dir: &Path) -> MessageStore {
    let mut config = StoreConfig::new(dir);
    config.commit_log_file_bytes = 32 * 1024;
    config.consume_queue_units_per_file = 16;
    config.index = IndexSizing {
        slots: 31,
        entries: 64,
    };
    // Whatever the shared host disk's usage, neither refusal nor forced cleaning applies.
    config.retention.reject_ratio = 1.0;
    config.retention.clean_file_forcibly = false;
    MessageStore::open(config, Arc::new(SystemClock), Vec::new()).unwrap()
}

fn message(queue_id: i32, serial: usize, body_len: usize) -> MessageToStore {
    let fill = u8::try_from(serial % 251).unwrap();
    common::message(
        "P",
        queue_id,
        vec![fill; body_len],
        format!("KEYS\u{1}key-{serial}\u{2}"),
    )
}

/// Every unit of a queue as (queue offset, physical offset, body length).
fn read_queue(store: &MessageStore, queue_id: i32) -> Vec<(i64, i64, usize)> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < store.max_offset_in_queue("P", queue_id) {
        let got = store.get_messages("P", queue_id, offset, (32, 1 << 22), None);
        assert_eq!(got.status, GetMessageStatus::Found);
        for (raw, queue_offset) in got.messages.iter().zip(&got.queue_offsets) {
            let (RecordAt::Message(record), _) = decode_record(raw, 0, true).unwrap() else {
                panic!()
            };
            assert_eq!(record.queue_offset, *queue_offset);
            out.push((*queue_offset, record.physical_offset, record.body.len()));
        }
        offset = got.next_begin_offset;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn given_appends_and_restarts_should_keep_queues_dense_and_rebuildable(ops in proptest::collection::vec(op(), 1..25)) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        let mut expected: HashMap<i32, Vec<usize>> = HashMap::new();
        let mut offsets_of_key: HashMap<usize, i64> = HashMap::new();
        let mut serial = 0;
        for op in &ops {
            match *op {
                Op::Append { queue_id, count, body_len } => {
                    let batch: Vec<_> = (0..count).map(|i| message(queue_id, serial + i, body_len)).collect();
                    let outcome = store.append(&batch).unwrap();
                    let queue = expected.entry(queue_id).or_default();
                    prop_assert_eq!(outcome.queue_offset, i64::try_from(queue.len()).unwrap(), "monotonic, no gaps");
                    for (i, (phys, _)) in outcome.records.iter().enumerate() {
                        queue.push(body_len);
                        offsets_of_key.insert(serial + i, *phys);
                    }
                    serial += count;
                }
                Op::Restart => {
                    store.shutdown();
                    drop(store);
                    store = open(dir.path());
                }
            }
        }
        common::caught_up(&store);
        let mut live = HashMap::new();
        for queue_id in 0..3 {
            let units = read_queue(&store, queue_id);
            let lens: Vec<usize> = units.iter().map(|u| u.2).collect();
            let want = expected.get(&queue_id).cloned().unwrap_or_default();
            prop_assert_eq!(lens, want);
            live.insert(queue_id, units);
        }
        for (key, phys) in &offsets_of_key {
            let name = format!("key-{key}");
            let found = store.query_by_key("P", &name, 64, 0, i64::MAX);
            prop_assert!(found.contains(phys), "index lost key-{}", key);
        }
        store.shutdown();
        drop(store);
        std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
        std::fs::remove_dir_all(dir.path().join("index")).unwrap();
        let rebuilt = open(dir.path());
        common::caught_up(&rebuilt);
        for queue_id in 0..3 {
            prop_assert_eq!(&read_queue(&rebuilt, queue_id), &live[&queue_id], "rebuilt queue differs");
        }
        for (key, phys) in &offsets_of_key {
            let name = format!("key-{key}");
            prop_assert!(rebuilt.query_by_key("P", &name, 64, 0, i64::MAX).contains(phys), "rebuilt index lost {}", name);
        }
    }
}
