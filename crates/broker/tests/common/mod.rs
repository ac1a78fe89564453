//! An in-process NameServer + broker on ephemeral ports and temp dirs, and a raw remoting
//! client to talk to them.

#![allow(dead_code)]

use std::time::Duration;

use apogee_broker::{Broker, RawBrokerConfig};
use apogee_namesrv::Namesrv;
use apogee_protocol::batch::{BatchEntry, encode_batch};
use apogee_protocol::header::message::{
    PullMessageRequestHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2, pull_sys_flag,
};
use apogee_protocol::{RemotingCommand, RequestCode};
use apogee_remoting::{Dispatcher, RemotingClient, TransportConfig};
use bytes::Bytes;

pub const WAIT: Duration = Duration::from_secs(10);

pub struct Cluster {
    pub namesrv: Option<Namesrv>,
    pub namesrv_addr: String,
    pub broker: Option<Broker>,
    pub addr: String,
    pub dir: tempfile::TempDir,
    pub client: RemotingClient,
    pub raw: RawBrokerConfig,
}

pub fn raw_config(dir: &std::path::Path, namesrv: &str) -> RawBrokerConfig {
    RawBrokerConfig {
        message_delay_level: "1s 1s 1s 2s 2s 2s".into(),
        ..apogee_testkit::broker_config(dir, namesrv)
    }
}

pub use apogee_testkit::start_broker;

pub async fn cluster(tweak: impl FnOnce(&mut RawBrokerConfig)) -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let namesrv = apogee_testkit::start_namesrv(&dir.path().join("namesrv")).await;
    let namesrv_addr = namesrv.local_addr().to_string();
    let mut raw = raw_config(dir.path(), &namesrv_addr);
    tweak(&mut raw);
    let broker = start_broker(raw.clone()).await;
    let addr = broker.local_addr().to_string();
    Cluster {
        namesrv: Some(namesrv),
        namesrv_addr,
        broker: Some(broker),
        addr,
        dir,
        client: RemotingClient::new(Dispatcher::new(), TransportConfig::default()),
        raw,
    }
}

impl Cluster {
    pub async fn call(&self, request: RemotingCommand) -> RemotingCommand {
        self.client.invoke(&self.addr, request, WAIT).await.unwrap()
    }

    /// Stops the broker and starts it again on the same directory (new port).
    pub async fn restart_broker(&mut self) {
        self.broker.take().unwrap().stop().await;
        self.client.close_connection(&self.addr);
        let broker = start_broker(self.raw.clone()).await;
        self.addr = broker.local_addr().to_string();
        self.broker = Some(broker);
    }

    pub fn broker(&self) -> &Broker {
        self.broker.as_ref().unwrap()
    }
}

pub fn send_header(topic: &str, queue_id: i32, props: &str) -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some(props.into()),
        reconsume_times: None,
        unit_mode: None,
        max_reconsume_times: None,
        batch: None,
        broker_name: None,
    }
}

pub fn send_v2(topic: &str, queue_id: i32, props: &str, body: &'static [u8]) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::SEND_MESSAGE_V2,
        &SendMessageRequestHeaderV2::from(send_header(topic, queue_id, props)),
    )
    .with_body(Bytes::from_static(body))
}

pub fn send_batch(topic: &str, queue_id: i32, bodies: &[&str]) -> RemotingCommand {
    let entries: Vec<_> = bodies
        .iter()
        .map(|b| BatchEntry {
            flag: 0,
            body: Bytes::copy_from_slice(b.as_bytes()),
            properties: format!("KEYS\u{1}{b}\u{2}"),
        })
        .collect();
    let mut body = Vec::new();
    encode_batch(&entries, &mut body);
    let mut header = send_header(topic, queue_id, "");
    header.batch = Some(true);
    RemotingCommand::request(
        RequestCode::SEND_BATCH_MESSAGE,
        &SendMessageRequestHeaderV2::from(header),
    )
    .with_body(body)
}

pub fn pull(
    topic: &str,
    queue_id: i32,
    offset: i64,
    expression: &str,
    suspend_ms: i64,
) -> RemotingCommand {
    let mut sys_flag = pull_sys_flag::SUBSCRIPTION;
    if suspend_ms > 0 {
        sys_flag |= pull_sys_flag::SUSPEND;
    }
    RemotingCommand::request(
        RequestCode::PULL_MESSAGE,
        &PullMessageRequestHeader {
            consumer_group: "cg".into(),
            topic: topic.into(),
            queue_id,
            queue_offset: offset,
            max_msg_nums: 32,
            sys_flag,
            commit_offset: 0,
            suspend_timeout_millis: suspend_ms,
            subscription: Some(expression.into()),
            sub_version: 0,
            expression_type: Some("TAG".into()),
            max_msg_bytes: None,
            request_source: None,
            proxy_forward_client_id: None,
            broker_name: None,
        },
    )
}

/// Decodes the stored records of a pull/query body.
pub fn records(body: &Bytes) -> Vec<apogee_protocol::record::StoredRecord> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < body.len() {
        match apogee_protocol::record::decode_record(body, at, true).unwrap() {
            (apogee_protocol::record::RecordAt::Message(r), size) => {
                out.push(r);
                at += size;
            }
            _ => break,
        }
    }
    out
}

impl Cluster {
    /// Waits until `topic`/`queue` holds `count` messages (dispatch is asynchronous, as in
    /// RocketMQ: a send is acknowledged once it is in the CommitLog).
    pub async fn wait_max_offset(&self, topic: &str, queue_id: i32, count: i64) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let request = RemotingCommand::request(
                RequestCode::GET_MAX_OFFSET,
                &apogee_protocol::header::consumer::GetMaxOffsetRequestHeader {
                    topic: topic.into(),
                    queue_id,
                    committed: None,
                    broker_name: None,
                },
            );
            let r = self.call(request).await;
            let offset = r
                .header::<apogee_protocol::header::consumer::OffsetResponseHeader>()
                .unwrap()
                .offset;
            if offset >= count {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{topic}/{queue_id} stuck at {offset}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Cluster {
    /// Waits until `count` pulls are parked by long polling (observed in the broker, not
    /// guessed from a sleep).
    pub async fn wait_parked(&self, count: usize) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.broker().parked_pulls() != count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} pulls parked, waiting for {count}",
                self.broker().parked_pulls()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// UPDATE_AND_CREATE_TOPIC for `queues` read and write queues, read-write.
pub fn create_topic(topic: &str, queues: i32, attributes: Option<&str>) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::UPDATE_AND_CREATE_TOPIC,
        &apogee_protocol::header::admin::CreateTopicRequestHeader {
            topic: topic.into(),
            default_topic: "TBW102".into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: false,
            attributes: attributes.map(String::from),
            force: None,
        },
    )
}

/// Polls `check` until it holds; fails naming `what` after [`WAIT`].
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
