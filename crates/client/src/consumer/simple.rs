//! The simple (POP) consumer: the application asks for messages, which stay invisible to the
//! rest of its group for an invisible time, and acks each one it has handled; a message not
//! acked in time is delivered again (to any member). No queues are assigned and no offsets are
//! kept here: the broker tracks both (POP_MESSAGE, ACK_MESSAGE, CHANGE_MESSAGE_INVISIBLETIME).
//!
//! Each received message carries its receipt handle in the `POP_CK` property, built as
//! RocketMQ's clients build it from the answer's `startOffsetInfo` (or kept when the broker
//! put it there, as for retried messages).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apogee_protocol::header::pop::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
    PopMessageRequestHeader, PopMessageResponseHeader, init_mode,
};
use apogee_protocol::pop_info::{ExtraInfo, parse_numbers, real_topic, topic_type};
use apogee_protocol::record::{RecordAt, decode_record};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::selector::MessageSelector;
use crate::config::ClientConfig;
use crate::instance::{ClientInstance, now_ms};
use crate::message::MessageExt;
use crate::{ClientError, Result};

/// The property holding a received message's receipt handle.
pub const POP_CK: &str = "POP_CK";

/// Simple consumer settings; `SimpleConsumerConfig::new(group)` gives the defaults.
#[derive(Debug, Clone)]
pub struct SimpleConsumerConfig {
    pub group: String,
    /// How long a receive waits for messages when none are there (15 s).
    pub await_duration: Duration,
    /// Where a group that never consumed a queue starts: its first message, or (default)
    /// only what arrives from now on — RocketMQ's POP starts new queues at their beginning
    /// while it is still in memory.
    pub from_first: bool,
    /// Orderly (FIFO) receiving: a queue gives nothing more while any of its messages is
    /// in flight, and an unacked message comes back from the same queue, in order.
    pub orderly: bool,
}

impl SimpleConsumerConfig {
    pub fn new(group: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            await_duration: Duration::from_secs(15),
            from_first: false,
            orderly: false,
        }
    }
}

/// A started simple consumer.
pub struct SimpleConsumer {
    instance: Arc<ClientInstance>,
    config: SimpleConsumerConfig,
    subscriptions: Mutex<BTreeMap<String, MessageSelector>>,
    next: AtomicUsize,
}

impl SimpleConsumer {
    pub async fn start(client: ClientConfig, config: SimpleConsumerConfig) -> Result<Self> {
        apogee_model::GroupName::new(config.group.clone())
            .map_err(|e| ClientError::Config(format!("group `{}`: {e}", config.group)))?;
        let instance = ClientInstance::get(&client).await?;
        Ok(Self {
            instance,
            config,
            subscriptions: Mutex::new(BTreeMap::new()),
            // A random start, so short-lived consumers (one per HTTP request) spread over
            // the brokers too.
            next: AtomicUsize::new(
                usize::try_from(crate::instance::process_random() % 1024).unwrap_or(0),
            ),
        })
    }

    /// Receives from `topic` too (its route must exist).
    pub async fn subscribe(&self, topic: &str, selector: impl Into<MessageSelector>) -> Result<()> {
        let selector = selector.into();
        selector.validate()?;
        self.instance.route(topic).await?;
        self.subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(topic.to_owned(), selector);
        Ok(())
    }

    pub fn unsubscribe(&self, topic: &str) {
        self.subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(topic);
    }

    /// Up to `max` (≤ 32) messages of one subscribed topic from one of its brokers, each
    /// invisible to the group for `invisible`; waits up to the await duration for them.
    pub async fn receive(&self, max: i32, invisible: Duration) -> Result<Vec<MessageExt>> {
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        let (topic, selector, rounds) = {
            let subscriptions = self
                .subscriptions
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let count = subscriptions.len();
            if count == 0 {
                return Err(ClientError::Config("subscribe to a topic first".into()));
            }
            let (topic, selector) = subscriptions
                .iter()
                .nth(turn % count)
                .map(|(t, s)| (t.clone(), s.clone()))
                .ok_or_else(|| ClientError::Config("no subscription".into()))?;
            // Each topic's brokers in turn: a topic's n-th receive goes to its broker n.
            (topic, selector, turn / count)
        };
        let route = self.instance.route(&topic).await?;
        let brokers: std::collections::BTreeSet<&str> = route
            .subscribe_queues
            .iter()
            .map(|q| q.broker_name.as_str())
            .collect();
        let broker = brokers
            .iter()
            .nth(rounds % brokers.len().max(1))
            .map(|b| (*b).to_owned())
            .ok_or_else(|| self.instance.no_route(&topic))?;
        let addr = self.instance.find_broker_addr(&broker, &topic).await?;
        let subscription = selector.subscription(&topic, 0);
        let header = PopMessageRequestHeader {
            consumer_group: self.config.group.clone(),
            topic: topic.clone(),
            queue_id: -1,
            max_msg_nums: max,
            invisible_time: millis(invisible),
            poll_time: millis(self.config.await_duration),
            born_time: now_ms(),
            init_mode: if self.config.from_first {
                init_mode::MIN
            } else {
                init_mode::MAX
            },
            exp_type: subscription.expression_type.clone(),
            exp: Some(subscription.sub_string.clone()),
            order: self.config.orderly.then_some(true),
            attempt_id: None,
            broker_name: Some(broker.clone()),
        };
        let request = RemotingCommand::request(RequestCode::POP_MESSAGE, &header);
        let timeout = self.config.await_duration + Duration::from_secs(10);
        let response = self.instance.invoke(&addr, request, timeout).await?;
        match response.response_code() {
            ResponseCode::SUCCESS => decode_popped(&response, &topic, &broker, &addr),
            ResponseCode::POLLING_TIMEOUT
            | ResponseCode::PULL_NOT_FOUND
            | ResponseCode::POLLING_FULL => Ok(Vec::new()),
            _ => Err(ClientError::refused(&addr, &response)),
        }
    }

    /// Acknowledges a received message: it will not be delivered again.
    pub async fn ack(&self, message: &MessageExt) -> Result<()> {
        self.ack_handle(&message.topic, handle_text(message)?).await
    }

    /// Acknowledges the message a receipt handle (`POP_CK`) names, received from `topic`.
    pub async fn ack_handle(&self, topic: &str, receipt_handle: &str) -> Result<()> {
        let handle = parse_handle(receipt_handle)?;
        let real = real_topic(topic, &self.config.group, &handle.topic_type);
        let addr = self
            .instance
            .find_broker_addr(&handle.broker_name, topic)
            .await?;
        let header = AckMessageRequestHeader {
            consumer_group: self.config.group.clone(),
            topic: real,
            queue_id: handle.queue_id,
            extra_info: receipt_handle.to_owned(),
            offset: handle.offset(),
            broker_name: Some(handle.broker_name.clone()),
        };
        let request = RemotingCommand::request(RequestCode::ACK_MESSAGE, &header);
        self.instance
            .invoke_ok(&addr, request, Duration::from_secs(3))
            .await?;
        Ok(())
    }

    /// Acknowledges several received messages with one BATCH_ACK_MESSAGE per broker (their
    /// offsets as bit sets per popped queue, RocketMQ's form).
    pub async fn ack_batch(&self, messages: &[MessageExt]) -> Result<()> {
        let mut per_broker: BTreeMap<String, (String, BTreeMap<AckKey, Vec<i64>>)> =
            BTreeMap::new();
        for message in messages {
            let handle = parse_handle(handle_text(message)?)?;
            let key = AckKey {
                topic: message.topic.clone(),
                kind: handle.topic_type.clone(),
                queue_id: handle.queue_id,
                start: handle.ck_offset,
                pop_time: handle.pop_time,
                invisible: handle.invisible_time,
                revive: handle.revive_qid,
            };
            let offset = handle.offset();
            if offset < key.start || offset - key.start >= BIT_SET_BITS_MAX {
                self.ack(message).await?;
                continue;
            }
            per_broker
                .entry(handle.broker_name.clone())
                .or_insert_with(|| (message.topic.clone(), BTreeMap::new()))
                .1
                .entry(key)
                .or_default()
                .push(offset);
        }
        for (broker, (topic, acks)) in per_broker {
            let addr = self.instance.find_broker_addr(&broker, &topic).await?;
            let acks: Vec<serde_json::Value> = acks
                .iter()
                .map(|(key, offsets)| {
                    serde_json::json!({
                        "c": self.config.group, "t": key.topic, "r": key.kind, "so": key.start,
                        "q": key.queue_id, "rq": key.revive, "pt": key.pop_time, "it": key.invisible,
                        "b": bit_set(key.start, offsets),
                    })
                })
                .collect();
            let body = serde_json::json!({ "brokerName": broker, "acks": acks });
            let request = RemotingCommand::bare_request(RequestCode::BATCH_ACK_MESSAGE)
                .with_body(body.to_string().into_bytes());
            self.instance
                .invoke_ok(&addr, request, Duration::from_secs(3))
                .await?;
        }
        Ok(())
    }

    /// Makes a received message invisible for `invisible` from now (its handle changes).
    pub async fn change_invisible_duration(
        &self,
        message: &mut MessageExt,
        invisible: Duration,
    ) -> Result<()> {
        let renewed = self
            .change_invisible_handle(&message.topic, handle_text(message)?, invisible)
            .await?;
        message.properties.insert(POP_CK.into(), renewed);
        Ok(())
    }

    /// Makes the message a receipt handle names invisible for `invisible` from now; returns
    /// its new handle.
    pub async fn change_invisible_handle(
        &self,
        topic: &str,
        receipt_handle: &str,
        invisible: Duration,
    ) -> Result<String> {
        let handle = parse_handle(receipt_handle)?;
        let real = real_topic(topic, &self.config.group, &handle.topic_type);
        let addr = self
            .instance
            .find_broker_addr(&handle.broker_name, topic)
            .await?;
        let header = ChangeInvisibleTimeRequestHeader {
            consumer_group: self.config.group.clone(),
            topic: real,
            queue_id: handle.queue_id,
            extra_info: receipt_handle.to_owned(),
            offset: handle.offset(),
            invisible_time: millis(invisible),
            broker_name: Some(handle.broker_name.clone()),
        };
        let request = RemotingCommand::request(RequestCode::CHANGE_MESSAGE_INVISIBLETIME, &header);
        let response = self
            .instance
            .invoke_ok(&addr, request, Duration::from_secs(3))
            .await?;
        let answer: ChangeInvisibleTimeResponseHeader = response
            .header()
            .map_err(|e| ClientError::bad_response(&addr, e))?;
        let renewed = ExtraInfo {
            ck_offset: handle.offset(),
            pop_time: answer.pop_time,
            invisible_time: answer.invisible_time,
            revive_qid: answer.revive_qid,
            queue_offset: Some(handle.offset()),
            commit_log_offset: None,
            ..handle
        };
        Ok(renewed.to_string())
    }
}

/// Offsets past a batch-ack entry's start one bit set may name (the broker's 128 bytes).
const BIT_SET_BITS_MAX: i64 = 128 * 8;

/// Messages acked together: popped from one queue by one pop.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct AckKey {
    topic: String,
    kind: String,
    queue_id: i32,
    start: i64,
    pop_time: i64,
    invisible: i64,
    revive: i32,
}

/// Java's `BitSet.toByteArray()` of `offset − start` for each offset, in Base64.
fn bit_set(start: i64, offsets: &[i64]) -> String {
    use base64::Engine;
    let mut bytes = Vec::new();
    for offset in offsets {
        let bit = usize::try_from(offset - start).unwrap_or(0);
        if bytes.len() <= bit / 8 {
            bytes.resize(bit / 8 + 1, 0u8);
        }
        bytes[bit / 8] |= 1 << (bit % 8);
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn handle_text(message: &MessageExt) -> Result<&str> {
    message.property(POP_CK).ok_or_else(|| {
        ClientError::Config("the message was not received by a simple consumer".into())
    })
}

/// A receipt handle, parsed.
pub fn parse_handle(text: &str) -> Result<ExtraInfo> {
    ExtraInfo::parse(text).map_err(|_| ClientError::Config(format!("bad receipt handle `{text}`")))
}

/// The messages of a POP answer, each with its receipt handle and shown on `topic`.
fn decode_popped(
    response: &RemotingCommand,
    topic: &str,
    broker: &str,
    addr: &str,
) -> Result<Vec<MessageExt>> {
    let h: PopMessageResponseHeader = response
        .header()
        .map_err(|e| ClientError::bad_response(addr, e))?;
    let starts = parse_numbers(h.start_offset_info.as_deref().unwrap_or(""));
    let orders = parse_numbers(h.order_count_info.as_deref().unwrap_or(""));
    let mut messages = Vec::new();
    let mut at = 0;
    while at < response.body.len() {
        let (record, size) = match decode_record(&response.body, at, false) {
            Ok((RecordAt::Message(record), size)) => (record, size),
            Ok((RecordAt::Blank { .. }, _)) | Err(_) => {
                return Err(ClientError::bad_response(
                    addr,
                    "a POP answer holds a bad record",
                ));
            }
        };
        at += size;
        let mut message = MessageExt::from_record(record, broker);
        if message.property(POP_CK).is_none() {
            let kind = topic_type(&message.topic);
            let key = format!("{kind}@{}", message.queue_id);
            let handle = ExtraInfo {
                ck_offset: starts.get(&key).copied().unwrap_or(message.queue_offset),
                pop_time: h.pop_time,
                invisible_time: h.invisible_time,
                revive_qid: h.revive_qid,
                topic_type: kind.to_owned(),
                broker_name: broker.to_owned(),
                queue_id: message.queue_id,
                queue_offset: Some(message.queue_offset),
                commit_log_offset: None,
            };
            let per_offset = format!("{kind}@qo{}%{}", message.queue_id, message.queue_offset);
            if let Some(count) = orders
                .get(&per_offset)
                .or_else(|| orders.get(&key))
                .filter(|c| **c > 0)
            {
                message.reconsume_times = i32::try_from(*count).unwrap_or(i32::MAX);
            }
            message.properties.insert(POP_CK.into(), handle.to_string());
        }
        message
            .properties
            .entry("1ST_POP_TIME".into())
            .or_insert_with(|| h.pop_time.to_string());
        topic.clone_into(&mut message.topic);
        messages.push(message);
    }
    Ok(messages)
}
