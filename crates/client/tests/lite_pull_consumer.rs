//! Lite pull consumer features against a real broker over real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use apogee_client::{
    ConsumeFrom, LitePullConsumer, LitePullConsumerConfig, Message, MessageExt, MessageQueue,
};
use common::*;

async fn poll_until(consumer: &LitePullConsumer, n: usize) -> Vec<MessageExt> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while got.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "polled {} of {n}",
            got.len()
        );
        got.extend(consumer.poll(Duration::from_millis(200)).await);
    }
    got
}

fn bodies(msgs: &[MessageExt]) -> BTreeSet<String> {
    msgs.iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect()
}

#[tokio::test]
async fn given_subscription_should_split_queues_and_resume_from_a_manual_commit() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("Lite");
    let producer = create_topic(ns, &topic).await;
    let group = unique("lg");
    let mut config = LitePullConsumerConfig::new(&group);
    config.consume_from = ConsumeFrom::FirstOffset;
    config.auto_commit = false;

    let a = LitePullConsumer::start(client(ns), config.clone())
        .await
        .unwrap();
    a.subscribe(&topic, "*").await.unwrap();
    let b = LitePullConsumer::start(client(ns), config.clone())
        .await
        .unwrap();
    b.subscribe(&topic, "*").await.unwrap();
    wait_until("two members split 4 queues", || {
        let (qa, qb) = (a.assignment(), b.assignment());
        async move {
            qa.len() + qb.len() == 4 && qa.is_disjoint(&qb) && !qa.is_empty() && !qb.is_empty()
        }
    })
    .await;
    for i in 0..20 {
        producer
            .send(Message::new(&topic, format!("m-{i}")))
            .await
            .unwrap();
    }
    // a and b together see everything once (1 "create" + 20).
    let (ga, gb) = tokio::join!(poll_until(&a, 1), poll_until(&b, 1));
    let mut all: Vec<MessageExt> = ga.into_iter().chain(gb).collect();
    let deadline = tokio::time::Instant::now() + WAIT;
    while all.len() < 21 {
        assert!(tokio::time::Instant::now() < deadline);
        all.extend(a.poll(Duration::from_millis(100)).await);
        all.extend(b.poll(Duration::from_millis(100)).await);
    }
    let dump: Vec<String> = all
        .iter()
        .map(|m| {
            format!(
                "{}@{}:{}",
                String::from_utf8_lossy(&m.body),
                m.queue_id,
                m.queue_offset
            )
        })
        .collect();
    assert_eq!(bodies(&all).len(), 21, "{dump:?}");
    a.commit_sync().await.unwrap();
    b.commit_sync().await.unwrap();
    a.shutdown().await;
    b.shutdown().await;

    for i in 20..25 {
        producer
            .send(Message::new(&topic, format!("m-{i}")))
            .await
            .unwrap();
    }
    let c = LitePullConsumer::start(client(ns), config).await.unwrap();
    c.subscribe(&topic, "*").await.unwrap();
    let rest = poll_until(&c, 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut rest = bodies(&rest);
    rest.extend(bodies(&c.poll(Duration::from_millis(300)).await));
    assert_eq!(
        rest,
        (20..25).map(|i| format!("m-{i}")).collect(),
        "resumed from the commit"
    );
    c.shutdown().await;
}

#[tokio::test]
async fn given_assigned_queue_should_seek_back_and_read_again() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("Seek");
    let producer = create_topic(ns, &topic).await;
    let queue = MessageQueue {
        topic: topic.clone(),
        broker_name: "broker-a".into(),
        queue_id: 1,
    };
    for i in 0..6 {
        producer
            .send_to_queue(Message::new(&topic, format!("s-{i}")), &queue)
            .await
            .unwrap();
    }
    let mut config = LitePullConsumerConfig::new(unique("sg"));
    config.consume_from = ConsumeFrom::FirstOffset;
    let consumer = LitePullConsumer::start(client(ns), config).await.unwrap();
    consumer.assign(vec![queue.clone()]).await.unwrap();
    assert_eq!(consumer.assignment(), BTreeSet::from([queue.clone()]));
    // The topic's first message ("create") may have landed on this queue too.
    let mut first = poll_until(&consumer, 6).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.extend(consumer.poll(Duration::from_millis(300)).await);
    first.retain(|m| m.body.starts_with(b"s-"));
    let base = first[0].queue_offset;
    assert_eq!(
        first
            .iter()
            .map(|m| m.queue_offset - base)
            .collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5]
    );
    assert_eq!(
        consumer.committed(&queue),
        Some(base + 6),
        "auto-commit counts polled messages"
    );

    consumer.seek(&queue, base + 2).await.unwrap();
    let again = poll_until(&consumer, 4).await;
    assert_eq!(again[0].queue_offset, base + 2);
    assert_eq!(again.len(), 4);

    let err = consumer.seek(&queue, 99).await.unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("outside [0, {}]", base + 6)),
        "{err}"
    );
    consumer.seek_to_end(&queue).await.unwrap();
    assert!(consumer.poll(Duration::from_millis(300)).await.is_empty());
    consumer.shutdown().await;
}
