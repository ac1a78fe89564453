//! Producer features against a real broker over real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use apogee_client::{
    ClientError, LitePullConsumer, LitePullConsumerConfig, Message, MessageExt, MessageQueue,
    Producer, ProducerConfig, SendStatus,
};
use common::*;

/// Every message now stored in `topic`, read by an assigned lite pull consumer.
async fn read_all(namesrv: &str, topic: &str, expected: usize) -> Vec<MessageExt> {
    let consumer = LitePullConsumer::start(
        client(namesrv),
        LitePullConsumerConfig::new(unique("reader")),
    )
    .await
    .unwrap();
    let queues = consumer.fetch_queues(topic).await.unwrap();
    consumer.assign(queues.clone()).await.unwrap();
    for q in &queues {
        consumer.seek_to_begin(q).await.unwrap();
    }
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while got.len() < expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "read {} of {expected}",
            got.len()
        );
        got.extend(consumer.poll(Duration::from_millis(500)).await);
    }
    consumer.shutdown().await;
    got
}

#[tokio::test]
async fn given_sync_async_oneway_and_batch_sends_should_store_each_message_once() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("Modes");
    let producer = create_topic(ns, &topic).await;

    let sync = producer
        .send(
            Message::new(&topic, "sync")
                .with_tags("A")
                .with_keys(["k-sync"]),
        )
        .await
        .unwrap();
    assert_eq!(sync.status, SendStatus::SendOk);
    assert_eq!(sync.msg_id.len(), 32, "UNIQ_KEY is 32 hex chars for IPv4");
    assert!(
        sync.msg_id
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    );
    assert_eq!(sync.offset_msg_id.len(), 32);

    let (tx, rx) = tokio::sync::oneshot::channel();
    producer.send_with_callback(Message::new(&topic, "async"), move |r| {
        let _ = tx.send(r);
    });
    let async_result = tokio::time::timeout(WAIT, rx)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(async_result.status, SendStatus::SendOk);

    producer
        .send_oneway(Message::new(&topic, "oneway"))
        .await
        .unwrap();

    let batch: Vec<Message> = (0..5)
        .map(|i| Message::new(&topic, format!("batch-{i}")))
        .collect();
    let batch_result = producer.send_batch(batch).await.unwrap();
    assert_eq!(batch_result.msg_id.split(',').count(), 5);
    assert_eq!(batch_result.offset_msg_id.split(',').count(), 5);

    let msgs = read_all(ns, &topic, 9).await;
    let mut bodies: Vec<String> = msgs
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    bodies.sort();
    assert_eq!(
        bodies,
        [
            "async", "batch-0", "batch-1", "batch-2", "batch-3", "batch-4", "create", "oneway",
            "sync"
        ]
    );
    let sent = msgs.iter().find(|m| m.body.as_ref() == b"sync").unwrap();
    assert_eq!(
        sent.msg_id, sync.msg_id,
        "consumers see the producer's UNIQ_KEY"
    );
    assert_eq!(sent.tags(), Some("A"));
    assert_eq!(sent.keys(), Some("k-sync"));
    producer.shutdown().await;
}

#[tokio::test]
async fn given_large_body_should_compress_on_the_wire_and_restore_for_consumers() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("Big");
    let producer = create_topic(ns, &topic).await;
    let body: Vec<u8> = (0..64 * 1024).map(|i| (i % 7) as u8).collect();
    producer
        .send(Message::new(&topic, body.clone()))
        .await
        .unwrap();
    let msgs = read_all(ns, &topic, 2).await;
    let big = msgs.iter().find(|m| m.body.len() > 100).unwrap();
    assert_eq!(big.body.as_ref(), body.as_slice());
    assert_eq!(big.sys_flag & 1, 0, "decompressed copy clears COMPRESSED");

    let too_big = vec![1u8; 4 * 1024 * 1024 + 1];
    let err = producer
        .send(Message::new(&topic, too_big))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::InvalidMessage(_)), "{err}");
    assert!(err.to_string().contains("limit"), "{err}");
    producer.shutdown().await;
}

#[tokio::test]
async fn given_sharding_keys_should_keep_each_key_in_one_queue_in_order() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("Ordered");
    let producer = create_topic(ns, &topic).await;
    for i in 0..30 {
        let key = format!("order-{}", i % 3);
        producer
            .send_orderly(Message::new(&topic, format!("{key}:{i}")), &key)
            .await
            .unwrap();
    }
    // A custom selector: always the last queue.
    let last = |qs: &[MessageQueue], _: &Message, _: &str| qs.len() - 1;
    let r = producer
        .send_with_selector(Message::new(&topic, "custom"), &last, "")
        .await
        .unwrap();
    assert_eq!(r.queue.queue_id, 3);

    let msgs = read_all(ns, &topic, 32).await;
    for k in 0..3 {
        let key = format!("order-{k}");
        let of_key: Vec<&MessageExt> = msgs
            .iter()
            .filter(|m| m.body.starts_with(format!("{key}:").as_bytes()))
            .collect();
        assert_eq!(of_key.len(), 10);
        assert!(of_key.iter().all(|m| m.queue_id == of_key[0].queue_id));
        let mut by_offset = of_key.clone();
        by_offset.sort_by_key(|m| m.queue_offset);
        let seq: Vec<u32> = by_offset
            .iter()
            .map(|m| {
                String::from_utf8_lossy(&m.body)
                    .split(':')
                    .nth(1)
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        let mut sorted = seq.clone();
        sorted.sort_unstable();
        assert_eq!(seq, sorted, "key {key} kept its order");
    }
    producer.shutdown().await;
}

#[tokio::test]
async fn given_bad_setup_should_fail_with_clear_errors() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let config = client(ns);
    let group = unique("dup");
    let first = Producer::start(config.clone(), ProducerConfig::new(&group))
        .await
        .unwrap();
    let err = Producer::start(config.clone(), ProducerConfig::new(&group))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, ClientError::GroupAlreadyRegistered { .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&group));
    first.shutdown().await;

    // The broker's refusal keeps its code and remark: a body over the broker's 4 MiB limit
    // from a producer whose own limit is higher.
    let mut lenient = ProducerConfig::new(unique("p"));
    lenient.max_message_size = 8 * 1024 * 1024;
    lenient.compress_over = usize::MAX;
    let producer = Producer::start(client(ns), lenient).await.unwrap();
    let topic = unique("Limits");
    let body = vec![7u8; 5 * 1024 * 1024];
    let err = producer.send(Message::new(&topic, body)).await.unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(apogee_protocol::ResponseCode::MESSAGE_ILLEGAL),
        "{err}"
    );
    assert!(err.to_string().contains("refused"), "{err}");

    // No NameServer at all.
    let dead = Producer::start(client("127.0.0.1:1"), ProducerConfig::new(unique("p")))
        .await
        .unwrap();
    let err = dead.send(Message::new("T", "x")).await.unwrap_err();
    assert!(matches!(err, ClientError::NoNameServer(_)), "{err}");
    producer.shutdown().await;
}

#[tokio::test]
async fn given_topic_missing_with_auto_create_off_should_say_no_route() {
    common::init_tracing();
    let cluster = apogee_testkit::start(|raw| raw.auto_create_topic_enable = false).await;
    let producer = Producer::start(
        client(&cluster.namesrv_addr),
        ProducerConfig::new(unique("p")),
    )
    .await
    .unwrap();
    let err = producer
        .send(Message::new(unique("Nope"), "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::NoRoute { .. }), "{err}");
    assert!(
        err.to_string().contains("No route info of this topic"),
        "{err}"
    );
    producer.shutdown().await;
}
