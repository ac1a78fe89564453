//! The broker over real sockets with a raw remoting client: send (single, V1/V2, batch), pull
//! with tag filtering and the §3.2 status codes, long polling woken by an arrival, offsets,
//! heartbeats and member-change notifications, queue locks, send-back to retry (through the
//! delay levels) and to the DLQ, query by key and by id, registration with the NameServer,
//! restart persistence, and bad input answered with RocketMQ's codes while serving goes on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use apogee_protocol::body::client::{
    ConsumerData, ConsumerIdList, HeartbeatData, LockBatchRequestBody, LockBatchResponseBody,
    MessageModel, MessageQueue, SubscriptionData,
};
use apogee_protocol::body::from_json;
use apogee_protocol::body::route::TopicRouteData;
use apogee_protocol::header::consumer::*;
use apogee_protocol::header::message::{PullMessageResponseHeader, SendMessageResponseHeader};
use apogee_protocol::header::namesrv::GetRouteInfoRequestHeader;
use apogee_protocol::message_id::decode_offset_msg_id;
use apogee_protocol::record::find_property;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{
    BoxFuture, Connection, Dispatcher, RemotingClient, RequestProcessor, TransportConfig,
};
use bytes::Bytes;
use common::*;

fn props(s: &str) -> String {
    s.replace('=', "\u{1}").replace(';', "\u{2}")
}

#[tokio::test]
async fn given_sent_messages_when_pulled_should_return_them_in_order_filtered_by_tag() {
    let c = cluster(|_| {}).await;
    for (i, tag) in ["TagA", "TagB", "TagC", "TagA"].iter().enumerate() {
        let r = c
            .call(send_v2(
                "Orders",
                1,
                &props(&format!("TAGS={tag};KEYS=k{i};")),
                b"payload",
            ))
            .await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
        let h: SendMessageResponseHeader = r.header().unwrap();
        assert_eq!((h.queue_id, h.queue_offset), (1, i64::try_from(i).unwrap()));
        assert!(
            h.transaction_id.is_some(),
            "UNIQ_KEY generated and returned"
        );
        assert_eq!(r.ext_fields.get("MSG_REGION"), Some("DefaultRegion"));
        let (host, _) = decode_offset_msg_id(&h.msg_id).unwrap();
        assert_eq!(host.to_string(), c.broker().advertised_addr().to_string());
    }
    c.wait_max_offset("Orders", 1, 4).await;
    let r = c.call(pull("Orders", 1, 0, "TagA || TagC", 0)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    assert_eq!(r.remark.as_deref(), Some("FOUND"));
    let h: PullMessageResponseHeader = r.header().unwrap();
    assert_eq!((h.next_begin_offset, h.min_offset, h.max_offset), (4, 0, 4));
    let got = records(&r.body);
    let tags: Vec<_> = got
        .iter()
        .map(|m| {
            find_property(std::str::from_utf8(&m.properties).unwrap(), "TAGS")
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(tags, ["TagA", "TagC", "TagA"]);
    assert!(got.iter().all(|m| find_property(
        std::str::from_utf8(&m.properties).unwrap(),
        "CLUSTER"
    ) == Some("DefaultCluster")));

    let r = c.call(pull("Orders", 1, 4, "*", 0)).await;
    assert_eq!(
        (r.response_code(), r.remark.as_deref()),
        (ResponseCode::PULL_NOT_FOUND, Some("OFFSET_OVERFLOW_ONE"))
    );
    let r = c.call(pull("Orders", 1, 9, "*", 0)).await;
    assert_eq!(r.response_code(), ResponseCode::PULL_OFFSET_MOVED);
    // Java's OFFSET_OVERFLOW_BADLY rule: back to the min offset when it is 0, else the max.
    assert_eq!(
        r.header::<PullMessageResponseHeader>()
            .unwrap()
            .next_begin_offset,
        0
    );
    let r = c.call(pull("Orders", 2, 0, "*", 0)).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::PULL_NOT_FOUND,
        "empty queue at offset 0"
    );
    let r = c.call(pull("Orders", 2, 5, "*", 0)).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::PULL_OFFSET_MOVED,
        "empty queue past 0"
    );
    let r = c.call(pull("Orders", 1, 1, "TagZ", 0)).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::PULL_RETRY_IMMEDIATELY,
        "nothing matches the filter"
    );
}

#[tokio::test]
async fn given_suspended_pull_when_a_message_arrives_should_answer_found_before_its_hold_time() {
    let c = cluster(|_| {}).await;
    assert_eq!(
        c.call(send_v2("Waits", 0, "", b"first"))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    c.wait_max_offset("Waits", 0, 1).await;
    let client = c.client.clone();
    let addr = c.addr.clone();
    // Held for up to 20 s; the client waits at most 25 s. A wake-up answers FOUND; a timeout
    // would answer PULL_NOT_FOUND, so the code alone proves the arrival woke it.
    let waiting = tokio::spawn(async move {
        client
            .invoke(
                &addr,
                pull("Waits", 0, 1, "*", 20_000),
                Duration::from_secs(25),
            )
            .await
            .unwrap()
    });
    c.wait_parked(1).await;
    assert_eq!(
        c.call(send_v2("Waits", 0, "", b"second"))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    let r = waiting.await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    assert_eq!(&records(&r.body)[0].body[..], b"second");
}

#[tokio::test]
async fn given_suspended_pull_when_nothing_arrives_should_answer_not_found_at_its_hold_time() {
    let c = cluster(|_| {}).await;
    assert_eq!(
        c.call(send_v2("Quiet", 0, "", b"x")).await.response_code(),
        ResponseCode::SUCCESS
    );
    c.wait_max_offset("Quiet", 0, 1).await;
    let r = c.call(pull("Quiet", 0, 1, "*", 300)).await;
    assert_eq!(r.response_code(), ResponseCode::PULL_NOT_FOUND);
    assert_eq!(
        r.header::<PullMessageResponseHeader>()
            .unwrap()
            .next_begin_offset,
        1
    );
}

#[tokio::test]
async fn given_batch_and_v1_sends_should_store_consecutive_offsets_and_list_every_msg_id() {
    let c = cluster(|_| {}).await;
    let r = c.call(send_batch("Batches", 0, &["a", "b", "c"])).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let h: SendMessageResponseHeader = r.header().unwrap();
    assert_eq!(h.queue_offset, 0);
    assert_eq!(h.msg_id.split(',').count(), 3);
    let v1 = RemotingCommand::request(RequestCode::SEND_MESSAGE, &send_header("Batches", 0, ""))
        .with_body(Bytes::from_static(b"d"));
    let r = c.call(v1).await;
    assert_eq!(
        r.header::<SendMessageResponseHeader>()
            .unwrap()
            .queue_offset,
        3
    );
    c.wait_max_offset("Batches", 0, 4).await;
    let got = records(&c.call(pull("Batches", 0, 0, "*", 0)).await.body);
    let bodies: Vec<_> = got.iter().map(|m| m.body.clone()).collect();
    assert_eq!(
        bodies,
        ["a", "b", "c", "d"].map(|s| Bytes::from_static(s.as_bytes()))
    );
    let uniq: std::collections::BTreeSet<_> = got
        .iter()
        .map(|m| {
            find_property(std::str::from_utf8(&m.properties).unwrap(), "UNIQ_KEY")
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(uniq.len(), 4, "every message gets its own UNIQ_KEY");
}

#[tokio::test]
async fn given_bad_input_should_answer_rocketmq_codes_and_keep_serving() {
    let c = cluster(|raw| raw.max_message_size = 1024).await;
    let cases: Vec<(RemotingCommand, ResponseCode, &str)> = vec![
        (
            send_v2("bad topic!", 0, "", b"x"),
            ResponseCode::INVALID_PARAMETER,
            "illegal topic",
        ),
        (
            send_v2("SCHEDULE_TOPIC_XXXX", 0, "", b"x"),
            ResponseCode::NO_PERMISSION,
            "forbidden",
        ),
        (
            send_v2("Big", 0, "", &[0u8; 2048]),
            ResponseCode::MESSAGE_ILLEGAL,
            "body size over max value",
        ),
        (
            send_v2("Small", 99, "", b"x"),
            ResponseCode::INVALID_PARAMETER,
            "queueId[99] is illegal",
        ),
        (
            RemotingCommand::bare_request(RequestCode::SEND_MESSAGE_V2),
            ResponseCode::SYSTEM_ERROR,
            "",
        ),
        (
            RemotingCommand::bare_request(RequestCode(9999)),
            ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
            "not supported",
        ),
        (
            pull("NoSuchTopic", 0, 0, "*", 0),
            ResponseCode::TOPIC_NOT_EXIST,
            "not exist",
        ),
        (
            send_batch("%RETRY%g", 0, &["a"]),
            ResponseCode::MESSAGE_ILLEGAL,
            "does not support retry group",
        ),
    ];
    for (request, code, remark) in cases {
        let r = c.call(request).await;
        assert_eq!(r.response_code(), code, "{:?}", r.remark);
        assert!(
            r.remark.clone().unwrap_or_default().contains(remark),
            "{:?} lacks {remark}",
            r.remark
        );
    }
    assert_eq!(
        c.call(send_v2("Small", 0, "", b"x")).await.response_code(),
        ResponseCode::SUCCESS
    );
    c.wait_max_offset("Small", 0, 1).await;
    let r = c.call(pull("Small", 7, 0, "*", 0)).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::INVALID_PARAMETER,
        "{:?}",
        r.remark
    );
    let mut batch = send_batch("Small", 0, &["a"]);
    batch.body = Bytes::from_static(&[0, 0, 0, 99, 1, 2]);
    assert_eq!(
        c.call(batch).await.response_code(),
        ResponseCode::MESSAGE_ILLEGAL
    );
    // Still serving.
    let r = c.call(pull("Small", 0, 0, "*", 0)).await;
    assert_eq!(records(&r.body).len(), 1);
}

#[tokio::test]
async fn given_committed_offsets_should_be_queried_and_survive_a_restart() {
    let mut c = cluster(|_| {}).await;
    assert_eq!(
        c.call(send_v2("Offs", 0, "", b"x")).await.response_code(),
        ResponseCode::SUCCESS
    );
    c.wait_max_offset("Offs", 0, 1).await;
    let query = |set_zero: Option<bool>| {
        RemotingCommand::request(
            RequestCode::QUERY_CONSUMER_OFFSET,
            &QueryConsumerOffsetRequestHeader {
                consumer_group: "cg".into(),
                topic: "Offs".into(),
                queue_id: 0,
                set_zero_if_not_found: set_zero,
                broker_name: None,
            },
        )
    };
    assert_eq!(
        c.call(query(Some(false))).await.response_code(),
        ResponseCode::QUERY_NOT_FOUND
    );
    assert_eq!(
        c.call(query(None))
            .await
            .header::<OffsetResponseHeader>()
            .unwrap()
            .offset,
        0
    );
    let update = RemotingCommand::request(
        RequestCode::UPDATE_CONSUMER_OFFSET,
        &UpdateConsumerOffsetRequestHeader {
            consumer_group: "cg".into(),
            topic: "Offs".into(),
            queue_id: 0,
            commit_offset: 1,
            broker_name: None,
        },
    );
    assert_eq!(c.call(update).await.response_code(), ResponseCode::SUCCESS);
    let max = RemotingCommand::request(
        RequestCode::GET_MAX_OFFSET,
        &GetMaxOffsetRequestHeader {
            topic: "Offs".into(),
            queue_id: 0,
            committed: None,
            broker_name: None,
        },
    );
    assert_eq!(
        c.call(max)
            .await
            .header::<OffsetResponseHeader>()
            .unwrap()
            .offset,
        1
    );
    let earliest = RemotingCommand::request(
        RequestCode::GET_EARLIEST_MSG_STORETIME,
        &QueueRequestHeader {
            topic: "Offs".into(),
            queue_id: 0,
            broker_name: None,
        },
    );
    let t = c
        .call(earliest)
        .await
        .header::<GetEarliestMsgStoretimeResponseHeader>()
        .unwrap()
        .timestamp;
    assert!(t > 1_600_000_000_000);
    let search = |ts: i64| {
        RemotingCommand::request(
            RequestCode::SEARCH_OFFSET_BY_TIMESTAMP,
            &SearchOffsetRequestHeader {
                topic: "Offs".into(),
                queue_id: 0,
                timestamp: ts,
                boundary_type: None,
                broker_name: None,
            },
        )
    };
    assert_eq!(
        c.call(search(t))
            .await
            .header::<OffsetResponseHeader>()
            .unwrap()
            .offset,
        0
    );
    assert_eq!(
        c.call(search(t + 1))
            .await
            .header::<OffsetResponseHeader>()
            .unwrap()
            .offset,
        1
    );
    c.restart_broker().await;
    assert_eq!(
        c.call(query(Some(false)))
            .await
            .header::<OffsetResponseHeader>()
            .unwrap()
            .offset,
        1
    );
    assert!(c.broker().advertised_addr().port() > 0);
    let text =
        std::fs::read_to_string(c.dir.path().join("store/config/consumerOffset.json")).unwrap();
    assert!(text.contains(r#""Offs@cg":{0:1}"#), "{text}");
    assert!(c.dir.path().join("store/config/topics.json").exists());
}

/// Records NOTIFY_CONSUMER_IDS_CHANGED requests a client receives.
struct NotifyRecorder(tokio::sync::mpsc::UnboundedSender<String>);

impl RequestProcessor for NotifyRecorder {
    fn process(&self, _c: Connection, request: RemotingCommand) -> BoxFuture<RemotingCommand> {
        let group = request
            .header::<ConsumerGroupHeader>()
            .map(|h| h.consumer_group)
            .unwrap_or_default();
        let _ = self.0.send(group);
        Box::pin(async move { RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None) })
    }
}

fn heartbeat(client_id: &str, group: &str, topic: &str) -> RemotingCommand {
    let body = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            consume_from_where: "CONSUME_FROM_LAST_OFFSET".into(),
            consume_type: "CONSUME_PASSIVELY".into(),
            group_name: group.into(),
            message_model: MessageModel::Clustering,
            subscription_data_set: vec![SubscriptionData::from_tag_expression(topic, "TagA", 1)],
            unit_mode: false,
        }],
        ..HeartbeatData::default()
    };
    RemotingCommand::bare_request(RequestCode::HEART_BEAT)
        .with_body(serde_json::to_vec(&body).unwrap())
}

#[tokio::test]
async fn given_two_consumers_should_list_both_notify_on_join_and_leave_and_filter_by_registered_subscription()
 {
    let c = cluster(|_| {}).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut dispatcher = Dispatcher::new();
    dispatcher.register(
        &[RequestCode::NOTIFY_CONSUMER_IDS_CHANGED],
        Arc::new(NotifyRecorder(tx)),
    );
    let first = RemotingClient::new(dispatcher, TransportConfig::default());
    let r = first
        .invoke(&c.addr, heartbeat("c1", "G", "Subs"), WAIT)
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    assert!(c.broker().advertised_addr().port() > 0);
    let second = RemotingClient::new(Dispatcher::new(), TransportConfig::default());
    second
        .invoke(&c.addr, heartbeat("c2", "G", "Subs"), WAIT)
        .await
        .unwrap();
    let notified = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(notified, "G");
    let list = RemotingCommand::request(
        RequestCode::GET_CONSUMER_LIST_BY_GROUP,
        &ConsumerGroupHeader {
            consumer_group: "G".into(),
        },
    );
    let ids: ConsumerIdList = from_json("ids", &c.call(list.clone()).await.body).unwrap();
    assert_eq!(ids.consumer_id_list, ["c1", "c2"]);
    // The retry topic exists after the heartbeat; a pull without FLAG_SUBSCRIPTION uses the
    // registered "TagA" filter.
    for tag in ["TagA", "TagB"] {
        c.call(send_v2("Subs", 0, &props(&format!("TAGS={tag};")), b"m"))
            .await;
    }
    c.wait_max_offset("Subs", 0, 2).await;
    let mut registered = pull("Subs", 0, 0, "ignored", 0);
    registered.ext_fields.insert("consumerGroup", "G");
    registered.ext_fields.insert("sysFlag", "0");
    let got = records(&c.call(registered).await.body);
    assert_eq!(got.len(), 1);
    second.shutdown();
    let notified = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(notified, "G", "leaving is announced too");
    let ids: ConsumerIdList = from_json("ids", &c.call(list).await.body).unwrap();
    assert_eq!(ids.consumer_id_list, ["c1"]);
    let unknown = RemotingCommand::request(
        RequestCode::GET_CONSUMER_LIST_BY_GROUP,
        &ConsumerGroupHeader {
            consumer_group: "nobody".into(),
        },
    );
    assert_eq!(
        c.call(unknown).await.response_code(),
        ResponseCode::SYSTEM_ERROR
    );
}

#[tokio::test]
async fn given_queue_locks_should_grant_to_one_client_until_unlocked() {
    let c = cluster(|_| {}).await;
    let body = |client: &str, ids: &[i32]| LockBatchRequestBody {
        client_id: client.into(),
        consumer_group: "OG".into(),
        mq_set: ids
            .iter()
            .map(|&queue_id| MessageQueue {
                broker_name: "broker-a".into(),
                queue_id,
                topic: "T".into(),
            })
            .collect(),
        only_this_broker: false,
    };
    let lock = |b: LockBatchRequestBody| {
        RemotingCommand::bare_request(RequestCode::LOCK_BATCH_MQ)
            .with_body(serde_json::to_vec(&b).unwrap())
    };
    let granted = |r: RemotingCommand| -> Vec<i32> {
        let body: LockBatchResponseBody = from_json("lock", &r.body).unwrap();
        body.lock_ok_mq_set.iter().map(|q| q.queue_id).collect()
    };
    assert_eq!(granted(c.call(lock(body("a", &[0, 1]))).await), [0, 1]);
    assert_eq!(granted(c.call(lock(body("b", &[1, 2]))).await), [2]);
    let unlock = RemotingCommand::bare_request(RequestCode::UNLOCK_BATCH_MQ)
        .with_body(serde_json::to_vec(&body("a", &[1])).unwrap());
    assert_eq!(c.call(unlock).await.response_code(), ResponseCode::SUCCESS);
    assert_eq!(granted(c.call(lock(body("b", &[1]))).await), [1]);
}

fn send_back(offset: i64, delay_level: i32, max: Option<i32>) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::CONSUMER_SEND_MSG_BACK,
        &ConsumerSendMsgBackRequestHeader {
            offset,
            group: "RG".into(),
            delay_level,
            origin_msg_id: None,
            origin_topic: Some("Work".into()),
            unit_mode: None,
            max_reconsume_times: max,
            broker_name: None,
        },
    )
}

#[tokio::test]
async fn given_failed_message_sent_back_should_return_on_the_retry_topic_after_its_delay_then_reach_the_dlq()
 {
    let c = cluster(|_| {}).await;
    c.call(heartbeat("c1", "RG", "Work")).await;
    let r = c
        .call(send_v2(
            "Work",
            0,
            &props("TAGS=TagA;KEYS=order-1;"),
            b"job",
        ))
        .await;
    let h: SendMessageResponseHeader = r.header().unwrap();
    let (_, offset) = decode_offset_msg_id(&h.msg_id).unwrap();
    // delay level 0 → 3 + reconsumeTimes = level 3 (1 s in this test's table).
    assert_eq!(
        c.call(send_back(offset, 0, None)).await.response_code(),
        ResponseCode::SUCCESS
    );
    let pull_retry = || pull("%RETRY%RG", 0, 0, "*", 0);
    assert_eq!(
        c.call(pull_retry()).await.response_code(),
        ResponseCode::PULL_NOT_FOUND,
        "not before its delay"
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    let retried = loop {
        c.broker().deliver_due_delays().unwrap();
        let r = c.call(pull_retry()).await;
        if r.response_code() == ResponseCode::SUCCESS {
            break records(&r.body).remove(0);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "retry never delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let p = std::str::from_utf8(&retried.properties).unwrap().to_owned();
    assert_eq!(retried.reconsume_times, 1);
    assert_eq!(find_property(&p, "RETRY_TOPIC"), Some("Work"));
    assert!(find_property(&p, "ORIGIN_MESSAGE_ID").is_some());
    assert!(find_property(&p, "DELAY").is_none());
    assert!(
        retried.store_timestamp - 1_000 >= h.queue_offset,
        "stored after the delay"
    );
    // The retried copy fails again with maxReconsumeTimes 1 → DLQ, readable for browsing.
    assert_eq!(
        c.call(send_back(retried.physical_offset, 0, Some(1)))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    c.wait_max_offset("%DLQ%RG", 0, 1).await;
    let r = c.call(pull("%DLQ%RG", 0, 0, "*", 0)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let dead = records(&r.body).remove(0);
    assert_eq!(&dead.body[..], b"job");
    assert_eq!(dead.reconsume_times, 2);
    let unknown = send_back(offset, 0, None);
    let mut unknown = unknown;
    unknown.ext_fields.insert("group", "NoSuchGroup");
    assert_eq!(
        c.call(unknown).await.response_code(),
        ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST
    );
}

#[tokio::test]
async fn given_delay_level_message_should_arrive_on_its_topic_no_sooner_than_its_delay_and_after_restart()
 {
    let mut c = cluster(|raw| raw.message_delay_level = "1s 2s".into()).await;
    let r = c
        .call(send_v2("Later", 0, &props("DELAY=2;"), b"late"))
        .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let sent_at = apogee_runtime::Clock::now_ms(&apogee_runtime::SystemClock);
    c.broker().deliver_due_delays().unwrap();
    assert_eq!(
        c.call(pull("Later", 0, 0, "*", 0)).await.response_code(),
        ResponseCode::PULL_NOT_FOUND
    );
    c.restart_broker().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let got = loop {
        let r = c.call(pull("Later", 0, 0, "*", 0)).await;
        if r.response_code() == ResponseCode::SUCCESS {
            break records(&r.body).remove(0);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "delay message never delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        got.store_timestamp >= sent_at + 2_000 - 50,
        "delivered {} ms after sending",
        got.store_timestamp - sent_at
    );
    assert_eq!(&got.body[..], b"late");
}

#[tokio::test]
async fn given_keys_should_find_messages_by_key_and_by_offset_id() {
    let c = cluster(|_| {}).await;
    let r = c
        .call(send_v2(
            "Find",
            0,
            &props("KEYS=order-42 other;"),
            b"found me",
        ))
        .await;
    let h: SendMessageResponseHeader = r.header().unwrap();
    let query = |key: &str| {
        RemotingCommand::request(
            RequestCode::QUERY_MESSAGE,
            &QueryMessageRequestHeader {
                topic: "Find".into(),
                key: key.into(),
                max_num: 32,
                begin_timestamp: 0,
                end_timestamp: i64::MAX,
            },
        )
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let r = c.call(query("order-42")).await;
        if r.response_code() == ResponseCode::SUCCESS {
            assert_eq!(&records(&r.body)[0].body[..], b"found me");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        c.call(query("nope")).await.response_code(),
        ResponseCode::QUERY_NOT_FOUND
    );
    let (_, offset) = decode_offset_msg_id(&h.msg_id).unwrap();
    let view = RemotingCommand::request(
        RequestCode::VIEW_MESSAGE_BY_ID,
        &ViewMessageRequestHeader {
            topic: None,
            offset,
        },
    );
    assert_eq!(&records(&c.call(view).await.body)[0].body[..], b"found me");
    let bad = RemotingCommand::request(
        RequestCode::VIEW_MESSAGE_BY_ID,
        &ViewMessageRequestHeader {
            topic: None,
            offset: 1 << 40,
        },
    );
    assert_eq!(
        c.call(bad).await.response_code(),
        ResponseCode::SYSTEM_ERROR
    );
}

#[tokio::test]
async fn given_new_topic_should_be_routable_through_the_namesrv() {
    let c = cluster(|_| {}).await;
    assert_eq!(
        c.call(send_v2("Routed", 0, "", b"x")).await.response_code(),
        ResponseCode::SUCCESS
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let request = RemotingCommand::request(
            RequestCode::GET_ROUTEINFO_BY_TOPIC,
            &GetRouteInfoRequestHeader {
                topic: "Routed".into(),
                accept_standard_json_only: None,
            },
        );
        let r = c
            .client
            .invoke(&c.namesrv_addr, request, WAIT)
            .await
            .unwrap();
        if r.response_code() == ResponseCode::SUCCESS {
            let route: TopicRouteData = from_json("route", &r.body).unwrap();
            assert_eq!(route.queue_datas[0].write_queue_nums, 4);
            let addrs: Vec<_> = route.broker_datas[0]
                .broker_addrs
                .values()
                .cloned()
                .collect();
            assert_eq!(addrs, [c.broker().advertised_addr().to_string()]);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "route never appeared"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn given_auto_create_off_should_refuse_unknown_groups_and_topics_with_their_codes() {
    let c = cluster(|raw| {
        raw.auto_create_subscription_group = false;
        raw.auto_create_topic_enable = false;
    })
    .await;
    let r = c.call(send_v2("Unknown", 0, "", b"x")).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::TOPIC_NOT_EXIST,
        "{:?}",
        r.remark
    );
    assert!(r.remark.unwrap().contains("Unknown"));
    let r = c.call(pull("SELF_TEST_TOPIC", 0, 0, "*", 0)).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
        "{:?}",
        r.remark
    );
    assert!(r.remark.unwrap().contains("cg"));
    let mut missing = send_v2("Unknown", 0, "", b"x");
    missing.ext_fields.remove("b");
    let r = c.call(missing).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains('b'), "names the missing field");
}
