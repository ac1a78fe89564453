//! Apache's v5 Rust client (`rocketmq` 5.0.0, gRPC) against the broker's own v5 endpoint:
//! normal, FIFO, delay and transactional sends; SimpleConsumer receive + ack; an unacked
//! message back after its invisible time and not before; FIFO groups in order; delay by
//! timestamp; commit visible, rollback never, an unknown transaction resolved by the check the
//! broker sends over Telemetry.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use apogee_protocol::body::admin::SubscriptionGroupConfig;
use apogee_protocol::body::admin::{Connection as ClientConnection, ConsumerConnection};
use apogee_protocol::header::admin::{
    CreateTopicRequestHeader, GetConsumerConnectionListRequestHeader,
};
use apogee_protocol::pop_info::ExtraInfo;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{Dispatcher, RemotingClient, TransportConfig};
use apogee_runtime::Shutdown;
use rocketmq::conf::{ClientOption, ProducerOption, SimpleConsumerOption};
use rocketmq::model::common::{FilterExpression, FilterType};
use rocketmq::model::message::{AckMessageEntry, MessageBuilder, MessageView};
use rocketmq::model::transaction::{Transaction, TransactionResolution};
use rocketmq::{Producer, SimpleConsumer};

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(60);

struct V5 {
    cluster: apogee_testkit::InProcess,
    access_url: String,
    admin: RemotingClient,
    _grpc: apogee_grpc::GrpcServer,
    _shutdown: Shutdown,
}

async fn start() -> V5 {
    let cluster = apogee_testkit::start(|raw| {
        // Check orphaned transactions quickly.
        raw.transaction_check_interval_ms = 500;
        raw.transaction_timeout_ms = 1000;
    })
    .await;
    let shutdown = Shutdown::new();
    let grpc = apogee_grpc::serve(
        cluster.broker.messaging(),
        "127.0.0.1:0".parse().unwrap(),
        &shutdown,
    )
    .await
    .unwrap();
    V5 {
        access_url: grpc.local_addr().to_string(),
        admin: RemotingClient::new(Dispatcher::new(), TransportConfig::default()),
        cluster,
        _grpc: grpc,
        _shutdown: shutdown,
    }
}

impl V5 {
    fn option(&self) -> ClientOption {
        let mut option = ClientOption::default();
        option.set_access_url(self.access_url.clone());
        option.set_timeout(Duration::from_secs(5));
        option.set_long_polling_timeout(Duration::from_secs(3));
        option
    }

    async fn call(&self, request: RemotingCommand) {
        let r = self
            .admin
            .invoke(&self.cluster.broker_addr, request, WAIT)
            .await
            .unwrap();
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    }

    async fn topic(&self, topic: &str, queues: i32) {
        let header = CreateTopicRequestHeader {
            topic: topic.into(),
            default_topic: "TBW102".into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: false,
            attributes: None,
            force: None,
        };
        self.call(RemotingCommand::request(
            RequestCode::UPDATE_AND_CREATE_TOPIC,
            &header,
        ))
        .await;
    }

    async fn group(&self, group: &str, orderly: bool) {
        let config = SubscriptionGroupConfig {
            group_name: group.into(),
            consume_message_orderly: orderly,
            ..SubscriptionGroupConfig::default()
        };
        let request =
            RemotingCommand::bare_request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
                .with_body(serde_json::to_vec(&config).unwrap());
        self.call(request).await;
    }

    /// The group's members as GET_CONSUMER_CONNECTION_LIST lists them, once it is online.
    async fn members(&self, group: &str) -> Vec<ClientConnection> {
        let list = || async {
            let header = GetConsumerConnectionListRequestHeader {
                consumer_group: group.into(),
            };
            let request =
                RemotingCommand::request(RequestCode::GET_CONSUMER_CONNECTION_LIST, &header);
            let r = self
                .admin
                .invoke(&self.cluster.broker_addr, request, WAIT)
                .await
                .unwrap();
            (r.response_code() == ResponseCode::SUCCESS).then(|| {
                let connection: ConsumerConnection =
                    apogee_protocol::body::from_json("consumer connection", &r.body).unwrap();
                connection.connection_set
            })
        };
        apogee_testkit::wait_until(&format!("group {group} online"), WAIT, || async {
            list().await.is_some()
        })
        .await;
        list().await.expect("the group stays online")
    }

    async fn producer(&self, topics: &[&str]) -> Producer {
        let mut option = ProducerOption::default();
        option.set_topics(topics.to_vec());
        let mut producer = Producer::new(option, self.option()).unwrap();
        producer.start().await.unwrap();
        producer
    }

    async fn consumer(&self, group: &str, topic: &str) -> SimpleConsumer {
        let mut option = SimpleConsumerOption::default();
        option.set_consumer_group(group);
        option.set_topics(vec![topic]);
        let mut consumer = SimpleConsumer::new(option, self.option()).unwrap();
        consumer.start().await.unwrap();
        consumer
    }
}

fn all() -> FilterExpression {
    FilterExpression::new(FilterType::Tag, "*")
}

fn body(m: &MessageView) -> String {
    String::from_utf8_lossy(m.body()).into_owned()
}

/// Receives (invisible for `invisible`) until `done` holds for all received so far.
async fn receive_until(
    consumer: &SimpleConsumer,
    topic: &str,
    invisible: Duration,
    done: impl Fn(&[MessageView]) -> bool,
) -> Vec<MessageView> {
    let mut got = Vec::new();
    let deadline = Instant::now() + WAIT;
    while !done(&got) {
        assert!(
            Instant::now() < deadline,
            "received only {:?}",
            got.iter().map(body).collect::<Vec<_>>()
        );
        got.extend(
            consumer
                .receive_with(topic, &all(), 16, invisible)
                .await
                .unwrap(),
        );
    }
    got
}

fn has(b: &'static str) -> impl Fn(&[MessageView]) -> bool {
    move |got| got.iter().any(|m| body(m) == b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normal_messages_are_received_acked_and_not_delivered_again() {
    let v5 = start().await;
    v5.topic("V5Normal", 4).await;
    let producer = v5.producer(&["V5Normal"]).await;
    let mut ids = BTreeMap::new();
    for i in 0..8 {
        let message = MessageBuilder::builder()
            .set_topic("V5Normal")
            .set_tag("TagA")
            .set_keys(vec![format!("key{i}")])
            .set_properties([("color".to_owned(), "red".to_owned())].into())
            .set_body(format!("n{i}").into_bytes())
            .build()
            .unwrap();
        let receipt = producer.send(message).await.unwrap();
        ids.insert(format!("n{i}"), receipt.message_id().to_owned());
    }
    let consumer = v5.consumer("V5NormalGroup", "V5Normal").await;
    let members = v5.members("V5NormalGroup").await;
    assert_eq!(
        members.len(),
        1,
        "the v5 consumer shows among the group's members"
    );
    assert_eq!(members[0].language, "RUST");
    let want: BTreeSet<String> = ids.keys().cloned().collect();
    let got = receive_until(&consumer, "V5Normal", Duration::from_secs(30), |got| {
        want.is_subset(&got.iter().map(body).collect())
    })
    .await;
    assert_eq!(got.len(), 8, "each message once");
    for m in &got {
        assert_eq!(ids[&body(m)], m.message_id(), "the id the send returned");
        assert_eq!(m.topic(), "V5Normal");
        assert_eq!(m.tag(), Some("TagA"));
        assert_eq!(m.keys(), [format!("key{}", &body(m)[1..])]);
        assert_eq!(m.properties().get("color").map(String::as_str), Some("red"));
        assert_eq!(m.delivery_attempt(), 1);
        consumer.ack(m).await.unwrap();
    }
    let sentinel = MessageBuilder::builder()
        .set_topic("V5Normal")
        .set_body(b"sentinel".to_vec())
        .build()
        .unwrap();
    producer.send(sentinel).await.unwrap();
    let after = receive_until(
        &consumer,
        "V5Normal",
        Duration::from_secs(30),
        has("sentinel"),
    )
    .await;
    assert_eq!(
        after.iter().map(body).collect::<Vec<_>>(),
        ["sentinel"],
        "acked ones stay acked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacked_message_returns_after_its_invisible_time_and_not_before() {
    let v5 = start().await;
    v5.topic("V5Again", 1).await;
    let producer = v5.producer(&["V5Again"]).await;
    let message = MessageBuilder::builder()
        .set_topic("V5Again")
        .set_body(b"again".to_vec())
        .build()
        .unwrap();
    let id = producer
        .send(message)
        .await
        .unwrap()
        .message_id()
        .to_owned();
    let consumer = v5.consumer("V5AgainGroup", "V5Again").await;
    let invisible = Duration::from_secs(2);
    let first = receive_until(&consumer, "V5Again", invisible, has("again")).await;
    assert_eq!(first[0].delivery_attempt(), 1);
    // Not acked: it must not come back before the invisible time has passed. Judged by the
    // broker's own clock (the pop times in the receipt handles), not by this process's.
    let second = receive_until(&consumer, "V5Again", invisible, has("again")).await;
    let popped_at = |m: &MessageView| {
        ExtraInfo::parse(&AckMessageEntry::receipt_handle(m))
            .expect("RocketMQ's receipt handle")
            .pop_time
    };
    let (first_pop, second_pop) = (popped_at(&first[0]), popped_at(&second[0]));
    assert!(
        second_pop >= first_pop + 2_000,
        "popped again at {second_pop}, invisible until {}",
        first_pop + 2_000
    );
    assert_eq!(second[0].message_id(), id, "the same message");
    assert_eq!(second[0].topic(), "V5Again");
    assert_eq!(second[0].delivery_attempt(), 2);
    consumer.ack(&second[0]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_message_groups_are_received_in_order() {
    let v5 = start().await;
    v5.topic("V5Fifo", 4).await;
    v5.group("V5FifoGroup", true).await;
    let producer = v5.producer(&["V5Fifo"]).await;
    for i in 0..10 {
        for group in ["alpha", "beta"] {
            let message = MessageBuilder::fifo_message_builder(
                "V5Fifo",
                format!("{group}-{i}").into_bytes(),
                group,
            )
            .build()
            .unwrap();
            producer.send(message).await.unwrap();
        }
    }
    let consumer = v5.consumer("V5FifoGroup", "V5Fifo").await;
    let mut seen: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let deadline = Instant::now() + WAIT;
    while seen.values().map(Vec::len).sum::<usize>() < 20 {
        assert!(Instant::now() < deadline, "received {seen:?}");
        for m in consumer
            .receive_with("V5Fifo", &all(), 16, Duration::from_secs(30))
            .await
            .unwrap()
        {
            let text = body(&m);
            let (group, n) = text.split_once('-').unwrap();
            assert_eq!(m.message_group(), Some(group));
            seen.entry(group.to_owned())
                .or_default()
                .push(n.parse().unwrap());
            consumer.ack(&m).await.unwrap();
        }
    }
    for (group, order) in &seen {
        assert_eq!(
            order,
            &(0..10).collect::<Vec<u32>>(),
            "group {group} in order"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delay_message_arrives_at_its_timestamp_and_not_before() {
    let v5 = start().await;
    v5.topic("V5Delay", 2).await;
    let producer = v5.producer(&["V5Delay"]).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let at = i64::try_from(now + 3).unwrap();
    let message = MessageBuilder::delay_message_builder("V5Delay", b"later".to_vec(), at)
        .build()
        .unwrap();
    producer.send(message).await.unwrap();
    let consumer = v5.consumer("V5DelayGroup", "V5Delay").await;
    let got = receive_until(&consumer, "V5Delay", Duration::from_secs(30), has("later")).await;
    let arrived = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert!(
        arrived >= u128::try_from(at).unwrap() * 1000,
        "arrived at {arrived} ms, due {at} s"
    );
    assert_eq!(got[0].delivery_timestamp(), Some(at));
    consumer.ack(&got[0]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_commit_visible_rollback_never_and_unknown_resolved_by_the_check() {
    let v5 = start().await;
    v5.topic("V5Tx", 2).await;
    let checks = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&checks);
    let mut option = ProducerOption::default();
    option.set_topics(vec!["V5Tx"]);
    let mut producer = Producer::new_transaction_producer(
        option,
        v5.option(),
        Box::new(move |_id: String, message: MessageView| {
            counted.fetch_add(1, Ordering::SeqCst);
            if message.body() == b"unknown" {
                TransactionResolution::COMMIT
            } else {
                TransactionResolution::ROLLBACK
            }
        }),
    )
    .unwrap();
    producer.start().await.unwrap();
    let send = |text: &'static str| {
        MessageBuilder::transaction_message_builder("V5Tx", text.as_bytes().to_vec())
            .build()
            .unwrap()
    };
    let committed = producer
        .send_transaction_message(send("committed"))
        .await
        .unwrap();
    committed.commit().await.unwrap();
    let rolled_back = producer
        .send_transaction_message(send("rolled-back"))
        .await
        .unwrap();
    rolled_back.rollback().await.unwrap();
    // Neither committed nor rolled back: the broker asks the producer over Telemetry.
    let unknown = producer
        .send_transaction_message(send("unknown"))
        .await
        .unwrap();
    drop(unknown);
    let consumer = v5.consumer("V5TxGroup", "V5Tx").await;
    let got = receive_until(&consumer, "V5Tx", Duration::from_secs(30), |got| {
        got.iter().any(|m| body(m) == "committed") && got.iter().any(|m| body(m) == "unknown")
    })
    .await;
    assert!(checks.load(Ordering::SeqCst) >= 1, "the producer was asked");
    for m in &got {
        consumer.ack(m).await.unwrap();
    }
    let sentinel = MessageBuilder::builder()
        .set_topic("V5Tx")
        .set_body(b"sentinel".to_vec())
        .build()
        .unwrap();
    let plain = v5.producer(&["V5Tx"]).await;
    plain.send(sentinel).await.unwrap();
    let mut all_seen: Vec<String> = got.iter().map(body).collect();
    all_seen.extend(
        receive_until(&consumer, "V5Tx", Duration::from_secs(30), has("sentinel"))
            .await
            .iter()
            .map(body),
    );
    assert!(
        !all_seen.contains(&"rolled-back".to_owned()),
        "rolled back: never delivered"
    );
    assert_eq!(all_seen.iter().filter(|b| *b == "committed").count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_one_broker_reaches_a_topic_that_lives_on_another() {
    let v5 = start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut raw = apogee_testkit::broker_config(dir.path(), &v5.cluster.namesrv_addr);
    raw.broker_name = "broker-b".into();
    let b = apogee_testkit::start_broker(raw).await;
    let shutdown = Shutdown::new();
    let b_grpc = apogee_grpc::serve(b.messaging(), "127.0.0.1:0".parse().unwrap(), &shutdown)
        .await
        .unwrap();
    // The topic lives on broker-b only; the client talks to broker-a's endpoint.
    let header = CreateTopicRequestHeader {
        topic: "V5Elsewhere".into(),
        default_topic: "TBW102".into(),
        read_queue_nums: 2,
        write_queue_nums: 2,
        perm: 6,
        topic_sys_flag: Some(0),
        topic_filter_type: "SINGLE_TAG".into(),
        order: false,
        attributes: None,
        force: None,
    };
    let request = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC, &header);
    let r = v5
        .admin
        .invoke(&b.local_addr().to_string(), request, WAIT)
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    b.register_now().await;
    // broker-b has published its endpoint once the NameServer answers GET_KV_CONFIG with it.
    let published = b_grpc.local_addr().to_string();
    apogee_testkit::wait_until("broker-b's endpoint in the NameServer", WAIT, || async {
        let header = apogee_protocol::header::namesrv::KvConfigKeyHeader {
            namespace: "APOGEE_V5_ENDPOINTS".into(),
            key: "broker-b".into(),
        };
        let request = RemotingCommand::request(RequestCode::GET_KV_CONFIG, &header);
        let r = v5
            .admin
            .invoke(&v5.cluster.namesrv_addr, request, WAIT)
            .await
            .unwrap();
        r.ext_fields.get("value") == Some(&published)
    })
    .await;
    let producer = v5.producer(&["V5Elsewhere"]).await;
    let message = MessageBuilder::builder()
        .set_topic("V5Elsewhere")
        .set_body(b"far".to_vec())
        .build()
        .unwrap();
    producer.send(message).await.unwrap();
    let consumer = v5.consumer("V5ElsewhereGroup", "V5Elsewhere").await;
    let got = receive_until(
        &consumer,
        "V5Elsewhere",
        Duration::from_secs(30),
        has("far"),
    )
    .await;
    consumer.ack(&got[0]).await.unwrap();
    assert!(
        b.messaging().store.max_offset_in_queue("V5Elsewhere", 0)
            + b.messaging().store.max_offset_in_queue("V5Elsewhere", 1)
            >= 1,
        "stored on broker-b"
    );
}
