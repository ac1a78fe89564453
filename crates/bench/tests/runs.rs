//! Bench runs against an in-process NameServer and broker: produce (async, sync, batched,
//! rate-limited) then consume, and e2e, with counts, errors and latency shapes checked
//! (never timings).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use apogee_bench::{
    ConsumeConfig, ConsumerSettings, E2eConfig, LatencySummary, Limit, ProduceConfig,
    ProducerSettings, Report, SendMode, StartFrom, Target,
};
use apogee_runtime::Shutdown;

const RUN_WAIT: Duration = Duration::from_secs(60);

/// A NameServer and broker (testkit's: small files, indifferent to how full the host disk is).
async fn cluster(sync_flush: bool) -> apogee_testkit::InProcess {
    apogee_testkit::start(|raw| {
        if sync_flush {
            raw.flush_disk_type = "SYNC_FLUSH".into();
        }
    })
    .await
}

fn target(namesrv: &str, topic: &str) -> Target {
    Target {
        namesrv: namesrv.to_owned(),
        topic: topic.to_owned(),
        queues: 4,
        ..Target::default()
    }
}

async fn bounded(run: impl std::future::Future<Output = apogee_bench::Result<Report>>) -> Report {
    tokio::time::timeout(RUN_WAIT, run)
        .await
        .expect("run finished in time")
        .expect("run succeeded")
}

fn assert_ordered(l: &LatencySummary, count: u64) {
    assert_eq!(l.count, count);
    assert!(l.p50_us <= l.p90_us && l.p90_us <= l.p99_us, "{l:?}");
    assert!(l.p99_us <= l.p999_us && l.p999_us <= l.max_us, "{l:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_new_topic_when_produced_then_consumed_should_count_every_message() {
    let cluster = cluster(false).await;
    let target = target(&cluster.namesrv_addr, "BenchCreated");
    let produce = ProduceConfig {
        target: target.clone(),
        limit: Limit::messages(600),
        producer: ProducerSettings {
            size: 200,
            producers: 3,
            in_flight: 8,
            ..ProducerSettings::default()
        },
        progress: false,
    };
    let report = bounded(apogee_bench::produce(&produce, Shutdown::new())).await;
    assert_eq!(report.error_total, 0, "{report}");
    let sent = report.sent.unwrap();
    assert_eq!((sent.messages, sent.bytes), (600, 120_000));
    assert_ordered(&report.send_latency.unwrap(), 600);
    // The broker's own CPU time, read before and after (here: this test process's).
    assert!(
        report.extra["broker_cpu_s"].as_f64().unwrap() >= 0.0,
        "{report}"
    );
    assert!(
        report.extra.contains_key("broker_cpu_us_per_msg"),
        "{report}"
    );

    let consume = ConsumeConfig {
        target,
        limit: Limit::messages(600),
        consumer: ConsumerSettings {
            consumers: 2,
            group: "bench_created_readers".into(),
            ..ConsumerSettings::default()
        },
        progress: false,
    };
    let report = bounded(apogee_bench::consume(&consume, Shutdown::new())).await;
    let received = report.received.unwrap();
    // At least once: a queue that moves from the first consumer to the second as it joins
    // may deliver some messages twice.
    assert!(received.messages >= 600, "{report}");
    assert_eq!(received.bytes, received.messages * 200);
    assert_ordered(&report.e2e_latency.unwrap(), received.messages);
    assert!(report.notes.is_empty(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_sync_batched_rate_limited_sends_should_store_them_all() {
    let cluster = cluster(true).await;
    let config = ProduceConfig {
        target: target(&cluster.namesrv_addr, "BenchSync"),
        limit: Limit::messages(205),
        producer: ProducerSettings {
            size: 64,
            producers: 2,
            batch: 10,
            rate: 5000,
            mode: SendMode::Sync,
            ..ProducerSettings::default()
        },
        progress: false,
    };
    let report = bounded(apogee_bench::produce(&config, Shutdown::new())).await;
    assert_eq!(report.error_total, 0, "{report}");
    assert_eq!(report.sent.unwrap().messages, 205);
    // Every message of a batch is recorded with the batch's latency.
    assert_ordered(&report.send_latency.unwrap(), 205);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_e2e_should_receive_this_runs_messages_only() {
    let cluster = cluster(false).await;
    let target = target(&cluster.namesrv_addr, "BenchE2e");
    let settings = ProducerSettings {
        size: 128,
        producers: 2,
        ..ProducerSettings::default()
    };
    // An earlier run leaves messages behind; e2e (from the first offset, to see them) must
    // skip them.
    let earlier = ProduceConfig {
        target: target.clone(),
        limit: Limit::messages(50),
        producer: settings.clone(),
        progress: false,
    };
    bounded(apogee_bench::produce(&earlier, Shutdown::new())).await;
    let config = E2eConfig {
        target,
        limit: Limit::messages(400),
        producer: settings,
        // One consumer: no queue moves between members, so every count is exact.
        consumer: ConsumerSettings {
            consumers: 1,
            group: "bench_e2e".into(),
            from: Some(StartFrom::First),
            ..ConsumerSettings::default()
        },
        progress: false,
    };
    let report = bounded(apogee_bench::e2e(&config, Shutdown::new())).await;
    assert_eq!(report.error_total, 0, "{report}");
    assert_eq!(report.sent.unwrap().messages, 400);
    assert_eq!(report.received.unwrap().messages, 400, "{report}");
    assert_ordered(&report.e2e_latency.unwrap(), 400);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n == "skipped 50 bench messages of earlier runs"),
        "{report}"
    );
}

#[tokio::test]
async fn given_no_nameserver_should_fail_with_an_error_not_a_panic() {
    // Nothing listens on port 1.
    let config = ProduceConfig {
        target: target("127.0.0.1:1", "BenchNowhere"),
        limit: Limit::messages(1),
        ..ProduceConfig::default()
    };
    let result = tokio::time::timeout(RUN_WAIT, apogee_bench::produce(&config, Shutdown::new()))
        .await
        .unwrap();
    assert!(result.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_many_topics_should_create_each_route_each_and_produce_across_them() {
    let cluster = cluster(false).await;
    let target = Target {
        queues: 2,
        ..target(&cluster.namesrv_addr, "Many")
    };
    let config = apogee_bench::TopicsConfig {
        target: target.clone(),
        count: 40,
    };
    let report = bounded(apogee_bench::topics(&config, Shutdown::new())).await;
    assert_eq!(report.extra["topics_created"], 40, "{report}");
    assert_eq!(report.extra["route_lookups"], 40, "{report}");
    assert_ordered(&report.send_latency.unwrap(), 40);

    let produce = ProduceConfig {
        target: target.clone(),
        limit: Limit::messages(400),
        producer: ProducerSettings {
            size: 100,
            producers: 2,
            topics: 40,
            ..ProducerSettings::default()
        },
        progress: false,
    };
    let report = bounded(apogee_bench::produce(&produce, Shutdown::new())).await;
    assert_eq!(report.error_total, 0, "{report}");
    assert_eq!(report.sent.unwrap().messages, 400);
    let admin =
        apogee_client::Admin::start(apogee_client::ClientConfig::new(&cluster.namesrv_addr))
            .await
            .unwrap();
    // Acknowledged means stored; the consume queues (what topic statistics count) are
    // written by dispatch, which may still be on its way.
    let all_in =
        |admin| async move { counts(admin).await.iter().map(|(_, n)| n).sum::<i64>() == 400 };
    apogee_testkit::wait_until("all 400 messages in the topics' queues", RUN_WAIT, || {
        all_in(&admin)
    })
    .await;
    let per_topic = counts(&admin).await;
    for (name, in_topic) in per_topic {
        assert!(in_topic > 0, "{name} got none");
    }
}

/// Messages in each of the 40 "Many" topics' queues, by topic statistics.
async fn counts(admin: &apogee_client::Admin) -> Vec<(String, i64)> {
    let mut per_topic = Vec::new();
    for i in 0..40 {
        let name = apogee_bench::topic_name("Many", i);
        let stats = admin.topic_stats(&name).await.unwrap();
        per_topic.push((
            name,
            stats.offset_table.values().map(|o| o.max_offset).sum(),
        ));
    }
    per_topic
}
