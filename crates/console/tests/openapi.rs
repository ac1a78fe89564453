//! The OpenAPI document: served over HTTP, valid OpenAPI 3.1 (read by the `oas3` crate), with
//! an operation for every management route, and a browsable page.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use apogee_console::{Console, ConsoleConfig, RawConsoleConfig};
use apogee_runtime::Shutdown;
use apogee_testkit::http::request;

/// Every operation the router serves under /api/manager (the document's names for path
/// parameters), with its method.
const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/api/alerts/rules"),
    ("post", "/api/alerts/rules"),
    ("put", "/api/alerts/rules/{id}"),
    ("delete", "/api/alerts/rules/{id}"),
    ("get", "/api/alerts/events"),
    ("post", "/api/messaging/topics/{topic}/messages"),
    ("get", "/api/messaging/topics/{topic}/messages"),
    ("delete", "/api/messaging/topics/{topic}/messages"),
    ("put", "/api/messaging/topics/{topic}/messages"),
    ("get", "/api/access/account"),
    ("get", "/api/manager/cluster/base"),
    ("get", "/api/manager/cluster/detail"),
    ("get", "/api/manager/{clusterName}/tps"),
    ("get", "/api/manager/topics/{clusterName}/{topicName}/tps"),
    ("post", "/api/manager/topics"),
    ("delete", "/api/manager/topics/{clusterName}/{topicName}"),
    ("post", "/api/manager/topics/{clusterName}/{topicName}"),
    (
        "get",
        "/api/manager/topics/{clusterName}/basedata/{topicName}",
    ),
    ("get", "/api/manager/topics/{clusterName}/basedatas"),
    (
        "get",
        "/api/manager/topics/{clusterName}/{topicName}/queues",
    ),
    ("get", "/api/manager/topics/{clusterName}/{topicName}/depth"),
    (
        "get",
        "/api/manager/topics/{clusterName}/{topicName}/producers",
    ),
    (
        "get",
        "/api/manager/topics/{clusterName}/{topicName}/consumers",
    ),
    ("post", "/api/manager/topics/consumeOffset"),
    ("post", "/api/manager/subscriptions/{clusterName}"),
    (
        "post",
        "/api/manager/subscriptions/{clusterName}/{groupName}",
    ),
    (
        "delete",
        "/api/manager/subscriptions/{clusterName}/{groupName}",
    ),
    (
        "get",
        "/api/manager/subscriptions/{clusterName}/{groupName}/detail",
    ),
    ("get", "/api/manager/subscriptions/{clusterName}/basedatas"),
    (
        "post",
        "/api/manager/subscriptions/{clusterName}/{groupName}/openStatus",
    ),
    (
        "get",
        "/api/manager/subscriptions/{clusterName}/{groupName}/depth",
    ),
    ("get", "/api/manager/messages/{msgId}"),
    ("get", "/api/manager/messages/offset"),
    ("get", "/api/manager/messages/key"),
    ("get", "/api/console/overview"),
    ("get", "/api/console/clusters"),
    ("get", "/api/console/groups/{groupName}/connection"),
    ("get", "/api/console/users"),
    ("post", "/api/console/users"),
    ("post", "/api/console/users/{username}"),
    ("delete", "/api/console/users/{username}"),
    ("get", "/api/console/users/{username}/acl"),
    ("post", "/api/console/users/{username}/acl"),
    ("delete", "/api/console/users/{username}/acl"),
    ("post", "/api/console/topics/{topicName}/dial"),
    ("post", "/api/console/topics/{topicName}/dial/consume"),
    ("get", "/api/console/dlq/{groupName}"),
    ("get", "/api/console/topics/{topicName}/route"),
    ("get", "/api/console/producers"),
    ("get", "/api/console/topics/{topicName}/stats"),
    ("get", "/api/console/messages/time"),
    ("get", "/api/console/messages/{msgId}/trace"),
    ("get", "/api/console/groups/{groupName}/clients/{clientId}"),
    ("get", "/api/console/brokers/{brokerName}/tps"),
    ("post", "/api/console/dlq/{groupName}/resend"),
    ("post", "/api/console/messages/resend"),
];

/// The web console's login: no keys in the query string (they are the body).
const SESSION_OPERATIONS: &[(&str, &str)] = &[
    ("get", "/api/console/session"),
    ("post", "/api/console/session"),
    ("delete", "/api/console/session"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_the_console_its_openapi_document_is_valid_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let raw = RawConsoleConfig {
        listen_port: 0,
        // Nothing listens there: the document needs no cluster.
        namesrv_addr: "127.0.0.1:1".into(),
        data_dir: dir.path().to_owned(),
        ..RawConsoleConfig::default()
    };
    let shutdown = Shutdown::new();
    let console = Console::start(ConsoleConfig::try_from(raw).unwrap(), &shutdown)
        .await
        .unwrap();
    let reply = request(console.local_addr(), "GET", "/api/openapi.json", None).await;
    assert_eq!(reply.status, 200);
    let spec = oas3::from_json(&reply.body).expect("a valid OpenAPI 3.1 document");
    assert!(spec.openapi.starts_with("3.1"), "{}", spec.openapi);
    let json = reply.json();
    for (method, path) in OPERATIONS {
        let op = &json["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not in the document");
        let params: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for needed in ["accessKey", "secretKey", "tenantId", "clusterName"] {
            assert!(
                params.contains(&needed),
                "{method} {path} lacks {needed}: {params:?}"
            );
        }
        assert!(op["responses"]["200"].is_object(), "{method} {path}");
    }
    for (method, path) in SESSION_OPERATIONS {
        assert!(json["paths"][path][method].is_object(), "{method} {path}");
    }
    let operations: usize = json["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(
        operations,
        OPERATIONS.len() + SESSION_OPERATIONS.len(),
        "no operation the router does not serve"
    );
    let page = request(console.local_addr(), "GET", "/api/docs", None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.body.contains("/api/openapi.json"));
    shutdown.trigger();
    console.wait().await;
}
