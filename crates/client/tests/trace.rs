//! Message trace written by apogee-client (producer `Pub`, push consumer `SubBefore` /
//! `SubAfter`) to the broker's `RMQ_SYS_TRACE_TOPIC` (`traceTopicEnable`), read back by message
//! id as `apogee admin queryMsgTraceById` and the console do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_client::{Admin, Message, Producer, ProducerConfig, TRACE_TOPIC};
use common::*;

#[tokio::test]
async fn given_tracing_producer_and_consumer_should_record_each_step_of_a_message() {
    init_tracing();
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("Traced");
    let creator = create_topic(ns, &topic).await;
    wait_for_route(ns, TRACE_TOPIC).await;
    let mut config = ProducerConfig::new(unique("tpg"));
    config.enable_trace = true;
    let producer = Producer::start(client(ns), config).await.unwrap();
    let sent = producer
        .send(
            Message::new(&topic, "order-1")
                .with_tags("TagA")
                .with_keys(["order-1"]),
        )
        .await
        .unwrap();
    let seen = Seen::default();
    let mut consumer_config = from_first(&unique("tcg"));
    consumer_config.enable_trace = true;
    let consumer = consumer(ns, consumer_config, &topic, &seen).await;
    seen.wait_for_distinct("the traced message", 2).await;
    consumer.shutdown().await;
    producer.shutdown().await;
    creator.shutdown().await;
    assert_eq!(producer.traces_dropped(), 0);

    let admin = Admin::start(client(ns)).await.unwrap();
    let id = sent.msg_id.clone();
    wait_until("the message's three trace records", || {
        let (admin, id) = (&admin, id.clone());
        async move { admin.message_trace(&id, TRACE_TOPIC).await.unwrap().len() >= 3 }
    })
    .await;
    let events = admin.message_trace(&id, TRACE_TOPIC).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.trace_type.as_str()).collect();
    assert!(
        kinds.contains(&"Pub") && kinds.contains(&"SubBefore") && kinds.contains(&"SubAfter"),
        "{kinds:?}"
    );
    let publish = events.iter().find(|e| e.trace_type == "Pub").unwrap();
    assert_eq!(publish.topic.as_deref(), Some(topic.as_str()));
    assert_eq!(publish.tags.as_deref(), Some("TagA"));
    assert_eq!(publish.keys.as_deref(), Some("order-1"));
    assert_eq!(publish.success, Some(true));
    assert_eq!(
        publish.offset_msg_id.as_deref(),
        Some(sent.offset_msg_id.as_str())
    );
    let after = events.iter().find(|e| e.trace_type == "SubAfter").unwrap();
    assert_eq!(after.success, Some(true));
    let before = events.iter().find(|e| e.trace_type == "SubBefore").unwrap();
    assert_eq!(
        before.request_id, after.request_id,
        "the pair shares a request id"
    );
}
