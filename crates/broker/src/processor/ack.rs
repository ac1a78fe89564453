//! ACK_MESSAGE (200051), BATCH_ACK_MESSAGE (200151) and CHANGE_MESSAGE_INVISIBLETIME
//! (200053) over remoting. A handle must name a queue of an existing topic and an offset the
//! queue holds (else MESSAGE_ILLEGAL / NO_MESSAGE, as RocketMQ answers). An ack of a message
//! no longer in flight (acked already, or revived after its invisible time) succeeds without
//! effect, as in RocketMQ; a change of invisible time for one is refused with NO_MESSAGE
//! (RocketMQ writes a new check point for it, which delivers the message once more).

use apogee_protocol::header::pop::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
};
use apogee_protocol::pop_info::{ExtraInfo, real_topic};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::Connection;
use base64::Engine;
use serde::Deserialize;

use super::{Handler, success};
use crate::BrokerError;
use crate::ha::Replication;
use crate::ops::pop::{INVISIBLE_MAX_MS, Popper};

/// Most entries of one batch ack, and bytes of one entry's bit set.
const BATCH_ACKS_MAX: usize = 1024;
const BIT_SET_BYTES_MAX: usize = 128;

/// The ack family.
pub struct AckProcessor {
    pub pop: Popper,
    pub replication: Replication,
}

impl Handler for AckProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::ACK_MESSAGE,
        RequestCode::BATCH_ACK_MESSAGE,
        RequestCode::CHANGE_MESSAGE_INVISIBLETIME,
    ];

    async fn handle(
        &self,
        _connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        if self.replication.is_slave() {
            return Err(BrokerError::slave_refuses_writes());
        }
        match request.request_code() {
            RequestCode::ACK_MESSAGE => self.ack(request),
            RequestCode::BATCH_ACK_MESSAGE => self.batch_ack(request),
            _ => self.change_invisible(request),
        }
    }
}

/// BATCH_ACK_MESSAGE's body (RocketMQ's short JSON names).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchAckBody {
    #[serde(default)]
    acks: Vec<BatchAck>,
}

#[derive(Debug, Deserialize)]
struct BatchAck {
    #[serde(rename = "c", alias = "consumerGroup")]
    group: String,
    #[serde(rename = "t", alias = "topic")]
    topic: String,
    #[serde(rename = "r", alias = "retry", default)]
    retry: String,
    #[serde(rename = "so", alias = "startOffset")]
    start_offset: i64,
    #[serde(rename = "q", alias = "queueId")]
    queue_id: i32,
    #[serde(rename = "pt", alias = "popTime")]
    pop_time: i64,
    #[serde(rename = "b", alias = "bitSet", default)]
    bit_set: String,
}

impl AckProcessor {
    fn ack(&self, request: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
        let h: AckMessageRequestHeader = request.header()?;
        let handle = self.handle_of(&h.extra_info, &h.topic, h.queue_id, h.offset, false)?;
        if self.pop.ack(&h.consumer_group, &h.topic, &handle).is_err() {
            tracing::debug!(
                group = h.consumer_group,
                topic = h.topic,
                offset = h.offset,
                "ack of a message no longer in flight"
            );
        }
        Ok(success(request))
    }

    fn batch_ack(&self, request: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
        let body: BatchAckBody = serde_json::from_slice(&request.body)
            .map_err(|e| BrokerError::InvalidParameter(format!("bad batch ack body: {e}")))?;
        if body.acks.is_empty() {
            return Ok(RemotingCommand::response_to(
                request,
                ResponseCode::NO_MESSAGE,
                None,
            ));
        }
        if body.acks.len() > BATCH_ACKS_MAX {
            return Err(BrokerError::InvalidParameter(format!(
                "a batch ack holds at most {BATCH_ACKS_MAX} entries"
            )));
        }
        for entry in &body.acks {
            let bits = base64::engine::general_purpose::STANDARD
                .decode(entry.bit_set.as_bytes())
                .ok()
                .filter(|b| b.len() <= BIT_SET_BYTES_MAX)
                .ok_or_else(|| BrokerError::InvalidParameter("bad batch ack bit set".into()))?;
            let topic = real_topic(&entry.topic, &entry.group, &entry.retry);
            for (byte_index, byte) in bits.iter().enumerate() {
                for bit in (0..8).filter(|bit| byte & (1 << bit) != 0) {
                    let delta = i64::try_from(byte_index * 8 + bit).unwrap_or(i64::MAX);
                    let offset = entry.start_offset.saturating_add(delta);
                    let handle = ExtraInfo {
                        ck_offset: entry.start_offset,
                        pop_time: entry.pop_time,
                        invisible_time: 0,
                        revive_qid: 0,
                        topic_type: entry.retry.clone(),
                        broker_name: String::new(),
                        queue_id: entry.queue_id,
                        queue_offset: Some(offset),
                        commit_log_offset: None,
                    };
                    let _ = self.pop.ack(&entry.group, &topic, &handle);
                }
            }
        }
        Ok(success(request))
    }

    fn change_invisible(&self, request: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
        let h: ChangeInvisibleTimeRequestHeader = request.header()?;
        if !(0..=INVISIBLE_MAX_MS).contains(&h.invisible_time) {
            return Err(BrokerError::InvalidParameter(format!(
                "invisibleTime {} is out of [0, {INVISIBLE_MAX_MS}]",
                h.invisible_time
            )));
        }
        let handle = self.handle_of(&h.extra_info, &h.topic, h.queue_id, h.offset, true)?;
        let changed = self
            .pop
            .change_invisible(&h.consumer_group, &h.topic, &handle, h.invisible_time)
            .map_err(|_| BrokerError::Refused {
                code: ResponseCode::NO_MESSAGE,
                remark: format!(
                    "the message at offset {} is no longer in flight (acked, or its invisible time passed)",
                    h.offset
                ),
            })?;
        let header = ChangeInvisibleTimeResponseHeader {
            pop_time: changed.pop_time,
            invisible_time: changed.invisible_time,
            revive_qid: changed.revive_qid,
        };
        Ok(success(request).with_header(&header))
    }

    /// The handle, checked against the topic's queues and the queue's offsets (an offset
    /// equal to the queue's end is refused for a change, as in RocketMQ).
    fn handle_of(
        &self,
        extra_info: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
        strict_end: bool,
    ) -> Result<ExtraInfo, BrokerError> {
        let mut handle = ExtraInfo::parse(extra_info).map_err(|_| {
            BrokerError::InvalidParameter(format!("extraInfo [{extra_info}] is illegal"))
        })?;
        let config = self
            .pop
            .get
            .topics
            .get(topic)
            .ok_or_else(|| BrokerError::TopicNotExist(topic.to_owned()))?;
        if queue_id < 0 || queue_id >= config.read_queue_nums {
            return Err(BrokerError::MessageIllegal(format!(
                "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}]",
                config.read_queue_nums
            )));
        }
        let store = &self.pop.get.store;
        let (min, max) = (
            store.min_offset_in_queue(topic, queue_id),
            store.max_offset_in_queue(topic, queue_id),
        );
        if offset < min || offset > max || (strict_end && offset == max) {
            return Err(BrokerError::Refused {
                code: ResponseCode::NO_MESSAGE,
                remark: format!("offset is illegal, key:{topic}@{queue_id}, store:{min}~{max}"),
            });
        }
        handle.queue_id = queue_id;
        handle.queue_offset = Some(offset);
        Ok(handle)
    }
}
