//! Wiring for controller mode (docs/failover.md): the link to the controllers, the broker
//! requests it adds, and the master-only services started and stopped with the role.

use std::net::SocketAddr;
use std::sync::Arc;

use apogee_remoting::{Dispatcher, RemotingClient};
use apogee_runtime::Shutdown;
use tokio::task::JoinHandle;

use crate::config::BrokerConfig;
use crate::ha::Replication;
use crate::live::LiveSettings;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::topic_config::TopicConfigs;
use crate::processor::{self, ControllerModeProcessor};
use crate::service::controller_calls::ControllerCalls;
use crate::service::controller_link::ControllerLink;
use crate::service::role_gate::while_master;

/// NOTIFY_BROKER_ROLE_CHANGED, GET_BROKER_EPOCH_CACHE and EXCHANGE_BROKER_HA_INFO (answered
/// REQUEST_CODE_NOT_SUPPORTED outside controller mode).
pub(crate) fn register(
    dispatcher: &mut Dispatcher,
    config: &BrokerConfig,
    replication: &Replication,
    advertised: SocketAddr,
) {
    processor::register(
        dispatcher,
        ControllerModeProcessor {
            replication: replication.clone(),
            cluster: config.cluster.as_str().to_owned(),
            broker_name: config.broker_name.as_str().to_owned(),
            broker_addr: advertised.to_string(),
        },
    );
}

/// What the controller-mode tasks need from the broker.
pub(crate) struct Parts<'a> {
    pub config: &'a BrokerConfig,
    /// This broker's client address (`brokerIP1:port`).
    pub broker_addr: String,
    pub client: RemotingClient,
    pub replication: &'a Replication,
    pub topics: &'a TopicConfigs,
    pub offsets: &'a ConsumerOffsets,
    pub delivery: &'a crate::services::Delivery,
    pub live: &'a LiveSettings,
}

/// Starts the link and the role-gated services; nothing outside controller mode.
pub(crate) fn spawn(parts: Parts<'_>, shutdown: &Shutdown) -> Vec<JoinHandle<()>> {
    let Some(mode) = parts.config.controller.clone() else {
        return Vec::new();
    };
    let link = ControllerLink {
        calls: ControllerCalls {
            client: parts.client,
            mode,
            cluster: parts.config.cluster.as_str().to_owned(),
            broker_name: parts.config.broker_name.as_str().to_owned(),
            broker_addr: parts.broker_addr,
        },
        replication: parts.replication.clone(),
        topics: parts.topics.clone(),
        offsets: parts.offsets.clone(),
        identity_path: parts.config.store.root.join("brokerIdentity"),
    };
    let (schedule, live) = (Arc::clone(&parts.delivery.schedule), parts.live.clone());
    let transactions = Arc::clone(&parts.delivery.transactions);
    let timer = Arc::clone(&parts.delivery.timer);
    vec![
        tokio::spawn(link.run(shutdown.clone())),
        tokio::spawn(while_master(
            parts.replication.clone(),
            shutdown.clone(),
            move |stop| Arc::clone(&schedule).run(stop, live.clone()),
        )),
        tokio::spawn(while_master(
            parts.replication.clone(),
            shutdown.clone(),
            move |stop| Arc::clone(&transactions).run(stop),
        )),
        tokio::spawn(while_master(
            parts.replication.clone(),
            shutdown.clone(),
            move |stop| Arc::clone(&timer).run(stop),
        )),
    ]
}
