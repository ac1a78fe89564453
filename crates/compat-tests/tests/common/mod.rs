//! Harness: an in-process NameServer + broker on ephemeral ports and a temp dir, a process-wide
//! runtime for the third-party client (it never uses the caller's runtime), raw remoting
//! calls for checks the client cannot make (routes, DLQ contents, a group's members and what
//! each holds and has consumed), and sentinels: the way to check "nothing more arrives"
//! without sleeping.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use apogee_broker::RawBrokerConfig;
use apogee_protocol::body::admin::{ConsumerConnection, ConsumerRunningInfo, ProcessQueueInfo};
use apogee_protocol::header::admin::{
    GetConsumerConnectionListRequestHeader, GetConsumerRunningInfoRequestHeader,
};
use apogee_protocol::header::namesrv::GetRouteInfoRequestHeader;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{Dispatcher, RemotingClient, TransportConfig};
use rocketmq_client_rust::{
    ClientConfig, ClientRuntime, ClientRuntimeConfig, DefaultMQProducer, DefaultMQPushConsumer,
    TelemetryHandle,
};
use rocketmq_client_rust::{ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_protocol::protocol::heartbeat::message_model::MessageModel;
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(60);

static OWNER: LazyLock<RuntimeOwner> = LazyLock::new(|| {
    let mut config = RuntimeConfig {
        thread_name: "rmq-compat".into(),
        worker_threads: 2,
        ..Default::default()
    };
    // The client runs listener calls on this blocking lane, shared by every test in the
    // binary. Sized from the CPU count it queues only 16 calls on 2 cores; past that it
    // refuses a call and the consumer sends the message back, to be redelivered from the
    // retry topic 10 s later, which breaks the tests' exactly-once checks.
    config.blocking_lane_policies.metadata_io.max_queue_depth = 1024;
    RuntimeOwner::plan(config)
        .expect("valid runtime config")
        .build()
        .expect("client runtime starts")
});

pub fn client_runtime(scope: &'static str) -> Arc<ClientRuntime> {
    ClientRuntime::try_new(
        OWNER.root_context().component(scope),
        ClientRuntimeConfig::default(),
        TelemetryHandle::noop(),
    )
    .expect("client runtime")
}

/// A name unique to this run (broadcast offsets are kept in $HOME by the client).
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() % 1_000_000_000);
    format!("{prefix}_{}_{nanos}", std::process::id())
}

pub struct Apogee {
    pub namesrv_addr: String,
    pub broker_addr: String,
    pub raw: RemotingClient,
    /// The in-process servers, when this harness started them.
    pub cluster: Option<apogee_testkit::InProcess>,
}

/// Users of the access-control scenarios: alice publishes to `Acl*`, carol consumes it as
/// `cg_acl*`.
const ACL_USERS: &str = r#"{"users":[
  {"username":"alice","password":"alice-secret-1","userType":"Normal","userStatus":"enable"},
  {"username":"carol","password":"carol-secret-1","userType":"Normal","userStatus":"enable"}],
 "acls":[
  {"subject":"User:alice","policies":[{"entries":[{"resource":"Topic:Acl*","actions":["Pub"],"decision":"Allow"}]}]},
  {"subject":"User:carol","policies":[{"entries":[
    {"resource":"Topic:Acl*","actions":["Sub"],"decision":"Allow"},
    {"resource":"Group:cg_acl*","actions":["Sub"],"decision":"Allow"}]}]}]}"#;

/// A broker tweak: authentication and authorization on, with the users of [`ACL_USERS`].
pub fn guarded(raw: &mut RawBrokerConfig) {
    raw.authentication_enabled = true;
    raw.authorization_enabled = true;
    let dir = raw.store_path_root_dir.join("config");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("acl.json"), ACL_USERS).unwrap();
}

pub async fn start(tweak: impl FnOnce(&mut RawBrokerConfig)) -> Apogee {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
    let cluster = apogee_testkit::start(tweak).await;
    let apogee = Apogee {
        namesrv_addr: cluster.namesrv_addr.clone(),
        broker_addr: cluster.broker_addr.clone(),
        raw: RemotingClient::new(Dispatcher::new(), TransportConfig::default()),
        cluster: Some(cluster),
    };
    apogee.wait_route("TBW102").await;
    apogee
}

impl Apogee {
    /// The harness over servers started elsewhere (a master/slave pair).
    pub fn over(namesrv_addr: &str, broker_addr: &str) -> Self {
        Self {
            namesrv_addr: namesrv_addr.into(),
            broker_addr: broker_addr.into(),
            raw: RemotingClient::new(Dispatcher::new(), TransportConfig::default()),
            cluster: None,
        }
    }

    /// Waits until the NameServer serves a route for `topic`.
    pub async fn wait_route(&self, topic: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let request = RemotingCommand::request(
                RequestCode::GET_ROUTEINFO_BY_TOPIC,
                &GetRouteInfoRequestHeader {
                    topic: topic.into(),
                    accept_standard_json_only: None,
                },
            );
            let r = self
                .raw
                .invoke(&self.namesrv_addr, request, WAIT)
                .await
                .unwrap();
            if r.response_code() == ResponseCode::SUCCESS {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no route for {topic}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Creates the group and its retry topic with one heartbeat, so a consumer finds the retry
    /// topic's route at start instead of after its next 10 s route poll.
    pub async fn prepare_group(&self, group: &str) {
        use apogee_protocol::body::client::{ConsumerData, HeartbeatData};
        let body = HeartbeatData {
            client_id: format!("harness@{group}"),
            consumer_data_set: vec![ConsumerData {
                group_name: group.into(),
                ..ConsumerData::default()
            }],
            ..HeartbeatData::default()
        };
        let request = RemotingCommand::bare_request(RequestCode::HEART_BEAT)
            .with_body(serde_json::to_vec(&body).unwrap());
        let harness = RemotingClient::new(Dispatcher::new(), TransportConfig::default());
        let r = harness
            .invoke(&self.broker_addr, request, WAIT)
            .await
            .unwrap();
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
        harness.shutdown();
        self.wait_route(&format!("%RETRY%{group}")).await;
    }

    /// Messages stored in a queue, read with a raw pull from offset 0.
    pub async fn queue_messages(
        &self,
        topic: &str,
        queue_id: i32,
    ) -> Vec<apogee_protocol::record::StoredRecord> {
        use apogee_protocol::header::message::{PullMessageRequestHeader, pull_sys_flag};
        let request = RemotingCommand::request(
            RequestCode::PULL_MESSAGE,
            &PullMessageRequestHeader {
                consumer_group: "harness_reader".into(),
                topic: topic.into(),
                queue_id,
                queue_offset: 0,
                max_msg_nums: 32,
                sys_flag: pull_sys_flag::SUBSCRIPTION,
                commit_offset: 0,
                suspend_timeout_millis: 0,
                subscription: Some("*".into()),
                sub_version: 0,
                expression_type: Some("TAG".into()),
                max_msg_bytes: None,
                request_source: None,
                proxy_forward_client_id: None,
                broker_name: None,
            },
        );
        let r = self
            .raw
            .invoke(&self.broker_addr, request, WAIT)
            .await
            .unwrap();
        let mut out = Vec::new();
        let mut at = 0;
        while at < r.body.len() {
            match apogee_protocol::record::decode_record(&r.body, at, true) {
                Ok((apogee_protocol::record::RecordAt::Message(m), size)) => {
                    out.push(m);
                    at += size;
                }
                _ => break,
            }
        }
        out
    }

    /// The client ids (`ip@instance`) of `group`'s online members; none while the broker
    /// knows no member.
    pub async fn consumer_ids(&self, group: &str) -> Vec<String> {
        let request = RemotingCommand::request(
            RequestCode::GET_CONSUMER_CONNECTION_LIST,
            &GetConsumerConnectionListRequestHeader {
                consumer_group: group.into(),
            },
        );
        let r = self
            .raw
            .invoke(&self.broker_addr, request, WAIT)
            .await
            .unwrap();
        if r.response_code() != ResponseCode::SUCCESS {
            return Vec::new();
        }
        let connection: ConsumerConnection =
            apogee_protocol::body::from_json("consumer connection", &r.body).unwrap();
        connection
            .connection_set
            .into_iter()
            .map(|c| c.client_id)
            .collect()
    }

    /// The queues of `topic` (by id) that member `instance` of `group` holds now, as the
    /// member itself reports them (GET_CONSUMER_RUNNING_INFO, relayed by the broker): its
    /// cached messages and the offset it will commit next. `None` while no such member is
    /// online or answering.
    pub async fn member_queues(
        &self,
        group: &str,
        instance: &str,
        topic: &str,
    ) -> Option<BTreeMap<i32, ProcessQueueInfo>> {
        let id = self
            .consumer_ids(group)
            .await
            .into_iter()
            .find(|id| id.split('@').nth(1) == Some(instance))?;
        let request = RemotingCommand::request(
            RequestCode::GET_CONSUMER_RUNNING_INFO,
            &GetConsumerRunningInfoRequestHeader {
                consumer_group: group.into(),
                client_id: id,
                jstack_enable: Some(false),
            },
        );
        let r = self
            .raw
            .invoke(&self.broker_addr, request, WAIT)
            .await
            .unwrap();
        if r.response_code() != ResponseCode::SUCCESS {
            return None;
        }
        let info: ConsumerRunningInfo =
            apogee_protocol::body::from_json("consumer running info", &r.body).unwrap();
        Some(
            info.mq_table
                .into_iter()
                .filter(|(q, pq)| q.topic == topic && !pq.is_dropped())
                .map(|(q, pq)| (q.queue_id, pq))
                .collect(),
        )
    }

    /// Waits until the members `instances` of `group` hold disjoint, non-empty shares of
    /// `topic` that together cover its `queues` queues: every member has rebalanced to the
    /// same view of the group.
    pub async fn wait_split(&self, group: &str, topic: &str, instances: &[&str], queues: usize) {
        let mut last = Vec::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            last.clear();
            for instance in instances {
                let held: BTreeSet<i32> = self
                    .member_queues(group, instance, topic)
                    .await
                    .map(|q| q.into_keys().collect())
                    .unwrap_or_default();
                last.push(held);
            }
            let union: BTreeSet<i32> = last.iter().flatten().copied().collect();
            let sum: usize = last.iter().map(BTreeSet::len).sum();
            if union.len() == queues && sum == queues && last.iter().all(|s| !s.is_empty()) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "members {instances:?} of {group} never split the {queues} queues of {topic}; \
                 they hold {last:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends one sentinel message (tagged `tag`) to each queue of `topic`, with Apogee's own
    /// producer, after everything a test expects was sent.
    pub async fn send_sentinels(&self, topic: &str, tag: &str) -> Sentinels {
        let config =
            apogee_client::ClientConfig::new(&self.namesrv_addr).instance_name(unique("sentinels"));
        let producer = apogee_client::Producer::start(
            config,
            apogee_client::ProducerConfig::new(unique("pg_sentinels")),
        )
        .await
        .unwrap();
        let route = producer.instance().refresh_route(topic).await.unwrap();
        let mut sentinels = Sentinels {
            topic: topic.into(),
            ..Sentinels::default()
        };
        for queue in &route.subscribe_queues {
            let body = format!("{SENTINEL}{}-{}", queue.queue_id, unique("of"));
            let sent = producer
                .send_to_queue(
                    apogee_client::Message::new(topic, body.clone()).with_tags(tag),
                    queue,
                )
                .await
                .unwrap();
            sentinels.bodies.insert(body);
            sentinels.ends.insert(queue.queue_id, sent.queue_offset + 1);
        }
        producer.shutdown().await;
        sentinels
    }

    /// Waits until every sentinel is in one of `logs` and the members `instances` of `group`
    /// report (GET_CONSUMER_RUNNING_INFO) each queue consumed through its sentinel. A member's
    /// offset for a queue moves only past messages whose listener has returned, so by then
    /// every delivery of a message stored before the sentinels has been logged. (The offsets
    /// the broker holds would do too, but a member sends them on its own schedule.)
    pub async fn wait_sentinels_consumed(
        &self,
        group: &str,
        instances: &[&str],
        sentinels: &Sentinels,
        logs: &[&Log],
    ) {
        let mut offsets = BTreeMap::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if sentinels.all_in(logs) {
                offsets.clear();
                for instance in instances {
                    let held = self
                        .member_queues(group, instance, &sentinels.topic)
                        .await
                        .unwrap_or_default();
                    for (id, pq) in held {
                        let offset = offsets.entry(id).or_insert(pq.commit_offset);
                        *offset = pq.commit_offset.max(*offset);
                    }
                }
                if sentinels.reached(&offsets) {
                    return;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "members {instances:?} of {group} never consumed through the sentinels \
                 {sentinels:?}: they report the offsets {offsets:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn producer(&self, group: &str) -> DefaultMQProducer {
        let mut producer = DefaultMQProducer::builder(client_runtime("producer"))
            .producer_group(group)
            .name_server_addr(self.namesrv_addr.as_str())
            .build();
        producer.start().await.unwrap();
        producer
    }

    /// A push consumer, not started: subscribe and register a listener, then start it.
    pub fn consumer(
        &self,
        group: &str,
        instance: &str,
        model: MessageModel,
    ) -> DefaultMQPushConsumer {
        let config = ClientConfig {
            poll_name_server_interval: 10_000,
            heartbeat_broker_interval: 10_000,
            persist_consumer_offset_interval: 1_000,
            instance_name: instance.into(),
            ..ClientConfig::default()
        };
        DefaultMQPushConsumer::builder(client_runtime("consumer"))
            .client_config(config)
            .name_server_addr(self.namesrv_addr.as_str())
            .consumer_group(group)
            .message_model(model)
            .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
            .build()
    }
}

pub fn message(topic: &str, tag: &str, key: &str, body: &str) -> Message {
    Message::builder()
        .topic(topic)
        .tags(tag)
        .key(key)
        .body_slice(body.as_bytes())
        .build_unchecked()
}

/// What a listener saw: (tag, key, body, reconsume times, queue id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seen {
    pub tag: String,
    pub key: String,
    pub body: String,
    pub reconsume_times: i32,
    pub queue_id: i32,
}

pub fn seen(m: &MessageExt) -> Seen {
    Seen {
        tag: m.tags().unwrap_or_default().to_owned(),
        key: m.keys().unwrap_or_default().join(" "),
        body: m
            .body()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default(),
        reconsume_times: m.reconsume_times(),
        queue_id: m.queue_id(),
    }
}

pub type Log = Arc<Mutex<Vec<Seen>>>;

/// A concurrent listener that records what it is given in `log` and acknowledges it.
pub fn logging_listener(
    log: &Log,
) -> impl Fn(
    &[&MessageExt],
    &ConsumeConcurrentlyContext,
) -> rocketmq_client_rust::ClientResult<ConsumeConcurrentlyStatus>
+ Send
+ Sync
+ 'static {
    let log = Arc::clone(log);
    move |msgs: &[&MessageExt], _ctx: &ConsumeConcurrentlyContext| {
        log.lock().unwrap().extend(msgs.iter().map(|m| seen(m)));
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    }
}

/// Waits until `log` holds at least `count` entries.
pub async fn wait_for(log: &Log, count: usize, what: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let have = log.lock().unwrap().len();
        if have >= count {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {have} of {count} after {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Bodies of sentinel messages start with this.
pub const SENTINEL: &str = "sentinel-";

/// One sentinel message per queue of a topic, sent after everything a test expects. A queue
/// delivers in order, so once a consumer has consumed a queue through its sentinel it has been
/// given everything stored there before it: a duplicate or an extra delivery would have come
/// first. This replaces sleeping "long enough" before asserting that nothing more arrived.
#[derive(Debug, Default)]
pub struct Sentinels {
    pub topic: String,
    pub bodies: BTreeSet<String>,
    /// The offset just past each queue's sentinel, by queue id.
    pub ends: BTreeMap<i32, i64>,
}

impl Sentinels {
    /// Every sentinel is in one of `logs`.
    pub fn all_in(&self, logs: &[&Log]) -> bool {
        let seen: BTreeSet<String> = logs
            .iter()
            .flat_map(|log| log.lock().unwrap().clone())
            .map(|s| s.body)
            .collect();
        self.bodies.is_subset(&seen)
    }

    /// Every queue's offset (by queue id) is past its sentinel.
    pub fn reached(&self, offsets: &BTreeMap<i32, i64>) -> bool {
        self.ends
            .iter()
            .all(|(id, end)| offsets.get(id).is_some_and(|o| o >= end))
    }
}

/// What `log` holds, without sentinels.
pub fn without_sentinels(log: &Log) -> Vec<Seen> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|s| !s.body.starts_with(SENTINEL))
        .cloned()
        .collect()
}

/// Sends one message so the topic exists and has a route (consumers need it at start).
pub async fn create_topic(apogee: &Apogee, topic: &str) {
    let mut producer = apogee.producer(&unique("pg_create")).await;
    producer
        .send(message(topic, "Warm", "warm", "warm-up"))
        .await
        .unwrap();
    producer.shutdown().await;
    apogee.wait_route(topic).await;
}
