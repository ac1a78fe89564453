//! Broker-level administration over real sockets: GET_BROKER_RUNTIME_INFO (28),
//! GET/UPDATE_BROKER_CONFIG (26/25), CLONE_GROUP_OFFSET (314), GET_CONSUMER_RUNNING_INFO
//! (307) and CONSUME_MESSAGE_DIRECTLY (309), both relayed to the client's connection.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use apogee_model::DataVersion;
use apogee_protocol::body::admin::{
    ConsumeMessageDirectlyResult, ConsumerRunningInfo, to_java_json,
};
use apogee_protocol::body::client::{ConsumerData, HeartbeatData, SubscriptionData};
use apogee_protocol::body::route::TopicRouteData;
use apogee_protocol::body::{KvTable, from_json, properties};
use apogee_protocol::header::admin::{
    CloneGroupOffsetRequestHeader, ConsumeMessageDirectlyResultRequestHeader,
    GetBrokerConfigResponseHeader, GetConsumerRunningInfoRequestHeader,
};
use apogee_protocol::header::consumer::{
    OffsetResponseHeader, QueryConsumerOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use apogee_protocol::header::namesrv::GetRouteInfoRequestHeader;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{
    BoxFuture, Connection, Dispatcher, RemotingClient, RequestProcessor, TransportConfig,
};
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

async fn committed(c: &Cluster, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
    let r = c
        .call(RemotingCommand::request(
            RequestCode::QUERY_CONSUMER_OFFSET,
            &QueryConsumerOffsetRequestHeader {
                consumer_group: group.into(),
                topic: topic.into(),
                queue_id,
                set_zero_if_not_found: Some(false),
                broker_name: None,
            },
        ))
        .await;
    (r.response_code() == ResponseCode::SUCCESS)
        .then(|| r.header::<OffsetResponseHeader>().unwrap().offset)
}

fn clone_offsets(src: &str, dest: &str, topic: Option<&str>) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::CLONE_GROUP_OFFSET,
        &CloneGroupOffsetRequestHeader {
            src_group: src.into(),
            dest_group: dest.into(),
            topic: topic.map(str::to_owned),
            offline: Some(true),
        },
    )
}

#[tokio::test]
async fn given_committed_offsets_when_cloned_should_copy_one_topic_or_all() {
    let c = cluster(|_| {}).await;
    for topic in ["CloneA", "CloneB"] {
        let r = c.call(send_v2(topic, 0, "", b"x")).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
        c.wait_max_offset(topic, 0, 1).await;
        for (queue_id, offset) in [(0, 1), (1, 0)] {
            let r = c.call(commit("Src", topic, queue_id, offset)).await;
            assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
        }
    }
    let r = c.call(clone_offsets("Src", "One", Some("CloneA"))).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    assert_eq!(committed(&c, "One", "CloneA", 0).await, Some(1));
    assert_eq!(committed(&c, "One", "CloneA", 1).await, Some(0));
    assert_eq!(committed(&c, "One", "CloneB", 0).await, None);
    let r = c.call(clone_offsets("Src", "All", None)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    for topic in ["CloneA", "CloneB"] {
        assert_eq!(committed(&c, "All", topic, 0).await, Some(1), "{topic}");
    }
    let r = c.call(clone_offsets("Nobody", "None", None)).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::SUCCESS,
        "nothing to copy is no error"
    );
}

/// Answers GET_CONSUMER_RUNNING_INFO like a client, echoing what it was asked; answers
/// CONSUME_MESSAGE_DIRECTLY with a remark naming the broker, flags and message it was given.
struct RunningInfoClient;

impl RequestProcessor for RunningInfoClient {
    fn process(&self, _c: Connection, request: RemotingCommand) -> BoxFuture<RemotingCommand> {
        Box::pin(async move {
            if request.request_code() == RequestCode::CONSUME_MESSAGE_DIRECTLY {
                let h: ConsumeMessageDirectlyResultRequestHeader = request.header().unwrap();
                let record = match apogee_protocol::record::decode_record(&request.body, 0, true) {
                    Ok((apogee_protocol::record::RecordAt::Message(r), _)) => r,
                    other => panic!("not a stored message: {other:?}"),
                };
                let result = ConsumeMessageDirectlyResult {
                    remark: Some(format!(
                        "{}/{:?}/{:?}/{}",
                        h.broker_name.unwrap_or_default(),
                        h.topic_sys_flag,
                        h.group_sys_flag,
                        String::from_utf8_lossy(&record.body)
                    )),
                    ..ConsumeMessageDirectlyResult::default()
                };
                return RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None)
                    .with_body(to_java_json(&result));
            }
            let h: GetConsumerRunningInfoRequestHeader = request.header().unwrap();
            let mut info = ConsumerRunningInfo::default();
            info.properties.insert(
                "asked".into(),
                format!("{}/{}", h.consumer_group, h.client_id),
            );
            RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None)
                .with_body(to_java_json(&info))
        })
    }
}

fn running_info(group: &str, client_id: &str) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::GET_CONSUMER_RUNNING_INFO,
        &GetConsumerRunningInfoRequestHeader {
            consumer_group: group.into(),
            client_id: client_id.into(),
            jstack_enable: Some(false),
        },
    )
}

#[tokio::test]
async fn given_online_consumer_when_running_info_asked_should_relay_its_answer_else_not_online() {
    let c = cluster(|_| {}).await;
    let mut dispatcher = Dispatcher::new();
    dispatcher.register(
        &[
            RequestCode::GET_CONSUMER_RUNNING_INFO,
            RequestCode::CONSUME_MESSAGE_DIRECTLY,
        ],
        Arc::new(RunningInfoClient),
    );
    let consumer = RemotingClient::new(dispatcher, TransportConfig::default());
    let heartbeat = HeartbeatData {
        client_id: "client-1".into(),
        consumer_data_set: vec![ConsumerData {
            consume_type: "CONSUME_PASSIVELY".into(),
            group_name: "RunG".into(),
            subscription_data_set: vec![SubscriptionData::from_tag_expression("RunT", "*", 1)],
            ..ConsumerData::default()
        }],
        ..HeartbeatData::default()
    };
    let r = consumer
        .invoke(
            &c.addr,
            RemotingCommand::bare_request(RequestCode::HEART_BEAT)
                .with_body(serde_json::to_vec(&heartbeat).unwrap()),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let r = c.call(running_info("RunG", "client-1")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let info: ConsumerRunningInfo = from_json("ConsumerRunningInfo", &r.body).unwrap();
    assert_eq!(info.properties["asked"], "RunG/client-1");
    let r = c.call(running_info("RunG", "client-2")).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        r.remark.as_deref(),
        Some("The Consumer <RunG> <client-2> not online")
    );
    consume_directly_relays(&c).await;
}

fn consume_directly(client_id: &str, msg_id: &str) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::CONSUME_MESSAGE_DIRECTLY,
        &ConsumeMessageDirectlyResultRequestHeader {
            consumer_group: "RunG".into(),
            client_id: Some(client_id.into()),
            msg_id: Some(msg_id.into()),
            broker_name: None,
            topic: Some("RunT".into()),
            topic_sys_flag: None,
            group_sys_flag: None,
        },
    )
}

/// 309 to the client registered by the running-info test: the body it gets is the stored
/// message, with the broker's name and the topic's and group's flags added.
async fn consume_directly_relays(c: &Cluster) {
    let r = c.call(send_v2("RunT", 0, "", b"diagnose me")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let sent: apogee_protocol::header::message::SendMessageResponseHeader = r.header().unwrap();
    let r = c.call(consume_directly("client-1", &sent.msg_id)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let result: ConsumeMessageDirectlyResult = from_json("result", &r.body).unwrap();
    assert_eq!(
        result.remark.as_deref(),
        Some("broker-a/Some(0)/Some(0)/diagnose me")
    );
    let r = c.call(consume_directly("client-2", &sent.msg_id)).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("not online"));
    let r = c.call(consume_directly("client-1", "not-an-id")).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        r.remark.as_deref(),
        Some("msgId <not-an-id> is not an offset message id")
    );
    // A well-formed id whose offset is inside the message, not at its start.
    let (host, offset) = apogee_protocol::message_id::decode_offset_msg_id(&sent.msg_id).unwrap();
    let inside = apogee_protocol::message_id::offset_msg_id(host, offset + 8);
    let r = c.call(consume_directly("client-1", &inside)).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("can not find message"));
}

/// GET_TOPIC_CONFIG (351) and GET_SUBSCRIPTIONGROUP_CONFIG (352): mqadmin 5.x sends 351 to
/// every broker of a route before topicStatus, consumerProgress and statsAll, and fails on any
/// answer but SUCCESS or TOPIC_NOT_EXIST.
#[tokio::test]
async fn given_one_topic_or_group_asked_for_should_answer_its_config_or_its_not_exist_code() {
    let c = cluster(|_| {}).await;
    let r = c.call(create_topic("Asked", 3, None)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let topic = |name: &str| {
        RemotingCommand::request(
            RequestCode::GET_TOPIC_CONFIG,
            &apogee_protocol::header::admin::GetTopicConfigRequestHeader {
                topic: name.into(),
                lo: Some(true),
            },
        )
    };
    let r = c.call(topic("Asked")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let config: apogee_model::TopicConfig = from_json("TopicConfig", &r.body).unwrap();
    assert_eq!(
        (config.topic_name.as_str(), config.write_queue_nums),
        ("Asked", 3)
    );
    assert_eq!(
        c.call(topic("Nowhere")).await.response_code(),
        ResponseCode::TOPIC_NOT_EXIST
    );
    let group = |name: &str| {
        RemotingCommand::request(
            RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG,
            &apogee_protocol::header::admin::GetSubscriptionGroupConfigRequestHeader {
                group: name.into(),
            },
        )
    };
    let r = c.call(group("TOOLS_CONSUMER")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let config: apogee_protocol::body::admin::SubscriptionGroupConfig =
        from_json("SubscriptionGroupConfig", &r.body).unwrap();
    assert_eq!(config.group_name, "TOOLS_CONSUMER");
    assert_eq!(
        c.call(group("NoSuchGroup")).await.response_code(),
        ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST
    );
}
