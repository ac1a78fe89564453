//! The SDK against a master/slave pair: every message a SYNC_MASTER acknowledged is consumed
//! from the slave by a consumer that keeps going after the master stops, including what the
//! slave copied after a restart in the middle of the stream.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use apogee_client::{Message, Producer, SendStatus};
use apogee_testkit::Pair;
use common::*;

async fn send_all(
    producer: &Arc<Producer>,
    topic: &str,
    range: std::ops::Range<usize>,
) -> Vec<String> {
    let tasks = 8;
    let mut handles = Vec::new();
    for t in 0..tasks {
        let (producer, topic, range) = (Arc::clone(producer), topic.to_owned(), range.clone());
        handles.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in range.filter(|i| i % tasks == t) {
                let body = format!("m{i:05}");
                let r = producer
                    .send(Message::new(&topic, body.clone()))
                    .await
                    .unwrap();
                // 11 and 12 mean stored on the master (the slave copy may come later).
                assert!(
                    matches!(
                        r.status,
                        SendStatus::SendOk
                            | SendStatus::SlaveNotAvailable
                            | SendStatus::FlushSlaveTimeout
                    ),
                    "{r:?}"
                );
                acked.push(body);
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for h in handles {
        acked.extend(h.await.unwrap());
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_sync_replication_a_consumer_should_get_every_acknowledged_message_from_the_slave_after_the_master_stops()
 {
    init_tracing();
    let mut pair = Pair::start("SYNC_MASTER", |_| {}).await;
    let ns = pair.namesrv_addr.clone();
    wait_for_route(&ns, "TBW102").await;
    let topic = unique("Replicated");
    let producer = Arc::new(create_topic(&ns, &topic).await);
    let mut acked = send_all(&producer, &topic, 0..10_000).await;
    assert_eq!(acked.len(), 10_000);
    acked.push("create".into());
    assert!(pair.slave().sync_from_master_now().await.unwrap());

    let group = unique("ReplicatedGroup");
    let seen = Seen::default();
    let consumer = consumer(&ns, from_first(&group), &topic, &seen).await;
    seen.wait_for("the consumer to start on the master", 100)
        .await;
    pair.stop_master().await;
    let expected: BTreeSet<String> = acked.into_iter().collect();
    let me = seen.clone();
    wait_until("every acknowledged message, from the slave", move || {
        let got: BTreeSet<String> = me.bodies().into_iter().collect();
        let done = expected.is_subset(&got);
        async move { done }
    })
    .await;
    consumer.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_slave_restarted_mid_stream_it_should_catch_up_and_serve_everything() {
    init_tracing();
    let mut pair = Pair::start("SYNC_MASTER", |raw| raw.slave_timeout_ms = 1000).await;
    let ns = pair.namesrv_addr.clone();
    wait_for_route(&ns, "TBW102").await;
    let topic = unique("Restarted");
    let producer = Arc::new(create_topic(&ns, &topic).await);
    let mut acked = send_all(&producer, &topic, 0..1000).await;
    pair.stop_slave().await;
    acked.extend(send_all(&producer, &topic, 1000..1500).await);
    pair.start_slave().await;
    acked.extend(send_all(&producer, &topic, 1500..2500).await);
    pair.wait_connected().await;
    pair.wait_caught_up().await;
    assert!(pair.slave().sync_from_master_now().await.unwrap());
    pair.stop_master().await;

    let group = unique("RestartedGroup");
    let seen = Seen::default();
    let consumer = consumer(&ns, from_first(&group), &topic, &seen).await;
    let expected: BTreeSet<String> = acked.into_iter().collect();
    assert_eq!(expected.len(), 2500);
    let me = seen.clone();
    wait_until(
        "every acknowledged message, from the restarted slave",
        move || {
            let got: BTreeSet<String> = me.bodies().into_iter().collect();
            let done = expected.is_subset(&got);
            async move { done }
        },
    )
    .await;
    consumer.shutdown().await;
    producer.shutdown().await;
}
