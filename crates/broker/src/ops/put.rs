//! Storing messages, whatever asked for it (a send, a send-back, a commit): the send gate's
//! flow control, the append, the wait for what the flush mode and replication promise, and the
//! put statistics. Processors decode and authorise, then call [`Putter::put`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use apogee_protocol::property;
use apogee_protocol::record::find_property;
use apogee_replication::ReplicaStatus;
use apogee_runtime::Clock;
use apogee_store::{AppendLog, AppendOutcome, MessageToStore, PutStatus};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::BrokerError;
use crate::ha::Replication;
use crate::ops::combine::Combiner;
use crate::stats::BrokerStats;

/// Flow control for sends: a bounded number run at once; a send that cannot start within
/// `waitTimeMillsInSendQueue` is answered SYSTEM_BUSY instead of timing out at the client.
#[derive(Clone)]
pub struct SendGate {
    permits: Arc<Semaphore>,
    queued: Arc<AtomicUsize>,
    wait: Duration,
    page_cache_busy_ms: i64,
}

impl SendGate {
    pub fn new(concurrency: usize, wait: Duration, page_cache_busy_ms: i64) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            queued: Arc::new(AtomicUsize::new(0)),
            wait,
            page_cache_busy_ms,
        }
    }

    /// Sends waiting for their turn now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// A permit to append, or SYSTEM_BUSY: at once when the CommitLog append in progress has
    /// held its lock for `held` ms past the page-cache-busy limit, or after waiting too long.
    async fn enter(&self, held: i64) -> Result<OwnedSemaphorePermit, BrokerError> {
        self.check_busy(held)?;
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(permit);
        }
        let queued = self.queued.fetch_add(1, Ordering::Relaxed) + 1;
        let outcome =
            tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned()).await;
        self.queued.fetch_sub(1, Ordering::Relaxed);
        match outcome {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(BrokerError::SystemBusy(format!(
                "[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: {}ms, size of queue: {queued}",
                self.wait.as_millis()
            ))),
        }
    }

    /// SYSTEM_BUSY when the CommitLog append in progress has held its lock for `held` ms
    /// past the page-cache-busy limit.
    fn check_busy(&self, held: i64) -> Result<(), BrokerError> {
        if held > self.page_cache_busy_ms {
            return Err(BrokerError::SystemBusy(format!(
                "[PCBUSY_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: {held}ms, size of queue: {}",
                self.queued.load(Ordering::Relaxed)
            )));
        }
        Ok(())
    }
}

/// What storing messages needs.
#[derive(Clone)]
pub struct Putter {
    pub store: Arc<dyn AppendLog>,
    pub gate: SendGate,
    /// The SYNC_MASTER (or in-sync replicas') wait.
    pub replication: Replication,
    pub stats: BrokerStats,
    pub clock: Arc<dyn Clock>,
    /// Sends arriving together are appended together.
    pub combiner: Arc<Combiner>,
}

/// How a put went: where the messages are, and what the flush and the replicas said.
pub struct PutOutcome {
    /// The messages, given back.
    pub messages: Vec<MessageToStore>,
    pub append: AppendOutcome,
    pub flush: PutStatus,
    pub replica: ReplicaStatus,
}

impl Putter {
    /// Appends `messages` (all for `topic`, as counted in the statistics) once the gate lets
    /// it, then waits for the flush mode's and replication's promises. A failed flush is an
    /// error; a flush or replica timeout is reported in the outcome (the messages are
    /// stored). `WAIT=false` on the first message skips the replica wait, as in Java.
    pub async fn put(
        &self,
        messages: Vec<MessageToStore>,
        topic: &str,
    ) -> Result<PutOutcome, BrokerError> {
        let held = self.store.append_lock_held_ms();
        // A send left for its pass's end takes no turn at the gate: the pass's combined write
        // takes one (its last send's, or none from the pass-end hook), and waiting for a turn
        // here would keep the rest of the pass from being combined.
        let defer = Combiner::defers(&messages);
        let permit = if defer {
            self.gate.check_busy(held)?;
            None
        } else {
            Some(self.gate.enter(held).await?)
        };
        let started_ms = self.clock.now_ms();
        let (messages, append) = self.combiner.append(&*self.store, messages, defer).await;
        let append = append.inspect_err(|_| {
            self.stats.record_put_failed();
        })?;
        drop(permit);
        let flush = self.store.durability(&append).wait().await;
        if flush == PutStatus::FlushFailed {
            return Err(BrokerError::flush_failed());
        }
        let waits = || {
            messages
                .first()
                .is_none_or(|m| find_property(&m.properties, property::WAIT) != Some("false"))
        };
        let replica = self.replication.confirm(append.end_offset, waits).await;
        let bytes: i64 = append
            .records
            .iter()
            .map(|(_, size)| i64::from(*size))
            .sum();
        self.stats.record_put(
            topic,
            u64::try_from(append.count).unwrap_or(0),
            u64::try_from(bytes).unwrap_or(0),
            self.clock.now_ms() - started_ms,
        );
        Ok(PutOutcome {
            messages,
            append,
            flush,
            replica,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apogee_protocol::ResponseCode;

    #[tokio::test]
    async fn given_a_send_waiting_past_the_threshold_should_get_system_busy_not_a_timeout() {
        let gate = SendGate::new(1, Duration::from_millis(50), 1000);
        let held = gate.enter(0).await.unwrap();
        let err = gate.enter(0).await.unwrap_err();
        assert_eq!(err.response_code(), ResponseCode::SYSTEM_BUSY);
        assert!(
            err.to_string()
                .starts_with("[TIMEOUT_CLEAN_QUEUE]broker busy"),
            "{err}"
        );
        drop(held);
        assert!(
            gate.enter(0).await.is_ok(),
            "released permits admit sends again"
        );
        let err = gate.enter(1001).await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("[PCBUSY_CLEAN_QUEUE]broker busy"),
            "{err}"
        );
    }
}
