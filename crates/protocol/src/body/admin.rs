//! Administration bodies (REMOTING.md §3.8, §3.9): subscription-group configs, the topic and
//! group tables, consume and topic statistics, connection lists, reset results.
//!
//! Several of them are maps keyed by a [`MessageQueue`]. Java's fastjson writes the queue
//! object itself as the key (§3.10) and Java cannot read any other form back, so those bodies
//! must be written with [`to_java_json`]; `serde_json::to_vec` would quote the keys. Reading
//! with [`crate::body::from_json`] accepts both forms.

use std::collections::{BTreeMap, BTreeSet};

use apogee_model::DataVersion;
use serde::{Deserialize, Serialize};

use crate::body::client::{MessageModel, MessageQueue, SubscriptionData};
use crate::fastjson::{self, JsonStyle, mq_key_map};

pub use crate::body::register::TopicConfigSerializeWrapper;

/// Map fields whose keys are `MessageQueue` objects in the bodies of this module.
pub const MQ_KEY_MAPS: &[&str] = &["offsetTable", "mqTable", "mqPopTable"];

/// Writes an admin body exactly as Java's fastjson does: MessageQueue map keys as bare
/// objects, keys in alphabetical order (field order), UTF-8 as is.
pub fn to_java_json<T: Serialize>(body: &T) -> Vec<u8> {
    fastjson::to_json(body, JsonStyle::Legacy, MQ_KEY_MAPS)
}

/// One consumer group's settings (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP body, an entry of
/// `subscriptionGroup.json`), with RocketMQ's defaults. Fields in fastjson's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupConfig {
    pub attributes: BTreeMap<String, String>,
    pub broker_id: i64,
    pub consume_broadcast_enable: bool,
    pub consume_enable: bool,
    pub consume_from_min_enable: bool,
    pub consume_message_orderly: bool,
    pub consume_timeout_minute: i32,
    pub group_name: String,
    /// Kept as sent (`{"type":"CUSTOMIZED"|"EXPONENTIAL",…}`); the broker does not use it yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_retry_policy: Option<serde_json::Value>,
    pub group_sys_flag: i32,
    pub notify_consumer_ids_changed_enable: bool,
    pub retry_max_times: i32,
    pub retry_queue_nums: i32,
    /// 5.x `Set<SimpleSubscriptionData>`, kept as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data_set: Option<serde_json::Value>,
    pub which_broker_when_consume_slowly: i64,
}

impl Default for SubscriptionGroupConfig {
    fn default() -> Self {
        Self {
            attributes: BTreeMap::new(),
            broker_id: 0,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            consume_message_orderly: false,
            consume_timeout_minute: 15,
            group_name: String::new(),
            group_retry_policy: None,
            group_sys_flag: 0,
            notify_consumer_ids_changed_enable: true,
            retry_max_times: 16,
            retry_queue_nums: 1,
            subscription_data_set: None,
            which_broker_when_consume_slowly: 1,
        }
    }
}

impl SubscriptionGroupConfig {
    /// A group with the defaults.
    pub fn named(group: &str) -> Self {
        Self {
            group_name: group.to_owned(),
            ..Self::default()
        }
    }
}

/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201) response, and `subscriptionGroup.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupWrapper {
    pub data_version: DataVersion,
    /// Group → topic → forbidden permission bits (bit 2, `1 << PermName.INDEX_PERM_READ`:
    /// may not pull), set by UPDATE_AND_GET_GROUP_FORBIDDEN.
    pub forbidden_table: BTreeMap<String, BTreeMap<String, i32>>,
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

impl SubscriptionGroupWrapper {
    /// The forbidden bit for pulling (`1 << PermName.INDEX_PERM_READ`).
    pub const READ_FORBIDDEN: i32 = 1 << 2;
}

/// UPDATE_AND_GET_GROUP_FORBIDDEN (353) response body (`GroupForbidden`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupForbidden {
    pub group: String,
    pub readable: bool,
    pub topic: String,
}

/// One queue's progress in [`ConsumeStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OffsetWrapper {
    /// The queue's max offset (next offset to be written).
    pub broker_offset: i64,
    /// The group's committed offset (0 when it has none).
    pub consumer_offset: i64,
    /// Store time of the last consumed message (at `consumer_offset - 1`), 0 if unknown.
    pub last_timestamp: i64,
    /// Furthest offset pulled, at least `consumer_offset`.
    pub pull_offset: i64,
}

/// GET_CONSUME_STATS (208) response.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStats {
    pub consume_tps: f64,
    #[serde(with = "mq_key_map")]
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
}

impl ConsumeStats {
    /// Messages not yet consumed: Σ (brokerOffset − consumerOffset), Java's `computeTotalDiff`.
    pub fn total_diff(&self) -> i64 {
        self.offset_table
            .values()
            .map(|o| o.broker_offset - o.consumer_offset)
            .sum()
    }

    /// Messages pulled but not yet committed: Σ (pullOffset − consumerOffset).
    pub fn inflight_diff(&self) -> i64 {
        self.offset_table
            .values()
            .map(|o| o.pull_offset - o.consumer_offset)
            .sum()
    }
}

/// One queue's range in [`TopicStatsTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOffset {
    /// Store time of the newest message, 0 for an empty queue.
    pub last_update_timestamp: i64,
    pub max_offset: i64,
    pub min_offset: i64,
}

/// GET_TOPIC_STATS_INFO (202) response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicStatsTable {
    #[serde(with = "mq_key_map")]
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
}

/// One client connection in a connection list.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    /// The client's `ip:port` as the broker sees it.
    pub client_addr: String,
    pub client_id: String,
    /// `LanguageCode` name: `JAVA`, `CPP`, `GO`, `RUST`, …
    pub language: String,
    /// The client's `version` ordinal from its heartbeat.
    pub version: i32,
}

/// GET_CONSUMER_CONNECTION_LIST (203) response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerConnection {
    pub connection_set: Vec<Connection>,
    /// `ConsumeFromWhere` name, e.g. `CONSUME_FROM_LAST_OFFSET`.
    pub consume_from_where: String,
    /// `CONSUME_ACTIVELY` (pull), `CONSUME_PASSIVELY` (push) or `CONSUME_POP`.
    pub consume_type: String,
    pub message_model: MessageModel,
    /// Topic → subscription.
    pub subscription_table: BTreeMap<String, SubscriptionData>,
}

impl ConsumerConnection {
    /// The oldest client version among the connections (`i32::MAX` when there are none).
    pub fn min_version(&self) -> i32 {
        self.connection_set
            .iter()
            .map(|c| c.version)
            .min()
            .unwrap_or(i32::MAX)
    }
}

/// GET_PRODUCER_CONNECTION_LIST (204) response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    pub connection_set: Vec<Connection>,
}

/// INVOKE_BROKER_TO_RESET_OFFSET (222) response and RESET_CONSUMER_CLIENT_OFFSET (220) body:
/// queue → the offset it was reset to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResetOffsetBody {
    #[serde(with = "mq_key_map")]
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

impl ResetOffsetBody {
    /// The form rocketmq-client-cpp reads (`ResetOffsetBody::Decode`): `offsetTable` as an
    /// array of `{brokerName, queueId, topic, offset}`. Its JSON reader cannot parse the
    /// object keys Java writes, so a Java broker's reset never reaches a C++ consumer.
    pub fn to_cpp_json(&self) -> Vec<u8> {
        let table: Vec<serde_json::Value> = self
            .offset_table
            .iter()
            .map(|(q, offset)| {
                serde_json::json!({
                    "brokerName": q.broker_name,
                    "queueId": q.queue_id,
                    "topic": q.topic,
                    "offset": offset,
                })
            })
            .collect();
        serde_json::to_vec(&serde_json::json!({ "offsetTable": table })).unwrap_or_default()
    }
}

/// QUERY_TOPIC_CONSUME_BY_WHO (300) response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupList {
    pub group_list: BTreeSet<String>,
}

/// One queue as a push consumer holds it (`ProcessQueueInfo`, a value of
/// [`ConsumerRunningInfo::mq_table`]). Fields in fastjson's order. The C++ SDK writes the
/// 64-bit figures as strings (unsigned: `-1` arrives as 18446744073709551615); both read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProcessQueueInfo {
    #[serde(deserialize_with = "super::lenient::i32_or_string")]
    pub cached_msg_count: i32,
    #[serde(deserialize_with = "super::lenient::i64_or_string")]
    pub cached_msg_max_offset: i64,
    #[serde(deserialize_with = "super::lenient::i64_or_string")]
    pub cached_msg_min_offset: i64,
    #[serde(
        rename = "cachedMsgSizeInMiB",
        deserialize_with = "super::lenient::i32_or_string"
    )]
    pub cached_msg_size_in_mib: i32,
    /// The offset the member will commit next.
    #[serde(deserialize_with = "super::lenient::i64_or_string")]
    pub commit_offset: i64,
    /// The queue was taken away (rebalance or shutdown). Java ≤ 4.x spells it `droped` and
    /// 5.x `dropped`; Apogee writes both, see [`ProcessQueueInfo::is_dropped`].
    #[serde(deserialize_with = "super::lenient::bool_or_string")]
    pub droped: bool,
    #[serde(deserialize_with = "super::lenient::bool_or_string")]
    pub dropped: bool,
    #[serde(deserialize_with = "super::lenient::i64_or_string")]
    pub last_consume_timestamp: i64,
    #[serde(deserialize_with = "super::lenient::i64_or_string")]
    pub last_lock_timestamp: i64,
    #[serde(deserialize_with = "super::lenient::i64_or_string")]
    pub last_pull_timestamp: i64,
    /// Orderly: the broker lock is held.
    #[serde(deserialize_with = "super::lenient::bool_or_string")]
    pub locked: bool,
    #[serde(deserialize_with = "super::lenient::i32_or_string")]
    pub transaction_msg_count: i32,
    #[serde(deserialize_with = "super::lenient::i64_or_string")]
    pub transaction_msg_max_offset: i64,
    #[serde(deserialize_with = "super::lenient::i64_or_string")]
    pub transaction_msg_min_offset: i64,
    #[serde(deserialize_with = "super::lenient::i64_or_string")]
    pub try_unlock_times: i64,
}

impl ProcessQueueInfo {
    /// Dropped, whichever spelling the writer used.
    pub fn is_dropped(&self) -> bool {
        self.droped || self.dropped
    }
}

/// Per-topic consumption figures of a client (`ConsumeStatus`, a value of
/// [`ConsumerRunningInfo::status_table`]): RTs in ms, TPS per second.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumeStatus {
    #[serde(rename = "consumeFailedMsgs")]
    pub consume_failed_msgs: i64,
    #[serde(rename = "consumeFailedTPS")]
    pub consume_failed_tps: f64,
    #[serde(rename = "consumeOKTPS")]
    pub consume_ok_tps: f64,
    #[serde(rename = "consumeRT")]
    pub consume_rt: f64,
    #[serde(rename = "pullRT")]
    pub pull_rt: f64,
    #[serde(rename = "pullTPS")]
    pub pull_tps: f64,
}

/// GET_CONSUMER_RUNNING_INFO (307) response: what one consumer client reports about one of
/// its groups. Fields in fastjson's order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerRunningInfo {
    /// A Java client's thread dump, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jstack: Option<String>,
    /// POP consumers' queues (`PopProcessQueueInfo`), kept as sent.
    #[serde(with = "mq_key_map")]
    pub mq_pop_table: BTreeMap<MessageQueue, serde_json::Value>,
    #[serde(with = "mq_key_map")]
    pub mq_table: BTreeMap<MessageQueue, ProcessQueueInfo>,
    /// `PROP_*` keys (see the constants on this type) and the consumer's settings. Java writes
    /// some values as non-strings; they are read as their JSON text.
    #[serde(deserialize_with = "scalar_strings")]
    pub properties: BTreeMap<String, String>,
    /// Topic → figures.
    pub status_table: BTreeMap<String, ConsumeStatus>,
    pub subscription_set: Vec<SubscriptionData>,
    pub user_consumer_info: BTreeMap<String, String>,
}

impl ConsumerRunningInfo {
    /// Reads a client's answer. The C++ SDK writes a running info without queues as
    /// `"mqTable":}` (it trims the `{` it opened); that is read as an empty table.
    pub fn decode(body: &[u8]) -> Result<Self, crate::DecodeError> {
        const BROKEN: &[u8] = b"\"mqTable\":}";
        match body.windows(BROKEN.len()).position(|w| w == BROKEN) {
            Some(at) => {
                let mut repaired = Vec::with_capacity(body.len() + 1);
                repaired.extend_from_slice(&body[..at + BROKEN.len() - 1]);
                repaired.extend_from_slice(b"{}");
                repaired.extend_from_slice(&body[at + BROKEN.len()..]);
                super::from_json("ConsumerRunningInfo", &repaired)
            }
            None => super::from_json("ConsumerRunningInfo", body),
        }
    }

    pub const PROP_NAMESERVER_ADDR: &'static str = "PROP_NAMESERVER_ADDR";
    pub const PROP_THREADPOOL_CORE_SIZE: &'static str = "PROP_THREADPOOL_CORE_SIZE";
    /// Java's constant is `PROP_CONSUME_ORDERLY`; the key it writes has no underscore.
    pub const PROP_CONSUME_ORDERLY: &'static str = "PROP_CONSUMEORDERLY";
    /// `CONSUME_PASSIVELY` (push) or `CONSUME_ACTIVELY` (pull).
    pub const PROP_CONSUME_TYPE: &'static str = "PROP_CONSUME_TYPE";
    pub const PROP_CLIENT_VERSION: &'static str = "PROP_CLIENT_VERSION";
    pub const PROP_CONSUMER_START_TIMESTAMP: &'static str = "PROP_CONSUMER_START_TIMESTAMP";
}

/// How a client's listener took a message handed to it by CONSUME_MESSAGE_DIRECTLY (Java's
/// `CMResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumeDirectlyOutcome {
    #[default]
    CrSuccess,
    CrLater,
    CrRollback,
    CrCommit,
    CrThrowException,
    CrReturnNull,
}

/// CONSUME_MESSAGE_DIRECTLY (309) response body (`ConsumeMessageDirectlyResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeMessageDirectlyResult {
    pub auto_commit: bool,
    pub consume_result: ConsumeDirectlyOutcome,
    pub order: bool,
    /// The listener's error, when it failed (fastjson leaves a null out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    pub spent_time_mills: i64,
}

impl Default for ConsumeMessageDirectlyResult {
    fn default() -> Self {
        Self {
            auto_commit: true,
            consume_result: ConsumeDirectlyOutcome::CrSuccess,
            order: false,
            remark: None,
            spent_time_mills: 0,
        }
    }
}

/// A string map whose values may be any JSON scalar (Java `Properties` holding an enum or a
/// number): strings as they are, anything else as its JSON text.
fn scalar_strings<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let raw = BTreeMap::<String, serde_json::Value>::deserialize(deserializer)?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

#[cfg(test)]
#[path = "admin_tests.rs"]
mod tests;
