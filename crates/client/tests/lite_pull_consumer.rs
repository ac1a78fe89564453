//! Lite pull consumer features against a real broker over real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use apogee_client::{
    ConsumeFrom, LitePullConsumer, LitePullConsumerConfig, Message, MessageExt, MessageQueue,
    MessageSelector,
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

/// Polls until every sentinel was returned; everything polled, in order.
async fn poll_through(consumer: &LitePullConsumer, sentinels: &Sentinels) -> Vec<MessageExt> {
    let mut got: Vec<MessageExt> = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !sentinels.all_in(got.iter().map(body)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "polled {:?} but not every sentinel of {sentinels:?}",
            got.iter().map(body).collect::<Vec<_>>()
        );
        got.extend(consumer.poll(Duration::from_millis(200)).await);
    }
    got
}

fn body(m: &MessageExt) -> String {
    String::from_utf8_lossy(&m.body).into_owned()
}

fn bodies(msgs: &[MessageExt]) -> BTreeSet<String> {
    msgs.iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect()
}

/// Waits until `a` and `b` split the 4 queues, sends 20 messages, and checks the two together
/// see each of the 21 (with the topic's "create" message) once.
async fn split_and_consume_all(
    a: &LitePullConsumer,
    b: &LitePullConsumer,
    producer: &apogee_client::Producer,
    topic: &str,
) {
    wait_until("two members split 4 queues", || {
        let (qa, qb) = (a.assignment(), b.assignment());
        async move {
            qa.len() + qb.len() == 4 && qa.is_disjoint(&qb) && !qa.is_empty() && !qb.is_empty()
        }
    })
    .await;
    for i in 0..20 {
        producer
            .send(Message::new(topic, format!("m-{i}")))
            .await
            .unwrap();
    }
    // a and b together see everything once (1 "create" + 20).
    let (ga, gb) = tokio::join!(poll_until(a, 1), poll_until(b, 1));
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
    split_and_consume_all(&a, &b, &producer, &topic).await;
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
    let mut rest = poll_until(&c, 5).await;
    // Nothing more comes: c, alone in the group, polls every queue through a sentinel sent
    // after the 5.
    wait_until("the only member holds all 4 queues", || {
        let n = c.assignment().len();
        async move { n == 4 }
    })
    .await;
    let sentinels = send_sentinels(&producer, &c.assignment()).await;
    rest.extend(poll_through(&c, &sentinels).await);
    let mut rest: Vec<String> = rest.iter().filter(|m| !is_sentinel(m)).map(body).collect();
    rest.sort();
    assert_eq!(
        rest,
        (20..25).map(|i| format!("m-{i}")).collect::<Vec<_>>(),
        "resumed from the commit, each once"
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
    let mut first = poll_until(&consumer, 6).await;
    // Nothing more comes: the queue is polled through a sentinel sent after the 6.
    let sentinel = send_sentinels(&producer, [&queue]).await;
    let sentinel_body = sentinel.bodies.first().unwrap().clone();
    first.extend(poll_through(&consumer, &sentinel).await);
    // The topic's first message ("create") may have landed on this queue too.
    first.retain(|m| m.body.as_ref() != b"create");
    let base = first[0].queue_offset;
    let offsets_and_bodies = |msgs: &[MessageExt]| -> Vec<(i64, String)> {
        msgs.iter()
            .map(|m| (m.queue_offset - base, body(m)))
            .collect()
    };
    let expected: Vec<(i64, String)> = (0..6)
        .map(|i| (i, format!("s-{i}")))
        .chain([(6, sentinel_body.clone())])
        .collect();
    assert_eq!(offsets_and_bodies(&first), expected, "each once, in order");
    assert_eq!(
        consumer.committed(&queue),
        Some(base + 7),
        "auto-commit counts polled messages"
    );

    consumer.seek(&queue, base + 2).await.unwrap();
    let again = poll_through(&consumer, &sentinel).await;
    assert_eq!(
        offsets_and_bodies(&again),
        expected[2..],
        "read again from the seek"
    );

    let err = consumer.seek(&queue, 99).await.unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("outside [0, {}]", base + 7)),
        "{err}"
    );
    consumer.seek_to_end(&queue).await.unwrap();
    // Nothing stored before the end comes back: the first thing polled is a sentinel sent
    // after the seek.
    let after = send_sentinels(&producer, [&queue]).await;
    let tail = poll_through(&consumer, &after).await;
    assert_eq!(
        offsets_and_bodies(&tail),
        [(7, after.bodies.first().unwrap().clone())],
        "only what was sent after the seek to the end"
    );
    consumer.shutdown().await;
}

#[tokio::test]
async fn given_an_sql92_subscription_should_poll_only_matching_messages() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("Sql");
    let producer = create_topic(ns, &topic).await;
    let mut config = LitePullConsumerConfig::new(unique("sqlg"));
    config.consume_from = ConsumeFrom::FirstOffset;
    let consumer = LitePullConsumer::start(client(ns), config).await.unwrap();
    let bad = consumer
        .subscribe(&topic, MessageSelector::by_sql("n >="))
        .await;
    assert!(
        bad.is_err(),
        "an expression that does not compile fails at subscribe"
    );
    consumer
        .subscribe(&topic, MessageSelector::by_sql("n >= 3 AND TAGS = 'T'"))
        .await
        .unwrap();
    // One queue, so the last message arriving proves the ones before it were read.
    let queue = MessageQueue {
        topic: topic.clone(),
        broker_name: "broker-a".into(),
        queue_id: 2,
    };
    for i in 0..6 {
        let message = Message::new(&topic, format!("q-{i}"))
            .with_tags(if i == 4 { "U" } else { "T" })
            .with_property("n", i.to_string());
        producer.send_to_queue(message, &queue).await.unwrap();
    }
    let last = Message::new(&topic, "last")
        .with_tags("T")
        .with_property("n", "9");
    producer.send_to_queue(last, &queue).await.unwrap();
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !got.iter().any(|m: &MessageExt| m.body.as_ref() == b"last") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "polled {:?}",
            bodies(&got)
        );
        got.extend(consumer.poll(Duration::from_millis(200)).await);
    }
    assert_eq!(
        bodies(&got),
        BTreeSet::from(["q-3".to_owned(), "q-5".to_owned(), "last".to_owned()]),
        "n >= 3 tagged T only (the topic's create message has no n)"
    );
    consumer.shutdown().await;
}
