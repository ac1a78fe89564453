//! The web console's redelivery and inspection endpoints over real HTTP against an in-process
//! NameServer and broker: a group's dead letters browsed and resent (one and all) through its
//! retry topic, a message resent to a group, a topic's route, a producer group's instances, a
//! broker's TPS and consuming groups, and the session login's refusals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_client::{Admin, Message, MessageQueue, property};
use apogee_testkit::http::request;
use common::{client, env, topic_body};
use serde_json::json;

async fn retry_copies(admin: &Admin, broker: &str, want: usize) -> Vec<apogee_client::MessageExt> {
    let queue = MessageQueue {
        topic: "%RETRY%billing".into(),
        broker_name: broker.into(),
        queue_id: 0,
    };
    let mut copies = Vec::new();
    apogee_testkit::wait_until(
        "the copies in the retry topic",
        std::time::Duration::from_secs(10),
        || {
            let admin = admin.clone();
            let queue = queue.clone();
            async move {
                admin
                    .pull_from(&queue, 0, 32)
                    .await
                    .is_ok_and(|p| p.messages.len() >= want)
            }
        },
    )
    .await;
    copies.extend(admin.pull_from(&queue, 0, 32).await.unwrap().messages);
    copies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_dead_letters_they_are_browsed_and_resent_to_the_group_through_its_retry_topic() {
    let e = env().await;
    e.ok("POST", "/api/manager/topics", Some(topic_body("Orders", 1)))
        .await;
    let producer =
        apogee_client::Producer::start(client(&e), apogee_client::ProducerConfig::new("shop"))
            .await
            .unwrap();
    let admin = Admin::start(client(&e)).await.unwrap();
    common::dead_letters(&e, &producer, &admin).await;

    let page = e
        .ok("GET", "/api/console/dlq/billing?pageSize=2", None)
        .await;
    assert_eq!(page["total"], 3, "{page}");
    assert_eq!(page["rows"].as_array().unwrap().len(), 2);
    assert_eq!(
        page["rows"][0]["topic"], "Orders",
        "the original topic: {page}"
    );
    assert_eq!(page["rows"][0]["messageBody"], "dead 0");
    let second = e
        .ok(
            "GET",
            "/api/console/dlq/billing?pageSize=2&pageNumber=2",
            None,
        )
        .await;
    assert_eq!(second["rows"][0]["messageBody"], "dead 2", "{second}");

    let one = json!({"messages": [{"brokerName": page["rows"][1]["brokerName"], "queueId": 0, "queueOffset": 1}]});
    let r = e
        .ok("POST", "/api/console/dlq/billing/resend", Some(one))
        .await;
    assert_eq!(r["total"], 1);
    let broker = page["rows"][0]["brokerName"].as_str().unwrap().to_owned();
    let copies = retry_copies(&admin, &broker, 1).await;
    assert_eq!(copies[0].body.as_ref(), b"dead 1");
    assert_eq!(copies[0].property(property::RETRY_TOPIC), Some("Orders"));
    assert_eq!(copies[0].keys(), Some("order-1"));

    let r = e
        .ok(
            "POST",
            "/api/console/dlq/billing/resend",
            Some(json!({"all": true})),
        )
        .await;
    assert_eq!(r["total"], 3);
    assert_eq!(retry_copies(&admin, &broker, 4).await.len(), 4);

    resend_one_message(&e, &producer, &admin, &broker).await;
    // Refusals: no dead-letter topic, an empty choice.
    e.refused(404, "GET", "/api/console/dlq/nobody", None).await;
    e.refused(
        400,
        "POST",
        "/api/console/dlq/billing/resend",
        Some(json!({"messages": []})),
    )
    .await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_topic_its_route_producers_and_broker_figures_are_shown() {
    let e = env().await;
    e.ok("POST", "/api/manager/topics", Some(topic_body("Routed", 2)))
        .await;
    e.cluster.broker.register_now().await;
    let route = e.ok("GET", "/api/console/topics/Routed/route", None).await;
    assert_eq!(
        route["data"]["queueDatas"][0]["writeQueueNums"], 2,
        "{route}"
    );
    let producer = apogee_client::Producer::start(
        client(&e),
        apogee_client::ProducerConfig::new("routed-producer"),
    )
    .await
    .unwrap();
    producer.send(Message::new("Routed", "x")).await.unwrap();
    let p = e
        .ok(
            "GET",
            "/api/console/producers?groupName=routed-producer&topicName=Routed",
            None,
        )
        .await;
    assert_eq!(p["total"], 1, "{p}");
    assert!(
        !p["rows"][0]["language"].as_str().unwrap().is_empty(),
        "{p}"
    );
    e.console
        .sample_at(apogee_console::history::now_ms())
        .await
        .unwrap();
    let broker = route["data"]["brokerDatas"][0]["brokerName"]
        .as_str()
        .unwrap();
    let b = e
        .ok("GET", &format!("/api/console/brokers/{broker}/tps"), None)
        .await;
    assert!(!b["data"]["tps"].as_array().unwrap().is_empty(), "{b}");
    assert!(
        b["data"]["groups"].as_array().unwrap().is_empty(),
        "no system groups: {b}"
    );
    e.refused(404, "GET", "/api/console/brokers/nobody/tps", None)
        .await;
    e.refused(404, "GET", "/api/console/topics/Nowhere/route", None)
        .await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_logins_wrong_keys_are_refused_and_sessions_get_strict_cookies() {
    let e = env().await;
    let body = json!({"accessKey": "admin", "secretKey": "wrong"}).to_string();
    let r = request(e.addr, "POST", "/api/console/session", Some(&body)).await;
    assert_eq!(r.status, 401, "{}", r.body);
    let body = json!({"accessKey": "admin", "secretKey": "s3cret"}).to_string();
    let r = request(e.addr, "POST", "/api/console/session", Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = r.header("set-cookie").unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(r.json()["result"]["data"]["csrf"].as_str().unwrap().len() == 64);
    let r = request(e.addr, "GET", "/api/console/users", None).await;
    assert_eq!(r.status, 401, "no cookie, no keys");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_message_the_topic_counts_it_and_finds_it_by_time() {
    let e = env().await;
    e.ok("POST", "/api/manager/topics", Some(topic_body("Routed", 2)))
        .await;
    let producer =
        apogee_client::Producer::start(client(&e), apogee_client::ProducerConfig::new("timed"))
            .await
            .unwrap();
    let before = apogee_console::history::now_ms() - 1000;
    producer.send(Message::new("Routed", "x")).await.unwrap();
    // The queues take the message a moment after it is acknowledged.
    let stats = e
        .ok_when(
            "/api/console/topics/Routed/stats",
            "the stored message",
            |s| s["stored"] == 1,
        )
        .await;
    assert_eq!(stats["stored"], 1, "{stats}");
    assert_eq!(stats["total"], 2, "one row per queue: {stats}");
    let found = e
        .ok(
            "GET",
            &format!("/api/console/messages/time?topicName=Routed&begin={before}"),
            None,
        )
        .await;
    assert_eq!(found["total"], 1, "{found}");
    let later = before + 3_600_000;
    let none = e
        .ok(
            "GET",
            &format!(
                "/api/console/messages/time?topicName=Routed&begin={later}&end={}",
                later + 1
            ),
            None,
        )
        .await;
    assert_eq!(none["total"], 0, "{none}");
    e.refused(
        400,
        "GET",
        "/api/console/messages/time?topicName=Routed&begin=5&end=5",
        None,
    )
    .await;
    producer.shutdown().await;
}

/// Any message can go to a group again the way dead letters do.
async fn resend_one_message(
    e: &common::Env,
    producer: &apogee_client::Producer,
    admin: &Admin,
    broker: &str,
) {
    let sent = producer
        .send(Message::new("Orders", "again").with_keys(["k-again"]))
        .await
        .unwrap();
    let by_id = format!("/api/manager/messages/{}?topicName=Orders", sent.msg_id);
    apogee_testkit::wait_until(
        "the message is indexed",
        std::time::Duration::from_secs(10),
        || async { e.call("GET", &by_id, None).await.status == 200 },
    )
    .await;
    let body = json!({"topicName": "Orders", "msgId": sent.msg_id, "groupName": "billing"});
    let r = e
        .ok("POST", "/api/console/messages/resend", Some(body))
        .await;
    assert!(r["data"]["msgId"].is_string(), "{r}");
    let copies = retry_copies(admin, broker, 5).await;
    assert_eq!(copies[4].body.as_ref(), b"again");
}
