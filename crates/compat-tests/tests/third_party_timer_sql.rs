//! Timer messages and SQL92 filters driven by `rocketmq-client-rust` 1.0.0 (crates.io), a
//! client we did not write, over real sockets against an in-process NameServer + broker.

#![recursion_limit = "256"]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use rocketmq_client_rust::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, MQPushConsumer, MessageSelector,
};
use rocketmq_model::common::message::MessageTrait;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_protocol::protocol::heartbeat::message_model::MessageModel;

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    i64::try_from(since.unwrap().as_millis()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_timer_messages_from_a_third_party_client_should_arrive_at_their_time_with_their_id()
{
    let apogee = start(|_| {}).await;
    let topic = "CompatTimer";
    create_topic(&apogee, topic).await;
    let group = unique("cg_timer");
    apogee.prepare_group(&group).await;
    // (UNIQ_KEY — the msgId a send returns, TIMER_OUT_MS, store time) of each timer consumed.
    let arrivals: Arc<Mutex<Vec<(String, i64, i64)>>> = Arc::default();
    let mut consumer = apogee.consumer(&group, "only", MessageModel::Clustering);
    consumer.subscribe(topic, "Timed").await.unwrap();
    let sink = Arc::clone(&arrivals);
    consumer.register_message_listener_concurrently(
        move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
            sink.lock().unwrap().extend(msgs.iter().map(|m| {
                let out = m
                    .property(&"TIMER_OUT_MS".into())
                    .map_or(0, |v| v.parse().unwrap());
                let uniq = m.property(&"UNIQ_KEY".into()).map(|v| v.to_string());
                (uniq.unwrap_or_default(), out, m.store_timestamp())
            }));
            Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
        },
    );
    consumer.start().await.unwrap();
    let mut producer = apogee.producer(&unique("pg")).await;
    let at = u64::try_from(now_ms() + 1_500).unwrap();
    let builders = [
        Message::builder().delay_secs(1),
        Message::builder().delay_millis(1_200),
        Message::builder().deliver_time_ms(at),
    ];
    let mut sent = Vec::new();
    for builder in builders {
        let msg = builder
            .topic(topic)
            .tags("Timed")
            .body_slice(b"tick")
            .build_unchecked();
        let result = producer.send(msg).await.unwrap().unwrap();
        sent.push(result.msg_id.unwrap().to_string());
    }
    producer.shutdown().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while arrivals.lock().unwrap().len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timers never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    consumer.shutdown().await;
    let mut got = arrivals.lock().unwrap().clone();
    for (_, out, stored) in &got {
        assert!(
            *out > 0 && stored >= out,
            "delivered {} ms early",
            out - stored
        );
    }
    got.sort();
    sent.sort();
    let ids: Vec<_> = got.into_iter().map(|(id, _, _)| id).collect();
    assert_eq!(ids, sent, "each timer once, under the id its send returned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_an_sql92_subscription_from_a_third_party_client_should_get_only_matching_messages() {
    let apogee = start(|_| {}).await;
    let topic = "CompatSql";
    create_topic(&apogee, topic).await;
    let group = unique("cg_sql");
    apogee.prepare_group(&group).await;
    let log: Log = Arc::default();
    let mut consumer = apogee.consumer(&group, "only", MessageModel::Clustering);
    // The expression, verbatim.
    let selector = MessageSelector::by_sql("a BETWEEN 3 AND 5 AND b = 'x'");
    consumer
        .subscribe_with_selector(topic, Some(selector))
        .await
        .unwrap();
    consumer.register_message_listener_concurrently(logging_listener(&log));
    consumer.start().await.unwrap();
    let mut producer = apogee.producer(&unique("pg")).await;
    let mut expected = Vec::new();
    for i in 0..16 {
        let (a, b) = (i % 8, if i % 3 == 0 { "y" } else { "x" });
        let msg = Message::builder()
            .topic(topic)
            .tags("Keep")
            .key(format!("k{i}"))
            .body_slice(format!("m{i}").as_bytes())
            .raw_property("a", a.to_string())
            .unwrap()
            .raw_property("b", b)
            .unwrap()
            .build_unchecked();
        producer.send(msg).await.unwrap();
        if (3..=5).contains(&a) && b == "x" {
            expected.push(format!("k{i}"));
        }
    }
    producer.shutdown().await;
    wait_for(&log, expected.len(), "sql92").await;
    // A sentinel that matches, sent last, proves nothing else was on its way.
    let mut producer = apogee.producer(&unique("pg_last")).await;
    let last = Message::builder()
        .topic(topic)
        .tags("Keep")
        .key("last")
        .body_slice(b"last")
        .raw_property("a", "4")
        .unwrap()
        .raw_property("b", "x")
        .unwrap()
        .build_unchecked();
    producer.send(last).await.unwrap();
    producer.shutdown().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !log.lock().unwrap().iter().any(|s| s.key == "last") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the last message never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    consumer.shutdown().await;
    let mut keys: Vec<_> = log.lock().unwrap().iter().map(|s| s.key.clone()).collect();
    keys.retain(|k| k != "last");
    keys.sort();
    expected.sort();
    assert_eq!(keys, expected, "only 3 <= a <= 5 with b = 'x'; each once");
}
