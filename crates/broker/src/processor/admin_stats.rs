//! Read-only administration views (REMOTING.md §2.2, §3.8): GET_CONSUME_STATS (208, its
//! `consumeTps` the group's pulls per second over the last minute), GET_TOPIC_STATS_INFO (202),
//! GET_CONSUMER_CONNECTION_LIST (203), GET_PRODUCER_CONNECTION_LIST (204),
//! QUERY_TOPIC_CONSUME_BY_WHO (300), VIEW_BROKER_STATS_DATA (315: one stats item's minute,
//! hour and day figures) and GET_BROKER_CONSUME_STATS (317: every group's consume stats).
//! Bodies keyed by MessageQueue are written in Java's object-key form.

use std::collections::BTreeSet;
use std::sync::Arc;

use apogee_protocol::body::admin::{
    Connection as ClientConnection, ConsumeStats, ConsumerConnection, GroupList, OffsetWrapper,
    ProducerConnection, TopicOffset, TopicStatsTable, to_java_json,
};
use apogee_protocol::body::client::MessageQueue;
use apogee_protocol::body::stats::ConsumeStatsList;
use apogee_protocol::header::admin::{
    GetConsumeStatsInBrokerHeader, GetConsumeStatsRequestHeader,
    GetConsumerConnectionListRequestHeader, GetProducerConnectionListRequestHeader,
    GetTopicStatsInfoRequestHeader, QueryTopicConsumeByWhoRequestHeader,
    ViewBrokerStatsDataRequestHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode};
use apogee_remoting::Connection;
use apogee_store::QueueReader;

use super::{Handler, Identity, success};
use crate::BrokerError;
use crate::manager::client_registry::{ClientChannel, ClientRegistry};
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::subscription_group::SubscriptionGroups;
use crate::manager::topic_config::TopicConfigs;
use crate::stats::BrokerStats;

/// The statistics and connection-list family.
#[derive(Clone)]
pub struct StatsProcessor {
    pub store: Arc<dyn QueueReader>,
    pub topics: TopicConfigs,
    pub offsets: ConsumerOffsets,
    pub clients: ClientRegistry,
    pub identity: Identity,
    pub groups: SubscriptionGroups,
    pub stats: BrokerStats,
}

impl Handler for StatsProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::GET_CONSUME_STATS,
        RequestCode::GET_TOPIC_STATS_INFO,
        RequestCode::GET_CONSUMER_CONNECTION_LIST,
        RequestCode::GET_PRODUCER_CONNECTION_LIST,
        RequestCode::QUERY_TOPIC_CONSUME_BY_WHO,
        RequestCode::VIEW_BROKER_STATS_DATA,
        RequestCode::GET_BROKER_CONSUME_STATS,
    ];

    async fn handle(
        &self,
        _connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let body = match request.request_code() {
            RequestCode::GET_CONSUME_STATS => to_java_json(&self.consume_stats(&request.header()?)),
            RequestCode::GET_TOPIC_STATS_INFO => {
                to_java_json(&self.topic_stats(&request.header()?)?)
            }
            RequestCode::GET_CONSUMER_CONNECTION_LIST => {
                let h: GetConsumerConnectionListRequestHeader = request.header()?;
                to_java_json(&self.consumer_connections(&h.consumer_group)?)
            }
            RequestCode::GET_PRODUCER_CONNECTION_LIST => {
                let h: GetProducerConnectionListRequestHeader = request.header()?;
                let channels = self
                    .clients
                    .producer_group(&h.producer_group)
                    .ok_or_else(|| {
                        BrokerError::SystemError(format!(
                            "the producer group[{}] not exist",
                            h.producer_group
                        ))
                    })?;
                to_java_json(&ProducerConnection {
                    connection_set: connections(&channels),
                })
            }
            RequestCode::VIEW_BROKER_STATS_DATA => {
                let h: ViewBrokerStatsDataRequestHeader = request.header()?;
                let item = self
                    .stats
                    .items()
                    .item(&h.stats_name, &h.stats_key)
                    .ok_or_else(|| {
                        BrokerError::SystemError(format!(
                            "The stats <{}> <{}> not exist",
                            h.stats_name, h.stats_key
                        ))
                    })?;
                to_java_json(&item.data(self.stats.now_ms()))
            }
            RequestCode::GET_BROKER_CONSUME_STATS => {
                let h: GetConsumeStatsInBrokerHeader = request.header()?;
                to_java_json(&self.broker_consume_stats(h.is_order))
            }
            _ => {
                let h: QueryTopicConsumeByWhoRequestHeader = request.header()?;
                let mut groups = self.clients.groups_subscribed_to(&h.topic);
                groups.extend(self.offsets.groups_of_topic(&h.topic));
                to_java_json(&GroupList { group_list: groups })
            }
        };
        Ok(success(request).with_body(body))
    }
}

impl StatsProcessor {
    fn queue(&self, topic: &str, queue_id: i32) -> MessageQueue {
        MessageQueue {
            broker_name: self.identity.broker_name.clone(),
            queue_id,
            topic: topic.to_owned(),
        }
    }

    /// Java's `getConsumeStats`: every readable queue of the requested topic (or of every
    /// topic the group has committed offsets for), skipping topics an online group does not
    /// subscribe to.
    fn consume_stats(&self, h: &GetConsumeStatsRequestHeader) -> ConsumeStats {
        let group = h.consumer_group.as_str();
        let topics: BTreeSet<String> = match h.topic.as_deref().map(str::trim) {
            Some(topic) if !topic.is_empty() => [topic.to_owned()].into(),
            _ => self.offsets.topics_of_group(group),
        };
        let subscribed = self
            .clients
            .consumer_group(group)
            .map(|info| info.subscriptions)
            .filter(|subs| !subs.is_empty());
        let mut stats = ConsumeStats::default();
        for topic in topics {
            let Some(config) = self.topics.get(&topic) else {
                continue;
            };
            if subscribed.as_ref().is_some_and(|s| !s.contains_key(&topic)) {
                continue;
            }
            for queue_id in 0..config.read_queue_nums {
                let wrapper = self.queue_progress(group, &topic, queue_id);
                stats
                    .offset_table
                    .insert(self.queue(&topic, queue_id), wrapper);
            }
            stats.consume_tps += self.group_tps(&topic, group);
        }
        stats
    }

    fn group_tps(&self, topic: &str, group: &str) -> f64 {
        self.stats
            .items()
            .group_get_tps(topic, group, self.stats.now_ms())
    }

    /// Java's `fetchAllConsumeStatsInBroker`: for every subscription group, one ConsumeStats
    /// per topic it has offsets for (ordered topics only when `ordered_only`), skipping topics
    /// without a config and topics an online group does not subscribe to.
    pub(crate) fn broker_consume_stats(&self, ordered_only: bool) -> ConsumeStatsList {
        let mut list = ConsumeStatsList {
            broker_addr: self.identity.store_host.to_string(),
            ..ConsumeStatsList::default()
        };
        for group in self.groups.snapshot().subscription_group_table.into_keys() {
            let subscribed = self
                .clients
                .consumer_group(&group)
                .map(|info| info.subscriptions)
                .filter(|subs| !subs.is_empty());
            let mut per_topic = Vec::new();
            for topic in self.offsets.topics_of_group(&group) {
                let Some(config) = self.topics.get(&topic) else {
                    continue;
                };
                if (ordered_only && !config.order)
                    || subscribed.as_ref().is_some_and(|s| !s.contains_key(&topic))
                {
                    continue;
                }
                let mut stats = ConsumeStats::default();
                for queue_id in 0..config.write_queue_nums {
                    let wrapper = self.queue_progress(&group, &topic, queue_id);
                    stats
                        .offset_table
                        .insert(self.queue(&topic, queue_id), wrapper);
                }
                stats.consume_tps = self.group_tps(&topic, &group);
                list.total_diff += stats.total_diff();
                per_topic.push(stats);
            }
            list.consume_stats_list.push([(group, per_topic)].into());
        }
        list
    }

    fn queue_progress(&self, group: &str, topic: &str, queue_id: i32) -> OffsetWrapper {
        let consumer_offset = self
            .offsets
            .query(group, topic, queue_id)
            .unwrap_or(0)
            .max(0);
        let last_timestamp = if consumer_offset > 0 {
            self.store
                .store_time_at(topic, queue_id, consumer_offset - 1)
                .filter(|t| *t > 0)
                .unwrap_or(0)
        } else {
            0
        };
        OffsetWrapper {
            broker_offset: self.store.max_offset_in_queue(topic, queue_id).max(0),
            consumer_offset,
            last_timestamp,
            pull_offset: self
                .offsets
                .pulled(group, topic, queue_id)
                .unwrap_or(0)
                .max(consumer_offset),
        }
    }

    /// Java's `getTopicStatsInfo`: min, max and the newest store time of each writable queue.
    fn topic_stats(
        &self,
        h: &GetTopicStatsInfoRequestHeader,
    ) -> Result<TopicStatsTable, BrokerError> {
        let config = self
            .topics
            .get(&h.topic)
            .ok_or_else(|| BrokerError::TopicNotExist(h.topic.clone()))?;
        let mut table = TopicStatsTable::default();
        for queue_id in 0..config.write_queue_nums {
            let min_offset = self.store.min_offset_in_queue(&h.topic, queue_id).max(0);
            let max_offset = self.store.max_offset_in_queue(&h.topic, queue_id).max(0);
            let last_update_timestamp = if max_offset > 0 {
                self.store
                    .store_time_at(&h.topic, queue_id, max_offset - 1)
                    .unwrap_or(-1)
            } else {
                0
            };
            table.offset_table.insert(
                self.queue(&h.topic, queue_id),
                TopicOffset {
                    last_update_timestamp,
                    max_offset,
                    min_offset,
                },
            );
        }
        Ok(table)
    }

    fn consumer_connections(&self, group: &str) -> Result<ConsumerConnection, BrokerError> {
        let info = self.clients.consumer_group(group).ok_or_else(|| {
            BrokerError::ConsumerNotOnline(format!("the consumer group[{group}] not online"))
        })?;
        let channels: Vec<ClientChannel> = info.channels.into_values().collect();
        let mut connection_set = connections(&channels);
        connection_set.extend(info.others.into_values().map(|c| ClientConnection {
            client_addr: c.addr,
            client_id: c.client_id,
            language: c.language.name().to_owned(),
            version: c.version,
        }));
        Ok(ConsumerConnection {
            connection_set,
            consume_from_where: info.consume_from_where,
            consume_type: info.consume_type,
            message_model: info.message_model,
            subscription_table: info.subscriptions.into_iter().collect(),
        })
    }
}

/// One entry per channel, ordered by client id then address.
fn connections(channels: &[ClientChannel]) -> Vec<ClientConnection> {
    let mut out: Vec<ClientConnection> = channels
        .iter()
        .map(|c| ClientConnection {
            client_addr: c.connection.peer().to_string(),
            client_id: c.client_id.clone(),
            language: c.language.name().to_owned(),
            version: c.version,
        })
        .collect();
    out.sort_by(|a, b| (&a.client_id, &a.client_addr).cmp(&(&b.client_id, &b.client_addr)));
    out
}
