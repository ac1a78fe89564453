//! Sends waiting for a slave, each woken only when the slave's report covers it (no
//! thundering herd: a report wakes exactly the sends it completes). The list's capacity is
//! kept, so after warm-up waiting allocates nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// The best acknowledged offset and the sends waiting for it to pass theirs.
#[derive(Debug)]
pub(crate) struct AckWaiters {
    best: AtomicI64,
    waiting: Mutex<Vec<(i64, u64, Waker)>>,
    next_id: AtomicU64,
}

impl Default for AckWaiters {
    fn default() -> Self {
        Self {
            best: AtomicI64::new(-1),
            waiting: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        }
    }
}

impl AckWaiters {
    pub(crate) fn best(&self) -> i64 {
        self.best.load(Ordering::Acquire)
    }

    /// Sets the best offset and wakes the sends it covers.
    pub(crate) fn publish(&self, best: i64) {
        if self.best.swap(best, Ordering::AcqRel) == best {
            return;
        }
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        waiting.retain(|(end, _, waker)| {
            let done = *end <= best;
            if done {
                waker.wake_by_ref();
            }
            !done
        });
    }

    /// Resolves once the best offset reaches `end`.
    pub(crate) fn reached(&self, end: i64) -> Reached<'_> {
        Reached {
            waiters: self,
            end,
            id: None,
        }
    }
}

/// See [`AckWaiters::reached`].
pub(crate) struct Reached<'a> {
    waiters: &'a AckWaiters,
    end: i64,
    id: Option<u64>,
}

impl Future for Reached<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let waiters = self.waiters;
        let mut waiting = waiters
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Checked under the lock: a publish either happened before (seen here) or takes the
        // lock after this entry is in (and wakes it).
        if waiters.best() >= self.end {
            if let Some(id) = self.id.take() {
                waiting.retain(|(_, i, _)| *i != id);
            }
            return Poll::Ready(());
        }
        match self.id {
            Some(id) => {
                if let Some(entry) = waiting.iter_mut().find(|(_, i, _)| *i == id) {
                    entry.2.clone_from(cx.waker());
                } else {
                    waiting.push((self.end, id, cx.waker().clone()));
                }
            }
            None => {
                let id = waiters.next_id.fetch_add(1, Ordering::Relaxed);
                waiting.push((self.end, id, cx.waker().clone()));
                drop(waiting);
                self.id = Some(id);
            }
        }
        Poll::Pending
    }
}

impl Drop for Reached<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.waiters
                .waiting
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|(_, i, _)| *i != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn given_a_report_should_wake_only_the_sends_it_covers() {
        let waiters = Arc::new(AckWaiters::default());
        let spawn = |end| {
            let w = Arc::clone(&waiters);
            tokio::spawn(async move { w.reached(end).await })
        };
        let (low, high) = (spawn(10), spawn(20));
        tokio::time::sleep(Duration::from_millis(20)).await;
        waiters.publish(15);
        tokio::time::timeout(Duration::from_secs(5), low)
            .await
            .expect("woken")
            .expect("joined");
        assert!(!high.is_finished());
        assert_eq!(
            waiters.waiting.lock().unwrap().len(),
            1,
            "only the uncovered one waits"
        );
        waiters.publish(20);
        tokio::time::timeout(Duration::from_secs(5), high)
            .await
            .expect("woken")
            .expect("joined");
        assert!(waiters.waiting.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn given_a_wait_given_up_should_leave_nothing_behind() {
        let waiters = AckWaiters::default();
        let gave_up = tokio::time::timeout(Duration::from_millis(10), waiters.reached(5)).await;
        assert!(gave_up.is_err());
        assert!(waiters.waiting.lock().unwrap().is_empty());
    }
}
