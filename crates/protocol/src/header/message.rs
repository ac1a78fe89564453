//! Send and pull headers (REMOTING.md §3.1, §3.2). Topic and group names stay `String` here:
//! the broker validates them and answers INVALID_PARAMETER, as Java does, instead of failing
//! the decode.

use crate::CommandHeader;

/// SEND_MESSAGE (10) / SEND_REPLY_MESSAGE (324): long field names.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct SendMessageRequestHeader {
    pub producer_group: String,
    pub topic: String,
    pub default_topic: String,
    pub default_topic_queue_nums: i32,
    pub queue_id: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub flag: i32,
    pub properties: Option<String>,
    pub reconsume_times: Option<i32>,
    pub unit_mode: Option<bool>,
    pub max_reconsume_times: Option<i32>,
    pub batch: Option<bool>,
    /// Target broker name (base key `bname`).
    #[header(rename = "bname")]
    pub broker_name: Option<String>,
}

/// SEND_MESSAGE_V2 (310) / SEND_BATCH_MESSAGE (320) / SEND_REPLY_MESSAGE_V2 (325): one-letter keys.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct SendMessageRequestHeaderV2 {
    #[header(rename = "a")]
    pub producer_group: String,
    #[header(rename = "b")]
    pub topic: String,
    #[header(rename = "c")]
    pub default_topic: String,
    #[header(rename = "d")]
    pub default_topic_queue_nums: i32,
    #[header(rename = "e")]
    pub queue_id: i32,
    #[header(rename = "f")]
    pub sys_flag: i32,
    #[header(rename = "g")]
    pub born_timestamp: i64,
    #[header(rename = "h")]
    pub flag: i32,
    #[header(rename = "i")]
    pub properties: Option<String>,
    #[header(rename = "j")]
    pub reconsume_times: Option<i32>,
    #[header(rename = "k")]
    pub unit_mode: Option<bool>,
    #[header(rename = "l")]
    pub max_reconsume_times: Option<i32>,
    #[header(rename = "m")]
    pub batch: Option<bool>,
    #[header(rename = "n")]
    pub broker_name: Option<String>,
}

impl From<SendMessageRequestHeaderV2> for SendMessageRequestHeader {
    fn from(v2: SendMessageRequestHeaderV2) -> Self {
        Self {
            producer_group: v2.producer_group,
            topic: v2.topic,
            default_topic: v2.default_topic,
            default_topic_queue_nums: v2.default_topic_queue_nums,
            queue_id: v2.queue_id,
            sys_flag: v2.sys_flag,
            born_timestamp: v2.born_timestamp,
            flag: v2.flag,
            properties: v2.properties,
            reconsume_times: v2.reconsume_times,
            unit_mode: v2.unit_mode,
            max_reconsume_times: v2.max_reconsume_times,
            batch: v2.batch,
            broker_name: v2.broker_name,
        }
    }
}

impl From<SendMessageRequestHeader> for SendMessageRequestHeaderV2 {
    fn from(v1: SendMessageRequestHeader) -> Self {
        Self {
            producer_group: v1.producer_group,
            topic: v1.topic,
            default_topic: v1.default_topic,
            default_topic_queue_nums: v1.default_topic_queue_nums,
            queue_id: v1.queue_id,
            sys_flag: v1.sys_flag,
            born_timestamp: v1.born_timestamp,
            flag: v1.flag,
            properties: v1.properties,
            reconsume_times: v1.reconsume_times,
            unit_mode: v1.unit_mode,
            max_reconsume_times: v1.max_reconsume_times,
            batch: v1.batch,
            broker_name: v1.broker_name,
        }
    }
}

/// Response to every send code.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct SendMessageResponseHeader {
    pub msg_id: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub transaction_id: Option<String>,
    pub batch_uniq_id: Option<String>,
    pub recall_handle: Option<String>,
}

/// PULL_MESSAGE (11) / LITE_PULL_MESSAGE (361).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct PullMessageRequestHeader {
    pub consumer_group: String,
    pub topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub max_msg_nums: i32,
    pub sys_flag: i32,
    pub commit_offset: i64,
    pub suspend_timeout_millis: i64,
    pub subscription: Option<String>,
    pub sub_version: i64,
    pub expression_type: Option<String>,
    pub max_msg_bytes: Option<i32>,
    pub request_source: Option<i32>,
    /// Misspelled as in Java.
    #[header(rename = "proxyFrowardClientId")]
    pub proxy_forward_client_id: Option<String>,
    #[header(rename = "bname")]
    pub broker_name: Option<String>,
}

/// `PullSysFlag` bits.
pub mod pull_sys_flag {
    pub const COMMIT_OFFSET: i32 = 0x1;
    pub const SUSPEND: i32 = 0x2;
    pub const SUBSCRIPTION: i32 = 0x4;
    pub const CLASS_FILTER: i32 = 0x8;
    pub const LITE_PULL_MESSAGE: i32 = 0x10;
}

/// PULL_MESSAGE response.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct PullMessageResponseHeader {
    pub suggest_which_broker_id: i64,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    pub offset_delta: Option<i64>,
    pub topic_sys_flag: Option<i32>,
    pub group_sys_flag: Option<i32>,
    pub forbidden_type: Option<i32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExtFields;

    #[test]
    fn given_v2_send_header_should_use_one_letter_keys_and_convert_to_v1() {
        let v2 = SendMessageRequestHeaderV2 {
            producer_group: "pg".into(),
            topic: "T".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 1,
            sys_flag: 0,
            born_timestamp: 5,
            flag: 0,
            properties: Some("UNIQ_KEY\u{1}X\u{2}".into()),
            reconsume_times: None,
            unit_mode: Some(false),
            max_reconsume_times: None,
            batch: Some(false),
            broker_name: None,
        };
        let mut ext = ExtFields::new();
        v2.write_ext_fields(&mut ext);
        let keys: String = ext.keys().collect();
        assert_eq!(keys, "abcdefghikm");
        let v1 = SendMessageRequestHeader::from(v2.clone());
        assert_eq!(v1.topic, "T");
        assert_eq!(SendMessageRequestHeaderV2::from(v1), v2);
    }

    #[test]
    fn given_pull_header_should_keep_javas_misspelled_key() {
        assert!(
            PullMessageRequestHeader::FIELDS
                .iter()
                .any(|f| f.key == "proxyFrowardClientId")
        );
        assert!(
            PullMessageRequestHeader::FIELDS
                .iter()
                .any(|f| f.key == "suspendTimeoutMillis" && f.required)
        );
    }
}
