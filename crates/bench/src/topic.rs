//! Makes sure the bench topic exists before any load starts: if the NameServer has no route
//! for it, the topic is created on every master of the target cluster through the admin API,
//! then the route is awaited (bounded), so producers never fall back to auto-creation and
//! consumers see every queue from the first rebalance.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apogee_client::{Admin, ClientConfig, ClientError, TopicRoute, TopicSpec};

use crate::config::Target;
use crate::error::{BenchError, Result};

/// How long a freshly created topic may take to show up in the NameServer's route.
const ROUTE_WAIT: Duration = Duration::from_secs(10);
const ROUTE_POLL: Duration = Duration::from_millis(100);

/// The client config of bench task `role`/`index`: its own client instance (own
/// connections). The name holds the process id and a sequence number, so no two tasks, runs
/// or bench processes share a client id.
pub(crate) fn client_config(target: &Target, role: &str, index: usize) -> ClientConfig {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    ClientConfig::new(&target.namesrv).instance_name(format!(
        "apogee-bench-{}-{seq}-{role}{index}",
        std::process::id()
    ))
}

/// Creates `target.topic` on every master of `target.cluster` unless it has a route already.
/// Returns how many readable queues the topic has.
pub(crate) async fn ensure_topic(target: &Target) -> Result<usize> {
    let admin = Admin::start(client_config(target, "admin", 0))
        .await
        .map_err(|e| BenchError::client("starting the admin client", e))?;
    let readable = |data| TopicRoute::new(&target.topic, data).subscribe_queues.len();
    match admin.topic_route(&target.topic).await {
        Ok(data) => return Ok(readable(data)),
        Err(ClientError::NoRoute { .. }) => {}
        Err(e) => {
            return Err(BenchError::client(
                format!("looking up topic `{}`", target.topic),
                e,
            ));
        }
    }
    let spec = TopicSpec {
        read_queue_nums: target.queues as i32,
        write_queue_nums: target.queues as i32,
        ..TopicSpec::new(target.topic.clone())
    };
    let masters = admin
        .create_topic_in_cluster(&target.cluster, &spec)
        .await
        .map_err(|e| {
            BenchError::client(
                format!(
                    "creating topic `{}` in cluster `{}`",
                    target.topic, target.cluster
                ),
                e,
            )
        })?;
    if masters.is_empty() {
        return Err(BenchError::Failed(format!(
            "cluster `{}` has no master to create topic `{}` on",
            target.cluster, target.topic
        )));
    }
    let deadline = Instant::now() + ROUTE_WAIT;
    loop {
        if let Ok(data) = admin.topic_route(&target.topic).await {
            return Ok(readable(data));
        }
        if Instant::now() >= deadline {
            return Err(BenchError::Failed(format!(
                "topic `{}` was created on {} but the NameServer has no route for it after {ROUTE_WAIT:?}",
                target.topic,
                masters.join(", ")
            )));
        }
        tokio::time::sleep(ROUTE_POLL).await;
    }
}
