//! Apogee's own client and `rocketmq-client-rust` 1.0.0 on the same cluster, both directions:
//! what one client sends the other consumes (tags, keys, batches, per-key order, compressed
//! bodies), and members of both clients share one consumer group's queues.

#![recursion_limit = "256"]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apogee_client::{
    ClientConfig as OurClientConfig, ConsumeFrom, ConsumeResult, Message as OurMessage,
    OrderlyResult, Producer as OurProducer, ProducerConfig, PushConsumer, PushConsumerConfig,
};
use common::*;
use rocketmq_client_rust::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, MQPushConsumer, MessageQueueSelector,
    SelectMessageQueueByHash,
};
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_queue::MessageQueue;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_protocol::protocol::heartbeat::message_model::MessageModel;

fn our_client(apogee: &Apogee) -> OurClientConfig {
    let mut c = OurClientConfig::new(&apogee.namesrv_addr).instance_name(unique("ours"));
    c.heartbeat_interval = Duration::from_secs(2);
    c.rebalance_interval = Duration::from_secs(2);
    c.persist_offset_interval = Duration::from_millis(300);
    c
}

fn large_body() -> String {
    (0..20_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect()
}

/// What our listener saw, in the third-party harness's shape.
fn seen_ours(m: &apogee_client::MessageExt) -> Seen {
    Seen {
        tag: m.tags().unwrap_or_default().to_owned(),
        key: m.keys().unwrap_or_default().to_owned(),
        body: String::from_utf8_lossy(&m.body).into_owned(),
        reconsume_times: m.reconsume_times,
        queue_id: m.queue_id,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_apogee_producer_should_reach_a_third_party_consumer() {
    let apogee = start(|_| {}).await;
    let topic = unique("OursToTheirs");
    let producer = OurProducer::start(our_client(&apogee), ProducerConfig::new(unique("pg")))
        .await
        .unwrap();
    producer
        .send(OurMessage::new(&topic, "warm-up").with_tags("Warm"))
        .await
        .unwrap();
    apogee.wait_route(&topic).await;
    for i in 0..10 {
        let m = OurMessage::new(&topic, format!("sync-{i}"))
            .with_tags("TagA")
            .with_keys([format!("sync{i}")]);
        producer.send(m).await.unwrap();
    }
    let batch = (0..10)
        .map(|i| OurMessage::new(&topic, format!("batch-{i}")).with_tags("TagA"))
        .collect();
    producer.send_batch(batch).await.unwrap();
    for step in 0..5 {
        for key in ["k1", "k2"] {
            let m = OurMessage::new(&topic, format!("{key}:{step}")).with_tags("TagB");
            producer.send_orderly(m, key).await.unwrap();
        }
    }
    producer
        .send(OurMessage::new(&topic, large_body()).with_tags("TagB"))
        .await
        .unwrap();
    producer
        .send(OurMessage::new(&topic, "filtered-out").with_tags("TagC"))
        .await
        .unwrap();
    producer.shutdown().await;

    let group = unique("cg_theirs");
    apogee.prepare_group(&group).await;
    let log: Log = Arc::default();
    let mut consumer = apogee.consumer(&group, "only", MessageModel::Clustering);
    consumer.subscribe(&topic, "TagA || TagB").await.unwrap();
    let sink = Arc::clone(&log);
    consumer.register_message_listener_concurrently(
        move |msgs: &[&MessageExt], _ctx: &ConsumeConcurrentlyContext| {
            sink.lock().unwrap().extend(msgs.iter().map(|m| seen(m)));
            Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
        },
    );
    consumer.start().await.unwrap();
    wait_for(&log, 31, "30 + the large body").await;
    // Nothing more comes: every queue is consumed through a sentinel sent after the 31.
    let sentinels = apogee.send_sentinels(&topic, "TagA").await;
    apogee
        .wait_sentinels_consumed(&group, &["only"], &sentinels, &[&log])
        .await;
    consumer.shutdown().await;

    let log = without_sentinels(&log);
    assert_eq!(
        log.len(),
        31,
        "exactly once, TagC and Warm filtered: {log:?}"
    );
    assert!(
        log.iter().any(|s| s.body == large_body()),
        "compressed body readable"
    );
    let sync3 = log.iter().find(|s| s.body == "sync-3").unwrap();
    assert_eq!((sync3.tag.as_str(), sync3.key.as_str()), ("TagA", "sync3"));
    for key in ["k1", "k2"] {
        let queues: BTreeSet<i32> = log
            .iter()
            .filter(|s| s.body.starts_with(&format!("{key}:")))
            .map(|s| s.queue_id)
            .collect();
        assert_eq!(queues.len(), 1, "{key} kept to one queue");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_third_party_producer_should_reach_apogee_consumers() {
    let apogee = start(|_| {}).await;
    let topic = unique("TheirsToOurs");
    let mut producer = apogee.producer(&unique("pg")).await;
    producer
        .send(message(&topic, "Warm", "warm", "warm-up"))
        .await
        .unwrap();
    apogee.wait_route(&topic).await;
    for i in 0..10 {
        producer
            .send(message(
                &topic,
                "TagA",
                &format!("sync{i}"),
                &format!("sync-{i}"),
            ))
            .await
            .unwrap();
    }
    let batch: Vec<Message> = (0..10)
        .map(|i| message(&topic, "TagA", &format!("batch{i}"), &format!("batch-{i}")))
        .collect();
    producer.send_batch(batch).await.unwrap();
    for step in 0..5 {
        for key in ["k1", "k2"] {
            let selector = SelectMessageQueueByHash;
            producer
                .send_with_selector(
                    message(&topic, "TagB", key, &format!("{key}:{step}")),
                    move |mqs: &[MessageQueue], m: &Message, arg: &String| {
                        selector.select(mqs, m, arg)
                    },
                    key.to_owned(),
                )
                .await
                .unwrap();
        }
    }
    producer
        .send(message(&topic, "TagB", "large", &large_body()))
        .await
        .unwrap();
    producer
        .send(message(&topic, "TagC", "c", "filtered-out"))
        .await
        .unwrap();
    producer.shutdown().await;

    // Concurrent consumer with a tag expression.
    let log: Log = Arc::default();
    let sink = Arc::clone(&log);
    let group = unique("cg_ours");
    let mut config = PushConsumerConfig::new(&group);
    config.consume_from = ConsumeFrom::FirstOffset;
    let our_config = our_client(&apogee);
    let our_instance = our_config.instance_name.clone();
    let consumer = PushConsumer::builder(our_config, config)
        .subscribe(&topic, "TagA || TagB")
        .listener(move |msgs: &[apogee_client::MessageExt]| {
            sink.lock().unwrap().extend(msgs.iter().map(seen_ours));
            ConsumeResult::Success
        })
        .start()
        .await
        .unwrap();
    wait_for(&log, 31, "30 + the large body").await;
    // Nothing more comes: every queue is consumed through a sentinel sent after the 31.
    let sentinels = apogee.send_sentinels(&topic, "TagA").await;
    apogee
        .wait_sentinels_consumed(&group, &[&our_instance], &sentinels, &[&log])
        .await;
    consumer.shutdown().await;
    let got = without_sentinels(&log);
    assert_eq!(
        got.len(),
        31,
        "exactly once, TagC and Warm filtered: {got:?}"
    );
    assert!(
        got.iter().any(|s| s.body == large_body()),
        "their compressed body readable"
    );
    let sync3 = got.iter().find(|s| s.body == "sync-3").unwrap();
    assert_eq!((sync3.tag.as_str(), sync3.key.as_str()), ("TagA", "sync3"));

    // Orderly consumer: each key in order, on one queue.
    let ordered: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let sink = Arc::clone(&ordered);
    let mut config = PushConsumerConfig::new(unique("cg_ours_orderly"));
    config.consume_from = ConsumeFrom::FirstOffset;
    let orderly = PushConsumer::builder(our_client(&apogee), config)
        .subscribe(&topic, "TagB")
        .orderly_listener(move |msgs: &[apogee_client::MessageExt]| {
            sink.lock().unwrap().extend(msgs.iter().map(seen_ours));
            OrderlyResult::Success
        })
        .start()
        .await
        .unwrap();
    wait_for(&ordered, 11, "10 keyed + large").await;
    orderly.shutdown().await;
    let mut per_key: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for s in ordered.lock().unwrap().iter() {
        if let Some((key, step)) = s.body.split_once(':') {
            per_key
                .entry(key.into())
                .or_default()
                .push(step.parse().unwrap());
        }
    }
    for (key, steps) in &per_key {
        assert_eq!(*steps, (0..5).collect::<Vec<_>>(), "{key} out of order");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_one_group_with_both_clients_should_split_the_queues_between_them() {
    let apogee = start(|_| {}).await;
    let topic = unique("Mixed");
    let producer = OurProducer::start(our_client(&apogee), ProducerConfig::new(unique("pg")))
        .await
        .unwrap();
    producer
        .send(OurMessage::new(&topic, "warm-up"))
        .await
        .unwrap();
    apogee.wait_route(&topic).await;
    let group = unique("cg_mixed");
    apogee.prepare_group(&group).await;

    let theirs: Log = Arc::default();
    let mut their_consumer = apogee.consumer(&group, "theirs", MessageModel::Clustering);
    their_consumer.subscribe(&topic, "*").await.unwrap();
    let sink = Arc::clone(&theirs);
    their_consumer.register_message_listener_concurrently(
        move |msgs: &[&MessageExt], _ctx: &ConsumeConcurrentlyContext| {
            sink.lock().unwrap().extend(msgs.iter().map(|m| seen(m)));
            Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
        },
    );
    their_consumer.start().await.unwrap();

    let ours: Log = Arc::default();
    let sink = Arc::clone(&ours);
    let mut config = PushConsumerConfig::new(&group);
    config.consume_from = ConsumeFrom::FirstOffset;
    let our_config = our_client(&apogee);
    let our_instance = our_config.instance_name.clone();
    let our_consumer = PushConsumer::builder(our_config, config)
        .subscribe(&topic, "*")
        .listener(move |msgs: &[apogee_client::MessageExt]| {
            sink.lock().unwrap().extend(msgs.iter().map(seen_ours));
            ConsumeResult::Success
        })
        .start()
        .await
        .unwrap();
    // Both members must have rebalanced to the same two-member view before sending: as
    // each reports its queues, they split the 4 between them (theirs may take up to its
    // 10 s rebalance period).
    apogee
        .wait_split(&group, &topic, &[&our_instance, "theirs"], 4)
        .await;
    for i in 0..40 {
        producer
            .send(OurMessage::new(&topic, format!("m-{i}")))
            .await
            .unwrap();
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let bodies: BTreeSet<String> = ours
            .lock()
            .unwrap()
            .iter()
            .chain(theirs.lock().unwrap().iter())
            .map(|s| s.body.clone())
            .filter(|b| b.starts_with("m-"))
            .collect();
        if bodies.len() == 40 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of 40 delivered",
            bodies.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Nothing more comes: every queue is consumed through a sentinel sent after the 40.
    let sentinels = apogee.send_sentinels(&topic, "TagA").await;
    apogee
        .wait_sentinels_consumed(
            &group,
            &[&our_instance, "theirs"],
            &sentinels,
            &[&ours, &theirs],
        )
        .await;
    let our_queues: BTreeSet<i32> = ours
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.body.starts_with("m-"))
        .map(|s| s.queue_id)
        .collect();
    let their_queues: BTreeSet<i32> = theirs
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.body.starts_with("m-"))
        .map(|s| s.queue_id)
        .collect();
    assert!(
        !our_queues.is_empty() && !their_queues.is_empty(),
        "both members consumed"
    );
    assert!(
        our_queues.is_disjoint(&their_queues),
        "ours {our_queues:?} theirs {their_queues:?}"
    );
    let total = ours
        .lock()
        .unwrap()
        .iter()
        .chain(theirs.lock().unwrap().iter())
        .filter(|s| s.body.starts_with("m-"))
        .count();
    assert_eq!(total, 40, "each message consumed once");
    our_consumer.shutdown().await;
    their_consumer.shutdown().await;
    producer.shutdown().await;
}
