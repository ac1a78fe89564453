//! How writers tell a store thread there is new work without a system call per write: a
//! writer rings, and only pays for a futex wake-up when the thread is actually parked. A
//! thread that just found work naps instead of parking (see [`Doorbell::nap`]), so under a
//! steady stream of writes nobody rings it at all and it takes what arrived in batches.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

#[derive(Default)]
pub struct Doorbell {
    /// Rung since the thread last [`took`](Self::take) the rings.
    pending: AtomicBool,
    /// The thread waits on the condvar (a ring must notify it).
    parked: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Doorbell {
    /// Says there is work; wakes the thread only when it is parked and nobody rang before.
    pub fn ring(&self) {
        if !self.pending.swap(true, Ordering::SeqCst) && self.parked.load(Ordering::SeqCst) {
            // Taking the lock orders this notify after the thread's wait began.
            let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.cv.notify_one();
        }
    }

    /// Clears the rings; call before looking for work, so a ring after this is not lost.
    pub fn take(&self) -> bool {
        self.pending.swap(false, Ordering::SeqCst)
    }

    /// Parks until rung or `timeout`; returns at once when rung since [`take`](Self::take).
    pub fn wait(&self, timeout: Duration) {
        let guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.parked.store(true, Ordering::SeqCst);
        if !self.pending.load(Ordering::SeqCst) {
            drop(
                self.cv
                    .wait_timeout(guard, timeout)
                    .unwrap_or_else(PoisonError::into_inner),
            );
        }
        self.parked.store(false, Ordering::SeqCst);
    }

    /// Sleeps `pause` without being parked: rings meanwhile cost the writers nothing but an
    /// atomic swap, and the thread finds their work when it looks again.
    pub fn nap(&self, pause: Duration) {
        std::thread::sleep(pause);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn given_a_ring_before_the_wait_should_not_park() {
        let bell = Doorbell::default();
        bell.take();
        bell.ring();
        let started = Instant::now();
        bell.wait(Duration::from_secs(30));
        assert!(started.elapsed() < Duration::from_secs(30));
        assert!(bell.take(), "the ring stays until taken");
        assert!(!bell.take());
    }

    #[test]
    fn given_a_parked_thread_a_ring_should_wake_it() {
        let bell = Arc::new(Doorbell::default());
        let woken = Arc::new(AtomicBool::new(false));
        let thread = {
            let (bell, woken) = (Arc::clone(&bell), Arc::clone(&woken));
            std::thread::spawn(move || {
                bell.take();
                bell.wait(Duration::from_secs(60));
                woken.store(true, Ordering::SeqCst);
            })
        };
        // Ring until the thread says it woke: a ring that lands before the wait also counts.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !woken.load(Ordering::SeqCst) {
            assert!(
                Instant::now() < deadline,
                "a ring never woke the parked thread"
            );
            if bell.parked.load(Ordering::SeqCst) {
                bell.ring();
            }
            std::thread::yield_now();
        }
        thread.join().unwrap();
    }

    #[test]
    fn given_many_threads_ringing_while_one_parks_should_never_lose_the_last_ring() {
        // The waiter counts the work it saw; every piece of work is followed by a ring, so a
        // waiter that only parks with a 60 s timeout must still see all of it promptly.
        let bell = Arc::new(Doorbell::default());
        let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
        const WORK: u64 = 20_000;
        let waiter = {
            let (bell, done) = (Arc::clone(&bell), Arc::clone(&done));
            std::thread::spawn(move || {
                let started = Instant::now();
                loop {
                    bell.take();
                    if done.load(Ordering::SeqCst) == WORK {
                        return started.elapsed();
                    }
                    bell.wait(Duration::from_secs(60));
                }
            })
        };
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let (bell, done) = (Arc::clone(&bell), Arc::clone(&done));
                std::thread::spawn(move || {
                    for _ in 0..WORK / 4 {
                        done.fetch_add(1, Ordering::SeqCst);
                        bell.ring();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let took = waiter.join().unwrap();
        assert!(took < Duration::from_secs(60), "a ring was lost: {took:?}");
    }
}
