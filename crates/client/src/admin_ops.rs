//! The admin API's operations calls: NameServer KV config and write permission (sent to every
//! NameServer, as mqadmin does), and the broker inspection codes — a queue's raw units
//! (QUERY_CONSUME_QUEUE), the producers a broker knows (GET_ALL_PRODUCER_INFO), topics
//! created from a list (UPDATE_AND_CREATE_TOPIC_LIST), the store cleanings an operator asks
//! for, and a group's read permission on a topic (UPDATE_AND_GET_GROUP_FORBIDDEN).

use apogee_model::{BrokerName, TopicConfig};
use apogee_protocol::body::admin::GroupForbidden;
use apogee_protocol::body::from_json;
use apogee_protocol::body::inspect::{
    CreateTopicListRequestBody, ProducerTableInfo, QueryConsumeQueueResponseBody,
};
use apogee_protocol::header::admin::{
    QueryConsumeQueueRequestHeader, UpdateGroupForbiddenRequestHeader,
};
use apogee_protocol::header::namesrv::{
    AddWritePermOfBrokerResponseHeader, GetKvConfigResponseHeader, KvConfigKeyHeader,
    PutKvConfigRequestHeader, WipeWritePermOfBrokerResponseHeader, WritePermOfBrokerRequestHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::admin::Admin;
use crate::{ClientError, Result};

/// The NameServer KV namespace of ordered topics' queue layouts (`broker:queues;…`).
pub const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// What QUERY_CONSUME_QUEUE reads: `count` units of one queue from `index`, judged against
/// `group`'s subscription when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CqQuery {
    pub topic: String,
    pub queue_id: i32,
    pub index: i64,
    pub count: i32,
    pub group: Option<String>,
}

/// A store cleaning an operator asks a broker for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreCleaning {
    /// `cleanExpiredCQ`: consume queues whose every message has expired.
    ExpiredConsumeQueues,
    /// `cleanUnusedTopic`: consume queues of topics the broker has no config for.
    UnusedTopics,
    /// `deleteExpiredCommitLog`: expired CommitLog files, whatever the `deleteWhen` hour.
    ExpiredCommitLog,
}

impl StoreCleaning {
    fn code(self) -> RequestCode {
        match self {
            Self::ExpiredConsumeQueues => RequestCode::CLEAN_EXPIRED_CONSUMEQUEUE,
            Self::UnusedTopics => RequestCode::CLEAN_UNUSED_TOPIC,
            Self::ExpiredCommitLog => RequestCode::DELETE_EXPIRED_COMMITLOG,
        }
    }
}

impl Admin {
    /// Asks the broker at `broker_addr` for a store cleaning.
    pub async fn clean_store(&self, broker_addr: &str, cleaning: StoreCleaning) -> Result<()> {
        self.call(broker_addr, RemotingCommand::bare_request(cleaning.code()))
            .await
            .map(drop)
    }

    /// Every broker address (masters and slaves) of `cluster`, or of every cluster when
    /// `None` — where mqadmin's cleaning commands go without `-b`.
    pub async fn cluster_broker_addrs(&self, cluster: Option<&str>) -> Result<Vec<String>> {
        let info = self.cluster_info().await?;
        let names: Vec<&BrokerName> = match cluster {
            Some(c) => info
                .cluster_addr_table
                .get(c)
                .ok_or_else(|| ClientError::Config(format!("cluster `{c}` is unknown to the NameServer; `clusterList` shows the clusters")))?
                .iter()
                .collect(),
            None => info.broker_addr_table.keys().collect(),
        };
        Ok(names
            .into_iter()
            .filter_map(|n| info.broker_addr_table.get(n))
            .flat_map(|b| b.broker_addrs.values().cloned())
            .collect())
    }

    /// Forbids (`Some(false)`) or allows (`Some(true)`) `group` to pull `topic` on one broker,
    /// or only asks (`None`); answers the state in force (`updateAndGetGroupReadForbidden`).
    pub async fn group_read_forbidden(
        &self,
        broker_addr: &str,
        group: &str,
        topic: &str,
        readable: Option<bool>,
    ) -> Result<GroupForbidden> {
        let header = UpdateGroupForbiddenRequestHeader {
            group: group.to_owned(),
            topic: topic.to_owned(),
            readable,
        };
        let response = self
            .call(
                broker_addr,
                RemotingCommand::request(RequestCode::UPDATE_AND_GET_GROUP_FORBIDDEN, &header),
            )
            .await?;
        from_json("GroupForbidden", &response.body)
            .map_err(|e| ClientError::bad_response(broker_addr, e))
    }

    /// Sends `request` to every NameServer; returns each one's response, failing on the first
    /// refusal.
    async fn every_namesrv(&self, request: &RemotingCommand) -> Result<Vec<RemotingCommand>> {
        let mut responses = Vec::new();
        for addr in self.instance().name_server_addrs() {
            responses.push(self.call(&addr, request.clone()).await?);
        }
        Ok(responses)
    }

    /// Sets a KV config entry on every NameServer (`updateKvConfig`).
    pub async fn put_kv_config(&self, namespace: &str, key: &str, value: &str) -> Result<()> {
        let header = PutKvConfigRequestHeader {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
            value: value.to_owned(),
        };
        self.every_namesrv(&RemotingCommand::request(
            RequestCode::PUT_KV_CONFIG,
            &header,
        ))
        .await
        .map(drop)
    }

    /// Deletes a KV config entry on every NameServer (`deleteKvConfig`).
    pub async fn delete_kv_config(&self, namespace: &str, key: &str) -> Result<()> {
        let header = KvConfigKeyHeader {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
        };
        self.every_namesrv(&RemotingCommand::request(
            RequestCode::DELETE_KV_CONFIG,
            &header,
        ))
        .await
        .map(drop)
    }

    /// A KV config entry from the first NameServer that has it; `None` when none does.
    pub async fn kv_config(&self, namespace: &str, key: &str) -> Result<Option<String>> {
        let header = KvConfigKeyHeader {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
        };
        let (addr, response) = self
            .instance()
            .invoke_namesrv(RemotingCommand::request(
                RequestCode::GET_KV_CONFIG,
                &header,
            ))
            .await?;
        match response.response_code() {
            ResponseCode::SUCCESS => Ok(response
                .header::<GetKvConfigResponseHeader>()
                .map_err(|e| ClientError::bad_response(&addr, e))?
                .value),
            ResponseCode::QUERY_NOT_FOUND => Ok(None),
            _ => Err(ClientError::refused(&addr, &response)),
        }
    }

    /// Wipes (`wipeWritePerm`) or restores (`addWritePerm`) the write permission of every
    /// topic of `broker_name` on every NameServer; returns the topics touched on each.
    pub async fn set_write_perm(&self, broker_name: &str, writable: bool) -> Result<Vec<i32>> {
        let header = WritePermOfBrokerRequestHeader {
            broker_name: BrokerName::new(broker_name)
                .map_err(|e| ClientError::Config(e.to_string()))?,
        };
        let code = if writable {
            RequestCode::ADD_WRITE_PERM_OF_BROKER
        } else {
            RequestCode::WIPE_WRITE_PERM_OF_BROKER
        };
        let responses = self
            .every_namesrv(&RemotingCommand::request(code, &header))
            .await?;
        responses
            .iter()
            .map(|r| {
                let count = if writable {
                    r.header::<AddWritePermOfBrokerResponseHeader>()
                        .map(|h| h.add_topic_count)
                } else {
                    r.header::<WipeWritePermOfBrokerResponseHeader>()
                        .map(|h| h.wipe_topic_count)
                };
                count.map_err(|e| ClientError::bad_response("namesrv", e))
            })
            .collect()
    }

    /// `count` consume-queue units of one queue from `index` (`queryCq`), each marked by
    /// whether `group`'s subscription takes it.
    pub async fn query_consume_queue(
        &self,
        broker_addr: &str,
        query: CqQuery,
    ) -> Result<QueryConsumeQueueResponseBody> {
        let header = QueryConsumeQueueRequestHeader {
            topic: query.topic,
            queue_id: query.queue_id,
            index: query.index,
            count: query.count,
            consumer_group: query.group,
        };
        let response = self
            .call(
                broker_addr,
                RemotingCommand::request(RequestCode::QUERY_CONSUME_QUEUE, &header),
            )
            .await?;
        from_json("QueryConsumeQueueResponseBody", &response.body)
            .map_err(|e| ClientError::bad_response(broker_addr, e))
    }

    /// The producer groups a broker knows, with their connections (`producer`).
    pub async fn producers(&self, broker_addr: &str) -> Result<ProducerTableInfo> {
        let response = self
            .call(
                broker_addr,
                RemotingCommand::bare_request(RequestCode::GET_ALL_PRODUCER_INFO),
            )
            .await?;
        from_json("ProducerTableInfo", &response.body)
            .map_err(|e| ClientError::bad_response(broker_addr, e))
    }

    /// The master addresses serving `topic`.
    pub async fn topic_masters(&self, topic: &str) -> Result<Vec<String>> {
        self.route_masters(topic).await
    }

    /// Creates or updates several topics on one broker in one request (`updateTopicList`).
    pub async fn create_topic_list(
        &self,
        broker_addr: &str,
        topics: Vec<TopicConfig>,
    ) -> Result<()> {
        let body = serde_json::to_vec(&CreateTopicListRequestBody {
            topic_config_list: topics,
        })
        .map_err(|e| ClientError::Config(e.to_string()))?;
        self.call(
            broker_addr,
            RemotingCommand::bare_request(RequestCode::UPDATE_AND_CREATE_TOPIC_LIST)
                .with_body(body),
        )
        .await
        .map(drop)
    }
}
