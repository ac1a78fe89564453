//! Shared by the management API's tests: an in-process NameServer and broker with a console
//! in front, and calls over real HTTP with the seed's credentials.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use apogee_console::{Console, ConsoleConfig, RawConsoleConfig};
use apogee_runtime::Shutdown;
use apogee_testkit::http::{HttpReply, request};
use serde_json::{Value, json};

pub const AUTH: &str = "tenantId=1&accessKey=admin&secretKey=s3cret&clusterName=DefaultCluster";

pub struct Env {
    pub cluster: apogee_testkit::InProcess,
    pub addr: SocketAddr,
    pub console: Console,
    _shutdown: Shutdown,
}

pub async fn env() -> Env {
    env_limited(0, 0).await
}

/// With `per_second` requests per second per key (0: unlimited).
pub async fn env_limited(per_second: u32, burst: u32) -> Env {
    let cluster = apogee_testkit::start(|_| {}).await;
    cluster.broker.register_now().await;
    let raw = RawConsoleConfig {
        listen_port: 0,
        namesrv_addr: cluster.namesrv_addr.clone(),
        data_dir: cluster.dir.path().join("console"),
        admin_secret_key: "s3cret".into(),
        rate_limit_per_second: per_second,
        rate_limit_burst: burst,
        stored_count_cache_secs: 0,
        ..RawConsoleConfig::default()
    };
    let shutdown = Shutdown::new();
    let console = Console::start(ConsoleConfig::try_from(raw).unwrap(), &shutdown)
        .await
        .unwrap();
    Env {
        addr: console.local_addr(),
        cluster,
        console,
        _shutdown: shutdown,
    }
}

impl Env {
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> HttpReply {
        let sep = if path.contains('?') { '&' } else { '?' };
        let body = body.map(|b| b.to_string());
        request(
            self.addr,
            method,
            &format!("{path}{sep}{AUTH}"),
            body.as_deref(),
        )
        .await
    }

    /// Expects 200 and the envelope; returns `result`.
    pub async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let reply = self.call(method, path, body).await;
        let json = reply.json();
        assert_eq!(reply.status, 200, "{method} {path}: {json}");
        assert_eq!(json["code"], 200, "{json}");
        assert_eq!(json["message"], "success", "{json}");
        json["result"].clone()
    }

    /// GETs `path` (expecting 200) until `done` holds for its `result`, at most 10 s; returns
    /// that result. For what the broker takes a moment to show after acknowledging it.
    pub async fn ok_when(&self, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let result = self.ok("GET", path, None).await;
            if done(&result) {
                return result;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out after 10 s waiting for {what}: {result}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Expects `status` with the same code in the envelope; returns the message.
    pub async fn refused(
        &self,
        status: u16,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> String {
        let reply = self.call(method, path, body).await;
        let json = reply.json();
        assert_eq!(reply.status, status, "{method} {path}: {json}");
        assert_eq!(json["code"], status, "{json}");
        json["message"].as_str().unwrap().to_owned()
    }
}

pub fn topic_body(name: &str, queues: i32) -> Value {
    json!({
        "clusterNameList": ["DefaultCluster"],
        "brokerNameList": [],
        "writeQueueNums": queues,
        "readQueueNums": queues,
        "remark": "orders of the shop",
        "order": false,
        "perm": 6,
        "allowdConsumerGroups": [],
        "topicName": name,
    })
}

/// A cluster with topic Backlog (one queue) holding five messages, group `reader`, and the
/// producer group `backlog-producer` online.
pub async fn backlog() -> (Env, apogee_client::Producer) {
    let e = env().await;
    e.ok(
        "POST",
        "/api/manager/topics",
        Some(topic_body("Backlog", 1)),
    )
    .await;
    let group = json!({"subscriptionGroupConfig": {"groupName": "reader"}, "clusterNameList": ["DefaultCluster"]});
    e.ok(
        "POST",
        "/api/manager/subscriptions/DefaultCluster",
        Some(group),
    )
    .await;
    let producer = apogee_client::Producer::start(
        client(&e),
        apogee_client::ProducerConfig::new("backlog-producer"),
    )
    .await
    .unwrap();
    for i in 0..5 {
        producer
            .send(apogee_client::Message::new("Backlog", format!("m{i}")))
            .await
            .unwrap();
    }
    let admin = apogee_client::Admin::start(client(&e)).await.unwrap();
    apogee_testkit::wait_until(
        "the five messages are in the queue",
        std::time::Duration::from_secs(10),
        || async {
            let stats = admin.topic_stats("Backlog").await.unwrap();
            stats
                .offset_table
                .values()
                .map(|o| o.max_offset)
                .sum::<i64>()
                == 5
        },
    )
    .await;
    // The group starts at the beginning: five messages behind.
    let start = json!({"consumerGroupList": ["reader"], "topicName": "Backlog", "resetTime": 0});
    e.ok("POST", "/api/manager/topics/consumeOffset", Some(start))
        .await;
    (e, producer)
}

pub fn chrono_free_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A client of this test's cluster only (client instances are shared by name in a process).
pub fn client(e: &Env) -> apogee_client::ClientConfig {
    let ns = &e.cluster.namesrv_addr;
    apogee_client::ClientConfig::new(ns)
        .instance_name(format!("test-{}", ns.replace([':', '.'], "_")))
}

/// Creates group `billing` and puts three dead letters of topic `Orders` into `%DLQ%billing`.
pub async fn dead_letters(
    e: &Env,
    producer: &apogee_client::Producer,
    admin: &apogee_client::Admin,
) {
    let group = json!({"subscriptionGroupConfig": {"groupName": "billing"}, "clusterNameList": ["DefaultCluster"]});
    e.ok(
        "POST",
        "/api/manager/subscriptions/DefaultCluster",
        Some(group),
    )
    .await;
    let mut dlq = apogee_client::TopicSpec::new("%DLQ%billing");
    (dlq.read_queue_nums, dlq.write_queue_nums) = (1, 1);
    admin
        .create_topic(&e.cluster.broker_addr, &dlq)
        .await
        .unwrap();
    e.cluster.broker.register_now().await;
    for i in 0..3 {
        let m = apogee_client::Message::new("%DLQ%billing", format!("dead {i}"))
            .with_keys([format!("order-{i}")])
            .with_property(apogee_client::property::RETRY_TOPIC, "Orders");
        producer.send(m).await.unwrap();
    }
    apogee_testkit::wait_until(
        "the three dead letters in their queue",
        std::time::Duration::from_secs(10),
        || async {
            admin
                .topic_stats("%DLQ%billing")
                .await
                .is_ok_and(|s| s.offset_table.values().map(|o| o.max_offset).sum::<i64>() == 3)
        },
    )
    .await;
}
