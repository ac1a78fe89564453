//! Golden fixtures: every header's schema (wire keys, required or not) and a sample
//! encoding, and every body's bytes, are pinned in `tests/golden/`. A change to the wire
//! fails here; if it is deliberate, rerun with `APOGEE_BLESS=1` and commit the diff.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use apogee_model::{BrokerName, ClusterName, DataVersion, TopicConfig, TopicName};
use apogee_protocol::body::admin::{
    ConsumeStats, ConsumeStatus, ConsumerRunningInfo, GroupList, OffsetWrapper, ProcessQueueInfo,
    ResetOffsetBody, SubscriptionGroupConfig, TopicOffset, TopicStatsTable, to_java_json,
};
use apogee_protocol::body::client::MessageQueue;
use apogee_protocol::body::register::{
    RegisterBrokerBody, TopicConfigSerializeWrapper, encode_topic_config_text,
};
use apogee_protocol::body::route::{
    BrokerData, BrokerMemberGroup, ClusterInfo, GetBrokerMemberGroupResponseBody, QueueData,
    TopicRouteData,
};
use apogee_protocol::body::{KvTable, TopicList, from_json, properties};
use apogee_protocol::fastjson::JsonStyle;
use apogee_protocol::frame::encode_frame;
use apogee_protocol::header::admin::*;
use apogee_protocol::header::message::*;
use apogee_protocol::header::namesrv::*;
use apogee_protocol::header::transaction::*;
use apogee_protocol::{
    CommandHeader, ExtFields, FrameLimits, RemotingCommand, RequestCode, SerializeType,
};

fn check(name: &str, actual: &[u8]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("APOGEE_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path)
        .unwrap_or_else(|_| panic!("missing fixture {name}; run with APOGEE_BLESS=1 to create it"));
    assert!(
        expected == actual,
        "wire change in {name}:\n expected {}\n actual   {}\n(rerun with APOGEE_BLESS=1 if deliberate)",
        String::from_utf8_lossy(&expected),
        String::from_utf8_lossy(actual)
    );
}

/// Schema line per field, then the sample's extFields as JSON, then the sample as a
/// ROCKETMQ-encoded frame in hex.
fn header_fixture<H: CommandHeader + PartialEq + std::fmt::Debug>(name: &str, sample: &H) {
    let mut text = String::new();
    for field in H::FIELDS {
        text.push_str(&format!(
            "{} {}\n",
            field.key,
            if field.required {
                "required"
            } else {
                "optional"
            }
        ));
    }
    let mut ext = ExtFields::new();
    sample.write_ext_fields(&mut ext);
    text.push_str(&serde_json::to_string(&ext).unwrap());
    text.push('\n');
    let mut cmd = RemotingCommand::request(RequestCode(0), sample);
    cmd.serialize_type = SerializeType::RocketMq;
    cmd.version = 479;
    let frame = encode_frame(&cmd, &FrameLimits::default()).unwrap();
    text.push_str(&frame.iter().map(|b| format!("{b:02x}")).collect::<String>());
    text.push('\n');
    check(&format!("header_{name}.txt"), text.as_bytes());
    assert_eq!(
        &H::from_ext_fields(&ext).unwrap(),
        sample,
        "{name} round trip"
    );
}

fn broker(name: &str) -> BrokerName {
    BrokerName::new(name).unwrap()
}

fn cluster() -> ClusterName {
    ClusterName::new("DefaultCluster").unwrap()
}

#[test]
fn given_namesrv_headers_should_match_golden_fixtures() {
    header_fixture(
        "RegisterBrokerRequestHeader",
        &RegisterBrokerRequestHeader {
            broker_name: broker("broker-a"),
            broker_addr: "192.168.0.1:10911".into(),
            cluster_name: cluster(),
            ha_server_addr: "192.168.0.1:10912".into(),
            broker_id: 0,
            heartbeat_timeout_millis: Some(120_000),
            enable_acting_master: Some(false),
            compressed: Some(false),
            body_crc32: Some(1_234_567),
        },
    );
    header_fixture(
        "RegisterBrokerResponseHeader",
        &RegisterBrokerResponseHeader {
            ha_server_addr: Some("h:10912".into()),
            master_addr: Some("h:10911".into()),
        },
    );
    header_fixture(
        "UnRegisterBrokerRequestHeader",
        &UnRegisterBrokerRequestHeader {
            broker_name: broker("b"),
            broker_addr: "h:1".into(),
            cluster_name: cluster(),
            broker_id: 1,
        },
    );
    header_fixture(
        "GetRouteInfoRequestHeader",
        &GetRouteInfoRequestHeader {
            topic: "TopicTest".into(),
            accept_standard_json_only: Some(true),
        },
    );
    header_fixture(
        "PutKVConfigRequestHeader",
        &PutKvConfigRequestHeader {
            namespace: "ORDER_TOPIC_CONFIG".into(),
            key: "T".into(),
            value: "b:4".into(),
        },
    );
    header_fixture(
        "KVConfigKeyHeader",
        &KvConfigKeyHeader {
            namespace: "ns".into(),
            key: "k".into(),
        },
    );
    header_fixture(
        "GetKVConfigResponseHeader",
        &GetKvConfigResponseHeader {
            value: Some("v".into()),
        },
    );
    header_fixture(
        "GetKVListByNamespaceRequestHeader",
        &GetKvListByNamespaceRequestHeader {
            namespace: "ns".into(),
        },
    );
    header_fixture(
        "WritePermOfBrokerRequestHeader",
        &WritePermOfBrokerRequestHeader {
            broker_name: broker("b"),
        },
    );
    header_fixture(
        "WipeWritePermOfBrokerResponseHeader",
        &WipeWritePermOfBrokerResponseHeader {
            wipe_topic_count: 3,
        },
    );
    header_fixture(
        "AddWritePermOfBrokerResponseHeader",
        &AddWritePermOfBrokerResponseHeader { add_topic_count: 3 },
    );
    header_fixture(
        "QueryDataVersionRequestHeader",
        &QueryDataVersionRequestHeader {
            broker_name: broker("b"),
            broker_addr: "h:1".into(),
            cluster_name: cluster(),
            broker_id: 0,
        },
    );
    header_fixture(
        "QueryDataVersionResponseHeader",
        &QueryDataVersionResponseHeader { changed: true },
    );
    header_fixture(
        "DeleteTopicFromNamesrvRequestHeader",
        &DeleteTopicFromNamesrvRequestHeader {
            topic: TopicName::new("T").unwrap(),
            cluster_name: Some("DefaultCluster".into()),
        },
    );
    header_fixture(
        "RegisterTopicRequestHeader",
        &RegisterTopicRequestHeader {
            topic: TopicName::new("T").unwrap(),
        },
    );
    header_fixture(
        "GetTopicsByClusterRequestHeader",
        &GetTopicsByClusterRequestHeader {
            cluster: "DefaultCluster".into(),
        },
    );
    header_fixture(
        "BrokerHeartbeatRequestHeader",
        &BrokerHeartbeatRequestHeader {
            cluster_name: cluster(),
            broker_addr: "h:1".into(),
            broker_name: broker("b"),
            broker_id: Some(0),
            epoch: Some(1),
            max_offset: Some(100),
            confirm_offset: Some(90),
            heartbeat_timeout_mills: Some(10_000),
            election_priority: Some(0),
        },
    );
    header_fixture(
        "GetBrokerMemberGroupRequestHeader",
        &GetBrokerMemberGroupRequestHeader {
            cluster_name: "DefaultCluster".into(),
            broker_name: "b".into(),
        },
    );
}

fn sample_route() -> TopicRouteData {
    TopicRouteData {
        broker_datas: vec![BrokerData {
            broker_addrs: BTreeMap::from([
                (0, "127.0.0.1:10911".into()),
                (1, "127.0.0.2:10911".into()),
            ]),
            broker_name: broker("b1"),
            cluster: cluster(),
            enable_acting_master: false,
            zone_name: None,
        }],
        filter_server_table: BTreeMap::new(),
        order_topic_conf: Some("b1:4".into()),
        queue_datas: vec![QueueData {
            broker_name: broker("b1"),
            perm: 6,
            read_queue_nums: 4,
            topic_sys_flag: 0,
            write_queue_nums: 4,
        }],
    }
}

#[test]
fn given_route_bodies_should_match_golden_fixtures_in_both_styles() {
    let route = sample_route();
    let legacy = route.to_json(JsonStyle::Legacy);
    check("body_TopicRouteData_legacy.json", &legacy);
    let standard = route.to_json(JsonStyle::Standard);
    check("body_TopicRouteData_standard.json", &standard);
    assert_eq!(
        from_json::<TopicRouteData>("route", &legacy).unwrap(),
        route
    );
    assert_eq!(
        from_json::<TopicRouteData>("route", &standard).unwrap(),
        route
    );

    let info = ClusterInfo {
        broker_addr_table: BTreeMap::from([(broker("b1"), route.broker_datas[0].clone())]),
        cluster_addr_table: BTreeMap::from([(cluster(), [broker("b1")].into())]),
    };
    check("body_ClusterInfo.json", &info.to_json());
    assert_eq!(
        from_json::<ClusterInfo>("cluster", &info.to_json()).unwrap(),
        info
    );

    let group = GetBrokerMemberGroupResponseBody {
        broker_member_group: BrokerMemberGroup {
            broker_addrs: BTreeMap::from([(0, "127.0.0.1:10911".into())]),
            broker_name: "b1".into(),
            cluster: "DefaultCluster".into(),
        },
    };
    check(
        "body_GetBrokerMemberGroupResponseBody.json",
        &group.to_json(),
    );
    assert_eq!(
        from_json::<GetBrokerMemberGroupResponseBody>("group", &group.to_json()).unwrap(),
        group
    );
}

#[test]
fn given_small_bodies_should_match_golden_fixtures() {
    let list = TopicList {
        broker_addr: Some("127.0.0.1:10911".into()),
        topic_list: vec!["DefaultCluster".into(), "b1".into()],
    };
    check("body_TopicList.json", &serde_json::to_vec(&list).unwrap());
    let kv = KvTable {
        table: BTreeMap::from([("T".into(), "b1:4;b2:4".into())]),
    };
    check("body_KVTable.json", &serde_json::to_vec(&kv).unwrap());
    let version = DataVersion {
        counter: 7,
        state_version: 0,
        timestamp: 1_700_000_000_000,
    };
    check(
        "body_DataVersion.json",
        &serde_json::to_vec(&version).unwrap(),
    );
    let props = BTreeMap::from([
        ("enableTopicList".to_owned(), "true".to_owned()),
        ("listenPort".to_owned(), "9876".to_owned()),
    ]);
    check("body_properties.txt", properties::render(&props).as_bytes());
}

#[test]
fn given_register_broker_body_should_match_golden_fixtures_in_both_forms() {
    let mut config = TopicConfig::new(TopicName::new("TopicTest").unwrap());
    config.read_queue_nums = 4;
    config.write_queue_nums = 4;
    let body = RegisterBrokerBody {
        filter_server_list: vec![],
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            data_version: DataVersion {
                counter: 1,
                state_version: 0,
                timestamp: 1_700_000_000_000,
            },
            topic_config_table: BTreeMap::from([("TopicTest".to_owned(), config.clone())]),
        },
    };
    check("body_RegisterBrokerBody.json", &body.to_json());
    check(
        "body_TopicConfig_encoded.txt",
        encode_topic_config_text(&config).as_bytes(),
    );
    let limits = FrameLimits::default();
    assert_eq!(
        RegisterBrokerBody::decode(&body.to_json(), false, &limits).unwrap(),
        body
    );
    assert_eq!(
        RegisterBrokerBody::decode(&body.encode_compressed(), true, &limits).unwrap(),
        body
    );
}

#[test]
fn given_send_and_pull_headers_should_match_golden_fixtures() {
    let v1 = SendMessageRequestHeader {
        producer_group: "please_rename_unique_group_name".into(),
        topic: "TopicTest".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 2,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some("TAGS\u{1}TagA\u{2}KEYS\u{1}OrderID001\u{2}UNIQ_KEY\u{1}7F00000100002A9F0000000000000000\u{2}WAIT\u{1}true\u{2}".into()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(false),
        broker_name: Some("broker-a".into()),
    };
    header_fixture("SendMessageRequestHeader", &v1);
    header_fixture(
        "SendMessageRequestHeaderV2",
        &SendMessageRequestHeaderV2::from(v1),
    );
    header_fixture(
        "SendMessageResponseHeader",
        &SendMessageResponseHeader {
            msg_id: "7F00000100002A9F0000000000000000".into(),
            queue_id: 2,
            queue_offset: 42,
            transaction_id: None,
            batch_uniq_id: None,
            recall_handle: None,
        },
    );
    header_fixture(
        "PullMessageRequestHeader",
        &PullMessageRequestHeader {
            consumer_group: "please_rename_unique_group_name_4".into(),
            topic: "TopicTest".into(),
            queue_id: 0,
            queue_offset: 100,
            max_msg_nums: 32,
            sys_flag: pull_sys_flag::COMMIT_OFFSET
                | pull_sys_flag::SUSPEND
                | pull_sys_flag::SUBSCRIPTION,
            commit_offset: 90,
            suspend_timeout_millis: 15_000,
            subscription: Some("TagA || TagB".into()),
            sub_version: 1_700_000_000_000,
            expression_type: Some("TAG".into()),
            max_msg_bytes: Some(262_144),
            request_source: Some(-1),
            proxy_forward_client_id: None,
            broker_name: None,
        },
    );
    header_fixture(
        "PullMessageResponseHeader",
        &PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: 132,
            min_offset: 0,
            max_offset: 500,
            offset_delta: None,
            topic_sys_flag: Some(0),
            group_sys_flag: Some(0),
            forbidden_type: None,
        },
    );
}

#[test]
fn given_admin_headers_should_match_golden_fixtures() {
    header_fixture(
        "CreateTopicRequestHeader",
        &CreateTopicRequestHeader {
            topic: "TopicTest".into(),
            default_topic: "TBW102".into(),
            read_queue_nums: 8,
            write_queue_nums: 8,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: false,
            attributes: Some("+message.type=NORMAL".into()),
            force: None,
        },
    );
    header_fixture(
        "DeleteTopicRequestHeader",
        &DeleteTopicRequestHeader {
            topic: "TopicTest".into(),
            force: Some(true),
        },
    );
    header_fixture(
        "DeleteSubscriptionGroupRequestHeader",
        &DeleteSubscriptionGroupRequestHeader {
            group_name: "G".into(),
            clean_offset: Some(true),
        },
    );
    header_fixture(
        "GetConsumeStatsRequestHeader",
        &GetConsumeStatsRequestHeader {
            consumer_group: "G".into(),
            topic: Some("TopicTest".into()),
        },
    );
    header_fixture(
        "GetTopicStatsInfoRequestHeader",
        &GetTopicStatsInfoRequestHeader {
            topic: "TopicTest".into(),
        },
    );
    header_fixture(
        "GetConsumerConnectionListRequestHeader",
        &GetConsumerConnectionListRequestHeader {
            consumer_group: "G".into(),
        },
    );
    header_fixture(
        "GetProducerConnectionListRequestHeader",
        &GetProducerConnectionListRequestHeader {
            producer_group: "PG".into(),
        },
    );
    header_fixture(
        "ResetOffsetRequestHeader",
        &ResetOffsetRequestHeader {
            topic: "TopicTest".into(),
            group: "G".into(),
            queue_id: Some(-1),
            offset: None,
            timestamp: 1_700_000_000_000,
            is_force: true,
        },
    );
    header_fixture(
        "QueryTopicConsumeByWhoRequestHeader",
        &QueryTopicConsumeByWhoRequestHeader {
            topic: "TopicTest".into(),
        },
    );
    header_fixture(
        "CloneGroupOffsetRequestHeader",
        &CloneGroupOffsetRequestHeader {
            src_group: "G".into(),
            dest_group: "G2".into(),
            topic: Some("TopicTest".into()),
            offline: Some(false),
        },
    );
    header_fixture(
        "GetConsumerRunningInfoRequestHeader",
        &GetConsumerRunningInfoRequestHeader {
            consumer_group: "G".into(),
            client_id: "10.0.0.1@123".into(),
            jstack_enable: Some(false),
        },
    );
    header_fixture(
        "GetBrokerConfigResponseHeader",
        &GetBrokerConfigResponseHeader {
            version: r#"{"counter":1,"stateVersion":0,"timestamp":1700000000000}"#.into(),
        },
    );
}

#[test]
fn given_admin_bodies_should_match_golden_fixtures_in_java_form() {
    let mq = |queue_id| MessageQueue {
        broker_name: "broker-a".into(),
        queue_id,
        topic: "TopicTest".into(),
    };
    let stats = ConsumeStats {
        consume_tps: 0.0,
        offset_table: BTreeMap::from([(
            mq(0),
            OffsetWrapper {
                broker_offset: 100,
                consumer_offset: 90,
                last_timestamp: 1_700_000_000_000,
                pull_offset: 95,
            },
        )]),
    };
    check("body_ConsumeStats.json", &to_java_json(&stats));
    let table = TopicStatsTable {
        offset_table: BTreeMap::from([(
            mq(1),
            TopicOffset {
                last_update_timestamp: 1_700_000_000_000,
                max_offset: 100,
                min_offset: 0,
            },
        )]),
    };
    check("body_TopicStatsTable.json", &to_java_json(&table));
    let reset = ResetOffsetBody {
        offset_table: BTreeMap::from([(mq(0), 5), (mq(1), 7)]),
    };
    check("body_ResetOffsetBody.json", &to_java_json(&reset));
    let groups = GroupList {
        group_list: ["G".to_owned()].into(),
    };
    check("body_GroupList.json", &to_java_json(&groups));
    check(
        "body_SubscriptionGroupConfig.json",
        &to_java_json(&SubscriptionGroupConfig::named("G")),
    );
    let decoded: ResetOffsetBody = from_json("ResetOffsetBody", &to_java_json(&reset)).unwrap();
    assert_eq!(decoded, reset);
    let mut running = ConsumerRunningInfo::default();
    running.properties.insert(
        ConsumerRunningInfo::PROP_CONSUME_TYPE.into(),
        "CONSUME_PASSIVELY".into(),
    );
    running.mq_table.insert(
        mq(0),
        ProcessQueueInfo {
            commit_offset: 90,
            cached_msg_count: 1,
            cached_msg_min_offset: 90,
            cached_msg_max_offset: 90,
            last_pull_timestamp: 1_700_000_000_000,
            ..ProcessQueueInfo::default()
        },
    );
    running
        .status_table
        .insert("TopicTest".into(), ConsumeStatus::default());
    check("body_ConsumerRunningInfo.json", &to_java_json(&running));
}

#[test]
fn given_transaction_headers_should_match_golden_fixtures() {
    header_fixture(
        "EndTransactionRequestHeader",
        &EndTransactionRequestHeader {
            topic: Some("TopicTest".into()),
            producer_group: "please_rename_unique_group_name".into(),
            tran_state_table_offset: 12,
            commit_log_offset: 4096,
            commit_or_rollback: TransactionResolution::Commit.to_wire(),
            from_transaction_check: Some(false),
            msg_id: "7F00000100002A9F0000000000000000".into(),
            transaction_id: Some("7F00000100002A9F0000000000000000".into()),
            broker_name: Some("broker-a".into()),
        },
    );
    header_fixture(
        "CheckTransactionStateRequestHeader",
        &CheckTransactionStateRequestHeader {
            topic: Some("RMQ_SYS_TRANS_HALF_TOPIC".into()),
            tran_state_table_offset: 13,
            commit_log_offset: 8192,
            msg_id: Some("7F00000100002A9F0000000000000000".into()),
            transaction_id: Some("7F00000100002A9F0000000000000000".into()),
            offset_msg_id: Some("7F00000100002A9F0000000000002000".into()),
            broker_name: Some("broker-a".into()),
        },
    );
}

#[test]
fn given_config_lookup_headers_should_match_golden_fixtures() {
    header_fixture(
        "GetTopicConfigRequestHeader",
        &GetTopicConfigRequestHeader {
            topic: "TopicTest".into(),
            lo: Some(true),
        },
    );
    header_fixture(
        "GetSubscriptionGroupConfigRequestHeader",
        &GetSubscriptionGroupConfigRequestHeader { group: "G".into() },
    );
    header_fixture(
        "QueryConsumeTimeSpanRequestHeader",
        &QueryConsumeTimeSpanRequestHeader {
            topic: "TopicTest".into(),
            group: "G".into(),
        },
    );
    header_fixture(
        "QueryConsumeQueueRequestHeader",
        &QueryConsumeQueueRequestHeader {
            topic: "TopicTest".into(),
            queue_id: 1,
            index: 10,
            count: 5,
            consumer_group: Some("G".into()),
        },
    );
    header_fixture(
        "QueryTopicsByConsumerRequestHeader",
        &QueryTopicsByConsumerRequestHeader { group: "G".into() },
    );
}
