//! The HTTP messaging endpoint with plain HTTP calls: publish, consume with a wait time (each
//! message with a receipt handle), ack up to 16 handles, an expired handle refused, a changed
//! visibility timeout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Env, env, topic_body};
use serde_json::{Value, json};

const PATH: &str = "/api/messaging/topics/HttpOrders/messages";

async fn setup() -> Env {
    let e = env().await;
    e.ok(
        "POST",
        "/api/manager/topics",
        Some(topic_body("HttpOrders", 2)),
    )
    .await;
    e.cluster.broker.register_now().await;
    e
}

async fn publish(e: &Env, body: &str) -> String {
    let r = e
        .ok(
            "POST",
            PATH,
            Some(json!({"messageBody": body, "messageTag": "paid"})),
        )
        .await;
    r["messageId"].as_str().unwrap().to_owned()
}

/// Consumes (visibility `visibility` s) until `done` holds for all received so far.
async fn consume_until(e: &Env, visibility: u64, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let path = format!(
        "{PATH}?consumer=GID_HTTP&numOfMessages=16&waitseconds=2&visibilityTimeout={visibility}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut got: Vec<Value> = Vec::new();
    while !done(&got) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "consumed only {got:?}"
        );
        let r = e.ok("GET", &path, None).await;
        got.extend(r["messages"].as_array().unwrap().iter().cloned());
    }
    got
}

fn bodies(got: &[Value]) -> Vec<String> {
    got.iter()
        .map(|m| m["messageBody"].as_str().unwrap().to_owned())
        .collect()
}

fn has(b: &'static str) -> impl Fn(&[Value]) -> bool {
    move |got| bodies(got).iter().any(|x| x == b)
}

async fn ack(e: &Env, handles: &[&str]) -> Value {
    let path = format!("{PATH}?consumer=GID_HTTP");
    e.ok("DELETE", &path, Some(json!({ "receiptHandles": handles })))
        .await
}

#[tokio::test]
async fn published_messages_are_consumed_with_handles_and_acked() {
    let e = setup().await;
    let mut ids = BTreeMap::new();
    for body in ["a", "b", "c"] {
        ids.insert(body.to_owned(), publish(&e, body).await);
    }
    let got = consume_until(&e, 60, |got| bodies(got).len() >= 3).await;
    assert_eq!(bodies(&got).len(), 3, "each once: {got:?}");
    for m in &got {
        let body = m["messageBody"].as_str().unwrap();
        assert_eq!(m["messageId"], ids[body], "{m}");
        assert_eq!(m["messageTag"], "paid");
        assert_eq!(m["consumedTimes"], 1);
        assert!(m["nextConsumeTime"].as_i64().unwrap() > m["publishTime"].as_i64().unwrap());
    }
    let handles: Vec<&str> = got
        .iter()
        .map(|m| m["receiptHandle"].as_str().unwrap())
        .collect();
    let r = ack(&e, &handles).await;
    assert_eq!(r["acked"].as_array().unwrap().len(), 3, "{r}");
    assert!(r["failures"].as_array().unwrap().is_empty(), "{r}");
    publish(&e, "sentinel").await;
    let after = consume_until(&e, 60, has("sentinel")).await;
    assert_eq!(bodies(&after), ["sentinel"], "acked messages stay acked");
    let too_many = vec!["h"; 17];
    let path = format!("{PATH}?consumer=GID_HTTP");
    let message = e
        .refused(
            400,
            "DELETE",
            &path,
            Some(json!({ "receiptHandles": too_many })),
        )
        .await;
    assert!(
        message.contains("Number of receiptHandles is out of range"),
        "{message}"
    );
}

#[tokio::test]
async fn an_unacked_message_comes_back_and_its_expired_handle_is_refused() {
    let e = setup().await;
    publish(&e, "late").await;
    let first = consume_until(&e, 1, has("late")).await;
    let old = first[0]["receiptHandle"].as_str().unwrap().to_owned();
    let again = consume_until(&e, 60, has("late")).await;
    assert_eq!(again[0]["consumedTimes"], 2);
    assert!(
        again[0]["nextConsumeTime"].as_i64().unwrap()
            > first[0]["nextConsumeTime"].as_i64().unwrap()
    );
    let r = ack(&e, &[&old]).await;
    assert_eq!(r["failures"][0]["errorCode"], "MessageNotExist", "{r}");
    assert_eq!(
        r["failures"][0]["errorMessage"],
        "The receipt handle you provided has expired."
    );
    let new = again[0]["receiptHandle"].as_str().unwrap();
    let r = ack(&e, &[new]).await;
    assert_eq!(r["acked"].as_array().unwrap().len(), 1, "{r}");
}

#[tokio::test]
async fn a_changed_visibility_timeout_brings_a_message_back_sooner() {
    let e = setup().await;
    publish(&e, "soon").await;
    let got = consume_until(&e, 3600, has("soon")).await;
    let handle = got[0]["receiptHandle"].as_str().unwrap();
    let path = format!(
        "{PATH}?consumer=GID_HTTP&receiptHandle={}&visibilityTimeout=1",
        encode(handle)
    );
    let r = e.ok("PUT", &path, None).await;
    let renewed = r["receiptHandle"].as_str().unwrap();
    assert_ne!(renewed, handle);
    let back = consume_until(&e, 60, has("soon")).await;
    assert!(back[0]["nextConsumeTime"].as_i64().unwrap() >= r["nextVisibleTime"].as_i64().unwrap());
    let r = ack(&e, &[back[0]["receiptHandle"].as_str().unwrap()]).await;
    assert_eq!(r["acked"].as_array().unwrap().len(), 1, "{r}");
}

/// Percent-encodes a handle for a query string (it holds spaces).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
