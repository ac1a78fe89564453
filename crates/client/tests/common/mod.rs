//! Harness for the client's integration tests: an in-process NameServer + broker (the code
//! `apogee standalone` runs) on ephemeral ports, client settings with short periods, and
//! deadline-bounded waiting.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use apogee_client::{ClientConfig, Message, Producer, ProducerConfig};

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
