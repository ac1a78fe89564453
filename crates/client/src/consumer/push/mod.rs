//! The push consumer: per assigned queue a pull loop fills a process queue; a bounded worker
//! pool hands messages to the application's listener; outcomes move the committed offset,
//! send failures back to the broker, or (orderly) retry locally under the broker's queue lock.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apogee_protocol::body::admin::ConsumerRunningInfo;
use apogee_protocol::body::client::{ConsumerData, MessageModel, MessageQueue, SubscriptionData};
use apogee_runtime::Shutdown;
use tokio::sync::{Notify, Semaphore};

mod config;
mod consume;
pub use config::PushConsumerConfig;
mod direct;
mod pull_header;
mod running_info;
mod trace;

use super::api::PullStatus;
use super::offset_store::OffsetStore;
use super::process_queue::{ProcessQueue, QueueStat};
use super::selector::MessageSelector;
use super::status::StatusBook;
use super::{
    BROKER_SUSPEND_MAX, PULL_DELAY_ON_ERROR, PULL_DELAY_ON_FLOW_CONTROL, PULL_RPC_TIMEOUT,
};
use crate::config::ClientConfig;
use crate::instance::{ClientInstance, ConsumerHandle, now_ms};
use crate::message::{MessageExt, property};
use crate::trace_writer::TraceWriter;
use crate::{ClientError, Result};
use apogee_protocol::body::trace::TRACE_TOPIC;

/// Outcome of a concurrent listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeResult {
    Success,
    /// Redeliver later through the group's retry topic (back-off by delay level).
    ReconsumeLater,
}

/// Outcome of an orderly listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderlyResult {
    Success,
    /// Retry the same messages after `suspend_current_queue_time`, keeping the queue's order.
    SuspendCurrentQueueAMoment,
}

/// Consumes messages of any queue in parallel. Runs on the blocking worker pool, so it may
/// block; at most `consume_threads` run at once.
pub trait MessageListener: Send + Sync + 'static {
    fn consume(&self, msgs: &[MessageExt]) -> ConsumeResult;
}

impl<F> MessageListener for F
where
    F: Fn(&[MessageExt]) -> ConsumeResult + Send + Sync + 'static,
{
    fn consume(&self, msgs: &[MessageExt]) -> ConsumeResult {
        self(msgs)
    }
}

/// Consumes each queue's messages one batch at a time, in queue order.
pub trait OrderlyListener: Send + Sync + 'static {
    fn consume(&self, msgs: &[MessageExt]) -> OrderlyResult;
}

impl<F> OrderlyListener for F
where
    F: Fn(&[MessageExt]) -> OrderlyResult + Send + Sync + 'static,
{
    fn consume(&self, msgs: &[MessageExt]) -> OrderlyResult {
        self(msgs)
    }
}

#[derive(Clone)]
enum Listener {
    Concurrent(Arc<dyn MessageListener>),
    Orderly(Arc<dyn OrderlyListener>),
}

/// A running push consumer. Dropping it does not stop it; call [`PushConsumer::shutdown`].
pub struct PushConsumer {
    core: Arc<Core>,
}

/// Builds a push consumer: subscribe, set the listener, start.
pub struct PushConsumerBuilder {
    client: ClientConfig,
    config: PushConsumerConfig,
    subscriptions: BTreeMap<String, MessageSelector>,
    listener: Option<Listener>,
}

struct Core {
    config: PushConsumerConfig,
    instance: Arc<ClientInstance>,
    subscriptions: BTreeMap<String, SubscriptionData>,
    listener: Listener,
    offsets: OffsetStore,
    queues: Mutex<HashMap<MessageQueue, Arc<ProcessQueue>>>,
    rebalance_now: Arc<Notify>,
    /// One rebalance at a time: two at once would both start pulling a new queue.
    rebalancing: tokio::sync::Mutex<()>,
    workers: Arc<Semaphore>,
    shutdown: Shutdown,
    max_reconsume_times: i32,
    /// Consumption figures; its start is `PROP_CONSUMER_START_TIMESTAMP`.
    status: StatusBook,
    /// The trace writer, when `enable_trace` is on.
    trace: Option<Arc<TraceWriter>>,
}

/// Client-side lock validity for orderly queues (`lockMaxLiveTime`, 30 s).
const LOCK_MAX_LIVE_MS: i64 = 30_000;
/// Lock renewal period (20 s).
const LOCK_RENEW_INTERVAL: Duration = Duration::from_secs(20);
/// How long shutdown waits for consumes in flight before the trace writer closes.
const TRACE_FLUSH_WAIT: Duration = Duration::from_secs(3);
/// Retry of a failed send-back (local re-consume), as Java's 5 s.
const SEND_BACK_RETRY_DELAY: Duration = Duration::from_secs(5);

impl PushConsumer {
    pub fn builder(client: ClientConfig, config: PushConsumerConfig) -> PushConsumerBuilder {
        PushConsumerBuilder {
            client,
            config,
            subscriptions: BTreeMap::new(),
            listener: None,
        }
    }

    pub fn group(&self) -> &str {
        &self.core.config.group
    }

    /// The queues this member consumes now.
    pub fn assignment(&self) -> BTreeSet<MessageQueue> {
        self.core.table().keys().cloned().collect()
    }

    /// Per-queue cache and flow-control figures.
    pub fn queue_stats(&self) -> Vec<QueueStat> {
        let now = now_ms();
        let mut stats: Vec<QueueStat> = self.core.table().values().map(|pq| pq.stat(now)).collect();
        stats.sort_by(|a, b| a.queue.cmp(&b.queue));
        stats
    }

    /// The offset this member will commit next for `queue`.
    pub fn committed_offset(&self, queue: &MessageQueue) -> Option<i64> {
        self.core.offsets.cached(queue)
    }

    /// Rebalances now instead of at the next period.
    pub async fn rebalance(&self) {
        self.core.rebalance().await;
    }

    /// Stops pulling, commits progress, releases queue locks and leaves the group.
    pub async fn shutdown(&self) {
        let core = &self.core;
        if core.shutdown.is_triggered() {
            return;
        }
        core.shutdown.trigger();
        let queues: Vec<Arc<ProcessQueue>> = core.table().drain().map(|(_, pq)| pq).collect();
        for pq in &queues {
            pq.set_dropped();
        }
        let assigned: Vec<MessageQueue> = queues.iter().map(|pq| pq.queue.clone()).collect();
        if let Err(e) = core.offsets.persist(&core.instance, Some(&assigned)).await {
            tracing::warn!(error = %e, "cannot save offsets at shutdown");
        }
        if core.is_orderly_clustering() {
            core.unlock(&assigned).await;
        }
        if let Some(trace) = &core.trace {
            // Consumes in flight finish (and record their traces) before the writer closes.
            let all = u32::try_from(core.config.consume_threads).unwrap_or(u32::MAX);
            let _ = tokio::time::timeout(TRACE_FLUSH_WAIT, core.workers.acquire_many(all)).await;
            trace.close().await;
        }
        core.instance
            .unregister(None, Some(&core.config.group))
            .await;
    }
}

impl PushConsumerBuilder {
    /// Subscribes to `topic` with a tag expression (`*`, `TagA`, `TagA || TagB`) or a
    /// [`MessageSelector`] (`MessageSelector::by_sql("a > 5")`).
    pub fn subscribe(
        mut self,
        topic: impl Into<String>,
        expression: impl Into<MessageSelector>,
    ) -> Self {
        self.subscriptions.insert(topic.into(), expression.into());
        self
    }

    pub fn listener(mut self, listener: impl MessageListener) -> Self {
        self.listener = Some(Listener::Concurrent(Arc::new(listener)));
        self
    }

    pub fn orderly_listener(mut self, listener: impl OrderlyListener) -> Self {
        self.listener = Some(Listener::Orderly(Arc::new(listener)));
        self
    }

    /// Registers the group, rebalances and starts consuming.
    pub async fn start(self) -> Result<PushConsumer> {
        let config = self.config;
        config.validate()?;
        let listener = self.listener.ok_or_else(|| {
            ClientError::Config("no listener: call listener() or orderly_listener()".into())
        })?;
        if self.subscriptions.is_empty() {
            return Err(ClientError::Config(
                "no subscription: call subscribe()".into(),
            ));
        }
        for selector in self.subscriptions.values() {
            selector.validate()?;
        }
        let instance = ClientInstance::get(&self.client).await?;
        let version = now_ms();
        let mut subscriptions: BTreeMap<String, SubscriptionData> = self
            .subscriptions
            .iter()
            .map(|(t, selector)| (t.clone(), selector.subscription(t, version)))
            .collect();
        if config.message_model == MessageModel::Clustering {
            let retry = apogee_model::system_topic::retry_topic(&config.group);
            subscriptions.insert(
                retry.clone(),
                SubscriptionData::from_tag_expression(&retry, "*", version),
            );
        }
        let offsets = match config.message_model {
            MessageModel::Clustering => OffsetStore::remote(&config.group),
            MessageModel::Broadcasting => OffsetStore::local(
                &config.offset_store_dir,
                &config.group,
                &self.client.instance_name,
            )?,
        };
        let orderly = matches!(listener, Listener::Orderly(_));
        let default_max_reconsume = if orderly { i32::MAX } else { 16 };
        let max_reconsume_times = config.max_reconsume_times.unwrap_or(default_max_reconsume);
        let trace = config.enable_trace.then(|| {
            let topic = config
                .trace_topic
                .clone()
                .unwrap_or_else(|| TRACE_TOPIC.to_owned());
            TraceWriter::start(&self.client, &config.group, topic)
        });
        let core = Arc::new(Core {
            workers: Arc::new(Semaphore::new(config.consume_threads)),
            config,
            instance: Arc::clone(&instance),
            subscriptions,
            listener,
            offsets,
            queues: Mutex::new(HashMap::new()),
            rebalance_now: Arc::new(Notify::new()),
            rebalancing: tokio::sync::Mutex::new(()),
            shutdown: Shutdown::new(),
            max_reconsume_times,
            status: StatusBook::new(version),
            trace,
        });
        instance.register_consumer(&core.config.group, Arc::new(Handle(Arc::downgrade(&core))))?;
        for topic in core.subscriptions.keys() {
            if let Err(e) = instance.refresh_route(topic).await {
                if apogee_model::system_topic::is_retry_topic(topic) {
                    tracing::debug!(%topic, error = %e, "no retry topic yet");
                } else {
                    instance.unregister(None, Some(&core.config.group)).await;
                    return Err(e);
                }
            }
        }
        instance.heartbeat().await;
        core.rebalance().await;
        spawn_timers(&core);
        Ok(PushConsumer { core })
    }
}

/// The registry's view; weak so the instance never keeps a consumer alive.
struct Handle(std::sync::Weak<Core>);

impl ConsumerHandle for Handle {
    fn consumer_data(&self) -> ConsumerData {
        match self.0.upgrade() {
            Some(core) => ConsumerData {
                consume_from_where: core.config.consume_from.java_name().into(),
                consume_type: "CONSUME_PASSIVELY".into(),
                group_name: core.config.group.clone(),
                message_model: core.config.message_model,
                subscription_data_set: core.subscriptions.values().cloned().collect(),
                unit_mode: false,
            },
            None => ConsumerData::default(),
        }
    }

    fn ids_changed(&self) {
        if let Some(core) = self.0.upgrade() {
            core.rebalance_now.notify_one();
        }
    }

    fn reset_offsets(&self, topic: String, offsets: BTreeMap<MessageQueue, i64>) {
        if let Some(core) = self.0.upgrade() {
            tokio::spawn(async move { core.reset_offsets(&topic, offsets).await });
        }
    }

    fn running_info(&self) -> Option<ConsumerRunningInfo> {
        self.0.upgrade().map(|core| core.running_info())
    }

    fn consume_directly(&self, msg: MessageExt) -> Option<crate::instance::DirectConsume> {
        self.0.upgrade().map(|core| core.consume_directly(msg))
    }
}

fn spawn_timers(core: &Arc<Core>) {
    let (config, shutdown) = (&core.instance.config, &core.shutdown);
    // Rebalance: periodic and on NOTIFY_CONSUMER_IDS_CHANGED.
    let wake = Some(Arc::clone(&core.rebalance_now));
    super::spawn_every(
        core,
        shutdown,
        config.rebalance_interval,
        wake,
        |core| async move {
            core.rebalance().await;
        },
    );
    super::spawn_every(
        core,
        shutdown,
        config.persist_offset_interval,
        None,
        |core| async move {
            let assigned: Vec<MessageQueue> = core.table().keys().cloned().collect();
            if let Err(e) = core.offsets.persist(&core.instance, Some(&assigned)).await {
                tracing::warn!(error = %e, "cannot save offsets");
            }
        },
    );
    if matches!(core.listener, Listener::Concurrent(_)) {
        // Consume timeout: hand stuck messages back.
        let period = (core.config.consume_timeout / 2)
            .clamp(Duration::from_millis(100), Duration::from_secs(60));
        super::spawn_every(core, shutdown, period, None, |core| async move {
            core.clean_expired().await;
        });
    }
    if core.is_orderly_clustering() {
        super::spawn_every(
            core,
            shutdown,
            LOCK_RENEW_INTERVAL,
            None,
            |core| async move {
                core.renew_locks().await;
            },
        );
    }
}

impl Core {
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<MessageQueue, Arc<ProcessQueue>>> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_orderly_clustering(&self) -> bool {
        matches!(self.listener, Listener::Orderly(_))
            && self.config.message_model == MessageModel::Clustering
    }

    async fn rebalance(self: &Arc<Self>) {
        let _one_at_a_time = self.rebalancing.lock().await;
        if self.shutdown.is_triggered() {
            return;
        }
        for topic in self.subscriptions.keys() {
            if let Err(e) = self.rebalance_topic(topic).await {
                tracing::debug!(%topic, group = %self.config.group, error = %e, "rebalance of topic failed");
            }
        }
    }

    /// A broker moved the group's offsets on `topic` (RESET_CONSUMER_CLIENT_OFFSET, the
    /// pre-5.x path): stop pulling the topic's queues, commit the new offsets, then rebalance
    /// so the queues come back at them.
    async fn reset_offsets(self: &Arc<Self>, topic: &str, offsets: BTreeMap<MessageQueue, i64>) {
        let _one_at_a_time = self.rebalancing.lock().await;
        if self.shutdown.is_triggered() {
            return;
        }
        let stopped: Vec<Arc<ProcessQueue>> = {
            let mut table = self.table();
            let mine: Vec<MessageQueue> =
                table.keys().filter(|q| q.topic == topic).cloned().collect();
            mine.iter().filter_map(|q| table.remove(q)).collect()
        };
        for pq in &stopped {
            pq.set_dropped();
        }
        if self.is_orderly_clustering() && !stopped.is_empty() {
            for pq in &stopped {
                let _ = tokio::time::timeout(Duration::from_secs(1), pq.consume_lock.lock()).await;
            }
            let queues: Vec<MessageQueue> = stopped.iter().map(|pq| pq.queue.clone()).collect();
            self.unlock(&queues).await;
        }
        for (queue, offset) in offsets.iter().filter(|(q, _)| q.topic == topic) {
            self.offsets.update(queue, *offset, false);
            if let Err(e) = self.offsets.persist_sync(&self.instance, queue).await {
                tracing::warn!(?queue, error = %e, "cannot commit a reset offset");
            }
            self.offsets.remove(queue);
            tracing::info!(group = %self.config.group, ?queue, offset, "offset reset by the broker");
        }
        for pq in &stopped {
            if !offsets.contains_key(&pq.queue) {
                // Not moved: keep its progress, continue from there.
                let _ = self.offsets.persist_sync(&self.instance, &pq.queue).await;
                self.offsets.remove(&pq.queue);
            }
        }
        if let Err(e) = self.rebalance_topic(topic).await {
            tracing::warn!(%topic, error = %e, "rebalance after an offset reset failed");
        }
    }

    async fn rebalance_topic(self: &Arc<Self>, topic: &str) -> Result<()> {
        let mine = super::my_queues(
            &self.instance,
            topic,
            &self.config.group,
            self.config.message_model,
            self.config.allocate,
        )
        .await?;
        if let Some(mine) = mine {
            self.apply_assignment(topic, mine).await;
        }
        Ok(())
    }

    async fn apply_assignment(self: &Arc<Self>, topic: &str, mine: BTreeSet<MessageQueue>) {
        let removed: Vec<Arc<ProcessQueue>> = {
            let mut table = self.table();
            let gone: Vec<MessageQueue> = table
                .keys()
                .filter(|q| q.topic == topic && !mine.contains(*q))
                .cloned()
                .collect();
            gone.iter().filter_map(|q| table.remove(q)).collect()
        };
        for pq in &removed {
            pq.set_dropped();
            tracing::info!(group = %self.config.group, queue = ?pq.queue, "queue released by rebalance");
            if let Err(e) = self.offsets.persist_sync(&self.instance, &pq.queue).await {
                tracing::debug!(queue = ?pq.queue, error = %e, "offset commit on release failed");
            }
            self.offsets.remove(&pq.queue);
        }
        if self.is_orderly_clustering() && !removed.is_empty() {
            let queues: Vec<MessageQueue> = removed.iter().map(|pq| pq.queue.clone()).collect();
            // Let a running batch finish before the broker lock goes.
            for pq in &removed {
                let _ = tokio::time::timeout(Duration::from_secs(1), pq.consume_lock.lock()).await;
            }
            self.unlock(&queues).await;
        }
        let added: Vec<MessageQueue> = {
            let table = self.table();
            mine.iter()
                .filter(|q| !table.contains_key(*q))
                .cloned()
                .collect()
        };
        for queue in added {
            let pq = Arc::new(ProcessQueue::new(queue.clone()));
            if self.is_orderly_clustering() {
                match self.lock_one(&queue).await {
                    Ok(true) => pq.set_locked(true, now_ms()),
                    Ok(false) => {
                        tracing::info!(
                            ?queue,
                            "queue is locked by another member; skipped this round"
                        );
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(?queue, error = %e, "cannot lock queue");
                        continue;
                    }
                }
            }
            let offset = match self.start_offset(&queue).await {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(?queue, error = %e, "cannot compute the start offset; retry at next rebalance");
                    continue;
                }
            };
            self.offsets.update(&queue, offset, false);
            tracing::info!(group = %self.config.group, ?queue, offset, "queue assigned");
            self.table().insert(queue.clone(), Arc::clone(&pq));
            tokio::spawn(Arc::clone(self).pull_loop(pq, offset));
        }
    }

    async fn start_offset(&self, queue: &MessageQueue) -> Result<i64> {
        super::start_offset(
            &self.instance,
            &self.offsets,
            queue,
            self.config.consume_from,
        )
        .await
    }

    async fn lock_one(&self, queue: &MessageQueue) -> Result<bool> {
        let addr = self
            .instance
            .find_broker_addr(&queue.broker_name, &queue.topic)
            .await?;
        let granted = self
            .instance
            .lock_queues(&addr, &self.config.group, BTreeSet::from([queue.clone()]))
            .await?;
        Ok(granted.contains(queue))
    }

    async fn renew_locks(&self) {
        let mut by_broker: HashMap<String, Vec<Arc<ProcessQueue>>> = HashMap::new();
        for pq in self.table().values() {
            by_broker
                .entry(pq.queue.broker_name.clone())
                .or_default()
                .push(Arc::clone(pq));
        }
        for (broker, pqs) in by_broker {
            let Some(addr) = self.instance.broker_addr(&broker, true) else {
                continue;
            };
            let wanted: BTreeSet<MessageQueue> = pqs.iter().map(|pq| pq.queue.clone()).collect();
            match self
                .instance
                .lock_queues(&addr, &self.config.group, wanted)
                .await
            {
                Ok(granted) => {
                    for pq in pqs {
                        let ok = granted.contains(&pq.queue);
                        pq.set_locked(ok, now_ms());
                        if !ok {
                            tracing::warn!(queue = ?pq.queue, "queue lock lost");
                        }
                    }
                }
                Err(e) => tracing::warn!(%broker, error = %e, "lock renewal failed"),
            }
        }
    }

    async fn unlock(&self, queues: &[MessageQueue]) {
        let mut by_broker: HashMap<String, BTreeSet<MessageQueue>> = HashMap::new();
        for q in queues {
            by_broker
                .entry(q.broker_name.clone())
                .or_default()
                .insert(q.clone());
        }
        for (broker, set) in by_broker {
            if let Some(addr) = self.instance.broker_addr(&broker, true)
                && let Err(e) = self
                    .instance
                    .unlock_queues(&addr, &self.config.group, set)
                    .await
            {
                tracing::debug!(%broker, error = %e, "unlock failed");
            }
        }
    }

    /// Pulls `pq`'s queue until it is dropped.
    async fn pull_loop(self: Arc<Self>, pq: Arc<ProcessQueue>, mut next_offset: i64) {
        let queue = pq.queue.clone();
        let Some(subscription) = self.subscriptions.get(&queue.topic).cloned() else {
            return;
        };
        let clustering = self.config.message_model == MessageModel::Clustering;
        let mut broker_id = apogee_model::MASTER_ID;
        loop {
            if pq.is_dropped() || self.shutdown.is_triggered() {
                return;
            }
            if pq.flow_control(
                self.config.pull_threshold_for_queue,
                self.config.pull_threshold_size_for_queue,
            ) {
                self.pause(PULL_DELAY_ON_FLOW_CONTROL).await;
                continue;
            }
            if matches!(self.listener, Listener::Orderly(_))
                && clustering
                && !pq.is_locked(now_ms(), LOCK_MAX_LIVE_MS)
            {
                // Java waits 3 s for the lock; renewal runs every 20 s, so try here too.
                match self.lock_one(&queue).await {
                    Ok(true) => pq.set_locked(true, now_ms()),
                    _ => {
                        self.pause(PULL_DELAY_ON_ERROR).await;
                        continue;
                    }
                }
            }
            let Some((pulled_from, addr)) = self
                .instance
                .broker_addr_by_id(&queue.broker_name, broker_id)
            else {
                let _ = self.instance.refresh_route(&queue.topic).await;
                self.pause(PULL_DELAY_ON_ERROR).await;
                continue;
            };
            let header = self.pull_header(&queue, next_offset, pulled_from, &subscription);
            let began_ms = now_ms();
            let pulled = tokio::select! {
                r = self.instance.pull(&addr, header, &subscription.tags_set, PULL_RPC_TIMEOUT) => r,
                () = self.shutdown.wait() => return,
            };
            let result = match pulled {
                Ok(r) => r,
                Err(e) => {
                    if !self.shutdown.is_triggered() {
                        tracing::debug!(?queue, error = %e, "pull failed; retrying in 3 s");
                    }
                    // Try the group's next broker: a dead master stays in the route until the
                    // NameServers notice, while its slave can serve the queue.
                    broker_id = self
                        .instance
                        .next_broker_id(&queue.broker_name, pulled_from);
                    self.pause(PULL_DELAY_ON_ERROR).await;
                    continue;
                }
            };
            if pq.is_dropped() {
                return;
            }
            self.note_pull(&pq, result.status, result.messages.len(), began_ms);
            broker_id = result.suggest_which_broker_id;
            match result.status {
                PullStatus::Found => {
                    next_offset = result.next_begin_offset;
                    let msgs: Vec<MessageExt> = result
                        .messages
                        .into_iter()
                        .map(|m| restore_retry_topic(m, &self.config.group))
                        .collect();
                    if msgs.is_empty() {
                        if pq.is_empty() {
                            self.offsets.update(&queue, next_offset, true);
                        }
                        continue;
                    }
                    self.dispatch(&pq, msgs);
                }
                PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                    next_offset = result.next_begin_offset;
                    if pq.is_empty() {
                        self.offsets.update(&queue, next_offset, true);
                    }
                }
                PullStatus::OffsetIllegal => {
                    tracing::warn!(
                        ?queue,
                        from = next_offset,
                        to = result.next_begin_offset,
                        "offset moved by the broker (reset or out of range)"
                    );
                    next_offset = result.next_begin_offset;
                    pq.clear();
                    self.offsets.update(&queue, next_offset, false);
                    if let Err(e) = self.offsets.persist_sync(&self.instance, &queue).await {
                        tracing::debug!(?queue, error = %e, "offset commit after move failed");
                    }
                }
            }
        }
    }

    /// Feeds the queue's pull timestamp and the status table (pull RT and TPS of found pulls).
    fn note_pull(&self, pq: &ProcessQueue, status: PullStatus, found: usize, began_ms: i64) {
        let now = now_ms();
        pq.note_pulled(now);
        if status == PullStatus::Found {
            self.status
                .pulled(&pq.queue.topic, found, now - began_ms, now);
        }
    }

    async fn pause(&self, delay: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            () = self.shutdown.wait() => {}
        }
    }
}

/// Messages from `%RETRY%<group>` show their original topic (Java's `resetRetryAndNamespace`).
fn restore_retry_topic(mut msg: MessageExt, group: &str) -> MessageExt {
    if apogee_model::system_topic::is_retry_topic(&msg.topic)
        && msg.topic[7..] == *group
        && let Some(original) = msg.property(property::RETRY_TOPIC)
    {
        msg.topic = original.to_owned();
    }
    msg
}
