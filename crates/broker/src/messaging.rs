//! The broker's messaging operations as one handle, for the endpoints that are not remoting
//! (the v5 gRPC endpoint, the HTTP messaging endpoint): the same send, end-transaction and POP
//! code the remoting processors run, and the tables they read. Built once; the remoting
//! processors share the same instances.

use std::sync::Arc;

use apogee_auth::AccessControl;
use apogee_protocol::message_id::UniqIdGenerator;
use apogee_runtime::Clock;
use apogee_store::MessageStore;

use crate::Managers;
use crate::config::{BrokerConfig, Limits};
use crate::ha::Replication;
use crate::manager::client_registry::ClientRegistry;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::orphan_checks::OrphanChecks;
use crate::manager::subscription_group::SubscriptionGroups;
use crate::manager::topic_config::TopicConfigs;
use crate::ops::pop::Popper;
use crate::ops::put::Putter;
use crate::processor::{EndTransactionProcessor, Identity, SendProcessor};

/// Send, end a transaction, pop / ack / change invisible time, and the tables behind them.
#[derive(Clone)]
pub struct Messaging {
    pub send: Arc<SendProcessor>,
    pub end_transaction: Arc<EndTransactionProcessor>,
    pub pop: Popper,
    pub put: Putter,
    pub store: Arc<MessageStore>,
    pub topics: TopicConfigs,
    pub groups: SubscriptionGroups,
    pub offsets: ConsumerOffsets,
    /// Online clients: v5 consumers show among their group's members.
    pub clients: ClientRegistry,
    pub orphans: OrphanChecks,
    /// How CONSUME_MESSAGE_DIRECTLY reaches v5 clients (the endpoint sets it).
    pub others: crate::manager::other_calls::OtherClients,
    pub identity: Identity,
    pub replication: Replication,
    pub clock: Arc<dyn Clock>,
    /// The NameServers this broker registers with (route lookups).
    pub namesrv_addrs: Vec<String>,
    /// The client the broker registers with (it signs with the broker's inner credentials).
    pub namesrv_client: apogee_remoting::RemotingClient,
    /// Users and policies: the v5 endpoint checks its calls against them.
    pub access: Arc<AccessControl>,
    pub uniq_ids: Arc<UniqIdGenerator>,
}

pub(crate) fn build(
    config: &BrokerConfig,
    store: &Arc<MessageStore>,
    m: &Managers,
    (identity, clock): (&Identity, &Arc<dyn Clock>),
    (namesrv_client, access): (apogee_remoting::RemotingClient, &Arc<AccessControl>),
) -> Messaging {
    let limits: Arc<Limits> = Arc::new(config.limits.clone());
    let uniq_ids = Arc::new(UniqIdGenerator::new(
        identity.store_host.ip(),
        std::process::id(),
        i32::try_from(clock.now_ms() & 0x7FFF_FFFF).unwrap_or(0),
    ));
    let send = SendProcessor {
        put: m.putter(store, clock),
        topics: m.topics.clone(),
        groups: m.groups.clone(),
        clients: m.clients.clone(),
        identity: identity.clone(),
        limits: Arc::clone(&limits),
        uniq_ids: Arc::clone(&uniq_ids),
        clock: Arc::clone(clock),
        live: m.live.clone(),
        replication: m.replication.clone(),
    };
    let end_transaction = EndTransactionProcessor {
        put: m.putter(store, clock),
        records: store.clone(),
        topics: m.topics.clone(),
        identity: identity.clone(),
        clock: Arc::clone(clock),
        live: m.live.clone(),
        replication: m.replication.clone(),
        timer: m.timer,
        delay_levels: m.delay_levels,
    };
    let pop = crate::pop::popper(config, m.getter(store, identity, &limits), m, clock);
    Messaging {
        send: Arc::new(send),
        end_transaction: Arc::new(end_transaction),
        pop,
        put: m.putter(store, clock),
        store: store.clone(),
        topics: m.topics.clone(),
        groups: m.groups.clone(),
        offsets: m.offsets.clone(),
        clients: m.clients.clone(),
        orphans: m.orphans.clone(),
        others: m.others.clone(),
        identity: identity.clone(),
        replication: m.replication.clone(),
        clock: Arc::clone(clock),
        namesrv_addrs: config.namesrv_addrs.clone(),
        namesrv_client,
        access: Arc::clone(access),
        uniq_ids,
    }
}
