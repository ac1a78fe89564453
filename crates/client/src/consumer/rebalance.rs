//! Queue allocation strategies. Every member of a group runs the same pure function over the
//! same sorted inputs, so together they split the queues without talking to each other.
//! The results match the Java client's, so mixed-language groups agree.

use apogee_protocol::body::client::MessageQueue;
use md5::{Digest, Md5};

/// How a group's queues are split among its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AllocateStrategy {
    /// Contiguous ranges (`AllocateMessageQueueAveragely`, the default).
    #[default]
    Average,
    /// Round-robin: queue `i` goes to member `i % members` (`…AveragelyByCircle`).
    AverageByCircle,
    /// A hash ring with virtual nodes (`…ConsistentHash`): members joining or leaving move few
    /// queues.
    ConsistentHash { virtual_nodes: usize },
}

impl AllocateStrategy {
    /// The consistent-hash strategy with Java's 10 virtual nodes per member.
    pub const CONSISTENT_HASH: AllocateStrategy =
        AllocateStrategy::ConsistentHash { virtual_nodes: 10 };

    /// The queues `current` gets. `all` and `members` must be sorted (they are sorted here
    /// anyway); a `current` not in `members` gets nothing.
    pub fn allocate(
        self,
        current: &str,
        all: &[MessageQueue],
        members: &[String],
    ) -> Vec<MessageQueue> {
        let mut all = all.to_vec();
        all.sort();
        let mut members = members.to_vec();
        members.sort();
        members.dedup();
        let Some(index) = members.iter().position(|m| m == current) else {
            return Vec::new();
        };
        if all.is_empty() {
            return Vec::new();
        }
        match self {
            AllocateStrategy::Average => average(index, &all, members.len()),
            AllocateStrategy::AverageByCircle => all
                .iter()
                .enumerate()
                .filter(|(i, _)| i % members.len() == index)
                .map(|(_, q)| q.clone())
                .collect(),
            AllocateStrategy::ConsistentHash { virtual_nodes } => {
                consistent_hash(current, &all, &members, virtual_nodes)
            }
        }
    }
}

fn average(index: usize, all: &[MessageQueue], members: usize) -> Vec<MessageQueue> {
    let n = all.len();
    let rem = n % members;
    let size = if n <= members {
        1
    } else if rem > 0 && index < rem {
        n / members + 1
    } else {
        n / members
    };
    let start = if rem > 0 && index < rem {
        index * size
    } else {
        index * size + rem
    };
    let range = size.min(n.saturating_sub(start));
    all.iter().skip(start).take(range).cloned().collect()
}

/// First four MD5 bytes, big-endian, as an unsigned value (Java's `MD5Hash`).
fn ring_hash(key: &str) -> u32 {
    let digest = Md5::digest(key.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn consistent_hash(
    current: &str,
    all: &[MessageQueue],
    members: &[String],
    virtual_nodes: usize,
) -> Vec<MessageQueue> {
    let mut ring = std::collections::BTreeMap::new();
    for member in members {
        for i in 0..virtual_nodes {
            ring.insert(ring_hash(&format!("{member}-{i}")), member.as_str());
        }
    }
    all.iter()
        .filter(|q| {
            let key = format!(
                "MessageQueue [topic={}, brokerName={}, queueId={}]",
                q.topic, q.broker_name, q.queue_id
            );
            let h = ring_hash(&key);
            let owner = ring
                .range(h..)
                .next()
                .or_else(|| ring.iter().next())
                .map(|(_, m)| *m);
            owner == Some(current)
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n)
            .map(|i| MessageQueue {
                topic: "T".into(),
                broker_name: "b".into(),
                queue_id: i,
            })
            .collect()
    }

    fn ids(qs: &[MessageQueue]) -> Vec<i32> {
        qs.iter().map(|q| q.queue_id).collect()
    }

    #[test]
    fn given_8_queues_3_members_should_split_like_java() {
        let members: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let all = queues(8);
        let avg = |m: &str| ids(&AllocateStrategy::Average.allocate(m, &all, &members));
        assert_eq!(avg("a"), [0, 1, 2]);
        assert_eq!(avg("b"), [3, 4, 5]);
        assert_eq!(avg("c"), [6, 7]);
        let circle = |m: &str| ids(&AllocateStrategy::AverageByCircle.allocate(m, &all, &members));
        assert_eq!(circle("a"), [0, 3, 6]);
        assert_eq!(circle("c"), [2, 5]);
        assert!(
            AllocateStrategy::Average
                .allocate("z", &all, &members)
                .is_empty()
        );
    }

    #[test]
    fn given_md5_should_take_the_first_four_bytes() {
        // md5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(ring_hash(""), 0xd41d_8cd9);
    }

    proptest! {
        #[test]
        fn given_any_group_every_queue_should_have_exactly_one_owner(
            n in 0i32..40, members in proptest::collection::btree_set("[a-z]{1,6}", 1..8),
            strategy in 0usize..3,
        ) {
            let strategy = [AllocateStrategy::Average, AllocateStrategy::AverageByCircle, AllocateStrategy::CONSISTENT_HASH][strategy];
            let members: Vec<String> = members.into_iter().collect();
            let all = queues(n);
            let mut owned: Vec<MessageQueue> = members
                .iter()
                .flat_map(|m| strategy.allocate(m, &all, &members))
                .collect();
            owned.sort();
            prop_assert_eq!(owned, all);
        }
    }
}
