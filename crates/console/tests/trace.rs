//! A message's trace timeline: records written to the trace topic the way a Java client with
//! message trace on writes them (indexed under the message id) are found and put in order.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_client::Message;
use common::{client, env, topic_body};

/// A record from `|`-separated fields (`{id}` is the traced message), as a client writes it.
fn record(fields: &str, id: &str) -> String {
    let mut s = fields.replace("{id}", id).replace('|', "\u{1}");
    s.push('\u{2}');
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_trace_records_the_timeline_shows_send_and_consume_in_order() {
    let e = env().await;
    e.ok("POST", "/api/manager/topics", Some(topic_body("Traced", 1)))
        .await;
    let producer =
        apogee_client::Producer::start(client(&e), apogee_client::ProducerConfig::new("tracer"))
            .await
            .unwrap();
    let sent = producer
        .send(Message::new("Traced", "hello").with_keys(["k1"]))
        .await
        .unwrap();
    let id = sent.msg_id.as_str();
    // Nothing traced yet: no trace topic at all.
    let none = e
        .ok("GET", &format!("/api/console/messages/{id}/trace"), None)
        .await;
    assert_eq!(none["total"], 0, "{none}");

    // Clients may name their own trace topic (Java: `new DefaultMQProducer(group, true,
    // "AppTrace")`); the broker's own RMQ_SYS_TRACE_TOPIC (traceTopicEnable) belongs to the
    // message features issue.
    e.ok(
        "POST",
        "/api/manager/topics",
        Some(topic_body("AppTrace", 1)),
    )
    .await;
    let consumed = [
        record("SubBefore|1700000000100|R|billing|REQ1|{id}|0|k1", id),
        record("SubAfter|REQ1|{id}|7|true|k1|0|1700000000107|billing", id),
    ]
    .concat();
    let published = record(
        "Pub|1700000000000|R|tracer|Traced|{id}||k1|127.0.0.1:10911|5|2|0|OFF|true|127.0.0.1",
        id,
    );
    for body in [consumed, published] {
        let m = Message::new("AppTrace", body).with_keys([id, "k1"]);
        producer.send(m).await.unwrap();
    }
    let path = format!("/api/console/messages/{id}/trace?traceTopic=AppTrace");
    let trace = e
        .ok_when(&path, "the three trace records", |t| t["total"] == 3)
        .await;
    let kinds: Vec<&str> = trace["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["traceType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Pub", "SubBefore", "SubAfter"], "{trace}");
    assert_eq!(trace["rows"][0]["groupName"], "tracer");
    assert_eq!(trace["rows"][2]["costTime"], 7);
    assert_eq!(trace["rows"][2]["success"], true);
    producer.shutdown().await;
}
