//! Broker fault-latency avoidance (Java's `LatencyFaultTolerance` + `MQFaultStrategy`): a
//! slow or failing broker is avoided for a while, longer the slower it was.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Latency thresholds (ms) and how long a broker is avoided after a call that slow.
const LATENCY_MAX_MS: [u64; 7] = [50, 100, 550, 1_000, 2_000, 3_000, 15_000];
const NOT_AVAILABLE_MS: [u64; 7] = [0, 0, 30_000, 60_000, 120_000, 180_000, 600_000];
/// A failed call counts as this slow.
const FAILURE_LATENCY_MS: u64 = 10_000;

#[derive(Debug, Default)]
pub(crate) struct FaultTracker {
    avoid_until: Mutex<HashMap<String, Instant>>,
}

impl FaultTracker {
    /// Records a call to `broker` that took `latency` (or failed).
    pub(crate) fn record(&self, broker: &str, latency: Duration, failed: bool) {
        let ms = if failed {
            FAILURE_LATENCY_MS
        } else {
            u64::try_from(latency.as_millis()).unwrap_or(u64::MAX)
        };
        let avoid = not_available_for(ms);
        let mut map = self
            .avoid_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if avoid.is_zero() {
            map.remove(broker);
        } else {
            map.insert(broker.to_owned(), Instant::now() + avoid);
        }
    }

    pub(crate) fn is_available(&self, broker: &str) -> bool {
        self.avoid_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(broker)
            .is_none_or(|until| Instant::now() >= *until)
    }
}

fn not_available_for(latency_ms: u64) -> Duration {
    LATENCY_MAX_MS
        .iter()
        .rposition(|max| latency_ms >= *max)
        .map_or(Duration::ZERO, |i| {
            Duration::from_millis(NOT_AVAILABLE_MS[i])
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_latency_should_map_to_java_avoidance_periods() {
        assert_eq!(not_available_for(10), Duration::ZERO);
        assert_eq!(not_available_for(549), Duration::ZERO);
        assert_eq!(not_available_for(550), Duration::from_secs(30));
        assert_eq!(not_available_for(10_000), Duration::from_secs(180));
        assert_eq!(not_available_for(20_000), Duration::from_secs(600));
    }

    #[test]
    fn given_failure_should_avoid_broker_until_a_fast_call() {
        let faults = FaultTracker::default();
        assert!(faults.is_available("a"));
        faults.record("a", Duration::ZERO, true);
        assert!(!faults.is_available("a"));
        assert!(faults.is_available("b"));
        faults.record("a", Duration::from_millis(5), false);
        assert!(faults.is_available("a"));
    }
}
