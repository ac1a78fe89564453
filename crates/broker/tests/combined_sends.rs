//! Sends that arrive together in one read are appended together: in one CommitLog write,
//! even when the send gate lets only one send at a time; every one is answered with its own
//! place (dense queue offsets, in the order sent), and each is stored where its answer says,
//! across queues and after a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_protocol::FrameLimits;
use apogee_protocol::body::{KvTable, from_json};
use apogee_protocol::frame::{decode_frame, encode_frame};
use apogee_protocol::header::consumer::GetMaxOffsetRequestHeader;
use apogee_protocol::header::message::SendMessageResponseHeader;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use bytes::BytesMut;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BODIES: [&[u8]; 8] = [b"m0", b"m1", b"m2", b"m3", b"m4", b"m5", b"m6", b"m7"];

async fn answers(stream: &mut TcpStream, count: usize) -> Vec<RemotingCommand> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, async {
        while out.len() < count {
            while let Some(cmd) = decode_frame(&mut buf, &FrameLimits::default()).unwrap() {
                out.push(cmd);
            }
            if out.len() < count {
                assert_ne!(stream.read_buf(&mut buf).await.unwrap(), 0, "closed");
            }
        }
    })
    .await
    .expect("every send answered in time");
    out.sort_by_key(|cmd| cmd.opaque);
    out
}

async fn commit_log_writes(c: &Cluster) -> u64 {
    let info = c
        .call(RemotingCommand::bare_request(
            RequestCode::GET_BROKER_RUNTIME_INFO,
        ))
        .await;
    let table = from_json::<KvTable>("KVTable", &info.body).unwrap().table;
    table["commitLogWritesTotal"].parse().unwrap()
}

#[tokio::test]
async fn given_sends_in_one_write_should_answer_each_with_its_own_place_and_store_it_there() {
    // One send at a time through the gate: the sends left for the pass's end must not wait
    // for a turn each (they would then be written one by one).
    let mut c = cluster(|raw| raw.send_concurrency = 1).await;
    let writes_before = commit_log_writes(&c).await;
    let mut stream = TcpStream::connect(&c.addr).await.unwrap();
    let mut frames = BytesMut::new();
    for (i, body) in BODIES.iter().enumerate() {
        // Queues 0 and 1 alternate, so one combined write spans two queues.
        let mut send = send_v2("Combined", i32::try_from(i % 2).unwrap(), "", body);
        send.opaque = i32::try_from(i).unwrap();
        frames.extend_from_slice(&encode_frame(&send, &FrameLimits::default()).unwrap());
    }
    // The pass ends with a request that is not a send: the sends waiting for the pass's end
    // are written by the pass-end hook.
    let mut last = RemotingCommand::request(
        RequestCode::GET_MAX_OFFSET,
        &GetMaxOffsetRequestHeader {
            topic: "Other".into(),
            queue_id: 0,
            committed: None,
            broker_name: None,
        },
    );
    last.opaque = 100;
    frames.extend_from_slice(&encode_frame(&last, &FrameLimits::default()).unwrap());
    stream.write_all(&frames).await.unwrap();
    let answers = answers(&mut stream, BODIES.len() + 1).await;
    for (i, answer) in answers.iter().take(BODIES.len()).enumerate() {
        assert_eq!(answer.response_code(), ResponseCode::SUCCESS, "send {i}");
        let header: SendMessageResponseHeader = answer.header().unwrap();
        assert_eq!(
            (header.queue_id, header.queue_offset),
            (i32::try_from(i % 2).unwrap(), i64::try_from(i / 2).unwrap()),
            "send {i}: its own queue offset, in the order sent"
        );
    }
    // Loopback delivers one small write in one read; two reads would make two writes.
    let writes = commit_log_writes(&c).await - writes_before;
    assert!(
        (1..=2).contains(&writes),
        "{} sends read together took {writes} CommitLog writes",
        BODIES.len()
    );
    c.wait_max_offset("Combined", 0, 4).await;
    c.wait_max_offset("Combined", 1, 4).await;
    c.restart_broker().await;
    for queue_id in 0..2 {
        let pulled = c.call(pull("Combined", queue_id, 0, "*", 0)).await;
        assert_eq!(pulled.response_code(), ResponseCode::SUCCESS);
        let bodies: Vec<Vec<u8>> = records(&pulled.body)
            .into_iter()
            .map(|r| r.body.to_vec())
            .collect();
        let expected: Vec<Vec<u8>> = BODIES
            .iter()
            .skip(usize::try_from(queue_id).unwrap())
            .step_by(2)
            .map(|b| b.to_vec())
            .collect();
        assert_eq!(bodies, expected, "queue {queue_id} after a restart");
    }
}
