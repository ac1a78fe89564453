//! 10,000 pending timer messages across a SIGKILL of `apogee standalone`: every acknowledged
//! timer is delivered after the restart, none before its time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use apogee_client::{
    ClientConfig, ConsumeResult, Message, MessageExt, Producer, ProducerConfig, PushConsumer,
    PushConsumerConfig,
};
use common::*;

const TIMERS: usize = 10_000;
const SENDERS: usize = 8;

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    i64::try_from(since.unwrap().as_millis()).unwrap()
}

/// Sends `TIMERS` timers due 8–9 s from now from several tasks; returns their message ids
/// and the earliest due time.
async fn send_timers(ns: &str) -> (BTreeSet<String>, i64) {
    let client = ClientConfig::new(ns).instance_name("timer-sender");
    let producer = Producer::start(client, ProducerConfig::new("timer-pg"))
        .await
        .unwrap();
    let due = now_ms() + 8_000;
    let mut tasks = Vec::new();
    for sender in 0..SENDERS {
        let producer = producer.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in (sender..TIMERS).step_by(SENDERS) {
                let at = due + i64::try_from(i % 1000).unwrap();
                let m = Message::new("Timers", format!("t{i}"))
                    .with_property("TIMER_DELIVER_MS", at.to_string());
                ids.push(producer.send(m).await.unwrap().msg_id);
            }
            ids
        }));
    }
    let mut ids = BTreeSet::new();
    for task in tasks {
        ids.extend(task.await.unwrap());
    }
    producer.shutdown().await;
    (ids, due)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_ten_thousand_pending_timers_when_killed_should_deliver_each_after_restart() {
    let s = Standalone::start(&[]).await;
    admin_json(
        &s.namesrv,
        &["updateTopic", "-c", "DefaultCluster", "-t", "Timers"],
    );
    let (sent, due) = send_timers(&s.namesrv).await;
    assert_eq!(sent.len(), TIMERS);
    let dir = s.kill();
    assert!(
        now_ms() < due,
        "killed after the timers were due: the run is too slow to test this"
    );

    let s = Standalone::start_in(dir, &[]).await;
    let seen: Arc<Mutex<Vec<(String, i64, i64)>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let client = ClientConfig::new(&s.namesrv).instance_name("timer-consumer");
    let mut config = PushConsumerConfig::new("timer-cg");
    config.consume_from = apogee_client::ConsumeFrom::FirstOffset;
    config.consume_batch_size = 32;
    let consumer = PushConsumer::builder(client, config)
        .subscribe("Timers", "*")
        .listener(move |msgs: &[MessageExt]| {
            sink.lock().unwrap().extend(msgs.iter().map(|m| {
                let out = m.property("TIMER_OUT_MS").map_or(0, |v| v.parse().unwrap());
                (m.msg_id.clone(), out, m.store_timestamp)
            }));
            ConsumeResult::Success
        })
        .start()
        .await
        .unwrap();
    let distinct = || {
        seen.lock()
            .unwrap()
            .iter()
            .map(|(id, _, _)| id.clone())
            .collect::<BTreeSet<_>>()
    };
    let deadline = tokio::time::Instant::now() + WAIT * 2;
    while distinct().len() < TIMERS {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {TIMERS} timers delivered after the restart",
            distinct().len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    consumer.shutdown().await;
    assert_eq!(distinct(), sent, "every acknowledged timer, under its id");
    let early: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, out, stored)| stored < out)
        .cloned()
        .collect();
    assert!(
        early.is_empty(),
        "delivered early: {:?}",
        &early[..early.len().min(5)]
    );
    let total = seen.lock().unwrap().len();
    eprintln!(
        "{TIMERS} timers, {total} deliveries ({} repeated after the kill)",
        total - TIMERS
    );
}
