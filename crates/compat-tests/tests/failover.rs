//! A RocketMQ client we did not write (`rocketmq-client-rust` 1.0.0) across an automatic
//! failover: its producer and push consumer run against a controller-mode broker set, the
//! master stops, the controller makes the in-sync slave master, and the same producer and
//! consumer go on with it. Every message acknowledged to the producer is consumed.

#![recursion_limit = "256"]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use common::*;
use rocketmq_client_rust::MQPushConsumer;
use rocketmq_protocol::protocol::heartbeat::message_model::MessageModel;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_failover_a_third_party_producer_and_consumer_go_on_with_the_new_master() {
    let mut set =
        apogee_testkit::FailoverSet::start(2, |raw| raw.all_ack_in_sync_state_set = true).await;
    let ns = set.namesrv_addr.clone();
    let master = set.master().unwrap();
    let apogee = Apogee::over(&ns, &set.broker(master).advertised_addr().to_string());
    apogee.wait_route("TBW102").await;
    let topic = "CompatFailover";
    let mut producer = apogee.producer(&unique("pg_failover")).await;
    let mut expected = BTreeSet::new();
    let send = async |producer: &mut rocketmq_client_rust::DefaultMQProducer, i: usize| {
        let body = format!("failover-{i}");
        let deadline = Instant::now() + WAIT;
        loop {
            match producer.send(message(topic, "TagA", "k", &body)).await {
                Ok(Some(sent)) if format!("{:?}", sent.send_status) == "SendOk" => break,
                outcome => assert!(Instant::now() < deadline, "{body}: {outcome:?}"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        body
    };
    for i in 0..100 {
        expected.insert(send(&mut producer, i).await);
    }
    apogee.wait_route(topic).await;
    let log: Log = Arc::default();
    let mut consumer =
        apogee.consumer(&unique("cg_failover"), "failover", MessageModel::Clustering);
    consumer.subscribe(topic, "*").await.unwrap();
    consumer.register_message_listener_concurrently(logging_listener(&log));
    consumer.start().await.unwrap();

    set.stop(master).await;
    set.wait_master(Some(master)).await;
    let switched = Instant::now();
    expected.insert(send(&mut producer, 100).await);
    println!(
        "third-party producer acknowledged again {:?} after the switch",
        switched.elapsed()
    );
    for i in 101..200 {
        expected.insert(send(&mut producer, i).await);
    }
    producer.shutdown().await;
    let got = Arc::clone(&log);
    apogee_testkit::wait_until("every acknowledged message", WAIT, || {
        let bodies: BTreeSet<String> = got.lock().unwrap().iter().map(|s| s.body.clone()).collect();
        let done = expected.is_subset(&bodies);
        async move { done }
    })
    .await;
    consumer.shutdown().await;
}
