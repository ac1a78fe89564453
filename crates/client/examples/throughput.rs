//! A quick throughput sample of apogee-client against an in-process Apogee, next to a baseline
//! measured in the same run: 1 KiB request/response round trips over raw loopback TCP with the
//! same number of requests in flight (the ceiling for acknowledged sends on this machine).
//!
//! `cargo run --release -p apogee-client --example throughput [messages] [producers] [window]`
//! (defaults 50000 messages, 4 producers, 32 callback sends in flight per producer).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use apogee_client::{
    ClientConfig, ConsumeFrom, ConsumeResult, Message, MessageExt, Producer, ProducerConfig,
    PushConsumer, PushConsumerConfig,
};
use tokio::sync::Semaphore;

const SIZE: usize = 1024;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let producers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let window: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    let in_flight = producers * window;

    let baseline = apogee_testkit::loopback_round_trips(total, in_flight, SIZE).await;

    let cluster = apogee_testkit::start(|raw| raw.mapped_file_size_commit_log = 1 << 30).await;
    let ns = cluster.namesrv_addr.clone();
    let topic = "Throughput";
    let warm = Producer::start(
        ClientConfig::new(&ns).instance_name("warm"),
        ProducerConfig::new("warm"),
    )
    .await
    .unwrap();
    warm.send(Message::new(topic, "warm-up")).await.unwrap();

    let body = vec![b'x'; SIZE];
    let started = Instant::now();
    let failed = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for p in 0..producers {
        let (ns, body, failed) = (ns.clone(), body.clone(), Arc::clone(&failed));
        tasks.push(tokio::spawn(async move {
            let producer = Producer::start(
                ClientConfig::new(&ns).instance_name(format!("bench-{p}")),
                ProducerConfig::new(format!("bench_{p}")),
            )
            .await
            .unwrap();
            let slots = Arc::new(Semaphore::new(window));
            for _ in 0..total / producers {
                let permit = Arc::clone(&slots).acquire_owned().await.unwrap();
                let failed = Arc::clone(&failed);
                producer.send_with_callback(Message::new(topic, body.clone()), move |r| {
                    if r.is_err() {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    drop(permit);
                });
            }
            // All permits back: every send of this producer finished.
            let _ = slots
                .acquire_many(u32::try_from(window).unwrap_or(u32::MAX))
                .await;
            producer.shutdown().await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let produce = total as f64 / started.elapsed().as_secs_f64();

    let consumed = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&consumed);
    let mut config = PushConsumerConfig::new("bench_consumer");
    config.consume_from = ConsumeFrom::FirstOffset;
    config.consume_batch_size = 32;
    let started = Instant::now();
    let consumer = PushConsumer::builder(
        ClientConfig::new(&ns).instance_name("bench-consumer"),
        config,
    )
    .subscribe(topic, "*")
    .listener(move |msgs: &[MessageExt]| {
        c.fetch_add(msgs.len(), Ordering::Relaxed);
        ConsumeResult::Success
    })
    .start()
    .await
    .unwrap();
    let want = total + 1 - failed.load(Ordering::Relaxed);
    while consumed.load(Ordering::Relaxed) < want {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        assert!(
            started.elapsed().as_secs() < 300,
            "consumed {} of {want}",
            consumed.load(Ordering::Relaxed)
        );
    }
    let consume = want as f64 / started.elapsed().as_secs_f64();
    consumer.shutdown().await;

    println!(
        "{total} x {SIZE} B, {producers} producers x {window} in flight, failed {}",
        failed.load(Ordering::Relaxed)
    );
    println!("| | rate | ratio |");
    println!("| --- | --- | --- |");
    println!("| raw loopback TCP round trips ({in_flight} in flight) | {baseline:.0} /s | 1.00 |");
    println!(
        "| produce (apogee-client callback sends) | {produce:.0} msg/s | {:.2} |",
        produce / baseline
    );
    println!(
        "| consume (push, clustering, batch 32) | {consume:.0} msg/s | {:.2} |",
        consume / baseline
    );
}
