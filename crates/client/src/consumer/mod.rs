//! Consumers: the push consumer (the client pulls and calls a listener) and the lite pull
//! consumer (the application polls), plus what they share: rebalance, progress, pulls.

mod api;
mod lite_pull;
mod offset_store;
mod process_queue;
mod push;
mod rebalance;
mod selector;
mod simple;
mod status;

use std::path::PathBuf;
use std::time::Duration;

pub use api::{PullResult, PullStatus};
pub use lite_pull::{LitePullConsumer, LitePullConsumerConfig};
pub use process_queue::QueueStat;
pub use push::{
    ConsumeResult, MessageListener, OrderlyListener, OrderlyResult, PushConsumer,
    PushConsumerBuilder, PushConsumerConfig,
};
pub use rebalance::AllocateStrategy;
pub use selector::MessageSelector;
pub use simple::{POP_CK, SimpleConsumer, SimpleConsumerConfig, parse_handle};

/// A suspending PULL_MESSAGE of `queue` at `offset` with its subscription (TAG or SQL92), naming the
/// queue's broker; callers add a commit offset when they carry one.
pub(crate) fn pull_header(
    group: &str,
    queue: &apogee_protocol::body::client::MessageQueue,
    (offset, batch): (i64, i32),
    suspend: Duration,
    subscription: &apogee_protocol::body::client::SubscriptionData,
) -> apogee_protocol::header::message::PullMessageRequestHeader {
    use apogee_protocol::header::message::pull_sys_flag;
    apogee_protocol::header::message::PullMessageRequestHeader {
        consumer_group: group.to_owned(),
        topic: queue.topic.clone(),
        queue_id: queue.queue_id,
        queue_offset: offset,
        max_msg_nums: batch,
        sys_flag: pull_sys_flag::SUSPEND | pull_sys_flag::SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: i64::try_from(suspend.as_millis()).unwrap_or(i64::MAX),
        subscription: Some(subscription.sub_string.clone()),
        sub_version: subscription.sub_version,
        expression_type: subscription
            .expression_type
            .clone()
            .or_else(|| Some("TAG".into())),
        max_msg_bytes: None,
        request_source: None,
        proxy_forward_client_id: None,
        broker_name: Some(queue.broker_name.clone()),
    }
}

/// Where a group with no committed offset on a queue starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsumeFrom {
    /// Only messages sent from now on (retry topics start at their beginning).
    #[default]
    LastOffset,
    /// Everything still stored.
    FirstOffset,
    /// Messages stored at or after this time (ms since the epoch).
    Timestamp(i64),
}

impl ConsumeFrom {
    /// The name Java reports in heartbeats.
    pub(crate) fn java_name(self) -> &'static str {
        match self {
            ConsumeFrom::LastOffset => "CONSUME_FROM_LAST_OFFSET",
            ConsumeFrom::FirstOffset => "CONSUME_FROM_FIRST_OFFSET",
            ConsumeFrom::Timestamp(_) => "CONSUME_FROM_TIMESTAMP",
        }
    }
}

/// Where broadcasting consumers keep their local offsets by default: `$HOME/.apogee/offsets`.
pub fn default_offset_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
        .join(".apogee")
        .join("offsets")
}

/// The long-poll time a consumer asks the broker for, and its RPC timeout.
pub(crate) const BROKER_SUSPEND_MAX: Duration = Duration::from_secs(15);
pub(crate) const PULL_RPC_TIMEOUT: Duration = Duration::from_secs(30);
/// Retry delay after a failed pull.
pub(crate) const PULL_DELAY_ON_ERROR: Duration = Duration::from_secs(3);
/// Delay between flow-control checks.
pub(crate) const PULL_DELAY_ON_FLOW_CONTROL: Duration = Duration::from_millis(50);

/// The committed offset of `queue`, or where `consume_from` says to start.
pub(crate) async fn start_offset(
    instance: &crate::ClientInstance,
    offsets: &offset_store::OffsetStore,
    queue: &apogee_protocol::body::client::MessageQueue,
    consume_from: ConsumeFrom,
) -> crate::Result<i64> {
    if let Some(o) = offsets.read_stored(instance, queue).await?
        && o >= 0
    {
        return Ok(o);
    }
    let addr = instance
        .find_broker_addr(&queue.broker_name, &queue.topic)
        .await?;
    let retry = apogee_model::system_topic::is_retry_topic(&queue.topic);
    match consume_from {
        ConsumeFrom::LastOffset if retry => Ok(0),
        ConsumeFrom::LastOffset => instance.max_offset(&addr, queue).await,
        ConsumeFrom::FirstOffset => Ok(0),
        ConsumeFrom::Timestamp(_) if retry => instance.max_offset(&addr, queue).await,
        ConsumeFrom::Timestamp(ts) => instance.search_offset(&addr, queue, ts).await,
    }
}

/// The queues of `topic` this member should own: all of them when broadcasting; otherwise its
/// share among the group's members as one broker of the topic lists them. `Ok(None)` when the
/// broker lists no member yet (keep the current assignment).
pub(crate) async fn my_queues(
    instance: &crate::ClientInstance,
    topic: &str,
    group: &str,
    model: apogee_protocol::body::client::MessageModel,
    strategy: AllocateStrategy,
) -> crate::Result<Option<std::collections::BTreeSet<apogee_protocol::body::client::MessageQueue>>>
{
    use apogee_protocol::body::client::MessageModel;
    let route = instance.route(topic).await?;
    let all = &route.subscribe_queues;
    if model == MessageModel::Broadcasting {
        return Ok(Some(all.iter().cloned().collect()));
    }
    let addr = route
        .data
        .broker_datas
        .iter()
        .find_map(|b| instance.broker_addr(b.broker_name.as_str(), true))
        .ok_or_else(|| instance.no_route(topic))?;
    let members = instance.consumer_ids(&addr, group).await?;
    if members.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        strategy
            .allocate(instance.client_id(), all, &members)
            .into_iter()
            .collect(),
    ))
}

/// Runs `tick` every `period` (and whenever `wake` is notified) until `shutdown`, or until the
/// owner is dropped: the loop keeps only a `Weak` between ticks.
pub(crate) fn spawn_every<T, F, Fut>(
    owner: &std::sync::Arc<T>,
    shutdown: &apogee_runtime::Shutdown,
    period: Duration,
    wake: Option<std::sync::Arc<tokio::sync::Notify>>,
    tick: F,
) where
    T: Send + Sync + 'static,
    F: Fn(std::sync::Arc<T>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let weak = std::sync::Arc::downgrade(owner);
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        loop {
            let woken = async {
                match &wake {
                    Some(notify) => notify.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.wait() => return,
                _ = tokio::time::sleep(period) => {}
                () = woken => {}
            }
            let Some(owner) = weak.upgrade() else { return };
            tick(owner).await;
        }
    });
}
