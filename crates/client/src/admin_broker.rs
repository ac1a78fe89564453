//! The admin API's broker-level calls: runtime statistics (GET_BROKER_RUNTIME_INFO), the
//! broker's configuration (GET/UPDATE_BROKER_CONFIG), copying a group's offsets
//! (CLONE_GROUP_OFFSET) and asking a consumer how it is doing (GET_CONSUMER_RUNNING_INFO,
//! relayed by a broker to the client) or to run its listener on one message
//! (CONSUME_MESSAGE_DIRECTLY, relayed the same way). The bodies are those of
//! `apogee_protocol::body`.

use std::collections::BTreeMap;

use apogee_protocol::body::admin::{ConsumeMessageDirectlyResult, ConsumerRunningInfo};
use apogee_protocol::body::stats::{BrokerStatsData, ConsumeStatsList};
use apogee_protocol::body::{KvTable, from_json, properties};
use apogee_protocol::header::admin::{
    CloneGroupOffsetRequestHeader, ConsumeMessageDirectlyResultRequestHeader,
    GetConsumeStatsInBrokerHeader, GetConsumerRunningInfoRequestHeader,
    ViewBrokerStatsDataRequestHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode};

use crate::admin::Admin;
use crate::{ClientError, Result};

impl Admin {
    /// The broker's runtime statistics (`brokerStatus`): Java's keys, every value a string —
    /// e.g. `putTps` is `"<10 s> <1 min> <10 min>"` rates, each empty until the broker has
    /// sampled that long.
    pub async fn broker_runtime_info(&self, broker_addr: &str) -> Result<BTreeMap<String, String>> {
        let response = self
            .call(
                broker_addr,
                RemotingCommand::bare_request(RequestCode::GET_BROKER_RUNTIME_INFO),
            )
            .await?;
        let table: KvTable = from_json("KVTable", &response.body)
            .map_err(|e| ClientError::bad_response(broker_addr, e))?;
        Ok(table.table)
    }

    /// Replication as the broker sees it (`haStatus`, GET_BROKER_HA_STATUS): a master's
    /// slave connections, or a slave's view of its master.
    pub async fn broker_ha_status(&self, broker_addr: &str) -> Result<crate::HaRuntimeInfo> {
        self.call_json(
            broker_addr,
            RemotingCommand::bare_request(RequestCode::GET_BROKER_HA_STATUS),
            "HA runtime info",
        )
        .await
    }

    /// The broker's effective configuration (`getBrokerConfig`), by Java key name where Java
    /// has one, in key order.
    pub async fn broker_config(&self, broker_addr: &str) -> Result<BTreeMap<String, String>> {
        let response = self
            .call(
                broker_addr,
                RemotingCommand::bare_request(RequestCode::GET_BROKER_CONFIG),
            )
            .await?;
        let text = String::from_utf8_lossy(&response.body);
        properties::parse(&text).map_err(|line| {
            ClientError::bad_response(broker_addr, format!("bad properties line {line:?}"))
        })
    }

    /// Changes broker settings while it runs (`updateBrokerConfig`), all or none. An Apogee
    /// broker refuses protected keys (paths, names, addresses) with NO_PERMISSION and keys it
    /// cannot change at runtime with SYSTEM_ERROR; accepted changes survive a restart.
    pub async fn update_broker_config(
        &self,
        broker_addr: &str,
        changes: &BTreeMap<String, String>,
    ) -> Result<()> {
        let body = properties::render(changes).into_bytes();
        self.call(
            broker_addr,
            RemotingCommand::bare_request(RequestCode::UPDATE_BROKER_CONFIG).with_body(body),
        )
        .await
        .map(|_| ())
    }

    /// Each NameServer's configuration (`getNamesrvConfig`), by address, by Java key name.
    pub async fn namesrv_configs(&self) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let mut out = BTreeMap::new();
        for addr in self.instance().name_server_addrs() {
            let response = self
                .call(
                    &addr,
                    RemotingCommand::bare_request(RequestCode::GET_NAMESRV_CONFIG),
                )
                .await?;
            let config =
                properties::parse(&String::from_utf8_lossy(&response.body)).map_err(|line| {
                    ClientError::bad_response(&addr, format!("bad properties line {line:?}"))
                })?;
            out.insert(addr, config);
        }
        Ok(out)
    }

    /// Changes settings of every NameServer while they run (`updateNamesrvConfig`), all keys
    /// or none on each.
    pub async fn update_namesrv_config(&self, changes: &BTreeMap<String, String>) -> Result<()> {
        let body = properties::render(changes).into_bytes();
        for addr in self.instance().name_server_addrs() {
            self.call(
                &addr,
                RemotingCommand::bare_request(RequestCode::UPDATE_NAMESRV_CONFIG)
                    .with_body(body.clone()),
            )
            .await?;
        }
        Ok(())
    }

    /// Copies `src_group`'s committed offsets to `dest_group` (`cloneGroupOffset`) on every
    /// master hosting `topic`, or, without a topic, every topic `src_group` has offsets for on
    /// the brokers of its retry topic. Unless `offline`, topics the online source group does
    /// not subscribe to are skipped.
    pub async fn clone_group_offset(
        &self,
        src_group: &str,
        dest_group: &str,
        topic: Option<&str>,
        offline: bool,
    ) -> Result<()> {
        let route_topic = topic.map_or_else(
            || apogee_model::system_topic::retry_topic(src_group),
            str::to_owned,
        );
        let header = CloneGroupOffsetRequestHeader {
            src_group: src_group.to_owned(),
            dest_group: dest_group.to_owned(),
            topic: topic.map(str::to_owned),
            offline: Some(offline),
        };
        for addr in self.route_masters(&route_topic).await? {
            self.call(
                &addr,
                RemotingCommand::request(RequestCode::CLONE_GROUP_OFFSET, &header),
            )
            .await?;
        }
        Ok(())
    }

    /// What one consumer client reports about `group` (`consumerStatus`): its settings,
    /// subscriptions, held queues and per-topic figures. Asked through a master of the group's
    /// retry topic, which relays the request to the client.
    pub async fn consumer_running_info(
        &self,
        group: &str,
        client_id: &str,
    ) -> Result<ConsumerRunningInfo> {
        let retry = apogee_model::system_topic::retry_topic(group);
        let addr = self
            .route_masters(&retry)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| self.instance().no_route(&retry))?;
        let header = GetConsumerRunningInfoRequestHeader {
            consumer_group: group.to_owned(),
            client_id: client_id.to_owned(),
            jstack_enable: Some(false),
        };
        let response = self
            .call(
                &addr,
                RemotingCommand::request(RequestCode::GET_CONSUMER_RUNNING_INFO, &header),
            )
            .await?;
        ConsumerRunningInfo::decode(&response.body).map_err(|e| ClientError::bad_response(&addr, e))
    }

    /// Has one consumer client of `group` run its listener on a message (`queryMsgById -g -d`):
    /// the message is found by either kind of id (a client id needs `topic`), and the broker
    /// that stores it relays the call to the client. Nothing is acknowledged: the result says
    /// how the listener took it.
    pub async fn consume_message_directly(
        &self,
        group: &str,
        client_id: &str,
        topic: Option<&str>,
        msg_id: &str,
    ) -> Result<ConsumeMessageDirectlyResult> {
        let msg = self
            .query_message_by_id(topic, msg_id)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                ClientError::InvalidArgument(format!("no message with id `{msg_id}`"))
            })?;
        let addr = msg.store_host.to_string();
        let header = ConsumeMessageDirectlyResultRequestHeader {
            consumer_group: group.to_owned(),
            client_id: Some(client_id.to_owned()),
            msg_id: Some(msg.offset_msg_id.clone()),
            broker_name: None,
            topic: Some(msg.topic.clone()),
            topic_sys_flag: None,
            group_sys_flag: None,
        };
        let response = self
            .call(
                &addr,
                RemotingCommand::request(RequestCode::CONSUME_MESSAGE_DIRECTLY, &header),
            )
            .await?;
        from_json("ConsumeMessageDirectlyResult", &response.body)
            .map_err(|e| ClientError::bad_response(&addr, e))
    }

    /// One stats item of a broker (`viewBrokerStatsData`): its minute, hour and day figures,
    /// e.g. `TOPIC_PUT_NUMS` / `<topic>` or `GROUP_GET_NUMS` / `<topic>@<group>`.
    pub async fn view_broker_stats(
        &self,
        broker_addr: &str,
        stats_name: &str,
        stats_key: &str,
    ) -> Result<BrokerStatsData> {
        let header = ViewBrokerStatsDataRequestHeader {
            stats_name: stats_name.to_owned(),
            stats_key: stats_key.to_owned(),
        };
        self.call_json(
            broker_addr,
            RemotingCommand::request(RequestCode::VIEW_BROKER_STATS_DATA, &header),
            "BrokerStatsData",
        )
        .await
    }

    /// Every group's consume stats on one broker (`fetchConsumeStatsInBroker`); ordered
    /// topics only when `ordered_only`.
    pub async fn broker_consume_stats(
        &self,
        broker_addr: &str,
        ordered_only: bool,
    ) -> Result<ConsumeStatsList> {
        let header = GetConsumeStatsInBrokerHeader {
            is_order: ordered_only,
        };
        self.call_json(
            broker_addr,
            RemotingCommand::request(RequestCode::GET_BROKER_CONSUME_STATS, &header),
            "ConsumeStatsList",
        )
        .await
    }
}
