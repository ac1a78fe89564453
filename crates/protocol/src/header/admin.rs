//! Headers of the broker administration requests (REMOTING.md §2.2 "Administration codes",
//! §3.8, §3.9): topics, subscription groups, statistics, connections and offset resets.
//! GET_ALL_TOPIC_CONFIG (21) and GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201) take no header.

use std::collections::BTreeMap;

use crate::CommandHeader;

/// UPDATE_AND_CREATE_TOPIC (17).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct CreateTopicRequestHeader {
    pub topic: String,
    /// The auto-create template (`TBW102`); Java requires it but the broker ignores it.
    pub default_topic: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    /// `SINGLE_TAG` or `MULTI_TAG`.
    pub topic_filter_type: String,
    pub topic_sys_flag: Option<i32>,
    pub order: bool,
    /// Attribute changes, `+key=value,+key2=value2,-key3`; see [`parse_attribute_changes`].
    pub attributes: Option<String>,
    /// Only meaningful for static topics in Java.
    pub force: Option<bool>,
}

/// DELETE_TOPIC_IN_BROKER (215). Java's header has only `topic`; `force` is Apogee's: without
/// it the broker refuses to delete a topic that online clients still use.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct DeleteTopicRequestHeader {
    pub topic: String,
    pub force: Option<bool>,
}

/// GET_TOPIC_CONFIG (351): one topic's config. Clients also send `lo=true` (logic queues),
/// which Apogee has none of.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetTopicConfigRequestHeader {
    pub topic: String,
    pub lo: Option<bool>,
}

/// GET_SUBSCRIPTIONGROUP_CONFIG (352): one group's config.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetSubscriptionGroupConfigRequestHeader {
    pub group: String,
}

/// QUERY_CONSUME_TIME_SPAN (303).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct QueryConsumeTimeSpanRequestHeader {
    pub topic: String,
    pub group: String,
}

/// QUERY_CONSUME_QUEUE (321): `count` units from `index` of one queue, judged against the
/// subscription of `consumerGroup` when given.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct QueryConsumeQueueRequestHeader {
    pub topic: String,
    pub queue_id: i32,
    pub index: i64,
    pub count: i32,
    pub consumer_group: Option<String>,
}

/// QUERY_TOPICS_BY_CONSUMER (343).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct QueryTopicsByConsumerRequestHeader {
    pub group: String,
}

/// DELETE_SUBSCRIPTIONGROUP (207).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct DeleteSubscriptionGroupRequestHeader {
    pub group_name: String,
    /// Also forget the group's committed offsets (Java default false).
    pub clean_offset: Option<bool>,
}

/// GET_CONSUME_STATS (208).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetConsumeStatsRequestHeader {
    pub consumer_group: String,
    /// Absent or blank: every topic the group has committed offsets for.
    pub topic: Option<String>,
}

/// GET_TOPIC_STATS_INFO (202).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetTopicStatsInfoRequestHeader {
    pub topic: String,
}

/// GET_CONSUMER_CONNECTION_LIST (203).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetConsumerConnectionListRequestHeader {
    pub consumer_group: String,
}

/// GET_PRODUCER_CONNECTION_LIST (204).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetProducerConnectionListRequestHeader {
    pub producer_group: String,
}

/// INVOKE_BROKER_TO_RESET_OFFSET (222) and RESET_CONSUMER_CLIENT_OFFSET (220).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct ResetOffsetRequestHeader {
    pub topic: String,
    pub group: String,
    /// Java's `int queueId = -1`: absent or negative means every queue of the topic.
    pub queue_id: Option<i32>,
    /// Target offset for the one queue named by `queue_id`; absent or -1: use `timestamp`.
    pub offset: Option<i64>,
    /// Store time to rewind or advance to; -1 means the end of each queue.
    pub timestamp: i64,
    pub is_force: bool,
}

impl ResetOffsetRequestHeader {
    /// The single queue to reset, or `None` for all of them.
    pub fn single_queue(&self) -> Option<i32> {
        self.queue_id.filter(|q| *q >= 0)
    }

    /// The explicit target offset, when one was given (Java treats -1 as none).
    pub fn explicit_offset(&self) -> Option<i64> {
        self.offset.filter(|o| *o != -1)
    }
}

/// QUERY_TOPIC_CONSUME_BY_WHO (300).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct QueryTopicConsumeByWhoRequestHeader {
    pub topic: String,
}

/// CLONE_GROUP_OFFSET (314): copy `src_group`'s committed offsets to `dest_group`.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct CloneGroupOffsetRequestHeader {
    pub src_group: String,
    pub dest_group: String,
    /// Absent or blank: every topic `src_group` has offsets for.
    pub topic: Option<String>,
    /// When false, topics the online `src_group` does not subscribe to are skipped. Java
    /// always sends it (a primitive boolean); absent reads as false.
    pub offline: Option<bool>,
}

/// GET_CONSUMER_RUNNING_INFO (307), sent by admin tools to a broker and relayed by the broker
/// to the client.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetConsumerRunningInfoRequestHeader {
    pub consumer_group: String,
    pub client_id: String,
    /// Ask a Java client for its thread dump (`jstack`); Apogee clients send none.
    pub jstack_enable: Option<bool>,
}

/// CONSUME_MESSAGE_DIRECTLY (309): an admin tool asks the broker holding a message to have one
/// consumer client run its listener on it. The broker adds `brokerName` (and the flags) and
/// replaces the body with the stored message before relaying it to the client.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct ConsumeMessageDirectlyResultRequestHeader {
    pub consumer_group: String,
    pub client_id: Option<String>,
    /// The message's offset message id (store host + CommitLog offset).
    pub msg_id: Option<String>,
    /// Set by the broker when relaying.
    pub broker_name: Option<String>,
    pub topic: Option<String>,
    pub topic_sys_flag: Option<i32>,
    pub group_sys_flag: Option<i32>,
}

/// UPDATE_AND_GET_GROUP_FORBIDDEN (353): with `readable`, forbid (false) or allow (true) the
/// group to pull the topic; without it, only ask.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct UpdateGroupForbiddenRequestHeader {
    pub group: String,
    pub topic: String,
    pub readable: Option<bool>,
}

/// VIEW_BROKER_STATS_DATA (315): one stats item, e.g. `TOPIC_PUT_NUMS` / `<topic>` or
/// `GROUP_GET_NUMS` / `<topic>@<group>`.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct ViewBrokerStatsDataRequestHeader {
    pub stats_name: String,
    pub stats_key: String,
}

/// GET_BROKER_CONSUME_STATS (317): every group's consume stats; `isOrder` keeps only ordered
/// topics.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetConsumeStatsInBrokerHeader {
    pub is_order: bool,
}

/// GET_BROKER_CONFIG (26) response header.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetBrokerConfigResponseHeader {
    /// The config's `DataVersion` as JSON text (`{"counter":1,"stateVersion":0,"timestamp":…}`).
    pub version: String,
}

/// Why an attribute change list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributeError {
    #[error("add/alter attribute format is wrong: {0}")]
    BadAdd(String),
    #[error("delete attribute format is wrong: {0}")]
    BadDelete(String),
    #[error("kv string format wrong.")]
    BadKey,
    #[error("alter duplication key. key: {0}")]
    Duplicate(String),
}

/// Parses `CreateTopicRequestHeader.attributes` (Java's `AttributeParser.parseToMap`):
/// comma-separated `+key=value` (add or alter) and `-key` (delete) items. Returns key →
/// `Some(value)` to set or `None` to delete. Empty input means no change.
pub fn parse_attribute_changes(
    text: &str,
) -> Result<BTreeMap<String, Option<String>>, AttributeError> {
    let mut changes = BTreeMap::new();
    for item in text.split(',').filter(|item| !item.is_empty()) {
        let (key, change) = match item.split_once('=') {
            Some((signed, value)) => {
                let key = signed
                    .strip_prefix('+')
                    .ok_or_else(|| AttributeError::BadAdd(signed.to_owned()))?;
                (key, Some(value.to_owned()))
            }
            None => {
                let key = item
                    .strip_prefix('-')
                    .ok_or_else(|| AttributeError::BadDelete(item.to_owned()))?;
                (key, None)
            }
        };
        if key.is_empty() || key.contains(['+', '-']) {
            return Err(AttributeError::BadKey);
        }
        if changes.insert(key.to_owned(), change).is_some() {
            return Err(AttributeError::Duplicate(key.to_owned()));
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ExtFields, HeaderError};

    #[test]
    fn given_attribute_text_should_split_adds_and_deletes() {
        let changes =
            parse_attribute_changes("+message.type=FIFO,-queue.type,+cleanup.policy=DELETE")
                .unwrap();
        assert_eq!(changes["message.type"].as_deref(), Some("FIFO"));
        assert_eq!(changes["queue.type"], None);
        assert_eq!(changes.len(), 3);
        assert!(parse_attribute_changes("").unwrap().is_empty());
        assert_eq!(
            parse_attribute_changes("message.type=FIFO"),
            Err(AttributeError::BadAdd("message.type".into()))
        );
        assert_eq!(
            parse_attribute_changes("queue.type"),
            Err(AttributeError::BadDelete("queue.type".into()))
        );
        assert_eq!(
            parse_attribute_changes("+a=1,-a"),
            Err(AttributeError::Duplicate("a".into()))
        );
        assert_eq!(parse_attribute_changes("+=1"), Err(AttributeError::BadKey));
    }

    #[test]
    fn given_clone_and_running_info_headers_should_use_java_keys() {
        let mut ext = ExtFields::new();
        CloneGroupOffsetRequestHeader {
            src_group: "A".into(),
            dest_group: "B".into(),
            topic: None,
            offline: Some(false),
        }
        .write_ext_fields(&mut ext);
        assert_eq!(
            ext.keys().collect::<Vec<_>>(),
            ["destGroup", "offline", "srcGroup"]
        );
        ext.remove("offline");
        let h = CloneGroupOffsetRequestHeader::from_ext_fields(&ext).unwrap();
        assert_eq!((h.topic, h.offline), (None, None));
        let mut ext = ExtFields::new();
        GetConsumerRunningInfoRequestHeader {
            consumer_group: "G".into(),
            client_id: "c".into(),
            jstack_enable: Some(false),
        }
        .write_ext_fields(&mut ext);
        assert_eq!(
            ext.keys().collect::<Vec<_>>(),
            ["clientId", "consumerGroup", "jstackEnable"]
        );
    }

    #[test]
    fn given_4x_reset_header_without_queue_should_mean_every_queue() {
        let mut ext = ExtFields::new();
        for (k, v) in [
            ("topic", "T"),
            ("group", "G"),
            ("timestamp", "-1"),
            ("isForce", "false"),
        ] {
            ext.insert(k, v);
        }
        let h = ResetOffsetRequestHeader::from_ext_fields(&ext).unwrap();
        assert_eq!((h.single_queue(), h.explicit_offset()), (None, None));
        ext.insert("queueId", "2");
        ext.insert("offset", "-1");
        let h = ResetOffsetRequestHeader::from_ext_fields(&ext).unwrap();
        assert_eq!((h.single_queue(), h.explicit_offset()), (Some(2), None));
        ext.remove("isForce");
        assert_eq!(
            ResetOffsetRequestHeader::from_ext_fields(&ext),
            Err(HeaderError::Missing("isForce"))
        );
    }
}
