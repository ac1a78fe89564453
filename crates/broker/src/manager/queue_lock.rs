//! Queue locks for orderly consumers (`RebalanceLockManager`, REMOTING.md §7.3): a group's
//! queue belongs to one client id until that client unlocks it or stops renewing it for
//! `lock_expiry` (60 s).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use apogee_protocol::body::client::MessageQueue;

/// Java's `rocketmq.broker.rebalance.lockMaxLiveTime`.
pub const LOCK_EXPIRY_MS: i64 = 60_000;

#[derive(Debug, Clone)]
struct Holder {
    client_id: String,
    renewed_ms: i64,
}

/// Shared handle to the lock table.
#[derive(Clone, Default)]
pub struct QueueLocks {
    table: Arc<Mutex<HashMap<String, HashMap<MessageQueue, Holder>>>>,
}

impl QueueLocks {
    /// Grants every queue that is free, expired or already held by `client_id`; returns them.
    pub fn lock(
        &self,
        group: &str,
        queues: &BTreeSet<MessageQueue>,
        client_id: &str,
        now_ms: i64,
    ) -> BTreeSet<MessageQueue> {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let locks = table.entry(group.to_owned()).or_default();
        let mut granted = BTreeSet::new();
        for queue in queues {
            let free = locks
                .get(queue)
                .is_none_or(|h| h.client_id == client_id || now_ms - h.renewed_ms > LOCK_EXPIRY_MS);
            if free {
                locks.insert(
                    queue.clone(),
                    Holder {
                        client_id: client_id.to_owned(),
                        renewed_ms: now_ms,
                    },
                );
                granted.insert(queue.clone());
            }
        }
        granted
    }

    /// Releases the queues `client_id` holds.
    pub fn unlock(&self, group: &str, queues: &BTreeSet<MessageQueue>, client_id: &str) {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(locks) = table.get_mut(group) {
            for queue in queues {
                if locks.get(queue).is_some_and(|h| h.client_id == client_id) {
                    locks.remove(queue);
                }
            }
        }
    }

    /// Whether anyone holds an unexpired lock on a queue of `group`.
    pub fn group_holds_locks(&self, group: &str, now_ms: i64) -> bool {
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.get(group).is_some_and(|locks| {
            locks
                .values()
                .any(|h| now_ms - h.renewed_ms <= LOCK_EXPIRY_MS)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(ids: &[i32]) -> BTreeSet<MessageQueue> {
        ids.iter()
            .map(|&queue_id| MessageQueue {
                broker_name: "b".into(),
                queue_id,
                topic: "T".into(),
            })
            .collect()
    }

    #[test]
    fn given_held_queue_should_refuse_others_until_expiry_or_unlock() {
        let locks = QueueLocks::default();
        assert_eq!(locks.lock("g", &queues(&[0, 1]), "c1", 0).len(), 2);
        assert_eq!(locks.lock("g", &queues(&[1, 2]), "c2", 1_000), queues(&[2]));
        assert_eq!(
            locks.lock("g", &queues(&[0]), "c1", 2_000),
            queues(&[0]),
            "renewal by holder"
        );
        assert_eq!(
            locks.lock("g", &queues(&[1]), "c2", 61_001),
            queues(&[1]),
            "expired"
        );
        locks.unlock("g", &queues(&[0]), "c2");
        assert!(
            locks.lock("g", &queues(&[0]), "c2", 3_000).is_empty(),
            "c2 cannot unlock c1's"
        );
        locks.unlock("g", &queues(&[0]), "c1");
        assert_eq!(locks.lock("g", &queues(&[0]), "c2", 3_000), queues(&[0]));
        assert!(locks.group_holds_locks("g", 3_000));
        assert!(!locks.group_holds_locks("other", 3_000));
    }
}
