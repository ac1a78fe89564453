//! The history database and the 24-hour series of the management API, over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_console::{Console, ConsoleConfig, RawConsoleConfig};
use apogee_runtime::Shutdown;
use apogee_testkit::http::request;
use common::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_history_samples_the_24_hour_series_show_the_last_day() {
    let (e, _producer) = backlog().await;
    let now = chrono_free_now();
    let count = |v: &Value| v["total"].as_u64().unwrap();
    let before = count(&e.ok("GET", "/api/manager/DefaultCluster/tps", None).await);
    e.console.sample_at(now - 25 * 3_600_000).await.unwrap();
    let old = e.ok("GET", "/api/manager/DefaultCluster/tps", None).await;
    assert_eq!(
        count(&old),
        before,
        "a sample older than 24 h is not in the series: {old}"
    );
    e.console.sample_at(now).await.unwrap();
    let series = e
        .ok("GET", "/api/manager/cluster/DefaultCluster/tps", None)
        .await;
    assert_eq!(count(&series), before + 1, "{series}");
    let last = series["rows"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["crtTime"], now);
    assert!(last["inTPS"].as_f64().unwrap() >= 0.0 && last["outTPS"].is_number());

    let topic = e
        .ok(
            "GET",
            "/api/manager/topics/DefaultCluster/Backlog/tps?groupName=reader&brokerName=broker-a",
            None,
        )
        .await;
    let ins = topic["inTpslist"].as_array().unwrap();
    let at_now = ins
        .iter()
        .find(|p| p["crtTime"] == now)
        .expect("the sample taken now");
    assert!(
        at_now["inTPS"].as_f64().unwrap() > 0.0,
        "five messages this minute: {topic}"
    );
    assert!(
        topic["outTpslist"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["crtTime"] == now),
        "{topic}"
    );
    assert_eq!(
        topic["taotal"],
        topic["totalTpslist"].as_array().unwrap().len()
    );
    let produce_only = e
        .ok(
            "GET",
            "/api/manager/topics/DefaultCluster/Backlog/tps",
            None,
        )
        .await;
    assert!(produce_only["outTpslist"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_history_sample_a_second_console_on_the_same_directory_reads_it() {
    let (e, _producer) = backlog().await;
    let now = chrono_free_now();
    e.console.sample_at(now).await.unwrap();
    // A second console on the same data directory reads the same history.
    let raw = RawConsoleConfig {
        listen_port: 0,
        namesrv_addr: e.cluster.namesrv_addr.clone(),
        data_dir: e.cluster.dir.path().join("console"),
        admin_secret_key: "s3cret".into(),
        rate_limit_per_second: 0,
        ..RawConsoleConfig::default()
    };
    let shutdown = Shutdown::new();
    let again = Console::start(ConsoleConfig::try_from(raw).unwrap(), &shutdown)
        .await
        .unwrap();
    let path = format!("/api/manager/DefaultCluster/tps?{AUTH}");
    let reread = request(again.local_addr(), "GET", &path, None).await.json();
    assert!(
        reread["result"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["crtTime"] == now),
        "{reread}"
    );
    shutdown.trigger();
    again.wait().await;
}
