//! RecallMessage: a delay message recalled before its time is never delivered; one not
//! recalled, due at the same time, is; a handle of another topic or a late recall is refused.
//! Driven by a raw gRPC client (Apache's v5 Rust client 5.0.0 has no recall).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use apogee_grpc::pb;
use common::{WAIT, resource, with_id};
use tokio_stream::StreamExt;

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn message(id: &str, deliver_ms: Option<i64>) -> pb::Message {
    pb::Message {
        topic: Some(resource("Recalled")),
        user_properties: Default::default(),
        system_properties: Some(pb::SystemProperties {
            message_id: id.into(),
            message_type: if deliver_ms.is_some() {
                pb::MessageType::Delay
            } else {
                pb::MessageType::Normal
            } as i32,
            delivery_timestamp: deliver_ms.map(|ms| prost_types::Timestamp {
                seconds: ms / 1000,
                nanos: i32::try_from(ms % 1000).unwrap() * 1_000_000,
            }),
            ..pb::SystemProperties::default()
        }),
        body: id.as_bytes().to_vec(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recalled_delay_message_is_never_delivered() {
    let mut e = common::start().await;
    let due = now_ms() + 1_500;
    let send = pb::SendMessageRequest {
        messages: vec![
            message("01RECALLED", Some(due)),
            message("01KEPT", Some(due)),
        ],
    };
    let sent = e
        .client
        .send_message(with_id(send))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sent.status.unwrap().code, pb::Code::Ok as i32);
    let handle = sent.entries[0].recall_handle.clone();
    assert!(!handle.is_empty(), "a delay message is recallable");
    let wrong = pb::RecallMessageRequest {
        topic: Some(resource("Other")),
        recall_handle: handle.clone(),
    };
    let refused = e
        .client
        .recall_message(with_id(wrong))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(refused.status.unwrap().code, pb::Code::BadRequest as i32);
    let recall = pb::RecallMessageRequest {
        topic: Some(resource("Recalled")),
        recall_handle: handle.clone(),
    };
    let recalled = e
        .client
        .recall_message(with_id(recall.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(recalled.status.unwrap().code, pb::Code::Ok as i32);
    assert_eq!(recalled.message_id, "01RECALLED");

    let mut seen = Vec::new();
    let deadline = Instant::now() + WAIT;
    while !seen.contains(&"01KEPT".to_owned()) {
        assert!(Instant::now() < deadline, "received only {seen:?}");
        seen.extend(receive(&mut e).await);
    }
    // Everything due with it has been delivered: a message sent now comes after.
    let sentinel = pb::SendMessageRequest {
        messages: vec![message("01SENTINEL", None)],
    };
    e.client.send_message(with_id(sentinel)).await.unwrap();
    while !seen.contains(&"01SENTINEL".to_owned()) {
        assert!(Instant::now() < deadline, "received only {seen:?}");
        seen.extend(receive(&mut e).await);
    }
    assert!(
        !seen.contains(&"01RECALLED".to_owned()),
        "recalled: never delivered ({seen:?})"
    );
    let late = e
        .client
        .recall_message(with_id(recall))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        late.status.unwrap().code,
        pb::Code::MessageNotFound as i32,
        "too late"
    );
}

/// One ReceiveMessage of group GRecall; the ids received (each acked).
async fn receive(e: &mut common::Endpoint) -> Vec<String> {
    let request = pb::ReceiveMessageRequest {
        group: Some(resource("GRecall")),
        message_queue: Some(pb::MessageQueue {
            topic: Some(resource("Recalled")),
            ..pb::MessageQueue::default()
        }),
        filter_expression: None,
        batch_size: 16,
        invisible_duration: Some(prost_types::Duration {
            seconds: 30,
            nanos: 0,
        }),
        auto_renew: false,
        long_polling_timeout: Some(prost_types::Duration {
            seconds: 1,
            nanos: 0,
        }),
        attempt_id: None,
    };
    let mut stream = e
        .client
        .receive_message(with_id(request))
        .await
        .unwrap()
        .into_inner();
    let mut ids = Vec::new();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
    {
        if let Some(pb::receive_message_response::Content::Message(m)) = item.unwrap().content {
            let sp = m.system_properties.unwrap();
            let ack = pb::AckMessageRequest {
                group: Some(resource("GRecall")),
                topic: Some(resource("Recalled")),
                entries: vec![pb::AckMessageEntry {
                    message_id: sp.message_id.clone(),
                    receipt_handle: sp.receipt_handle.unwrap_or_default(),
                    lite_topic: None,
                }],
            };
            let acked = e
                .client
                .ack_message(with_id(ack))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(acked.status.unwrap().code, pb::Code::Ok as i32);
            ids.push(sp.message_id);
        }
    }
    ids
}
