//! The admin API's broker-level calls against a real broker and NameServer: runtime
//! statistics under load, live configuration updates, offset cloning, and a live push
//! consumer's running info relayed through the broker.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use apogee_client::{Admin, Message};
use apogee_protocol::ResponseCode;
use apogee_protocol::body::admin::ConsumerRunningInfo;
use common::*;

fn first_figure(tps: &str) -> Option<f64> {
    tps.split(' ').next().and_then(|f| f.parse().ok())
}

fn counter(info: &BTreeMap<String, String>, key: &str) -> u64 {
    info[key].parse().unwrap()
}

#[tokio::test]
async fn given_continuous_sends_should_show_put_tps_and_totals_moving_then_tps_back_to_zero() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let admin = Admin::start(client(ns)).await.unwrap();
    let topic = unique("Load");
    let producer = create_topic(ns, &topic).await;
    let broker = &cluster.broker;
    let addr = &cluster.broker_addr;
    let start = counter(
        &admin.broker_runtime_info(addr).await.unwrap(),
        "msgPutTotalTodayNow",
    );
    let sending = Arc::new(AtomicBool::new(true));
    let sender = {
        let (sending, producer, topic) = (Arc::clone(&sending), producer.clone(), topic.clone());
        tokio::spawn(async move {
            let mut sent = 0u64;
            while sending.load(Ordering::Relaxed) {
                producer.send(Message::new(&topic, "load")).await.unwrap();
                sent += 1;
            }
            sent
        })
    };
    // The sampler is ticked here rather than waited for: each tick between sends moves the
    // 10-sample window (Java's "10 s" figure) over traffic.
    wait_until("putTps > 0 and the day's total growing", || {
        broker.sample_stats_now();
        let admin = admin.clone();
        async move {
            let info = admin.broker_runtime_info(addr).await.unwrap();
            first_figure(&info["putTps"]).is_some_and(|tps| tps > 0.0)
                && counter(&info, "msgPutTotalTodayNow") > start + 10
        }
    })
    .await;
    sending.store(false, Ordering::Relaxed);
    let sent = sender.await.unwrap();
    let info = admin.broker_runtime_info(addr).await.unwrap();
    assert!(counter(&info, "msgPutTotalTodayNow") >= start + sent);
    assert!(counter(&info, "putMessageSizeTotal") > 0);
    // Sending has stopped: ten more samples and the window holds no traffic.
    for _ in 0..11 {
        broker.sample_stats_now();
    }
    let info = admin.broker_runtime_info(addr).await.unwrap();
    assert_eq!(
        first_figure(&info["putTps"]),
        Some(0.0),
        "{}",
        info["putTps"]
    );
    producer.shutdown().await;
}

#[tokio::test]
async fn given_config_updates_should_apply_live_keys_and_refuse_protected_ones() {
    let cluster = cluster().await;
    let admin = Admin::start(client(&cluster.namesrv_addr)).await.unwrap();
    let addr = &cluster.broker_addr;
    let config = admin.broker_config(addr).await.unwrap();
    assert_eq!(config["fileReservedTime"], "72");
    assert_eq!(config["brokerClusterName"], "DefaultCluster");
    let changes = BTreeMap::from([("fileReservedTime".to_owned(), "48".to_owned())]);
    admin.update_broker_config(addr, &changes).await.unwrap();
    assert_eq!(
        admin.broker_config(addr).await.unwrap()["fileReservedTime"],
        "48"
    );
    assert_eq!(cluster.broker.retention().file_reserved_hours, 48);
    let protected = BTreeMap::from([("storePathCommitLog".to_owned(), "/tmp/x".to_owned())]);
    let err = admin
        .update_broker_config(addr, &protected)
        .await
        .unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(ResponseCode::NO_PERMISSION),
        "{err}"
    );
    assert!(err.to_string().contains("storePathCommitLog"), "{err}");
    let unknown = BTreeMap::from([("noSuchKey".to_owned(), "1".to_owned())]);
    let err = admin
        .update_broker_config(addr, &unknown)
        .await
        .unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(ResponseCode::SYSTEM_ERROR),
        "{err}"
    );
}

/// Queue → committed offset, as GET_CONSUME_STATS reports it.
async fn committed(admin: &Admin, group: &str, topic: &str) -> BTreeMap<i32, i64> {
    admin
        .consume_stats(group, Some(topic))
        .await
        .unwrap()
        .offset_table
        .iter()
        .map(|(q, o)| (q.queue_id, o.consumer_offset))
        .collect()
}

#[tokio::test]
async fn given_a_consumed_topic_when_offsets_cloned_should_give_the_new_group_the_same_progress() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let admin = Admin::start(client(ns)).await.unwrap();
    let topic = unique("Clone");
    let producer = create_topic(ns, &topic).await;
    for i in 0..12 {
        producer
            .send(Message::new(&topic, format!("c-{i}")))
            .await
            .unwrap();
    }
    let (src, dest) = (unique("src"), unique("dest"));
    let seen = Seen::default();
    let source = consumer(ns, from_first(&src), &topic, &seen).await;
    seen.wait_for("13 consumed", 13).await;
    wait_until("the source's lag is 0", || {
        let admin = admin.clone();
        let (src, topic) = (src.clone(), topic.clone());
        async move {
            let stats = admin.consume_stats(&src, Some(&topic)).await.unwrap();
            stats.total_diff() == 0
                && stats
                    .offset_table
                    .values()
                    .map(|o| o.broker_offset)
                    .sum::<i64>()
                    == 13
        }
    })
    .await;
    source.shutdown().await;
    let expected = committed(&admin, &src, &topic).await;
    assert_eq!(expected.values().sum::<i64>(), 13);
    assert!(
        committed(&admin, &dest, &topic)
            .await
            .values()
            .all(|o| *o == 0)
    );
    admin
        .clone_group_offset(&src, &dest, Some(&topic), false)
        .await
        .unwrap();
    assert_eq!(committed(&admin, &dest, &topic).await, expected);
    let dest_stats = admin.consume_stats(&dest, Some(&topic)).await.unwrap();
    assert_eq!(dest_stats.total_diff(), 0);
    producer.shutdown().await;
}

#[tokio::test]
async fn given_a_live_push_consumer_should_report_its_subscriptions_queues_and_figures() {
    let cluster = cluster().await;
    let ns = &cluster.namesrv_addr;
    let admin = Admin::start(client(ns)).await.unwrap();
    let topic = unique("Running");
    let producer = create_topic(ns, &topic).await;
    let group = unique("running");
    let seen = Seen::default();
    let live = consumer(ns, from_first(&group), &topic, &seen).await;
    for i in 0..5 {
        producer
            .send(Message::new(&topic, format!("r-{i}")))
            .await
            .unwrap();
    }
    seen.wait_for("6 consumed", 6).await;
    let client_id = admin
        .consumer_connection(&group)
        .await
        .unwrap()
        .connection_set[0]
        .client_id
        .clone();
    let info = admin
        .consumer_running_info(&group, &client_id)
        .await
        .unwrap();
    let prop = |k: &str| info.properties.get(k).cloned().unwrap_or_default();
    assert_eq!(
        prop(ConsumerRunningInfo::PROP_CONSUME_TYPE),
        "CONSUME_PASSIVELY"
    );
    assert_eq!(prop(ConsumerRunningInfo::PROP_CONSUME_ORDERLY), "false");
    assert_eq!(prop(ConsumerRunningInfo::PROP_NAMESERVER_ADDR), *ns);
    assert_eq!(prop(ConsumerRunningInfo::PROP_CLIENT_VERSION), "V5_3_3");
    assert_eq!(prop("consumerGroup"), group);
    assert!(
        prop(ConsumerRunningInfo::PROP_CONSUMER_START_TIMESTAMP)
            .parse::<i64>()
            .unwrap()
            > 0
    );
    let topics: Vec<&str> = info
        .subscription_set
        .iter()
        .map(|s| s.topic.as_str())
        .collect();
    assert!(topics.contains(&topic.as_str()), "{topics:?}");
    assert!(
        topics.contains(&format!("%RETRY%{group}").as_str()),
        "{topics:?}"
    );
    let held: Vec<_> = info
        .mq_table
        .keys()
        .filter(|q| q.topic == topic)
        .cloned()
        .collect();
    let assigned: Vec<_> = live
        .assignment()
        .into_iter()
        .filter(|q| q.topic == topic)
        .collect();
    assert_eq!(held, assigned);
    assert!(info.mq_table.values().all(|pq| !pq.is_dropped()));
    assert!(
        info.mq_table
            .iter()
            .filter(|(q, _)| q.topic == topic)
            .any(|(_, pq)| pq.last_pull_timestamp > 0)
    );
    let status = info
        .status_table
        .get(&topic)
        .expect("figures for the topic");
    assert!(status.consume_ok_tps > 0.0, "{status:?}");
    let err = admin
        .consumer_running_info(&group, "no-such-client")
        .await
        .unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(ResponseCode::SYSTEM_ERROR),
        "{err}"
    );
    assert!(err.to_string().contains("not online"), "{err}");
    live.shutdown().await;
    producer.shutdown().await;
}
