//! The consume services: concurrent batches on the blocking pool, and orderly per-queue
//! loops under the broker lock; failures go back to the broker or are retried in place.

use std::sync::Arc;
use std::time::Duration;

use apogee_protocol::body::client::MessageModel;

use super::{
    ConsumeResult, Core, LOCK_MAX_LIVE_MS, Listener, MessageListener, OrderlyListener,
    OrderlyResult, SEND_BACK_RETRY_DELAY,
};
use crate::Result;
use crate::consumer::process_queue::ProcessQueue;
use crate::instance::now_ms;
use crate::message::{MessageExt, property};

impl Core {
    /// Holds newly pulled messages in their process queue and hands them to the consume
    /// service: in listener batches (moved, not copied), or to the queue's orderly loop.
    pub(super) fn dispatch(self: &Arc<Self>, pq: &Arc<ProcessQueue>, msgs: Vec<MessageExt>) {
        match &self.listener {
            Listener::Concurrent(listener) => {
                pq.lend(&msgs);
                let size = self.config.consume_batch_size.max(1);
                let mut msgs = msgs.into_iter();
                loop {
                    let batch: Vec<MessageExt> = msgs.by_ref().take(size).collect();
                    if batch.is_empty() {
                        break;
                    }
                    let core = Arc::clone(self);
                    let listener = Arc::clone(listener);
                    let pq = Arc::clone(pq);
                    tokio::spawn(
                        async move { core.consume_concurrently(listener, pq, batch).await },
                    );
                }
            }
            Listener::Orderly(listener) => {
                pq.keep(msgs);
                let core = Arc::clone(self);
                let listener = Arc::clone(listener);
                let pq = Arc::clone(pq);
                tokio::spawn(async move { core.consume_orderly(listener, pq).await });
            }
        }
    }

    async fn consume_concurrently(
        self: Arc<Self>,
        listener: Arc<dyn MessageListener>,
        pq: Arc<ProcessQueue>,
        mut batch: Vec<MessageExt>,
    ) {
        loop {
            let Ok(_permit) = Arc::clone(&self.workers).acquire_owned().await else {
                return;
            };
            if pq.is_dropped() {
                return;
            }
            let began_ms = now_ms();
            pq.note_consumed(began_ms);
            let started = began_ms.to_string();
            for m in &mut batch {
                m.properties
                    .insert(property::CONSUME_START_TIME.into(), started.clone());
            }
            let listener = Arc::clone(&listener);
            let input = Arc::new(std::mem::take(&mut batch));
            pq.mark_consuming(&input);
            let shared = Arc::clone(&input);
            let result = tokio::task::spawn_blocking(move || listener.consume(&shared))
                .await
                .unwrap_or_else(|_| {
                    tracing::warn!("the listener panicked; messages will be redelivered");
                    ConsumeResult::ReconsumeLater
                });
            batch = take_back(input);
            // Noted (and traced) while the permit is held: shutdown waits for the permits.
            self.note_consumed(&batch, result == ConsumeResult::Success, began_ms);
            drop(_permit);
            if pq.is_dropped() {
                return;
            }
            let retry_locally = match result {
                ConsumeResult::Success => Vec::new(),
                ConsumeResult::ReconsumeLater => self.send_back_all(&batch, 0).await,
            };
            let done: Vec<i64> = batch
                .iter()
                .filter(|m| {
                    !retry_locally
                        .iter()
                        .any(|r| r.queue_offset == m.queue_offset)
                })
                .map(|m| m.queue_offset)
                .collect();
            if let Some(offset) = pq.remove(&done) {
                self.offsets.update(&pq.queue, offset, true);
            }
            if retry_locally.is_empty() {
                return;
            }
            batch = retry_locally;
            for m in &mut batch {
                m.reconsume_times += 1;
            }
            self.pause(SEND_BACK_RETRY_DELAY).await;
            if self.shutdown.is_triggered() {
                return;
            }
        }
    }

    /// Sends failed messages back to the broker (clustering); returns those it could not,
    /// which are consumed again locally. Broadcasting drops failures, as Java does.
    async fn send_back_all(&self, msgs: &[MessageExt], delay_level: i32) -> Vec<MessageExt> {
        if self.config.message_model == MessageModel::Broadcasting {
            for m in msgs {
                tracing::warn!(msg_id = %m.msg_id, "broadcast message failed; dropped");
            }
            return Vec::new();
        }
        let mut failed = Vec::new();
        for m in msgs {
            if let Err(e) = self.send_back(m, delay_level).await {
                tracing::warn!(msg_id = %m.msg_id, error = %e, "send-back failed; consuming again locally");
                failed.push(m.clone());
            }
        }
        failed
    }

    /// Feeds the status table: one listener call over `batch`, begun at `began_ms`.
    fn note_consumed(&self, batch: &[MessageExt], ok: bool, began_ms: i64) {
        if let Some(first) = batch.first() {
            let now = now_ms();
            self.status
                .consumed(&first.topic, batch.len(), ok, now - began_ms, now);
            self.trace_consumed(batch, ok, (began_ms, now));
        }
    }

    async fn send_back(&self, msg: &MessageExt, delay_level: i32) -> Result<()> {
        let addr = self
            .instance
            .broker_addr(&msg.broker_name, false)
            .or_else(|| Some(msg.store_host.to_string()))
            .unwrap_or_default();
        self.instance
            .send_back(
                &addr,
                &self.config.group,
                msg,
                delay_level,
                self.max_reconsume_times,
            )
            .await
    }

    /// Hands messages stuck in a listener past `consume_timeout` back for redelivery.
    pub(super) async fn clean_expired(&self) {
        let pqs: Vec<Arc<ProcessQueue>> = self.table().values().cloned().collect();
        for pq in pqs {
            for msg in pq.expired(self.config.consume_timeout) {
                tracing::warn!(msg_id = %msg.msg_id, timeout = ?self.config.consume_timeout, "consume timeout; handing the message back");
                if self.config.message_model == MessageModel::Clustering
                    && self.send_back(&msg, 3).await.is_err()
                {
                    continue;
                }
                if let Some(offset) = pq.remove(&[msg.queue_offset]) {
                    self.offsets.update(&pq.queue, offset, true);
                }
            }
        }
    }

    async fn consume_orderly(
        self: Arc<Self>,
        listener: Arc<dyn OrderlyListener>,
        pq: Arc<ProcessQueue>,
    ) {
        // One loop per queue: if one is running it will see the new messages. A loop that
        // found nothing re-checks after releasing, so a message put in between is not missed.
        loop {
            let Ok(guard) = pq.consume_lock.try_lock() else {
                return;
            };
            if !Arc::clone(&self)
                .consume_orderly_locked(&listener, &pq, guard)
                .await
            {
                return;
            }
            if !pq.has_available() {
                return;
            }
        }
    }

    /// Runs batches while messages are available; returns true when it stopped because the
    /// queue was empty.
    async fn consume_orderly_locked(
        self: Arc<Self>,
        listener: &Arc<dyn OrderlyListener>,
        pq: &Arc<ProcessQueue>,
        _guard: tokio::sync::MutexGuard<'_, ()>,
    ) -> bool {
        let clustering = self.config.message_model == MessageModel::Clustering;
        loop {
            if pq.is_dropped() || self.shutdown.is_triggered() {
                return false;
            }
            if clustering && !pq.is_locked(now_ms(), LOCK_MAX_LIVE_MS) {
                // The pull loop re-locks; come back when it has.
                self.pause(Duration::from_millis(100)).await;
                continue;
            }
            let batch = pq.take(self.config.consume_batch_size);
            if batch.is_empty() {
                return true;
            }
            let Ok(permit) = Arc::clone(&self.workers).acquire_owned().await else {
                return false;
            };
            let l = Arc::clone(listener);
            let began_ms = now_ms();
            pq.note_consumed(began_ms);
            let input = Arc::new(batch);
            let shared = Arc::clone(&input);
            let result = tokio::task::spawn_blocking(move || l.consume(&shared))
                .await
                .unwrap_or_else(|_| {
                    tracing::warn!("the orderly listener panicked; retrying the batch");
                    OrderlyResult::SuspendCurrentQueueAMoment
                });
            let batch = take_back(input);
            self.note_consumed(&batch, result == OrderlyResult::Success, began_ms);
            drop(permit);
            if pq.is_dropped() {
                return false;
            }
            match result {
                OrderlyResult::Success => {
                    if let Some(offset) = pq.commit() {
                        self.offsets.update(&pq.queue, offset, false);
                    }
                }
                OrderlyResult::SuspendCurrentQueueAMoment => {
                    let exhausted = batch
                        .iter()
                        .any(|m| m.reconsume_times >= self.max_reconsume_times);
                    if exhausted && self.send_back_all(&batch, -1).await.is_empty() {
                        tracing::warn!(queue = ?pq.queue, "orderly batch exceeded max reconsume times; sent to the DLQ");
                        if let Some(offset) = pq.commit() {
                            self.offsets.update(&pq.queue, offset, false);
                        }
                        continue;
                    }
                    let retry: Vec<MessageExt> = batch
                        .into_iter()
                        .map(|mut m| {
                            m.reconsume_times += 1;
                            m
                        })
                        .collect();
                    pq.make_available(retry);
                    self.pause(self.config.suspend_current_queue_time).await;
                }
            }
        }
    }
}

/// The batch a listener borrowed, back without copying (its task has finished, so this is the
/// last reference).
fn take_back(input: Arc<Vec<MessageExt>>) -> Vec<MessageExt> {
    Arc::try_unwrap(input).unwrap_or_else(|shared| shared.as_ref().clone())
}
