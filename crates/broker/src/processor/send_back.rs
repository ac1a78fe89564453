//! CONSUMER_SEND_MSG_BACK (36, REMOTING.md §3.6): a message a consumer failed goes back to
//! `%RETRY%<group>` with delay level `3 + reconsumeTimes` (or the one asked for), or to
//! `%DLQ%<group>` once it has been retried `maxReconsumeTimes` times.
//!
//! The message is looked up by the client's offset only if a record really starts there and
//! its queue lists it, and only if it is one the group can have consumed: on the request's
//! `originTopic` (or the group's own retry topic), never on an internal topic. (Java decodes
//! whatever bytes sit at the offset, so a client could copy any record, a half message
//! included, into its retry topic and read it.)

use std::sync::Arc;

use apogee_model::Perm;
use apogee_model::system_topic::SCHEDULE_TOPIC;
use apogee_protocol::header::consumer::ConsumerSendMsgBackRequestHeader;
use apogee_protocol::record::{StoredRecord, encode_properties, find_property, parse_properties};
use apogee_protocol::{RemotingCommand, RequestCode};
use apogee_remoting::Connection;
use apogee_store::{MessageToStore, PutStatus};

use super::{Handler, Identity, success};
use crate::BrokerError;
use crate::live::LiveSettings;
use crate::manager::subscription_group::{SubscriptionGroupConfig, SubscriptionGroups};
use crate::manager::topic_config::{SEND_FORBIDDEN, TopicConfigs};
use crate::manager::{dlq_topic, retry_topic};
use crate::ops::put::Putter;

/// The send-back family.
pub struct SendBackProcessor {
    /// Gate, append, flush and replica waits (a send-back is a put like a send).
    pub put: Putter,
    /// The record a request names by offset, validated before use.
    pub records: Arc<dyn apogee_store::RecordReader>,
    pub topics: TopicConfigs,
    pub groups: SubscriptionGroups,
    pub identity: Identity,
    /// The broker's permission (a read-only broker takes no messages back).
    pub live: LiveSettings,
    /// SNDBCK_PUT_NUMS, by the message's original topic and the group.
    pub stats: crate::stats::BrokerStats,
    /// A slave refuses send-backs as it refuses sends.
    pub replication: crate::ha::Replication,
    /// Delay levels configured (`messageDelayLevel`).
    pub delay_levels: usize,
}

impl Handler for SendBackProcessor {
    const CODES: &'static [RequestCode] = &[RequestCode::CONSUMER_SEND_MSG_BACK];

    async fn handle(
        &self,
        connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        if self.replication.is_slave() {
            return Err(BrokerError::slave_refuses_writes());
        }
        let h: ConsumerSendMsgBackRequestHeader = request.header()?;
        let group = self
            .groups
            .get(&h.group)
            .ok_or_else(|| BrokerError::GroupNotExist(h.group.clone()))?;
        if group.retry_queue_nums <= 0 {
            return Ok(success(request));
        }
        if !self.live.permission().is_writeable() {
            return Err(BrokerError::NoPermission(format!(
                "the broker[{}] sending message is forbidden",
                self.identity.store_host
            )));
        }
        let original = self
            .records
            .lookup_record(h.offset)
            .filter(|record| consumable_by(record.topic_str(), &h))
            .ok_or_else(|| {
                BrokerError::SystemError(format!("look message by offset failed, {}", h.offset))
            })?;
        let mut props = back_properties(&original, &h);
        let (mut topic, mut queue_id, delay) = self.destination(&original, &h, &group)?;
        props.remove("DELAY");
        if delay > 0 {
            let levels = i32::try_from(self.delay_levels).unwrap_or(18);
            let level = delay.min(levels);
            props.insert("DELAY".into(), level.to_string());
            props.insert("REAL_TOPIC".into(), topic.clone());
            props.insert("REAL_QID".into(), queue_id.to_string());
            topic = SCHEDULE_TOPIC.to_owned();
            queue_id = level - 1;
        }
        let message = MessageToStore {
            topic,
            queue_id,
            flag: original.flag,
            sys_flag: original.sys_flag,
            born_timestamp: original.born_timestamp,
            born_host: original.born_host,
            store_host: self.identity.store_host,
            reconsume_times: original.reconsume_times.saturating_add(1),
            prepared_transaction_offset: 0,
            body: original.body.clone(),
            properties: encode_properties(&props),
        };
        let _ = connection;
        let back_topic = props
            .get("RETRY_TOPIC")
            .cloned()
            .unwrap_or_else(|| original.topic_str().to_owned());
        let topic = message.topic.clone();
        let put = self.put.put(vec![message], &topic).await?;
        match put.flush {
            PutStatus::Ok => {
                self.stats.record_send_back(&back_topic, &h.group);
                Ok(success(request))
            }
            PutStatus::FlushDiskTimeout => {
                Err(BrokerError::SystemError("FLUSH_DISK_TIMEOUT".into()))
            }
            PutStatus::FlushFailed => Err(BrokerError::flush_failed()),
        }
    }
}

impl SendBackProcessor {
    /// `%DLQ%<group>` (queue 0, no delay) once the message has been retried `max` times or
    /// the client asks for it; otherwise `%RETRY%<group>`, a queue picked by its queue offset,
    /// and the delay level (`3 + reconsumeTimes` unless the client named one).
    fn destination(
        &self,
        original: &StoredRecord,
        h: &ConsumerSendMsgBackRequestHeader,
        group: &SubscriptionGroupConfig,
    ) -> Result<(String, i32, i32), BrokerError> {
        let max = h.max_reconsume_times.unwrap_or(group.retry_max_times);
        if original.reconsume_times >= max || h.delay_level < 0 {
            let dlq = dlq_topic(&h.group);
            self.topics.ensure(&dlq, 1, Perm::READ_WRITE.0)?;
            return Ok((dlq, 0, 0));
        }
        let retry = retry_topic(&h.group);
        let config = self
            .topics
            .ensure(&retry, group.retry_queue_nums, Perm::READ_WRITE.0)?;
        if !Perm(config.perm).is_writeable() {
            return Err(BrokerError::NoPermission(format!(
                "the topic[{retry}] sending message is forbidden"
            )));
        }
        let queue = i32::try_from(
            original.queue_offset.unsigned_abs()
                % u64::try_from(config.write_queue_nums.max(1)).unwrap_or(1),
        )
        .unwrap_or(0);
        let level = if h.delay_level == 0 {
            original.reconsume_times.saturating_add(3)
        } else {
            h.delay_level
        };
        Ok((retry, queue, level))
    }
}

/// The original's properties plus `RETRY_TOPIC` (its topic) and `ORIGIN_MESSAGE_ID` (its
/// UNIQ_KEY, else the client's `originMsgId`), each kept when already present.
fn back_properties(
    original: &StoredRecord,
    h: &ConsumerSendMsgBackRequestHeader,
) -> std::collections::BTreeMap<String, String> {
    let text = std::str::from_utf8(&original.properties).unwrap_or("");
    let mut props = parse_properties(text);
    props
        .entry("RETRY_TOPIC".into())
        .or_insert_with(|| original.topic_str().to_owned());
    let original_id = find_property(text, "UNIQ_KEY")
        .map(str::to_owned)
        .or(h.origin_msg_id.clone())
        .unwrap_or_default();
    props
        .entry("ORIGIN_MESSAGE_ID".into())
        .or_insert(original_id);
    props
}

/// Whether a group sending a message back could have consumed it: it is on the request's
/// `originTopic` (when given) or on the group's retry topic, and not on an internal topic.
fn consumable_by(topic: &str, h: &ConsumerSendMsgBackRequestHeader) -> bool {
    if SEND_FORBIDDEN.contains(&topic) || topic.starts_with("rmq_sys_") {
        return false;
    }
    if topic == retry_topic(&h.group) {
        return true;
    }
    h.origin_topic
        .as_deref()
        .filter(|t| !t.is_empty())
        .is_none_or(|origin| origin == topic)
}
