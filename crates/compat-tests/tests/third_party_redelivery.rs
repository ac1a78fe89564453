//! Dead-letter resend and direct consumption against a live `rocketmq-client-rust` 1.0.0 push
//! consumer: a message the consumer gives up on reaches `%DLQ%{group}`; Apogee's resend (what
//! the console and `apogee admin resendDlqMsg` use) brings it back to that consumer through the
//! group's retry topic; CONSUME_MESSAGE_DIRECTLY has the third-party client run its listener
//! on a chosen message and report how it went.

#![recursion_limit = "256"]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apogee_client::{Admin, ConsumeDirectlyOutcome, ProducerConfig, redeliver};
use common::*;
use rocketmq_client_rust::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, DefaultMQPushConsumer, MQPushConsumer,
};
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_protocol::protocol::heartbeat::message_model::MessageModel;

/// Consumed (body, reconsume times).
type Consumed = Arc<Mutex<Vec<(String, i32)>>>;

/// A third-party push consumer of `topic` in `group` that fails every message (so it goes to
/// the DLQ after one retry) until its flag is set.
async fn start_consumer(
    apogee: &Apogee,
    group: &str,
    topic: &str,
) -> (DefaultMQPushConsumer, Arc<AtomicBool>, Consumed) {
    let accepting = Arc::new(AtomicBool::new(false));
    let consumed: Arc<Mutex<Vec<(String, i32)>>> = Arc::default();
    let mut consumer = apogee.consumer(group, "live", MessageModel::Clustering);
    consumer.set_max_reconsume_times(1);
    consumer.subscribe(topic, "Job").await.unwrap();
    let (sink, ok) = (Arc::clone(&consumed), Arc::clone(&accepting));
    consumer.register_message_listener_concurrently(
        move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
            let body = |m: &&MessageExt| {
                String::from_utf8_lossy(m.body().as_deref().unwrap_or_default()).into_owned()
            };
            sink.lock()
                .unwrap()
                .extend(msgs.iter().map(|m| (body(m), m.reconsume_times())));
            Ok(if ok.load(Ordering::SeqCst) {
                ConsumeConcurrentlyStatus::ConsumeSuccess
            } else {
                ConsumeConcurrentlyStatus::ReconsumeLater
            })
        },
    );
    consumer.start().await.unwrap();
    (consumer, accepting, consumed)
}

/// Waits until `group`'s dead-letter queue holds a message.
async fn wait_dead_letter(apogee: &Apogee, group: &str) {
    let dlq = format!("%DLQ%{group}");
    let deadline = tokio::time::Instant::now() + WAIT;
    while apogee.queue_messages(&dlq, 0).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never reached {dlq}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_dead_letter_resent_and_a_direct_consume_should_reach_the_live_third_party_consumer()
 {
    let apogee = start(|raw| raw.message_delay_level = ["1s"; 18].join(" ")).await;
    let topic = "CompatDead";
    let mut producer = apogee.producer(&unique("pg_create")).await;
    producer
        .send(message(topic, "Warm", "warm", "warm-up"))
        .await
        .unwrap();
    apogee.wait_route(topic).await;
    let group = unique("cg_dead");
    apogee.prepare_group(&group).await;
    let (mut consumer, accepting, consumed) = start_consumer(&apogee, &group, topic).await;
    producer
        .send(message(topic, "Job", "job-7", "job-7"))
        .await
        .unwrap();
    producer.shutdown().await;

    wait_dead_letter(&apogee, &group).await;
    accepting.store(true, Ordering::SeqCst);
    let before = consumed.lock().unwrap().len();

    let client =
        apogee_client::ClientConfig::new(&apogee.namesrv_addr).instance_name(unique("ops"));
    let admin = Admin::start(client.clone()).await.unwrap();
    let resender = apogee_client::Producer::start(client, ProducerConfig::new(unique("pg_ops")))
        .await
        .unwrap();
    let (queue, min, max) = admin.dead_letter_queues(&group).await.unwrap().remove(0);
    let dead = admin.read_range(&queue, min, max).await.unwrap();
    assert_eq!(dead.len(), 1);
    redeliver::resend_to_group(&admin, &resender, &group, &dead[0])
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while consumed.lock().unwrap().len() == before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the resent dead letter never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        consumed.lock().unwrap()[before].0,
        "job-7",
        "the dead letter, back at its group"
    );

    let connection = admin.consumer_connection(&group).await.unwrap();
    let client_id = connection.connection_set[0].client_id.clone();
    let result = admin
        .consume_message_directly(&group, &client_id, Some(topic), &dead[0].msg_id)
        .await
        .unwrap();
    assert_eq!(
        result.consume_result,
        ConsumeDirectlyOutcome::CrSuccess,
        "{result:?}"
    );
    let last = consumed.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.0, "job-7", "the listener ran on the chosen message");
    resender.shutdown().await;
    consumer.shutdown().await;
}
