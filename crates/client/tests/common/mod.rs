//! Harness for the client's integration tests: an in-process NameServer + broker (the code
//! `apogee standalone` runs) on ephemeral ports, client settings with short periods,
//! deadline-bounded waiting, and sentinels: the way to check "nothing more arrives" without
//! sleeping.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use apogee_client::{ClientConfig, Message, MessageQueue, Producer, ProducerConfig, PushConsumer};

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(60);

pub fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

pub async fn cluster() -> apogee_testkit::InProcess {
    cluster_with(|_| {}).await
}

pub async fn cluster_with(
    tweak: impl FnOnce(&mut apogee_broker::RawBrokerConfig),
) -> apogee_testkit::InProcess {
    init_tracing();
    // Every delay level is 1 s, so retries come back quickly.
    let cluster = apogee_testkit::start(|raw| {
        raw.message_delay_level = ["1s"; 18].join(" ");
        tweak(raw);
    })
    .await;
    wait_for_route(&cluster.namesrv_addr, "TBW102").await;
    cluster
}

/// A name unique within this test process.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Client settings with a unique instance name and short periods.
pub fn client(namesrv: &str) -> ClientConfig {
    let mut c = ClientConfig::new(namesrv).instance_name(unique("inst"));
    c.heartbeat_interval = Duration::from_secs(2);
    c.rebalance_interval = Duration::from_secs(2);
    c.persist_offset_interval = Duration::from_millis(300);
    c.poll_name_server_interval = Duration::from_secs(2);
    c
}

pub async fn wait_for_route(namesrv: &str, topic: &str) {
    let config = client(namesrv);
    let instance = apogee_client::ClientInstance::get(&config).await.unwrap();
    wait_until(&format!("route of {topic}"), || {
        let instance = instance.clone();
        let topic = topic.to_owned();
        async move { matches!(instance.fetch_route(&topic).await, Ok(Some(_))) }
    })
    .await;
    instance.shutdown();
}

/// Polls `check` every 50 ms until it holds; panics after [`WAIT`].
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Creates `topic` (by auto-creation on a first send) and waits for its route.
pub async fn create_topic(namesrv: &str, topic: &str) -> Producer {
    let producer = Producer::start(client(namesrv), ProducerConfig::new(unique("creator")))
        .await
        .unwrap();
    producer.send(Message::new(topic, "create")).await.unwrap();
    wait_for_route(namesrv, topic).await;
    producer
}

/// Records what a listener saw, for assertions from the test task.
#[derive(Clone, Default)]
pub struct Seen(pub std::sync::Arc<std::sync::Mutex<Vec<apogee_client::MessageExt>>>);

impl Seen {
    pub fn push(&self, msgs: &[apogee_client::MessageExt]) {
        self.0.lock().unwrap().extend_from_slice(msgs);
    }
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    pub fn bodies(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|m| String::from_utf8_lossy(&m.body).into_owned())
            .collect()
    }
    pub fn all(&self) -> Vec<apogee_client::MessageExt> {
        self.0.lock().unwrap().clone()
    }
    /// What was seen, without sentinels.
    pub fn all_but_sentinels(&self) -> Vec<apogee_client::MessageExt> {
        self.all().into_iter().filter(|m| !is_sentinel(m)).collect()
    }
    /// The bodies seen, without sentinels.
    pub fn bodies_but_sentinels(&self) -> Vec<String> {
        self.bodies()
            .into_iter()
            .filter(|b| !b.starts_with(SENTINEL))
            .collect()
    }
    /// Waits until `n` different bodies were seen (redeliveries are allowed: at least once).
    pub async fn wait_for_distinct(&self, what: &str, n: usize) {
        let me = self.clone();
        wait_until(what, move || {
            let distinct: std::collections::BTreeSet<String> = me.bodies().into_iter().collect();
            async move { distinct.len() >= n }
        })
        .await;
    }
    pub async fn wait_for(&self, what: &str, n: usize) {
        let me = self.clone();
        wait_until(what, move || {
            let me = me.clone();
            async move { me.len() >= n }
        })
        .await;
    }
}

/// A push consumer of `topic` ("*") that records everything it is given and acknowledges it.
pub async fn consumer(
    ns: &str,
    config: apogee_client::PushConsumerConfig,
    topic: &str,
    seen: &Seen,
) -> apogee_client::PushConsumer {
    let seen = seen.clone();
    apogee_client::PushConsumer::builder(client(ns), config)
        .subscribe(topic, "*")
        .listener(move |msgs: &[apogee_client::MessageExt]| {
            seen.push(msgs);
            apogee_client::ConsumeResult::Success
        })
        .start()
        .await
        .unwrap()
}

/// Clustering settings for `group`, starting at the first stored message.
pub fn from_first(group: &str) -> apogee_client::PushConsumerConfig {
    let mut config = apogee_client::PushConsumerConfig::new(group);
    config.consume_from = apogee_client::ConsumeFrom::FirstOffset;
    config
}

/// Bodies of sentinel messages start with this.
pub const SENTINEL: &str = "sentinel-";

pub fn is_sentinel(m: &apogee_client::MessageExt) -> bool {
    m.body.starts_with(SENTINEL.as_bytes())
}

/// One sentinel message per queue, sent after everything a test expects. A queue delivers in
/// order, so once a consumer has consumed a queue through its sentinel it has been given
/// everything stored there before it: a duplicate or an extra delivery would have come first.
/// This replaces sleeping "long enough" before asserting that nothing more arrived.
#[derive(Debug, Default)]
pub struct Sentinels {
    pub bodies: BTreeSet<String>,
    /// The offset just past each queue's sentinel.
    pub ends: BTreeMap<MessageQueue, i64>,
}

impl Sentinels {
    /// Every sentinel is among `bodies`.
    pub fn all_in(&self, bodies: impl IntoIterator<Item = String>) -> bool {
        let bodies: BTreeSet<String> = bodies.into_iter().collect();
        self.bodies.is_subset(&bodies)
    }
}

/// Sends one sentinel to each of `queues`.
pub async fn send_sentinels<'a>(
    producer: &Producer,
    queues: impl IntoIterator<Item = &'a MessageQueue>,
) -> Sentinels {
    let mut sentinels = Sentinels::default();
    for queue in queues {
        let body = format!("{SENTINEL}{}-{}", queue.queue_id, unique("of"));
        let sent = producer
            .send_to_queue(Message::new(&queue.topic, body.clone()), queue)
            .await
            .unwrap();
        sentinels.bodies.insert(body);
        sentinels.ends.insert(queue.clone(), sent.queue_offset + 1);
    }
    sentinels
}

/// The queues of `topic` `consumer` holds, once it holds `n` of them.
pub async fn wait_holds(consumer: &PushConsumer, topic: &str, n: usize) -> BTreeSet<MessageQueue> {
    let held = || -> BTreeSet<MessageQueue> {
        consumer
            .assignment()
            .into_iter()
            .filter(|q| q.topic == topic)
            .collect()
    };
    wait_until(&format!("the consumer holds {n} queues of {topic}"), || {
        let count = held().len();
        async move { count == n }
    })
    .await;
    held()
}

/// Waits until `seen` holds every sentinel and `consumer` has finished with everything up to
/// each: the offset it will commit for a queue moves only past messages whose listener has
/// returned, so by then every delivery of a message stored before the sentinels was seen.
pub async fn wait_through_sentinels(consumer: &PushConsumer, seen: &Seen, sentinels: &Sentinels) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let offsets: BTreeMap<&MessageQueue, Option<i64>> = sentinels
            .ends
            .keys()
            .map(|q| (q, consumer.committed_offset(q)))
            .collect();
        let through = sentinels
            .ends
            .iter()
            .all(|(q, end)| offsets[q].is_some_and(|o| o >= *end));
        if through && sentinels.all_in(seen.bodies()) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the consumer never consumed through the sentinels {sentinels:?}: its offsets are \
             {offsets:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
