//! The admin API (what `mqadmin` and the console use): topics, subscription groups, routes,
//! clusters, consumer progress, connections and offset resets, over the same remoting calls
//! the Java admin tools make.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use apogee_model::TopicName;
use apogee_protocol::body::admin::{
    ConsumeStats, ConsumerConnection, GroupList, ProducerConnection, ResetOffsetBody,
    SubscriptionGroupConfig, SubscriptionGroupWrapper, TopicConfigSerializeWrapper,
    TopicStatsTable,
};
use apogee_protocol::body::client::MessageQueue;
use apogee_protocol::body::route::{ClusterInfo, TopicRouteData};
use apogee_protocol::body::{TopicList, from_json};
use apogee_protocol::header::admin::{
    CreateTopicRequestHeader, DeleteSubscriptionGroupRequestHeader, DeleteTopicRequestHeader,
    GetConsumeStatsRequestHeader, GetConsumerConnectionListRequestHeader,
    GetProducerConnectionListRequestHeader, GetTopicStatsInfoRequestHeader,
    QueryTopicConsumeByWhoRequestHeader, ResetOffsetRequestHeader,
};
use apogee_protocol::header::namesrv::DeleteTopicFromNamesrvRequestHeader;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use serde::de::DeserializeOwned;

use crate::config::ClientConfig;
use crate::instance::ClientInstance;
use crate::{ClientError, Result};

/// What a topic should look like (`updateTopic`'s options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub topic: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    /// 6 = read + write, 4 = read only, 2 = write only.
    pub perm: i32,
    pub order: bool,
    /// `+key=value,-key` changes to the topic's attributes.
    pub attributes: Option<String>,
}

impl TopicSpec {
    /// 8 read and write queues, read-write: mqadmin's defaults.
    pub fn new(topic: impl Into<String>) -> Self {
        Self {
            topic: topic.into(),
            read_queue_nums: 8,
            write_queue_nums: 8,
            perm: 6,
            order: false,
            attributes: None,
        }
    }
}

/// An admin client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Admin {
    instance: Arc<ClientInstance>,
}

impl Admin {
    pub async fn start(client: ClientConfig) -> Result<Admin> {
        Ok(Admin {
            instance: ClientInstance::get(&client).await?,
        })
    }

    pub fn instance(&self) -> &Arc<ClientInstance> {
        &self.instance
    }

    pub(crate) async fn call(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<RemotingCommand> {
        self.instance
            .invoke_ok(addr, request, self.instance.config.request_timeout)
            .await
    }

    pub(crate) async fn call_json<T: DeserializeOwned>(
        &self,
        addr: &str,
        request: RemotingCommand,
        what: &str,
    ) -> Result<T> {
        let response = self.call(addr, request).await?;
        from_json(what, &response.body).map_err(|e| ClientError::bad_response(addr, e))
    }

    async fn namesrv_json<T: DeserializeOwned>(
        &self,
        request: RemotingCommand,
        what: &str,
    ) -> Result<T> {
        let (addr, response) = self.instance.invoke_namesrv(request).await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(ClientError::refused(&addr, &response));
        }
        from_json(what, &response.body).map_err(|e| ClientError::bad_response(&addr, e))
    }

    // ---- NameServer ----

    /// Brokers by name and cluster (GET_BROKER_CLUSTER_INFO).
    pub async fn cluster_info(&self) -> Result<ClusterInfo> {
        self.namesrv_json(
            RemotingCommand::bare_request(RequestCode::GET_BROKER_CLUSTER_INFO),
            "cluster info",
        )
        .await
    }

    /// Master addresses of every broker in `cluster`.
    pub async fn cluster_masters(&self, cluster: &str) -> Result<Vec<String>> {
        let info = self.cluster_info().await?;
        let names = info
            .cluster_addr_table
            .iter()
            .find(|(c, _)| c.as_str() == cluster)
            .map(|(_, names)| names.clone())
            .ok_or_else(|| {
                ClientError::Config(format!(
                    "cluster `{cluster}` is unknown to the NameServer; `clusterList` shows the clusters"
                ))
            })?;
        Ok(names
            .iter()
            .filter_map(|n| info.broker_addr_table.get(n))
            .filter_map(|b| b.broker_addrs.get(&apogee_model::MASTER_ID).cloned())
            .collect())
    }

    /// The route of `topic`; [`ClientError::NoRoute`] when there is none.
    pub async fn topic_route(&self, topic: &str) -> Result<TopicRouteData> {
        self.instance
            .fetch_route(topic)
            .await?
            .ok_or_else(|| self.instance.no_route(topic))
    }

    /// Every topic the NameServer knows.
    pub async fn topic_list(&self) -> Result<BTreeSet<String>> {
        let list: TopicList = self
            .namesrv_json(
                RemotingCommand::bare_request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
                "topic list",
            )
            .await?;
        Ok(list.topic_list.into_iter().collect())
    }

    // ---- topics ----

    /// Creates or updates `spec.topic` on one broker.
    pub async fn create_topic(&self, broker_addr: &str, spec: &TopicSpec) -> Result<()> {
        TopicName::new(spec.topic.clone())
            .map_err(|e| ClientError::Config(format!("topic `{}`: {e}", spec.topic)))?;
        let header = CreateTopicRequestHeader {
            topic: spec.topic.clone(),
            default_topic: crate::AUTO_CREATE_TOPIC_KEY.into(),
            read_queue_nums: spec.read_queue_nums,
            write_queue_nums: spec.write_queue_nums,
            perm: spec.perm,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: spec.order,
            attributes: spec.attributes.clone(),
            force: Some(false),
        };
        self.call(
            broker_addr,
            RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC, &header),
        )
        .await
        .map(|_| ())
    }

    /// Creates or updates the topic on every master of `cluster`; returns their addresses.
    pub async fn create_topic_in_cluster(
        &self,
        cluster: &str,
        spec: &TopicSpec,
    ) -> Result<Vec<String>> {
        let masters = self.cluster_masters(cluster).await?;
        for addr in &masters {
            self.create_topic(addr, spec).await?;
        }
        Ok(masters)
    }

    /// Deletes `topic` from every master of `cluster`, then from every NameServer. Brokers
    /// refuse while the topic has clients online unless `force`.
    pub async fn delete_topic(&self, cluster: &str, topic: &str, force: bool) -> Result<()> {
        for addr in self.cluster_masters(cluster).await? {
            let header = DeleteTopicRequestHeader {
                topic: topic.to_owned(),
                force: Some(force),
            };
            self.call(
                &addr,
                RemotingCommand::request(RequestCode::DELETE_TOPIC_IN_BROKER, &header),
            )
            .await?;
        }
        let name = TopicName::new(topic.to_owned())
            .map_err(|e| ClientError::Config(format!("topic `{topic}`: {e}")))?;
        for addr in self.instance.name_server_addrs() {
            let header = DeleteTopicFromNamesrvRequestHeader {
                topic: name.clone(),
                cluster_name: Some(cluster.to_owned()),
            };
            self.call(
                &addr,
                RemotingCommand::request(RequestCode::DELETE_TOPIC_IN_NAMESRV, &header),
            )
            .await?;
        }
        Ok(())
    }

    /// Every topic config of one broker (GET_ALL_TOPIC_CONFIG).
    pub async fn topic_configs(&self, broker_addr: &str) -> Result<TopicConfigSerializeWrapper> {
        self.call_json(
            broker_addr,
            RemotingCommand::bare_request(RequestCode::GET_ALL_TOPIC_CONFIG),
            "topic configs",
        )
        .await
    }

    /// Min/max offsets per queue of `topic` across its brokers.
    pub async fn topic_stats(&self, topic: &str) -> Result<TopicStatsTable> {
        let mut merged = TopicStatsTable::default();
        for addr in self.route_masters(topic).await? {
            let stats = self.topic_stats_on(&addr, topic).await?;
            merged.offset_table.extend(stats.offset_table);
        }
        Ok(merged)
    }

    /// GET_TOPIC_STATS_INFO on one broker (no route lookup).
    pub async fn topic_stats_on(&self, broker_addr: &str, topic: &str) -> Result<TopicStatsTable> {
        let header = GetTopicStatsInfoRequestHeader {
            topic: topic.to_owned(),
        };
        self.call_json(
            broker_addr,
            RemotingCommand::request(RequestCode::GET_TOPIC_STATS_INFO, &header),
            "topic stats",
        )
        .await
    }

    /// Master addresses of every broker the NameServer knows.
    async fn all_masters(&self) -> Result<Vec<String>> {
        let info = self.cluster_info().await?;
        Ok(info
            .broker_addr_table
            .values()
            .filter_map(|b| b.broker_addrs.get(&apogee_model::MASTER_ID).cloned())
            .collect())
    }

    /// Master addresses of the brokers in `topic`'s route.
    pub(crate) async fn route_masters(&self, topic: &str) -> Result<Vec<String>> {
        let route = self.topic_route(topic).await?;
        Ok(route
            .broker_datas
            .iter()
            .filter_map(|b| b.broker_addrs.get(&apogee_model::MASTER_ID).cloned())
            .collect())
    }

    // ---- subscription groups ----

    pub async fn create_subscription_group(
        &self,
        broker_addr: &str,
        config: &SubscriptionGroupConfig,
    ) -> Result<()> {
        let body = serde_json::to_vec(config).map_err(|e| ClientError::Config(e.to_string()))?;
        self.call(
            broker_addr,
            RemotingCommand::bare_request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
                .with_body(body),
        )
        .await
        .map(|_| ())
    }

    /// Creates or updates the group on every master of `cluster`.
    pub async fn create_subscription_group_in_cluster(
        &self,
        cluster: &str,
        config: &SubscriptionGroupConfig,
    ) -> Result<Vec<String>> {
        let masters = self.cluster_masters(cluster).await?;
        for addr in &masters {
            self.create_subscription_group(addr, config).await?;
        }
        Ok(masters)
    }

    /// Deletes the group on every master of `cluster` (and its offsets with `clean_offset`).
    pub async fn delete_subscription_group(
        &self,
        cluster: &str,
        group: &str,
        clean_offset: bool,
    ) -> Result<()> {
        for addr in self.cluster_masters(cluster).await? {
            self.delete_subscription_group_on(&addr, group, clean_offset)
                .await?;
        }
        Ok(())
    }

    /// Deletes the group on one broker (and its offsets with `clean_offset`).
    pub async fn delete_subscription_group_on(
        &self,
        broker_addr: &str,
        group: &str,
        clean_offset: bool,
    ) -> Result<()> {
        let header = DeleteSubscriptionGroupRequestHeader {
            group_name: group.to_owned(),
            clean_offset: Some(clean_offset),
        };
        self.call(
            broker_addr,
            RemotingCommand::request(RequestCode::DELETE_SUBSCRIPTIONGROUP, &header),
        )
        .await
        .map(|_| ())
    }

    pub async fn subscription_groups(&self, broker_addr: &str) -> Result<SubscriptionGroupWrapper> {
        self.call_json(
            broker_addr,
            RemotingCommand::bare_request(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG),
            "subscription groups",
        )
        .await
    }

    // ---- consumers and producers ----

    /// Brokers that may hold the group's progress: those of `topic`, or of the group's retry
    /// topic (every clustering group has one) when no topic is given.
    async fn group_brokers(&self, group: &str, topic: Option<&str>) -> Result<Vec<String>> {
        match topic {
            Some(t) => self.route_masters(t).await,
            None => match self
                .route_masters(&apogee_model::system_topic::retry_topic(group))
                .await
            {
                Err(ClientError::NoRoute { .. }) => self.all_masters().await,
                other => other,
            },
        }
    }

    /// Per-queue broker offset, consumer offset and lag of `group` (`consumerProgress`).
    pub async fn consume_stats(&self, group: &str, topic: Option<&str>) -> Result<ConsumeStats> {
        let mut merged = ConsumeStats::default();
        for addr in self.group_brokers(group, topic).await? {
            let header = GetConsumeStatsRequestHeader {
                consumer_group: group.to_owned(),
                topic: topic.map(str::to_owned),
            };
            let stats: ConsumeStats = self
                .call_json(
                    &addr,
                    RemotingCommand::request(RequestCode::GET_CONSUME_STATS, &header),
                    "consume stats",
                )
                .await?;
            merged.consume_tps += stats.consume_tps;
            merged.offset_table.extend(stats.offset_table);
        }
        Ok(merged)
    }

    /// The group's online members and subscriptions (`consumerConnection`).
    pub async fn consumer_connection(&self, group: &str) -> Result<ConsumerConnection> {
        let brokers = self.group_brokers(group, None).await?;
        let mut last = None;
        for addr in brokers {
            let header = GetConsumerConnectionListRequestHeader {
                consumer_group: group.to_owned(),
            };
            match self
                .call_json(
                    &addr,
                    RemotingCommand::request(RequestCode::GET_CONSUMER_CONNECTION_LIST, &header),
                    "consumer connection",
                )
                .await
            {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            self.instance
                .no_route(&apogee_model::system_topic::retry_topic(group))
        }))
    }

    /// The producers of `group` connected to the brokers of `topic` (`producerConnection`).
    pub async fn producer_connection(
        &self,
        group: &str,
        topic: &str,
    ) -> Result<ProducerConnection> {
        let mut merged = ProducerConnection::default();
        for addr in self.route_masters(topic).await? {
            let header = GetProducerConnectionListRequestHeader {
                producer_group: group.to_owned(),
            };
            let c: ProducerConnection = self
                .call_json(
                    &addr,
                    RemotingCommand::request(RequestCode::GET_PRODUCER_CONNECTION_LIST, &header),
                    "producer connection",
                )
                .await?;
            merged.connection_set.extend(c.connection_set);
        }
        Ok(merged)
    }

    /// Moves `group`'s offsets on `topic` to the first message stored at or after
    /// `timestamp_ms` (-1: the end), live consumers included (`resetOffsetByTime`).
    pub async fn reset_offset_by_time(
        &self,
        group: &str,
        topic: &str,
        timestamp_ms: i64,
        force: bool,
    ) -> Result<BTreeMap<MessageQueue, i64>> {
        let mut offsets = BTreeMap::new();
        for addr in self.route_masters(topic).await? {
            let header = ResetOffsetRequestHeader {
                topic: topic.to_owned(),
                group: group.to_owned(),
                queue_id: None,
                offset: None,
                timestamp: timestamp_ms,
                is_force: force,
            };
            let body: ResetOffsetBody = self
                .call_json(
                    &addr,
                    RemotingCommand::request(RequestCode::INVOKE_BROKER_TO_RESET_OFFSET, &header),
                    "reset offset",
                )
                .await?;
            offsets.extend(body.offset_table);
        }
        Ok(offsets)
    }

    /// Groups that consume `topic`.
    pub async fn topic_consumed_by(&self, topic: &str) -> Result<BTreeSet<String>> {
        let mut groups = BTreeSet::new();
        for addr in self.route_masters(topic).await? {
            let header = QueryTopicConsumeByWhoRequestHeader {
                topic: topic.to_owned(),
            };
            let list: GroupList = self
                .call_json(
                    &addr,
                    RemotingCommand::request(RequestCode::QUERY_TOPIC_CONSUME_BY_WHO, &header),
                    "group list",
                )
                .await?;
            groups.extend(list.group_list);
        }
        Ok(groups)
    }
}
