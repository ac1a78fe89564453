//! What the servers decode from a request besides the frame: every typed request header from
//! the frame's ext fields, and the JSON request bodies. Arbitrary bytes become a frame (when
//! they decode as one), then every header type and every body type is tried; none may panic.
#![no_main]

use apogee_protocol::body::admin::SubscriptionGroupConfig;
use apogee_protocol::body::client::{HeartbeatData, LockBatchRequestBody};
use apogee_protocol::body::from_json;
use apogee_protocol::frame::decode_frame;
use apogee_protocol::header::admin::*;
use apogee_protocol::header::consumer::*;
use apogee_protocol::header::message::*;
use apogee_protocol::header::namesrv::*;
use apogee_protocol::header::transaction::*;
use apogee_protocol::{FrameLimits, RemotingCommand};
use apogee_model::DataVersion;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

macro_rules! try_headers {
    ($command:expr, $($ty:ty),* $(,)?) => {
        $( let _ = $command.header::<$ty>(); )*
    };
}

fn headers(command: &RemotingCommand) {
    try_headers!(
        command,
        SendMessageRequestHeader, SendMessageRequestHeaderV2, PullMessageRequestHeader,
        QueryConsumerOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
        GetMaxOffsetRequestHeader, QueueRequestHeader, SearchOffsetRequestHeader,
        UnregisterClientRequestHeader, ConsumerGroupHeader, ConsumerSendMsgBackRequestHeader,
        QueryMessageRequestHeader, ViewMessageRequestHeader, CreateTopicRequestHeader,
        DeleteTopicRequestHeader, DeleteSubscriptionGroupRequestHeader,
        GetConsumeStatsRequestHeader, GetTopicStatsInfoRequestHeader,
        GetConsumerConnectionListRequestHeader, GetProducerConnectionListRequestHeader,
        ResetOffsetRequestHeader, QueryTopicConsumeByWhoRequestHeader,
        CloneGroupOffsetRequestHeader, GetConsumerRunningInfoRequestHeader,
        RegisterBrokerRequestHeader, UnRegisterBrokerRequestHeader, GetRouteInfoRequestHeader,
        PutKvConfigRequestHeader, KvConfigKeyHeader, GetKvListByNamespaceRequestHeader,
        WritePermOfBrokerRequestHeader, QueryDataVersionRequestHeader,
        DeleteTopicFromNamesrvRequestHeader, RegisterTopicRequestHeader,
        GetTopicsByClusterRequestHeader, BrokerHeartbeatRequestHeader,
        GetBrokerMemberGroupRequestHeader, EndTransactionRequestHeader,
        CheckTransactionStateRequestHeader, ConsumeMessageDirectlyResultRequestHeader,
        UpdateGroupForbiddenRequestHeader, GetTopicConfigRequestHeader,
        GetSubscriptionGroupConfigRequestHeader, QueryConsumeQueueRequestHeader,
        QueryConsumeTimeSpanRequestHeader, QueryTopicsByConsumerRequestHeader,
        // Response headers: what the client reads from a broker or NameServer.
        AddWritePermOfBrokerResponseHeader, WipeWritePermOfBrokerResponseHeader,
        GetBrokerConfigResponseHeader, GetEarliestMsgStoretimeResponseHeader,
        GetKvConfigResponseHeader, OffsetResponseHeader, PullMessageResponseHeader,
        QueryDataVersionResponseHeader, QueryMessageResponseHeader, RegisterBrokerResponseHeader,
        SendMessageResponseHeader,
    );
    if let Ok(h) = command.header::<EndTransactionRequestHeader>() {
        let _ = h.resolution();
    }
}

fn bodies(body: &[u8]) {
    let _ = from_json::<HeartbeatData>("HeartbeatData", body);
    let _ = from_json::<LockBatchRequestBody>("LockBatchRequestBody", body);
    let _ = from_json::<SubscriptionGroupConfig>("SubscriptionGroupConfig", body);
    let _ = from_json::<DataVersion>("DataVersion", body);
    let _ = from_json::<serde_json::Value>("CheckClientRequestBody", body);
}

fuzz_target!(|data: &[u8]| {
    bodies(data);
    let mut buf = BytesMut::from(data);
    let limits = FrameLimits::default();
    while let Ok(Some(command)) = decode_frame(&mut buf, &limits) {
        headers(&command);
        bodies(&command.body);
    }
});
