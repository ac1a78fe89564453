//! Apogee driven by a RocketMQ client we did not write: `rocketmq-client-rust` 1.0.0 from
//! crates.io, over real sockets against an in-process NameServer + broker. Each scenario is
//! one of issue 4's "done when" list.

#![recursion_limit = "256"]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use rocketmq_client_rust::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, ConsumeOrderlyContext,
    ConsumeOrderlyStatus, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
    MessageQueueSelector, SelectMessageQueueByHash,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_queue::MessageQueue;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_protocol::protocol::heartbeat::message_model::MessageModel;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_sync_async_oneway_and_batch_sends_should_reach_a_clustering_consumer_exactly_once() {
    let apogee = start(|_| {}).await;
    let topic = "CompatSends";
    let mut producer = apogee.producer(&unique("pg")).await;
    for i in 0..10 {
        let r = producer
            .send(message(
                topic,
                "TagA",
                &format!("sync{i}"),
                &format!("sync-{i}"),
            ))
            .await
            .unwrap()
            .unwrap();
        assert!(r.offset_msg_id.is_some());
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..10 {
        let tx = tx.clone();
        producer
            .send_with_callback(
                message(topic, "TagA", &format!("async{i}"), &format!("async-{i}")),
                move |r, e| {
                    let _ = tx.send(r.is_some() && e.is_none());
                },
            )
            .await
            .unwrap();
    }
    for _ in 0..10 {
        assert!(
            tokio::time::timeout(WAIT, rx.recv())
                .await
                .unwrap()
                .unwrap(),
            "async send failed"
        );
    }
    for i in 0..10 {
        producer
            .send_oneway(message(
                topic,
                "TagA",
                &format!("oneway{i}"),
                &format!("oneway-{i}"),
            ))
            .await
            .unwrap();
    }
    let batch: Vec<Message> = (0..10)
        .map(|i| message(topic, "TagA", &format!("batch{i}"), &format!("batch-{i}")))
        .collect();
    producer.send_batch(batch).await.unwrap();
    producer.shutdown().await;
    apogee.wait_route(topic).await;

    let group = unique("cg_sends");
    apogee.prepare_group(&group).await;
    let log: Log = Arc::default();
    let mut consumer = apogee.consumer(&group, "only", MessageModel::Clustering);
    consumer.subscribe(topic, "*").await.unwrap();
    consumer.register_message_listener_concurrently(logging_listener(&log));
    consumer.start().await.unwrap();
    wait_for(&log, 40, "sync+async+oneway+batch").await;
    // Nothing more comes: every queue is consumed through a sentinel sent after the 40.
    let sentinels = apogee.send_sentinels(topic, "TagA").await;
    apogee
        .wait_sentinels_consumed(&group, &["only"], &sentinels, &[&log])
        .await;
    consumer.shutdown().await;
    let log = without_sentinels(&log);
    let bodies: BTreeSet<String> = log.iter().map(|s| s.body.clone()).collect();
    assert_eq!(log.len(), 40, "delivered more than once");
    assert_eq!(bodies.len(), 40);
    for kind in ["sync", "async", "oneway", "batch"] {
        assert_eq!(
            bodies.iter().filter(|b| b.starts_with(kind)).count(),
            10,
            "{kind}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_two_consumers_in_one_group_should_split_the_queues() {
    let apogee = start(|_| {}).await;
    let topic = "CompatSplit";
    create_topic(&apogee, topic).await;
    let group = unique("cg_split");
    apogee.prepare_group(&group).await;
    let (log_a, log_b): (Log, Log) = (Arc::default(), Arc::default());
    let mut consumers = Vec::new();
    for (instance, log) in [("a", &log_a), ("b", &log_b)] {
        let mut consumer = apogee.consumer(&group, instance, MessageModel::Clustering);
        consumer.subscribe(topic, "TagA").await.unwrap();
        consumer.register_message_listener_concurrently(logging_listener(log));
        consumer.start().await.unwrap();
        consumers.push(consumer);
    }
    // Both members rebalance when the second joins (NOTIFY_CONSUMER_IDS_CHANGED): wait
    // until, as each reports its queues, they split the 4 between them.
    apogee.wait_split(&group, topic, &["a", "b"], 4).await;
    let mut producer = apogee.producer(&unique("pg")).await;
    for i in 0..40 {
        producer
            .send(message(topic, "TagA", &format!("k{i}"), &format!("m{i}")))
            .await
            .unwrap();
    }
    producer.shutdown().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while log_a.lock().unwrap().len() + log_b.lock().unwrap().len() < 40 {
        assert!(tokio::time::Instant::now() < deadline, "not all delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Nothing more comes: every queue is consumed through a sentinel sent after the 40.
    let sentinels = apogee.send_sentinels(topic, "TagA").await;
    apogee
        .wait_sentinels_consumed(&group, &["a", "b"], &sentinels, &[&log_a, &log_b])
        .await;
    for consumer in &mut consumers {
        consumer.shutdown().await;
    }
    let (got_a, got_b) = (without_sentinels(&log_a), without_sentinels(&log_b));
    assert_eq!(
        got_a.len() + got_b.len(),
        40,
        "a message was delivered twice"
    );
    let queues = |log: &[Seen]| log.iter().map(|s| s.queue_id).collect::<BTreeSet<_>>();
    let (qa, qb) = (queues(&got_a), queues(&got_b));
    assert!(
        !qa.is_empty() && !qb.is_empty(),
        "both members consume: {qa:?} {qb:?}"
    );
    assert!(qa.is_disjoint(&qb), "queues are split: {qa:?} {qb:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_broadcasting_should_deliver_every_message_to_both_consumers_with_the_tag_filter() {
    let apogee = start(|_| {}).await;
    let topic = "CompatBroadcast";
    create_topic(&apogee, topic).await;
    let group = unique("cg_broadcast");
    let (log_a, log_b): (Log, Log) = (Arc::default(), Arc::default());
    let mut consumers = Vec::new();
    for (instance, log) in [("a", &log_a), ("b", &log_b)] {
        let mut consumer = apogee.consumer(&group, instance, MessageModel::Broadcasting);
        consumer.subscribe(topic, "TagA || TagB").await.unwrap();
        consumer.register_message_listener_concurrently(logging_listener(log));
        consumer.start().await.unwrap();
        consumers.push(consumer);
    }
    let mut producer = apogee.producer(&unique("pg")).await;
    for i in 0..15 {
        let tag = ["TagA", "TagB", "TagC"][i % 3];
        producer
            .send(message(topic, tag, &format!("k{i}"), &format!("m{i}")))
            .await
            .unwrap();
    }
    producer.shutdown().await;
    wait_for(&log_a, 10, "broadcast a").await;
    wait_for(&log_b, 10, "broadcast b").await;
    // Nothing more comes: each member consumes every queue through a sentinel sent after
    // the 15 (each keeps its own offsets, so each is asked).
    let sentinels = apogee.send_sentinels(topic, "TagA").await;
    for (instance, log) in [("a", &log_a), ("b", &log_b)] {
        apogee
            .wait_sentinels_consumed(&group, &[instance], &sentinels, &[log])
            .await;
    }
    for consumer in &mut consumers {
        consumer.shutdown().await;
    }
    for log in [&log_a, &log_b] {
        let log = without_sentinels(log);
        assert_eq!(
            log.len(),
            10,
            "each consumer gets every TagA/TagB message once"
        );
        assert!(
            log.iter().all(|s| s.tag == "TagA" || s.tag == "TagB"),
            "TagC filtered out"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_orderly_send_by_sharding_key_should_consume_each_key_in_order() {
    let apogee = start(|_| {}).await;
    let topic = "CompatOrder";
    create_topic(&apogee, topic).await;
    let mut producer = apogee.producer(&unique("pg")).await;
    for step in 0..10 {
        for key in ["order-1", "order-2", "order-3", "order-4"] {
            let selector = SelectMessageQueueByHash;
            producer
                .send_with_selector(
                    message(topic, "TagA", key, &format!("{key}:{step}")),
                    move |mqs: &[MessageQueue], m: &Message, arg: &String| {
                        selector.select(mqs, m, arg)
                    },
                    key.to_owned(),
                )
                .await
                .unwrap();
        }
    }
    producer.shutdown().await;
    let group = unique("cg_order");
    apogee.prepare_group(&group).await;
    let log: Log = Arc::default();
    let mut consumer = apogee.consumer(&group, "only", MessageModel::Clustering);
    consumer.subscribe(topic, "TagA").await.unwrap();
    let sink = Arc::clone(&log);
    consumer.register_message_listener_orderly(
        move |msgs: &[&MessageExt], ctx: &mut ConsumeOrderlyContext| {
            ctx.set_auto_commit(true);
            sink.lock().unwrap().extend(msgs.iter().map(|m| seen(m)));
            Ok(ConsumeOrderlyStatus::Success)
        },
    );
    consumer.start().await.unwrap();
    wait_for(&log, 40, "orderly").await;
    consumer.shutdown().await;
    let mut per_key: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut queue_of: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for s in log.lock().unwrap().iter() {
        let (key, step) = s.body.split_once(':').unwrap();
        per_key
            .entry(key.into())
            .or_default()
            .push(step.parse().unwrap());
        queue_of.entry(key.into()).or_default().insert(s.queue_id);
    }
    for (key, steps) in &per_key {
        assert_eq!(*steps, (0..10).collect::<Vec<_>>(), "{key} out of order");
        assert_eq!(queue_of[key].len(), 1, "{key} stays on one queue");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_reconsume_later_should_redeliver_then_move_to_the_dlq_after_max_reconsume_times() {
    // Short delay levels keep retries fast; the levels are configuration, not code.
    let apogee = start(|raw| raw.message_delay_level = ["1s"; 18].join(" ")).await;
    let topic = "CompatRetry";
    create_topic(&apogee, topic).await;
    let (retry_group, dlq_group) = (unique("cg_retry"), unique("cg_dlq"));
    apogee.prepare_group(&retry_group).await;
    apogee.prepare_group(&dlq_group).await;

    let log: Log = Arc::default();
    let mut retrying = apogee.consumer(&retry_group, "r", MessageModel::Clustering);
    retrying.subscribe(topic, "TagA").await.unwrap();
    let sink = Arc::clone(&log);
    retrying.register_message_listener_concurrently(
        move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
            let first = msgs.iter().any(|m| m.reconsume_times() == 0);
            sink.lock().unwrap().extend(msgs.iter().map(|m| seen(m)));
            Ok(if first {
                ConsumeConcurrentlyStatus::ReconsumeLater
            } else {
                ConsumeConcurrentlyStatus::ConsumeSuccess
            })
        },
    );
    retrying.start().await.unwrap();

    let failures: Log = Arc::default();
    let mut failing = apogee.consumer(&dlq_group, "d", MessageModel::Clustering);
    failing.set_max_reconsume_times(1);
    failing.subscribe(topic, "TagA").await.unwrap();
    let sink = Arc::clone(&failures);
    failing.register_message_listener_concurrently(
        move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
            sink.lock().unwrap().extend(msgs.iter().map(|m| seen(m)));
            Ok(ConsumeConcurrentlyStatus::ReconsumeLater)
        },
    );
    failing.start().await.unwrap();

    let mut producer = apogee.producer(&unique("pg")).await;
    producer
        .send(message(topic, "TagA", "job-1", "job-1"))
        .await
        .unwrap();
    producer.shutdown().await;

    wait_for(&log, 2, "first attempt and redelivery").await;
    let attempts: Vec<i32> = log
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.reconsume_times)
        .collect();
    assert_eq!(attempts, [0, 1], "redelivered once after RECONSUME_LATER");
    assert!(
        log.lock()
            .unwrap()
            .iter()
            .all(|s| s.body == "job-1" && s.tag == "TagA")
    );

    let dlq = format!("%DLQ%{dlq_group}");
    let deadline = tokio::time::Instant::now() + WAIT;
    let dead = loop {
        let found = apogee.queue_messages(&dlq, 0).await;
        if !found.is_empty() {
            break found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never reached {dlq}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(&dead[0].body[..], b"job-1");
    assert_eq!(
        failures.lock().unwrap().len(),
        2,
        "consumed maxReconsumeTimes + 1 times"
    );
    retrying.shutdown().await;
    failing.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_restarted_consumer_should_resume_from_its_committed_offset_losing_nothing() {
    let apogee = start(|_| {}).await;
    let topic = "CompatResume";
    create_topic(&apogee, topic).await;
    let group = unique("cg_resume");
    apogee.prepare_group(&group).await;
    let mut producer = apogee.producer(&unique("pg")).await;
    let first: Log = Arc::default();
    let mut consumer = apogee.consumer(&group, "one", MessageModel::Clustering);
    consumer.subscribe(topic, "TagA").await.unwrap();
    consumer.register_message_listener_concurrently(logging_listener(&first));
    consumer.start().await.unwrap();
    for i in 0..10 {
        producer
            .send(message(topic, "TagA", "k", &format!("before-{i}")))
            .await
            .unwrap();
    }
    wait_for(&first, 10, "before restart").await;
    // Its listener has seen the 10; it stops once it has also finished them (consumed every
    // queue through a sentinel sent after them), so the offsets it commits cover all 10.
    let sentinels = apogee.send_sentinels(topic, "TagA").await;
    apogee
        .wait_sentinels_consumed(&group, &["one"], &sentinels, &[&first])
        .await;
    consumer.shutdown().await;
    for i in 0..10 {
        producer
            .send(message(topic, "TagA", "k", &format!("after-{i}")))
            .await
            .unwrap();
    }
    producer.shutdown().await;
    let second: Log = Arc::default();
    let mut consumer = apogee.consumer(&group, "two", MessageModel::Clustering);
    consumer.subscribe(topic, "TagA").await.unwrap();
    consumer.register_message_listener_concurrently(logging_listener(&second));
    consumer.start().await.unwrap();
    wait_for(&second, 10, "after restart").await;
    // Nothing more comes: every queue is consumed through a sentinel sent after the 10.
    let sentinels = apogee.send_sentinels(topic, "TagA").await;
    apogee
        .wait_sentinels_consumed(&group, &["two"], &sentinels, &[&second])
        .await;
    consumer.shutdown().await;
    let bodies: BTreeSet<String> = without_sentinels(&second)
        .into_iter()
        .map(|s| s.body)
        .collect();
    let expected: BTreeSet<String> = (0..10).map(|i| format!("after-{i}")).collect();
    assert_eq!(
        bodies, expected,
        "resumed exactly where the first consumer stopped"
    );
    assert_eq!(without_sentinels(&first).len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_delay_level_two_should_arrive_no_sooner_than_five_seconds() {
    let apogee = start(|_| {}).await;
    let topic = "CompatDelay";
    create_topic(&apogee, topic).await;
    let group = unique("cg_delay");
    apogee.prepare_group(&group).await;
    let arrivals: Arc<Mutex<Vec<(i64, i64)>>> = Arc::default();
    let mut consumer = apogee.consumer(&group, "only", MessageModel::Clustering);
    consumer.subscribe(topic, "TagA").await.unwrap();
    let sink = Arc::clone(&arrivals);
    consumer.register_message_listener_concurrently(
        move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
            sink.lock().unwrap().extend(
                msgs.iter()
                    .map(|m| (m.born_timestamp(), m.store_timestamp())),
            );
            Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
        },
    );
    consumer.start().await.unwrap();
    let mut producer = apogee.producer(&unique("pg")).await;
    let delayed = Message::builder()
        .topic(topic)
        .tags("TagA")
        .body_slice(b"later")
        .delay_level(2)
        .build_unchecked();
    producer.send(delayed).await.unwrap();
    producer.shutdown().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while arrivals.lock().unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "delay message never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    consumer.shutdown().await;
    let (born, stored) = arrivals.lock().unwrap()[0];
    assert!(
        stored - born >= 5_000,
        "delivered after {} ms",
        stored - born
    );
}

fn acl_hook(ak: &str, sk: &str) -> Arc<dyn rocketmq_transport::api::RPCHook> {
    Arc::new(rocketmq_client_rust::AclClientRPCHook::new(
        rocketmq_client_rust::SessionCredentials::with_keys(ak, sk),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_acl_client_rpc_hook_should_produce_and_consume_with_access_control_on() {
    let apogee = start(guarded).await;
    let topic = "AclOrders";
    let mut producer = DefaultMQProducer::builder(client_runtime("producer"))
        .producer_group(unique("pg_acl"))
        .name_server_addr(apogee.namesrv_addr.as_str())
        .rpc_hook(acl_hook("alice", "alice-secret-1"))
        .build();
    producer.start().await.unwrap();
    for i in 0..5 {
        producer
            .send(message(
                topic,
                "TagA",
                &format!("k{i}"),
                &format!("signed-{i}"),
            ))
            .await
            .unwrap()
            .unwrap();
    }
    apogee.wait_route(topic).await;

    let log: Log = Arc::default();
    let mut consumer = DefaultMQPushConsumer::builder(client_runtime("consumer"))
        .name_server_addr(apogee.namesrv_addr.as_str())
        .consumer_group(unique("cg_acl"))
        .message_model(MessageModel::Clustering)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .rpc_hook(Some(acl_hook("carol", "carol-secret-1")))
        .build();
    consumer.subscribe(topic, "*").await.unwrap();
    consumer.register_message_listener_concurrently(logging_listener(&log));
    consumer.start().await.unwrap();
    wait_for(&log, 5, "signed messages").await;
    consumer.shutdown().await;

    // The same client with a wrong secret, and without the hook, is refused.
    let mut forger = DefaultMQProducer::builder(client_runtime("producer"))
        .producer_group(unique("pg_acl"))
        .name_server_addr(apogee.namesrv_addr.as_str())
        .rpc_hook(acl_hook("alice", "guessed"))
        .build();
    forger.start().await.unwrap();
    // The client redacts the broker's remark in some builds: what it keeps is that the broker
    // refused the operation (the same client with the right secret was served above).
    let refused = format!(
        "{:?}",
        forger.send(message(topic, "TagA", "f", "forged")).await
    );
    assert!(
        refused.contains("check signature failed") || refused.contains("broker.operation.failed"),
        "{refused}"
    );
    forger.shutdown().await;
    producer.shutdown().await;
}
