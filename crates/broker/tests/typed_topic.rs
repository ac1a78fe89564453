//! Typed topics over real sockets: with `enableTopicMessageTypeCheck` on, a send must match its
//! topic's RocketMQ 5 `message.type` (MESSAGE_ILLEGAL with RocketMQ's remark otherwise); off
//! (the default), anything goes as on a 4.x broker.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_protocol::ResponseCode;
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
