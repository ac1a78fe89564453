//! The JSON bodies clients of every language send the broker (heartbeats, locks, group and
//! topic lists) and those clients answer it with (running info as Java or the C++ SDK writes
//! it, consume-directly results), read as fastjson would: none may panic, and what reads
//! must write back and read again unchanged. Message trace data (clients write it to the trace
//! topic) is read too.
#![no_main]

use apogee_protocol::body::admin::{
    ConsumeMessageDirectlyResult, ConsumerRunningInfo, GroupForbidden, ResetOffsetBody,
    SubscriptionGroupConfig, to_java_json,
};
use apogee_protocol::body::client::{HeartbeatData, LockBatchRequestBody};
use apogee_protocol::body::from_json;
use apogee_protocol::body::inspect::{CreateTopicListRequestBody, SubscriptionGroupList};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for event in apogee_protocol::body::trace::decode(&String::from_utf8_lossy(data)) {
        assert!(!event.msg_id.is_empty(), "a trace event always names its message");
    }
    let _ = from_json::<HeartbeatData>("heartbeat", data);
    let _ = from_json::<LockBatchRequestBody>("lock", data);
    let _ = from_json::<SubscriptionGroupConfig>("group", data);
    let _ = from_json::<SubscriptionGroupList>("groups", data);
    let _ = from_json::<CreateTopicListRequestBody>("topics", data);
    let _ = from_json::<ConsumeMessageDirectlyResult>("direct", data);
    let _ = from_json::<GroupForbidden>("forbidden", data);
    if let Ok(reset) = from_json::<ResetOffsetBody>("reset", data) {
        let _ = reset.to_cpp_json();
    }
    if let Ok(info) = ConsumerRunningInfo::decode(data) {
        let written = to_java_json(&info);
        let read = ConsumerRunningInfo::decode(&written)
            .unwrap_or_else(|e| panic!("our own running info JSON must read: {e}"));
        assert_eq!(
            to_java_json(&read),
            written,
            "a running info round trip changed it"
        );
    }
});
