//! The inspection codes over real sockets: UPDATE_AND_CREATE_TOPIC_LIST (18),
//! GET_ALL_CONSUMER_OFFSET (43), GET_ALL_DELAY_OFFSET (45), QUERY_CONSUME_TIME_SPAN (303),
//! QUERY_CONSUME_QUEUE (321), GET_ALL_PRODUCER_INFO (328), QUERY_TOPICS_BY_CONSUMER (343).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_model::{TopicConfig, TopicName};
use apogee_protocol::body::TopicList;
use apogee_protocol::body::client::{HeartbeatData, ProducerData};
use apogee_protocol::body::from_json;
use apogee_protocol::body::inspect::{
    CreateTopicListRequestBody, ProducerTableInfo, QueryConsumeQueueResponseBody,
    QueryConsumeTimeSpanBody,
};
use apogee_protocol::header::admin::{
    QueryConsumeQueueRequestHeader, QueryConsumeTimeSpanRequestHeader,
    QueryTopicsByConsumerRequestHeader,
};
use apogee_protocol::header::consumer::UpdateConsumerOffsetRequestHeader;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use common::*;

fn commit(group: &str, topic: &str, offset: i64) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::UPDATE_CONSUMER_OFFSET,
        &UpdateConsumerOffsetRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id: 0,
            commit_offset: offset,
            broker_name: None,
        },
    )
}

fn ok(r: &RemotingCommand) {
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
}

#[tokio::test]
async fn given_a_topic_list_should_create_all_or_refuse_all() {
    let c = cluster(|_| {}).await;
    let topic = |name: &str, queues: i32| {
        let mut config = TopicConfig::new(TopicName::new(name).unwrap());
        config.read_queue_nums = queues;
        config.write_queue_nums = queues;
        config
    };
    let list = |configs: Vec<TopicConfig>| {
        RemotingCommand::bare_request(RequestCode::UPDATE_AND_CREATE_TOPIC_LIST).with_body(
            serde_json::to_vec(&CreateTopicListRequestBody {
                topic_config_list: configs,
            })
            .unwrap(),
        )
    };
    ok(&c
        .call(list(vec![topic("ListA", 2), topic("ListB", 3)]))
        .await);
    let refused = c
        .call(list(vec![topic("ListC", 2), topic("ListD", 100_000)]))
        .await;
    assert_eq!(refused.response_code(), ResponseCode::SYSTEM_ERROR);
    let all = c
        .call(RemotingCommand::bare_request(
            RequestCode::GET_ALL_TOPIC_CONFIG,
        ))
        .await;
    let text = String::from_utf8_lossy(&all.body).into_owned();
    assert!(
        text.contains("\"ListA\"") && text.contains("\"ListB\""),
        "{text}"
    );
    assert!(
        !text.contains("\"ListC\""),
        "nothing of a refused list is applied"
    );
}

#[tokio::test]
async fn given_offsets_and_delay_progress_should_be_listed_whole_as_their_files_hold_them() {
    let c = cluster(|_| {}).await;
    for code in [
        RequestCode::GET_ALL_CONSUMER_OFFSET,
        RequestCode::GET_ALL_DELAY_OFFSET,
    ] {
        let empty = c.call(RemotingCommand::bare_request(code)).await;
        assert_eq!(empty.response_code(), ResponseCode::SYSTEM_ERROR);
    }
    ok(&c.call(send_v2("Offsets", 0, "", b"x")).await);
    c.wait_max_offset("Offsets", 0, 1).await;
    ok(&c.call(commit("og", "Offsets", 1)).await);
    let all = c
        .call(RemotingCommand::bare_request(
            RequestCode::GET_ALL_CONSUMER_OFFSET,
        ))
        .await;
    ok(&all);
    let text = String::from_utf8_lossy(&all.body).into_owned();
    assert!(text.contains(r#""Offsets@og":{0:1}"#), "{text}");
    let delayed = send_v2("Delayed", 0, "DELAY\u{1}1\u{2}", b"later");
    ok(&c.call(delayed).await);
    c.wait_max_offset("SCHEDULE_TOPIC_XXXX", 0, 1).await;
    c.broker().deliver_due_delays().unwrap();
    let delays = c
        .call(RemotingCommand::bare_request(
            RequestCode::GET_ALL_DELAY_OFFSET,
        ))
        .await;
    ok(&delays);
    assert!(String::from_utf8_lossy(&delays.body).contains(r#""offsetTable":{1:"#));
}

#[tokio::test]
async fn given_a_group_behind_should_report_its_time_span_and_topics() {
    let c = cluster(|_| {}).await;
    for body in [&b"a"[..], b"b", b"c"] {
        ok(&c.call(send_v2("Span", 0, "", body)).await);
    }
    c.wait_max_offset("Span", 0, 3).await;
    ok(&c.call(commit("sg", "Span", 1)).await);
    let r = c
        .call(RemotingCommand::request(
            RequestCode::QUERY_CONSUME_TIME_SPAN,
            &QueryConsumeTimeSpanRequestHeader {
                topic: "Span".into(),
                group: "sg".into(),
            },
        ))
        .await;
    ok(&r);
    let span: QueryConsumeTimeSpanBody = from_json("span", &r.body).unwrap();
    let q0 = &span.consume_time_span_set[0];
    assert_eq!(q0.message_queue.queue_id, 0);
    assert!(q0.min_time_stamp > 0 && q0.max_time_stamp >= q0.min_time_stamp);
    assert!(q0.consume_time_stamp >= q0.min_time_stamp);
    assert!(q0.delay_time >= 0);
    let topics = c
        .call(RemotingCommand::request(
            RequestCode::QUERY_TOPICS_BY_CONSUMER,
            &QueryTopicsByConsumerRequestHeader { group: "sg".into() },
        ))
        .await;
    ok(&topics);
    let list: TopicList = from_json("topics", &topics.body).unwrap();
    assert_eq!(list.topic_list, ["Span"]);
}

#[tokio::test]
async fn given_a_consume_queue_query_should_list_units_marked_by_the_groups_tags() {
    let c = cluster(|_| {}).await;
    for tag in ["TagA", "TagB", "TagA"] {
        ok(&c
            .call(send_v2("Cq", 0, &format!("TAGS\u{1}{tag}\u{2}"), b"m"))
            .await);
    }
    c.wait_max_offset("Cq", 0, 3).await;
    // A pull with a TagA subscription registers nothing; a heartbeat does.
    let mut heartbeat = HeartbeatData {
        client_id: "inspect@1".into(),
        ..HeartbeatData::default()
    };
    heartbeat
        .consumer_data_set
        .push(apogee_protocol::body::client::ConsumerData {
            group_name: "cqg".into(),
            consume_type: "CONSUME_PASSIVELY".into(),
            subscription_data_set: vec![
                apogee_protocol::body::client::SubscriptionData::from_tag_expression(
                    "Cq", "TagA", 1,
                ),
            ],
            ..Default::default()
        });
    heartbeat.producer_data_set.push(ProducerData {
        group_name: "inspect_pg".into(),
    });
    ok(&c
        .call(
            RemotingCommand::bare_request(RequestCode::HEART_BEAT)
                .with_body(serde_json::to_vec(&heartbeat).unwrap()),
        )
        .await);
    let query = |group: Option<&str>| {
        RemotingCommand::request(
            RequestCode::QUERY_CONSUME_QUEUE,
            &QueryConsumeQueueRequestHeader {
                topic: "Cq".into(),
                queue_id: 0,
                index: 0,
                count: 10,
                consumer_group: group.map(String::from),
            },
        )
    };
    let r = c.call(query(Some("cqg"))).await;
    ok(&r);
    let body: QueryConsumeQueueResponseBody = from_json("cq", &r.body).unwrap();
    assert_eq!((body.min_queue_index, body.max_queue_index), (0, 3));
    let evals: Vec<bool> = body.queue_data.iter().map(|u| u.eval).collect();
    assert_eq!(evals, [true, false, true], "TagA units taken, TagB not");
    assert!(
        body.queue_data
            .windows(2)
            .all(|w| w[0].physic_offset < w[1].physic_offset)
    );
    let r = c.call(query(Some("absent"))).await;
    let body: QueryConsumeQueueResponseBody = from_json("cq", &r.body).unwrap();
    assert_eq!(
        body.filter_data.as_deref(),
        Some("absent@Cq is not online!")
    );
    let producers = c
        .call(RemotingCommand::bare_request(
            RequestCode::GET_ALL_PRODUCER_INFO,
        ))
        .await;
    ok(&producers);
    let table: ProducerTableInfo = from_json("producers", &producers.body).unwrap();
    assert_eq!(table.data["inspect_pg"][0].client_id, "inspect@1");
}

#[tokio::test]
async fn given_a_group_list_and_a_system_topic_query_should_create_the_groups_and_list_system_topics()
 {
    use apogee_protocol::body::admin::SubscriptionGroupConfig;
    use apogee_protocol::body::inspect::SubscriptionGroupList;
    let c = cluster(|_| {}).await;
    let list = |groups: Vec<SubscriptionGroupConfig>| {
        RemotingCommand::bare_request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST)
            .with_body(
                serde_json::to_vec(&SubscriptionGroupList {
                    group_config_list: groups,
                })
                .unwrap(),
            )
    };
    ok(&c
        .call(list(vec![
            SubscriptionGroupConfig::named("ListedA"),
            SubscriptionGroupConfig::named("ListedB"),
        ]))
        .await);
    let mut bad = SubscriptionGroupConfig::named("ListedC");
    bad.retry_queue_nums = 1_000_000;
    let refused = c
        .call(list(vec![SubscriptionGroupConfig::named("ListedD"), bad]))
        .await;
    assert_eq!(refused.response_code(), ResponseCode::SYSTEM_ERROR);
    let all = c
        .call(RemotingCommand::bare_request(
            RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
        ))
        .await;
    let text = String::from_utf8_lossy(&all.body).into_owned();
    assert!(text.contains("\"ListedA\"") && text.contains("\"ListedB\""));
    assert!(
        !text.contains("\"ListedD\""),
        "nothing of a refused list is applied"
    );
    let system = c
        .call(RemotingCommand::bare_request(
            RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_BROKER,
        ))
        .await;
    ok(&system);
    let list: TopicList = from_json("topics", &system.body).unwrap();
    assert!(list.topic_list.iter().any(|t| t == "SCHEDULE_TOPIC_XXXX"));
    assert!(
        list.topic_list
            .iter()
            .any(|t| t == "RMQ_SYS_TRANS_HALF_TOPIC")
    );
}
