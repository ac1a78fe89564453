//! A quick produce/consume run with the third-party client against an in-process Apogee,
//! next to a baseline measured in the same run: 1 KiB request/response round trips over raw
//! loopback TCP with the same concurrency (the ceiling for synchronous sends on this machine).
//!
//! `cargo run --release -p apogee-compat-tests --example third_party_throughput [messages] [producers] [batch]`
//!
//! With `APOGEE_NAMESRV=<addr>` it drives that cluster instead (an `apogee standalone` in its own
//! process) and also prints the broker's CPU per message (its `processCpuMicros` before and
//! after each phase). `batch` above 1 sends batches of that many messages.

#![recursion_limit = "256"]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rocketmq_client_rust::{
    ClientConfig, ClientRuntime, ClientRuntimeConfig, ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
    TelemetryHandle,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_runtime::{BlockingLanePolicies, RuntimeConfig, RuntimeOwner};

const SIZE: usize = 1024;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let producers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);
    let batch: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1).max(1);
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let external = std::env::var("APOGEE_NAMESRV").ok();
    let cluster = match external {
        Some(_) => None,
        None => Some(apogee_testkit::start(|_| {}).await),
    };
    let namesrv_addr = match (&external, &cluster) {
        (Some(addr), _) => addr.clone(),
        (None, Some(cluster)) => cluster.namesrv_addr.clone(),
        (None, None) => unreachable!("one of the two is set"),
    };
    if let Some(cluster) = &cluster {
        cluster.broker.register_now().await;
    }
    // A broker in its own process reports its CPU time; an in-process one shares this
    // process's time with the client, so none is reported.
    let cpu = match &external {
        Some(addr) => {
            let target = apogee_bench::Target {
                namesrv: addr.clone(),
                ..apogee_bench::Target::default()
            };
            apogee_bench::CpuProbe::start(&target).await
        }
        None => None,
    };
    let sample = || async {
        match &cpu {
            Some(probe) => probe.sample().await,
            None => None,
        }
    };
    let per_message = |before: Option<u64>, after: Option<u64>, messages: usize| {
        Some((after? - before?) as f64 / messages.max(1) as f64)
    };

    // The client's default blocking-lane queue is 16 × cores deep; past it consumption fails
    // with "runtime.capacity.exhausted" and messages are sent back for retry. Deepen it so
    // the run measures the broker, not that limit.
    let mut lanes = BlockingLanePolicies::default();
    for lane in [
        &mut lanes.storage_io,
        &mut lanes.metadata_io,
        &mut lanes.cpu_crypto,
    ] {
        lane.max_queue_depth = 1 << 20;
    }
    let owner = RuntimeOwner::plan(RuntimeConfig {
        thread_name: "rmq".into(),
        blocking_lane_policies: lanes,
        ..Default::default()
    })
    .unwrap()
    .build()
    .unwrap();
    let runtime = |scope: &'static str| {
        ClientRuntime::try_new(
            owner.root_context().component(scope),
            ClientRuntimeConfig::default(),
            TelemetryHandle::noop(),
        )
        .unwrap()
    };
    let body = vec![b'x'; SIZE];
    let mut warm = DefaultMQProducer::builder(runtime("warm"))
        .producer_group("warm")
        .name_server_addr(namesrv_addr.as_str())
        .build();
    warm.start().await.unwrap();
    warm.send(
        Message::builder()
            .topic("Bench")
            .tags("T")
            .body_slice(&body)
            .build_unchecked(),
    )
    .await
    .unwrap();
    warm.shutdown().await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let cpu_before = sample().await;
    let started = Instant::now();
    let tasks: Vec<_> = (0..producers)
        .map(|i| {
            let rt = runtime("producer");
            let (addr, body) = (namesrv_addr.clone(), body.clone());
            tokio::spawn(async move {
                let mut p = DefaultMQProducer::builder(rt)
                    .producer_group(format!("bench{i}").as_str())
                    .name_server_addr(addr.as_str())
                    .build();
                p.start().await.unwrap();
                let message = || {
                    Message::builder()
                        .topic("Bench")
                        .tags("T")
                        .body_slice(&body)
                        .build_unchecked()
                };
                for _ in 0..total / producers / batch {
                    if batch > 1 {
                        p.send_batch((0..batch).map(|_| message()).collect())
                            .await
                            .unwrap();
                    } else {
                        p.send(message()).await.unwrap();
                    }
                }
                p.shutdown().await;
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let produced = total / producers / batch * batch * producers;
    let produce_rate = produced as f64 / started.elapsed().as_secs_f64();
    let produce_cpu = per_message(cpu_before, sample().await, produced);

    let consumed = Arc::new(AtomicUsize::new(0));
    let mut consumer = DefaultMQPushConsumer::builder(runtime("consumer"))
        .client_config(ClientConfig {
            persist_consumer_offset_interval: 1_000,
            ..ClientConfig::default()
        })
        .name_server_addr(namesrv_addr.as_str())
        .consumer_group("bench_consumer")
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    consumer.subscribe("Bench", "*").await.unwrap();
    let counter = Arc::clone(&consumed);
    consumer.register_message_listener_concurrently(
        move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
            counter.fetch_add(msgs.len(), Ordering::Relaxed);
            Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
        },
    );
    let expected = produced + 1;
    let cpu_before = sample().await;
    let started = Instant::now();
    consumer.start().await.unwrap();
    while consumed.load(Ordering::Relaxed) < expected {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "consume stalled at {}",
            consumed.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let consume_rate = expected as f64 / started.elapsed().as_secs_f64();
    let consume_cpu = per_message(cpu_before, sample().await, expected);
    consumer.shutdown().await;

    let raw = apogee_bench::raw::round_trips(total, producers, SIZE)
        .await
        .unwrap();
    let baseline = raw.rate;
    println!(
        "1 KiB messages, {producers} producers, batches of {batch}, {produced} messages (rocketmq-client-rust 1.0.0 → Apogee, same machine)"
    );
    println!("raw loopback TCP 1 KiB round trips: {baseline:>10.0} /s  = 1.00");
    println!(
        "produce (sync send):                {produce_rate:>10.0} msg/s = {:.2} of raw",
        produce_rate / baseline
    );
    println!(
        "consume (push, clustering):         {consume_rate:>10.0} msg/s = {:.2} of raw",
        consume_rate / baseline
    );
    if let (Some(produce), Some(consume)) = (produce_cpu, consume_cpu) {
        println!("broker CPU per message: produce {produce:.2} µs, consume {consume:.2} µs");
    }
    if let Some(floor) = raw.server_cpu_us {
        println!("raw echo server CPU per round trip (the floor for a sync send): {floor:.2} µs");
    }
    if let Some(cluster) = cluster {
        cluster.broker.stop().await;
    }
    owner.shutdown_background();
}
