//! Per-topic and per-group statistics over real sockets: VIEW_BROKER_STATS_DATA (315) counts
//! what was put and pulled, GET_CONSUME_STATS (208) reports a real consume TPS, and
//! GET_BROKER_CONSUME_STATS (317) lists every group's progress.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_protocol::body::admin::ConsumeStats;
use apogee_protocol::body::from_json;
use apogee_protocol::body::stats::{BrokerStatsData, ConsumeStatsList};
use apogee_protocol::header::admin::{
    GetConsumeStatsInBrokerHeader, GetConsumeStatsRequestHeader, ViewBrokerStatsDataRequestHeader,
};
use apogee_protocol::header::consumer::UpdateConsumerOffsetRequestHeader;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use common::*;

fn view(name: &str, key: &str) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::VIEW_BROKER_STATS_DATA,
        &ViewBrokerStatsDataRequestHeader {
            stats_name: name.into(),
            stats_key: key.into(),
        },
    )
}

async fn stats(c: &Cluster, name: &str, key: &str) -> BrokerStatsData {
    let r = c.call(view(name, key)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    from_json("BrokerStatsData", &r.body).unwrap()
}

#[tokio::test]
async fn given_puts_and_pulls_should_count_them_per_topic_and_group_in_every_window() {
    let c = cluster(|_| {}).await;
    for body in [&b"one"[..], b"two", b"three"] {
        let r = c.call(send_v2("Counted", 0, "", body)).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    }
    c.wait_max_offset("Counted", 0, 3).await;
    let put = stats(&c, "TOPIC_PUT_NUMS", "Counted").await;
    for window in [put.stats_minute, put.stats_hour, put.stats_day] {
        assert_eq!(window.sum, 3, "{put:?}");
        assert!(
            (window.avgpt - 1.0).abs() < 1e-9,
            "one message per send: {put:?}"
        );
    }
    // Bytes written, whole records as Java's `wroteBytes`: each holds its 11 body bytes,
    // its topic and a header of more than 80 bytes.
    let size = stats(&c, "TOPIC_PUT_SIZE", "Counted").await;
    assert!(size.stats_minute.sum > 11 + 3 * 80, "{size:?}");

    // The common pull helper pulls as group `cg`.
    let r = c.call(pull("Counted", 0, 0, "*", 0)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let got = stats(&c, "GROUP_GET_NUMS", "Counted@cg").await;
    assert_eq!(got.stats_minute.sum, 3);
    assert!(got.stats_minute.tps > 0.0, "{got:?}");
    let cluster_name = c.raw.broker_cluster_name.clone();
    assert!(
        stats(&c, "BROKER_GET_NUMS", &cluster_name)
            .await
            .stats_day
            .sum
            >= 3
    );

    let r = c.call(view("GROUP_GET_NUMS", "Counted@nobody")).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        r.remark.as_deref(),
        Some("The stats <GROUP_GET_NUMS> <Counted@nobody> not exist")
    );

    check_consume_stats(&c).await;
}

/// The group's consume TPS is its pulls per second, and every group shows in 317.
async fn check_consume_stats(c: &Cluster) {
    let r = c
        .call(RemotingCommand::request(
            RequestCode::UPDATE_CONSUMER_OFFSET,
            &UpdateConsumerOffsetRequestHeader {
                consumer_group: "cg".into(),
                topic: "Counted".into(),
                queue_id: 0,
                commit_offset: 2,
                broker_name: None,
            },
        ))
        .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let r = c
        .call(RemotingCommand::request(
            RequestCode::GET_CONSUME_STATS,
            &GetConsumeStatsRequestHeader {
                consumer_group: "cg".into(),
                topic: Some("Counted".into()),
            },
        ))
        .await;
    let consume: ConsumeStats = from_json("ConsumeStats", &r.body).unwrap();
    assert!(consume.consume_tps > 0.0, "{consume:?}");
    let r = c
        .call(RemotingCommand::request(
            RequestCode::GET_BROKER_CONSUME_STATS,
            &GetConsumeStatsInBrokerHeader { is_order: false },
        ))
        .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let list: ConsumeStatsList = from_json("ConsumeStatsList", &r.body).unwrap();
    let cg = list
        .consume_stats_list
        .iter()
        .find_map(|m| m.get("cg"))
        .expect("group cg listed");
    assert_eq!(cg.len(), 1);
    assert_eq!(cg[0].total_diff(), 1, "3 stored, 2 committed");
    assert_eq!(list.total_diff, 1);
    assert!(!list.broker_addr.is_empty());
    let r = c
        .call(RemotingCommand::request(
            RequestCode::GET_BROKER_CONSUME_STATS,
            &GetConsumeStatsInBrokerHeader { is_order: true },
        ))
        .await;
    let ordered: ConsumeStatsList = from_json("ConsumeStatsList", &r.body).unwrap();
    assert_eq!(ordered.total_diff, 0, "Counted is not an ordered topic");
}
