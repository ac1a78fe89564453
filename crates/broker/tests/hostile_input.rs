//! Hostile input over real sockets, one row per case: every row gets a clear RocketMQ code and
//! remark, the broker keeps serving other clients throughout, and afterwards — after a
//! restart, too — every acknowledged message is still readable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use apogee_protocol::body::client::{ConsumerData, HeartbeatData, MessageModel};
use apogee_protocol::header::consumer::{
    ConsumerSendMsgBackRequestHeader, UpdateConsumerOffsetRequestHeader, ViewMessageRequestHeader,
};
use apogee_protocol::header::message::SendMessageResponseHeader;
use apogee_protocol::header::transaction::EndTransactionRequestHeader;
use apogee_protocol::message_id::decode_offset_msg_id;
use apogee_protocol::record::{MAGIC_V1, StoredRecord, body_crc};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use bytes::Bytes;
use common::{Cluster, cluster, create_topic, pull, records, send_v2};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One hostile request and what the broker must answer.
struct Row {
    what: &'static str,
    request: RemotingCommand,
    code: ResponseCode,
    remark: &'static str,
}

fn row(
    what: &'static str,
    request: RemotingCommand,
    code: ResponseCode,
    remark: &'static str,
) -> Row {
    Row {
        what,
        request,
        code,
        remark,
    }
}

fn heartbeat(groups: usize) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: "hostile@1".into(),
        consumer_data_set: (0..groups)
            .map(|i| ConsumerData {
                consume_from_where: "CONSUME_FROM_LAST_OFFSET".into(),
                consume_type: "CONSUME_PASSIVELY".into(),
                group_name: format!("flood{i}"),
                message_model: MessageModel::Clustering,
                subscription_data_set: Vec::new(),
                unit_mode: false,
            })
            .collect(),
        ..HeartbeatData::default()
    };
    RemotingCommand::bare_request(RequestCode::HEART_BEAT)
        .with_body(serde_json::to_vec(&data).unwrap())
}

fn commit_offset(group: String, topic: &str) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::UPDATE_CONSUMER_OFFSET,
        &UpdateConsumerOffsetRequestHeader {
            consumer_group: group,
            topic: topic.into(),
            queue_id: 0,
            commit_offset: 1,
            broker_name: None,
        },
    )
}

fn end_transaction(commit_log_offset: i64, queue_offset: i64) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::END_TRANSACTION,
        &EndTransactionRequestHeader {
            topic: None,
            producer_group: "pg".into(),
            tran_state_table_offset: queue_offset,
            commit_log_offset,
            commit_or_rollback: 8,
            from_transaction_check: Some(true),
            msg_id: "forged".into(),
            transaction_id: None,
            broker_name: None,
        },
    )
}

fn send_back(offset: i64, origin_topic: &str) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::CONSUMER_SEND_MSG_BACK,
        &ConsumerSendMsgBackRequestHeader {
            offset,
            group: "cg".into(),
            delay_level: 0,
            origin_msg_id: None,
            origin_topic: Some(origin_topic.into()),
            unit_mode: None,
            max_reconsume_times: None,
            broker_name: None,
        },
    )
}

fn view(offset: i64) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::VIEW_MESSAGE_BY_ID,
        &ViewMessageRequestHeader {
            topic: None,
            offset,
        },
    )
}

/// A complete stored record claiming to sit at `physical_offset`, as a forger would put it in
/// a message body.
fn forged_record(topic: &str, physical_offset: i64, props: &str) -> Vec<u8> {
    let record = StoredRecord {
        magic: MAGIC_V1,
        body_crc: body_crc(b"forged"),
        queue_id: 0,
        flag: 0,
        queue_offset: 0,
        physical_offset,
        sys_flag: 0,
        born_timestamp: 1,
        born_host: "10.9.9.9:1".parse().unwrap(),
        store_timestamp: 2,
        store_host: "10.9.9.9:2".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from_static(b"forged"),
        topic: Bytes::copy_from_slice(topic.as_bytes()),
        properties: Bytes::copy_from_slice(props.as_bytes()),
    };
    let mut out = Vec::new();
    record.encode(&mut out);
    out
}

/// CommitLog offset of an acknowledged send.
fn offset_of(response: &RemotingCommand) -> i64 {
    let header: SendMessageResponseHeader = response.header().unwrap();
    decode_offset_msg_id(&header.msg_id).unwrap().1
}

/// Sends a message whose body is a forged record that names the offset its body lands at
/// (the next record starts after `Anchor`'s; its body 88 bytes later, IPv4 hosts). Returns
/// that offset.
async fn plant_forgery(c: &Cluster, topic: &str, props: &str) -> i64 {
    let anchor = c.call(send_v2("Anchor", 0, "", b"anchor")).await;
    assert_eq!(anchor.response_code(), ResponseCode::SUCCESS);
    let anchor_at = offset_of(&anchor);
    let anchor_len = c.call(view(anchor_at)).await.body.len() as i64;
    let body_at = anchor_at + anchor_len + 88;
    let forged = forged_record(topic, body_at, props);
    let mut carrier = send_v2("Anchor", 0, "", b"");
    carrier.body = Bytes::from(forged);
    let r = c.call(carrier).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    assert_eq!(
        offset_of(&r),
        anchor_at + anchor_len,
        "the carrier follows the anchor"
    );
    body_at
}

/// Writes raw bytes on a fresh connection and reports whether the broker closed it.
async fn raw_frame(addr: &str, bytes: &[u8]) -> bool {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let _ = stream.shutdown().await;
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// One row per hostile request: names, sizes and counts.
fn limit_rows() -> Vec<Row> {
    let long_topic: &'static str = Box::leak("t".repeat(300).into_boxed_str());
    vec![
        row(
            "path-like topic",
            send_v2("../../escape", 0, "", b"x"),
            ResponseCode::INVALID_PARAMETER,
            "illegal topic",
        ),
        row(
            "absolute topic",
            send_v2("/var/tmp/x", 0, "", b"x"),
            ResponseCode::INVALID_PARAMETER,
            "illegal topic",
        ),
        row(
            "oversize topic",
            send_v2(long_topic, 0, "", b"x"),
            ResponseCode::INVALID_PARAMETER,
            "limit is 127",
        ),
        row(
            "oversize group on commit",
            commit_offset("g".repeat(300), "Kept"),
            ResponseCode::INVALID_PARAMETER,
            "limit is 255",
        ),
        row(
            "path-like group on commit",
            commit_offset("../x".into(), "Kept"),
            ResponseCode::INVALID_PARAMETER,
            "contains '.'",
        ),
        row(
            "2^31 queues",
            create_topic("Huge", i32::MAX, None),
            ResponseCode::SYSTEM_ERROR,
            "topic_queue_nums_max",
        ),
        row(
            "negative queues",
            create_topic("Negative", -1, None),
            ResponseCode::SYSTEM_ERROR,
            "topic_queue_nums_max",
        ),
        row(
            "thousands of groups in one heartbeat",
            heartbeat(5000),
            ResponseCode::SYSTEM_ERROR,
            "heartbeat_groups_max",
        ),
        row(
            "unknown code",
            RemotingCommand::bare_request(RequestCode(31_999)),
            ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
            "not supported",
        ),
        row(
            "send without a header",
            RemotingCommand::bare_request(RequestCode::SEND_MESSAGE),
            ResponseCode::SYSTEM_ERROR,
            "",
        ),
    ]
}

/// One row per request naming a forged offset: `forged_half` and `forged_secret` are offsets
/// of forged records planted inside message bodies.
fn forged_rows(forged_half: i64, forged_secret: i64) -> Vec<Row> {
    vec![
        row(
            "END_TRANSACTION on a forged half",
            end_transaction(forged_half, 0),
            ResponseCode::SYSTEM_ERROR,
            "Find prepared transaction message failed",
        ),
        row(
            "END_TRANSACTION mid-record",
            end_transaction(forged_half + 3, 0),
            ResponseCode::SYSTEM_ERROR,
            "Find prepared transaction message failed",
        ),
        row(
            "send-back of a forged record",
            send_back(forged_secret, "Secret"),
            ResponseCode::SYSTEM_ERROR,
            "look message by offset failed",
        ),
        row(
            "send-back of a half message's offset",
            send_back(forged_half, "RMQ_SYS_TRANS_HALF_TOPIC"),
            ResponseCode::SYSTEM_ERROR,
            "look message by offset failed",
        ),
        row(
            "view a forged record",
            view(forged_secret),
            ResponseCode::SYSTEM_ERROR,
            "can not find message by the offset",
        ),
        row(
            "view past the end",
            view(i64::MAX),
            ResponseCode::SYSTEM_ERROR,
            "can not find message by the offset",
        ),
    ]
}

/// Pulls that ask to be held forever, or carry a body, and frames past the limit or cut
/// short: each answered or closed, never parked without bound.
async fn check_pulls_and_frames(c: &Cluster) {
    let held = c.call(pull("Kept", 0, 20, "*", i64::MAX)).await;
    assert_eq!(
        held.response_code(),
        ResponseCode::PULL_NOT_FOUND,
        "{:?}",
        held.remark
    );
    let mut padded = pull("Kept", 0, 20, "*", 20_000);
    padded.body = Bytes::from(vec![0u8; 8 * 1024 * 1024]);
    let r = c
        .client
        .invoke(&c.addr, padded, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        r.response_code(),
        ResponseCode::PULL_NOT_FOUND,
        "answered at once, not parked"
    );
    assert_eq!(c.broker().parked_pulls(), 0);
    let mut oversize = (16 * 1024 * 1024 + 1u32).to_be_bytes().to_vec();
    oversize.extend_from_slice(&[0u8; 64]);
    assert!(
        raw_frame(&c.addr, &oversize).await,
        "an oversize frame closes its connection"
    );
    assert!(
        raw_frame(&c.addr, &[0, 0, 0, 100, 0, 0, 0, 20, 1, 2, 3]).await,
        "a cut frame"
    );
    assert!(
        raw_frame(&c.addr, &[0xFF, 0xFF, 0xFF, 0xFF]).await,
        "a negative length"
    );
}

/// Every acknowledged message of `Kept` is there, in order, before and after a restart.
async fn check_acknowledged(c: &mut Cluster, acked: &[Vec<u8>]) {
    for round in ["before restart", "after restart"] {
        c.wait_max_offset("Kept", 0, 20).await;
        let r = c.call(pull("Kept", 0, 0, "*", 0)).await;
        let bodies: Vec<Vec<u8>> = records(&r.body)
            .into_iter()
            .map(|m| m.body.to_vec())
            .collect();
        assert_eq!(bodies, acked, "{round}");
        if round == "before restart" {
            c.restart_broker().await;
        }
    }
}

#[tokio::test]
async fn given_hostile_requests_should_answer_each_clearly_keep_serving_and_lose_nothing() {
    let mut c = cluster(|raw| {
        raw.long_polling_suspend_max_ms = 1000;
        raw.heartbeat_groups_max = 100;
    })
    .await;
    let mut acked = Vec::new();
    for i in 0..20 {
        let body: &'static [u8] = Box::leak(format!("kept-{i}").into_bytes().into_boxed_slice());
        let r = c.call(send_v2("Kept", 0, "", body)).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
        acked.push(body.to_vec());
    }
    let half_props = "PGROUP\u{1}pg\u{2}REAL_TOPIC\u{1}../../escape\u{2}REAL_QID\u{1}0\u{2}";
    let forged_half = plant_forgery(&c, "RMQ_SYS_TRANS_HALF_TOPIC", half_props).await;
    let forged_secret = plant_forgery(&c, "Secret", "").await;
    // Group `cg` exists (a real consumer pulled with it), so send-back reaches its checks.
    c.wait_max_offset("Kept", 0, 20).await;
    assert_eq!(
        c.call(pull("Kept", 0, 0, "*", 0)).await.response_code(),
        ResponseCode::SUCCESS
    );
    let rows = limit_rows()
        .into_iter()
        .chain(forged_rows(forged_half, forged_secret));
    for Row {
        what,
        request,
        code,
        remark,
    } in rows
    {
        let r = c.call(request).await;
        assert_eq!(r.response_code(), code, "{what}: {:?}", r.remark);
        let text = r.remark.clone().unwrap_or_default();
        assert!(
            text.contains(remark),
            "{what}: remark {text:?} lacks {remark:?}"
        );
        // Another client is served between rows.
        let other = c.call(send_v2("Other", 0, "", b"still here")).await;
        assert_eq!(other.response_code(), ResponseCode::SUCCESS, "after {what}");
    }
    check_pulls_and_frames(&c).await;
    // Nothing escaped the store directory, and no forged message reached a topic.
    for escaped in ["escape", "store/escape", "store/consumequeue/../escape"] {
        assert!(!c.dir.path().join(escaped).exists(), "{escaped}");
    }
    assert_ne!(
        c.call(pull("Secret", 0, 0, "*", 0)).await.response_code(),
        ResponseCode::SUCCESS
    );
    check_acknowledged(&mut c, &acked).await;
}

#[tokio::test]
async fn given_the_parked_pull_limit_should_answer_the_next_pull_system_busy_and_serve_the_parked_one()
 {
    let c = cluster(|raw| raw.suspended_pulls_max = 1).await;
    assert_eq!(
        c.call(send_v2("Parked", 0, "", b"first"))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    c.wait_max_offset("Parked", 0, 1).await;
    let (client, addr) = (c.client.clone(), c.addr.clone());
    let parked = tokio::spawn(async move {
        client
            .invoke(
                &addr,
                pull("Parked", 0, 1, "*", 20_000),
                Duration::from_secs(25),
            )
            .await
            .unwrap()
    });
    c.wait_parked(1).await;
    let refused = c.call(pull("Parked", 0, 1, "*", 20_000)).await;
    assert_eq!(refused.response_code(), ResponseCode::SYSTEM_BUSY);
    assert!(
        refused
            .remark
            .unwrap_or_default()
            .contains("suspended_pulls_max"),
        "the remark names the limit"
    );
    assert_eq!(
        c.call(send_v2("Parked", 0, "", b"second"))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    let woken = parked.await.unwrap();
    assert_eq!(woken.response_code(), ResponseCode::SUCCESS);
    assert_eq!(&records(&woken.body)[0].body[..], b"second");
    c.wait_parked(0).await;
}

/// The case that opened the hardening issue: one send whose properties already carry
/// `UNIQ_KEY` and `CLUSTER` but lack the final 0x02 (as 5.x clients may send them), then 19
/// ordinary sends; after a clean restart all 20 must still be there (recovery once cut the log
/// at the first of them).
#[tokio::test]
async fn given_client_properties_without_a_final_separator_should_keep_every_message_across_restarts()
 {
    let mut c = cluster(|_| {}).await;
    let shaped = send_v2("Shaped", 0, "UNIQ_KEY\u{1}AC1\u{2}CLUSTER\u{1}c", b"shaped");
    assert_eq!(c.call(shaped).await.response_code(), ResponseCode::SUCCESS);
    let forged_crc = send_v2(
        "Shaped",
        0,
        "TAGS\u{1}A\u{2}__CRC32#\u{1}9999999999\u{2}",
        b"crc",
    );
    assert_eq!(
        c.call(forged_crc).await.response_code(),
        ResponseCode::SUCCESS
    );
    for _ in 0..18 {
        let plain = send_v2("Shaped", 0, "TAGS\u{1}A\u{2}", b"plain");
        assert_eq!(c.call(plain).await.response_code(), ResponseCode::SUCCESS);
    }
    for _ in 0..2 {
        c.restart_broker().await;
        c.wait_max_offset("Shaped", 0, 20).await;
        let r = c.call(pull("Shaped", 0, 0, "*", 0)).await;
        let stored = records(&r.body);
        assert_eq!(stored.len(), 20);
        assert_eq!(&stored[0].body[..], b"shaped");
        assert_eq!(stored[0].properties_map()["CLUSTER"], "c");
        assert!(!stored[1].properties_map().contains_key("__CRC32#"));
    }
}

/// A message stored with `reconsumeTimes = i32::MAX` (a client's number) is sent back to the
/// DLQ without an overflow (which panicked in debug builds and wrapped negative in release).
#[tokio::test]
async fn given_a_client_reconsume_count_at_the_maximum_should_send_it_back_to_the_dlq() {
    let c = cluster(|_| {}).await;
    let mut header = common::send_header("Maxed", 0, "");
    header.reconsume_times = Some(i32::MAX);
    let request = RemotingCommand::request(RequestCode::SEND_MESSAGE, &header)
        .with_body(Bytes::from_static(b"maxed"));
    let sent = c.call(request).await;
    assert_eq!(
        sent.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        sent.remark
    );
    c.wait_max_offset("Maxed", 0, 1).await;
    assert_eq!(
        c.call(pull("Maxed", 0, 0, "*", 0)).await.response_code(),
        ResponseCode::SUCCESS
    );
    let back = c.call(send_back(offset_of(&sent), "Maxed")).await;
    assert_eq!(
        back.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        back.remark
    );
    c.wait_max_offset("%DLQ%cg", 0, 1).await;
    let dlq = c.call(pull("%DLQ%cg", 0, 0, "*", 0)).await;
    assert_eq!(
        records(&dlq.body)[0].reconsume_times,
        i32::MAX,
        "saturated, not wrapped"
    );
}
