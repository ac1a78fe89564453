//! Messages as users build them ([`Message`]) and receive them ([`MessageExt`]), plus send
//! outcomes. Property keys are RocketMQ's (`MessageConst`, REMOTING.md §4.2).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::SocketAddr;

use apogee_protocol::body::client::MessageQueue;
use apogee_protocol::message_id::offset_msg_id;
use apogee_protocol::record::{StoredRecord, parse_properties, sys_flag};
use bytes::Bytes;

/// Well-known property keys.
pub mod property {
    pub const KEYS: &str = "KEYS";
    pub const TAGS: &str = "TAGS";
    pub const WAIT: &str = "WAIT";
    pub const DELAY: &str = "DELAY";
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    pub const REAL_QID: &str = "REAL_QID";
    pub const TRAN_MSG: &str = "TRAN_MSG";
    pub const PGROUP: &str = "PGROUP";
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
    pub const TRANSACTION_ID: &str = "__transactionId__";
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    pub const SHARDING_KEY: &str = "__SHARDINGKEY";
}

/// A message to send. Topic and body are required; everything else is optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub body: Bytes,
    /// Application flag, stored and returned untouched.
    pub flag: i32,
    properties: BTreeMap<String, String>,
}

impl Message {
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        let mut properties = BTreeMap::new();
        properties.insert(property::WAIT.to_owned(), "true".to_owned());
        Self {
            topic: topic.into(),
            body: body.into(),
            flag: 0,
            properties,
        }
    }

    /// Sets the tag (one word; consumers filter on it).
    pub fn with_tags(self, tags: impl Into<String>) -> Self {
        self.with_property(property::TAGS, tags)
    }

    /// Sets the business keys (indexed by the broker for QUERY_MESSAGE).
    pub fn with_keys<I, S>(self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined = keys
            .into_iter()
            .map(|k| k.as_ref().to_owned())
            .collect::<Vec<_>>()
            .join(" ");
        self.with_property(property::KEYS, joined)
    }

    /// Delays delivery by the broker's delay level (1 = 1 s … 18 = 2 h by default).
    pub fn with_delay_level(self, level: i32) -> Self {
        self.with_property(property::DELAY, level.to_string())
    }

    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    pub fn set_property(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.properties.insert(key.into(), value.into());
    }

    pub fn remove_property(&mut self, key: &str) -> Option<String> {
        self.properties.remove(key)
    }

    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str)
    }

    pub fn properties(&self) -> &BTreeMap<String, String> {
        &self.properties
    }

    pub fn tags(&self) -> Option<&str> {
        self.property(property::TAGS)
    }

    pub fn keys(&self) -> Option<&str> {
        self.property(property::KEYS)
    }

    /// The client message id (UNIQ_KEY), set when the message is sent.
    pub fn uniq_key(&self) -> Option<&str> {
        self.property(property::UNIQ_KEY)
    }
}

/// A received message with everything the broker stored about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    /// The topic the application sent to (a retried message shows its original topic).
    pub topic: String,
    /// Decompressed body.
    pub body: Bytes,
    pub flag: i32,
    pub properties: BTreeMap<String, String>,
    /// The id users see: UNIQ_KEY when present, else the offset message id.
    pub msg_id: String,
    /// The broker's id: store host + commit-log offset (REMOTING.md §5.1).
    pub offset_msg_id: String,
    pub broker_name: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub body_crc: i32,
    pub prepared_transaction_offset: i64,
    /// Bytes the record takes in the CommitLog.
    pub store_size: usize,
}

impl MessageExt {
    /// Builds a message from a decoded record; `broker_name` is the broker it came from.
    /// Compressed bodies are inflated (zlib; LZ4/ZSTD bodies are returned as stored with the
    /// COMPRESSED bit kept, since no 4.x client can read them either).
    pub fn from_record(record: StoredRecord, broker_name: &str) -> Self {
        let properties = parse_properties(&String::from_utf8_lossy(&record.properties));
        let offset_msg_id = offset_msg_id(record.store_host, record.physical_offset);
        let store_size = record.encoded_len();
        let mut sys_flag = record.sys_flag;
        let mut body = record.body;
        let compression = sys_flag & 0x700;
        if sys_flag & sys_flag::COMPRESSED != 0
            && (compression == 0 || compression == 0x300)
            && let Ok(inflated) = inflate(&body)
        {
            body = Bytes::from(inflated);
            sys_flag &= !sys_flag::COMPRESSED;
        }
        let msg_id = properties
            .get(property::UNIQ_KEY)
            .cloned()
            .unwrap_or_else(|| offset_msg_id.clone());
        Self {
            topic: String::from_utf8_lossy(&record.topic).into_owned(),
            body,
            flag: record.flag,
            properties,
            msg_id,
            offset_msg_id,
            broker_name: broker_name.to_owned(),
            queue_id: record.queue_id,
            queue_offset: record.queue_offset,
            commit_log_offset: record.physical_offset,
            sys_flag,
            born_timestamp: record.born_timestamp,
            born_host: record.born_host,
            store_timestamp: record.store_timestamp,
            store_host: record.store_host,
            reconsume_times: record.reconsume_times,
            body_crc: record.body_crc,
            prepared_transaction_offset: record.prepared_transaction_offset,
            store_size,
        }
    }

    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str)
    }

    pub fn tags(&self) -> Option<&str> {
        self.property(property::TAGS)
    }

    pub fn keys(&self) -> Option<&str> {
        self.property(property::KEYS)
    }

    /// The queue this message was read from.
    pub fn queue(&self) -> MessageQueue {
        MessageQueue {
            topic: self.topic.clone(),
            broker_name: self.broker_name.clone(),
            queue_id: self.queue_id,
        }
    }

    /// Bytes this message holds in a process queue (body plus a fixed overhead).
    pub(crate) fn footprint(&self) -> usize {
        self.body.len() + 64
    }
}

/// How a send ended on the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    SendOk,
    FlushDiskTimeout,
    FlushSlaveTimeout,
    SlaveNotAvailable,
}

/// The result of a successful send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    pub status: SendStatus,
    /// The client id (UNIQ_KEY); comma-joined for a batch.
    pub msg_id: String,
    /// The broker id(s), comma-joined for a batch.
    pub offset_msg_id: String,
    pub queue: MessageQueue,
    pub queue_offset: i64,
    pub transaction_id: Option<String>,
}

pub(crate) fn deflate(body: &[u8], level: u32) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(body.len() / 2),
        flate2::Compression::new(level),
    );
    encoder.write_all(body)?;
    encoder.finish()
}

pub(crate) fn inflate(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len() * 3);
    flate2::read::ZlibDecoder::new(body).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_builder_should_set_wait_tags_keys_and_delay() {
        let m = Message::new("T", "b")
            .with_tags("TagA")
            .with_keys(["k1", "k2"])
            .with_delay_level(3);
        assert_eq!(m.property("WAIT"), Some("true"));
        assert_eq!(m.tags(), Some("TagA"));
        assert_eq!(m.keys(), Some("k1 k2"));
        assert_eq!(m.property("DELAY"), Some("3"));
    }

    #[test]
    fn given_zlib_round_trip_should_restore_body() {
        let body = vec![7u8; 10_000];
        let packed = deflate(&body, 5).unwrap();
        assert!(packed.len() < body.len());
        assert_eq!(
            packed[0], 0x78,
            "zlib header, as java.util.zip.Deflater writes"
        );
        assert_eq!(inflate(&packed).unwrap(), body);
    }
}
