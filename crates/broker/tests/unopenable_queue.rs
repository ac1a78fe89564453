//! A consume queue that cannot be opened after a clean restart (queues open on first use):
//! the offsets a consumer starts from are answered with an error, never as 0, which would
//! rewind the consumer to the start of the queue.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_protocol::header::consumer::{
    GetMaxOffsetRequestHeader, OffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    QueueRequestHeader, SearchOffsetRequestHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use common::*;

fn max_offset(topic: &str) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::GET_MAX_OFFSET,
        &GetMaxOffsetRequestHeader {
            topic: topic.into(),
            queue_id: 0,
            committed: None,
            broker_name: None,
        },
    )
}

fn min_offset(topic: &str) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::GET_MIN_OFFSET,
        &QueueRequestHeader {
            topic: topic.into(),
            queue_id: 0,
            broker_name: None,
        },
    )
}

fn by_time(topic: &str) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::SEARCH_OFFSET_BY_TIMESTAMP,
        &SearchOffsetRequestHeader {
            topic: topic.into(),
            queue_id: 0,
            timestamp: 0,
            boundary_type: None,
            broker_name: None,
        },
    )
}

fn new_group_offset(topic: &str) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::QUERY_CONSUMER_OFFSET,
        &QueryConsumerOffsetRequestHeader {
            consumer_group: "fresh_group".into(),
            topic: topic.into(),
            queue_id: 0,
            set_zero_if_not_found: None,
            broker_name: None,
        },
    )
}

#[tokio::test]
async fn given_a_queue_that_cannot_be_opened_should_answer_its_offsets_with_an_error_not_zero() {
    let mut c = cluster(|_| {}).await;
    for _ in 0..3 {
        let sent = c.call(send_v2("Broken", 0, "", b"m")).await;
        assert_eq!(sent.response_code(), ResponseCode::SUCCESS);
    }
    c.wait_max_offset("Broken", 0, 3).await;
    c.broker.take().unwrap().stop().await;
    c.client.close_connection(&c.addr);
    let queue_dir = c.raw.store_path_root_dir.join("consumequeue/Broken/0");
    std::fs::rename(&queue_dir, c.dir.path().join("saved-queue")).unwrap();
    std::fs::write(&queue_dir, b"not a queue directory").unwrap();
    let broker = start_broker(c.raw.clone()).await;
    c.addr = broker.local_addr().to_string();
    c.broker = Some(broker);

    for request in [
        max_offset("Broken"),
        min_offset("Broken"),
        new_group_offset("Broken"),
        by_time("Broken"),
    ] {
        let answer = c.call(request).await;
        assert_eq!(
            answer.response_code(),
            ResponseCode::SYSTEM_ERROR,
            "{:?}",
            answer.remark
        );
    }
    // A topic that was never written still starts at 0.
    let absent = c.call(max_offset("NeverWritten")).await;
    assert_eq!(absent.header::<OffsetResponseHeader>().unwrap().offset, 0);
}
