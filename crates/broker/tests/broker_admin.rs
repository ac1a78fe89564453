//! Broker-level administration over real sockets: GET_BROKER_RUNTIME_INFO (28),
//! GET/UPDATE_BROKER_CONFIG (26/25), CLONE_GROUP_OFFSET (314) and GET_CONSUMER_RUNNING_INFO
//! (307, relayed to the client's connection).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use apogee_protocol::body::KvTable;
use apogee_protocol::body::from_json;
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
