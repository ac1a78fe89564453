//! CONSUME_MESSAGE_DIRECTLY (309) end to end: the admin API finds a stored message, the broker
//! holding it relays the call with the message to one live push consumer, whose listener runs
//! once and whose verdict comes back — for concurrent and orderly listeners, by either kind of
//! message id, and with Java's refusals when the client is not online.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_client::{
    Admin, ConsumeDirectlyOutcome, ConsumeResult, Message, MessageExt, OrderlyResult, PushConsumer,
};
use apogee_protocol::ResponseCode;
use common::*;

/// A push consumer of `group` on an idle topic whose listener records what it is given and
/// answers by body: "later" → reconsume later, "boom" → panic, anything else → success. The
/// idle topic's own first message ("create") is consumed but not recorded.
async fn diagnosed_consumer(ns: &str, group: &str, orderly: bool, seen: &Seen) -> PushConsumer {
    let idle = unique("Idle");
    create_topic(ns, &idle).await.shutdown().await;
    let builder = PushConsumer::builder(client(ns), from_first(group)).subscribe(&idle, "*");
    let seen = seen.clone();
    let builder = if orderly {
        builder.orderly_listener(move |msgs: &[MessageExt]| {
            if msgs[0].body != "create" {
                seen.push(msgs);
            }
            match &msgs[0].body[..] {
                b"later" => OrderlyResult::SuspendCurrentQueueAMoment,
                _ => OrderlyResult::Success,
            }
        })
    } else {
        builder.listener(move |msgs: &[MessageExt]| {
            if msgs[0].body != "create" {
                seen.push(msgs);
            }
            match &msgs[0].body[..] {
                b"later" => ConsumeResult::ReconsumeLater,
                b"boom" => panic!("listener refused {}", msgs[0].msg_id),
                _ => ConsumeResult::Success,
            }
        })
    };
    builder.start().await.unwrap()
}

async fn client_id_of(admin: &Admin, group: &str) -> String {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Ok(c) = admin.consumer_connection(group).await
            && let Some(first) = c.connection_set.first()
        {
            return first.client_id.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for the consumer's connection"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn given_a_live_push_consumer_should_run_its_listener_on_the_named_message_and_report_it() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let admin = Admin::start(client(ns)).await.unwrap();
    let topic = unique("Direct");
    let producer = create_topic(ns, &topic).await;
    let mut sent = Vec::new();
    for body in ["fine", "later", "boom"] {
        let msg = Message::new(&topic, body).with_tags("diag");
        sent.push(producer.send(msg).await.unwrap());
    }
    let group = unique("direct");
    let seen = Seen::default();
    let live = diagnosed_consumer(ns, &group, false, &seen).await;
    let client_id = client_id_of(&admin, &group).await;

    let fine = admin
        .consume_message_directly(&group, &client_id, None, &sent[0].offset_msg_id)
        .await
        .unwrap();
    assert_eq!(fine.consume_result, ConsumeDirectlyOutcome::CrSuccess);
    assert!(!fine.order && fine.auto_commit && fine.remark.is_none());
    let given = seen.all();
    assert_eq!(given.len(), 1, "the listener ran once");
    assert_eq!(given[0].topic, topic);
    assert_eq!(given[0].body, "fine");
    assert_eq!(given[0].msg_id, sent[0].msg_id);
    assert_eq!(given[0].tags(), Some("diag"));
    assert_eq!(given[0].broker_name, sent[0].queue.broker_name);

    // A client message id (UNIQ_KEY) with its topic works too, once the index has it (the
    // index is built after the append, as RocketMQ's).
    wait_until("the UNIQ_KEY in the index", || {
        let (admin, topic, id) = (&admin, &topic, &sent[1].msg_id);
        async move {
            admin
                .query_message_by_unique_key(topic, id)
                .await
                .is_ok_and(|found| !found.is_empty())
        }
    })
    .await;
    let later = admin
        .consume_message_directly(&group, &client_id, Some(&topic), &sent[1].msg_id)
        .await
        .unwrap();
    assert_eq!(later.consume_result, ConsumeDirectlyOutcome::CrLater);

    let boom = admin
        .consume_message_directly(&group, &client_id, None, &sent[2].offset_msg_id)
        .await
        .unwrap();
    assert_eq!(
        boom.consume_result,
        ConsumeDirectlyOutcome::CrThrowException
    );
    let remark = boom.remark.unwrap_or_default();
    assert!(remark.contains("listener refused"), "{remark}");
    assert_eq!(seen.len(), 3);

    let err = admin
        .consume_message_directly(&group, "no-such-client", None, &sent[0].offset_msg_id)
        .await
        .unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(ResponseCode::SYSTEM_ERROR),
        "{err}"
    );
    assert!(err.to_string().contains("not online"), "{err}");
    live.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test]
async fn given_an_orderly_consumer_should_report_an_ordered_result() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let admin = Admin::start(client(ns)).await.unwrap();
    let topic = unique("DirectOrder");
    let producer = create_topic(ns, &topic).await;
    let later = producer.send(Message::new(&topic, "later")).await.unwrap();
    let group = unique("directorder");
    let seen = Seen::default();
    let live = diagnosed_consumer(ns, &group, true, &seen).await;
    let client_id = client_id_of(&admin, &group).await;
    let result = admin
        .consume_message_directly(&group, &client_id, None, &later.offset_msg_id)
        .await
        .unwrap();
    assert!(result.order);
    assert_eq!(result.consume_result, ConsumeDirectlyOutcome::CrLater);
    assert_eq!(seen.bodies(), ["later"]);
    live.shutdown().await;
    producer.shutdown().await;
}
