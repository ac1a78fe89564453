use super::*;
use crate::body::from_json;

fn mq(topic: &str, queue_id: i32) -> MessageQueue {
    MessageQueue {
        broker_name: "broker-a".into(),
        queue_id,
        topic: topic.into(),
    }
}

/// Encodes to exactly `java` and decodes `java` back to `value`; the quoted-key form a
/// standard JSON writer produces decodes to the same value.
fn assert_java_round_trip<T>(value: &T, java: &str)
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    assert_eq!(String::from_utf8(to_java_json(value)).unwrap(), java);
    let decoded: T = from_json("body", java.as_bytes()).unwrap();
    assert_eq!(&decoded, value);
    let standard = serde_json::to_vec(value).unwrap();
    let decoded: T = from_json("body", &standard).unwrap();
    assert_eq!(&decoded, value);
}

#[test]
fn given_consume_stats_should_write_queue_objects_as_keys_like_fastjson() {
    let mut stats = ConsumeStats::default();
    stats.offset_table.insert(
        mq("T", 1),
        OffsetWrapper {
            broker_offset: 10,
            consumer_offset: 4,
            last_timestamp: 1_700_000_000_000,
            pull_offset: 6,
        },
    );
    stats.offset_table.insert(
        mq("T", 0),
        OffsetWrapper {
            broker_offset: 3,
            consumer_offset: 3,
            last_timestamp: 0,
            pull_offset: 3,
        },
    );
    assert_java_round_trip(
        &stats,
        concat!(
            r#"{"consumeTps":0.0,"offsetTable":{"#,
            r#"{"brokerName":"broker-a","queueId":0,"topic":"T"}:{"brokerOffset":3,"consumerOffset":3,"lastTimestamp":0,"pullOffset":3},"#,
            r#"{"brokerName":"broker-a","queueId":1,"topic":"T"}:{"brokerOffset":10,"consumerOffset":4,"lastTimestamp":1700000000000,"pullOffset":6}}}"#
        ),
    );
    assert_eq!((stats.total_diff(), stats.inflight_diff()), (6, 2));
}

#[test]
fn given_java_consume_stats_in_hash_order_with_fractional_tps_should_decode() {
    // Java's HashMap order and a 4.x OffsetWrapper without pullOffset.
    let java = br#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":3,"topic":"T"}:{"brokerOffset":9,"consumerOffset":2,"lastTimestamp":5},{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":1,"consumerOffset":1,"lastTimestamp":0}}}"#;
    let stats: ConsumeStats = from_json("ConsumeStats", java).unwrap();
    assert!((stats.consume_tps - 1.5).abs() < f64::EPSILON);
    let first = stats.offset_table.keys().next().unwrap();
    assert_eq!((first.queue_id, first.broker_name.as_str()), (0, "b"));
    assert_eq!(stats.total_diff(), 7);
}

#[test]
fn given_topic_stats_table_should_round_trip_in_java_form() {
    let mut table = TopicStatsTable::default();
    table.offset_table.insert(
        mq("T", 0),
        TopicOffset {
            last_update_timestamp: 1_700_000_000_123,
            max_offset: 5,
            min_offset: 0,
        },
    );
    assert_java_round_trip(
        &table,
        r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:{"lastUpdateTimestamp":1700000000123,"maxOffset":5,"minOffset":0}}}"#,
    );
}

#[test]
fn given_reset_offset_body_should_round_trip_in_java_form() {
    let mut body = ResetOffsetBody::default();
    body.offset_table.insert(mq("%RETRY%G", 0), 0);
    body.offset_table.insert(mq("T", 2), 42);
    assert_java_round_trip(
        &body,
        r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"%RETRY%G"}:0,{"brokerName":"broker-a","queueId":2,"topic":"T"}:42}}"#,
    );
    // Pretty-printed keys (fastjson's PrettyFormat) are read too.
    let pretty = b"{\"offsetTable\":{{\n\t\"brokerName\":\"broker-a\",\n\t\"queueId\":2,\n\t\"topic\":\"T\"\n}:42}}";
    let decoded: ResetOffsetBody = from_json("ResetOffsetBody", pretty).unwrap();
    assert_eq!(decoded.offset_table[&mq("T", 2)], 42);
}

#[test]
fn given_a_key_that_is_not_a_queue_should_fail_with_the_key_named() {
    let err = from_json::<ResetOffsetBody>("ResetOffsetBody", br#"{"offsetTable":{"x":1}}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"x\""), "{err}");
}

#[test]
fn given_connection_lists_should_use_java_field_names() {
    let connection = Connection {
        client_addr: "127.0.0.1:50000".into(),
        client_id: "10.0.0.1@123".into(),
        language: "JAVA".into(),
        version: 479,
    };
    let mut consumers = ConsumerConnection {
        connection_set: vec![connection.clone()],
        consume_from_where: "CONSUME_FROM_LAST_OFFSET".into(),
        consume_type: "CONSUME_PASSIVELY".into(),
        message_model: MessageModel::Clustering,
        subscription_table: BTreeMap::new(),
    };
    consumers.subscription_table.insert(
        "T".into(),
        SubscriptionData::from_tag_expression("T", "TagA", 7),
    );
    assert_java_round_trip(
        &consumers,
        concat!(
            r#"{"connectionSet":[{"clientAddr":"127.0.0.1:50000","clientId":"10.0.0.1@123","language":"JAVA","version":479}],"#,
            r#""consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","#,
            r#""subscriptionTable":{"T":{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","subVersion":7,"tagsSet":["TagA"],"topic":"T"}}}"#
        ),
    );
    assert_eq!(consumers.min_version(), 479);
    assert_java_round_trip(
        &ProducerConnection {
            connection_set: vec![connection],
        },
        r#"{"connectionSet":[{"clientAddr":"127.0.0.1:50000","clientId":"10.0.0.1@123","language":"JAVA","version":479}]}"#,
    );
}

#[test]
fn given_group_list_and_group_wrapper_should_use_java_field_names() {
    assert_java_round_trip(
        &GroupList {
            group_list: ["g2".to_owned(), "g1".to_owned()].into(),
        },
        r#"{"groupList":["g1","g2"]}"#,
    );
    let mut wrapper = SubscriptionGroupWrapper {
        data_version: DataVersion {
            counter: 2,
            state_version: 0,
            timestamp: 9,
        },
        ..SubscriptionGroupWrapper::default()
    };
    wrapper
        .subscription_group_table
        .insert("G".into(), SubscriptionGroupConfig::named("G"));
    wrapper.forbidden_table.insert(
        "G".into(),
        [("T".to_owned(), SubscriptionGroupWrapper::READ_FORBIDDEN)].into(),
    );
    assert_java_round_trip(
        &wrapper,
        concat!(
            r#"{"dataVersion":{"counter":2,"stateVersion":0,"timestamp":9},"forbiddenTable":{"G":{"T":4}},"subscriptionGroupTable":{"G":"#,
            r#"{"attributes":{},"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"consumeFromMinEnable":true,"#,
            r#""consumeMessageOrderly":false,"consumeTimeoutMinute":15,"groupName":"G","groupSysFlag":0,"#,
            r#""notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}}}"#
        ),
    );
}

#[test]
fn given_java_subscription_group_config_should_keep_retry_policy_and_subscriptions() {
    let java = br#"{"attributes":{},"brokerId":0,"consumeBroadcastEnable":false,"consumeEnable":true,"consumeFromMinEnable":true,"consumeMessageOrderly":true,"consumeTimeoutMinute":15,"groupName":"G","groupRetryPolicy":{"type":"CUSTOMIZED"},"groupSysFlag":0,"notifyConsumerIdsChangedEnable":true,"retryMaxTimes":3,"retryQueueNums":1,"subscriptionDataSet":[{"topic":"T","expression":"*"}],"whichBrokerWhenConsumeSlowly":1}"#;
    let config: SubscriptionGroupConfig = from_json("SubscriptionGroupConfig", java).unwrap();
    assert_eq!(
        (config.retry_max_times, config.consume_broadcast_enable),
        (3, false)
    );
    assert_eq!(serde_json::to_vec(&config).unwrap(), java);
    let sparse: SubscriptionGroupConfig =
        from_json("SubscriptionGroupConfig", br#"{"groupName":"G2"}"#).unwrap();
    assert_eq!(sparse, SubscriptionGroupConfig::named("G2"));
}

#[test]
fn given_consumer_running_info_should_round_trip_in_java_form() {
    let mut info = ConsumerRunningInfo::default();
    info.properties.insert(
        ConsumerRunningInfo::PROP_CONSUME_TYPE.into(),
        "CONSUME_PASSIVELY".into(),
    );
    info.subscription_set
        .push(SubscriptionData::from_tag_expression("T", "*", 3));
    info.mq_table.insert(
        mq("T", 0),
        ProcessQueueInfo {
            cached_msg_count: 2,
            cached_msg_max_offset: 11,
            cached_msg_min_offset: 10,
            commit_offset: 10,
            last_pull_timestamp: 5,
            ..ProcessQueueInfo::default()
        },
    );
    info.status_table.insert(
        "T".into(),
        ConsumeStatus {
            consume_ok_tps: 1.5,
            ..ConsumeStatus::default()
        },
    );
    assert_java_round_trip(
        &info,
        concat!(
            r#"{"mqPopTable":{},"mqTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:"#,
            r#"{"cachedMsgCount":2,"cachedMsgMaxOffset":11,"cachedMsgMinOffset":10,"cachedMsgSizeInMiB":0,"#,
            r#""commitOffset":10,"droped":false,"dropped":false,"lastConsumeTimestamp":0,"lastLockTimestamp":0,"#,
            r#""lastPullTimestamp":5,"locked":false,"transactionMsgCount":0,"transactionMsgMaxOffset":0,"#,
            r#""transactionMsgMinOffset":0,"tryUnlockTimes":0}},"#,
            r#""properties":{"PROP_CONSUME_TYPE":"CONSUME_PASSIVELY"},"#,
            r#""statusTable":{"T":{"consumeFailedMsgs":0,"consumeFailedTPS":0.0,"consumeOKTPS":1.5,"consumeRT":0.0,"pullRT":0.0,"pullTPS":0.0}},"#,
            r#""subscriptionSet":[{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":3,"tagsSet":[],"topic":"T"}],"#,
            r#""userConsumerInfo":{}}"#
        ),
    );
}

#[test]
fn given_java_4x_running_info_should_read_droped_and_non_string_properties() {
    let java = br#"{"jstack":"dump","mqTable":{{"brokerName":"b","queueId":1,"topic":"T"}:{"commitOffset":7,"droped":true,"locked":true}},"properties":{"PROP_CONSUMER_START_TIMESTAMP":1700000000000,"consumeThreadMax":20,"PROP_CONSUME_TYPE":"CONSUME_PASSIVELY"},"statusTable":{},"subscriptionSet":[]}"#;
    let info: ConsumerRunningInfo = from_json("ConsumerRunningInfo", java).unwrap();
    let pq = info.mq_table.values().next().unwrap();
    assert!(pq.is_dropped() && pq.locked);
    assert_eq!(pq.commit_offset, 7);
    assert_eq!(
        info.properties[ConsumerRunningInfo::PROP_CONSUMER_START_TIMESTAMP],
        "1700000000000"
    );
    assert_eq!(info.jstack.as_deref(), Some("dump"));
}

#[test]
fn given_consume_directly_results_should_use_java_names_and_defaults() {
    let failed = ConsumeMessageDirectlyResult {
        order: true,
        consume_result: ConsumeDirectlyOutcome::CrThrowException,
        remark: Some("boom".into()),
        spent_time_mills: 33,
        ..ConsumeMessageDirectlyResult::default()
    };
    assert_java_round_trip(
        &failed,
        r#"{"autoCommit":true,"consumeResult":"CR_THROW_EXCEPTION","order":true,"remark":"boom","spentTimeMills":33}"#,
    );
    assert_java_round_trip(
        &ConsumeMessageDirectlyResult::default(),
        r#"{"autoCommit":true,"consumeResult":"CR_SUCCESS","order":false,"spentTimeMills":0}"#,
    );
    let partial: ConsumeMessageDirectlyResult =
        from_json("result", br#"{"consumeResult":"CR_LATER"}"#).unwrap();
    assert!(partial.auto_commit);
    assert_eq!(partial.consume_result, ConsumeDirectlyOutcome::CrLater);
}

#[test]
fn given_group_forbidden_should_use_java_field_names() {
    assert_java_round_trip(
        &GroupForbidden {
            group: "G".into(),
            readable: false,
            topic: "T".into(),
        },
        r#"{"group":"G","readable":false,"topic":"T"}"#,
    );
}

/// What rocketmq-client-cpp 1.2.x writes (`ConsumerRunningInfo::encode`): the mqTable first,
/// keyed by pretty-printed queue objects, 64-bit figures as strings, `subVersion` as a string.
#[test]
fn given_cpp_running_info_should_decode_with_its_queues_and_string_figures() {
    let cpp = concat!(
        "{\"mqTable\":{{\n   \"brokerName\" : \"broker-a\",\n   \"queueId\" : 1,\n   \"topic\" : \"T\"\n}:",
        "{\n   \"cachedMsgCount\" : 0,\n   \"cachedMsgMaxOffset\" : \"0\",\n   \"commitOffset\" : \"7\",\n",
        "   \"droped\" : false,\n   \"lastLockTimestamp\" : \"18446744073709551615\",\n",
        "   \"lastPullTimestamp\" : \"1700000000000\",\n   \"locked\" : false\n}\n},",
        "\"jstack\":\"\",\"properties\":{\"PROP_CONSUMEORDERLY\":\"false\",\"PROP_CONSUME_TYPE\":\"CONSUME_PASSIVELY\"},",
        "\"subscriptionSet\":[{\"subString\":\"TagA || TagB\",\"subVersion\":\"1700000000000\",\"tagsSet\":[\"TagA\",\"TagB\"],\"topic\":\"T\"}]}\n"
    );
    let info = ConsumerRunningInfo::decode(cpp.as_bytes()).unwrap();
    let (queue, pq) = info.mq_table.iter().next().unwrap();
    assert_eq!((queue.topic.as_str(), queue.queue_id), ("T", 1));
    assert_eq!(pq.commit_offset, 7);
    assert_eq!(pq.last_lock_timestamp, -1);
    assert_eq!(pq.last_pull_timestamp, 1_700_000_000_000);
    assert_eq!(info.subscription_set[0].sub_version, 1_700_000_000_000);
    assert_eq!(info.properties["PROP_CONSUME_TYPE"], "CONSUME_PASSIVELY");

    let no_queues = "{\"mqTable\":},\"jstack\":\"\",\"properties\":{}}\n";
    let info = ConsumerRunningInfo::decode(no_queues.as_bytes()).unwrap();
    assert!(info.mq_table.is_empty());
}

#[test]
fn given_reset_offsets_for_a_cpp_client_should_write_the_array_it_reads() {
    let body = ResetOffsetBody {
        offset_table: [(mq("T", 1), 5)].into(),
    };
    assert_eq!(
        String::from_utf8(body.to_cpp_json()).unwrap(),
        r#"{"offsetTable":[{"brokerName":"broker-a","queueId":1,"topic":"T","offset":5}]}"#
    );
}
