//! Rate limiting by schedule: each task sends its share of the total rate on an evenly spaced
//! timetable. [`Pacer::reserve`] books the next slots and says how long to wait for them.
//!
//! A task that falls behind (a slow send, a coarse timer) catches up by sending without
//! waiting, but never by more than [`Pacer::BURST`] of schedule: after a long stall it resumes
//! the normal pace instead of flooding the broker to make up for lost time.

use std::time::{Duration, Instant};

/// One task's timetable.
#[derive(Debug, Clone)]
pub struct Pacer {
    start: Instant,
    /// Nanoseconds between two messages.
    interval_ns: f64,
    /// When the next message is due, in nanoseconds after `start`.
    due_ns: f64,
}

impl Pacer {
    /// How far behind schedule a task may be and still catch up.
    pub const BURST: Duration = Duration::from_millis(20);

    /// A timetable of `per_second` messages per second starting at `start`; `None` for an
    /// unlimited rate (0 or not finite).
    pub fn new(per_second: f64, start: Instant) -> Option<Self> {
        (per_second.is_finite() && per_second > 0.0).then(|| Self {
            start,
            interval_ns: 1e9 / per_second,
            due_ns: 0.0,
        })
    }

    /// The share of `total` messages per second that task `index` of `tasks` sends; `None`
    /// when unlimited.
    pub fn for_task(total: u64, tasks: usize, start: Instant) -> Option<Self> {
        if total == 0 || tasks == 0 {
            return None;
        }
        Self::new(total as f64 / tasks as f64, start)
    }

    /// Books `messages` slots and returns how long to wait before sending them.
    pub fn reserve(&mut self, messages: u64, now: Instant) -> Duration {
        let now_ns = now.saturating_duration_since(self.start).as_nanos() as f64;
        let floor = now_ns - Self::BURST.as_nanos() as f64;
        if self.due_ns < floor {
            self.due_ns = floor;
        }
        let wait_ns = (self.due_ns - now_ns).max(0.0);
        self.due_ns += self.interval_ns * messages as f64;
        Duration::from_nanos(wait_ns as u64)
    }
}

/// The share of `total` that part `index` of `parts` takes: the remainder goes one each to
/// the first parts, so the shares add up to `total`.
pub fn share(total: u64, parts: usize, index: usize) -> u64 {
    let parts = parts.max(1) as u64;
    let index = index as u64;
    total / parts + u64::from(index < total % parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn given_zero_rate_should_not_pace() {
        let t0 = Instant::now();
        assert!(Pacer::new(0.0, t0).is_none());
        assert!(Pacer::new(f64::INFINITY, t0).is_none());
        assert!(Pacer::for_task(0, 4, t0).is_none());
    }

    #[test]
    fn given_rate_when_sending_on_time_should_space_slots_evenly() {
        let t0 = Instant::now();
        let mut p = Pacer::new(1000.0, t0).unwrap();
        assert_eq!(p.reserve(1, t0), Duration::ZERO);
        // The second message is due 1 ms after the first.
        assert_eq!(p.reserve(1, t0), MS);
        assert_eq!(p.reserve(1, t0 + MS), MS);
        // A batch books as many slots as it has messages.
        assert_eq!(p.reserve(10, t0 + 3 * MS), Duration::ZERO);
        assert_eq!(p.reserve(1, t0 + 3 * MS), 10 * MS);
    }

    #[test]
    fn given_task_behind_schedule_should_catch_up_at_most_one_burst() {
        let t0 = Instant::now();
        let mut p = Pacer::new(1000.0, t0).unwrap();
        p.reserve(1, t0);
        // One second late: only BURST (20 ms = 20 messages) may go out without waiting.
        let late = t0 + Duration::from_secs(1);
        let free = (0..100)
            .take_while(|_| p.reserve(1, late).is_zero())
            .count();
        assert_eq!(free, 21, "20 ms of backlog plus the slot that is due now");
    }

    #[test]
    fn given_total_rate_should_split_between_tasks() {
        let t0 = Instant::now();
        let mut p = Pacer::for_task(400, 4, t0).unwrap();
        p.reserve(1, t0);
        assert_eq!(p.reserve(1, t0), 10 * MS);
    }

    #[test]
    fn given_shares_should_add_up_to_total() {
        assert_eq!(
            (0..3).map(|i| share(10, 3, i)).collect::<Vec<_>>(),
            [4, 3, 3]
        );
        assert_eq!((0..4).map(|i| share(2, 4, i)).sum::<u64>(), 2);
        assert_eq!(share(7, 0, 0), 7);
    }
}
