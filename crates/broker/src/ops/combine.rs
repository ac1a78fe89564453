//! Appends that arrive together are written together: one CommitLog lock and one write for
//! the sends a connection read in one pass, and for the sends other workers queue while an
//! append is being written, instead of one each (each write of a record into a fresh page
//! also had the kernel zero the rest of that page first).
//!
//! A one-message send made while more requests of its pass are still to be served leaves its
//! message here and waits (without a turn at the send gate: see `Putter::put`); the pass's
//! last send, or the pass-end hook, writes everything waiting. A batch is written at once,
//! by itself. Any other send writes at once: alone when nothing waits and nobody writes (no
//! queueing then), else with whatever is waiting. Each send gets its own
//! outcome (its records, physical and queue offsets), as if appended alone in that order;
//! when a combined write is refused, each is written again alone, so one send's refusal is
//! never another's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use apogee_store::{AppendLog, AppendOutcome, MessageToStore, StoreError};
use tokio::sync::oneshot;

/// Roughly the bytes one combined write takes at most; the rest waits for the next.
const COMBINED_BYTES_MAX: usize = 256 << 10;

/// The messages, given back, and how their append went.
pub type Outcome = (Vec<MessageToStore>, Result<AppendOutcome, StoreError>);

struct Waiting {
    messages: Vec<MessageToStore>,
    bytes: usize,
    done: oneshot::Sender<Outcome>,
}

/// The appends waiting to be written, and whether someone is writing them.
#[derive(Default)]
pub struct Combiner {
    waiting: Mutex<Vec<Waiting>>,
    writing: AtomicBool,
}

impl Combiner {
    /// Whether a send of `messages` is left for the end of its pass: a one-message send with
    /// more requests of its pass still to be served.
    pub fn defers(messages: &[MessageToStore]) -> bool {
        messages.len() == 1 && apogee_remoting::more_requests_follow()
    }

    /// Appends `messages` (consecutive, all or nothing), with whatever else is waiting; at
    /// the end of its pass when `defer` (see [`defers`](Self::defers)).
    pub async fn append(
        &self,
        store: &dyn AppendLog,
        messages: Vec<MessageToStore>,
        defer: bool,
    ) -> Outcome {
        // A batch is written at once, by itself: it fills a write alone, and holding its
        // decoded messages (until the pass ends, or behind another worker's write) cost more
        // than the lock it would share (measured: 128 B batches of 32, +5 to +13 % CPU).
        if messages.len() > 1 {
            let outcome = store.append(&messages);
            return (messages, outcome);
        }
        // Asked again: a send that waited for something after it was asked would otherwise
        // wait here for a pass end that has already run.
        let defer = defer && apogee_remoting::more_requests_follow();
        if !defer && self.waiting().is_empty() && !self.writing.swap(true, Ordering::SeqCst) {
            // Nothing waits and nobody writes: this one is written now, as it comes.
            let writer = Writer(&self.writing);
            let outcome = store.append(&messages);
            self.write_taken(store, writer);
            return (messages, outcome);
        }
        let (done, outcome) = oneshot::channel();
        let bytes = messages
            .iter()
            .map(|m| m.body.len() + m.properties.len() + m.topic.len())
            .sum();
        self.waiting().push(Waiting {
            messages,
            bytes,
            done,
        });
        if !defer {
            self.write_waiting(store);
        }
        outcome.await.unwrap_or_else(|_| {
            let dropped = StoreError::NotWritable("the append was dropped unwritten".into());
            (Vec::new(), Err(dropped))
        })
    }

    /// Writes everything waiting, unless someone else is writing (they write it).
    pub fn write_waiting(&self, store: &dyn AppendLog) {
        if !self.writing.swap(true, Ordering::SeqCst) {
            self.write_taken(store, Writer(&self.writing));
        }
    }

    /// Writes everything waiting as `writer`, the one holding the writer's flag.
    fn write_taken<'a>(&'a self, store: &dyn AppendLog, mut writer: Writer<'a>) {
        loop {
            while let Some(batch) = self.take() {
                write(store, batch);
            }
            drop(writer);
            // An append queued after the last take, while the flag was still set, was left to
            // this writer.
            if self.waiting().is_empty() || self.writing.swap(true, Ordering::SeqCst) {
                return;
            }
            writer = Writer(&self.writing);
        }
    }

    /// The oldest waiting appends, up to about [`COMBINED_BYTES_MAX`] (at least one).
    fn take(&self) -> Option<Vec<Waiting>> {
        let mut waiting = self.waiting();
        if waiting.is_empty() {
            return None;
        }
        let mut bytes = 0;
        let count = waiting
            .iter()
            .take_while(|w| {
                bytes += w.bytes;
                bytes <= COMBINED_BYTES_MAX
            })
            .count()
            .max(1);
        if count == waiting.len() {
            return Some(std::mem::take(&mut *waiting));
        }
        Some(waiting.drain(..count).collect())
    }

    fn waiting(&self) -> MutexGuard<'_, Vec<Waiting>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Holds the writer's flag; gives it up on the way out, a panic's too (the appends it had
/// taken are then answered with an error, their senders dropped).
struct Writer<'a>(&'a AtomicBool);

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

fn write(store: &dyn AppendLog, batch: Vec<Waiting>) {
    if let [alone] = batch.as_slice() {
        let outcome = store.append(&alone.messages);
        if let Some(one) = batch.into_iter().next() {
            let _ = one.done.send((one.messages, outcome));
        }
        return;
    }
    let groups: Vec<&[MessageToStore]> = batch.iter().map(|w| w.messages.as_slice()).collect();
    match store.append_groups(&groups) {
        Ok(outcomes) => {
            for (waiting, outcome) in batch.into_iter().zip(outcomes) {
                let _ = waiting.done.send((waiting.messages, Ok(outcome)));
            }
        }
        // Nothing of a refused write is kept: each is tried alone for its own answer.
        Err(_) => {
            for waiting in batch {
                let outcome = store.append(&waiting.messages);
                let _ = waiting.done.send((waiting.messages, outcome));
            }
        }
    }
}
