//! The lite pull consumer: background pulls fill a buffer; the application calls
//! [`LitePullConsumer::poll`]. Queues come from a subscription (rebalanced within the group)
//! or are assigned by hand; `seek` moves a queue; offsets are committed automatically every
//! few seconds or by [`LitePullConsumer::commit_sync`].

use super::selector::MessageSelector;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apogee_protocol::body::client::{ConsumerData, MessageModel, MessageQueue, SubscriptionData};
use apogee_runtime::Shutdown;
use tokio::sync::{Notify, mpsc};

use super::api::PullStatus;
use super::offset_store::OffsetStore;
use super::rebalance::AllocateStrategy;
use super::{ConsumeFrom, PULL_DELAY_ON_ERROR, PULL_DELAY_ON_FLOW_CONTROL};
use crate::config::ClientConfig;
use crate::instance::{ClientInstance, ConsumerHandle, now_ms};
use crate::message::MessageExt;
use crate::{ClientError, Result};

/// Lite pull consumer settings; `LitePullConsumerConfig::new(group)` gives the defaults.
#[derive(Debug, Clone)]
pub struct LitePullConsumerConfig {
    pub group: String,
    pub message_model: MessageModel,
    pub consume_from: ConsumeFrom,
    pub allocate: AllocateStrategy,
    /// Commit what `poll` returned, every `auto_commit_interval` (true, 5 s).
    pub auto_commit: bool,
    /// Messages per pull request (32).
    pub pull_batch_size: i32,
    /// Pulling of a queue pauses while this many of its messages wait to be polled (1000).
    pub pull_threshold_for_queue: usize,
    /// How long the broker may hold a pull with nothing new (5 s).
    pub long_polling: Duration,
    pub offset_store_dir: PathBuf,
}

impl LitePullConsumerConfig {
    pub fn new(group: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            message_model: MessageModel::Clustering,
            consume_from: ConsumeFrom::LastOffset,
            allocate: AllocateStrategy::Average,
            auto_commit: true,
            pull_batch_size: 32,
            pull_threshold_for_queue: 1000,
            long_polling: Duration::from_secs(5),
            offset_store_dir: super::default_offset_dir(),
        }
    }
}

/// A started lite pull consumer.
pub struct LitePullConsumer {
    core: Arc<Core>,
}

struct Core {
    config: LitePullConsumerConfig,
    instance: Arc<ClientInstance>,
    subscriptions: Mutex<BTreeMap<String, SubscriptionData>>,
    queues: Mutex<HashMap<MessageQueue, Arc<LiteQueue>>>,
    offsets: OffsetStore,
    tx: mpsc::Sender<Batch>,
    rx: tokio::sync::Mutex<mpsc::Receiver<Batch>>,
    rebalance_now: Arc<Notify>,
    /// One rebalance at a time: two at once would both start pulling a new queue.
    rebalancing: tokio::sync::Mutex<()>,
    shutdown: Shutdown,
}

struct LiteQueue {
    queue: MessageQueue,
    /// Bumped by `seek`: batches pulled before it are discarded.
    epoch: AtomicU64,
    next_pull: AtomicI64,
    /// One past the last message `poll` returned.
    consumed: AtomicI64,
    buffered: AtomicUsize,
    dropped: AtomicBool,
    wake: Notify,
}

struct Batch {
    queue: Arc<LiteQueue>,
    epoch: u64,
    msgs: Vec<MessageExt>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LitePullConsumer {
    /// Starts the consumer with no queues; then `subscribe` or `assign`.
    pub async fn start(
        client: ClientConfig,
        config: LitePullConsumerConfig,
    ) -> Result<LitePullConsumer> {
        apogee_model::GroupName::new(config.group.clone())
            .map_err(|e| ClientError::Config(format!("group `{}`: {e}", config.group)))?;
        let instance = ClientInstance::get(&client).await?;
        let offsets = match config.message_model {
            MessageModel::Clustering => OffsetStore::remote(&config.group),
            MessageModel::Broadcasting => OffsetStore::local(
                &config.offset_store_dir,
                &config.group,
                &client.instance_name,
            )?,
        };
        let (tx, rx) = mpsc::channel(256);
        let core = Arc::new(Core {
            config,
            instance: Arc::clone(&instance),
            subscriptions: Mutex::new(BTreeMap::new()),
            queues: Mutex::new(HashMap::new()),
            offsets,
            tx,
            rx: tokio::sync::Mutex::new(rx),
            rebalance_now: Arc::new(Notify::new()),
            rebalancing: tokio::sync::Mutex::new(()),
            shutdown: Shutdown::new(),
        });
        instance.register_consumer(&core.config.group, Arc::new(Handle(Arc::downgrade(&core))))?;
        spawn_timers(&core);
        Ok(LitePullConsumer { core })
    }

    /// Subscribes to `topic` (a tag expression or a [`MessageSelector`]); the group's
    /// members share its queues.
    pub async fn subscribe(
        &self,
        topic: &str,
        expression: impl Into<MessageSelector>,
    ) -> Result<()> {
        let selector = expression.into();
        selector.validate()?;
        self.core.instance.refresh_route(topic).await?;
        lock(&self.core.subscriptions)
            .insert(topic.to_owned(), selector.subscription(topic, now_ms()));
        self.core.instance.heartbeat().await;
        self.core.rebalance().await;
        Ok(())
    }

    /// Consumes exactly these queues (no group rebalance for them).
    pub async fn assign(&self, queues: Vec<MessageQueue>) -> Result<()> {
        for topic in queues
            .iter()
            .map(|q| q.topic.clone())
            .collect::<BTreeSet<_>>()
        {
            self.core.instance.route(&topic).await?;
        }
        let wanted: BTreeSet<MessageQueue> = queues.into_iter().collect();
        let _one_at_a_time = self.core.rebalancing.lock().await;
        for topic in wanted
            .iter()
            .map(|q| q.topic.clone())
            .collect::<BTreeSet<_>>()
        {
            let mine = wanted
                .iter()
                .filter(|q| q.topic == topic)
                .cloned()
                .collect();
            self.core.apply(&topic, mine).await;
        }
        Ok(())
    }

    /// The writable and readable queues of `topic`.
    pub async fn fetch_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        Ok(self
            .core
            .instance
            .refresh_route(topic)
            .await?
            .subscribe_queues
            .clone())
    }

    pub fn assignment(&self) -> BTreeSet<MessageQueue> {
        lock(&self.core.queues).keys().cloned().collect()
    }

    /// Up to one pulled batch, waiting at most `timeout`. With auto-commit, what is returned
    /// counts as consumed.
    pub async fn poll(&self, timeout: Duration) -> Vec<MessageExt> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.core.rx.lock().await;
        loop {
            let batch = match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(batch)) => batch,
                Ok(None) | Err(_) => return Vec::new(),
            };
            let q = &batch.queue;
            q.buffered.fetch_sub(batch.msgs.len(), Ordering::SeqCst);
            q.wake.notify_one();
            if q.dropped.load(Ordering::SeqCst) || q.epoch.load(Ordering::SeqCst) != batch.epoch {
                continue;
            }
            if let Some(last) = batch.msgs.last() {
                q.consumed.store(last.queue_offset + 1, Ordering::SeqCst);
                if self.core.config.auto_commit {
                    self.core
                        .offsets
                        .update(&q.queue, last.queue_offset + 1, false);
                }
            }
            return batch.msgs;
        }
    }

    /// Moves `queue` to `offset`, which must lie within the stored range.
    pub async fn seek(&self, queue: &MessageQueue, offset: i64) -> Result<()> {
        let q = lock(&self.core.queues).get(queue).cloned().ok_or_else(|| {
            ClientError::Config(format!("{queue:?} is not assigned to this consumer"))
        })?;
        let addr = self
            .core
            .instance
            .find_broker_addr(&queue.broker_name, &queue.topic)
            .await?;
        let min = self.core.instance.min_offset(&addr, queue).await?;
        let max = self.core.instance.max_offset(&addr, queue).await?;
        if offset < min || offset > max {
            return Err(ClientError::Config(format!(
                "seek offset {offset} is outside [{min}, {max}] of {queue:?}"
            )));
        }
        self.core.move_to(&q, offset);
        Ok(())
    }

    pub async fn seek_to_begin(&self, queue: &MessageQueue) -> Result<()> {
        let addr = self
            .core
            .instance
            .find_broker_addr(&queue.broker_name, &queue.topic)
            .await?;
        let min = self.core.instance.min_offset(&addr, queue).await?;
        self.seek(queue, min).await
    }

    pub async fn seek_to_end(&self, queue: &MessageQueue) -> Result<()> {
        let addr = self
            .core
            .instance
            .find_broker_addr(&queue.broker_name, &queue.topic)
            .await?;
        let max = self.core.instance.max_offset(&addr, queue).await?;
        self.seek(queue, max).await
    }

    /// Commits what `poll` returned so far and waits for the broker to accept it.
    pub async fn commit_sync(&self) -> Result<()> {
        let queues: Vec<Arc<LiteQueue>> = lock(&self.core.queues).values().cloned().collect();
        for q in queues {
            let consumed = q.consumed.load(Ordering::SeqCst);
            if consumed >= 0 {
                self.core.offsets.update(&q.queue, consumed, false);
                self.core
                    .offsets
                    .persist_sync(&self.core.instance, &q.queue)
                    .await?;
            }
        }
        Ok(())
    }

    /// The offset committed (or to be committed) for `queue`.
    pub fn committed(&self, queue: &MessageQueue) -> Option<i64> {
        self.core.offsets.cached(queue)
    }

    /// Stops pulling, commits (with auto-commit) and leaves the group.
    pub async fn shutdown(&self) {
        let core = &self.core;
        if core.shutdown.is_triggered() {
            return;
        }
        core.shutdown.trigger();
        let queues: Vec<Arc<LiteQueue>> = lock(&core.queues).drain().map(|(_, q)| q).collect();
        for q in &queues {
            q.dropped.store(true, Ordering::SeqCst);
            q.wake.notify_one();
        }
        if core.config.auto_commit {
            let assigned: Vec<MessageQueue> = queues.iter().map(|q| q.queue.clone()).collect();
            if let Err(e) = core.offsets.persist(&core.instance, Some(&assigned)).await {
                tracing::warn!(error = %e, "cannot save offsets at shutdown");
            }
        }
        core.instance
            .unregister(None, Some(&core.config.group))
            .await;
    }
}

struct Handle(std::sync::Weak<Core>);

impl ConsumerHandle for Handle {
    fn consumer_data(&self) -> ConsumerData {
        match self.0.upgrade() {
            Some(core) => ConsumerData {
                consume_from_where: core.config.consume_from.java_name().into(),
                consume_type: "CONSUME_ACTIVELY".into(),
                group_name: core.config.group.clone(),
                message_model: core.config.message_model,
                subscription_data_set: lock(&core.subscriptions).values().cloned().collect(),
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

    /// As a seek of each assigned queue to its new offset.
    fn reset_offsets(&self, topic: String, offsets: BTreeMap<MessageQueue, i64>) {
        let Some(core) = self.0.upgrade() else {
            return;
        };
        let queues = lock(&core.queues);
        for (queue, offset) in offsets.iter().filter(|(q, _)| q.topic == topic) {
            if let Some(q) = queues.get(queue) {
                core.move_to(q, *offset);
            }
        }
    }
}

fn spawn_timers(core: &Arc<Core>) {
    let (config, shutdown) = (&core.instance.config, &core.shutdown);
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
    if core.config.auto_commit {
        super::spawn_every(
            core,
            shutdown,
            config.persist_offset_interval,
            None,
            |core| async move {
                let assigned: Vec<MessageQueue> = lock(&core.queues).keys().cloned().collect();
                if let Err(e) = core.offsets.persist(&core.instance, Some(&assigned)).await {
                    tracing::warn!(error = %e, "cannot save offsets");
                }
            },
        );
    }
}

impl Core {
    /// Pulls and `poll` continue at `offset`; batches already pulled are discarded.
    fn move_to(&self, q: &LiteQueue, offset: i64) {
        q.epoch.fetch_add(1, Ordering::SeqCst);
        q.next_pull.store(offset, Ordering::SeqCst);
        q.consumed.store(offset, Ordering::SeqCst);
        self.offsets.update(&q.queue, offset, false);
        q.wake.notify_one();
    }

    async fn rebalance(self: &Arc<Self>) {
        let _one_at_a_time = self.rebalancing.lock().await;
        let topics: Vec<String> = lock(&self.subscriptions).keys().cloned().collect();
        for topic in topics {
            if let Err(e) = self.rebalance_topic(&topic).await {
                tracing::debug!(%topic, error = %e, "rebalance failed");
            }
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
            self.apply(topic, mine).await;
        }
        Ok(())
    }

    async fn apply(self: &Arc<Self>, topic: &str, mine: BTreeSet<MessageQueue>) {
        let removed: Vec<Arc<LiteQueue>> = {
            let mut table = lock(&self.queues);
            let gone: Vec<MessageQueue> = table
                .keys()
                .filter(|q| q.topic == topic && !mine.contains(*q))
                .cloned()
                .collect();
            gone.iter().filter_map(|q| table.remove(q)).collect()
        };
        for q in removed {
            q.dropped.store(true, Ordering::SeqCst);
            q.wake.notify_one();
            if self.config.auto_commit {
                let _ = self.offsets.persist_sync(&self.instance, &q.queue).await;
            }
            self.offsets.remove(&q.queue);
        }
        let added: Vec<MessageQueue> = {
            let table = lock(&self.queues);
            mine.into_iter()
                .filter(|q| !table.contains_key(q))
                .collect()
        };
        for queue in added {
            let offset = match super::start_offset(
                &self.instance,
                &self.offsets,
                &queue,
                self.config.consume_from,
            )
            .await
            {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(?queue, error = %e, "cannot compute the start offset");
                    continue;
                }
            };
            self.offsets.update(&queue, offset, false);
            let q = Arc::new(LiteQueue {
                queue: queue.clone(),
                epoch: AtomicU64::new(0),
                next_pull: AtomicI64::new(offset),
                consumed: AtomicI64::new(offset),
                buffered: AtomicUsize::new(0),
                dropped: AtomicBool::new(false),
                wake: Notify::new(),
            });
            lock(&self.queues).insert(queue, Arc::clone(&q));
            tokio::spawn(Arc::clone(self).pull_loop(q));
        }
    }

    async fn pull_loop(self: Arc<Self>, q: Arc<LiteQueue>) {
        let queue = q.queue.clone();
        loop {
            if q.dropped.load(Ordering::SeqCst) || self.shutdown.is_triggered() {
                return;
            }
            if q.buffered.load(Ordering::SeqCst) >= self.config.pull_threshold_for_queue {
                self.wait(&q, PULL_DELAY_ON_FLOW_CONTROL).await;
                continue;
            }
            let subscription = lock(&self.subscriptions)
                .get(&queue.topic)
                .cloned()
                .unwrap_or_else(|| SubscriptionData::from_tag_expression(&queue.topic, "*", 0));
            let Some(addr) = self.instance.broker_addr(&queue.broker_name, true) else {
                let _ = self.instance.refresh_route(&queue.topic).await;
                self.wait(&q, PULL_DELAY_ON_ERROR).await;
                continue;
            };
            let epoch = q.epoch.load(Ordering::SeqCst);
            let offset = q.next_pull.load(Ordering::SeqCst);
            let header = super::pull_header(
                &self.config.group,
                &queue,
                (offset, self.config.pull_batch_size),
                self.config.long_polling,
                &subscription,
            );
            let timeout = self.config.long_polling + Duration::from_secs(10);
            let pulled = tokio::select! {
                r = self.instance.pull(&addr, header, &subscription.tags_set, timeout) => r,
                () = self.shutdown.wait() => return,
                () = q.wake.notified() => continue,
            };
            let result = match pulled {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(?queue, error = %e, "pull failed");
                    self.wait(&q, PULL_DELAY_ON_ERROR).await;
                    continue;
                }
            };
            if q.epoch.load(Ordering::SeqCst) != epoch {
                continue; // a seek happened meanwhile
            }
            let _ = q.next_pull.compare_exchange(
                offset,
                result.next_begin_offset,
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
            match result.status {
                PullStatus::Found if !result.messages.is_empty() => {
                    q.buffered
                        .fetch_add(result.messages.len(), Ordering::SeqCst);
                    let batch = Batch {
                        queue: Arc::clone(&q),
                        epoch,
                        msgs: result.messages,
                    };
                    if self.tx.send(batch).await.is_err() {
                        return;
                    }
                }
                PullStatus::OffsetIllegal => {
                    q.consumed.store(result.next_begin_offset, Ordering::SeqCst);
                    self.offsets.update(&queue, result.next_begin_offset, false);
                }
                _ => {}
            }
        }
    }

    async fn wait(&self, q: &LiteQueue, delay: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            () = q.wake.notified() => {}
            () = self.shutdown.wait() => {}
        }
    }
}
