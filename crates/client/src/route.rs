//! A topic's route as the client uses it: the queues it may send to, the queues it may read,
//! and where each broker lives.

use std::collections::BTreeMap;

use apogee_model::{MASTER_ID, Perm};
use apogee_protocol::body::client::MessageQueue;
use apogee_protocol::body::route::TopicRouteData;

/// The route of one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRoute {
    pub topic: String,
    pub data: TopicRouteData,
    /// Writable queues on brokers with a master, in broker-name order (`TopicPublishInfo`).
    pub publish_queues: Vec<MessageQueue>,
    /// Readable queues, sorted (rebalance input).
    pub subscribe_queues: Vec<MessageQueue>,
}

impl TopicRoute {
    pub fn new(topic: &str, data: TopicRouteData) -> Self {
        Self::with_queue_limit(topic, data, usize::MAX)
    }

    /// Like [`TopicRoute::new`] but with at most `max_write_queues` publish queues per broker:
    /// used when a new topic is sent through the `TBW102` template route.
    pub fn with_queue_limit(topic: &str, data: TopicRouteData, max_write_queues: usize) -> Self {
        let masters: BTreeMap<&str, bool> = data
            .broker_datas
            .iter()
            .map(|b| {
                (
                    b.broker_name.as_str(),
                    b.broker_addrs.contains_key(&MASTER_ID),
                )
            })
            .collect();
        let mut queue_datas = data.queue_datas.clone();
        queue_datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        let mut publish_queues = Vec::new();
        let mut subscribe_queues = Vec::new();
        for q in &queue_datas {
            let perm = Perm(q.perm);
            let broker = q.broker_name.as_str();
            if perm.is_writeable() && masters.get(broker).copied().unwrap_or(false) {
                let n = usize::try_from(q.write_queue_nums)
                    .unwrap_or(0)
                    .min(max_write_queues);
                for id in 0..n {
                    publish_queues.push(queue(topic, broker, id));
                }
            }
            if perm.is_readable() {
                for id in 0..usize::try_from(q.read_queue_nums).unwrap_or(0) {
                    subscribe_queues.push(queue(topic, broker, id));
                }
            }
        }
        subscribe_queues.sort();
        Self {
            topic: topic.to_owned(),
            data,
            publish_queues,
            subscribe_queues,
        }
    }

    /// Addresses of `broker_name` by broker id (0 = master).
    pub fn broker_addrs(&self, broker_name: &str) -> Option<&BTreeMap<i64, String>> {
        self.data
            .broker_datas
            .iter()
            .find(|b| b.broker_name.as_str() == broker_name)
            .map(|b| &b.broker_addrs)
    }
}

fn queue(topic: &str, broker: &str, id: usize) -> MessageQueue {
    MessageQueue {
        topic: topic.to_owned(),
        broker_name: broker.to_owned(),
        queue_id: i32::try_from(id).unwrap_or(i32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apogee_model::{BrokerName, ClusterName};
    use apogee_protocol::body::route::{BrokerData, QueueData};

    fn data() -> TopicRouteData {
        let broker = |name: &str, master: bool| BrokerData {
            broker_addrs: if master {
                BTreeMap::from([(0, format!("{name}:10911")), (1, format!("{name}:10921"))])
            } else {
                BTreeMap::from([(1, format!("{name}:10921"))])
            },
            broker_name: BrokerName::new(name).unwrap(),
            cluster: ClusterName::new("c").unwrap(),
            enable_acting_master: false,
            zone_name: None,
        };
        let qd = |name: &str, perm: i32| QueueData {
            broker_name: BrokerName::new(name).unwrap(),
            perm,
            read_queue_nums: 2,
            write_queue_nums: 3,
            topic_sys_flag: 0,
        };
        TopicRouteData {
            broker_datas: vec![broker("b", true), broker("a", true), broker("s", false)],
            queue_datas: vec![qd("b", 6), qd("a", 4), qd("s", 6)],
            ..TopicRouteData::default()
        }
    }

    #[test]
    fn given_route_should_publish_to_writable_masters_and_read_readable_queues() {
        let route = TopicRoute::new("T", data());
        let publish: Vec<_> = route
            .publish_queues
            .iter()
            .map(|q| (q.broker_name.as_str(), q.queue_id))
            .collect();
        assert_eq!(
            publish,
            [("b", 0), ("b", 1), ("b", 2)],
            "a is read-only, s has no master"
        );
        assert_eq!(route.subscribe_queues.len(), 6);
        assert_eq!(route.subscribe_queues[0].broker_name, "a");
        let limited = TopicRoute::with_queue_limit("T", data(), 2);
        assert_eq!(limited.publish_queues.len(), 2);
        assert_eq!(route.broker_addrs("b").unwrap()[&0], "b:10911");
    }
}
