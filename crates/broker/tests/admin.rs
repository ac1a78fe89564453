//! The administration codes over real sockets with a raw remoting client: topics created,
//! updated and deleted (and the NameServer route following), subscription groups, consume
//! and topic statistics, connection lists, who consumes a topic, and server-side offset
//! resets that the next pull (even one suspended by long polling) answers with OFFSET_MOVED.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use apogee_broker::{Broker, BrokerConfig};

use apogee_protocol::body::admin::{
    ConsumeStats, ConsumerConnection, GroupList, ProducerConnection, ResetOffsetBody,
    SubscriptionGroupConfig, SubscriptionGroupWrapper, TopicConfigSerializeWrapper,
    TopicStatsTable,
};
use apogee_protocol::body::client::{
    ConsumerData, HeartbeatData, MessageModel, MessageQueue, ProducerData, SubscriptionData,
};
use apogee_protocol::body::from_json;
use apogee_protocol::body::route::TopicRouteData;
use apogee_protocol::header::admin::*;
use apogee_protocol::header::consumer::{
    OffsetResponseHeader, QueryConsumerOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use apogee_protocol::header::message::PullMessageResponseHeader;
use apogee_protocol::header::namesrv::GetRouteInfoRequestHeader;
use apogee_protocol::{LanguageCode, RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{Dispatcher, RemotingClient, TransportConfig};
use apogee_runtime::{Shutdown, SystemClock};
use apogee_store::index::IndexSizing;
use common::*;

const BROKER: &str = "broker-a";

/// A NameServer and a broker whose store files are a few MiB instead of the 1 GiB CommitLog
/// and ~400 MiB index Java sizes (allocated on disk at once): these tests run in parallel on
/// a shared machine whose disk guard refuses writes above 90 %.
async fn cluster() -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let namesrv = apogee_testkit::start_namesrv(&dir.path().join("namesrv")).await;
    let namesrv_addr = namesrv.local_addr().to_string();
    let raw = raw_config(dir.path(), &namesrv_addr);
    let mut config = BrokerConfig::try_from(raw.clone()).unwrap();
    config.store.commit_log_file_bytes = 4 << 20;
    config.store.consume_queue_units_per_file = 1024;
    config.store.index = IndexSizing {
        slots: 1024,
        entries: 4096,
    };
    let broker = Broker::start(config, Shutdown::new(), Arc::new(SystemClock))
        .await
        .unwrap();
    Cluster {
        namesrv: Some(namesrv),
        namesrv_addr,
        addr: broker.local_addr().to_string(),
        broker: Some(broker),
        dir,
        client: RemotingClient::new(Dispatcher::new(), TransportConfig::default()),
        raw,
    }
}

fn ok(r: &RemotingCommand) {
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
}

fn delete_topic(topic: &str, force: Option<bool>) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::DELETE_TOPIC_IN_BROKER,
        &DeleteTopicRequestHeader {
            topic: topic.into(),
            force,
        },
    )
}

fn route(topic: &str) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: topic.into(),
            accept_standard_json_only: None,
        },
    )
}

fn commit(group: &str, topic: &str, queue_id: i32, offset: i64) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::UPDATE_CONSUMER_OFFSET,
        &UpdateConsumerOffsetRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id,
            commit_offset: offset,
            broker_name: None,
        },
    )
}

fn query_offset(group: &str, topic: &str, queue_id: i32) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::QUERY_CONSUMER_OFFSET,
        &QueryConsumerOffsetRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id,
            set_zero_if_not_found: Some(false),
            broker_name: None,
        },
    )
}

fn consume_stats(group: &str, topic: Option<&str>) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::GET_CONSUME_STATS,
        &GetConsumeStatsRequestHeader {
            consumer_group: group.into(),
            topic: topic.map(String::from),
        },
    )
}

fn reset(
    group: &str,
    topic: &str,
    queue_id: Option<i32>,
    offset: Option<i64>,
    timestamp: i64,
) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
        &ResetOffsetRequestHeader {
            topic: topic.into(),
            group: group.into(),
            queue_id,
            offset,
            timestamp,
            is_force: true,
        },
    )
}

fn create_group(config: &SubscriptionGroupConfig) -> RemotingCommand {
    RemotingCommand::bare_request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
        .with_body(serde_json::to_vec(config).unwrap())
}

/// A pull by `group` (the common helper pulls as `cg`).
fn pull_as(
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    suspend_ms: i64,
) -> RemotingCommand {
    let mut request = pull(topic, queue_id, offset, "*", suspend_ms);
    request.ext_fields.insert("consumerGroup", group);
    request
}

fn mq(topic: &str, queue_id: i32) -> MessageQueue {
    MessageQueue {
        broker_name: BROKER.into(),
        queue_id,
        topic: topic.into(),
    }
}

fn heartbeat(
    client_id: &str,
    consumer_group: &str,
    topic: &str,
    producer_group: &str,
) -> RemotingCommand {
    let body = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            consume_from_where: "CONSUME_FROM_FIRST_OFFSET".into(),
            consume_type: "CONSUME_PASSIVELY".into(),
            group_name: consumer_group.into(),
            message_model: MessageModel::Broadcasting,
            subscription_data_set: vec![SubscriptionData::from_tag_expression(topic, "*", 1)],
            unit_mode: false,
        }],
        producer_data_set: vec![ProducerData {
            group_name: producer_group.into(),
        }],
        ..HeartbeatData::default()
    };
    let mut request = RemotingCommand::bare_request(RequestCode::HEART_BEAT)
        .with_body(serde_json::to_vec(&body).unwrap());
    request.language = LanguageCode::JAVA;
    request.version = 479;
    request
}

/// Sends `count` messages to `topic`/`queue_id` and waits until they are dispatched.
async fn fill(c: &Cluster, topic: &str, queue_id: i32, count: i64) {
    for _ in 0..count {
        ok(&c.call(send_v2(topic, queue_id, "", b"m")).await);
    }
    c.wait_max_offset(topic, queue_id, count).await;
}

fn topic_table(r: &RemotingCommand) -> TopicConfigSerializeWrapper {
    ok(r);
    from_json("TopicConfigSerializeWrapper", &r.body).unwrap()
}

#[tokio::test]
async fn given_created_topic_should_be_routed_at_once_and_updated_in_place() {
    let c = cluster().await;
    ok(&c
        .call(create_topic("Made", 3, Some("+message.type=NORMAL")))
        .await);
    // The broker re-registered before answering: no waiting for the route.
    let r = c
        .client
        .invoke(&c.namesrv_addr, route("Made"), WAIT)
        .await
        .unwrap();
    ok(&r);
    let routed: TopicRouteData = from_json("route", &r.body).unwrap();
    assert_eq!(
        (
            routed.queue_datas[0].read_queue_nums,
            routed.queue_datas[0].write_queue_nums
        ),
        (3, 3)
    );
    let all = topic_table(
        &c.call(RemotingCommand::bare_request(
            RequestCode::GET_ALL_TOPIC_CONFIG,
        ))
        .await,
    );
    let made = &all.topic_config_table["Made"];
    assert_eq!(made.attributes["message.type"], "NORMAL");
    assert!(all.topic_config_table.contains_key("TBW102"));

    ok(&c
        .call(create_topic("Made", 5, Some("+message.type=FIFO")))
        .await);
    let all = topic_table(
        &c.call(RemotingCommand::bare_request(
            RequestCode::GET_ALL_TOPIC_CONFIG,
        ))
        .await,
    );
    let made = &all.topic_config_table["Made"];
    assert_eq!(
        (
            made.write_queue_nums,
            made.attributes["message.type"].as_str()
        ),
        (5, "FIFO")
    );

    for (bad, needle) in [
        (create_topic("bad topic", 1, None), "contains ' '"),
        (
            create_topic("SCHEDULE_TOPIC_XXXX", 1, None),
            "conflict with system topic",
        ),
        (
            create_topic("rmq_sys_x", 1, None),
            "conflict with system topic",
        ),
        (create_topic(BROKER, 1, None), "conflict with system topic"),
        (
            create_topic("New", 1, Some("-message.type")),
            "only add attribute",
        ),
    ] {
        let r = c.call(bad).await;
        assert_eq!(
            r.response_code(),
            ResponseCode::SYSTEM_ERROR,
            "{:?}",
            r.remark
        );
        assert!(
            r.remark.as_deref().unwrap().contains(needle),
            "{:?}",
            r.remark
        );
    }
    let mut bad_filter = create_topic("New", 1, None);
    bad_filter.ext_fields.insert("topicFilterType", "REGEX");
    let r = c.call(bad_filter).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(
        r.remark
            .unwrap()
            .contains("topicFilterType = [REGEX] value invalid")
    );
}

#[tokio::test]
async fn given_online_consumer_should_refuse_deletion_until_forced_then_drop_route_and_offsets() {
    let c = cluster().await;
    // Java's default keeps a route until DELETE_TOPIC_IN_NAMESRV; with this flag the broker's
    // re-registration after the delete removes it.
    let flag = RemotingCommand::bare_request(RequestCode::UPDATE_NAMESRV_CONFIG)
        .with_body(&b"deleteTopicWithBrokerRegistration=true"[..]);
    ok(&c.client.invoke(&c.namesrv_addr, flag, WAIT).await.unwrap());
    ok(&c.call(create_topic("Doomed", 2, None)).await);
    let consumer = RemotingClient::new(Dispatcher::new(), TransportConfig::default());
    let r = consumer
        .invoke(
            &c.addr,
            heartbeat("c1", "DoomedG", "Doomed", "DoomedP"),
            WAIT,
        )
        .await
        .unwrap();
    ok(&r);
    ok(&c.call(commit("DoomedG", "Doomed", 1, 0)).await);

    let r = c.call(delete_topic("Doomed", None)).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    let remark = r.remark.unwrap();
    assert!(
        remark.contains("in use") && remark.contains("DoomedG") && remark.contains("force=true"),
        "{remark}"
    );
    let r = c.call(delete_topic("Doomed", Some(false))).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::SYSTEM_ERROR,
        "force=false is no force"
    );

    ok(&c.call(delete_topic("Doomed", Some(true))).await);
    let all = topic_table(
        &c.call(RemotingCommand::bare_request(
            RequestCode::GET_ALL_TOPIC_CONFIG,
        ))
        .await,
    );
    assert!(!all.topic_config_table.contains_key("Doomed"));
    let r = c
        .client
        .invoke(&c.namesrv_addr, route("Doomed"), WAIT)
        .await
        .unwrap();
    assert_eq!(
        r.response_code(),
        ResponseCode::TOPIC_NOT_EXIST,
        "route removed at once"
    );
    let r = c.call(query_offset("DoomedG", "Doomed", 1)).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::QUERY_NOT_FOUND,
        "offsets deleted"
    );

    let r = c.call(delete_topic("TBW102", Some(true))).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::SYSTEM_ERROR,
        "system topics stay"
    );
    ok(&c.call(delete_topic("NeverExisted", None)).await);
}

#[tokio::test]
async fn given_producer_connection_that_sent_should_refuse_deletion_until_it_closes() {
    let c = cluster().await;
    let producer = RemotingClient::new(Dispatcher::new(), TransportConfig::default());
    let r = producer
        .invoke(&c.addr, send_v2("Written", 0, "", b"x"), WAIT)
        .await
        .unwrap();
    ok(&r);
    let r = c.call(delete_topic("Written", None)).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("1 producer connection(s)"));
    producer.shutdown();
    // The broker learns of the close asynchronously; wait for that, not for a fixed time.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let r = c.call(delete_topic("Written", None)).await;
        if r.response_code() == ResponseCode::SUCCESS {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{:?}", r.remark);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn given_subscription_group_should_be_created_listed_and_deleted_with_its_offsets() {
    let c = cluster().await;
    let config = SubscriptionGroupConfig {
        retry_max_times: 3,
        consume_broadcast_enable: false,
        ..SubscriptionGroupConfig::named("AdminG")
    };
    ok(&c.call(create_group(&config)).await);
    let get_all = RemotingCommand::bare_request(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG);
    let r = c.call(get_all.clone()).await;
    ok(&r);
    let all: SubscriptionGroupWrapper = from_json("SubscriptionGroupWrapper", &r.body).unwrap();
    assert_eq!(all.subscription_group_table["AdminG"], config);
    assert!(all.subscription_group_table.contains_key("TOOLS_CONSUMER"));
    let version = all.data_version.counter;

    fill(&c, "GroupTopic", 0, 1).await;
    ok(&c.call(commit("AdminG", "GroupTopic", 0, 1)).await);
    let delete = |clean| {
        RemotingCommand::request(
            RequestCode::DELETE_SUBSCRIPTIONGROUP,
            &DeleteSubscriptionGroupRequestHeader {
                group_name: "AdminG".into(),
                clean_offset: clean,
            },
        )
    };
    ok(&c.call(delete(Some(true))).await);
    let all: SubscriptionGroupWrapper =
        from_json("SubscriptionGroupWrapper", &c.call(get_all).await.body).unwrap();
    assert!(!all.subscription_group_table.contains_key("AdminG"));
    assert!(all.data_version.counter > version);
    let r = c.call(query_offset("AdminG", "GroupTopic", 0)).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::QUERY_NOT_FOUND,
        "offsets cleaned"
    );
    ok(&c.call(delete(None)).await);

    let bad = c
        .call(create_group(&SubscriptionGroupConfig::named("bad group")))
        .await;
    assert_eq!(bad.response_code(), ResponseCode::SYSTEM_ERROR);
    let empty = RemotingCommand::bare_request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP);
    assert_eq!(
        c.call(empty).await.response_code(),
        ResponseCode::SYSTEM_ERROR
    );
}

#[tokio::test]
async fn given_sent_and_committed_messages_should_report_lag_per_queue() {
    let c = cluster().await;
    fill(&c, "Lag", 0, 5).await;
    ok(&c.call(commit("LagG", "Lag", 0, 2)).await);
    let r = c.call(consume_stats("LagG", Some("Lag"))).await;
    ok(&r);
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(
        text.contains(r#"{"brokerName":"broker-a","queueId":0,"topic":"Lag"}:{"brokerOffset":5"#),
        "Java's object keys: {text}"
    );
    let stats: ConsumeStats = from_json("ConsumeStats", &r.body).unwrap();
    assert_eq!(stats.offset_table.len(), 4, "every readable queue");
    let q0 = stats.offset_table[&mq("Lag", 0)];
    let stored = records(&c.call(pull_as("LagG", "Lag", 0, 0, 0)).await.body);
    assert_eq!(
        (
            q0.broker_offset,
            q0.consumer_offset,
            q0.pull_offset,
            q0.last_timestamp
        ),
        (5, 2, 2, stored[1].store_timestamp)
    );
    assert_eq!(stats.offset_table[&mq("Lag", 3)].broker_offset, 0);
    assert_eq!(stats.total_diff(), 3);

    // The pull above reached offset 5; without a topic every topic with offsets is listed.
    let r = c.call(consume_stats("LagG", None)).await;
    let stats: ConsumeStats = from_json("ConsumeStats", &r.body).unwrap();
    assert_eq!(stats.offset_table[&mq("Lag", 0)].pull_offset, 5);
    assert_eq!(stats.inflight_diff(), 3);
    let r = c.call(consume_stats("Nobody", None)).await;
    let stats: ConsumeStats = from_json("ConsumeStats", &r.body).unwrap();
    assert!(stats.offset_table.is_empty());
}

#[tokio::test]
async fn given_messages_in_one_queue_should_report_topic_min_max_and_last_store_time() {
    let c = cluster().await;
    fill(&c, "Stats", 1, 3).await;
    let stats = |topic: &str| {
        RemotingCommand::request(
            RequestCode::GET_TOPIC_STATS_INFO,
            &GetTopicStatsInfoRequestHeader {
                topic: topic.into(),
            },
        )
    };
    let r = c.call(stats("Stats")).await;
    ok(&r);
    let table: TopicStatsTable = from_json("TopicStatsTable", &r.body).unwrap();
    assert_eq!(table.offset_table.len(), 4);
    let last = records(&c.call(pull("Stats", 1, 2, "*", 0)).await.body)[0].store_timestamp;
    let q1 = table.offset_table[&mq("Stats", 1)];
    assert_eq!(
        (q1.min_offset, q1.max_offset, q1.last_update_timestamp),
        (0, 3, last)
    );
    let q0 = table.offset_table[&mq("Stats", 0)];
    assert_eq!(
        (q0.min_offset, q0.max_offset, q0.last_update_timestamp),
        (0, 0, 0)
    );
    let r = c.call(stats("Missing")).await;
    assert_eq!(r.response_code(), ResponseCode::TOPIC_NOT_EXIST);
}

#[tokio::test]
async fn given_heartbeats_should_list_consumer_and_producer_connections_and_who_consumes() {
    let c = cluster().await;
    let client = RemotingClient::new(Dispatcher::new(), TransportConfig::default());
    ok(&client
        .invoke(&c.addr, heartbeat("c1", "ConnG", "ConnT", "ConnP"), WAIT)
        .await
        .unwrap());
    let consumers = |group: &str| {
        RemotingCommand::request(
            RequestCode::GET_CONSUMER_CONNECTION_LIST,
            &GetConsumerConnectionListRequestHeader {
                consumer_group: group.into(),
            },
        )
    };
    let r = c.call(consumers("ConnG")).await;
    ok(&r);
    let list: ConsumerConnection = from_json("ConsumerConnection", &r.body).unwrap();
    assert_eq!(list.connection_set.len(), 1);
    let conn = &list.connection_set[0];
    assert_eq!(
        (
            conn.client_id.as_str(),
            conn.language.as_str(),
            conn.version
        ),
        ("c1", "JAVA", 479)
    );
    assert!(conn.client_addr.starts_with("127.0.0.1:") && conn.client_addr != c.addr);
    assert_eq!(
        (
            list.consume_type.as_str(),
            list.consume_from_where.as_str(),
            list.message_model
        ),
        (
            "CONSUME_PASSIVELY",
            "CONSUME_FROM_FIRST_OFFSET",
            MessageModel::Broadcasting
        )
    );
    assert_eq!(list.subscription_table["ConnT"].sub_string, "*");
    let r = c.call(consumers("Offline")).await;
    assert_eq!(r.response_code(), ResponseCode::CONSUMER_NOT_ONLINE);
    assert_eq!(r.response_code().0, 206);

    let producers = |group: &str| {
        RemotingCommand::request(
            RequestCode::GET_PRODUCER_CONNECTION_LIST,
            &GetProducerConnectionListRequestHeader {
                producer_group: group.into(),
            },
        )
    };
    let r = c.call(producers("ConnP")).await;
    ok(&r);
    let list: ProducerConnection = from_json("ProducerConnection", &r.body).unwrap();
    assert_eq!(list.connection_set.len(), 1);
    assert_eq!(list.connection_set[0].client_id, "c1");
    let r = c.call(producers("NoSuchP")).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("NoSuchP"));

    ok(&c.call(create_topic("ConnT", 1, None)).await);
    ok(&c.call(commit("OffsetOnlyG", "ConnT", 0, 0)).await);
    let who = RemotingCommand::request(
        RequestCode::QUERY_TOPIC_CONSUME_BY_WHO,
        &QueryTopicConsumeByWhoRequestHeader {
            topic: "ConnT".into(),
        },
    );
    let r = c.call(who).await;
    ok(&r);
    let groups: GroupList = from_json("GroupList", &r.body).unwrap();
    assert_eq!(
        groups.group_list,
        ["ConnG", "OffsetOnlyG"].map(String::from).into()
    );
}

#[tokio::test]
async fn given_reset_by_timestamp_should_commit_the_target_and_move_the_next_pull_there() {
    let c = cluster().await;
    fill(&c, "Rewind", 0, 4).await;
    ok(&c
        .call(create_group(&SubscriptionGroupConfig::named("RG")))
        .await);
    ok(&c.call(commit("RG", "Rewind", 0, 4)).await);
    let stored = records(&c.call(pull_as("RG", "Rewind", 0, 0, 0)).await.body);
    let timestamp = stored[2].store_timestamp;
    let expected = stored
        .iter()
        .position(|m| m.store_timestamp >= timestamp)
        .unwrap();
    let expected = i64::try_from(expected).unwrap();

    let r = c.call(reset("RG", "Rewind", None, None, timestamp)).await;
    ok(&r);
    let body: ResetOffsetBody = from_json("ResetOffsetBody", &r.body).unwrap();
    assert_eq!(body.offset_table.len(), 4, "every queue of the topic");
    assert_eq!(body.offset_table[&mq("Rewind", 0)], expected);
    assert_eq!(body.offset_table[&mq("Rewind", 3)], 0);
    let committed: OffsetResponseHeader = c
        .call(query_offset("RG", "Rewind", 0))
        .await
        .header()
        .unwrap();
    assert_eq!(committed.offset, expected);

    // The client's stale position is ignored until its next pull learns of the reset.
    let r = c.call(commit("RG", "Rewind", 0, 4)).await;
    ok(&r);
    assert_eq!(
        r.remark.as_deref(),
        Some("Offset has been previously reset")
    );
    let r = c.call(pull_as("RG", "Rewind", 0, 4, 0)).await;
    assert_eq!(r.response_code(), ResponseCode::PULL_OFFSET_MOVED);
    assert_eq!(r.remark.as_deref(), Some("OFFSET_RESET"));
    let h: PullMessageResponseHeader = r.header().unwrap();
    assert_eq!(
        (h.next_begin_offset, h.min_offset, h.max_offset),
        (expected, 0, 4)
    );
    let r = c.call(pull_as("RG", "Rewind", 0, expected, 0)).await;
    ok(&r);
    assert_eq!(
        records(&r.body)[0].queue_offset,
        expected,
        "the reset is taken once"
    );
    ok(&c.call(commit("RG", "Rewind", 0, 4)).await);
    let committed: OffsetResponseHeader = c
        .call(query_offset("RG", "Rewind", 0))
        .await
        .header()
        .unwrap();
    assert_eq!(committed.offset, 4, "commits count again");
}

#[tokio::test]
async fn given_reset_of_one_queue_should_check_the_offset_range_group_and_topic() {
    let c = cluster().await;
    fill(&c, "One", 1, 4).await;
    ok(&c
        .call(create_group(&SubscriptionGroupConfig::named("OG")))
        .await);
    let r = c.call(reset("OG", "One", Some(1), Some(1), 0)).await;
    ok(&r);
    let body: ResetOffsetBody = from_json("ResetOffsetBody", &r.body).unwrap();
    assert_eq!(body.offset_table, BTreeMap::from([(mq("One", 1), 1)]));
    let r = c.call(reset("OG", "One", Some(1), Some(-1), -1)).await;
    let body: ResetOffsetBody = from_json("ResetOffsetBody", &r.body).unwrap();
    assert_eq!(body.offset_table[&mq("One", 1)], 4, "-1 means the end");

    let r = c.call(reset("OG", "One", Some(1), Some(9), 0)).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        r.remark.as_deref(),
        Some("Target offset 9 not in consume queue range [0-4]")
    );
    let r = c.call(reset("OG", "One", Some(7), None, 0)).await;
    assert_eq!(r.response_code(), ResponseCode::INVALID_PARAMETER);
    let r = c.call(reset("NoGroup", "One", None, None, 0)).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST
    );
    let r = c.call(reset("OG", "NoTopic", None, None, 0)).await;
    assert_eq!(r.response_code(), ResponseCode::TOPIC_NOT_EXIST);
    ok(&c.call(create_topic("NoQueues", 0, None)).await);
    let r = c.call(reset("OG", "NoQueues", None, None, 0)).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(r.remark.as_deref(), Some("No queues to reset."));
}

#[tokio::test]
async fn given_suspended_pull_when_its_group_is_reset_should_answer_offset_moved_at_once() {
    let c = cluster().await;
    fill(&c, "Held", 0, 2).await;
    ok(&c
        .call(create_group(&SubscriptionGroupConfig::named("HG")))
        .await);
    let client = c.client.clone();
    let addr = c.addr.clone();
    // Held for up to 20 s, the client waits 25 s: OFFSET_MOVED proves the reset woke it (a
    // timeout would answer PULL_NOT_FOUND).
    let waiting = tokio::spawn(async move {
        client
            .invoke(
                &addr,
                pull_as("HG", "Held", 0, 2, 20_000),
                Duration::from_secs(25),
            )
            .await
            .unwrap()
    });
    c.wait_parked(1).await;
    ok(&c.call(reset("HG", "Held", Some(0), Some(0), 0)).await);
    let r = waiting.await.unwrap();
    assert_eq!(
        r.response_code(),
        ResponseCode::PULL_OFFSET_MOVED,
        "{:?}",
        r.remark
    );
    assert_eq!(
        r.header::<PullMessageResponseHeader>()
            .unwrap()
            .next_begin_offset,
        0
    );
    // Another group's suspended pull of the same queue is woken too but keeps waiting.
    let r = c.call(pull_as("OtherG", "Held", 0, 2, 300)).await;
    assert_eq!(r.response_code(), ResponseCode::PULL_NOT_FOUND);
}
