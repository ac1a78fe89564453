//! Backlog, offset resets and message queries through the management API, over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_backlog_offsets_are_reset_by_time_and_the_topic_depth_follows() {
    let (e, _producer) = backlog().await;
    let later = chrono_free_now() + 60_000;
    let reset = |time: Value| json!({"consumerGroupList": ["reader"], "topicName": "Backlog", "force": true, "resetTime": time});
    let moved = e
        .ok(
            "POST",
            "/api/manager/topics/consumeOffset",
            Some(reset(json!(later.to_string()))),
        )
        .await;
    assert_eq!(moved["total"], 1, "{moved}");
    assert_eq!(moved["rows"][0]["rollbackOffset"], 5, "{moved}");

    let depth = e
        .ok(
            "GET",
            "/api/manager/topics/DefaultCluster/Backlog/depth",
            None,
        )
        .await;
    let row = &depth["rows"][0];
    assert_eq!(
        (row["groupName"].as_str(), row["brokerName"].as_str()),
        (Some("reader"), Some("broker-a")),
        "{depth}"
    );
    assert_eq!(
        (
            row["diff"].as_i64(),
            row["total"].as_i64(),
            row["consumedTotal"].as_i64()
        ),
        (Some(0), Some(5), Some(5))
    );

    // The document's example path (`/api/manage/…`) rewinds to the start.
    let back = e
        .ok(
            "POST",
            "/api/manage/topics/consumeOffset",
            Some(reset(json!(0))),
        )
        .await;
    assert_eq!(back["rows"][0]["rollbackOffset"], 0, "{back}");
    assert_eq!(back["diffOffset"], 5);
    let bad = e
        .refused(
            400,
            "POST",
            "/api/manager/topics/consumeOffset",
            Some(reset(json!("soon"))),
        )
        .await;
    assert!(bad.contains("resetTime"), "{bad}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_backlog_the_group_queue_and_client_views_show_it() {
    let (e, _producer) = backlog().await;
    let group_depth = e
        .ok(
            "GET",
            "/api/manager/subscriptions/DefaultCluster/reader/depth?topicName=Backlog",
            None,
        )
        .await;
    assert_eq!(
        group_depth["total"], 2,
        "the topic and the group's retry topic: {group_depth}"
    );
    assert_eq!(group_depth["rows"][0]["diff"], 5);
    // The consume delay: the oldest unconsumed message was stored moments ago.
    let delay = group_depth["rows"][0]["notConsumeMsgTime"]
        .as_i64()
        .unwrap();
    assert!((0..60_000).contains(&delay), "{group_depth}");
    assert_eq!(group_depth["rows"][1]["topicName"], "%RETRY%reader");
    let missing = e
        .refused(
            400,
            "GET",
            "/api/manager/subscriptions/DefaultCluster/reader/depth",
            None,
        )
        .await;
    assert!(missing.contains("topicName"), "{missing}");

    let queues = e
        .ok(
            "GET",
            "/api/manager/topics/DefaultCluster/Backlog/queues",
            None,
        )
        .await;
    assert_eq!(queues["rows"][0]["consumerGroup"], "reader", "{queues}");
    assert_eq!(queues["rows"][0]["diffTotal"], 5);
    assert_eq!(queues["rows"][0]["queueStatInfoList"][0]["brokerOffset"], 5);
    let consumers = e
        .ok(
            "GET",
            "/api/manager/topics/DefaultCluster/Backlog/consumers",
            None,
        )
        .await;
    assert_eq!(consumers["rows"], json!(["reader"]));
    let producers = e
        .ok(
            "GET",
            "/api/manager/topics/DefaultCluster/Backlog/producers?pageSize=100",
            None,
        )
        .await;
    assert!(
        producers["rows"]
            .as_array()
            .unwrap()
            .contains(&json!("backlog-producer")),
        "{producers}"
    );
    e.refused(
        404,
        "GET",
        "/api/manager/topics/DefaultCluster/NoSuchTopic/depth",
        None,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_keyed_message_it_is_found_by_key_id_and_offset_with_its_consume_status() {
    let (e, producer) = backlog().await;
    let sent = producer
        .send(
            apogee_client::Message::new("Backlog", "order body")
                .with_tags("TagA")
                .with_keys(["order-42"]),
        )
        .await
        .unwrap();
    assert_eq!(sent.queue_offset, 5);
    let by_key = "/api/manager/messages/key?topicName=Backlog&key=order-42";
    let found = e
        .ok_when(by_key, "the message indexed by key", |f| f["total"] == 1)
        .await;
    let row = &found["rows"][0];
    assert_eq!(row["properties"]["KEYS"], "order-42", "{found}");
    assert_eq!(row["messageBody"], "order body");
    assert_eq!(
        row["trackList"][0],
        json!({"consumerGroup": "reader", "trackType": "NOT_ONLINE", "status": "TO_CONSUME"})
    );

    let by_id = format!(
        "/api/manager/messages/{}?topicName=Backlog&groupName=reader",
        sent.msg_id
    );
    let message = e.ok("GET", &by_id, None).await;
    assert_eq!(message["data"]["msgId"], sent.msg_id);
    assert_eq!(message["data"]["status"], "TO_CONSUME");
    let broker_id = format!("/api/manager/messages/{}", sent.offset_msg_id);
    assert_eq!(
        e.ok("GET", &broker_id, None).await["data"]["queueOffset"],
        5
    );
    let needs_topic = e
        .refused(
            400,
            "GET",
            &format!("/api/manager/messages/{}", sent.msg_id),
            None,
        )
        .await;
    assert!(needs_topic.contains("topic"), "{needs_topic}");

    let later = chrono_free_now() + 60_000;
    let past = json!({"consumerGroupList": ["reader"], "topicName": "Backlog", "resetTime": later});
    e.ok("POST", "/api/manager/topics/consumeOffset", Some(past))
        .await;
    // The document's example path, with the doubled `messages`.
    let at = "/api/manager/messages/messages/offset?topicName=Backlog&brokerName=broker-a&queueId=0&queueOffset=5&groupName=reader";
    let message = e.ok("GET", at, None).await;
    assert_eq!(message["data"]["status"], "CONSUMED", "{message}");
    assert_eq!(message["data"]["properties"]["TAGS"], "TagA");
    let missing = e
        .refused(
            400,
            "GET",
            "/api/manager/messages/offset?topicName=Backlog&brokerName=broker-a",
            None,
        )
        .await;
    assert!(missing.contains("queueId"), "{missing}");
    e.refused(404, "GET", "/api/manager/messages/offset?topicName=Backlog&brokerName=broker-a&queueId=0&queueOffset=99", None).await;
}
