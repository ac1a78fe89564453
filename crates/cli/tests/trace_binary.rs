//! `apogee admin queryMsgTraceById` against a real `apogee standalone`: trace records written
//! the way a Java client with message trace on writes them (here to a client-named trace topic)
//! are found by the message id and printed in time order.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_client::{ClientConfig, Message, Producer, ProducerConfig};
use common::*;

/// A record from `|`-separated fields, as a client writes it.
fn record(fields: &str) -> String {
    let mut s = fields.replace('|', "\u{1}");
    s.push('\u{2}');
    s
}

#[tokio::test]
async fn given_trace_records_admin_should_print_the_messages_timeline() {
    let s = Standalone::start(&[]).await;
    let ns = s.namesrv.as_str();
    for topic in ["Traced", "AppTrace"] {
        admin_json(
            ns,
            &[
                "updateTopic",
                "-c",
                "DefaultCluster",
                "-t",
                topic,
                "-r",
                "1",
                "-w",
                "1",
            ],
        );
    }
    let client = ClientConfig::new(ns).instance_name("trace-test");
    let producer = Producer::start(client, ProducerConfig::new("tracer"))
        .await
        .unwrap();
    let id = producer
        .send(Message::new("Traced", "hello"))
        .await
        .unwrap()
        .msg_id;
    let body = [
        record(&format!(
            "Pub|1700000000000|R|tracer|Traced|{id}|||127.0.0.1:10911|5|2|0|OFF|true|10.1.1.1"
        )),
        record(&format!(
            "SubAfter|REQ|{id}|7|false|k|3|1700000000107|billing"
        )),
    ]
    .concat();
    producer
        .send(Message::new("AppTrace", body).with_keys([id.as_str()]))
        .await
        .unwrap();
    let args = ["queryMsgTraceById", "-i", id.as_str(), "-t", "AppTrace"];
    wait_until("the trace indexed", || async {
        admin(ns, &args).status.success()
    })
    .await;
    let out = admin(ns, &args);
    let rows = table(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(rows.len(), 2, "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        (rows[0]["Type"].as_str(), rows[0]["Group"].as_str()),
        ("Pub", "tracer")
    );
    assert_eq!(
        (rows[0]["ClientHost"].as_str(), rows[0]["Status"].as_str()),
        ("10.1.1.1", "success")
    );
    assert_eq!(
        (rows[1]["Type"].as_str(), rows[1]["CostTimes"].as_str()),
        ("SubAfter", "7ms")
    );
    assert_eq!(rows[1]["Status"], "failed");
    let json = admin_json(ns, &args);
    assert_eq!(json["events"][1]["groupName"], "billing");
    let none = admin_err(ns, &["queryMsgTraceById", "-i", id.as_str()]);
    assert!(none.contains("no trace of message"), "{none}");
    producer.shutdown().await;
}

#[tokio::test]
async fn given_a_message_sent_and_consumed_with_tracing_on_admin_should_show_its_steps() {
    let s = Standalone::start(&[]).await;
    let ns = s.namesrv.as_str();
    admin_json(ns, &["updateTopic", "-c", "DefaultCluster", "-t", "Orders"]);
    let client = ClientConfig::new(ns).instance_name("traced-app");
    let mut config = ProducerConfig::new("shop");
    config.enable_trace = true;
    let producer = Producer::start(client.clone(), config).await.unwrap();
    let id = producer
        .send(Message::new("Orders", "order-1"))
        .await
        .unwrap()
        .msg_id;
    let mut consumer_config = apogee_client::PushConsumerConfig::new("billing");
    consumer_config.consume_from = apogee_client::ConsumeFrom::FirstOffset;
    consumer_config.enable_trace = true;
    let consumed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = std::sync::Arc::clone(&consumed);
    let consumer = apogee_client::PushConsumer::builder(client, consumer_config)
        .subscribe("Orders", "*")
        .listener(move |_: &[apogee_client::MessageExt]| {
            seen.store(true, std::sync::atomic::Ordering::SeqCst);
            apogee_client::ConsumeResult::Success
        })
        .start()
        .await
        .unwrap();
    wait_until("the message consumed", || async {
        consumed.load(std::sync::atomic::Ordering::SeqCst)
    })
    .await;
    consumer.shutdown().await;
    producer.shutdown().await;
    // The default trace topic, RMQ_SYS_TRACE_TOPIC, which the broker created.
    let args = ["queryMsgTraceById", "-i", id.as_str()];
    let steps = || {
        let out = admin(ns, &args);
        table(&String::from_utf8_lossy(&out.stdout))
    };
    wait_until("Pub and SubAfter traced", || async {
        let rows = steps();
        ["Pub", "SubAfter"]
            .iter()
            .all(|t| rows.iter().any(|r| r["Type"] == *t))
    })
    .await;
    let rows = steps();
    let publish = rows.iter().find(|r| r["Type"] == "Pub").unwrap();
    assert_eq!(
        (publish["Group"].as_str(), publish["Status"].as_str()),
        ("shop", "success")
    );
    assert_ne!(publish["ClientHost"], "-", "the sending client's host");
    let before = rows.iter().find(|r| r["Type"] == "SubBefore").unwrap();
    assert_eq!(before["Group"], "billing");
    assert_ne!(before["ClientHost"], "-", "the consuming client's host");
    let after = rows.iter().find(|r| r["Type"] == "SubAfter").unwrap();
    assert_eq!(
        (after["Group"].as_str(), after["Status"].as_str()),
        ("billing", "success")
    );
    assert!(after["CostTimes"].ends_with("ms"), "{after:?}");
}
