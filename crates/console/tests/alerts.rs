//! Alerts end to end: a rule on a group's backlog fires to a local webhook receiver when the
//! group falls behind and resolves when it catches up; rules and events over the API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Reads one HTTP request from `socket`, answers 200 and returns its JSON body.
async fn one_request(mut socket: tokio::net::TcpStream) -> Option<Value> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).to_string();
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let length: usize = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        if body.len() < length {
            continue;
        }
        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        socket.write_all(answer).await.ok()?;
        return serde_json::from_str(&body[..length]).ok();
    }
}

/// A webhook receiver on loopback: every POST body arrives on the channel, answered 200.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Value>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                if let Some(body) = one_request(socket).await {
                    let _ = tx.send(body);
                }
            });
        }
    });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(15), rx.recv())
        .await
        .expect("the webhook is called within 15 s")
        .unwrap()
}

/// The events, once every one of them is marked delivered.
async fn delivered_events(e: &Env) -> Value {
    e.ok_when(
        "/api/alerts/events?limit=10",
        "every event delivered",
        |events| {
            let all = events["data"].as_array().unwrap();
            all.iter().all(|ev| ev["delivered"] == true)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_backlog_rule_it_fires_when_the_group_falls_behind_and_resolves_when_it_catches_up()
{
    let (e, _producer) = backlog().await;
    let (url, mut hooks) = receiver().await;
    let rule = json!({
        "name": "reader behind", "kind": "backlog", "clusterName": "DefaultCluster",
        "topicName": "Backlog", "groupName": "reader", "threshold": 3, "webhook": url,
    });
    let id = e.ok("POST", "/api/alerts/rules", Some(rule.clone())).await["data"]["id"].clone();
    let mut bad = rule.clone();
    bad["topicName"] = Value::Null;
    let why = e.refused(400, "POST", "/api/alerts/rules", Some(bad)).await;
    assert!(why.contains("topicName"), "{why}");

    let now = chrono_free_now();
    e.console.sample_at(now).await.unwrap();
    let fired = next(&mut hooks).await;
    assert_eq!(fired["state"], "firing", "{fired}");
    assert_eq!(fired["value"], 5.0);
    assert_eq!(fired["ruleName"], "reader behind");
    let rules = e.ok("GET", "/api/alerts/rules", None).await;
    assert_eq!(rules["data"][0]["firing"], true, "{rules}");

    // Still behind: no second event. Then the group catches up.
    e.console.sample_at(now + 60_000).await.unwrap();
    let caught_up = json!({"consumerGroupList": ["reader"], "topicName": "Backlog",
        "resetTime": now + 3_600_000});
    e.ok("POST", "/api/manager/topics/consumeOffset", Some(caught_up))
        .await;
    e.console.sample_at(now + 120_000).await.unwrap();
    let resolved = next(&mut hooks).await;
    assert_eq!(resolved["state"], "resolved", "{resolved}");
    assert_eq!(resolved["value"], 0.0);

    let events = delivered_events(&e).await;
    let all = events["data"].as_array().unwrap();
    let states: Vec<&str> = all.iter().map(|ev| ev["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["resolved", "firing"], "{events}");
    assert!(all.iter().all(|ev| ev["delivered"] == true), "{events}");

    // A change starts the rule over; a higher threshold keeps it quiet.
    let mut changed = rule.clone();
    changed["threshold"] = json!(100);
    changed["enabled"] = json!(false);
    e.ok(
        "PUT",
        &format!("/api/alerts/rules/{id}"),
        Some(changed.clone()),
    )
    .await;
    let rules = e.ok("GET", "/api/alerts/rules", None).await;
    assert_eq!(rules["data"][0]["threshold"], 100.0, "{rules}");
    assert_eq!(rules["data"][0]["enabled"], false, "{rules}");
    e.refused(404, "PUT", "/api/alerts/rules/999", Some(changed))
        .await;

    e.ok("DELETE", &format!("/api/alerts/rules/{id}"), None)
        .await;
    e.refused(404, "DELETE", &format!("/api/alerts/rules/{id}"), None)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_offline_dead_letter_and_disk_rules_each_is_judged_on_its_own_figure() {
    let (e, _producer) = backlog().await;
    let (url, mut hooks) = receiver().await;
    let rule = |name: &str, kind: &str, threshold: f64| {
        json!({"name": name, "kind": kind, "clusterName": "DefaultCluster", "groupName": "reader",
            "threshold": threshold, "webhook": url})
    };
    for r in [
        rule("reader offline", "group_offline", 0.0),
        rule("reader dead letters", "dlq_growing", 0.0),
        rule("disk full", "disk", 100.0),
    ] {
        e.ok("POST", "/api/alerts/rules", Some(r)).await;
    }
    e.console.sample_at(chrono_free_now()).await.unwrap();
    let fired = next(&mut hooks).await;
    assert_eq!(
        fired["ruleName"], "reader offline",
        "nobody consumes as reader: {fired}"
    );
    assert_eq!(fired["value"], 1.0);
    // No dead letters arrived and no disk is over 100 %: the sample recorded one event only
    // (events are written before sample_at returns; only the webhook calls are in the background).
    let events = e.ok("GET", "/api/alerts/events", None).await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1, "{events}");
    let rules = e.ok("GET", "/api/alerts/rules", None).await;
    let firing: Vec<&str> = rules["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["firing"] == true)
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(firing, ["reader offline"], "{rules}");
}
