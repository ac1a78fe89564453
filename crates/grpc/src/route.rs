//! QueryRoute and QueryAssignment: the topic's queues as the NameServers know them (every
//! broker holding the topic, at the v5 endpoint that broker published in the NameServers' KV
//! store, namespace [`ENDPOINTS_NAMESPACE`]; else its master's host on this endpoint's port),
//! or this broker's own topic when the NameServers do not know it yet; numbered as the Apache
//! proxy numbers them (for a topic with as many read as write queues, the broker's queue
//! ids).

use std::net::SocketAddr;
use std::time::Duration;

use apogee_broker::messaging::Messaging;
use std::collections::BTreeMap;

use apogee_model::{BrokerName, ClusterName, MASTER_ID, Perm};
use apogee_protocol::body::route::{BrokerData, QueueData, TopicRouteData};
use apogee_protocol::header::namesrv::{
    GetKvConfigResponseHeader, GetRouteInfoRequestHeader, KvConfigKeyHeader,
    PutKvConfigRequestHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::pb;
use crate::status::{Failure, fail};

const NAMESRV_TIMEOUT: Duration = Duration::from_secs(3);
/// The NameServer KV namespace where each master broker publishes its v5 endpoint
/// (key: broker name, value: `ip:port`).
pub const ENDPOINTS_NAMESPACE: &str = "APOGEE_V5_ENDPOINTS";

/// Route lookups for the v5 endpoint.
#[derive(Clone)]
pub struct Routes {
    pub messaging: Messaging,
    /// This endpoint's address as clients reach it.
    pub advertised: SocketAddr,
}

impl Routes {
    /// The topic's route: the NameServers' answer, else this broker's own topic.
    async fn route(&self, topic: &str) -> Option<TopicRouteData> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_owned(),
            accept_standard_json_only: None,
        };
        for addr in &self.messaging.namesrv_addrs {
            let request = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
            let Ok(response) = self
                .messaging
                .namesrv_client
                .invoke(addr, request, NAMESRV_TIMEOUT)
                .await
            else {
                continue;
            };
            if response.response_code() == ResponseCode::SUCCESS
                && let Ok(route) = apogee_protocol::body::from_json("topic route", &response.body)
            {
                return Some(route);
            }
        }
        self.local(topic)
    }

    fn local(&self, topic: &str) -> Option<TopicRouteData> {
        let config = self.messaging.topics.get(topic)?;
        let identity = &self.messaging.identity;
        let broker_name = BrokerName::new(&identity.broker_name).ok()?;
        let queue = QueueData {
            broker_name: broker_name.clone(),
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            perm: config.perm,
            topic_sys_flag: config.topic_sys_flag,
        };
        let broker = BrokerData {
            broker_addrs: BTreeMap::from([(MASTER_ID, identity.store_host.to_string())]),
            broker_name,
            cluster: ClusterName::new(&identity.cluster).ok()?,
            enable_acting_master: false,
            zone_name: None,
        };
        Some(TopicRouteData {
            broker_datas: vec![broker],
            filter_server_table: BTreeMap::new(),
            order_topic_conf: None,
            queue_datas: vec![queue],
        })
    }

    /// Publishes this endpoint for this broker in every NameServer (a master's only).
    pub async fn publish(&self) {
        if self.messaging.replication.is_slave() {
            return;
        }
        let header = PutKvConfigRequestHeader {
            namespace: ENDPOINTS_NAMESPACE.into(),
            key: self.messaging.identity.broker_name.clone(),
            value: self.advertised.to_string(),
        };
        for addr in &self.messaging.namesrv_addrs {
            let request = RemotingCommand::request(RequestCode::PUT_KV_CONFIG, &header);
            let put = self
                .messaging
                .namesrv_client
                .invoke(addr, request, NAMESRV_TIMEOUT)
                .await;
            if !put.is_ok_and(|r| r.response_code() == ResponseCode::SUCCESS) {
                tracing::debug!(namesrv = addr, "v5 endpoint not published there");
            }
        }
    }

    /// The v5 endpoint `broker_name` published, if any NameServer has it.
    async fn published(&self, broker_name: &str) -> Option<SocketAddr> {
        let header = KvConfigKeyHeader {
            namespace: ENDPOINTS_NAMESPACE.into(),
            key: broker_name.to_owned(),
        };
        for addr in &self.messaging.namesrv_addrs {
            let request = RemotingCommand::request(RequestCode::GET_KV_CONFIG, &header);
            let Ok(response) = self
                .messaging
                .namesrv_client
                .invoke(addr, request, NAMESRV_TIMEOUT)
                .await
            else {
                continue;
            };
            let value = response
                .header::<GetKvConfigResponseHeader>()
                .ok()
                .and_then(|h| h.value);
            if let Some(endpoint) = value.and_then(|v| v.parse().ok()) {
                return Some(endpoint);
            }
        }
        None
    }

    /// Where `broker_name`'s v5 endpoint is: this endpoint for this broker, else the one it
    /// published, else its master's host on this endpoint's port.
    async fn endpoints(&self, route: &TopicRouteData, broker_name: &str) -> Option<pb::Endpoints> {
        let address = if broker_name == self.messaging.identity.broker_name {
            self.advertised
        } else if let Some(published) = self.published(broker_name).await {
            published
        } else {
            let data = route
                .broker_datas
                .iter()
                .find(|b| b.broker_name.as_str() == broker_name)?;
            let master: SocketAddr = data.broker_addrs.get(&MASTER_ID)?.parse().ok()?;
            SocketAddr::new(master.ip(), self.advertised.port())
        };
        Some(pb::Endpoints {
            scheme: if address.is_ipv4() {
                pb::AddressScheme::IPv4
            } else {
                pb::AddressScheme::IPv6
            } as i32,
            addresses: vec![pb::Address {
                host: address.ip().to_string(),
                port: i32::from(address.port()),
            }],
        })
    }

    /// The topic's message queues, or TOPIC_NOT_FOUND.
    pub async fn queues(&self, topic: &str) -> Result<Vec<pb::MessageQueue>, Failure> {
        let not_found = || fail(pb::Code::TopicNotFound, &format!("topic {topic} not found"));
        let route = self.route(topic).await.ok_or_else(not_found)?;
        let types = self.accepted_types(topic);
        let mut queues = Vec::new();
        for data in &route.queue_datas {
            let Some(endpoints) = self.endpoints(&route, data.broker_name.as_str()).await else {
                continue;
            };
            let broker = pb::Broker {
                name: data.broker_name.as_str().to_owned(),
                id: 0,
                endpoints: Some(endpoints),
            };
            for (id, permission) in numbered(data) {
                queues.push(pb::MessageQueue {
                    topic: Some(resource(topic)),
                    id,
                    permission: permission as i32,
                    broker: Some(broker.clone()),
                    accept_message_types: types.clone(),
                });
            }
        }
        if queues.is_empty() {
            return Err(not_found());
        }
        Ok(queues)
    }

    /// One assignment per broker (queue -1: every queue, popped), for push consumers.
    pub async fn assignments(&self, topic: &str) -> Result<Vec<pb::Assignment>, Failure> {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for queue in self.queues(topic).await? {
            let readable = matches!(
                pb::Permission::try_from(queue.permission),
                Ok(pb::Permission::Read | pb::Permission::ReadWrite)
            );
            let broker = queue.broker.as_ref().map(|b| b.name.clone());
            if readable && !seen.contains(&broker) {
                seen.push(broker);
                out.push(pb::Assignment {
                    message_queue: Some(pb::MessageQueue { id: -1, ..queue }),
                });
            }
        }
        Ok(out)
    }

    /// The topic's `message.type` as v5 message types (MIXED: all four).
    fn accepted_types(&self, topic: &str) -> Vec<i32> {
        let kind = self.messaging.topics.get(topic).and_then(|c| {
            c.attributes
                .get("+message.type")
                .or(c.attributes.get("message.type"))
                .cloned()
        });
        use pb::MessageType as T;
        let types = match kind.as_deref().map(str::to_ascii_uppercase).as_deref() {
            Some("NORMAL") => vec![T::Normal],
            Some("FIFO") => vec![T::Fifo],
            Some("DELAY") => vec![T::Delay],
            Some("TRANSACTION") => vec![T::Transaction],
            Some("MIXED") => vec![T::Normal, T::Fifo, T::Delay, T::Transaction],
            _ => vec![T::Unspecified],
        };
        types.into_iter().map(|t| t as i32).collect()
    }
}

pub fn resource(name: &str) -> pb::Resource {
    pb::Resource {
        resource_namespace: String::new(),
        name: name.to_owned(),
    }
}

/// Queue ids and permissions of one broker's queue data: `min(r, w)` read-write queues first
/// (so they keep the broker's ids), then the surplus read-only or write-only ones.
fn numbered(data: &QueueData) -> Vec<(i32, pb::Permission)> {
    let perm = Perm(data.perm);
    let (r, w) = (
        if perm.is_readable() {
            data.read_queue_nums.max(0)
        } else {
            0
        },
        if perm.is_writeable() {
            data.write_queue_nums.max(0)
        } else {
            0
        },
    );
    if r == 0 && w == 0 {
        return vec![(0, pb::Permission::None)];
    }
    let both = r.min(w);
    let mut out: Vec<(i32, pb::Permission)> = (0..both)
        .map(|id| (id, pb::Permission::ReadWrite))
        .collect();
    out.extend((both..r).map(|id| (id, pb::Permission::Read)));
    out.extend((both..w).map(|id| (id, pb::Permission::Write)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(perm: i32, r: i32, w: i32) -> QueueData {
        QueueData {
            broker_name: BrokerName::new("b").expect("name"),
            perm,
            read_queue_nums: r,
            write_queue_nums: w,
            topic_sys_flag: 0,
        }
    }

    #[test]
    fn queues_keep_the_brokers_ids_and_surplus_ones_get_one_permission() {
        let even = numbered(&data(6, 4, 4));
        assert_eq!(even.len(), 4);
        assert!(
            even.iter()
                .enumerate()
                .all(|(i, (id, p))| *id == i as i32 && *p == pb::Permission::ReadWrite)
        );
        let more_read = numbered(&data(6, 4, 2));
        assert_eq!(more_read[2], (2, pb::Permission::Read));
        assert_eq!(
            numbered(&data(4, 2, 2)),
            vec![(0, pb::Permission::Read), (1, pb::Permission::Read)]
        );
        assert_eq!(numbered(&data(0, 2, 2)), vec![(0, pb::Permission::None)]);
    }
}
