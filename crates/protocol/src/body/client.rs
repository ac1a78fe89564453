//! Client registration and rebalance bodies (REMOTING.md §3.4, §3.8): HEART_BEAT's
//! `HeartbeatData`, the consumer id list, and the queue-lock bodies. Readers are as lenient as
//! fastjson (every field defaults; enums by name or ordinal; numbers as numbers or strings; see
//! `body::lenient`) because clients of many languages write these: the C++ SDK sends enum
//! ordinals and a string `subVersion`, the Go SDK string `codeSet`s.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::lenient;

/// A queue of a topic on a broker. Ordered like Java's `MessageQueue.compareTo`: topic, then
/// broker name, then queue id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
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
/// Read by name (any case) or ordinal (C++ writes `0`/`1`); an unknown value reads as
/// CLUSTERING.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageModel {
    Broadcasting,
    #[default]
    Clustering,
}

impl<'de> Deserialize<'de> for MessageModel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match lenient::enum_name(d, lenient::MESSAGE_MODELS)? {
            Some("BROADCASTING") => MessageModel::Broadcasting,
            _ => MessageModel::Clustering,
        })
    }
}

/// One subscription of a consumer group (`SubscriptionData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    #[serde(deserialize_with = "lenient::bool_or_string")]
    pub class_filter_mode: bool,
    #[serde(deserialize_with = "lenient::int_set")]
    pub code_set: BTreeSet<i32>,
    pub expression_type: Option<String>,
    #[serde(deserialize_with = "lenient::string_or_null")]
    pub sub_string: String,
    #[serde(deserialize_with = "lenient::i64_or_string")]
    pub sub_version: i64,
    pub tags_set: BTreeSet<String>,
    #[serde(deserialize_with = "lenient::string_or_null")]
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
    /// The name of a `ConsumeFromWhere` constant (ordinals are read as their names); empty
    /// when unknown.
    #[serde(deserialize_with = "lenient::consume_from_where")]
    pub consume_from_where: String,
    /// `CONSUME_ACTIVELY` (pull), `CONSUME_PASSIVELY` (push) or `CONSUME_POP`.
    #[serde(deserialize_with = "lenient::consume_type")]
    pub consume_type: String,
    #[serde(deserialize_with = "lenient::string_or_null")]
    pub group_name: String,
    pub message_model: MessageModel,
    pub subscription_data_set: Vec<SubscriptionData>,
    #[serde(deserialize_with = "lenient::bool_or_string")]
    pub unit_mode: bool,
}

/// A producer group a client belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    #[serde(deserialize_with = "lenient::string_or_null")]
    pub group_name: String,
}

/// HEART_BEAT (34) body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatData {
    #[serde(rename = "clientID", deserialize_with = "lenient::string_or_null")]
    pub client_id: String,
    pub consumer_data_set: Vec<ConsumerData>,
    #[serde(deserialize_with = "lenient::i32_or_string")]
    pub heartbeat_fingerprint: i32,
    pub producer_data_set: Vec<ProducerData>,
    #[serde(deserialize_with = "lenient::bool_or_string")]
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
    #[serde(deserialize_with = "lenient::string_or_null")]
    pub client_id: String,
    #[serde(deserialize_with = "lenient::string_or_null")]
    pub consumer_group: String,
    pub mq_set: BTreeSet<MessageQueue>,
    #[serde(deserialize_with = "lenient::bool_or_string")]
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

    /// What each SDK sends, as `docs/protocol-notes.md` records it: Java (names, numbers), C++
    /// master (ordinals, a string `subVersion`, `codeSet` of `atoi(tag)`, keys left out, a
    /// trailing newline), Go v2 (string `codeSet`, a nanosecond `subVersion`, `UNKNOWN`), the
    /// Rust SDK's nulls.
    #[test]
    fn given_heartbeats_of_every_sdk_should_decode_to_the_same_registration() {
        let java = br#"{"clientID":"c@1","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"g","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","subVersion":1700000000000,"tagsSet":["TagA"],"topic":"T"}],"unitMode":false}],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"pg"}],"withoutSub":false}"#;
        let cpp = b"{\"clientID\":\"c@1\",\"consumerDataSet\":[{\"consumeFromWhere\":0,\"consumeType\":1,\"groupName\":\"g\",\"messageModel\":1,\"subscriptionDataSet\":[{\"codeSet\":[0],\"subString\":\"TagA\",\"subVersion\":\"1700000000000\",\"tagsSet\":[\"TagA\"],\"topic\":\"T\"}]}],\"producerDataSet\":[{\"groupName\":\"pg\"}]}\n";
        let go = br#"{"clientID":"c@1","producerDataSet":[{"groupName":"pg"}],"consumerDataSet":[{"groupName":"g","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"classFilterMode":false,"topic":"T","subString":"TagA","tagsSet":["TagA"],"codeSet":["2598919"],"subVersion":1700000000000000000,"expressionType":"TAG"}],"unitMode":false}]}"#;
        for (sdk, json) in [("java", &java[..]), ("cpp", &cpp[..]), ("go", &go[..])] {
            let hb: HeartbeatData = crate::body::from_json("HeartbeatData", json)
                .unwrap_or_else(|e| panic!("{sdk}: {e}"));
            assert_eq!(hb.client_id, "c@1", "{sdk}");
            let consumer = &hb.consumer_data_set[0];
            assert_eq!(consumer.consume_type, "CONSUME_PASSIVELY", "{sdk}");
            assert_eq!(
                consumer.consume_from_where, "CONSUME_FROM_LAST_OFFSET",
                "{sdk}"
            );
            assert_eq!(consumer.message_model, MessageModel::Clustering, "{sdk}");
            let sub = &consumer.subscription_data_set[0];
            assert_eq!(sub.topic, "T", "{sdk}");
            assert!(
                sub.is_tag_type(),
                "{sdk}: a missing expressionType means TAG"
            );
            assert_eq!(
                sub.tag_codes(),
                [crate::record::java_string_hash("TagA")].into(),
                "{sdk}: the codes come from the tags"
            );
            assert_eq!(hb.producer_data_set[0].group_name, "pg", "{sdk}");
        }
        let go_codes: HeartbeatData = crate::body::from_json("HeartbeatData", go).unwrap();
        assert_eq!(
            go_codes.consumer_data_set[0].subscription_data_set[0].code_set,
            [2_598_919].into(),
            "string codes read as numbers"
        );
        let odd = br#"{"clientID":null,"consumerDataSet":[{"consumeFromWhere":"UNKNOWN","consumeType":0,"groupName":"g","messageModel":"broadcasting","subscriptionDataSet":[],"unitMode":"1"}],"heartbeatFingerprint":"7","withoutSub":"true"}"#;
        let hb: HeartbeatData = crate::body::from_json("HeartbeatData", odd).unwrap();
        assert_eq!(hb.client_id, "");
        let consumer = &hb.consumer_data_set[0];
        assert_eq!(
            consumer.consume_from_where, "",
            "an unknown name reads as none"
        );
        assert_eq!(consumer.consume_type, "CONSUME_ACTIVELY");
        assert_eq!(consumer.message_model, MessageModel::Broadcasting);
        assert!(consumer.unit_mode && hb.without_sub);
        assert_eq!(hb.heartbeat_fingerprint, 7);
        for ordinal in 0..6 {
            let json = format!(r#"{{"consumerDataSet":[{{"consumeFromWhere":{ordinal}}}]}}"#);
            let hb: HeartbeatData =
                crate::body::from_json("HeartbeatData", json.as_bytes()).unwrap();
            assert_eq!(
                hb.consumer_data_set[0].consume_from_where,
                crate::body::lenient::CONSUME_FROM_WHERE[ordinal]
            );
        }
        let out_of_range = br#"{"consumerDataSet":[{"consumeType":9,"messageModel":7}]}"#;
        let hb: HeartbeatData = crate::body::from_json("HeartbeatData", out_of_range).unwrap();
        assert_eq!(hb.consumer_data_set[0].consume_type, "");
        assert_eq!(
            hb.consumer_data_set[0].message_model,
            MessageModel::Clustering
        );
    }

    #[test]
    fn given_lock_bodies_of_every_sdk_should_decode() {
        let cpp = b"{\"clientId\":\"c@1\",\"consumerGroup\":\"g\",\"mqSet\":[{\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"T\"}]}\n";
        let rust = br#"{"clientId":null,"consumerGroup":"g","mqSet":[],"onlyThisBroker":false}"#;
        let body: LockBatchRequestBody = crate::body::from_json("lock", cpp).unwrap();
        assert_eq!((body.client_id.as_str(), body.mq_set.len()), ("c@1", 1));
        let body: LockBatchRequestBody = crate::body::from_json("lock", rust).unwrap();
        assert_eq!(
            (body.client_id.as_str(), body.consumer_group.as_str()),
            ("", "g")
        );
    }
}
