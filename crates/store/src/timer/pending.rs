//! The timers not yet delivered, ordered by when they are due: a binary heap in memory
//! (24 bytes a timer plus the heap's slack), rebuilt from the timer log at start. Each file of
//! the log counts its timers still pending, so a file is deleted once none is.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use super::log::TimerUnit;

/// A cancellation waits this long past its own time, so the timers it cancels (due at the
/// same time) pop first.
pub const CANCEL_GRACE_MS: i64 = 1_000;

/// One timer to deliver (or cancellation to apply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pending {
    /// When it pops: the delivery time (plus the grace for a cancellation).
    pub due_ms: i64,
    pub commit_offset: i64,
    pub size: i32,
    pub delete: bool,
    /// Not due yet: at `due_ms` the message is stored again on the timer topic, so it stays
    /// younger than the CommitLog's retention (Java's roll).
    pub roll: bool,
    /// Its unit's position in the timer log.
    pub log_pos: i64,
}

impl Pending {
    pub fn of(unit: &TimerUnit, log_pos: i64) -> Self {
        let delete = unit.is_delete();
        let roll = unit.is_roll();
        Self {
            due_ms: unit.deliver_ms.saturating_add(if delete && !roll {
                CANCEL_GRACE_MS
            } else {
                0
            }),
            commit_offset: unit.commit_offset,
            size: unit.size,
            delete,
            roll,
            log_pos,
        }
    }
}

/// The pending set.
#[derive(Default)]
pub struct PendingTimers {
    heap: BinaryHeap<Reverse<Pending>>,
    /// Timer-log file start → timers of it still pending.
    live: BTreeMap<i64, u64>,
}

impl PendingTimers {
    /// Adds a timer whose unit lies in the log file starting at `file`.
    pub fn push(&mut self, pending: Pending, file: i64) {
        *self.live.entry(file).or_default() += 1;
        self.heap.push(Reverse(pending));
    }

    /// Counts a log file (with no timer yet) so it is deleted when drained.
    pub fn track_file(&mut self, file: i64) {
        self.live.entry(file).or_default();
    }

    /// Removes and returns the earliest timer due at or before `now_ms`; `file_of` maps its
    /// log position to its file.
    pub fn pop_due(&mut self, now_ms: i64, file_of: impl Fn(i64) -> i64) -> Option<Pending> {
        let Reverse(top) = self.heap.peek()?;
        if top.due_ms > now_ms {
            return None;
        }
        let Reverse(top) = self.heap.pop()?;
        let file = file_of(top.log_pos);
        if let Some(count) = self.live.get_mut(&file) {
            *count = count.saturating_sub(1);
        }
        Some(top)
    }

    /// When the earliest timer is due.
    pub fn next_due(&self) -> Option<i64> {
        self.heap.peek().map(|Reverse(p)| p.due_ms)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Log files (by start) with no pending timer left.
    pub fn drained_files(&self) -> Vec<i64> {
        self.live
            .iter()
            .filter(|(_, count)| **count == 0)
            .map(|(file, _)| *file)
            .collect()
    }

    /// Forgets a file's count once it is deleted.
    pub fn forget_file(&mut self, file: i64) {
        self.live.remove(&file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(due_ms: i64, commit_offset: i64, delete: bool) -> Pending {
        Pending {
            due_ms,
            commit_offset,
            size: 1,
            delete,
            roll: false,
            log_pos: commit_offset,
        }
    }

    #[test]
    fn given_timers_should_pop_in_due_order_and_count_what_each_file_still_holds() {
        let mut p = PendingTimers::default();
        let file_of = |pos: i64| if pos < 10 { 0 } else { 10 };
        p.push(at(300, 1, false), 0);
        p.push(at(100, 2, false), 0);
        p.push(at(200, 11, false), 10);
        assert_eq!(p.next_due(), Some(100));
        assert_eq!(p.pop_due(50, file_of), None);
        assert_eq!(p.pop_due(250, file_of).map(|t| t.commit_offset), Some(2));
        assert_eq!(p.pop_due(250, file_of).map(|t| t.commit_offset), Some(11));
        assert_eq!(p.pop_due(250, file_of), None);
        assert_eq!(p.drained_files(), vec![10]);
        p.forget_file(10);
        assert_eq!(p.len(), 1);
    }
}
