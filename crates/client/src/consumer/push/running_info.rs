//! What a push consumer reports about itself in GET_CONSUMER_RUNNING_INFO (Java's
//! `DefaultMQPushConsumerImpl.consumerRunningInfo`): its settings under Java's property names,
//! its subscriptions (the retry topic's included), every queue it holds and the per-topic
//! figures. The instance adds the NameServer address, the consume type and the client version.

use apogee_protocol::body::admin::ConsumerRunningInfo;

use super::{Core, Listener};
use crate::consumer::ConsumeFrom;
use crate::instance::now_ms;

impl Core {
    pub(super) fn running_info(&self) -> ConsumerRunningInfo {
        let mut info = ConsumerRunningInfo::default();
        let c = &self.config;
        let orderly = matches!(self.listener, Listener::Orderly(_));
        let consume_from = match c.consume_from {
            ConsumeFrom::Timestamp(ts) => Some(ts.to_string()),
            _ => None,
        };
        let properties = [
            (
                ConsumerRunningInfo::PROP_CONSUME_ORDERLY,
                orderly.to_string(),
            ),
            (
                ConsumerRunningInfo::PROP_THREADPOOL_CORE_SIZE,
                c.consume_threads.to_string(),
            ),
            (
                ConsumerRunningInfo::PROP_CONSUMER_START_TIMESTAMP,
                self.status.start_ms().to_string(),
            ),
            ("consumerGroup", c.group.clone()),
            (
                "messageModel",
                serde_json::to_value(c.message_model)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
            ),
            ("consumeFromWhere", c.consume_from.java_name().to_owned()),
            ("consumeThreadMin", c.consume_threads.to_string()),
            ("consumeThreadMax", c.consume_threads.to_string()),
            (
                "consumeMessageBatchMaxSize",
                c.consume_batch_size.to_string(),
            ),
            ("pullBatchSize", c.pull_batch_size.to_string()),
            (
                "pullThresholdForQueue",
                c.pull_threshold_for_queue.to_string(),
            ),
            (
                "pullThresholdSizeForQueue",
                (c.pull_threshold_size_for_queue / (1024 * 1024)).to_string(),
            ),
            (
                "consumeTimeout",
                (c.consume_timeout.as_secs() / 60).to_string(),
            ),
            ("maxReconsumeTimes", self.max_reconsume_times.to_string()),
            (
                "suspendCurrentQueueTimeMillis",
                c.suspend_current_queue_time.as_millis().to_string(),
            ),
        ];
        for (key, value) in properties {
            info.properties.insert(key.to_owned(), value);
        }
        if let Some(ts) = consume_from {
            info.properties.insert("consumeTimestamp".into(), ts);
        }
        info.subscription_set = self.subscriptions.values().cloned().collect();
        for (queue, pq) in self.table().iter() {
            let commit = self.offsets.cached(queue).unwrap_or(-1);
            info.mq_table.insert(queue.clone(), pq.info(commit));
        }
        info.status_table = self.status.status(now_ms()).into_iter().collect();
        info
    }
}
