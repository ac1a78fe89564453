//! Transactional messages over real sockets: a half message stays invisible until committed,
//! arrives with its msgId on commit, never on rollback; END_TRANSACTION refuses mismatches with
//! Java's remarks; the check service asks a producer (served over the producer's own
//! connection) and acts on its answer, gives up after `transaction_check_max` checks, and keeps
//! its progress and check counts across a restart. Passes are driven explicitly
//! (`check_transactions_now`, with a one-hour interval) except where the timer is the subject;
//! a pass sees the half queue as dispatched, so tests wait for its max offset first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use apogee_broker::transaction::{CHECK_MAX_TIME_TOPIC, HALF_TOPIC, OP_TOPIC};
use apogee_protocol::body::client::{HeartbeatData, ProducerData};
use apogee_protocol::header::consumer::{OffsetResponseHeader, QueryConsumerOffsetRequestHeader};
use apogee_protocol::header::message::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use apogee_protocol::header::transaction::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader, TransactionResolution,
};
use apogee_protocol::message_id::decode_offset_msg_id;
use apogee_protocol::record::{StoredRecord, find_property, sys_flag};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{
    BoxFuture, Connection, Dispatcher, RemotingClient, RequestProcessor, TransportConfig,
};
use apogee_runtime::{Clock, SystemClock};
use bytes::Bytes;
use common::*;
use tokio::sync::mpsc;

const GROUP: &str = "TxProducerGroup";
const HOUR_MS: u64 = 3_600_000;

/// What a producer learns from a send: the ids END_TRANSACTION echoes.
#[derive(Debug, Clone)]
struct Half {
    uniq_key: String,
    queue_offset: i64,
    commit_log_offset: i64,
}

fn props(s: &str) -> String {
    s.replace('=', "\u{1}").replace(';', "\u{2}")
}

fn prop(record: &StoredRecord, key: &str) -> Option<String> {
    find_property(std::str::from_utf8(&record.properties).unwrap(), key).map(str::to_owned)
}

async fn send_half(c: &Cluster, topic: &str, queue_id: i32, body: &'static [u8]) -> Half {
    let mut header = send_header(
        topic,
        queue_id,
        &props(&format!("TRAN_MSG=true;PGROUP={GROUP};TAGS=TagA;")),
    );
    header.producer_group = GROUP.into();
    header.sys_flag = sys_flag::TRANSACTION_PREPARED;
    header.born_timestamp = SystemClock.now_ms();
    let request = RemotingCommand::request(
        RequestCode::SEND_MESSAGE_V2,
        &SendMessageRequestHeaderV2::from(header),
    )
    .with_body(Bytes::from_static(body));
    let r = c.call(request).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let h: SendMessageResponseHeader = r.header().unwrap();
    assert_eq!(h.queue_id, queue_id, "the real queue is reported");
    Half {
        uniq_key: h.transaction_id.unwrap(),
        queue_offset: h.queue_offset,
        commit_log_offset: decode_offset_msg_id(&h.msg_id).unwrap().1,
    }
}

fn end(half: &Half, group: &str, resolution: i32, from_check: bool) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::END_TRANSACTION,
        &EndTransactionRequestHeader {
            topic: None,
            producer_group: group.into(),
            tran_state_table_offset: half.queue_offset,
            commit_log_offset: half.commit_log_offset,
            commit_or_rollback: resolution,
            from_transaction_check: Some(from_check),
            msg_id: half.uniq_key.clone(),
            transaction_id: Some(half.uniq_key.clone()),
            broker_name: None,
        },
    )
}

/// One CHECK_TRANSACTION_STATE as the producer received it.
struct Check {
    header: CheckTransactionStateRequestHeader,
    message: StoredRecord,
}

impl Check {
    fn half(&self) -> Half {
        Half {
            uniq_key: self.header.msg_id.clone().unwrap(),
            queue_offset: self.header.tran_state_table_offset,
            commit_log_offset: self.header.commit_log_offset,
        }
    }

    fn check_times(&self) -> String {
        prop(&self.message, "TRANSACTION_CHECK_TIMES").unwrap()
    }
}

/// The producer side of CHECK_TRANSACTION_STATE: records each check and, when told to,
/// answers with END_TRANSACTION (oneway, `fromTransactionCheck=true`) over the same
/// connection, as the Java producer does.
struct Producer {
    seen: mpsc::UnboundedSender<Check>,
    answer: Option<TransactionResolution>,
}

impl RequestProcessor for Producer {
    fn process(
        &self,
        connection: Connection,
        request: RemotingCommand,
    ) -> BoxFuture<RemotingCommand> {
        let header: CheckTransactionStateRequestHeader = request.header().unwrap();
        let message = records(&request.body).remove(0);
        let check = Check { header, message };
        let answer = self
            .answer
            .map(|r| end(&check.half(), GROUP, r.to_wire(), true));
        let _ = self.seen.send(check);
        Box::pin(async move {
            if let Some(answer) = answer {
                connection.send_oneway(answer, WAIT).await.unwrap();
            }
            RemotingCommand::response_to(&request, ResponseCode::SUCCESS, None)
        })
    }
}

fn producer(
    answer: Option<TransactionResolution>,
) -> (RemotingClient, mpsc::UnboundedReceiver<Check>) {
    let (seen, rx) = mpsc::unbounded_channel();
    let mut dispatcher = Dispatcher::new();
    dispatcher.register(
        &[RequestCode::CHECK_TRANSACTION_STATE],
        Arc::new(Producer { seen, answer }),
    );
    (
        RemotingClient::new(dispatcher, TransportConfig::default()),
        rx,
    )
}

async fn heartbeat(producer: &RemotingClient, addr: &str) {
    let body = HeartbeatData {
        client_id: "tx-producer@1".into(),
        producer_data_set: vec![ProducerData {
            group_name: GROUP.into(),
        }],
        ..HeartbeatData::default()
    };
    let request = RemotingCommand::bare_request(RequestCode::HEART_BEAT)
        .with_body(serde_json::to_vec(&body).unwrap());
    let r = producer.invoke(addr, request, WAIT).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
}

/// Explicit passes only: no timer pass within a test, and checks due at once.
fn explicit_passes(raw: &mut apogee_broker::RawBrokerConfig) {
    raw.transaction_check_interval_ms = HOUR_MS;
    raw.transaction_timeout_ms = 0;
}

/// Waits until the clock has moved past now, so everything sent so far is older than a
/// zero `transaction_timeout_ms` and one pass checks all of it.
async fn older_than_now() {
    let sent = SystemClock.now_ms();
    while SystemClock.now_ms() <= sent {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn recv(rx: &mut mpsc::UnboundedReceiver<Check>) -> Check {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("a check arrives")
        .unwrap()
}

/// One check pass; a pass stopped by a store error (e.g. the disk guard) fails the test with
/// that reason.
async fn pass(c: &Cluster) -> apogee_broker::service::transaction_check::CheckReport {
    let report = c.broker().check_transactions_now().await;
    assert_eq!(report.stopped_by, None, "{report:?}");
    report
}

async fn pull_one(c: &Cluster, topic: &str, queue_id: i32) -> Option<StoredRecord> {
    let r = c.call(pull(topic, queue_id, 0, "*", 0)).await;
    (r.response_code() == ResponseCode::SUCCESS).then(|| records(&r.body).remove(0))
}

#[tokio::test]
async fn given_half_message_should_stay_invisible_until_commit_then_arrive_with_its_msg_id() {
    let c = cluster(|_| {}).await;
    let half = send_half(&c, "TxOrders", 1, b"order-1").await;
    assert_eq!(half.queue_offset, 0, "the half queue's offset");
    c.wait_max_offset(HALF_TOPIC, 0, 1).await;
    assert!(
        pull_one(&c, "TxOrders", 1).await.is_none(),
        "a half message is invisible"
    );
    let stored = pull_one(&c, HALF_TOPIC, 0).await.unwrap();
    assert_eq!(prop(&stored, "REAL_TOPIC").as_deref(), Some("TxOrders"));
    assert_eq!(prop(&stored, "REAL_QID").as_deref(), Some("1"));
    assert_eq!(prop(&stored, "UNIQ_KEY"), Some(half.uniq_key.clone()));
    assert_eq!(
        stored.sys_flag & sys_flag::TRANSACTION_MASK,
        0,
        "stored as NOT_TYPE"
    );
    assert_eq!(stored.physical_offset, half.commit_log_offset);

    let r = c
        .call(end(
            &half,
            GROUP,
            TransactionResolution::Commit.to_wire(),
            false,
        ))
        .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    c.wait_max_offset("TxOrders", 1, 1).await;
    let real = pull_one(&c, "TxOrders", 1).await.unwrap();
    assert_eq!(&real.body[..], b"order-1");
    assert_eq!(
        prop(&real, "UNIQ_KEY"),
        Some(half.uniq_key),
        "same msgId for the client"
    );
    assert_eq!(prop(&real, "TAGS").as_deref(), Some("TagA"));
    for gone in ["TRAN_MSG", "REAL_TOPIC", "REAL_QID"] {
        assert_eq!(prop(&real, gone), None, "{gone} left on the real message");
    }
    assert_eq!(
        real.sys_flag & sys_flag::TRANSACTION_MASK,
        sys_flag::TRANSACTION_COMMIT
    );
    assert_eq!(real.prepared_transaction_offset, half.commit_log_offset);
    c.wait_max_offset(OP_TOPIC, 0, 1).await;
    let op = pull_one(&c, OP_TOPIC, 0).await.unwrap();
    assert_eq!(
        (&op.body[..], prop(&op, "TAGS").as_deref()),
        (&b"0,"[..], Some("d"))
    );
}

#[tokio::test]
async fn given_rollback_should_never_deliver_the_message_nor_check_it() {
    let c = cluster(explicit_passes).await;
    let (producer, mut rx) = producer(None);
    heartbeat(&producer, &c.addr).await;
    let half = send_half(&c, "TxRolled", 0, b"x").await;
    c.client
        .invoke_oneway(
            &c.addr,
            end(
                &half,
                GROUP,
                TransactionResolution::Rollback.to_wire(),
                false,
            ),
            WAIT,
        )
        .await
        .unwrap();
    c.wait_max_offset(OP_TOPIC, 0, 1).await;
    let report = pass(&c).await;
    assert_eq!((report.resolved, report.checked), (1, 0));
    assert!(pull_one(&c, "TxRolled", 0).await.is_none());
    assert!(
        rx.try_recv().is_err(),
        "a rolled back message is not checked"
    );
    assert_eq!(pass(&c).await, Default::default());
}

#[tokio::test]
async fn given_mismatched_end_transaction_should_answer_system_error_with_javas_remarks() {
    let c = cluster(explicit_passes).await;
    let half = send_half(&c, "TxMismatch", 0, b"x").await;
    let commit = TransactionResolution::Commit.to_wire();
    let wrong_offset = Half {
        queue_offset: half.queue_offset + 1,
        ..half.clone()
    };
    let r = c.call(send_v2("TxPlain", 0, "", b"plain")).await;
    let plain_offset =
        decode_offset_msg_id(&r.header::<SendMessageResponseHeader>().unwrap().msg_id)
            .unwrap()
            .1;
    let not_half = Half {
        commit_log_offset: plain_offset,
        ..half.clone()
    };
    let cases = [
        (
            end(&half, "OtherGroup", commit, false),
            "The producer group wrong",
        ),
        (
            end(&wrong_offset, GROUP, commit, false),
            "The transaction state table offset wrong",
        ),
        (
            end(&not_half, GROUP, commit, false),
            "Find prepared transaction message failed",
        ),
        (end(&half, GROUP, 5, false), "commitOrRollback field wrong"),
    ];
    for (request, remark) in cases {
        let r = c.call(request).await;
        assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR, "{remark}");
        assert_eq!(r.remark.as_deref(), Some(remark));
    }
    let unknown = c.call(end(&half, GROUP, 0, false)).await;
    assert_eq!(unknown.response_code(), ResponseCode::SUCCESS);
    assert_eq!(
        c.call(end(&half, GROUP, commit, false))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    c.wait_max_offset("TxMismatch", 0, 1).await;
    c.wait_max_offset(OP_TOPIC, 0, 1).await;
    assert_eq!(
        pass(&c).await.resolved,
        1,
        "only the commit wrote an op record"
    );
}

#[tokio::test]
async fn given_reject_transaction_message_should_refuse_half_messages_with_no_permission() {
    let c = cluster(|raw| raw.reject_transaction_message = true).await;
    let request = send_v2(
        "TxRefused",
        0,
        &props(&format!("TRAN_MSG=true;PGROUP={GROUP};")),
        b"x",
    );
    let r = c.call(request).await;
    assert_eq!(r.response_code(), ResponseCode::NO_PERMISSION);
    assert_eq!(
        r.remark.as_deref(),
        Some("the broker[127.0.0.1] sending transaction message is forbidden")
    );
}

#[tokio::test]
async fn given_unresolved_half_message_the_timer_should_check_the_producer_and_deliver_its_commit()
{
    let c = cluster(|raw| {
        raw.transaction_check_interval_ms = 200;
        raw.transaction_timeout_ms = 300;
    })
    .await;
    let (producer, mut rx) = producer(Some(TransactionResolution::Commit));
    heartbeat(&producer, &c.addr).await;
    let half = send_half(&c, "TxChecked", 2, b"checked").await;
    let check = tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(check.header.topic.as_deref(), Some(HALF_TOPIC));
    assert_eq!(check.header.msg_id, Some(half.uniq_key.clone()));
    assert_eq!(check.header.transaction_id, Some(half.uniq_key.clone()));
    assert_eq!(check.header.broker_name.as_deref(), Some("broker-a"));
    assert!(
        check.header.tran_state_table_offset > half.queue_offset,
        "a re-appended copy"
    );
    assert_eq!(
        decode_offset_msg_id(check.header.offset_msg_id.as_deref().unwrap())
            .unwrap()
            .1,
        check.header.commit_log_offset
    );
    assert_eq!(
        (check.message.topic_str(), check.message.queue_id),
        ("TxChecked", 2)
    );
    assert_eq!(check.check_times(), "1");
    assert_eq!(&check.message.body[..], b"checked");
    let deadline = tokio::time::Instant::now() + WAIT;
    let real = loop {
        if let Some(real) = pull_one(&c, "TxChecked", 2).await {
            break real;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "commit never delivered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(prop(&real, "UNIQ_KEY"), Some(half.uniq_key));
    assert_eq!(&real.body[..], b"checked");
}

#[tokio::test]
async fn given_unanswered_half_message_should_be_checked_check_max_times_then_moved_aside() {
    let c = cluster(|raw| {
        explicit_passes(raw);
        raw.transaction_check_max = 2;
    })
    .await;
    let (producer, mut rx) = producer(None);
    heartbeat(&producer, &c.addr).await;
    let half = send_half(&c, "TxAbandoned", 0, b"lost").await;
    older_than_now().await;
    for (copies, expected) in [(1, "1"), (2, "2")] {
        c.wait_max_offset(HALF_TOPIC, 0, copies).await;
        assert_eq!(pass(&c).await.checked, 1);
        assert_eq!(recv(&mut rx).await.check_times(), expected);
    }
    c.wait_max_offset(HALF_TOPIC, 0, 3).await;
    assert_eq!(pass(&c).await.discarded, 1);
    c.wait_max_offset(CHECK_MAX_TIME_TOPIC, 0, 1).await;
    let moved = pull_one(&c, CHECK_MAX_TIME_TOPIC, 0).await.unwrap();
    assert_eq!(prop(&moved, "UNIQ_KEY"), Some(half.uniq_key));
    assert_eq!(prop(&moved, "REAL_TOPIC").as_deref(), Some("TxAbandoned"));
    assert_eq!(
        prop(&moved, "TRANSACTION_CHECK_TIMES").as_deref(),
        Some("2")
    );
    assert_eq!(pass(&c).await, Default::default());
    assert!(pull_one(&c, "TxAbandoned", 0).await.is_none());
}

#[tokio::test]
async fn given_restart_between_checks_should_keep_the_progress_and_the_check_counts() {
    let mut c = cluster(|raw| {
        explicit_passes(raw);
        raw.transaction_check_max = 2;
    })
    .await;
    let (producer, mut rx) = producer(None);
    heartbeat(&producer, &c.addr).await;
    let first = send_half(&c, "TxRestart", 0, b"committed").await;
    let second = send_half(&c, "TxRestart", 0, b"abandoned").await;
    older_than_now().await;
    c.wait_max_offset(HALF_TOPIC, 0, 2).await;
    let report = pass(&c).await;
    assert_eq!(report.checked, 2);
    let checks = [recv(&mut rx).await, recv(&mut rx).await];
    assert!(checks.iter().all(|c| c.check_times() == "1"));
    let first_check = checks
        .iter()
        .find(|s| s.half().uniq_key == first.uniq_key)
        .unwrap();
    let r = c
        .call(end(
            &first_check.half(),
            GROUP,
            TransactionResolution::Commit.to_wire(),
            true,
        ))
        .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    c.wait_max_offset(OP_TOPIC, 0, 1).await;

    c.restart_broker().await;
    heartbeat(&producer, &c.addr).await;
    let query = RemotingCommand::request(
        RequestCode::QUERY_CONSUMER_OFFSET,
        &QueryConsumerOffsetRequestHeader {
            consumer_group: "CID_RMQ_SYS_TRANS".into(),
            topic: HALF_TOPIC.into(),
            queue_id: 0,
            set_zero_if_not_found: None,
            broker_name: None,
        },
    );
    let progress = c
        .call(query)
        .await
        .header::<OffsetResponseHeader>()
        .unwrap()
        .offset;
    assert_eq!(progress, 2, "both originals were passed before the restart");
    let report = pass(&c).await;
    assert_eq!((report.resolved, report.checked), (1, 1));
    let again = recv(&mut rx).await;
    assert_eq!(again.half().uniq_key, second.uniq_key);
    assert_eq!(again.check_times(), "2", "the count survived the restart");
    c.wait_max_offset(HALF_TOPIC, 0, 5).await;
    assert_eq!(pass(&c).await.discarded, 1);
    c.wait_max_offset(CHECK_MAX_TIME_TOPIC, 0, 1).await;
    c.wait_max_offset("TxRestart", 0, 1).await;
    let real = pull_one(&c, "TxRestart", 0).await.unwrap();
    assert_eq!(prop(&real, "UNIQ_KEY"), Some(first.uniq_key));
    assert_eq!(pass(&c).await, Default::default());
    assert!(rx.try_recv().is_err());
}
