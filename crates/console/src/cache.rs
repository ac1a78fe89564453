//! Figures that are expensive to compute and fine to show a few seconds old, per cluster.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub struct Recent {
    ttl: Duration,
    map: Mutex<HashMap<String, (Instant, i64)>>,
}

impl Recent {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The value for `key` if it was put less than the TTL ago.
    pub fn get(&self, key: &str) -> Option<i64> {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| *v)
    }

    pub fn put(&self, key: &str, value: i64) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() > 1000 {
            map.clear();
        }
        map.insert(key.to_owned(), (Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_value_should_keep_it_only_for_the_ttl() {
        let fresh = Recent::new(Duration::from_secs(60));
        fresh.put("c", 7);
        assert_eq!(fresh.get("c"), Some(7));
        assert_eq!(fresh.get("other"), None);
        let stale = Recent::new(Duration::ZERO);
        stale.put("c", 7);
        assert_eq!(stale.get("c"), None);
    }
}
