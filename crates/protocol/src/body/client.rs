//! Client registration and rebalance bodies (REMOTING.md §3.4, §3.8): HEART_BEAT's
//! `HeartbeatData`, the consumer id list, and the queue-lock bodies. Readers are lenient
//! (every field defaults) because clients of many languages write these.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// A queue of a topic on a broker. Ordered like Java's `MessageQueue.compareTo`: topic, then
/// broker name, then queue id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageQueue {
    pub broker_name: String,
    pub queue_id: i32,
    pub topic: String,
}

impl Ord for MessageQueue {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.topic, &self.broker_name, self.queue_id).cmp(&(
            &other.topic,
            &other.broker_name,
            other.queue_id,
        ))
    }
}

impl PartialOrd for MessageQueue {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// CLUSTERING shares a group's queues among its members; BROADCASTING gives every member all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageModel {
    Broadcasting,
    #[default]
    Clustering,
}

/// One subscription of a consumer group (`SubscriptionData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    pub class_filter_mode: bool,
    pub code_set: BTreeSet<i32>,
    pub expression_type: Option<String>,
    pub sub_string: String,
    pub sub_version: i64,
    pub tags_set: BTreeSet<String>,
    pub topic: String,
}

impl SubscriptionData {
    /// Builds a TAG subscription from an expression like `TagA || TagB` (`*` or empty: all).
    pub fn from_tag_expression(topic: &str, expression: &str, sub_version: i64) -> Self {
        let tags = parse_tag_expression(expression);
        Self {
            class_filter_mode: false,
            code_set: tags
                .iter()
                .map(|t| crate::record::java_string_hash(t))
                .collect(),
            expression_type: Some("TAG".into()),
            sub_string: if tags.is_empty() {
                "*".into()
            } else {
                expression.to_owned()
            },
            sub_version,
            tags_set: tags,
            topic: topic.to_owned(),
        }
    }

    /// True when the subscription takes every tag.
    pub fn matches_all(&self) -> bool {
        self.sub_string.trim().is_empty() || self.sub_string.trim() == "*"
    }

    /// The tag hash codes to match in the consume queue, computed from `tagsSet` (the trimmed
    /// tags) rather than trusted from `codeSet`: some clients hash the untrimmed tag
    /// (`"TagA "` of `"TagA || TagB"`), which would filter out every message. `codeSet` is used
    /// only when a client sent codes without tags.
    pub fn tag_codes(&self) -> BTreeSet<i32> {
        if self.tags_set.is_empty() {
            return self.code_set.clone();
        }
        self.tags_set
            .iter()
            .map(|t| crate::record::java_string_hash(t.trim()))
            .collect()
    }

    /// Whether this is a TAG expression (the only kind without a broker-side filter engine).
    pub fn is_tag_type(&self) -> bool {
        self.expression_type
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case("TAG"))
    }
}

/// Tags of a TAG expression: split on `||`, trimmed, empties dropped; `*` means all (empty set).
pub fn parse_tag_expression(expression: &str) -> BTreeSet<String> {
    let expression = expression.trim();
    if expression.is_empty() || expression == "*" {
        return BTreeSet::new();
    }
    expression
        .split("||")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A consumer group as one client reports it (`ConsumerData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    pub consume_from_where: String,
    /// `CONSUME_ACTIVELY` (pull), `CONSUME_PASSIVELY` (push) or `CONSUME_POP`.
    pub consume_type: String,
    pub group_name: String,
    pub message_model: MessageModel,
    pub subscription_data_set: Vec<SubscriptionData>,
    pub unit_mode: bool,
}

/// A producer group a client belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    pub group_name: String,
}

/// HEART_BEAT (34) body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatData {
    #[serde(rename = "clientID")]
    pub client_id: String,
    pub consumer_data_set: Vec<ConsumerData>,
    pub heartbeat_fingerprint: i32,
    pub producer_data_set: Vec<ProducerData>,
    pub without_sub: bool,
}

/// GET_CONSUMER_LIST_BY_GROUP (38) response body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerIdList {
    pub consumer_id_list: Vec<String>,
}

/// LOCK_BATCH_MQ (41) / UNLOCK_BATCH_MQ (42) request body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchRequestBody {
    pub client_id: String,
    pub consumer_group: String,
    pub mq_set: BTreeSet<MessageQueue>,
    pub only_this_broker: bool,
}

/// LOCK_BATCH_MQ response body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchResponseBody {
    #[serde(rename = "lockOKMQSet")]
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_tag_expression_when_parsed_should_split_trim_and_treat_star_as_all() {
        assert_eq!(
            parse_tag_expression(" TagA ||TagB|| "),
            ["TagA", "TagB"].map(String::from).into()
        );
        assert!(parse_tag_expression("*").is_empty());
        let sub = SubscriptionData::from_tag_expression("T", "TagA || TagB", 1);
        assert!(
            sub.code_set
                .contains(&crate::record::java_string_hash("TagA"))
        );
        assert!(!sub.matches_all());
        assert!(SubscriptionData::from_tag_expression("T", "*", 1).matches_all());
    }

    #[test]
    fn given_codes_hashed_from_untrimmed_tags_should_match_by_the_trimmed_tags() {
        let sub = SubscriptionData {
            code_set: [crate::record::java_string_hash("TagA ")].into(),
            tags_set: ["TagA".to_owned()].into(),
            sub_string: "TagA || TagB".into(),
            ..SubscriptionData::default()
        };
        assert_eq!(
            sub.tag_codes(),
            [crate::record::java_string_hash("TagA")].into()
        );
        let codes_only = SubscriptionData {
            code_set: [7].into(),
            sub_string: "x".into(),
            ..SubscriptionData::default()
        };
        assert_eq!(codes_only.tag_codes(), [7].into());
    }

    #[test]
    fn given_java_heartbeat_json_should_decode_with_defaults_for_missing_fields() {
        let json = br#"{"clientID":"10.0.0.1@123#456","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"g","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","subVersion":1,"tagsSet":["TagA"],"topic":"T"}],"unitMode":false}],"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}]}"#;
        let hb: HeartbeatData = crate::body::from_json("HeartbeatData", json).unwrap();
        assert_eq!(hb.client_id, "10.0.0.1@123#456");
        assert_eq!(
            hb.consumer_data_set[0].message_model,
            MessageModel::Clustering
        );
        assert_eq!(hb.consumer_data_set[0].subscription_data_set[0].topic, "T");
        assert_eq!(hb.producer_data_set[0].group_name, "CLIENT_INNER_PRODUCER");
    }

    #[test]
    fn given_lock_response_should_use_java_key_name() {
        let body = LockBatchResponseBody {
            lock_ok_mq_set: [MessageQueue {
                topic: "T".into(),
                broker_name: "b".into(),
                queue_id: 1,
            }]
            .into(),
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"lockOKMQSet":[{"brokerName":"b","queueId":1,"topic":"T"}]}"#
        );
    }
}
