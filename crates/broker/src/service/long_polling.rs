//! Long polling: a pull that finds nothing waits on its queue's [`Notify`], which the store's
//! reput thread pokes after dispatching a message to that queue. The waiter is armed before
//! the read it follows, so a message that lands between the read and the wait still wakes it.
//!
//! ```text
//! reput thread ─ dispatch(topic, queue) ─► PullWaiters::arrived ─► Notify::notify_waiters
//!                                                                        │
//! pull processor: arm ─► read ─► nothing? ─► wait(until wake or deadline) ┘─► read again
//! ```
//!
//! Parking is bounded: at most `suspended_pulls_max` pulls wait at once (a [`ParkTicket`]
//! each); past it a pull that finds nothing is answered SYSTEM_BUSY.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use tokio::sync::Notify;

/// Topic → queue id → the queue's notifier.
type Notifiers = HashMap<String, HashMap<i32, Arc<Notify>>>;

/// Per-queue wake-ups for suspended pulls.
#[derive(Clone)]
pub struct PullWaiters {
    queues: Arc<RwLock<Notifiers>>,
    parked: Arc<AtomicUsize>,
    parked_max: usize,
}

impl Default for PullWaiters {
    fn default() -> Self {
        Self::new(100_000)
    }
}

/// One parked pull; dropping it frees its place.
pub struct ParkTicket(Arc<AtomicUsize>);

impl Drop for ParkTicket {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PullWaiters {
    /// At most `parked_max` pulls may wait at once.
    pub fn new(parked_max: usize) -> Self {
        Self {
            queues: Arc::default(),
            parked: Arc::new(AtomicUsize::new(0)),
            parked_max,
        }
    }

    /// A place for one more parked pull, unless `parked_max` already wait.
    pub fn try_park(&self) -> Option<ParkTicket> {
        let previous = self.parked.fetch_add(1, Ordering::AcqRel);
        let ticket = ParkTicket(Arc::clone(&self.parked));
        (previous < self.parked_max).then_some(ticket)
    }

    /// Pulls parked now.
    pub fn parked(&self) -> usize {
        self.parked.load(Ordering::Acquire)
    }

    /// The queue's notifier, created on first use (one per queue ever pulled).
    pub fn notifier(&self, topic: &str, queue_id: i32) -> Arc<Notify> {
        if let Some(found) = self
            .queues
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(topic)
            .and_then(|q| q.get(&queue_id))
        {
            return Arc::clone(found);
        }
        let mut queues = self.queues.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            queues
                .entry(topic.to_owned())
                .or_default()
                .entry(queue_id)
                .or_default(),
        )
    }

    /// Wakes every pull waiting on the queue, and every pop waiting on the whole topic
    /// (queue id -1). Called on the reput thread for each message; a read lock and no
    /// allocation.
    pub fn arrived(&self, topic: &str, queue_id: i32) {
        let queues = self.queues.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(queues) = queues.get(topic) {
            for id in [queue_id, -1] {
                if let Some(notify) = queues.get(&id) {
                    notify.notify_waiters();
                }
            }
        }
    }
}
