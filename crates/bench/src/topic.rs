//! Makes sure the bench topic exists before any load starts: if the NameServer has no route
//! for it, the topic is created on every master of the target cluster through the admin API,
//! then the route is awaited (bounded), so producers never fall back to auto-creation and
//! consumers see every queue from the first rebalance. Also names the bench's clients.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apogee_client::{Admin, ClientConfig, ClientError, TopicRoute, TopicSpec};

use crate::config::Target;
use crate::error::{BenchError, Result};

/// How long a cluster may take to register a master, and a new topic to get a route.
const SETUP_WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);

/// The client config of bench task `role`/`index`: its own client instance (own
/// connections). The name holds the process id and a sequence number, so no two tasks, runs
/// or bench processes share a client id.
pub(crate) fn client_config(target: &Target, role: &str, index: usize) -> ClientConfig {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let config = ClientConfig::new(&target.namesrv).instance_name(format!(
        "apogee-bench-{}-{seq}-{role}{index}",
        std::process::id()
    ));
    match &target.credentials {
        Some((ak, sk)) => config.credentials(ak.clone(), sk.clone()),
        None => config,
    }
}

/// Creates `target.topic` on every master of `target.cluster` unless it has a route already.
/// Returns how many readable queues the topic has. A cluster that has no master registered
/// yet (a broker just started) is waited for, within [`SETUP_WAIT`].
pub(crate) async fn ensure_topic(target: &Target) -> Result<usize> {
    let admin = Admin::start(client_config(target, "admin", 0))
        .await
        .map_err(|e| BenchError::client("starting the admin client", e))?;
    let deadline = Instant::now() + SETUP_WAIT;
    loop {
        let waiting_for = match step(&admin, target).await? {
            Step::Ready(queues) => return Ok(queues),
            Step::Wait(reason) => reason,
        };
        if Instant::now() >= deadline {
            return Err(BenchError::Failed(format!(
                "topic `{}` is not usable after {SETUP_WAIT:?}: {waiting_for}",
                target.topic
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The masters of `target.cluster`, waiting within [`SETUP_WAIT`] for a just-started broker's
/// first registration.
pub(crate) async fn wait_for_masters(admin: &Admin, target: &Target) -> Result<Vec<String>> {
    let deadline = Instant::now() + SETUP_WAIT;
    loop {
        let waiting_for = match registered_masters(admin, &target.cluster).await? {
            Ok(masters) => return Ok(masters),
            Err(reason) => reason,
        };
        if Instant::now() >= deadline {
            return Err(BenchError::Failed(format!(
                "{waiting_for} after {SETUP_WAIT:?}"
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The cluster's masters, or why there are none yet (the cluster is unknown or masterless
/// until its first broker registers).
async fn registered_masters(
    admin: &Admin,
    cluster: &str,
) -> Result<std::result::Result<Vec<String>, String>> {
    match admin.cluster_masters(cluster).await {
        Ok(masters) if !masters.is_empty() => Ok(Ok(masters)),
        Ok(_) | Err(ClientError::Config(_)) => Ok(Err(format!(
            "cluster `{cluster}` has no master registered with the NameServer"
        ))),
        Err(e) => Err(BenchError::client(format!("masters of `{cluster}`"), e)),
    }
}

enum Step {
    /// The topic has a route with this many readable queues.
    Ready(usize),
    /// Not yet, for this reason.
    Wait(String),
}

async fn step(admin: &Admin, target: &Target) -> Result<Step> {
    let topic = &target.topic;
    match admin.topic_route(topic).await {
        Ok(data) => {
            let queues = TopicRoute::new(topic, data).subscribe_queues.len();
            return Ok(Step::Ready(queues));
        }
        Err(ClientError::NoRoute { .. }) => {}
        Err(e) => return Err(BenchError::client(format!("looking up topic `{topic}`"), e)),
    }
    let masters = match registered_masters(admin, &target.cluster).await? {
        Ok(masters) => masters,
        Err(waiting_for) => return Ok(Step::Wait(waiting_for)),
    };
    let spec = TopicSpec {
        read_queue_nums: target.queues as i32,
        write_queue_nums: target.queues as i32,
        ..TopicSpec::new(topic.clone())
    };
    for addr in &masters {
        admin
            .create_topic(addr, &spec)
            .await
            .map_err(|e| BenchError::client(format!("creating topic `{topic}` on {addr}"), e))?;
    }
    Ok(Step::Wait(format!(
        "created on {} but the NameServer has no route yet",
        masters.join(", ")
    )))
}
