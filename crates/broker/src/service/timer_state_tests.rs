use std::sync::Arc;
use std::time::Duration;

use apogee_protocol::record::find_property;
use apogee_runtime::SystemClock;
use apogee_store::config::StoreConfig;

use super::*;

fn host() -> SocketAddr {
    "127.0.0.1:10911".parse().unwrap()
}

fn timer_message(out_ms: i64) -> MessageToStore {
    let mut props = Properties::default();
    props.push(property::UNIQ_KEY, "u1");
    props.push(property::REAL_TOPIC, "T");
    props.push(property::REAL_QUEUE_ID, "0");
    props.push(property::TIMER_OUT_MS, &out_ms.to_string());
    MessageToStore {
        topic: TIMER_TOPIC.into(),
        queue_id: 0,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1,
        born_host: host(),
        store_host: host(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: bytes::Bytes::from_static(b"later"),
        properties: props.into_string(),
    }
}

/// Waits until the store's reput has dispatched everything appended.
fn dispatched(store: &MessageStore) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.dispatched_offset() < store.commit_log_max_offset() {
        assert!(std::time::Instant::now() < deadline, "dispatch stuck");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn open(dir: &std::path::Path) -> (MessageStore, TimerState, CheckpointFile) {
    let mut config = StoreConfig::new(dir);
    config.commit_log_file_bytes = 1 << 20;
    // The host disk is shared and may be nearly full: not what this test is about.
    config.retention.reject_ratio = 1.0;
    config.retention.clean_file_forcibly = false;
    let store = MessageStore::open(config, Arc::new(SystemClock), Vec::new()).unwrap();
    let file = CheckpointFile::new(&dir.join("config"));
    let state = TimerState::recover(
        &store,
        (&dir.join("timerlog"), 1 << 20),
        &file,
        BTreeMap::new(),
    )
    .unwrap();
    (store, state, file)
}

#[test]
fn given_a_timer_beyond_the_roll_window_should_store_it_again_then_deliver_it_once_across_a_restart()
 {
    let dir = tempfile::tempdir().unwrap();
    let (store, mut state, file) = open(dir.path());
    store.append(&[timer_message(10_000)]).unwrap();
    dispatched(&store);
    // Enqueued at t=0 with a 6 s roll window: it pops at 6 s to be stored again.
    assert_eq!(state.enqueue(&store, (100, 6_000), 0).unwrap(), 1);
    assert_eq!(state.pending.next_due(), Some(6_000));
    assert_eq!(state.per_topic.get("T"), Some(&1));
    assert_eq!(state.deliver(&store, 5_999, 100, host()).unwrap(), 0);
    assert_eq!(
        state.deliver(&store, 6_000, 100, host()).unwrap(),
        1,
        "the roll copy"
    );
    dispatched(&store);
    assert_eq!(state.enqueue(&store, (100, 6_000), 6_000).unwrap(), 1);
    assert_eq!(
        state.pending.next_due(),
        Some(10_000),
        "the copy is due at its own time"
    );
    assert_eq!(state.per_topic.get("T"), Some(&1), "counted once");
    // Saved once the CommitLog holds what it covers (the flusher is asked, then looked at).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !state.checkpoint(&store, &file, 6_000).unwrap() {
        assert!(
            std::time::Instant::now() < deadline,
            "the checkpoint never saved"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(state);
    drop(store);

    let (store, mut state, _) = open(dir.path());
    assert_eq!(
        state.pending.len(),
        1,
        "only the copy is pending after a restart"
    );
    assert_eq!(state.deliver(&store, 10_000, 100, host()).unwrap(), 1);
    dispatched(&store);
    let got = store.get_messages("T", 0, 0, (32, usize::MAX), None);
    assert_eq!(got.messages.len(), 1);
    let (record, _) =
        match apogee_protocol::record::decode_record(&got.messages[0], 0, false).unwrap() {
            (apogee_protocol::record::RecordAt::Message(r), n) => (r, n),
            _ => panic!("not a message"),
        };
    let props = String::from_utf8(record.properties.to_vec()).unwrap();
    assert_eq!(find_property(&props, "TIMER_ROLL_TIMES"), Some("1"));
    assert_eq!(find_property(&props, "UNIQ_KEY"), Some("u1"));
    assert_eq!(find_property(&props, "REAL_TOPIC"), None);
    assert!(state.per_topic.is_empty());
}
