//! Broker-level administration over real sockets: GET_BROKER_RUNTIME_INFO (28),
//! GET/UPDATE_BROKER_CONFIG (26/25), CLONE_GROUP_OFFSET (314) and GET_CONSUMER_RUNNING_INFO
//! (307, relayed to the client's connection).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use apogee_model::DataVersion;
use apogee_protocol::body::route::TopicRouteData;
use apogee_protocol::body::{KvTable, from_json, properties};
use apogee_protocol::header::admin::GetBrokerConfigResponseHeader;
use apogee_protocol::header::namesrv::GetRouteInfoRequestHeader;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use common::*;

async fn runtime_info(c: &Cluster) -> BTreeMap<String, String> {
    let r = c
        .call(RemotingCommand::bare_request(
            RequestCode::GET_BROKER_RUNTIME_INFO,
        ))
        .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    from_json::<KvTable>("KVTable", &r.body).unwrap().table
}

fn first_figure(tps: &str) -> f64 {
    tps.split(' ')
        .next()
        .and_then(|f| f.parse().ok())
        .unwrap_or_else(|| panic!("no first figure in {tps:?}"))
}

#[tokio::test]
async fn given_sends_and_pulls_when_runtime_info_asked_should_report_java_keys_and_moving_figures()
{
    let c = cluster(|_| {}).await;
    let broker = c.broker();
    for _ in 0..11 {
        broker.sample_stats_now();
    }
    let before = runtime_info(&c).await;
    assert_eq!(first_figure(&before["putTps"]), 0.0);
    for _ in 0..5 {
        let r = c.call(send_v2("RT", 0, "", b"hello")).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
        broker.sample_stats_now();
    }
    c.wait_max_offset("RT", 0, 5).await;
    let r = c.call(pull("RT", 0, 0, "*", 0)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    broker.sample_stats_now();
    let info = runtime_info(&c).await;
    assert!(first_figure(&info["putTps"]) > 0.0, "{}", info["putTps"]);
    assert_eq!(info["putTps"].split(' ').count(), 3);
    assert_eq!(info["msgPutTotalTodayNow"], "5");
    assert_eq!(info["msgGetTotalTodayNow"], "5");
    assert_eq!(info["putMessageTimesTotal"], "5");
    assert!(first_figure(&info["getFoundTps"]) > 0.0);
    assert_eq!(info["getTransferedTps"], info["getTransferredTps"]);
    for key in [
        "brokerActive",
        "bootTimestamp",
        "commitLogMinOffset",
        "consumeQueueDiskRatio",
        "dispatchBehindBytes",
        "earliestMessageTimeStamp",
        "getMissTps",
        "getTotalTps",
        "msgGetTotalTodayMorning",
        "msgGetTotalYesterdayMorning",
        "msgPutTotalTodayMorning",
        "msgPutTotalYesterdayMorning",
        "pageCacheLockTimeMills",
        "pullThreadPoolQueueCapacity",
        "pullThreadPoolQueueSize",
        "putLatency99",
        "putLatency999",
        "putMessageAverageSize",
        "putMessageEntireTimeMax",
        "putMessageSizeTotal",
        "queryThreadPoolQueueCapacity",
        "queryThreadPoolQueueSize",
        "remainTransientStoreBufferNumbs",
        "sendThreadPoolQueueCapacity",
        "sendThreadPoolQueueHeadWaitTimeMills",
        "sendThreadPoolQueueSize",
        "startAcceptSendRequestTimeStamp",
    ] {
        assert!(info.contains_key(key), "{key} missing: {info:?}");
    }
    assert_eq!(info["brokerVersionDesc"], "V5_3_3");
    assert!(
        info["runtime"].starts_with("[ 0 days, 0 hours, "),
        "{}",
        info["runtime"]
    );
    assert!(info["putMessageDistributeTime"].starts_with("[<=0ms]:"));
    assert!(info["commitLogDirCapacity"].starts_with("Total : "));
    assert!(info["remainHowManyDataToFlush"].ends_with('B'));
    let ratio: f64 = info["commitLogDiskRatio"].parse().unwrap();
    assert!((0.0..=1.0).contains(&ratio), "{ratio}");
    let max: i64 = info["commitLogMaxOffset"].parse().unwrap();
    assert!(max > 0);
    assert!(info["earliestMessageTimeStamp"].parse::<i64>().unwrap() > 0);
    for _ in 0..11 {
        broker.sample_stats_now();
    }
    let after = runtime_info(&c).await;
    assert_eq!(first_figure(&after["putTps"]), 0.0, "{}", after["putTps"]);
}

async fn broker_config(c: &Cluster) -> (BTreeMap<String, String>, DataVersion) {
    let r = c
        .call(RemotingCommand::bare_request(
            RequestCode::GET_BROKER_CONFIG,
        ))
        .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let header: GetBrokerConfigResponseHeader = r.header().unwrap();
    let version: DataVersion = serde_json::from_str(&header.version).unwrap();
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    (properties::parse(&text).unwrap(), version)
}

async fn update_config(c: &Cluster, text: &str) -> RemotingCommand {
    c.call(
        RemotingCommand::bare_request(RequestCode::UPDATE_BROKER_CONFIG)
            .with_body(text.as_bytes().to_vec()),
    )
    .await
}

#[tokio::test]
async fn given_live_key_update_should_apply_at_once_show_in_get_and_survive_a_restart() {
    let mut c = cluster(|_| {}).await;
    let (config, version) = broker_config(&c).await;
    assert_eq!(config["fileReservedTime"], "72");
    assert_eq!(config["brokerName"], "broker-a");
    assert_eq!(config["deleteWhen"], "04");
    assert!(config["configBlackList"].contains("storePathRootDir"));
    let r = update_config(&c, "fileReservedTime=48\ndiskMaxUsedSpaceRatio=80\n").await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let (config, updated) = broker_config(&c).await;
    assert_eq!(config["fileReservedTime"], "48");
    assert_eq!(config["diskMaxUsedSpaceRatio"], "80");
    assert_eq!(updated.counter, version.counter + 1);
    let retention = c.broker().retention();
    assert_eq!(retention.file_reserved_hours, 48);
    assert!((retention.clean_ratio - 0.80).abs() < 1e-9);
    let overlay = c.dir.path().join("store/config/broker.properties");
    assert_eq!(
        std::fs::read_to_string(&overlay).unwrap(),
        "diskMaxUsedSpaceRatio=80\nfileReservedTime=48\n"
    );
    c.restart_broker().await;
    assert_eq!(broker_config(&c).await.0["fileReservedTime"], "48");
    assert_eq!(c.broker().retention().file_reserved_hours, 48);
}

#[tokio::test]
async fn given_protected_unknown_or_bad_keys_should_refuse_and_change_nothing() {
    let c = cluster(|_| {}).await;
    for (text, code, needle) in [
        (
            "fileReservedTime=1\nstorePathRootDir=/tmp/x\n",
            ResponseCode::NO_PERMISSION,
            "storePathRootDir",
        ),
        (
            "brokerName=other\n",
            ResponseCode::NO_PERMISSION,
            "brokerName",
        ),
        ("listenPort=1\n", ResponseCode::NO_PERMISSION, "listenPort"),
        (
            "rocketmqHome=/tmp\n",
            ResponseCode::NO_PERMISSION,
            "rocketmqHome",
        ),
        (
            "filterServerNums=1\n",
            ResponseCode::NO_PERMISSION,
            "filterServerNums",
        ),
        ("noSuchKey=1\n", ResponseCode::SYSTEM_ERROR, "noSuchKey"),
        (
            "mappedFileSizeCommitLog=1\n",
            ResponseCode::SYSTEM_ERROR,
            "restart",
        ),
        (
            "fileReservedTime=soon\n",
            ResponseCode::SYSTEM_ERROR,
            "bad value",
        ),
    ] {
        let r = update_config(&c, text).await;
        assert_eq!(r.response_code(), code, "{text}: {:?}", r.remark);
        let remark = r.remark.unwrap_or_default();
        assert!(remark.contains(needle), "{text}: {remark}");
    }
    let (config, version) = broker_config(&c).await;
    assert_eq!(config["fileReservedTime"], "72");
    assert_eq!(version.counter, 0);
    assert!(!c.dir.path().join("store/config/broker.properties").exists());
}

#[tokio::test]
async fn given_read_only_permission_should_refuse_sends_and_register_masked_topics() {
    let c = cluster(|_| {}).await;
    let r = c.call(send_v2("PermTopic", 0, "", b"x")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    // The registration of the new topic must land first: an older one arriving late would
    // overwrite the masked permission.
    route_perm_becomes(&c, "PermTopic", 6).await;
    let r = update_config(&c, "brokerPermission=4\n").await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let r = c.call(send_v2("PermTopic", 0, "", b"x")).await;
    assert_eq!(r.response_code(), ResponseCode::NO_PERMISSION);
    route_perm_becomes(&c, "PermTopic", 4).await;
    let r = update_config(&c, "brokerPermission=6\n").await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let r = c.call(send_v2("PermTopic", 0, "", b"x")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
}

/// Waits (bounded) until the NameServer's route of `topic` shows `perm`.
async fn route_perm_becomes(c: &Cluster, topic: &str, perm: i32) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let request = RemotingCommand::request(
            RequestCode::GET_ROUTEINFO_BY_TOPIC,
            &GetRouteInfoRequestHeader {
                topic: topic.into(),
                accept_standard_json_only: None,
            },
        );
        let r = c
            .client
            .invoke(&c.namesrv_addr, request, WAIT)
            .await
            .unwrap();
        let seen = (r.response_code() == ResponseCode::SUCCESS)
            .then(|| from_json::<TopicRouteData>("route", &r.body).unwrap())
            .and_then(|route| route.queue_datas.first().map(|q| q.perm));
        if seen == Some(perm) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "route of {topic} stuck at perm {seen:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
