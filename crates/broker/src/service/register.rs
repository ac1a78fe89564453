//! Registration with the NameServers (REMOTING.md §3.7, §7.1): REGISTER_BROKER to every
//! NameServer at start, every `registerNameServerPeriod` and whenever the topic table changes;
//! UNREGISTER_BROKER at shutdown. Typed calls over `remoting`: the broker does not depend on
//! the client crate.

use std::time::Duration;

use apogee_model::{BrokerName, ClusterName, Perm};
use apogee_protocol::body::register::RegisterBrokerBody;
use apogee_protocol::header::namesrv::{
    RegisterBrokerRequestHeader, UnRegisterBrokerRequestHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::RemotingClient;
use apogee_runtime::Shutdown;

use crate::live::LiveSettings;
use crate::manager::topic_config::TopicConfigs;

/// Java's `registerBrokerTimeoutMills`.
const REGISTER_TIMEOUT: Duration = Duration::from_secs(24);

/// Who registers, where, and how often.
#[derive(Clone)]
pub struct Registration {
    pub client: RemotingClient,
    pub namesrv_addrs: Vec<String>,
    pub cluster: ClusterName,
    pub broker_name: BrokerName,
    pub broker_addr: String,
    pub heartbeat_timeout_ms: i64,
    pub period: Duration,
    pub topics: TopicConfigs,
    /// `brokerPermission`: below read-write, every topic is registered with its permission
    /// masked by it (Java's `registerBrokerAll`).
    pub live: LiveSettings,
}

impl Registration {
    /// Registers now, then on every period or topic change, until `shutdown`; then unregisters.
    pub async fn run(self, shutdown: Shutdown) {
        if self.namesrv_addrs.is_empty() {
            return;
        }
        loop {
            self.register_all().await;
            tokio::select! {
                () = tokio::time::sleep(self.period) => {}
                () = self.topics.changed() => {}
                () = shutdown.wait() => break,
            }
        }
        self.unregister_all().await;
    }

    /// One REGISTER_BROKER to each NameServer, concurrently; failures are logged.
    pub async fn register_all(&self) {
        let mut topics = self.topics.snapshot();
        let permission = self.live.permission();
        if permission != Perm::READ_WRITE {
            for config in topics.topic_config_table.values_mut() {
                config.perm &= permission.0;
            }
        }
        let body = RegisterBrokerBody {
            filter_server_list: Vec::new(),
            topic_config_serialize_wrapper: topics,
        }
        .to_json();
        let crc = i32::try_from(crc32fast::hash(&body) & 0x7FFF_FFFF).unwrap_or(0);
        let header = RegisterBrokerRequestHeader {
            broker_name: self.broker_name.clone(),
            broker_addr: self.broker_addr.clone(),
            cluster_name: self.cluster.clone(),
            ha_server_addr: String::new(),
            broker_id: apogee_model::MASTER_ID,
            heartbeat_timeout_millis: Some(self.heartbeat_timeout_ms),
            enable_acting_master: Some(false),
            compressed: Some(false),
            body_crc32: Some(crc),
        };
        let calls = self.namesrv_addrs.iter().map(|addr| {
            let request = RemotingCommand::request(RequestCode::REGISTER_BROKER, &header)
                .with_body(body.clone());
            async move {
                match self.client.invoke(addr, request, REGISTER_TIMEOUT).await {
                    Ok(r) if r.response_code() == ResponseCode::SUCCESS => {
                        tracing::debug!(namesrv = addr, "registered");
                    }
                    Ok(r) => tracing::warn!(namesrv = addr, code = %r.response_code(), remark = ?r.remark, "registration refused"),
                    Err(e) => tracing::warn!(namesrv = addr, error = %e, "registration failed"),
                }
            }
        });
        futures::future::join_all(calls).await;
    }

    async fn unregister_all(&self) {
        let header = UnRegisterBrokerRequestHeader {
            broker_name: self.broker_name.clone(),
            broker_addr: self.broker_addr.clone(),
            cluster_name: self.cluster.clone(),
            broker_id: apogee_model::MASTER_ID,
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
