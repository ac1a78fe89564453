//! The simple (POP) consumer against a real broker over real sockets: receive and ack,
//! redelivery after the invisible time (never before), a changed invisible time, orderly
//! receiving, and messages sent while a receive waits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use apogee_client::{Message, MessageExt, POP_CK, SimpleConsumer, SimpleConsumerConfig};
use apogee_protocol::pop_info::ExtraInfo;
use common::*;

async fn simple(namesrv: &str, group: &str, topic: &str, orderly: bool) -> SimpleConsumer {
    let mut config = SimpleConsumerConfig::new(group);
    config.await_duration = Duration::from_millis(500);
    config.from_first = true;
    config.orderly = orderly;
    let consumer = SimpleConsumer::start(client(namesrv), config)
        .await
        .unwrap();
    consumer.subscribe(topic, "*").await.unwrap();
    consumer
}

fn body(m: &MessageExt) -> String {
    String::from_utf8_lossy(&m.body).into_owned()
}

fn handle(m: &MessageExt) -> ExtraInfo {
    ExtraInfo::parse(m.property(POP_CK).expect("a receipt handle")).expect("a valid handle")
}

/// Receives until `done` holds for everything received so far; everything received.
async fn receive_until(
    consumer: &SimpleConsumer,
    invisible: Duration,
    done: impl Fn(&[MessageExt]) -> bool,
) -> Vec<MessageExt> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done(&got) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "received only {:?}",
            got.iter().map(body).collect::<Vec<_>>()
        );
        got.extend(consumer.receive(16, invisible).await.unwrap());
    }
    got
}

fn has_body(b: &str) -> impl Fn(&[MessageExt]) -> bool + '_ {
    move |got| got.iter().any(|m| body(m) == b)
}

#[tokio::test]
async fn received_messages_acked_are_not_delivered_again() {
    let cluster = cluster().await;
    let topic = unique("PopAck");
    let producer = create_topic(&cluster.namesrv_addr, &topic).await;
    for i in 0..10 {
        producer
            .send(Message::new(&topic, format!("m{i}")))
            .await
            .unwrap();
    }
    let consumer = simple(&cluster.namesrv_addr, &unique("gpop"), &topic, false).await;
    let want: BTreeSet<String> = (0..10).map(|i| format!("m{i}")).collect();
    let got = receive_until(&consumer, Duration::from_secs(60), |got| {
        want.is_subset(&got.iter().map(body).collect())
    })
    .await;
    for m in &got {
        assert_eq!(m.topic, topic);
    }
    consumer.ack_batch(&got).await.unwrap();
    let bodies: Vec<String> = got
        .iter()
        .map(body)
        .filter(|b| b.starts_with('m'))
        .collect();
    assert_eq!(bodies.len(), 10, "each message once: {bodies:?}");
    producer
        .send(Message::new(&topic, "sentinel"))
        .await
        .unwrap();
    let after = receive_until(&consumer, Duration::from_secs(60), has_body("sentinel")).await;
    assert_eq!(
        after.iter().map(body).collect::<Vec<_>>(),
        vec!["sentinel".to_owned()],
        "acked messages stay acked"
    );
}

#[tokio::test]
async fn an_unacked_message_returns_after_its_invisible_time_and_not_before() {
    let cluster = cluster().await;
    let topic = unique("PopRevive");
    let producer = create_topic(&cluster.namesrv_addr, &topic).await;
    let sent = producer.send(Message::new(&topic, "again")).await.unwrap();
    let consumer = simple(&cluster.namesrv_addr, &unique("gpop"), &topic, false).await;
    let invisible = Duration::from_secs(2);
    let first = receive_until(&consumer, invisible, has_body("again")).await;
    let first = first.into_iter().find(|m| body(m) == "again").unwrap();
    assert_eq!(first.reconsume_times, 0);
    let second = receive_until(&consumer, invisible, has_body("again")).await;
    let second = second.into_iter().find(|m| body(m) == "again").unwrap();
    assert_eq!(second.msg_id, sent.msg_id, "the same message");
    assert_eq!(second.topic, topic, "shown on its own topic");
    assert_eq!(second.reconsume_times, 1);
    let (h1, h2) = (handle(&first), handle(&second));
    assert!(
        h2.pop_time >= h1.pop_time + 2_000,
        "delivered again at {} though invisible until {}",
        h2.pop_time,
        h1.pop_time + 2_000
    );
    assert_eq!(h2.topic_type, "1", "from the retry topic");
    // The first handle is stale: acking it changes nothing (as in RocketMQ); the second acks.
    consumer.ack(&first).await.unwrap();
    consumer.ack(&second).await.unwrap();
    producer
        .send(Message::new(&topic, "sentinel"))
        .await
        .unwrap();
    let after = receive_until(&consumer, invisible, has_body("sentinel")).await;
    assert!(
        after.iter().all(|m| body(m) != "again"),
        "acked: not delivered a third time"
    );
}

#[tokio::test]
async fn a_changed_invisible_time_decides_when_the_message_returns() {
    let cluster = cluster().await;
    let topic = unique("PopChange");
    let producer = create_topic(&cluster.namesrv_addr, &topic).await;
    producer.send(Message::new(&topic, "later")).await.unwrap();
    let consumer = simple(&cluster.namesrv_addr, &unique("gpop"), &topic, false).await;
    let got = receive_until(&consumer, Duration::from_secs(3600), has_body("later")).await;
    let mut message = got.into_iter().find(|m| body(m) == "later").unwrap();
    let old = handle(&message);
    consumer
        .change_invisible_duration(&mut message, Duration::from_secs(1))
        .await
        .unwrap();
    let new = handle(&message);
    assert!(new.pop_time >= old.pop_time);
    assert_eq!(new.invisible_time, 1_000);
    let again = receive_until(&consumer, Duration::from_secs(60), has_body("later")).await;
    let again = again.into_iter().find(|m| body(m) == "later").unwrap();
    assert!(
        handle(&again).pop_time >= new.pop_time + 1_000,
        "not before the new time"
    );
    consumer.ack(&again).await.unwrap();
}

#[tokio::test]
async fn an_orderly_queue_gives_nothing_more_until_its_messages_are_acked_or_expire() {
    let cluster = cluster().await;
    let topic = unique("PopFifo");
    let producer = create_topic(&cluster.namesrv_addr, &topic).await;
    for i in 0..5 {
        producer
            .send_orderly(Message::new(&topic, format!("o{i}")), "one-key")
            .await
            .unwrap();
    }
    // All stored and dispatched first: an orderly pop takes what its queue holds, and the
    // queue then gives nothing until those are acked or expire.
    let admin = apogee_client::Admin::start(client(&cluster.namesrv_addr))
        .await
        .unwrap();
    wait_until("the six messages dispatched", || async {
        let stats = admin.topic_stats(&topic).await.unwrap();
        stats
            .offset_table
            .values()
            .map(|o| o.max_offset)
            .sum::<i64>()
            >= 6
    })
    .await;
    let consumer = simple(&cluster.namesrv_addr, &unique("gfifo"), &topic, true).await;
    let invisible = Duration::from_secs(2);
    let first = receive_until(&consumer, invisible, has_body("o4")).await;
    let ordered: Vec<String> = first
        .iter()
        .map(body)
        .filter(|b| b.starts_with('o'))
        .collect();
    assert_eq!(ordered, ["o0", "o1", "o2", "o3", "o4"], "in order");
    // Not acked: the same messages come back, in the same order, after the invisible time.
    let again = receive_until(&consumer, invisible, has_body("o0")).await;
    let reordered: Vec<String> = again
        .iter()
        .map(body)
        .filter(|b| b.starts_with('o'))
        .collect();
    assert_eq!(reordered, ["o0", "o1", "o2", "o3", "o4"]);
    let h1 = first.iter().find(|m| body(m) == "o0").map(handle).unwrap();
    let h2 = again.iter().find(|m| body(m) == "o0").map(handle).unwrap();
    assert!(
        h2.pop_time >= h1.pop_time + 2_000,
        "not before its invisible time"
    );
    assert!(
        again
            .iter()
            .filter(|m| body(m).starts_with('o'))
            .all(|m| m.reconsume_times == 1)
    );
    for m in &again {
        consumer.ack(m).await.unwrap();
    }
    producer
        .send_orderly(Message::new(&topic, "o5"), "one-key")
        .await
        .unwrap();
    let next = receive_until(&consumer, invisible, has_body("o5")).await;
    assert!(
        next.iter().all(|m| body(m) == "o5" || body(m) == "create"),
        "acked ones stay acked"
    );
}

#[tokio::test]
async fn a_waiting_receive_gets_a_message_sent_meanwhile() {
    let cluster = cluster().await;
    let topic = unique("PopWait");
    let producer = create_topic(&cluster.namesrv_addr, &topic).await;
    let mut config = SimpleConsumerConfig::new(unique("gwait"));
    config.await_duration = Duration::from_secs(30);
    config.from_first = true;
    let consumer = SimpleConsumer::start(client(&cluster.namesrv_addr), config)
        .await
        .unwrap();
    consumer.subscribe(&topic, "*").await.unwrap();
    // Take the topic's "create" message first, so the next receive has to wait.
    let created = receive_until(&consumer, Duration::from_secs(60), has_body("create")).await;
    consumer.ack(&created[0]).await.unwrap();
    let waiting = tokio::spawn(async move { consumer.receive(16, Duration::from_secs(60)).await });
    wait_until("a receive waits", || {
        let parked = cluster.broker.parked_pulls();
        async move { parked > 0 }
    })
    .await;
    producer
        .send(Message::new(&topic, "arrived"))
        .await
        .unwrap();
    let got = tokio::time::timeout(WAIT, waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got.iter().map(body).collect::<Vec<_>>(), ["arrived"]);
}
