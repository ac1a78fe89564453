//! POP over remoting, request by request (the simple consumer's end-to-end behaviour is
//! tested in `apogee-client`): RocketMQ's answer codes, PEEK and NOTIFICATION, BATCH_ACK's bit
//! set, dead letters after the group's retry times, and the `pop*` runtime keys.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use apogee_protocol::body::admin::SubscriptionGroupConfig;
use apogee_protocol::header::pop::{
    AckMessageRequestHeader, NotificationRequestHeader, NotificationResponseHeader,
    PeekMessageRequestHeader, PopMessageRequestHeader, PopMessageResponseHeader,
};
use apogee_protocol::pop_info::parse_numbers;
use apogee_protocol::record::find_property;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use base64::Engine;
use common::*;

fn pop(topic: &str, group: &str, max: i32, invisible_ms: i64, poll_ms: i64) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::POP_MESSAGE,
        &PopMessageRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id: -1,
            max_msg_nums: max,
            invisible_time: invisible_ms,
            poll_time: poll_ms,
            born_time: 0,
            init_mode: 0,
            exp_type: None,
            exp: Some("*".into()),
            order: None,
            attempt_id: None,
            broker_name: None,
        },
    )
}

async fn setup(c: &Cluster, topic: &str, count: usize) {
    assert_eq!(
        c.call(create_topic(topic, 1, None)).await.response_code(),
        ResponseCode::SUCCESS
    );
    for i in 0..count {
        let r = c
            .call(send_v2(topic, 0, "", format!("m{i}").leak().as_bytes()))
            .await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    }
    c.wait_max_offset(topic, 0, i64::try_from(count).unwrap())
        .await;
}

#[tokio::test]
async fn an_empty_pop_answers_polling_timeout_and_too_many_is_refused() {
    let c = cluster(|_| {}).await;
    setup(&c, "PopEmpty", 0).await;
    let r = c.call(pop("PopEmpty", "g", 4, 60_000, 0)).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::POLLING_TIMEOUT,
        "{:?}",
        r.remark
    );
    let r = c.call(pop("PopEmpty", "g", 33, 60_000, 0)).await;
    assert_eq!(r.response_code(), ResponseCode::INVALID_PARAMETER);
    let r = c.call(pop("NoSuchTopic", "g", 4, 60_000, 0)).await;
    assert_eq!(r.response_code(), ResponseCode::TOPIC_NOT_EXIST);
}

#[tokio::test]
async fn peek_shows_messages_without_popping_them_and_notification_says_so() {
    let c = cluster(|_| {}).await;
    setup(&c, "PopPeek", 3).await;
    let notification = |poll_time| {
        RemotingCommand::request(
            RequestCode::NOTIFICATION,
            &NotificationRequestHeader {
                consumer_group: "g".into(),
                topic: "PopPeek".into(),
                queue_id: -1,
                poll_time,
                born_time: 0,
                order: None,
                attempt_id: None,
                broker_name: None,
            },
        )
    };
    let r = c.call(notification(0)).await;
    assert!(r.header::<NotificationResponseHeader>().unwrap().has_msg);
    let peek = RemotingCommand::request(
        RequestCode::PEEK_MESSAGE,
        &PeekMessageRequestHeader {
            topic: "PopPeek".into(),
            queue_id: -1,
            max_msg_nums: 32,
            consumer_group: "g".into(),
            broker_name: None,
        },
    );
    for _ in 0..2 {
        let r = c.call(peek.clone()).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
        assert_eq!(records(&r.body).len(), 3, "peeking takes nothing");
    }
    let r = c.call(pop("PopPeek", "g", 32, 60_000, 0)).await;
    assert_eq!(records(&r.body).len(), 3);
    let r = c.call(notification(0)).await;
    assert!(
        !r.header::<NotificationResponseHeader>().unwrap().has_msg,
        "all popped"
    );
}

#[tokio::test]
async fn batch_ack_acks_the_offsets_its_bit_set_names() {
    let c = cluster(|_| {}).await;
    setup(&c, "PopBatch", 4).await;
    let r = c.call(pop("PopBatch", "g", 32, 60_000, 0)).await;
    let h: PopMessageResponseHeader = r.header().unwrap();
    let start = parse_numbers(h.start_offset_info.as_deref().unwrap())["0@0"];
    assert_eq!(start, 0);
    // Bits 0, 1 and 3: offsets 0, 1 and 3 acked, 2 left in flight.
    let bits = base64::engine::general_purpose::STANDARD.encode([0b1011u8]);
    let body = serde_json::json!({"brokerName": "b", "acks": [{
        "c": "g", "t": "PopBatch", "r": "0", "so": 0, "q": 0, "rq": h.revive_qid,
        "pt": h.pop_time, "it": h.invisible_time, "b": bits}]});
    let batch = RemotingCommand::bare_request(RequestCode::BATCH_ACK_MESSAGE)
        .with_body(serde_json::to_vec(&body).unwrap());
    assert_eq!(c.call(batch).await.response_code(), ResponseCode::SUCCESS);
    let info = runtime_info(&c).await;
    assert_eq!(info["popInflightNum"], "1");
    assert_eq!(info["popAckTotal"], "3");
    let ack = |offset: i64, pop_time: i64| {
        RemotingCommand::request(
            RequestCode::ACK_MESSAGE,
            &AckMessageRequestHeader {
                consumer_group: "g".into(),
                topic: "PopBatch".into(),
                queue_id: 0,
                extra_info: format!("0 {pop_time} 60000 0 0 b 0 {offset}"),
                offset,
                broker_name: None,
            },
        )
    };
    assert_eq!(
        c.call(ack(2, h.pop_time)).await.response_code(),
        ResponseCode::SUCCESS
    );
    assert_eq!(runtime_info(&c).await["popInflightNum"], "0");
    let r = c.call(ack(99, h.pop_time)).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::NO_MESSAGE,
        "an offset the queue never held"
    );
}

#[tokio::test]
async fn a_message_left_unacked_past_the_groups_retry_times_goes_to_the_dlq() {
    let c = cluster(|_| {}).await;
    setup(&c, "PopDead", 1).await;
    let group = SubscriptionGroupConfig {
        group_name: "gdead".into(),
        retry_max_times: 1,
        ..SubscriptionGroupConfig::default()
    };
    let create = RemotingCommand::bare_request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
        .with_body(serde_json::to_vec(&group).unwrap());
    assert_eq!(c.call(create).await.response_code(), ResponseCode::SUCCESS);
    // Popped twice and never acked (invisible 0 ms: due at once): the first revive goes to
    // the retry topic, the second, past retryMaxTimes = 1, to the DLQ.
    let mut popped = 0;
    let deadline = tokio::time::Instant::now() + WAIT;
    while popped < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "popped {popped} times"
        );
        let r = c.call(pop("PopDead", "gdead", 32, 0, 200)).await;
        popped += records(&r.body).len();
    }
    c.wait_max_offset("%DLQ%gdead", 0, 1).await;
    let r = c.call(pull("%DLQ%gdead", 0, 0, "*", 0)).await;
    let dead = records(&r.body);
    assert_eq!(dead.len(), 1);
    let props = std::str::from_utf8(&dead[0].properties).unwrap();
    assert_eq!(find_property(props, "DLQ_ORIGIN_TOPIC"), Some("PopDead"));
    assert_eq!(dead[0].reconsume_times, 2);
    assert_eq!(&dead[0].body[..], b"m0");
    // The revive counts once the copy is stored, just after the DLQ holds it.
    wait_until("two revives and nothing in flight", || async {
        let info = runtime_info(&c).await;
        info["popReviveTotal"] == "2" && info["popInflightNum"] == "0"
    })
    .await;
}

async fn runtime_info(c: &Cluster) -> BTreeMap<String, String> {
    let r = c
        .call(RemotingCommand::bare_request(
            RequestCode::GET_BROKER_RUNTIME_INFO,
        ))
        .await;
    let table: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    serde_json::from_value(table["table"].clone()).unwrap()
}

#[tokio::test]
async fn a_restart_keeps_popped_messages_invisible_and_their_handles_valid() {
    let mut c = cluster(|_| {}).await;
    setup(&c, "PopRestart", 2).await;
    let r = c.call(pop("PopRestart", "g", 32, 3_600_000, 0)).await;
    assert_eq!(records(&r.body).len(), 2);
    let h: PopMessageResponseHeader = r.header().unwrap();
    c.restart_broker().await;
    let info = runtime_info(&c).await;
    assert_eq!(
        info["popInflightNum"], "2",
        "still in flight after the restart"
    );
    let r = c.call(pop("PopRestart", "g", 32, 60_000, 0)).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::POLLING_TIMEOUT,
        "still invisible: not delivered again before its time"
    );
    for offset in 0..2 {
        let ack = RemotingCommand::request(
            RequestCode::ACK_MESSAGE,
            &AckMessageRequestHeader {
                consumer_group: "g".into(),
                topic: "PopRestart".into(),
                queue_id: 0,
                extra_info: format!("0 {} 3600000 0 0 b 0 {offset}", h.pop_time),
                offset,
                broker_name: None,
            },
        );
        assert_eq!(c.call(ack).await.response_code(), ResponseCode::SUCCESS);
    }
    assert_eq!(
        runtime_info(&c).await["popInflightNum"],
        "0",
        "the old handles acked"
    );
}
