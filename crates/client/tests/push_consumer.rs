//! Push consumer features against a real broker over real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use apogee_client::{
    AllocateStrategy, ConsumeFrom, ConsumeResult, Message, MessageModel, MessageQueue,
    OrderlyResult, Producer, PushConsumer, PushConsumerConfig,
};
use common::*;

/// Sends `prefix-0` … `prefix-{n-1}`; returns the offset just past the last one sent to each
/// queue.
async fn send_n(
    producer: &Producer,
    topic: &str,
    prefix: &str,
    n: usize,
) -> BTreeMap<MessageQueue, i64> {
    let mut ends = BTreeMap::new();
    for i in 0..n {
        let sent = producer
            .send(Message::new(topic, format!("{prefix}-{i}")))
            .await
            .unwrap();
        ends.insert(sent.queue, sent.queue_offset + 1);
    }
    ends
}

async fn wait_assignments(consumers: &[&PushConsumer], total: usize) {
    wait_until("a disjoint assignment covering every queue", || {
        let sets: Vec<BTreeSet<MessageQueue>> = consumers
            .iter()
            .map(|c| {
                c.assignment()
                    .into_iter()
                    .filter(|q| !q.topic.starts_with('%'))
                    .collect()
            })
            .collect();
        async move {
            let sum: usize = sets.iter().map(BTreeSet::len).sum();
            let union: BTreeSet<&MessageQueue> = sets.iter().flatten().collect();
            sum == total && union.len() == total && sets.iter().all(|s| !s.is_empty())
        }
    })
    .await;
}

#[tokio::test]
async fn given_clustering_group_should_rebalance_when_a_third_member_joins_and_leaves() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("Clustered");
    let producer = create_topic(ns, &topic).await;
    let group = unique("g");
    let seen = Seen::default();
    let mut config = PushConsumerConfig::new(&group);
    config.consume_from = ConsumeFrom::FirstOffset;
    let a = consumer(ns, config.clone(), &topic, &seen).await;
    let b = consumer(ns, config.clone(), &topic, &seen).await;
    wait_assignments(&[&a, &b], 4).await;

    let c = consumer(ns, config.clone(), &topic, &seen).await;
    wait_assignments(&[&a, &b, &c], 4).await;
    send_n(&producer, &topic, "three", 30).await;
    // At least once: a queue changing hands may deliver a message twice, so count bodies.
    seen.wait_for_distinct("31 messages with three members", 31)
        .await;

    c.shutdown().await;
    wait_assignments(&[&a, &b], 4).await;
    send_n(&producer, &topic, "two", 30).await;
    seen.wait_for_distinct("all 61 messages", 61).await;
    let bodies: BTreeSet<String> = seen.bodies().into_iter().collect();
    assert_eq!(bodies.len(), 61, "every message delivered, nothing else");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn given_strategies_should_all_cover_the_queues() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("Strategies");
    let _producer = create_topic(ns, &topic).await;
    for strategy in [
        AllocateStrategy::AverageByCircle,
        AllocateStrategy::CONSISTENT_HASH,
    ] {
        let mut config = PushConsumerConfig::new(unique("g"));
        config.allocate = strategy;
        let seen = Seen::default();
        let a = consumer(ns, config.clone(), &topic, &seen).await;
        let b = consumer(ns, config.clone(), &topic, &seen).await;
        wait_until(&format!("{strategy:?} covers 4 queues"), || {
            let n = a
                .assignment()
                .iter()
                .chain(b.assignment().iter())
                .filter(|q| q.topic == topic)
                .count();
            async move { n == 4 }
        })
        .await;
        a.shutdown().await;
        b.shutdown().await;
    }
}

#[tokio::test]
async fn given_broadcasting_should_deliver_to_all_and_resume_from_local_offsets_after_restart() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("Broadcast");
    let producer = create_topic(ns, &topic).await;
    let dir = tempfile::tempdir().unwrap();
    let group = unique("bg");
    let mut config = PushConsumerConfig::new(&group);
    config.message_model = MessageModel::Broadcasting;
    config.offset_store_dir = dir.path().to_owned();
    let instance_a = unique("a");
    let start = |seen: Seen, instance: String| {
        let config = config.clone();
        let topic = topic.clone();
        let ns = ns.clone();
        async move {
            PushConsumer::builder(client(&ns).instance_name(instance), config)
                .subscribe(&topic, "*")
                .listener(move |msgs: &[apogee_client::MessageExt]| {
                    seen.push(msgs);
                    ConsumeResult::Success
                })
                .start()
                .await
                .unwrap()
        }
    };
    let (seen_a, seen_b) = (Seen::default(), Seen::default());
    let a = start(seen_a.clone(), instance_a.clone()).await;
    let b = start(seen_b.clone(), unique("b")).await;
    wait_until("both consumers hold all 4 queues", || {
        let (na, nb) = (a.assignment().len(), b.assignment().len());
        async move { na == 4 && nb == 4 }
    })
    .await;
    let first = send_n(&producer, &topic, "first", 10).await;
    seen_a.wait_for("a gets 10", 10).await;
    seen_b.wait_for("b gets 10", 10).await;
    // Its listener has seen the 10; a stops once it has also finished them (its offsets
    // passed them), so what it saves is everything it consumed.
    wait_until("a finished the 10", || {
        let done = first
            .iter()
            .all(|(q, end)| a.committed_offset(q).is_some_and(|o| o >= *end));
        async move { done }
    })
    .await;
    a.shutdown().await;
    assert!(
        dir.path()
            .join(format!("{group}@{instance_a}/offsets.json"))
            .exists()
    );

    send_n(&producer, &topic, "second", 5).await;
    seen_b.wait_for("b gets 15", 15).await;
    let again = Seen::default();
    let a2 = start(again.clone(), instance_a.clone()).await;
    again.wait_for("restarted a gets the 5 new", 5).await;
    // Nothing old comes later: the restarted a consumes every queue through a sentinel sent
    // after the 5.
    let queues = wait_holds(&a2, &topic, 4).await;
    let sentinels = send_sentinels(&producer, &queues).await;
    wait_through_sentinels(&a2, &again, &sentinels).await;
    let mut bodies = again.bodies_but_sentinels();
    bodies.sort();
    assert_eq!(
        bodies,
        (0..5).map(|i| format!("second-{i}")).collect::<Vec<_>>(),
        "nothing old redelivered"
    );
    a2.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn given_reconsume_later_should_redeliver_then_dead_letter_after_max_times() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("Retry");
    let producer = create_topic(ns, &topic).await;
    let group = unique("rg");
    let mut config = PushConsumerConfig::new(&group);
    config.max_reconsume_times = Some(2);
    let seen = Seen::default();
    let s = seen.clone();
    let c = PushConsumer::builder(client(ns), config)
        .subscribe(&topic, "*")
        .listener(move |msgs: &[apogee_client::MessageExt]| {
            s.push(msgs);
            let body = msgs[0].body.as_ref();
            let fails =
                (body == b"fails-once" && msgs[0].reconsume_times == 0) || body == b"always-fails";
            if fails {
                ConsumeResult::ReconsumeLater
            } else {
                ConsumeResult::Success
            }
        })
        .start()
        .await
        .unwrap();
    wait_until("assignment", || {
        let n = c.assignment().len();
        async move { n >= 4 }
    })
    .await;
    producer
        .send(Message::new(&topic, "fails-once"))
        .await
        .unwrap();
    producer
        .send(Message::new(&topic, "always-fails"))
        .await
        .unwrap();
    // fails-once: 2 deliveries; always-fails: 1 + 2 retries, then the DLQ.
    seen.wait_for("5 deliveries", 5).await;
    let again = seen
        .all()
        .into_iter()
        .find(|m| m.body.as_ref() == b"fails-once" && m.reconsume_times == 1)
        .expect("redelivered once");
    assert_eq!(
        again.topic, topic,
        "a retried message shows its original topic"
    );

    let dlq = format!("%DLQ%{group}");
    wait_for_route(ns, &dlq).await;
    let reader = apogee_client::LitePullConsumer::start(
        client(ns),
        apogee_client::LitePullConsumerConfig::new(unique("dlq-reader")),
    )
    .await
    .unwrap();
    let queues = reader.fetch_queues(&dlq).await.unwrap();
    reader.assign(queues.clone()).await.unwrap();
    for q in &queues {
        reader.seek_to_begin(q).await.unwrap();
    }
    let mut dead = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while dead.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "DLQ stayed empty");
        dead = reader.poll(Duration::from_millis(500)).await;
    }
    assert_eq!(dead[0].body.as_ref(), b"always-fails");
    reader.shutdown().await;
    c.shutdown().await;
}

#[tokio::test]
async fn given_orderly_listener_with_a_failing_message_should_hold_the_queue_in_order() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("Orderly");
    let producer = create_topic(ns, &topic).await;
    let mut config = PushConsumerConfig::new(unique("og"));
    config.suspend_current_queue_time = Duration::from_millis(200);
    config.consume_threads = 4;
    let seen = Seen::default();
    let s = seen.clone();
    let failures = Arc::new(AtomicU32::new(0));
    let f = Arc::clone(&failures);
    let c = PushConsumer::builder(client(ns), config)
        .subscribe(&topic, "*")
        .orderly_listener(move |msgs: &[apogee_client::MessageExt]| {
            s.push(msgs);
            if msgs[0].body.as_ref() == b"k-3" && f.fetch_add(1, Ordering::SeqCst) < 3 {
                OrderlyResult::SuspendCurrentQueueAMoment
            } else {
                OrderlyResult::Success
            }
        })
        .start()
        .await
        .unwrap();
    wait_until("locked assignment", || {
        let stats = c.queue_stats();
        async move {
            stats
                .iter()
                .filter(|s| s.locked && !s.queue.topic.starts_with('%'))
                .count()
                == 4
        }
    })
    .await;
    for i in 0..10 {
        producer
            .send_orderly(Message::new(&topic, format!("k-{i}")), "one-key")
            .await
            .unwrap();
    }
    seen.wait_for("10 messages + 3 retries", 13).await;
    let order: Vec<String> = seen.bodies();
    let expected: Vec<String> = (0..10)
        .flat_map(|i| {
            let n = if i == 3 { 4 } else { 1 };
            std::iter::repeat_n(format!("k-{i}"), n)
        })
        .collect();
    assert_eq!(order, expected, "k-4 waits until k-3 succeeds");
    c.shutdown().await;
}

#[tokio::test]
async fn given_slow_listener_should_engage_and_release_flow_control() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("Flow");
    let producer = create_topic(ns, &topic).await;
    let mut config = PushConsumerConfig::new(unique("fg"));
    config.pull_threshold_for_queue = 5;
    config.pull_batch_size = 4;
    config.consume_threads = 1;
    let gate = Arc::new(AtomicBool::new(false));
    let g = Arc::clone(&gate);
    let seen = Seen::default();
    let s = seen.clone();
    let c = PushConsumer::builder(client(ns), config)
        .subscribe(&topic, "*")
        .listener(move |msgs: &[apogee_client::MessageExt]| {
            let deadline = std::time::Instant::now() + WAIT;
            while !g.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            s.push(msgs);
            ConsumeResult::Success
        })
        .start()
        .await
        .unwrap();
    let queue = MessageQueue {
        topic: topic.clone(),
        broker_name: "broker-a".into(),
        queue_id: 0,
    };
    wait_until("assignment", || {
        let has = c.assignment().contains(&queue);
        async move { has }
    })
    .await;
    for i in 0..40 {
        producer
            .send_to_queue(Message::new(&topic, format!("f-{i}")), &queue)
            .await
            .unwrap();
    }
    wait_until("flow control engaged", || {
        let stat = c.queue_stats().into_iter().find(|s| s.queue == queue);
        async move { stat.is_some_and(|s| s.flow_controlled) }
    })
    .await;
    let stat = c
        .queue_stats()
        .into_iter()
        .find(|s| s.queue == queue)
        .unwrap();
    assert!(
        stat.cached_messages <= 5 + 4,
        "stopped pulling near the threshold: {stat:?}"
    );
    gate.store(true, Ordering::SeqCst);
    seen.wait_for("all 40 consumed", 40).await;
    wait_until("flow control released", || {
        let stat = c.queue_stats().into_iter().find(|s| s.queue == queue);
        async move { stat.is_some_and(|s| !s.flow_controlled && s.flow_control_times >= 1) }
    })
    .await;
    c.shutdown().await;
}

#[tokio::test]
async fn given_stuck_listener_should_hand_the_message_back_after_consume_timeout() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("Stuck");
    let producer = create_topic(ns, &topic).await;
    let mut config = PushConsumerConfig::new(unique("tg"));
    config.consume_timeout = Duration::from_millis(500);
    let seen = Seen::default();
    let s = seen.clone();
    let c = PushConsumer::builder(client(ns), config)
        .subscribe(&topic, "*")
        .listener(move |msgs: &[apogee_client::MessageExt]| {
            s.push(msgs);
            if msgs[0].reconsume_times == 0 {
                std::thread::sleep(Duration::from_secs(3));
            }
            ConsumeResult::Success
        })
        .start()
        .await
        .unwrap();
    wait_until("assignment", || {
        let n = c.assignment().len();
        async move { n >= 4 }
    })
    .await;
    producer.send(Message::new(&topic, "slow")).await.unwrap();
    wait_until("redelivery after the timeout", || {
        let again = seen.all().iter().any(|m| m.reconsume_times >= 1);
        async move { again }
    })
    .await;
    c.shutdown().await;
}

#[tokio::test]
async fn given_consume_from_settings_should_start_where_asked() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("From");
    let producer = create_topic(ns, &topic).await;
    send_n(&producer, &topic, "old", 5).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let boundary = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    tokio::time::sleep(Duration::from_millis(50)).await;
    send_n(&producer, &topic, "new", 3).await;

    let run = |from: ConsumeFrom, expected: usize| {
        let ns = ns.clone();
        let topic = topic.clone();
        let producer = &producer;
        async move {
            let mut config = PushConsumerConfig::new(unique("cf"));
            config.consume_from = from;
            let seen = Seen::default();
            let c = consumer(&ns, config, &topic, &seen).await;
            if expected > 0 {
                seen.wait_for(&format!("{from:?}"), expected).await;
            }
            // Nothing more comes: the consumer consumes every queue through a sentinel sent
            // once it holds the queue (so after its start offset was chosen). Earlier runs'
            // sentinels are left out with these.
            let queues = wait_holds(&c, &topic, 4).await;
            let sentinels = send_sentinels(producer, &queues).await;
            wait_through_sentinels(&c, &seen, &sentinels).await;
            c.shutdown().await;
            seen.bodies_but_sentinels()
        }
    };
    assert_eq!(run(ConsumeFrom::FirstOffset, 9).await.len(), 9);
    let mut from_ts = run(ConsumeFrom::Timestamp(boundary), 3).await;
    from_ts.sort();
    assert_eq!(from_ts, ["new-0", "new-1", "new-2"]);
    assert!(run(ConsumeFrom::LastOffset, 0).await.is_empty());
}
