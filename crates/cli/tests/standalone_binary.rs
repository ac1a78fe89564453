//! `apogee standalone` and `apogee broker` as a user runs them: start, print the addresses,
//! store and deliver a message over TCP, stop cleanly on SIGTERM; a Java broker.conf works.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};

use common::{BIN, Standalone, WAIT, listening_addrs, stop};

use apogee_protocol::header::message::{
    PullMessageRequestHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2, pull_sys_flag,
};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{Dispatcher, RemotingClient, TransportConfig};

#[tokio::test]
async fn given_standalone_when_started_should_route_store_and_deliver_then_stop_on_sigterm() {
    // Started and waited for (the broker's route is served) by the shared harness.
    let mut standalone = Standalone::start(&[]).await;
    let broker = standalone.broker.clone();
    let client = RemotingClient::new(Dispatcher::new(), TransportConfig::default());
    let header = SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: "Hello".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 0,
        sys_flag: 0,
        born_timestamp: 1,
        flag: 0,
        properties: None,
        reconsume_times: None,
        unit_mode: None,
        max_reconsume_times: None,
        batch: None,
        broker_name: None,
    };
    let send = RemotingCommand::request(
        RequestCode::SEND_MESSAGE_V2,
        &SendMessageRequestHeaderV2::from(header),
    )
    .with_body(&b"hello apogee"[..]);
    assert_eq!(
        client
            .invoke(&broker, send, WAIT)
            .await
            .unwrap()
            .response_code(),
        ResponseCode::SUCCESS
    );
    let pull = RemotingCommand::request(
        RequestCode::PULL_MESSAGE,
        &PullMessageRequestHeader {
            consumer_group: "cg".into(),
            topic: "Hello".into(),
            queue_id: 0,
            queue_offset: 0,
            max_msg_nums: 32,
            sys_flag: pull_sys_flag::SUBSCRIPTION | pull_sys_flag::SUSPEND,
            commit_offset: 0,
            suspend_timeout_millis: 5_000,
            subscription: Some("*".into()),
            sub_version: 0,
            expression_type: None,
            max_msg_bytes: None,
            request_source: None,
            proxy_forward_client_id: None,
            broker_name: None,
        },
    );
    let r = client.invoke(&broker, pull, WAIT).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    assert!(r.body.windows(12).any(|w| w == b"hello apogee"));
    standalone.stop().await;
    let dir = standalone.dir.path();
    assert!(dir.join("store/config/topics.json").exists());
    assert!(dir.join("store/commitlog").is_dir());
}

#[tokio::test]
async fn given_java_broker_conf_when_broker_started_should_use_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "# a Java broker.conf\nbrokerClusterName=JavaCluster\nbrokerName=broker-java\nbrokerId=0\nlistenPort=0\n\
             namesrvAddr=\nbrokerIP1=127.0.0.1\ngrpcServerPort=0\nstorePathRootDir={}\nflushDiskType=SYNC_FLUSH\nmapedFileSizeCommitLog=1073741824\n",
            dir.path().join("store").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["broker", "-c"])
        .arg(&conf)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let addrs = listening_addrs(&mut child, 1).await;
    let stderr_log = dir.path().join("stderr.log");
    stop(child, &stderr_log).await;
    let notes = std::fs::read_to_string(&stderr_log).unwrap();
    assert!(
        notes.contains("mapedFileSizeCommitLog"),
        "unused Java keys are reported: {notes}"
    );
    assert!(addrs[0].ends_with(|c: char| c.is_ascii_digit()));
    let topics = std::fs::read_to_string(dir.path().join("store/config/topics.json")).unwrap();
    assert!(
        topics.contains("\"JavaCluster\""),
        "cluster topic named after brokerClusterName"
    );
    assert!(topics.contains("\"broker-java\""));
}

#[test]
fn given_print_default_config_should_print_the_annotated_broker_file() {
    let out = Command::new(BIN)
        .args(["broker", "--print-default-config"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("broker_cluster_name = \"DefaultCluster\""));
}

/// The management API of `apogee standalone`, as the README's curl examples call it: the
/// default administrator on loopback, the seed's envelope.
#[tokio::test]
async fn given_standalone_the_management_api_answers_with_the_default_administrator() {
    let mut standalone = Standalone::start(&[]).await;
    let addr = standalone.console.parse().unwrap();
    let base = apogee_testkit::http::request(
        addr,
        "GET",
        "/api/manager/cluster/base?tenantId=1&clusterName=DefaultCluster&accessKey=admin&secretKey=apogee",
        None,
    )
    .await;
    assert_eq!(base.status, 200, "{}", base.body);
    let json = base.json();
    assert_eq!(json["message"], "success");
    assert_eq!(json["result"]["data"][0]["mainBrokerNums"], 1, "{json}");
    let refused = apogee_testkit::http::request(
        addr,
        "GET",
        "/api/manager/cluster/base?accessKey=admin&secretKey=wrong",
        None,
    )
    .await;
    assert_eq!(refused.status, 401);
    standalone.stop().await;
}
