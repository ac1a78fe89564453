//! POP revive: a popped message whose invisible time passes without an ack is stored again
//! on the group's retry topic (`%RETRY%{group}_{topic}`, queue 0, one more reconsume time,
//! every property kept, `1ST_POP_TIME` set), from where the group's next pops take it; once
//! it has been retried the group's `retryMaxTimes` it goes to `%DLQ%{group}` instead (with
//! `DLQ_ORIGIN_TOPIC` and `DLQ_ORIGIN_MESSAGE_ID`). RocketMQ's broker revives forever and
//! leaves dead letters to clients, which remoting POP clients drop after two hours; here
//! nothing is dropped. Orderly messages are not copied: their queue is read again.
//!
//! The message leaves the in-flight table only once its copy is stored; a failed store is
//! tried again 10 s later.

use std::sync::Arc;
use std::time::Duration;

use apogee_model::Perm;
use apogee_model::system_topic::{dlq_topic, is_retry_topic, pop_retry_topic};
use apogee_protocol::record::encode_properties;
use apogee_runtime::{Clock, Shutdown};
use apogee_store::RecordReader;

use crate::manager::pop_state::{Due, PopStates};
use crate::manager::subscription_group::SubscriptionGroups;
use crate::manager::topic_config::TopicConfigs;
use crate::ops::put::Putter;
use crate::ops::reput::copy_of;
use crate::processor::blocking;

/// Messages revived per pass.
const PASS_MAX: usize = 256;
/// Longest sleep between passes (a pop may add an earlier deadline meanwhile).
const IDLE_MAX: Duration = Duration::from_millis(100);
/// Wait before a revive whose store failed is tried again.
const RETRY_AFTER_MS: i64 = 10_000;

/// The revive loop.
pub struct PopRevive {
    pub states: PopStates,
    pub records: Arc<dyn RecordReader>,
    pub put: Putter,
    pub topics: TopicConfigs,
    pub groups: SubscriptionGroups,
    pub clock: Arc<dyn Clock>,
    pub store_host: std::net::SocketAddr,
    pub retry_v2: bool,
    /// Wakes pops waiting on a topic whose orderly queue became readable again.
    pub waiters: crate::service::long_polling::PullWaiters,
}

impl PopRevive {
    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        loop {
            let now = self.clock.now_ms();
            let due = self.states.take_due(now, PASS_MAX);
            for message in &due {
                if message.orderly {
                    self.waiters
                        .notifier(&message.key.topic, -1)
                        .notify_waiters();
                } else {
                    self.revive(message, now).await;
                }
            }
            if due.len() == PASS_MAX {
                continue;
            }
            let next = self.states.next_deadline().map_or(IDLE_MAX, |deadline| {
                Duration::from_millis(u64::try_from(deadline - now).unwrap_or(0)).min(IDLE_MAX)
            });
            tokio::select! {
                () = tokio::time::sleep(next) => {}
                () = shutdown.wait() => return,
            }
        }
    }

    /// Stores the message again (retry topic or DLQ), then lets it leave the in-flight table.
    pub async fn revive(&self, due: &Due, now: i64) {
        match self.store_copy(due).await {
            Ok(()) => self.states.revived(due),
            Err(e) => {
                tracing::warn!(group = due.key.group, topic = due.key.topic, offset = due.offset, error = %e, "pop revive failed; trying again later");
                self.states.revive_failed(due, now + RETRY_AFTER_MS);
            }
        }
    }

    async fn store_copy(&self, due: &Due) -> Result<(), crate::BrokerError> {
        let records = Arc::clone(&self.records);
        let at = due.commit_log_offset;
        let Some(record) = blocking(move || records.record_at(at)).await? else {
            tracing::warn!(
                group = due.key.group,
                topic = due.key.topic,
                offset = due.offset,
                "a popped message was deleted before its revive"
            );
            return Ok(());
        };
        let group = &due.key.group;
        let max = self.groups.get(group).map_or(16, |g| g.retry_max_times);
        let mut props = record.properties_map();
        if record.reconsume_times == 0 || !props.contains_key("1ST_POP_TIME") {
            props.insert("1ST_POP_TIME".into(), due.pop_time.to_string());
        }
        let (topic, origin) = if is_retry_topic(&due.key.topic) {
            let origin = props.get("RETRY_TOPIC").cloned().unwrap_or_default();
            (due.key.topic.clone(), origin)
        } else {
            props
                .entry("RETRY_TOPIC".into())
                .or_insert_with(|| due.key.topic.clone());
            let retry = pop_retry_topic(&due.key.topic, group, self.retry_v2);
            (retry, due.key.topic.clone())
        };
        let reconsume = record.reconsume_times.saturating_add(1);
        let destination = if reconsume > max {
            props.insert("DLQ_ORIGIN_TOPIC".into(), origin);
            let id = props.get("UNIQ_KEY").cloned().unwrap_or_default();
            props.insert("DLQ_ORIGIN_MESSAGE_ID".into(), id);
            dlq_topic(group)
        } else {
            topic
        };
        self.topics.ensure(&destination, 1, Perm::READ_WRITE.0)?;
        let mut message = copy_of(
            &record,
            (&destination, 0),
            encode_properties(&props),
            self.store_host,
        );
        message.reconsume_times = reconsume;
        message.prepared_transaction_offset = 0;
        self.put.put(vec![message], &destination).await?;
        Ok(())
    }
}
