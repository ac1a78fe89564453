//! Inspection codes mqadmin, slaves and SDKs use to look inside a broker (verified against
//! apache/rocketmq 5.x `AdminBrokerProcessor`): GET_ALL_CONSUMER_OFFSET (43) and
//! GET_ALL_DELAY_OFFSET (45) — the `consumerOffset.json` and `delayOffset.json` documents;
//! QUERY_CONSUME_TIME_SPAN (303) — per write queue, the store times of the first, last and last
//! consumed message and how long the next has waited; QUERY_CONSUME_QUEUE (321,
//! `mqadmin queryCq`) — raw consume-queue units, each judged against a group's subscription;
//! GET_ALL_PRODUCER_INFO (328, `mqadmin producer`); QUERY_TOPICS_BY_CONSUMER (343).

use std::sync::Arc;

use apogee_protocol::body::TopicList;
use apogee_protocol::body::client::MessageQueue;
use apogee_protocol::body::inspect::{
    ConsumeQueueData, ProducerInfo, ProducerTableInfo, QueryConsumeQueueResponseBody,
    QueryConsumeTimeSpanBody, QueueTimeSpan,
};
use apogee_protocol::header::admin::{
    QueryConsumeQueueRequestHeader, QueryConsumeTimeSpanRequestHeader,
    QueryTopicsByConsumerRequestHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode};
use apogee_remoting::Connection;
use apogee_runtime::Clock;
use apogee_store::QueueReader;

use super::{Handler, Identity, blocking, success};
use crate::BrokerError;
use crate::manager::client_registry::ClientRegistry;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::topic_config::TopicConfigs;
use crate::service::schedule::ScheduleService;

/// Most units one QUERY_CONSUME_QUEUE returns.
const QUERY_CQ_UNITS_MAX: usize = 1024;

/// The inspection family.
pub struct InspectProcessor {
    pub store: Arc<dyn QueueReader>,
    pub topics: TopicConfigs,
    pub offsets: ConsumerOffsets,
    pub clients: ClientRegistry,
    pub schedule: Arc<ScheduleService>,
    pub identity: Identity,
    pub clock: Arc<dyn Clock>,
}

impl Handler for InspectProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::GET_ALL_CONSUMER_OFFSET,
        RequestCode::GET_ALL_DELAY_OFFSET,
        RequestCode::QUERY_CONSUME_TIME_SPAN,
        RequestCode::QUERY_CONSUME_QUEUE,
        RequestCode::GET_ALL_PRODUCER_INFO,
        RequestCode::QUERY_TOPICS_BY_CONSUMER,
    ];

    async fn handle(
        &self,
        _connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let body = match request.request_code() {
            RequestCode::GET_ALL_CONSUMER_OFFSET => {
                self.offsets.encode_java().ok_or_else(|| {
                    BrokerError::SystemError("No consumer offset in this broker".into())
                })?
            }
            RequestCode::GET_ALL_DELAY_OFFSET => self
                .schedule
                .encode_java()
                .ok_or_else(|| BrokerError::SystemError("No delay offset in this broker".into()))?,
            RequestCode::QUERY_CONSUME_TIME_SPAN => {
                let span = self.time_span(request.header()?).await?;
                serde_json::to_vec(&span).unwrap_or_default()
            }
            RequestCode::QUERY_CONSUME_QUEUE => {
                let units = self.consume_queue(request.header()?).await?;
                serde_json::to_vec(&units).unwrap_or_default()
            }
            RequestCode::GET_ALL_PRODUCER_INFO => {
                serde_json::to_vec(&self.producers()).unwrap_or_default()
            }
            _ => {
                let h: QueryTopicsByConsumerRequestHeader = request.header()?;
                let list = TopicList {
                    broker_addr: Some(self.identity.store_host.to_string()),
                    topic_list: self.offsets.topics_of_group(&h.group).into_iter().collect(),
                };
                serde_json::to_vec(&list).unwrap_or_default()
            }
        };
        Ok(success(request).with_body(body))
    }
}

impl InspectProcessor {
    /// Java's `queryConsumeTimeSpan`, one entry per write queue.
    async fn time_span(
        &self,
        h: QueryConsumeTimeSpanRequestHeader,
    ) -> Result<QueryConsumeTimeSpanBody, BrokerError> {
        let config = self
            .topics
            .get(&h.topic)
            .ok_or_else(|| BrokerError::TopicNotExist(h.topic.clone()))?;
        let committed: Vec<Option<i64>> = (0..config.write_queue_nums)
            .map(|q| self.offsets.query(&h.group, &h.topic, q))
            .collect();
        let (store, broker_name, now) = (
            Arc::clone(&self.store),
            self.identity.broker_name.clone(),
            self.clock.now_ms(),
        );
        // Store times are record reads, possibly from disk: a blocking thread does them.
        blocking(move || {
            let spans = committed
                .iter()
                .zip(0..)
                .map(|(consumed, queue_id)| {
                    queue_span(&*store, (&h.topic, queue_id, &broker_name), *consumed, now)
                })
                .collect();
            QueryConsumeTimeSpanBody {
                consume_time_span_set: spans,
            }
        })
        .await
    }

    /// Java's `queryConsumeQueue`: the units, each marked `eval` when the group's
    /// subscription takes its tag; SUCCESS without a body past the end.
    async fn consume_queue(
        &self,
        h: QueryConsumeQueueRequestHeader,
    ) -> Result<QueryConsumeQueueResponseBody, BrokerError> {
        let (min, max) = (
            self.store.min_offset_in_queue(&h.topic, h.queue_id),
            self.store.max_offset_in_queue(&h.topic, h.queue_id),
        );
        if self.topics.get(&h.topic).is_none() || max == 0 {
            return Err(BrokerError::SystemError(format!(
                "{}@{} is not exist!",
                h.queue_id, h.topic
            )));
        }
        let subscription = h
            .consumer_group
            .as_deref()
            .and_then(|group| self.clients.subscription(group, &h.topic));
        let filter_data = match (&h.consumer_group, &subscription) {
            (Some(group), None) => Some(format!("{group}@{} is not online!", h.topic)),
            _ => None,
        };
        let count = usize::try_from(h.count.max(0))
            .unwrap_or(0)
            .min(QUERY_CQ_UNITS_MAX);
        let (store, topic) = (Arc::clone(&self.store), h.topic.clone());
        let units = blocking(move || store.queue_units(&topic, h.queue_id, h.index, count)).await?;
        let codes = subscription
            .as_ref()
            .filter(|s| !s.matches_all())
            .map(apogee_protocol::body::client::SubscriptionData::tag_codes);
        let queue_data = units
            .into_iter()
            .map(|(_, unit)| ConsumeQueueData {
                eval: codes.as_ref().is_none_or(|c| {
                    i32::try_from(unit.tags_code).is_ok_and(|code| c.contains(&code))
                }),
                physic_offset: unit.commit_log_offset,
                physic_size: unit.size,
                tags_code: unit.tags_code,
                ..ConsumeQueueData::default()
            })
            .collect();
        Ok(QueryConsumeQueueResponseBody {
            filter_data,
            max_queue_index: max,
            min_queue_index: min,
            queue_data,
            subscription_data: subscription,
        })
    }

    fn producers(&self) -> ProducerTableInfo {
        let data = self
            .clients
            .producer_groups()
            .into_iter()
            .map(|(group, channels)| {
                let infos = channels
                    .into_iter()
                    .map(|c| ProducerInfo {
                        client_id: c.client_id,
                        language: c.language.name().to_owned(),
                        last_update_timestamp: c.last_update_ms,
                        remote_ip: c.connection.peer().to_string(),
                        version: c.version,
                    })
                    .collect();
                (group, infos)
            })
            .collect();
        ProducerTableInfo { data }
    }
}

/// One queue's span: its first and last store times, the store time of the last message the
/// group consumed (the first's when it consumed none), and how long the next has waited.
fn queue_span(
    store: &dyn QueueReader,
    (topic, queue_id, broker_name): (&str, i32, &str),
    consumed: Option<i64>,
    now_ms: i64,
) -> QueueTimeSpan {
    let (min, max) = (
        store.min_offset_in_queue(topic, queue_id),
        store.max_offset_in_queue(topic, queue_id),
    );
    let time_at = |offset: i64| store.store_time_at(topic, queue_id, offset).unwrap_or(0);
    let min_time = time_at(min);
    let consumed = consumed.unwrap_or(0);
    QueueTimeSpan {
        consume_time_stamp: if consumed > 0 {
            time_at(consumed - 1)
        } else {
            min_time
        },
        delay_time: if consumed < max {
            now_ms.saturating_sub(time_at(consumed.max(min)))
        } else {
            0
        },
        max_time_stamp: if max > 0 { time_at(max - 1) } else { 0 },
        message_queue: MessageQueue {
            broker_name: broker_name.to_owned(),
            queue_id,
            topic: topic.to_owned(),
        },
        min_time_stamp: min_time,
    }
}
