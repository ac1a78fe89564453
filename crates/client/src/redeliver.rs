//! Sending messages to a consumer group again: a group's dead letters (`%DLQ%{group}`) read by
//! offset, and copies published to the group's retry topic `%RETRY%{group}` with `RETRY_TOPIC`
//! set to the original topic. Every RocketMQ client consumes its group's retry topic and hands
//! such a message to the application under the original topic, so the group gets it again
//! whether or not one of its consumers is online, with its retry policy. (CONSUME_MESSAGE_DIRECTLY,
//! [`Admin::consume_message_directly`], is the other way: one live client, at once.)

use std::time::{Duration, Instant};

use apogee_protocol::body::client::MessageQueue;

use crate::admin::{Admin, TopicSpec};
use crate::message::{Message, MessageExt, property};
use crate::producer::Producer;
use crate::{ClientError, Result};

/// Properties a copy does not carry over (the broker sets them again or they would misroute it).
const DROPPED: &[&str] = &[
    property::DELAY,
    property::REAL_TOPIC,
    property::REAL_QID,
    property::TRAN_MSG,
    property::MIN_OFFSET,
    property::MAX_OFFSET,
    property::RECONSUME_TIME,
    "CLUSTER",
    "TIMER_DELIVER_MS",
    "TIMER_DELAY_SEC",
    "TIMER_DELAY_MS",
];

/// How long a newly created retry topic may take to appear in the route.
const ROUTE_WAIT: Duration = Duration::from_secs(5);

/// The topic the application sent `m` to (a retried or dead message names it in RETRY_TOPIC).
pub fn original_topic(m: &MessageExt) -> String {
    m.properties
        .get(property::RETRY_TOPIC)
        .cloned()
        .unwrap_or_else(|| m.topic.clone())
}

/// The copy of `m` that [`resend_to_group`] publishes, and the queue it goes to (queue 0 of
/// the group's retry topic on the broker that held `m`).
pub fn retry_copy(group: &str, m: &MessageExt) -> (Message, MessageQueue) {
    let retry = apogee_model::system_topic::retry_topic(group);
    let queue = MessageQueue {
        topic: retry.clone(),
        broker_name: m.broker_name.clone(),
        queue_id: 0,
    };
    let mut copy = Message::new(retry, m.body.clone());
    copy.flag = m.flag;
    for (k, v) in &m.properties {
        if !DROPPED.contains(&k.as_str()) {
            copy = copy.with_property(k.clone(), v.clone());
        }
    }
    copy = copy.with_property(property::RETRY_TOPIC, original_topic(m));
    if !m.properties.contains_key(property::ORIGIN_MESSAGE_ID) {
        copy = copy.with_property(property::ORIGIN_MESSAGE_ID, m.offset_msg_id.clone());
    }
    (copy, queue)
}

/// Publishes a copy of `m` to `group`'s retry topic with `producer`; answers the copy's
/// message id.
pub async fn resend_to_group(
    admin: &Admin,
    producer: &Producer,
    group: &str,
    m: &MessageExt,
) -> Result<String> {
    let (copy, queue) = retry_copy(group, m);
    admin
        .ensure_routed(&queue.topic, &queue.broker_name)
        .await?;
    Ok(producer.send_to_queue(copy, &queue).await?.msg_id)
}

impl Admin {
    /// Makes sure `topic` (a retry topic) is routed to `broker`: a group that never failed a
    /// message has none yet, so it is created there with one queue (RocketMQ's default) and
    /// the route awaited.
    pub async fn ensure_routed(&self, topic: &str, broker: &str) -> Result<()> {
        let routed = |route: Option<apogee_protocol::body::route::TopicRouteData>| {
            route.is_some_and(|r| {
                r.broker_datas
                    .iter()
                    .any(|b| b.broker_name.as_str() == broker)
            })
        };
        if routed(self.topic_route(topic).await.ok()) {
            return Ok(());
        }
        let info = self.cluster_info().await?;
        let addr = info
            .broker_addr_table
            .iter()
            .find(|(name, _)| name.as_str() == broker)
            .and_then(|(_, b)| b.broker_addrs.get(&apogee_model::MASTER_ID).cloned())
            .ok_or_else(|| {
                ClientError::InvalidArgument(format!("broker {broker} has no master"))
            })?;
        let mut spec = TopicSpec::new(topic);
        (spec.read_queue_nums, spec.write_queue_nums) = (1, 1);
        self.create_topic(&addr, &spec).await?;
        let deadline = Instant::now() + ROUTE_WAIT;
        while !routed(self.topic_route(topic).await.ok()) {
            if Instant::now() > deadline {
                return Err(ClientError::InvalidArgument(format!(
                    "{topic} was created on {broker} but is not routed yet; try again"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// `group`'s dead-letter queues with their (min, max) offsets, in a stable order;
    /// [`ClientError::NoRoute`] when the group has no dead-letter topic.
    pub async fn dead_letter_queues(&self, group: &str) -> Result<Vec<(MessageQueue, i64, i64)>> {
        let stats = self
            .topic_stats(&apogee_model::system_topic::dlq_topic(group))
            .await?;
        let mut queues: Vec<_> = stats
            .offset_table
            .into_iter()
            .map(|(q, o)| (q, o.min_offset, o.max_offset.max(o.min_offset)))
            .collect();
        queues.sort_by(|a, b| {
            (&a.0.broker_name, a.0.queue_id).cmp(&(&b.0.broker_name, b.0.queue_id))
        });
        Ok(queues)
    }

    /// Messages `[from, to)` of one queue, read without committing anything.
    pub async fn read_range(
        &self,
        q: &MessageQueue,
        from: i64,
        to: i64,
    ) -> Result<Vec<MessageExt>> {
        let mut out = Vec::new();
        let mut next = from;
        while next < to {
            let max = i32::try_from((to - next).min(32)).unwrap_or(32);
            let pulled = self.pull_from(q, next, max).await?;
            let before = out.len();
            out.extend(
                pulled
                    .messages
                    .into_iter()
                    .filter(|m| m.queue_offset >= next && m.queue_offset < to),
            );
            match out.last() {
                Some(last) if out.len() > before => next = last.queue_offset + 1,
                _ => break,
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_dead_letter_the_copy_should_name_its_original_topic_and_drop_routing_properties() {
        let host: std::net::SocketAddr = ([127, 0, 0, 1], 10911).into();
        let mut m = MessageExt {
            topic: "%DLQ%billing".into(),
            body: bytes::Bytes::from_static(b"body"),
            flag: 0,
            properties: Default::default(),
            msg_id: "U1".into(),
            offset_msg_id: "OFFSET".into(),
            broker_name: "broker-b".into(),
            queue_id: 0,
            queue_offset: 0,
            commit_log_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: host,
            store_timestamp: 0,
            store_host: host,
            reconsume_times: 16,
            body_crc: 0,
            prepared_transaction_offset: 0,
            store_size: 0,
        };
        for (k, v) in [
            ("RETRY_TOPIC", "Orders"),
            ("KEYS", "k1"),
            ("DELAY", "3"),
            ("UNIQ_KEY", "U1"),
            ("REAL_TOPIC", "x"),
        ] {
            m.properties.insert(k.into(), v.into());
        }
        let (copy, queue) = retry_copy("billing", &m);
        assert_eq!(
            (
                queue.topic.as_str(),
                queue.broker_name.as_str(),
                queue.queue_id
            ),
            ("%RETRY%billing", "broker-b", 0)
        );
        assert_eq!(copy.property("RETRY_TOPIC"), Some("Orders"));
        assert_eq!(
            (copy.property("KEYS"), copy.property("UNIQ_KEY")),
            (Some("k1"), Some("U1"))
        );
        assert_eq!(
            (copy.property("DELAY"), copy.property("REAL_TOPIC")),
            (None, None)
        );
        assert_eq!(copy.property("ORIGIN_MESSAGE_ID"), Some("OFFSET"));
        assert_eq!(copy.body.as_ref(), b"body");
    }
}
