//! v5 messages ↔ RocketMQ's stored messages, as REMOTING.md §10.5 maps them: a sent
//! `Message` becomes a send header with a properties string (tag → TAGS, keys → KEYS,
//! message id → UNIQ_KEY, group → __SHARDINGKEY, delivery time → TIMER_DELIVER_MS, transaction
//! → TRAN_MSG and the prepared flag, …); a stored record becomes a `Message` with every key not
//! in RocketMQ's system set as a user property.

use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;

use apogee_protocol::header::message::SendMessageRequestHeader;
use apogee_protocol::record::{StoredRecord, java_string_hash, parse_properties, sys_flag};
use apogee_protocol::{Properties, property};
use bytes::Bytes;
use md5::{Digest as _, Md5};
use prost_types::{Duration, Timestamp};

use crate::pb;
use crate::status::{Failure, fail};

/// The keys RocketMQ keeps for itself (`MessageConst.STRING_HASH_SET`): never user properties.
pub const SYSTEM_KEYS: [&str; 51] = [
    "TRACE_ON",
    "MSG_REGION",
    "KEYS",
    "TAGS",
    "WAIT",
    "DELAY",
    "RETRY_TOPIC",
    "REAL_TOPIC",
    "REAL_QID",
    "TRAN_MSG",
    "PGROUP",
    "MIN_OFFSET",
    "MAX_OFFSET",
    "BUYER_ID",
    "ORIGIN_MESSAGE_ID",
    "TRANSFER_FLAG",
    "CORRECTION_FLAG",
    "MQ2_FLAG",
    "RECONSUME_TIME",
    "UNIQ_KEY",
    "MAX_RECONSUME_TIMES",
    "CONSUME_START_TIME",
    "POP_CK",
    "POP_CK_OFFSET",
    "1ST_POP_TIME",
    "TRAN_PREPARED_QUEUE_OFFSET",
    "DUP_INFO",
    "EXTEND_UNIQ_INFO",
    "INSTANCE_ID",
    "CORRELATION_ID",
    "REPLY_TO_CLIENT",
    "TTL",
    "ARRIVE_TIME",
    "PUSH_REPLY_TIME",
    "CLUSTER",
    "MSG_TYPE",
    "INNER_MULTI_QUEUE_OFFSET",
    "TIMER_DELAY_MS",
    "TIMER_DELAY_SEC",
    "TIMER_DELIVER_MS",
    "TIMER_ENQUEUE_MS",
    "TIMER_DEQUEUE_MS",
    "TIMER_ROLL_TIMES",
    "TIMER_OUT_MS",
    "TIMER_DEL_UNIQKEY",
    "TIMER_DELAY_LEVEL",
    "__BORNHOST",
    "BORN_TIMESTAMP",
    "DLQ_ORIGIN_TOPIC",
    "DLQ_ORIGIN_MESSAGE_ID",
    "__CRC32#",
];

/// Limits of the Apache proxy: user properties per message, properties bytes, group length.
const USER_PROPERTIES_MAX: usize = 128;
const PROPERTIES_BYTES_MAX: usize = 16 * 1024;
const MESSAGE_GROUP_MAX: usize = 64;
/// The producer group v5 transactional messages carry (v5 producers have none).
pub const V5_PRODUCER_GROUP: &str = "APOGEE_V5_PRODUCER";
const CHECK_IMMUNITY: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
const TRACE_CONTEXT: &str = "TRACE_CONTEXT";
const BORN_HOST: &str = "__BORNHOST";
/// Largest body inflated for a v5 consumer.
const INFLATED_MAX: u64 = 8 << 20;

/// One v5 message ready for the broker's send.
pub struct Outgoing {
    pub header: SendMessageRequestHeader,
    pub body: Bytes,
    pub message_id: String,
    pub transactional: bool,
    /// A delay message's delivery time (ms), which makes it recallable.
    pub deliver_ms: Option<i64>,
}

/// A v5 message as a send; `queues` is the topic's write queue count.
pub fn outgoing(message: pb::Message, queues: i32) -> Result<Outgoing, Failure> {
    let topic = message.topic.map(|t| t.name).unwrap_or_default();
    let sp = message.system_properties.unwrap_or_default();
    if sp.message_id.is_empty() {
        return Err(fail(pb::Code::IllegalMessageId, "message id is empty"));
    }
    if message.user_properties.len() > USER_PROPERTIES_MAX {
        return Err(fail(
            pb::Code::MessagePropertiesTooLarge,
            "more than 128 user properties",
        ));
    }
    let mut props = Properties::default();
    for (key, value) in &message.user_properties {
        if SYSTEM_KEYS.contains(&key.as_str()) {
            return Err(fail(
                pb::Code::IllegalMessagePropertyKey,
                &format!("property key {key} is reserved"),
            ));
        }
        props.push(key, value);
    }
    if let Some(tag) = sp.tag.as_deref().filter(|t| !t.is_empty()) {
        props.push(property::TAGS, tag);
    }
    if !sp.keys.is_empty() {
        props.push(property::KEYS, &sp.keys.join(" "));
    }
    props.push(property::UNIQ_KEY, &sp.message_id);
    let (flags, queue_id) = system_properties(&sp, &mut props, queues)?;
    let transactional = flags & sys_flag::TRANSACTION_PREPARED != 0;
    let born = sp.born_timestamp.as_ref().map_or(0, millis_of);
    let header = SendMessageRequestHeader {
        producer_group: if transactional {
            V5_PRODUCER_GROUP.into()
        } else {
            String::new()
        },
        topic,
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 8,
        queue_id,
        sys_flag: flags,
        born_timestamp: born,
        flag: 0,
        properties: Some(props.into_string()),
        reconsume_times: None,
        unit_mode: None,
        max_reconsume_times: None,
        batch: None,
        broker_name: None,
    };
    Ok(Outgoing {
        header,
        body: Bytes::from(message.body),
        deliver_ms: sp.delivery_timestamp.as_ref().map(millis_of),
        message_id: sp.message_id,
        transactional,
    })
}

/// The system properties as RocketMQ properties; the sys flag and the queue to send to.
fn system_properties(
    sp: &pb::SystemProperties,
    props: &mut Properties,
    queues: i32,
) -> Result<(i32, i32), Failure> {
    let transactional = sp.message_type == pb::MessageType::Transaction as i32;
    let mut flags = 0;
    if transactional {
        props.push(property::TRANSACTION_PREPARED, "true");
        props.push(property::PRODUCER_GROUP, V5_PRODUCER_GROUP);
        flags |= sys_flag::TRANSACTION_PREPARED;
        if let Some(immunity) = &sp.orphaned_transaction_recovery_duration {
            props.push(CHECK_IMMUNITY, &immunity.seconds.max(0).to_string());
        }
    }
    if let Some(at) = &sp.delivery_timestamp {
        props.push(property::TIMER_DELIVER_MS, &millis_of(at).to_string());
    }
    let mut queue_id = sp.queue_id;
    if let Some(group) = sp.message_group.as_deref().filter(|g| !g.is_empty()) {
        if group.len() > MESSAGE_GROUP_MAX {
            return Err(fail(
                pb::Code::IllegalMessageGroup,
                "message group longer than 64",
            ));
        }
        props.push(property::SHARDING_KEY, group);
        // The client picks the group's queue (the Rust client: SipHash of the group); a
        // client that names none gets one by the group's hash, the same every time.
        if !(0..queues.max(1)).contains(&queue_id) {
            queue_id = (java_string_hash(group) & i32::MAX) % queues.max(1);
        }
    }
    if let Some(trace) = sp.trace_context.as_deref().filter(|t| !t.is_empty()) {
        props.push(TRACE_CONTEXT, trace);
    }
    if !sp.born_host.is_empty() {
        props.push(BORN_HOST, &sp.born_host);
    }
    if props.len() > PROPERTIES_BYTES_MAX {
        return Err(fail(
            pb::Code::MessagePropertiesTooLarge,
            "properties over 16 KiB",
        ));
    }
    if sp.body_encoding == pb::Encoding::Gzip as i32 {
        flags |= sys_flag::COMPRESSED;
    }
    if !(0..queues.max(1)).contains(&queue_id) {
        queue_id = -1;
    }
    Ok((flags, queue_id))
}

/// What a received message carries besides its record.
pub struct Delivery<'a> {
    /// The topic the consumer asked for (retried messages show it too).
    pub topic: &'a str,
    pub receipt_handle: Option<String>,
    pub invisible_ms: Option<i64>,
    /// Earlier deliveries (reconsume times, or an orderly message's count).
    pub attempts: i32,
}

/// A stored record as a v5 message.
pub fn incoming(record: &StoredRecord, delivery: &Delivery<'_>) -> pb::Message {
    let text = String::from_utf8_lossy(&record.properties);
    let props = parse_properties(&text);
    let body = body_of(record);
    let get = |key: &str| props.get(key).cloned();
    let message_type = if get(property::TRANSACTION_PREPARED).as_deref() == Some("true") {
        pb::MessageType::Transaction
    } else if props.contains_key(property::DELAY)
        || props.contains_key(property::TIMER_DELIVER_MS)
        || props.contains_key(property::TIMER_DELAY_SEC)
    {
        pb::MessageType::Delay
    } else if props.contains_key(property::SHARDING_KEY) {
        pb::MessageType::Fifo
    } else {
        pb::MessageType::Normal
    };
    let user_properties: HashMap<String, String> = props
        .iter()
        .filter(|(k, _)| !SYSTEM_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let dead_letter_queue = get("DLQ_ORIGIN_TOPIC").map(|topic| pb::DeadLetterQueue {
        topic,
        message_id: get("DLQ_ORIGIN_MESSAGE_ID").unwrap_or_default(),
    });
    let delivery_ms = get(property::TIMER_DELIVER_MS).and_then(|v| v.parse::<i64>().ok());
    let system = pb::SystemProperties {
        tag: get(property::TAGS),
        keys: get(property::KEYS)
            .map(|k| {
                k.split(' ')
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        message_id: get(property::UNIQ_KEY).unwrap_or_default(),
        body_digest: Some(pb::Digest {
            r#type: pb::DigestType::Md5 as i32,
            checksum: hex(&Md5::digest(&body)),
        }),
        body_encoding: pb::Encoding::Identity as i32,
        message_type: message_type as i32,
        born_timestamp: Some(timestamp(record.born_timestamp)),
        born_host: get(BORN_HOST).unwrap_or_else(|| record.born_host.to_string()),
        store_timestamp: Some(timestamp(record.store_timestamp)),
        store_host: record.store_host.to_string(),
        delivery_timestamp: delivery_ms.map(timestamp),
        receipt_handle: delivery.receipt_handle.clone(),
        queue_id: record.queue_id,
        queue_offset: Some(record.queue_offset),
        invisible_duration: delivery.invisible_ms.map(duration),
        delivery_attempt: Some(delivery.attempts.saturating_add(1)),
        message_group: get(property::SHARDING_KEY),
        trace_context: get(TRACE_CONTEXT),
        orphaned_transaction_recovery_duration: None,
        dead_letter_queue,
        lite_topic: None,
        priority: None,
    };
    pb::Message {
        topic: Some(pb::Resource {
            resource_namespace: String::new(),
            name: delivery.topic.to_owned(),
        }),
        user_properties,
        system_properties: Some(system),
        body: body.to_vec(),
    }
}

/// The body as the producer sent it (a zlib-compressed body inflated, at most 8 MiB; a larger
/// one is passed on as stored).
fn body_of(record: &StoredRecord) -> Bytes {
    if record.sys_flag & sys_flag::COMPRESSED == 0 {
        return record.body.clone();
    }
    let mut out = Vec::new();
    let inflated = flate2::read::ZlibDecoder::new(&record.body[..])
        .take(INFLATED_MAX + 1)
        .read_to_end(&mut out);
    match inflated {
        Ok(n) if n as u64 <= INFLATED_MAX => Bytes::from(out),
        _ => record.body.clone(),
    }
}

pub fn timestamp(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

pub fn millis_of(at: &Timestamp) -> i64 {
    at.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(at.nanos / 1_000_000))
}

pub fn duration(ms: i64) -> Duration {
    Duration {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

pub fn millis_of_duration(d: &Duration) -> i64 {
    d.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(d.nanos / 1_000_000))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The address a peer connected from, when the transport knows it.
pub fn peer_or_unspecified(peer: Option<SocketAddr>) -> SocketAddr {
    peer.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
