//! A RocketMQ client we did not write (`rocketmq-client-rust` 1.0.0) against a master/slave
//! pair: what a SYNC_MASTER acknowledged to it is consumed from the slave once the master
//! is down.

#![recursion_limit = "256"]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::*;
use rocketmq_client_rust::MQPushConsumer;
use rocketmq_protocol::protocol::heartbeat::message_model::MessageModel;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_the_master_down_a_third_party_consumer_should_read_everything_from_the_slave() {
    let mut pair = apogee_testkit::Pair::start("SYNC_MASTER", |_| {}).await;
    let ns = pair.namesrv_addr.clone();
    let apogee = Apogee::over(&ns, &pair.master_addr());
    apogee.wait_route("TBW102").await;
    let topic = "CompatSlave";
    let mut producer = apogee.producer(&unique("pg_slave")).await;
    let mut expected = BTreeSet::new();
    for i in 0..200 {
        let body = format!("from-slave-{i}");
        let sent = producer
            .send(message(topic, "TagA", "k", &body))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(format!("{:?}", sent.send_status), "SendOk", "{sent:?}");
        expected.insert(body);
    }
    producer.shutdown().await;
    assert!(pair.slave().sync_from_master_now().await.unwrap());
    pair.stop_master().await;
    apogee.wait_route(topic).await;

    let log: Log = Arc::default();
    let mut consumer = apogee.consumer(&unique("cg_slave"), "slave", MessageModel::Clustering);
    consumer.subscribe(topic, "*").await.unwrap();
    consumer.register_message_listener_concurrently(logging_listener(&log));
    consumer.start().await.unwrap();
    let got = Arc::clone(&log);
    apogee_testkit::wait_until("every message, from the slave", WAIT, || {
        let bodies: BTreeSet<String> = got.lock().unwrap().iter().map(|s| s.body.clone()).collect();
        let done = expected.is_subset(&bodies);
        async move { done }
    })
    .await;
    consumer.shutdown().await;
}
