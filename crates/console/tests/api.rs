//! The management API over real HTTP against an in-process NameServer and broker: the seed's
//! paths, methods, parameters and envelope; refusals for missing or wrong credentials, bad
//! parameters and bodies; changes visible through the cluster afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_testkit::http::request;
use common::*;
use serde_json::json;

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

    let change = json!({"subscriptionGroupConfig": {"retryMaxTimes": 9}, "remark": "billing v2"});
    let path = "/api/manager/subscriptions/DefaultCluster/billing";
    e.ok("POST", path, Some(change.clone())).await;
    let changed = e
        .ok(
            "GET",
            "/api/manager/subscriptions/DefaultCluster/billing/detail",
            None,
        )
        .await;
    assert_eq!(
        changed["data"]["subscriptionGroupConfig"]["retryMaxTimes"],
        9
    );
    assert_eq!(
        changed["data"]["subscriptionGroupConfig"]["consumeEnable"], true,
        "kept"
    );
    assert_eq!(changed["data"]["remark"], "billing v2");
    let missing = "/api/manager/subscriptions/DefaultCluster/nobody";
    e.refused(404, "POST", missing, Some(change)).await;
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
    let base = e
        .ok_when("/api/manager/cluster/base", "three stored messages", |b| {
            b["data"][0]["msgNowNums"] == 3
        })
        .await;
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
