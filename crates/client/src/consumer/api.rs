//! The broker calls consumers make, as typed methods on the client instance.

use std::collections::BTreeSet;
use std::time::Duration;

use apogee_protocol::body::client::{
    ConsumerIdList, LockBatchRequestBody, LockBatchResponseBody, MessageQueue,
};
use apogee_protocol::header::consumer::{
    ConsumerGroupHeader, ConsumerSendMsgBackRequestHeader, GetMaxOffsetRequestHeader,
    OffsetResponseHeader, QueryConsumerOffsetRequestHeader, QueueRequestHeader,
    SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use apogee_protocol::header::message::{PullMessageRequestHeader, PullMessageResponseHeader};
use apogee_protocol::record::{RecordAt, decode_record};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::instance::ClientInstance;
use crate::message::{MessageExt, property};
use crate::{ClientError, Result};

/// What a pull found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    Found,
    NoNewMsg,
    NoMatchedMsg,
    /// The requested offset is outside the queue (or an offset reset is pending): continue
    /// from `next_begin_offset`.
    OffsetIllegal,
}

/// The outcome of one PULL_MESSAGE.
#[derive(Debug, Clone)]
pub struct PullResult {
    pub status: PullStatus,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    pub suggest_which_broker_id: i64,
    pub messages: Vec<MessageExt>,
}

impl ClientInstance {
    /// PULL_MESSAGE to `addr`. `tags` (empty = all) filters client-side too, as the broker
    /// filters by tag hash only.
    pub(crate) async fn pull(
        &self,
        addr: &str,
        header: PullMessageRequestHeader,
        tags: &BTreeSet<String>,
        timeout: Duration,
    ) -> Result<PullResult> {
        let broker_name = header.broker_name.clone().unwrap_or_default();
        let request = RemotingCommand::request(RequestCode::PULL_MESSAGE, &header);
        let response = self.invoke(addr, request, timeout).await?;
        let status = match response.response_code() {
            ResponseCode::SUCCESS => PullStatus::Found,
            ResponseCode::PULL_NOT_FOUND => PullStatus::NoNewMsg,
            ResponseCode::PULL_RETRY_IMMEDIATELY => PullStatus::NoMatchedMsg,
            ResponseCode::PULL_OFFSET_MOVED => PullStatus::OffsetIllegal,
            _ => return Err(ClientError::refused(addr, &response)),
        };
        let h: PullMessageResponseHeader = response
            .header()
            .map_err(|e| ClientError::bad_response(addr, e))?;
        let mut messages = Vec::new();
        if status == PullStatus::Found {
            let mut at = 0;
            while at < response.body.len() {
                match decode_record(&response.body, at, false) {
                    Ok((RecordAt::Message(record), size)) => {
                        at += size;
                        let mut msg = MessageExt::from_record(record, &broker_name);
                        if !tags.is_empty() && !msg.tags().is_some_and(|t| tags.contains(t)) {
                            continue;
                        }
                        if msg.property(property::TRAN_MSG) == Some("true")
                            && let Some(id) = msg.property(property::UNIQ_KEY).map(str::to_owned)
                        {
                            msg.properties.insert(property::TRANSACTION_ID.into(), id);
                        }
                        msg.properties
                            .insert(property::MIN_OFFSET.into(), h.min_offset.to_string());
                        msg.properties
                            .insert(property::MAX_OFFSET.into(), h.max_offset.to_string());
                        messages.push(msg);
                    }
                    Ok((RecordAt::Blank { .. }, _)) => break,
                    Err(e) => {
                        // Java stops at the first undecodable record too; the offsets of what
                        // was decoded stay valid.
                        tracing::warn!(%addr, error = %e, "undecodable record in pull body");
                        break;
                    }
                }
            }
        }
        Ok(PullResult {
            status,
            next_begin_offset: h.next_begin_offset,
            min_offset: h.min_offset,
            max_offset: h.max_offset,
            suggest_which_broker_id: h.suggest_which_broker_id,
            messages,
        })
    }

    /// GET_CONSUMER_LIST_BY_GROUP: the client ids of the group as `addr` knows them.
    pub(crate) async fn consumer_ids(&self, addr: &str, group: &str) -> Result<Vec<String>> {
        let header = ConsumerGroupHeader {
            consumer_group: group.to_owned(),
        };
        let request = RemotingCommand::request(RequestCode::GET_CONSUMER_LIST_BY_GROUP, &header);
        let response = self
            .invoke_ok(addr, request, self.config.request_timeout)
            .await?;
        let list: ConsumerIdList =
            apogee_protocol::body::from_json("consumer id list", &response.body)
                .map_err(|e| ClientError::bad_response(addr, e))?;
        Ok(list.consumer_id_list)
    }

    /// QUERY_CONSUMER_OFFSET: `Ok(None)` when the broker has no offset for the group.
    pub(crate) async fn query_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        queue: &MessageQueue,
    ) -> Result<Option<i64>> {
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            set_zero_if_not_found: Some(false),
            broker_name: Some(queue.broker_name.clone()),
        };
        let request = RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET, &header);
        let response = self
            .invoke(addr, request, self.config.request_timeout)
            .await?;
        match response.response_code() {
            ResponseCode::SUCCESS => {
                let h: OffsetResponseHeader = response
                    .header()
                    .map_err(|e| ClientError::bad_response(addr, e))?;
                Ok(Some(h.offset))
            }
            ResponseCode::QUERY_NOT_FOUND => Ok(None),
            _ => Err(ClientError::refused(addr, &response)),
        }
    }

    /// UPDATE_CONSUMER_OFFSET, oneway as Java sends it.
    pub(crate) async fn update_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        queue: &MessageQueue,
        offset: i64,
        oneway: bool,
    ) -> Result<()> {
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            commit_offset: offset,
            broker_name: Some(queue.broker_name.clone()),
        };
        let request = RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET, &header);
        if oneway {
            self.invoke_oneway(addr, request.into_oneway(), self.config.request_timeout)
                .await
        } else {
            self.invoke_ok(addr, request, self.config.request_timeout)
                .await
                .map(|_| ())
        }
    }

    async fn offset_call(&self, addr: &str, request: RemotingCommand) -> Result<i64> {
        let response = self
            .invoke_ok(addr, request, self.config.request_timeout)
            .await?;
        let h: OffsetResponseHeader = response
            .header()
            .map_err(|e| ClientError::bad_response(addr, e))?;
        Ok(h.offset)
    }

    /// GET_MAX_OFFSET: the offset the next message of `queue` will get.
    pub async fn max_offset(&self, addr: &str, queue: &MessageQueue) -> Result<i64> {
        let header = GetMaxOffsetRequestHeader {
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            committed: Some(true),
            broker_name: Some(queue.broker_name.clone()),
        };
        self.offset_call(
            addr,
            RemotingCommand::request(RequestCode::GET_MAX_OFFSET, &header),
        )
        .await
    }

    /// GET_MIN_OFFSET: the oldest offset still stored.
    pub async fn min_offset(&self, addr: &str, queue: &MessageQueue) -> Result<i64> {
        let header = QueueRequestHeader {
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            broker_name: Some(queue.broker_name.clone()),
        };
        self.offset_call(
            addr,
            RemotingCommand::request(RequestCode::GET_MIN_OFFSET, &header),
        )
        .await
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP: the first offset stored at or after `timestamp_ms`.
    pub async fn search_offset(
        &self,
        addr: &str,
        queue: &MessageQueue,
        timestamp_ms: i64,
    ) -> Result<i64> {
        let header = SearchOffsetRequestHeader {
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            timestamp: timestamp_ms,
            boundary_type: Some("LOWER".into()),
            broker_name: Some(queue.broker_name.clone()),
        };
        self.offset_call(
            addr,
            RemotingCommand::request(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, &header),
        )
        .await
    }

    /// CONSUMER_SEND_MSG_BACK: hand a failed message to the broker's retry/DLQ path.
    pub(crate) async fn send_back(
        &self,
        addr: &str,
        group: &str,
        msg: &MessageExt,
        delay_level: i32,
        max_reconsume_times: i32,
    ) -> Result<()> {
        let header = ConsumerSendMsgBackRequestHeader {
            offset: msg.commit_log_offset,
            group: group.to_owned(),
            delay_level,
            origin_msg_id: Some(msg.msg_id.clone()),
            origin_topic: Some(msg.topic.clone()),
            unit_mode: Some(false),
            max_reconsume_times: Some(max_reconsume_times),
            broker_name: Some(msg.broker_name.clone()),
        };
        let request = RemotingCommand::request(RequestCode::CONSUMER_SEND_MSG_BACK, &header);
        self.invoke_ok(addr, request, self.config.request_timeout)
            .await
            .map(|_| ())
    }

    /// LOCK_BATCH_MQ: the queues the broker granted us.
    pub(crate) async fn lock_queues(
        &self,
        addr: &str,
        group: &str,
        queues: BTreeSet<MessageQueue>,
    ) -> Result<BTreeSet<MessageQueue>> {
        let body = LockBatchRequestBody {
            client_id: self.client_id().to_owned(),
            consumer_group: group.to_owned(),
            mq_set: queues,
            only_this_broker: false,
        };
        let request = RemotingCommand::bare_request(RequestCode::LOCK_BATCH_MQ)
            .with_body(serde_json::to_vec(&body).unwrap_or_default());
        let response = self
            .invoke_ok(addr, request, self.config.request_timeout)
            .await?;
        let granted: LockBatchResponseBody =
            apogee_protocol::body::from_json("lock response", &response.body)
                .map_err(|e| ClientError::bad_response(addr, e))?;
        Ok(granted.lock_ok_mq_set)
    }

    /// UNLOCK_BATCH_MQ.
    pub(crate) async fn unlock_queues(
        &self,
        addr: &str,
        group: &str,
        queues: BTreeSet<MessageQueue>,
    ) -> Result<()> {
        let body = LockBatchRequestBody {
            client_id: self.client_id().to_owned(),
            consumer_group: group.to_owned(),
            mq_set: queues,
            only_this_broker: false,
        };
        let request = RemotingCommand::bare_request(RequestCode::UNLOCK_BATCH_MQ)
            .with_body(serde_json::to_vec(&body).unwrap_or_default());
        self.invoke_ok(addr, request, self.config.request_timeout)
            .await
            .map(|_| ())
    }
}
