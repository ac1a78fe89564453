//! The management API over real HTTP against an in-process NameServer and broker: the seed's
//! paths, methods, parameters and envelope; refusals for missing or wrong credentials, bad
//! parameters and bodies; changes visible through the cluster afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use apogee_console::{Console, ConsoleConfig, RawConsoleConfig};
use apogee_runtime::Shutdown;
use apogee_testkit::http::{HttpReply, request};
use serde_json::{Value, json};

const AUTH: &str = "tenantId=1&accessKey=admin&secretKey=s3cret&clusterName=DefaultCluster";

struct Env {
    cluster: apogee_testkit::InProcess,
    addr: SocketAddr,
    console: Console,
    _shutdown: Shutdown,
}

async fn env() -> Env {
    env_limited(0, 0).await
}

/// With `per_second` requests per second per key (0: unlimited).
async fn env_limited(per_second: u32, burst: u32) -> Env {
    let cluster = apogee_testkit::start(|_| {}).await;
    cluster.broker.register_now().await;
    let raw = RawConsoleConfig {
        listen_port: 0,
        namesrv_addr: cluster.namesrv_addr.clone(),
        data_dir: cluster.dir.path().join("console"),
        admin_secret_key: "s3cret".into(),
        rate_limit_per_second: per_second,
        rate_limit_burst: burst,
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
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> HttpReply {
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
    async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let reply = self.call(method, path, body).await;
        let json = reply.json();
        assert_eq!(reply.status, 200, "{method} {path}: {json}");
        assert_eq!(json["code"], 200, "{json}");
        assert_eq!(json["message"], "success", "{json}");
        json["result"].clone()
    }

    /// Expects `status` with the same code in the envelope; returns the message.
    async fn refused(&self, status: u16, method: &str, path: &str, body: Option<Value>) -> String {
        let reply = self.call(method, path, body).await;
        let json = reply.json();
        assert_eq!(reply.status, status, "{method} {path}: {json}");
        assert_eq!(json["code"], status, "{json}");
        json["message"].as_str().unwrap().to_owned()
    }
}

fn topic_body(name: &str, queues: i32) -> Value {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_no_or_wrong_credentials_every_endpoint_refuses() {
    let e = env().await;
    let bare = request(
        e.addr,
        "GET",
        "/api/manager/cluster/base?clusterName=DefaultCluster",
        None,
    )
    .await;
    assert_eq!(bare.status, 401);
    assert!(
        bare.json()["message"]
            .as_str()
            .unwrap()
            .contains("accessKey")
    );
    let wrong = request(
        e.addr,
        "GET",
        "/api/manager/topics/DefaultCluster/basedatas?accessKey=admin&secretKey=nope",
        None,
    )
    .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let unknown = request(
        e.addr,
        "POST",
        "/api/manager/topics?accessKey=nobody&secretKey=x",
        Some(&topic_body("T", 4).to_string()),
    )
    .await;
    assert_eq!(unknown.status, 401, "{}", unknown.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_topic_it_is_created_shown_and_listed() {
    let e = env().await;
    let done = e
        .ok("POST", "/api/manager/topics", Some(topic_body("Orders", 4)))
        .await;
    assert_eq!(done, json!({}));
    let again = e
        .refused(
            400,
            "POST",
            "/api/manager/topics",
            Some(topic_body("Orders", 4)),
        )
        .await;
    assert!(again.contains("already exists"), "{again}");

    let detail = e
        .ok(
            "GET",
            "/api/manager/topics/DefaultCluster/basedata/Orders",
            None,
        )
        .await;
    let d = &detail["data"];
    assert_eq!(d["topicName"], "Orders");
    assert_eq!(d["readQueueNums"], 4);
    assert_eq!(d["perm"], 6);
    assert_eq!(d["topicFilterType"], "SINGLE_TAG");
    assert_eq!(d["remark"], "orders of the shop");
    assert_eq!(d["brokerName"], "broker-a");

    for name in ["Payments", "Refunds"] {
        e.ok("POST", "/api/manager/topics", Some(topic_body(name, 2)))
            .await;
    }
    let page = e
        .ok(
            "GET",
            "/api/manager/topics/DefaultCluster/basedatas?pageSize=2&pageNumber=2",
            None,
        )
        .await;
    assert_eq!(page["total"], 3, "system topics are not listed: {page}");
    assert_eq!(page["rows"].as_array().unwrap().len(), 1);
    assert_eq!(page["rows"][0]["topicName"], "Refunds");
    let bad_page = e
        .refused(
            400,
            "GET",
            "/api/manager/topics/DefaultCluster/basedatas?pageSize=0",
            None,
        )
        .await;
    assert!(bad_page.contains("pageSize"), "{bad_page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_topic_it_is_modified_and_deleted_and_bad_changes_are_refused() {
    let e = env().await;
    e.ok("POST", "/api/manager/topics", Some(topic_body("Orders", 4)))
        .await;
    e.ok(
        "POST",
        "/api/manager/topics/DefaultCluster/Orders",
        Some(topic_body("Orders", 8)),
    )
    .await;
    let route = e.cluster.broker.advertised_addr().to_string();
    let admin = apogee_client::Admin::start(client(&e)).await.unwrap();
    let configs = admin.topic_configs(&route).await.unwrap();
    assert_eq!(
        configs.topic_config_table["Orders"].write_queue_nums, 8,
        "the broker has the change"
    );

    let bad_perm = e
        .refused(
            400,
            "POST",
            "/api/manager/topics/DefaultCluster/Orders",
            Some(json!({"perm": 5})),
        )
        .await;
    assert!(bad_perm.contains("perm 5"), "{bad_perm}");
    let bad_body = e.call("POST", "/api/manager/topics", None).await;
    assert_eq!(bad_body.status, 400, "{}", bad_body.body);

    e.ok("DELETE", "/api/manager/topics/DefaultCluster/Orders", None)
        .await;
    let gone = e
        .refused(
            404,
            "GET",
            "/api/manager/topics/DefaultCluster/basedata/Orders",
            None,
        )
        .await;
    assert!(gone.contains("does not exist"), "{gone}");
    let no_cluster = e
        .refused(404, "GET", "/api/manager/topics/Nowhere/basedatas", None)
        .await;
    assert!(no_cluster.contains("cluster Nowhere"), "{no_cluster}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_group_it_is_created_and_shown() {
    let e = env().await;
    let body = json!({
        "subscriptionGroupConfig": {
            "consumeEnable": true,
            "firstConsumeMechanism": "1",
            "groupName": "billing",
            "pullMechanism": "1",
            "subscribeMap": {},
            "retryMaxTimes": 5,
        },
        "brokerNameList": [],
        "clusterNameList": ["DefaultCluster"],
        "remark": "billing service",
    });
    e.ok(
        "POST",
        "/api/manager/subscriptions/DefaultCluster",
        Some(body.clone()),
    )
    .await;
    let dup = e
        .refused(
            400,
            "POST",
            "/api/manager/subscriptions/DefaultCluster",
            Some(body),
        )
        .await;
    assert!(dup.contains("already exists"), "{dup}");
    let detail = e
        .ok(
            "GET",
            "/api/manager/subscriptions/DefaultCluster/billing/detail",
            None,
        )
        .await;
    let config = &detail["data"]["subscriptionGroupConfig"];
    assert_eq!(config["retryMaxTimes"], 5);
    assert_eq!(config["pullMechanism"], 1);
    assert_eq!(config["consumeEnable"], true);
    assert_eq!(detail["data"]["remark"], "billing service");
    assert_eq!(detail["data"]["brokerNameList"], json!(["broker-a"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_group_its_consumption_is_closed_and_reopened_then_it_is_deleted() {
    let e = env().await;
    let body = json!({
        "subscriptionGroupConfig": {"groupName": "billing", "consumeEnable": true},
        "clusterNameList": ["DefaultCluster"],
    });
    e.ok(
        "POST",
        "/api/manager/subscriptions/DefaultCluster",
        Some(body),
    )
    .await;
    let path = "/api/manager/subscriptions/DefaultCluster/billing/openStatus";
    e.ok(
        "POST",
        &format!("{path}?isOpen=1&brokerNames=%5B%22broker-a%22%5D"),
        None,
    )
    .await;
    let closed = e
        .ok(
            "GET",
            "/api/manager/subscriptions/DefaultCluster/billing/detail",
            None,
        )
        .await;
    assert_eq!(
        closed["data"]["subscriptionGroupConfig"]["consumeEnable"],
        false
    );
    e.ok(
        "POST",
        &format!("{path}?isOpen=0&brokerNames=broker-a"),
        None,
    )
    .await;
    let bad = e
        .refused(400, "POST", &format!("{path}?isOpen=yes"), None)
        .await;
    assert!(bad.contains("isOpen"), "{bad}");

    let list = e
        .ok(
            "GET",
            "/api/manager/subscriptions/DefaultCluster/basedatas",
            None,
        )
        .await;
    let names: Vec<&str> = list["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["groupName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["billing"],
        "the brokers' own groups are not listed: {list}"
    );
    assert_eq!(list["rows"][0]["consumeEnable"], true);

    e.ok(
        "DELETE",
        "/api/manager/subscriptions/DefaultCluster/billing",
        None,
    )
    .await;
    e.refused(
        404,
        "GET",
        "/api/manager/subscriptions/DefaultCluster/billing/detail",
        None,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_cluster_the_instance_views_show_its_brokers_and_figures() {
    let e = env().await;
    e.ok(
        "POST",
        "/api/manager/topics",
        Some(topic_body("Counted", 1)),
    )
    .await;
    let producer = apogee_client::Producer::start(
        client(&e),
        apogee_client::ProducerConfig::new("console-test"),
    )
    .await
    .unwrap();
    for i in 0..3 {
        producer
            .send(apogee_client::Message::new("Counted", format!("m{i}")))
            .await
            .unwrap();
    }
    // The queues take the messages a moment after they are acknowledged.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let base = loop {
        let base = e.ok("GET", "/api/manager/cluster/base", None).await;
        if base["data"][0]["msgNowNums"] == 3 || std::time::Instant::now() > deadline {
            break base;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let row = &base["data"][0];
    assert_eq!(row["mainBrokerNums"], 1);
    assert_eq!(row["slaveBrokerNums"], 0);
    assert_eq!(row["clusterName"], "DefaultCluster");
    assert_eq!(row["msgNowNums"], 3, "{base}");
    assert!(row["produceGroupNums"].as_u64().unwrap() >= 1, "{base}");

    let detail = e.ok("GET", "/api/manager/cluster/detail", None).await;
    let broker = &detail["data"]["brokerInfoMap"]["DefaultCluster"]["brokerMap"]["broker-a"]["0"];
    assert_eq!(broker["brokerAddress"], e.cluster.broker_addr, "{detail}");
    assert!(broker["putTps"].is_string(), "{detail}");
    assert_eq!(detail["data"]["brokerList"], json!(["broker-a"]));
}

/// A cluster with topic Backlog (one queue) holding five messages, group `reader`, and the
/// producer group `backlog-producer` online.
async fn backlog() -> (Env, apogee_client::Producer) {
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

fn chrono_free_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A client of this test's cluster only (client instances are shared by name in a process).
fn client(e: &Env) -> apogee_client::ClientConfig {
    let ns = &e.cluster.namesrv_addr;
    apogee_client::ClientConfig::new(ns)
        .instance_name(format!("test-{}", ns.replace([':', '.'], "_")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_broker_users_a_normal_user_reads_and_a_super_user_changes() {
    let e = env().await;
    let admin = apogee_client::Admin::start(client(&e)).await.unwrap();
    let broker = e.cluster.broker_addr.clone();
    for (name, kind) in [("reader", "Normal"), ("root", "Super")] {
        let user = apogee_client::UserInfo {
            username: Some(name.into()),
            password: Some(format!("{name}-secret")),
            user_type: Some(kind.into()),
            user_status: None,
        };
        admin.create_user(&broker, &user).await.unwrap();
    }
    let as_user = |who: &str, method: &str, path: &str| {
        let sep = if path.contains('?') { '&' } else { '?' };
        let path =
            format!("{path}{sep}clusterName=DefaultCluster&accessKey={who}&secretKey={who}-secret");
        let method = method.to_owned();
        let addr = e.addr;
        async move {
            let body = topic_body("ByUser", 2).to_string();
            request(addr, &method, &path, Some(&body)).await
        }
    };
    let read = as_user(
        "reader",
        "GET",
        "/api/manager/topics/DefaultCluster/basedatas",
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.body);
    let write = as_user("reader", "POST", "/api/manager/topics").await;
    assert_eq!(write.status, 403, "{}", write.body);
    assert!(
        write.json()["message"]
            .as_str()
            .unwrap()
            .contains("may only read")
    );
    let root = as_user("root", "POST", "/api/manager/topics").await;
    assert_eq!(root.status, 200, "{}", root.body);

    let own = as_user("reader", "GET", "/api/access/account").await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(
        own.json()["result"]["data"]["accountPasswd"],
        "reader-secret"
    );
    let other = e
        .ok("GET", "/api/access/account?account=reader", None)
        .await;
    assert_eq!(other["data"]["accountCode"], "reader");
    let peek = as_user("reader", "GET", "/api/access/account?account=root").await;
    assert_eq!(peek.status, 403, "{}", peek.body);

    let nowhere = e.call("GET", "/api/manager/nothing/here", None).await;
    assert_eq!(nowhere.status, 404);
    assert_eq!(nowhere.json()["code"], 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_key_calling_too_often_it_is_told_about_flow_control() {
    let e = env_limited(1, 2).await;
    for _ in 0..2 {
        e.ok("GET", "/api/manager/topics/DefaultCluster/basedatas", None)
            .await;
    }
    let denied = e
        .refused(
            429,
            "GET",
            "/api/manager/topics/DefaultCluster/basedatas",
            None,
        )
        .await;
    assert_eq!(denied, "Request was denied due to user flow control.");
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
    let mut found = Value::Null;
    for _ in 0..100 {
        found = e.ok("GET", by_key, None).await;
        if found["total"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let row = &found["rows"][0];
    assert_eq!(row["properties"]["KEYS"], "order-42", "{found}");
    assert_eq!(row["messageBody"], "order body");
    assert_eq!(
        row["trackList"][0],
        json!({"consumerGroup": "reader", "trackType": "NOT_ONLINE"})
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_history_samples_the_24_hour_series_show_the_last_day_and_survive_a_restart() {
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
