//! Prometheus metrics over real HTTP: a broker and a NameServer with
//! `metrics_exporter_type = "PROM"` are scraped on `/metrics` after sends, pulls and an offset
//! commit, and the text is read with a Prometheus text parser (prometheus-parse). The figures
//! must be the broker's own: messages in and out, backlog, connections, storage, latency.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;

use apogee_protocol::header::consumer::UpdateConsumerOffsetRequestHeader;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use common::*;
use prometheus_parse::{Sample, Scrape, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GET /metrics over a plain socket, parsed.
async fn scrape(addr: SocketAddr) -> (Scrape, String) {
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = String::new();
    tokio::time::timeout(WAIT, socket.read_to_string(&mut raw))
        .await
        .expect("the exporter answers")
        .unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("openmetrics-text"),
        "{head}"
    );
    let parsed = Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).unwrap();
    (parsed, body.to_owned())
}

fn number(sample: &Sample) -> f64 {
    match sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
        _ => panic!("{} is not a scalar", sample.metric),
    }
}

/// The one sample named `metric` whose labels include `labels`.
fn find(scrape: &Scrape, text: &str, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .collect();
    assert_eq!(found.len(), 1, "{metric} {labels:?} in:\n{text}");
    number(found[0])
}

/// Group `cg` commits `offset` on Metered's queue 0.
async fn commit(c: &Cluster, offset: i64) {
    let r = c
        .call(RemotingCommand::request(
            RequestCode::UPDATE_CONSUMER_OFFSET,
            &UpdateConsumerOffsetRequestHeader {
                consumer_group: "cg".into(),
                topic: "Metered".into(),
                queue_id: 0,
                commit_offset: offset,
                broker_name: None,
            },
        ))
        .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
}

fn prom(raw: &mut apogee_broker::RawBrokerConfig) {
    raw.metrics_exporter_type = "PROM".into();
    raw.metrics_prom_exporter_host = "127.0.0.1".into();
    raw.metrics_prom_exporter_port = 0;
}

#[tokio::test]
async fn given_sends_pulls_and_a_commit_the_broker_exports_them_with_rocketmq_names() {
    let c = cluster(prom).await;
    for body in [&b"one"[..], b"two", b"three"] {
        let r = c.call(send_v2("Metered", 0, "", body)).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    }
    c.wait_max_offset("Metered", 0, 3).await;
    let r = c.call(pull("Metered", 0, 0, "*", 0)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    commit(&c, 1).await;

    let addr = c.broker().metrics_addr().expect("the exporter is on");
    let (s, text) = scrape(addr).await;
    let topic = [("topic", "Metered"), ("node_type", "broker")];
    assert_eq!(find(&s, &text, "rocketmq_messages_in_total", &topic), 3.0);
    assert!(find(&s, &text, "rocketmq_throughput_in_total", &topic) > 3.0 * 80.0);
    let group = [("topic", "Metered"), ("consumer_group", "cg")];
    assert_eq!(find(&s, &text, "rocketmq_messages_out_total", &group), 3.0);
    assert!(find(&s, &text, "rocketmq_throughput_out_total", &group) > 0.0);
    // Committed 1 of 3: two behind, the oldest of them stored moments ago.
    assert_eq!(
        find(&s, &text, "rocketmq_consumer_lag_messages", &group),
        2.0
    );
    let latency = find(&s, &text, "rocketmq_consumer_lag_latency", &group);
    assert!((0.0..60_000.0).contains(&latency), "{latency}");
    assert!(
        find(
            &s,
            &text,
            "rocketmq_storage_size",
            &[("storage_type", "local")]
        ) > 0.0
    );
    let sends = find(
        &s,
        &text,
        "rocketmq_rpc_latency_count",
        &[
            ("request_code", "send_message_v2"),
            ("response_code", "success"),
        ],
    );
    assert_eq!(sends, 3.0);
    assert!(text.contains("rocketmq_rpc_latency_bucket{"), "{text}");
    assert!(text.contains("cluster=\"DefaultCluster\""), "{text}");

    // Everything consumed: no backlog left.
    commit(&c, 3).await;
    let (s, text) = scrape(addr).await;
    assert_eq!(
        find(&s, &text, "rocketmq_consumer_lag_messages", &group),
        0.0
    );
    assert_eq!(
        find(&s, &text, "rocketmq_consumer_lag_latency", &group),
        0.0
    );
}

#[tokio::test]
async fn given_pending_timers_the_broker_exports_them_per_topic() {
    let c = cluster(prom).await;
    let later = "TIMER_DELAY_SEC\u{1}3600\u{2}";
    for body in [&b"a"[..], b"b"] {
        let r = c.call(send_v2("Timed", 0, later, body)).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    }
    let addr = c.broker().metrics_addr().expect("the exporter is on");
    wait_until("two Timed timers in rocketmq_timing_messages", || async {
        scrape(addr).await.0.samples.iter().any(|x| {
            x.metric == "rocketmq_timing_messages"
                && x.labels.get("topic") == Some("Timed")
                && matches!(x.value, Value::Gauge(v) if v == 2.0)
        })
    })
    .await;
    let (s, text) = scrape(addr).await;
    assert_eq!(find(&s, &text, "rocketmq_timer_enqueue_total", &[]), 2.0);
    assert_eq!(find(&s, &text, "rocketmq_timer_enqueue_lag", &[]), 0.0);
}

#[tokio::test]
async fn given_popped_messages_the_broker_exports_them_in_flight_and_acked() {
    let c = cluster(prom).await;
    assert_eq!(
        c.call(create_topic("Popped", 1, None))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    for body in [&b"a"[..], b"b"] {
        let r = c.call(send_v2("Popped", 0, "", body)).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    }
    c.wait_max_offset("Popped", 0, 2).await;
    let header = apogee_protocol::header::pop::PopMessageRequestHeader {
        consumer_group: "g".into(),
        topic: "Popped".into(),
        queue_id: -1,
        max_msg_nums: 32,
        invisible_time: 60_000,
        poll_time: 0,
        born_time: 0,
        init_mode: 0,
        exp_type: None,
        exp: None,
        order: None,
        attempt_id: None,
        broker_name: None,
    };
    let r = c
        .call(RemotingCommand::request(RequestCode::POP_MESSAGE, &header))
        .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let (s, text) = scrape(c.broker().metrics_addr().expect("the exporter is on")).await;
    assert_eq!(find(&s, &text, "rocketmq_pop_inflight_messages", &[]), 2.0);
    assert_eq!(find(&s, &text, "rocketmq_pop_messages_total", &[]), 2.0);
    assert_eq!(find(&s, &text, "rocketmq_pop_ack_messages_total", &[]), 0.0);
}

#[tokio::test]
async fn given_a_registered_broker_the_namesrv_exports_it_and_its_request_latency() {
    let dir = tempfile::tempdir().unwrap();
    let namesrv = apogee_testkit::start_namesrv_with(&dir.path().join("ns"), |raw| {
        raw.metrics_exporter_type = "PROM".into();
        raw.metrics_prom_exporter_host = "127.0.0.1".into();
        raw.metrics_prom_exporter_port = 0;
    })
    .await;
    let broker = start_broker(raw_config(dir.path(), &namesrv.local_addr().to_string())).await;
    broker.register_now().await;
    let addr = namesrv.metrics_addr().expect("the exporter is on");
    let (s, text) = scrape(addr).await;
    let live = [("cluster", "DefaultCluster")];
    assert_eq!(find(&s, &text, "apogee_namesrv_live_brokers", &live), 1.0);
    assert!(find(&s, &text, "apogee_namesrv_topics", &[]) >= 1.0);
    assert!(
        find(
            &s,
            &text,
            "rocketmq_rpc_latency_count",
            &[("request_code", "register_broker")]
        ) >= 1.0
    );
    broker.stop().await;
}

#[tokio::test]
async fn given_the_default_settings_no_exporter_runs() {
    let c = cluster(|_| {}).await;
    assert!(c.broker().metrics_addr().is_none());
}
