//! `TopicConfig`: a topic's queue counts, permission and flags as a broker holds them, with
//! the JSON field names of RocketMQ's `topics.json` and registration bodies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Perm, TopicName};

/// How tags of a topic are filtered; only the name travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TopicFilterType {
    #[default]
    SingleTag,
    MultiTag,
}

impl TopicFilterType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SingleTag => "SINGLE_TAG",
            Self::MultiTag => "MULTI_TAG",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "SINGLE_TAG" => Some(Self::SingleTag),
            "MULTI_TAG" => Some(Self::MultiTag),
            _ => None,
        }
    }
}

/// One topic's configuration on one broker. Defaults are RocketMQ's (16/16 queues, perm 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfig {
    /// Keys are written in fastjson's alphabetical order by declaring fields in that order.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub order: bool,
    #[serde(default = "default_perm")]
    pub perm: i32,
    #[serde(default = "default_queue_nums")]
    pub read_queue_nums: i32,
    #[serde(default)]
    pub topic_filter_type: TopicFilterType,
    pub topic_name: TopicName,
    #[serde(default)]
    pub topic_sys_flag: i32,
    #[serde(default = "default_queue_nums")]
    pub write_queue_nums: i32,
}

/// RocketMQ's default queue count for a new topic.
pub const DEFAULT_QUEUE_NUMS: i32 = 16;

fn default_perm() -> i32 {
    Perm::READ_WRITE.0
}

fn default_queue_nums() -> i32 {
    DEFAULT_QUEUE_NUMS
}

impl TopicConfig {
    /// A topic with RocketMQ's defaults.
    pub fn new(topic_name: TopicName) -> Self {
        Self {
            attributes: BTreeMap::new(),
            order: false,
            perm: default_perm(),
            read_queue_nums: DEFAULT_QUEUE_NUMS,
            topic_filter_type: TopicFilterType::SingleTag,
            topic_name,
            topic_sys_flag: 0,
            write_queue_nums: DEFAULT_QUEUE_NUMS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_java_topic_config_json_when_parsed_should_fill_defaults() {
        let json = r#"{"topicName":"T","readQueueNums":4,"writeQueueNums":4,"perm":6,"topicFilterType":"SINGLE_TAG","topicSysFlag":0,"order":false,"extra":1}"#;
        let tc: TopicConfig = serde_json::from_str(json).unwrap();
        assert_eq!(tc.read_queue_nums, 4);
        assert_eq!(tc.topic_name.as_str(), "T");
        assert!(tc.attributes.is_empty());
    }

    #[test]
    fn given_topic_config_when_serialised_should_write_alphabetical_keys() {
        let tc = TopicConfig::new(TopicName::new("T").unwrap());
        assert_eq!(
            serde_json::to_string(&tc).unwrap(),
            r#"{"attributes":{},"order":false,"perm":6,"readQueueNums":16,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":16}"#
        );
    }
}
