//! Choosing a queue for a message: by hash of a sharding key (partition order) or by any rule
//! the application supplies.

use apogee_protocol::body::client::MessageQueue;
use apogee_protocol::record::java_string_hash;

use crate::Message;

/// Picks the index of one of `queues` (never empty) for `msg`; `arg` is what the caller passed
/// along (e.g. an order id). An index past the end wraps around.
pub trait QueueSelector: Send + Sync {
    fn select(&self, queues: &[MessageQueue], msg: &Message, arg: &str) -> usize;
}

impl<F> QueueSelector for F
where
    F: Fn(&[MessageQueue], &Message, &str) -> usize + Send + Sync,
{
    fn select(&self, queues: &[MessageQueue], msg: &Message, arg: &str) -> usize {
        self(queues, msg, arg)
    }
}

/// Java's `SelectMessageQueueByHash`: `|hashCode(arg) % n|`, so a key maps to the same queue
/// as it does from a Java producer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectByHash;

impl QueueSelector for SelectByHash {
    fn select(&self, queues: &[MessageQueue], _msg: &Message, arg: &str) -> usize {
        let n = i32::try_from(queues.len()).unwrap_or(i32::MAX).max(1);
        (java_string_hash(arg) % n).unsigned_abs() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_key_should_pick_the_java_hash_queue() {
        let queues: Vec<MessageQueue> = (0..4)
            .map(|i| MessageQueue {
                topic: "T".into(),
                broker_name: "b".into(),
                queue_id: i,
            })
            .collect();
        let msg = Message::new("T", "x");
        // Java: "order-1".hashCode() = -1207111310; % 4 = -2; abs → 2.
        assert_eq!(java_string_hash("order-1"), -1_207_111_310);
        assert_eq!(SelectByHash.select(&queues, &msg, "order-1"), 2);
        let last = |qs: &[MessageQueue], _: &Message, _: &str| qs.len() - 1;
        assert_eq!(last.select(&queues, &msg, ""), 3);
    }
}
