//! Transactional-message conventions shared by the send path, END_TRANSACTION and the check
//! service, byte-compatible with RocketMQ's store (REMOTING.md §6.10):
//!
//! ```text
//! send TRAN_MSG=true ─► half: RMQ_SYS_TRANS_HALF_TOPIC q0, REAL_TOPIC/REAL_QID, tx bits = NOT_TYPE
//! END_TRANSACTION commit ─► real message on REAL_TOPIC/REAL_QID (tx bits = COMMIT) ─┐
//! END_TRANSACTION rollback ─────────────────────────────────────────────────────────┴► op record
//! op record: RMQ_SYS_TRANS_OP_HALF_TOPIC q0, tag "d", body "<half queue offset>,"
//! ```
//!
//! The half keeps transaction type NOT_TYPE (as Java's `parseHalfMessageInner` sets it) so the
//! dispatcher gives it a consume-queue unit on the half topic; consumers never subscribe there.
//! Everything here is pure: records in, messages to store out.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use apogee_protocol::record::{MAGIC_V1, MAGIC_V2, StoredRecord, encode_properties, sys_flag};
use apogee_store::MessageToStore;
use bytes::{Bytes, BytesMut};

/// Half messages wait on `HALF_TOPIC`; op records (commit/rollback marks) go to `OP_TOPIC`
/// with the same queue id; half messages checked `transactionCheckMax` times without an
/// answer end up on `CHECK_MAX_TIME_TOPIC`.
pub use apogee_model::system_topic::{CHECK_MAX_TIME_TOPIC, HALF_TOPIC, OP_HALF_TOPIC as OP_TOPIC};
/// The consumer group whose offsets on the half and op queues are the check progress
/// (Java's `MixAll.CID_SYS_RMQ_TRANS`).
pub const CHECK_GROUP: &str = "CID_RMQ_SYS_TRANS";
/// Tag of an op record that resolves half messages (Java's `REMOVE_TAG`).
pub const OP_REMOVE_TAG: &str = "d";
/// The half queue (and so the op queue) id.
pub const HALF_QUEUE_ID: i32 = 0;

/// Message property keys (`MessageConst`).
pub mod property {
    pub const TRANSACTION_PREPARED: &str = "TRAN_MSG";
    pub const PRODUCER_GROUP: &str = "PGROUP";
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    pub const REAL_QUEUE_ID: &str = "REAL_QID";
    pub const UNIQ_KEY: &str = "UNIQ_KEY";
    pub const CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    pub const CHECK_IMMUNITY_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    pub const PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
    /// The optional whole-record CRC the store appends itself (§4.3.4); never copied.
    pub const CRC32: &str = "__CRC32#";
}

/// How long a half message carrying `CHECK_IMMUNITY_TIME_IN_SECONDS = value` is left alone, in
/// ms: the value in seconds, or `timeout_ms` when it is unreadable or -1 (Java's
/// `getImmunityTime`).
pub fn immunity_ms(value: &str, timeout_ms: i64) -> i64 {
    match value.trim().parse::<i64>() {
        Ok(-1) | Err(_) => timeout_ms,
        Ok(seconds) => seconds.saturating_mul(1000),
    }
}

/// The op record body for one resolved half message: its queue offset and a `,` (5.x writes
/// several such pieces into one op record; 4.x wrote the bare number).
pub fn encode_op_body(half_queue_offset: i64) -> Bytes {
    Bytes::from(format!("{half_queue_offset},"))
}

/// Half queue offsets named by an op record body; unreadable pieces are skipped (Java's
/// `getLong` turns them into -1, which no half offset matches).
pub fn decode_op_body(body: &[u8]) -> Vec<i64> {
    String::from_utf8_lossy(body)
        .split(',')
        .filter_map(|piece| piece.trim().parse::<i64>().ok())
        .filter(|offset| *offset >= 0)
        .collect()
}

/// The op record marking half queue offset `half_queue_offset` as resolved.
pub fn op_message(half_queue_offset: i64, now_ms: i64, store_host: SocketAddr) -> MessageToStore {
    let mut properties = apogee_protocol::Properties::default();
    properties.push(apogee_protocol::property::TAGS, OP_REMOVE_TAG);
    MessageToStore {
        topic: OP_TOPIC.to_owned(),
        queue_id: HALF_QUEUE_ID,
        flag: 0,
        sys_flag: 0,
        born_timestamp: now_ms,
        born_host: store_host,
        store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: encode_op_body(half_queue_offset),
        properties: properties.into_string(),
    }
}

/// A stored record's properties, without the store's own CRC property.
pub fn properties_of(record: &StoredRecord) -> BTreeMap<String, String> {
    let mut props = record.properties_map();
    props.remove(property::CRC32);
    props
}

/// The real topic and queue a half message was sent to; `None` unless the topic is a valid
/// topic name (the property is stored bytes, never trusted as a path or a system topic name
/// it is not).
pub fn real_destination(props: &BTreeMap<String, String>) -> Option<(String, i32)> {
    let topic = props.get(property::REAL_TOPIC)?.clone();
    apogee_model::TopicName::check(&topic).ok()?;
    let queue_id = props.get(property::REAL_QUEUE_ID)?.trim().parse().ok()?;
    Some((topic, queue_id))
}

/// Java's `endMessageTransaction`: the committed message on its real topic and queue, with
/// `REAL_TOPIC`, `REAL_QID` and `TRAN_MSG` removed (every other property, `UNIQ_KEY` among
/// them, kept so the client sees the same msgId), transaction bits COMMIT and the half
/// message's CommitLog offset as prepared-transaction offset. `None` when the half message
/// does not name its real destination.
pub fn committed_message(half: &StoredRecord, store_host: SocketAddr) -> Option<MessageToStore> {
    let mut props = properties_of(half);
    let (topic, queue_id) = real_destination(&props)?;
    for key in [
        property::REAL_TOPIC,
        property::REAL_QUEUE_ID,
        property::TRANSACTION_PREPARED,
    ] {
        props.remove(key);
    }
    Some(MessageToStore {
        topic,
        queue_id,
        flag: half.flag,
        sys_flag: (half.sys_flag & !sys_flag::TRANSACTION_MASK) | sys_flag::TRANSACTION_COMMIT,
        born_timestamp: half.born_timestamp,
        born_host: half.born_host,
        store_host,
        reconsume_times: half.reconsume_times,
        prepared_transaction_offset: half.physical_offset,
        body: half.body.clone(),
        properties: encode_properties(&props),
    })
}

/// The half message stored again on `topic` (queue `queue_id`) with `props`: a checked copy
/// back on the half queue, or a given-up one on TRANS_CHECK_MAX_TIME_TOPIC.
pub fn copy_to(
    half: &StoredRecord,
    topic: &str,
    queue_id: i32,
    props: &BTreeMap<String, String>,
    store_host: SocketAddr,
) -> MessageToStore {
    crate::ops::reput::copy_of(
        half,
        (topic, queue_id),
        encode_properties(props),
        store_host,
    )
}

/// The CHECK_TRANSACTION_STATE body: the stored half record with its real topic and queue id
/// put back (Java's `MessageDecoder.encode` of the message after `setTopic(REAL_TOPIC)`).
pub fn check_body(half: &StoredRecord, real_topic: &str, real_queue_id: i32) -> Bytes {
    let mut record = half.clone();
    record.topic = Bytes::copy_from_slice(real_topic.as_bytes());
    record.queue_id = real_queue_id;
    record.magic = if real_topic.len() > 127 {
        MAGIC_V2
    } else {
        MAGIC_V1
    };
    let mut out = BytesMut::with_capacity(record.encoded_len());
    record.encode(&mut out);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use apogee_protocol::record::find_property;
    use apogee_protocol::record::{RecordAt, body_crc, decode_record, parse_properties};

    fn host() -> SocketAddr {
        "127.0.0.1:10911".parse().unwrap()
    }

    fn half_record(props: &str) -> StoredRecord {
        StoredRecord {
            magic: MAGIC_V1,
            body_crc: body_crc(b"hello"),
            queue_id: HALF_QUEUE_ID,
            flag: 3,
            queue_offset: 7,
            physical_offset: 4096,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: "10.0.0.2:50000".parse().unwrap(),
            store_timestamp: 1_700_000_000_005,
            store_host: host(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from_static(b"hello"),
            topic: Bytes::from_static(HALF_TOPIC.as_bytes()),
            properties: Bytes::copy_from_slice(props.as_bytes()),
        }
    }

    const HALF_PROPS: &str = "TRAN_MSG\u{1}true\u{2}PGROUP\u{1}pg\u{2}UNIQ_KEY\u{1}AB\u{2}REAL_TOPIC\u{1}Orders\u{2}REAL_QID\u{1}3\u{2}__CRC32#\u{1}0123456789\u{2}";

    #[test]
    fn given_op_body_should_be_the_offset_and_a_comma_and_parse_java_forms() {
        assert_eq!(&encode_op_body(42)[..], b"42,");
        assert_eq!(decode_op_body(b"42,"), [42]);
        assert_eq!(decode_op_body(b"1,2,30,"), [1, 2, 30]);
        assert_eq!(decode_op_body(b"17"), [17], "4.x wrote the bare offset");
        assert_eq!(decode_op_body(b"x,5,,-1,"), [5]);
        assert!(decode_op_body(b"").is_empty());
    }

    #[test]
    fn given_immunity_property_should_be_seconds_or_fall_back_to_the_timeout() {
        assert_eq!(immunity_ms("10", 6000), 10_000);
        assert_eq!(immunity_ms("-1", 6000), 6000);
        assert_eq!(immunity_ms("soon", 6000), 6000);
    }

    #[test]
    fn given_op_message_should_carry_tag_d_on_the_op_queue() {
        let op = op_message(9, 123, host());
        assert_eq!((op.topic.as_str(), op.queue_id), (OP_TOPIC, 0));
        assert_eq!(find_property(&op.properties, "TAGS"), Some("d"));
        assert_eq!(&op.body[..], b"9,");
        assert_eq!((op.sys_flag, op.born_timestamp), (0, 123));
    }

    #[test]
    fn given_half_record_when_committed_should_restore_the_real_message_and_keep_its_id() {
        let committed = committed_message(&half_record(HALF_PROPS), host()).unwrap();
        assert_eq!(
            (committed.topic.as_str(), committed.queue_id),
            ("Orders", 3)
        );
        assert_eq!(
            committed.sys_flag & sys_flag::TRANSACTION_MASK,
            sys_flag::TRANSACTION_COMMIT
        );
        assert_eq!(committed.prepared_transaction_offset, 4096);
        assert_eq!(committed.flag, 3);
        let props = parse_properties(&committed.properties);
        assert_eq!(props.get("UNIQ_KEY").map(String::as_str), Some("AB"));
        assert_eq!(props.get("PGROUP").map(String::as_str), Some("pg"));
        for gone in ["REAL_TOPIC", "REAL_QID", "TRAN_MSG", "__CRC32#"] {
            assert!(!props.contains_key(gone), "{gone} kept");
        }
        assert!(committed_message(&half_record("TRAN_MSG\u{1}true\u{2}"), host()).is_none());
    }

    #[test]
    fn given_half_record_should_become_a_check_body_on_its_real_topic() {
        let half = half_record(HALF_PROPS);
        let body = check_body(&half, "Orders", 3);
        let (RecordAt::Message(decoded), size) = decode_record(&body, 0, true).unwrap() else {
            panic!("not a message");
        };
        assert_eq!(size, body.len());
        assert_eq!((decoded.topic_str(), decoded.queue_id), ("Orders", 3));
        assert_eq!((decoded.queue_offset, decoded.physical_offset), (7, 4096));
        assert_eq!(decoded.properties, half.properties);
    }
}
