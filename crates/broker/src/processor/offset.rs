//! Offsets (REMOTING.md §3.3, §3.5): QUERY/UPDATE_CONSUMER_OFFSET, GET_MAX/MIN_OFFSET,
//! SEARCH_OFFSET_BY_TIMESTAMP, GET_EARLIEST_MSG_STORETIME.

use std::sync::Arc;

use apogee_protocol::header::consumer::{
    GetEarliestMsgStoretimeResponseHeader, GetMaxOffsetRequestHeader, OffsetResponseHeader,
    QueryConsumerOffsetRequestHeader, QueueRequestHeader, SearchOffsetRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::Connection;
use apogee_store::QueueReader;

use super::{Handler, blocking, success};
use crate::BrokerError;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::subscription_group::SubscriptionGroups;
use crate::manager::topic_config::TopicConfigs;

/// The offset family.
pub struct OffsetProcessor {
    pub store: Arc<dyn QueueReader>,
    pub offsets: ConsumerOffsets,
    pub topics: TopicConfigs,
    pub groups: SubscriptionGroups,
}

impl Handler for OffsetProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::QUERY_CONSUMER_OFFSET,
        RequestCode::UPDATE_CONSUMER_OFFSET,
        RequestCode::GET_MAX_OFFSET,
        RequestCode::GET_MIN_OFFSET,
        RequestCode::SEARCH_OFFSET_BY_TIMESTAMP,
        RequestCode::GET_EARLIEST_MSG_STORETIME,
    ];

    async fn handle(
        &self,
        _connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let offset = |offset: i64| {
            RemotingCommand::response_to(request, ResponseCode::SUCCESS, None)
                .with_header(&OffsetResponseHeader { offset })
        };
        match request.request_code() {
            RequestCode::QUERY_CONSUMER_OFFSET => self.query(request.header()?).map(offset),
            RequestCode::UPDATE_CONSUMER_OFFSET => {
                let h: UpdateConsumerOffsetRequestHeader = request.header()?;
                self.check_queue(&h.topic, h.queue_id)?;
                // Only a real group (created now if auto-creation allows) gets an offset entry.
                self.groups.find_or_create(&h.consumer_group)?;
                if self.offsets.commit_unless_reset(
                    &h.consumer_group,
                    &h.topic,
                    h.queue_id,
                    h.commit_offset,
                ) {
                    Ok(success(request))
                } else {
                    // Java 5.x: the client still holds the position from before a reset.
                    Ok(success(request).with_remark("Offset has been previously reset"))
                }
            }
            RequestCode::GET_MAX_OFFSET => {
                let h: GetMaxOffsetRequestHeader = request.header()?;
                Ok(offset(
                    self.store.queue_offset_range(&h.topic, h.queue_id)?.1,
                ))
            }
            RequestCode::GET_MIN_OFFSET => {
                let h: QueueRequestHeader = request.header()?;
                Ok(offset(
                    self.store.queue_offset_range(&h.topic, h.queue_id)?.0,
                ))
            }
            // Both read records that may be on disk: a blocking thread does it.
            RequestCode::SEARCH_OFFSET_BY_TIMESTAMP => {
                let (store, h) = (Arc::clone(&self.store), request.header()?);
                Ok(offset(blocking(move || search(&*store, &h)).await??))
            }
            _ => {
                let h: QueueRequestHeader = request.header()?;
                let store = Arc::clone(&self.store);
                let timestamp = blocking(move || {
                    let min = store.min_offset_in_queue(&h.topic, h.queue_id);
                    store.store_time_at(&h.topic, h.queue_id, min).unwrap_or(-1)
                })
                .await?;
                Ok(
                    RemotingCommand::response_to(request, ResponseCode::SUCCESS, None)
                        .with_header(&GetEarliestMsgStoretimeResponseHeader { timestamp }),
                )
            }
        }
    }
}

impl OffsetProcessor {
    /// §3.5: the stored offset; else 0 for a queue that still starts at 0 (unless the client
    /// said `setZeroIfNotFound=false`); else QUERY_NOT_FOUND.
    fn query(&self, h: QueryConsumerOffsetRequestHeader) -> Result<i64, BrokerError> {
        if let Some(offset) = self.offsets.query(&h.consumer_group, &h.topic, h.queue_id) {
            return Ok(offset);
        }
        // A queue that cannot be opened now answers an error, not 0 (a rewind to the start).
        let (min, _) = self.store.queue_offset_range(&h.topic, h.queue_id)?;
        if h.set_zero_if_not_found != Some(false) && min <= 0 {
            return Ok(0);
        }
        Err(BrokerError::QueryNotFound(
            "Not found, do not set to zero, maybe this group boot first".into(),
        ))
    }

    fn check_queue(&self, topic: &str, queue_id: i32) -> Result<(), BrokerError> {
        let config = self
            .topics
            .get(topic)
            .ok_or_else(|| BrokerError::TopicNotExist(topic.to_owned()))?;
        if queue_id < 0 || queue_id >= config.read_queue_nums.max(config.write_queue_nums) {
            return Err(BrokerError::InvalidParameter(format!(
                "queueId[{queue_id}] is illegal for topic {topic}"
            )));
        }
        Ok(())
    }
}

/// LOWER: the first offset stored at or after `timestamp`; UPPER: the last stored at or
/// before it. An error while the queue cannot be opened (not 0: a rewind to the start).
fn search(
    store: &dyn QueueReader,
    h: &SearchOffsetRequestHeader,
) -> Result<i64, apogee_store::StoreError> {
    store.queue_offset_range(&h.topic, h.queue_id)?;
    let upper = h
        .boundary_type
        .as_deref()
        .is_some_and(|b| b.eq_ignore_ascii_case("UPPER"));
    if upper {
        let after = store.offset_by_time(&h.topic, h.queue_id, h.timestamp.saturating_add(1));
        Ok((after - 1).max(store.min_offset_in_queue(&h.topic, h.queue_id)))
    } else {
        Ok(store.offset_by_time(&h.topic, h.queue_id, h.timestamp))
    }
}
