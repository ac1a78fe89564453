//! Helpers shared by the store's integration tests.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use apogee_store::MessageStore;
use apogee_store::MessageToStore;
use bytes::Bytes;

/// A message as a producer on 127.0.0.1 would hand it to the broker.
pub fn message(
    topic: &str,
    queue_id: i32,
    body: impl Into<Bytes>,
    properties: String,
) -> MessageToStore {
    MessageToStore {
        topic: topic.into(),
        queue_id,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1,
        born_host: "127.0.0.1:4000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: body.into(),
        properties,
    }
}

/// Polls `cond` every few milliseconds; panics naming `what` after 10 s.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Waits until the dispatcher has processed everything appended.
pub fn caught_up(store: &MessageStore) {
    wait_until("dispatch to catch up", || {
        store.dispatched_offset() >= store.commit_log_max_offset()
    });
}
