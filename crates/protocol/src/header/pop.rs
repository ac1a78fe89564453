//! Headers of POP consumption (REMOTING.md §2, codes 200050–200055; field names and which are
//! required verified against RocketMQ 5.x, docs/protocol-notes.md "POP").

use crate::CommandHeader;

/// `initMode`: where a group without a committed offset starts (Java's `ConsumeInitMode`).
pub mod init_mode {
    pub const MIN: i32 = 0;
    pub const MAX: i32 = 1;
}

/// The revive queue id that marks an orderly handle.
pub const ORDER_REVIVE_QUEUE: i32 = 999;

/// POP_MESSAGE (200050). `queueId` < 0 pops every queue.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct PopMessageRequestHeader {
    pub consumer_group: String,
    pub topic: String,
    pub queue_id: i32,
    pub max_msg_nums: i32,
    pub invisible_time: i64,
    pub poll_time: i64,
    pub born_time: i64,
    pub init_mode: i32,
    pub exp_type: Option<String>,
    pub exp: Option<String>,
    pub order: Option<bool>,
    pub attempt_id: Option<String>,
    #[header(rename = "bname")]
    pub broker_name: Option<String>,
}

/// The answer to POP_MESSAGE and PEEK_MESSAGE.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct PopMessageResponseHeader {
    pub pop_time: i64,
    pub invisible_time: i64,
    pub revive_qid: i32,
    pub rest_num: i64,
    pub start_offset_info: Option<String>,
    pub msg_offset_info: Option<String>,
    pub order_count_info: Option<String>,
}

/// ACK_MESSAGE (200051). `topic` is the real topic (the retry topic for a retried message).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct AckMessageRequestHeader {
    pub consumer_group: String,
    pub topic: String,
    pub queue_id: i32,
    pub extra_info: String,
    pub offset: i64,
    #[header(rename = "bname")]
    pub broker_name: Option<String>,
}

/// CHANGE_MESSAGE_INVISIBLETIME (200053).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct ChangeInvisibleTimeRequestHeader {
    pub consumer_group: String,
    pub topic: String,
    pub queue_id: i32,
    pub extra_info: String,
    pub offset: i64,
    pub invisible_time: i64,
    #[header(rename = "bname")]
    pub broker_name: Option<String>,
}

/// The answer to CHANGE_MESSAGE_INVISIBLETIME: the new handle's pop time and invisible time.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct ChangeInvisibleTimeResponseHeader {
    pub pop_time: i64,
    pub invisible_time: i64,
    pub revive_qid: i32,
}

/// PEEK_MESSAGE (200052).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct PeekMessageRequestHeader {
    pub topic: String,
    pub queue_id: i32,
    pub max_msg_nums: i32,
    pub consumer_group: String,
    #[header(rename = "bname")]
    pub broker_name: Option<String>,
}

/// NOTIFICATION (200054).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct NotificationRequestHeader {
    pub consumer_group: String,
    pub topic: String,
    pub queue_id: i32,
    pub poll_time: i64,
    pub born_time: i64,
    pub order: Option<bool>,
    pub attempt_id: Option<String>,
    #[header(rename = "bname")]
    pub broker_name: Option<String>,
}

/// The answer to NOTIFICATION.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct NotificationResponseHeader {
    pub has_msg: bool,
    pub polling_full: Option<bool>,
}

/// POLLING_INFO (200055).
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct PollingInfoRequestHeader {
    pub consumer_group: String,
    pub topic: String,
    pub queue_id: i32,
    #[header(rename = "bname")]
    pub broker_name: Option<String>,
}

/// The answer to POLLING_INFO.
#[derive(Debug, Clone, PartialEq, Eq, CommandHeader)]
pub struct PollingInfoResponseHeader {
    pub polling_num: i32,
}
