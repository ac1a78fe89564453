//! Per-access-key rate limiting of the management API: a token bucket per key (refilled at
//! `rate_limit_per_second`, holding up to `rate_limit_burst`). A request over the limit is
//! answered 429 with the managed services' sentence, "Request was denied due to user flow
//! control." (seed 000's FAQ), before it reaches the cluster.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// What the managed services answer when a key calls too often.
pub const DENIED: &str = "Request was denied due to user flow control.";

/// Keys remembered at most (then the idlest half is forgotten).
const KEYS_MAX: usize = 10_000;

pub struct Limiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Limiter {
    /// `per_second` 0 turns limiting off.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; false when it has none left.
    pub fn allow(&self, key: &str, now: Instant) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= KEYS_MAX && !buckets.contains_key(key) {
            let mut by_age: Vec<(String, Instant)> = buckets
                .iter()
                .map(|(k, (_, at))| (k.clone(), *at))
                .collect();
            by_age.sort_by_key(|(_, at)| *at);
            for (k, _) in by_age.into_iter().take(KEYS_MAX / 2) {
                buckets.remove(&k);
            }
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((self.burst, now));
        let refill = now.saturating_duration_since(*at).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn given_a_burst_should_deny_past_it_and_allow_again_after_refill() {
        let limiter = Limiter::new(10, 3);
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.allow("k", t0)));
        assert!(
            !limiter.allow("k", t0),
            "the fourth within the burst is denied"
        );
        assert!(limiter.allow("other", t0), "keys are limited apart");
        assert!(
            limiter.allow("k", t0 + Duration::from_millis(100)),
            "one token per 100 ms"
        );
        assert!(!limiter.allow("k", t0 + Duration::from_millis(100)));
        assert!(Limiter::new(0, 0).allow("k", t0), "0 turns it off");
    }
}
