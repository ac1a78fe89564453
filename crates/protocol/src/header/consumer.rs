//! Headers of the consumer-facing broker requests (REMOTING.md §3.3–3.6): offsets, queries,
//! client registration, send-back.

use crate::CommandHeader;

/// QUERY_CONSUMER_OFFSET (14).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct QueryConsumerOffsetRequestHeader {
    pub consumer_group: String,
    pub topic: String,
    pub queue_id: i32,
    pub set_zero_if_not_found: Option<bool>,
    #[header(rename = "bname")]
    pub broker_name: Option<String>,
}

/// UPDATE_CONSUMER_OFFSET (15).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct UpdateConsumerOffsetRequestHeader {
    pub consumer_group: String,
    pub topic: String,
    pub queue_id: i32,
    pub commit_offset: i64,
    #[header(rename = "bname")]
    pub broker_name: Option<String>,
}

/// The `offset` answer of QUERY_CONSUMER_OFFSET, GET_MAX/MIN_OFFSET and SEARCH_OFFSET_BY_TIMESTAMP.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct OffsetResponseHeader {
    pub offset: i64,
}

/// GET_MAX_OFFSET (30).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetMaxOffsetRequestHeader {
    pub topic: String,
    pub queue_id: i32,
    pub committed: Option<bool>,
    #[header(rename = "bname")]
    pub broker_name: Option<String>,
}

/// GET_MIN_OFFSET (31) and GET_EARLIEST_MSG_STORETIME (32).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct QueueRequestHeader {
    pub topic: String,
    pub queue_id: i32,
    #[header(rename = "bname")]
    pub broker_name: Option<String>,
}

/// SEARCH_OFFSET_BY_TIMESTAMP (29).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct SearchOffsetRequestHeader {
    pub topic: String,
    pub queue_id: i32,
    pub timestamp: i64,
    /// `LOWER` (default) or `UPPER`, case-insensitive.
    pub boundary_type: Option<String>,
    #[header(rename = "bname")]
    pub broker_name: Option<String>,
}

/// GET_EARLIEST_MSG_STORETIME response.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct GetEarliestMsgStoretimeResponseHeader {
    pub timestamp: i64,
}

/// UNREGISTER_CLIENT (35).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct UnregisterClientRequestHeader {
    #[header(rename = "clientID")]
    pub client_id: String,
    pub producer_group: Option<String>,
    pub consumer_group: Option<String>,
}

/// GET_CONSUMER_LIST_BY_GROUP (38) and NOTIFY_CONSUMER_IDS_CHANGED (40).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct ConsumerGroupHeader {
    pub consumer_group: String,
}

/// CONSUMER_SEND_MSG_BACK (36).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct ConsumerSendMsgBackRequestHeader {
    /// CommitLog offset of the failed message.
    pub offset: i64,
    pub group: String,
    /// 0: the broker picks `3 + reconsumeTimes`; < 0: straight to the DLQ.
    pub delay_level: i32,
    pub origin_msg_id: Option<String>,
    pub origin_topic: Option<String>,
    pub unit_mode: Option<bool>,
    pub max_reconsume_times: Option<i32>,
    #[header(rename = "bname")]
    pub broker_name: Option<String>,
}

/// QUERY_MESSAGE (12).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct QueryMessageRequestHeader {
    pub topic: String,
    pub key: String,
    pub max_num: i32,
    pub begin_timestamp: i64,
    pub end_timestamp: i64,
}

/// QUERY_MESSAGE response.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct QueryMessageResponseHeader {
    pub index_last_update_timestamp: i64,
    pub index_last_update_phyoffset: i64,
}

/// VIEW_MESSAGE_BY_ID (33): `offset` is a CommitLog offset.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct ViewMessageRequestHeader {
    pub topic: Option<String>,
    pub offset: i64,
}
