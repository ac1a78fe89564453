//! The SDK across an automatic failover (controller mode, allAckInSyncStateSet): the master
//! stops, the controller makes the in-sync slave master, the producer goes on against it, and
//! a consumer gets every message either master acknowledged. The old master comes back as a
//! slave of the new one and rejoins the SyncStateSet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Instant;

use apogee_client::{Message, Producer, SendStatus};
use apogee_testkit::FailoverSet;
use common::*;

/// Sends `range`, each message retried (as an application would) until it is acknowledged
/// SEND_OK: during the switch sends fail until the producer's route names the new master.
async fn send(producer: &Producer, topic: &str, range: std::ops::Range<usize>) -> Vec<String> {
    let mut acked = Vec::new();
    for i in range {
        let body = format!("m{i:05}");
        let deadline = Instant::now() + std::time::Duration::from_secs(20);
        loop {
            match producer.send(Message::new(topic, body.clone())).await {
                Ok(r) if r.status == SendStatus::SendOk => break,
                _ if Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                outcome => panic!("{body} never acknowledged: {outcome:?}"),
            }
        }
        acked.push(body);
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_the_master_stops_the_in_sync_slave_takes_over_and_nothing_acknowledged_is_lost() {
    init_tracing();
    let mut set = FailoverSet::start(2, |raw| raw.all_ack_in_sync_state_set = true).await;
    let ns = set.namesrv_addr.clone();
    wait_for_route(&ns, "TBW102").await;
    let topic = unique("Failover");
    let producer = create_topic(&ns, &topic).await;
    let mut acked = send(&producer, &topic, 0..300).await;
    assert_eq!(acked.len(), 300, "both brokers were in sync");

    let old = set.master().unwrap();
    let stopped = Instant::now();
    set.stop(old).await;
    let new = set.wait_master(Some(old)).await;
    println!(
        "new master writable {:?} after the old one stopped",
        stopped.elapsed()
    );
    let resumed = Instant::now();
    acked.extend(send(&producer, &topic, 300..301).await);
    println!(
        "the producer's first send to the new master after {:?}",
        resumed.elapsed()
    );
    acked.extend(send(&producer, &topic, 301..600).await);

    set.restart(old).await;
    let sss = set.wait_sync_state_set(2).await;
    assert_eq!(
        set.master(),
        Some(new),
        "the old master came back as a slave"
    );
    assert_eq!(sss.len(), 2);
    acked.extend(send(&producer, &topic, 600..700).await);

    let group = unique("FailoverGroup");
    let seen = Seen::default();
    let consumer = consumer(&ns, from_first(&group), &topic, &seen).await;
    let expected: BTreeSet<String> = acked.into_iter().collect();
    let me = seen.clone();
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let got: BTreeSet<String> = me.bodies().into_iter().collect();
        let missing: Vec<&String> = expected.difference(&got).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} acknowledged messages never consumed, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    consumer.shutdown().await;
    producer.shutdown().await;
}
