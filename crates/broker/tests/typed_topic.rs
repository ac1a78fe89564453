//! Typed topics over real sockets: with `enableTopicMessageTypeCheck` on, a send must match its
//! topic's RocketMQ 5 `message.type` (MESSAGE_ILLEGAL with RocketMQ's remark otherwise); off
//! (the default), anything goes as on a 4.x broker. A batch never carries delay or timer
//! messages, typed topic or not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_protocol::ResponseCode;
use apogee_protocol::batch::{BatchEntry, encode_batch};
use apogee_protocol::message_properties::property;
use bytes::Bytes;
use common::*;

#[tokio::test]
async fn given_typed_topics_should_refuse_messages_of_another_kind_only_when_checking() {
    let c = cluster(|raw| raw.enable_topic_message_type_check = true).await;
    let r = c
        .call(create_topic("Fifo", 4, Some("+message.type=FIFO")))
        .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let r = c.call(send_v2("Fifo", 0, "", b"plain")).await;
    assert_eq!(r.response_code(), ResponseCode::MESSAGE_ILLEGAL);
    assert_eq!(
        r.remark.as_deref(),
        Some(
            "TopicMessageType validate failed, the expected type is FIFO, but actual type is NORMAL"
        )
    );
    let r = c
        .call(send_v2(
            "Fifo",
            0,
            "__SHARDINGKEY\u{1}order-7\u{2}",
            b"fifo",
        ))
        .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let r = c.call(create_topic("Plain", 4, None)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let r = c
        .call(send_v2("Plain", 0, "DELAY\u{1}2\u{2}", b"later"))
        .await;
    assert_eq!(
        r.response_code(),
        ResponseCode::MESSAGE_ILLEGAL,
        "no attribute means NORMAL"
    );
    let r = c.call(send_batch("Fifo", 0, &["a", "b"])).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::MESSAGE_ILLEGAL,
        "each batch entry is checked"
    );

    let off = cluster(|_| {}).await;
    assert_eq!(
        off.call(create_topic("Fifo", 4, Some("+message.type=FIFO")))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    let r = off.call(send_v2("Fifo", 0, "", b"plain")).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::SUCCESS,
        "not checked by default"
    );
}

#[tokio::test]
async fn given_a_batch_entry_with_a_delay_or_timer_property_should_refuse_the_whole_batch() {
    let c = cluster(|_| {}).await;
    let with = |properties: String| {
        let entries = [
            BatchEntry {
                flag: 0,
                body: Bytes::from_static(b"a"),
                properties: "KEYS\u{1}a\u{2}".into(),
            },
            BatchEntry {
                flag: 0,
                body: Bytes::from_static(b"b"),
                properties,
            },
        ];
        let mut body = Vec::new();
        encode_batch(&entries, &mut body);
        let mut request = send_batch("Sched", 0, &["unused"]);
        request.body = body.into();
        request
    };
    for key in [
        property::DELAY,
        property::TIMER_DELIVER_MS,
        property::TIMER_DELAY_SEC,
        property::TIMER_DELAY_MS,
        property::START_DELIVER_TIME,
    ] {
        let r = c
            .call(with(format!("KEYS\u{1}b\u{2}{key}\u{1}3\u{2}")))
            .await;
        assert_eq!(r.response_code(), ResponseCode::MESSAGE_ILLEGAL, "{key}");
        assert_eq!(
            r.remark.as_deref(),
            Some("a batch cannot carry delay or timer messages"),
            "{key}"
        );
    }
    let r = c.call(with("KEYS\u{1}b\u{2}".into())).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    c.wait_max_offset("Sched", 0, 2).await;
}
