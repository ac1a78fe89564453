//! Registration with the NameServers (REMOTING.md §3.7, §7.1): REGISTER_BROKER to every
//! NameServer at start, every `registerNameServerPeriod` and whenever the topic table changes;
//! UNREGISTER_BROKER at shutdown. Typed calls over `remoting`: the broker does not depend on
//! the client crate.
//!
//! A topic table whose JSON would pass [`SPLIT_ABOVE_BYTES`] is sent as Java's split
//! registration does it: batches of 800 topics, each carrying the table's DataVersion, in
//! order (the NameServer adds each batch's topics). A batch over [`COMPRESS_ABOVE_BYTES`] is
//! sent in the zlib form with `compressed=true`. Without this a large broker's body passes
//! the 16 MiB frame limit, every registration fails and the NameServer drops the broker.

use std::time::Duration;

use apogee_model::{BrokerName, ClusterName, Perm};
use apogee_protocol::body::register::{RegisterBrokerBody, TopicConfigSerializeWrapper};
use apogee_protocol::header::namesrv::{
    RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnRegisterBrokerRequestHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::RemotingClient;
use apogee_runtime::Shutdown;
use bytes::Bytes;

use crate::ha::Replication;
use crate::live::LiveSettings;
use crate::manager::topic_config::{Changes, TopicConfigs};

/// Java's `registerBrokerTimeoutMills`.
const REGISTER_TIMEOUT: Duration = Duration::from_secs(24);
/// Bodies larger than this are split into batches (a quarter of the default frame limit).
pub const SPLIT_ABOVE_BYTES: usize = 4 * 1024 * 1024;
/// Topics per batch of a split registration (Java's `splitRegistrationSize`).
pub const SPLIT_TOPICS: usize = 800;
/// A batch body larger than this is sent compressed.
pub const COMPRESS_ABOVE_BYTES: usize = 1024 * 1024;

/// Who registers, where, and how often.
#[derive(Clone)]
pub struct Registration {
    pub client: RemotingClient,
    pub namesrv_addrs: Vec<String>,
    pub cluster: ClusterName,
    pub broker_name: BrokerName,
    pub broker_addr: String,
    /// 0 for a master, > 0 for a slave (as configured; in controller mode the role decides,
    /// see [`Replication::registered_id`]).
    pub broker_id: i64,
    /// Gives the HA address to register and learns a slave's master from the reply.
    pub replication: Replication,
    pub heartbeat_timeout_ms: i64,
    pub period: Duration,
    pub topics: TopicConfigs,
    /// `brokerPermission`: below read-write, every topic is registered with its permission
    /// masked by it (Java's `registerBrokerAll`).
    pub live: LiveSettings,
    /// One registration at a time: a caller that waits for its change to be registered
    /// finds it done by whoever held this before it.
    pub serial: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Registration {
    /// Registers now, then on every period or topic change, until `shutdown`; then unregisters.
    pub async fn run(self, shutdown: Shutdown) {
        if self.namesrv_addrs.is_empty() {
            return;
        }
        let mut roles = self.replication.role_changes();
        // A fixed period that topic changes do not reset: the whole table goes out every
        // period however often single topics change (the first tick is at once).
        let mut whole = tokio::time::interval(self.period);
        whole.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = whole.tick() => self.register_all().await,
                () = self.topics.changed() => self.register_changes().await,
                _ = roles.changed() => self.register_all().await,
                () = shutdown.wait() => break,
            }
        }
        self.unregister_all().await;
    }

    /// Registers the whole topic table with every NameServer.
    pub async fn register_all(&self) {
        let _one = self.serial.lock().await;
        self.topics.clear_changes();
        self.register(self.topics.snapshot()).await;
    }

    /// Registers what changed since the last registration: only the changed topics when that
    /// is all (Java's `registerIncrementBrokerData`: with 10,000 topics a create no longer
    /// sends them all), else the whole table. Returns once the change is registered, also when
    /// another registration took it.
    pub async fn register_changes(&self) {
        let _one = self.serial.lock().await;
        match self.topics.take_changes() {
            Changes::None => {}
            Changes::Whole => {
                self.register(self.topics.snapshot()).await;
            }
            Changes::Topics(changed) => {
                // A NameServer that has not had a whole registration yet refuses a partial one.
                if !self.register(changed).await && !self.register(self.topics.snapshot()).await {
                    // Not told: the next change (or the period) sends the whole table.
                    self.topics.retry_whole();
                }
            }
        }
    }

    /// REGISTER_BROKER of `topics` to each NameServer, concurrently (the batches of a split
    /// registration one after another); failures are logged. Whether every NameServer took it.
    async fn register(&self, mut topics: TopicConfigSerializeWrapper) -> bool {
        if self.replication.fenced() {
            // Controller mode, role not decided yet: clients must not be sent here.
            return true;
        }
        let permission = self.live.permission();
        if permission != Perm::READ_WRITE {
            for config in topics.topic_config_table.values_mut() {
                config.perm &= permission.0;
            }
        }
        let bodies = registration_bodies(topics);
        let calls = self.namesrv_addrs.iter().map(|addr| {
            let bodies = &bodies;
            async move {
                for (body, compressed) in bodies {
                    let request = self.register_request(body.clone(), *compressed);
                    match self.client.invoke(addr, request, REGISTER_TIMEOUT).await {
                        Ok(r) if r.response_code() == ResponseCode::SUCCESS => {
                            tracing::debug!(namesrv = addr, "registered");
                            if let Ok(reply) = r.header::<RegisterBrokerResponseHeader>() {
                                self.replication
                                    .learn_master(reply.master_addr, reply.ha_server_addr);
                            }
                        }
                        Ok(r) => {
                            tracing::warn!(namesrv = addr, code = %r.response_code(), remark = ?r.remark, "registration refused");
                            return false;
                        }
                        Err(e) => {
                            tracing::warn!(namesrv = addr, error = %e, "registration failed");
                            return false;
                        }
                    }
                }
                true
            }
        });
        futures::future::join_all(calls)
            .await
            .into_iter()
            .all(|ok| ok)
    }

    fn register_request(&self, body: Bytes, compressed: bool) -> RemotingCommand {
        let crc = i32::try_from(crc32fast::hash(&body) & 0x7FFF_FFFF).unwrap_or(0);
        let header = RegisterBrokerRequestHeader {
            broker_name: self.broker_name.clone(),
            broker_addr: self.broker_addr.clone(),
            cluster_name: self.cluster.clone(),
            ha_server_addr: self.replication.ha_server_addr(),
            broker_id: self.replication.registered_id(),
            heartbeat_timeout_millis: Some(self.heartbeat_timeout_ms),
            enable_acting_master: Some(false),
            compressed: Some(compressed),
            body_crc32: Some(crc),
        };
        RemotingCommand::request(RequestCode::REGISTER_BROKER, &header).with_body(body)
    }

    async fn unregister_all(&self) {
        let header = UnRegisterBrokerRequestHeader {
            broker_name: self.broker_name.clone(),
            broker_addr: self.broker_addr.clone(),
            cluster_name: self.cluster.clone(),
            broker_id: self.replication.registered_id(),
        };
        let calls = self.namesrv_addrs.iter().map(|addr| {
            let request = RemotingCommand::request(RequestCode::UNREGISTER_BROKER, &header);
            async move {
                if let Err(e) = self
                    .client
                    .invoke(addr, request, Duration::from_secs(3))
                    .await
                {
                    tracing::debug!(namesrv = addr, error = %e, "unregister failed");
                }
            }
        });
        futures::future::join_all(calls).await;
    }
}

/// The bodies one registration sends, in order, each with whether it is compressed: the whole
/// table as JSON, or — when that passes [`SPLIT_ABOVE_BYTES`] — batches of [`SPLIT_TOPICS`]
/// topics with the same DataVersion (compressed past [`COMPRESS_ABOVE_BYTES`]).
pub fn registration_bodies(topics: TopicConfigSerializeWrapper) -> Vec<(Bytes, bool)> {
    let whole = RegisterBrokerBody {
        filter_server_list: Vec::new(),
        topic_config_serialize_wrapper: topics,
    };
    let json = whole.to_json();
    if json.len() <= SPLIT_ABOVE_BYTES {
        return vec![(Bytes::from(json), false)];
    }
    let TopicConfigSerializeWrapper {
        data_version,
        topic_config_table,
    } = whole.topic_config_serialize_wrapper;
    let mut bodies = Vec::new();
    let mut batch = std::collections::BTreeMap::new();
    let total = topic_config_table.len();
    for (i, (name, config)) in topic_config_table.into_iter().enumerate() {
        batch.insert(name, config);
        if batch.len() == SPLIT_TOPICS || i + 1 == total {
            let body = RegisterBrokerBody {
                filter_server_list: Vec::new(),
                topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                    data_version,
                    topic_config_table: std::mem::take(&mut batch),
                },
            };
            let json = body.to_json();
            bodies.push(if json.len() > COMPRESS_ABOVE_BYTES {
                (Bytes::from(body.encode_compressed()), true)
            } else {
                (Bytes::from(json), false)
            });
        }
    }
    bodies
}

#[cfg(test)]
mod tests {
    use super::*;
    use apogee_model::{DataVersion, TopicConfig, TopicName};
    use apogee_protocol::FrameLimits;

    fn table(topics: usize, name_len: usize) -> TopicConfigSerializeWrapper {
        let mut wrapper = TopicConfigSerializeWrapper {
            data_version: DataVersion::new(7),
            ..TopicConfigSerializeWrapper::default()
        };
        for i in 0..topics {
            let name = format!("{i:0>width$}", width = name_len);
            let config = TopicConfig::new(TopicName::new(name.as_str()).unwrap());
            wrapper.topic_config_table.insert(name, config);
        }
        wrapper
    }

    #[test]
    fn given_a_small_table_should_send_one_json_body() {
        let bodies = registration_bodies(table(100, 20));
        assert_eq!(bodies.len(), 1);
        assert!(!bodies[0].1);
    }

    #[test]
    fn given_a_table_past_the_frame_limit_should_split_into_versioned_batches_that_decode() {
        let topics = 50_000;
        let original = table(topics, 127);
        let whole = RegisterBrokerBody {
            filter_server_list: Vec::new(),
            topic_config_serialize_wrapper: original.clone(),
        };
        assert!(
            whole.to_json().len() > FrameLimits::DEFAULT_FRAME_BYTES_MAX,
            "the case the split is for"
        );
        let bodies = registration_bodies(original.clone());
        assert_eq!(bodies.len(), topics.div_ceil(SPLIT_TOPICS));
        let mut seen = 0;
        for (body, compressed) in &bodies {
            assert!(body.len() < SPLIT_ABOVE_BYTES);
            let decoded =
                RegisterBrokerBody::decode(body, *compressed, &FrameLimits::default()).unwrap();
            let wrapper = decoded.topic_config_serialize_wrapper;
            assert_eq!(wrapper.data_version, original.data_version);
            assert!(wrapper.topic_config_table.len() <= SPLIT_TOPICS);
            seen += wrapper.topic_config_table.len();
        }
        assert_eq!(seen, topics);
    }
}
