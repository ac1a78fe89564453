//! Which clients are online: producer and consumer groups → the connections that sent
//! heartbeats for them, with each consumer group's subscriptions (REMOTING.md §3.4). A
//! producer group's connections are where transaction checks go.
//! Registration calls report whether a consumer group's member set changed, so the caller can
//! send NOTIFY_CONSUMER_IDS_CHANGED; channels silent for `channelExpiredTimeout` are dropped
//! by [`ClientRegistry::expire`], and closed connections by [`ClientRegistry::remove_connection`].
//!
//! Heartbeats do not say which topics a producer writes, so the registry also remembers which
//! connections have sent to each topic (DELETE_TOPIC_IN_BROKER refuses a topic in use). That
//! table has its own lock: the send path only takes its read lock once a connection is known.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use apogee_protocol::LanguageCode;
use apogee_protocol::body::client::{ConsumerData, MessageModel, SubscriptionData};
use apogee_remoting::{Connection, ConnectionId};

/// One client connection of a group.
#[derive(Debug, Clone)]
pub struct ClientChannel {
    pub connection: Connection,
    pub client_id: String,
    pub language: LanguageCode,
    pub version: i32,
    pub last_update_ms: i64,
}

/// A client reached other than by remoting (a v5 client of the gRPC endpoint), by client id.
#[derive(Debug, Clone)]
pub struct OtherClient {
    pub client_id: String,
    /// Where it connected from.
    pub addr: String,
    pub language: LanguageCode,
    pub version: i32,
    pub last_update_ms: i64,
}

/// A consumer group as its members last described it.
#[derive(Debug, Clone, Default)]
pub struct ConsumerGroupInfo {
    pub channels: HashMap<ConnectionId, ClientChannel>,
    /// Members that are not remoting clients (v5 clients); they take no part in rebalancing.
    pub others: HashMap<String, OtherClient>,
    pub subscriptions: HashMap<String, SubscriptionData>,
    pub message_model: MessageModel,
    pub consume_type: String,
    pub consume_from_where: String,
}

impl ConsumerGroupInfo {
    fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.others.is_empty()
    }

    fn client_ids(&self) -> BTreeSet<String> {
        self.channels
            .values()
            .map(|c| c.client_id.clone())
            .collect()
    }
}

#[derive(Default)]
struct Registry {
    consumers: HashMap<String, ConsumerGroupInfo>,
    producers: HashMap<String, HashMap<ConnectionId, ClientChannel>>,
}

/// Topic → connections that have sent to it.
type Senders = HashMap<String, HashMap<ConnectionId, Connection>>;

/// Shared handle to the registry.
#[derive(Clone, Default)]
pub struct ClientRegistry {
    inner: Arc<Mutex<Registry>>,
    senders: Arc<RwLock<Senders>>,
}

impl ClientRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a consumer heartbeat; true when the group's set of client ids changed.
    pub fn register_consumer(&self, data: &ConsumerData, channel: ClientChannel) -> bool {
        let mut registry = self.lock();
        let group = registry
            .consumers
            .entry(data.group_name.clone())
            .or_default();
        let before = group.client_ids();
        group.channels.insert(channel.connection.id(), channel);
        group.message_model = data.message_model;
        group.consume_type.clone_from(&data.consume_type);
        group
            .consume_from_where
            .clone_from(&data.consume_from_where);
        if !data.subscription_data_set.is_empty() {
            group.subscriptions = data
                .subscription_data_set
                .iter()
                .map(|s| (s.topic.clone(), s.clone()))
                .collect();
        }
        before != group.client_ids()
    }

    pub fn register_producer(&self, group: &str, channel: ClientChannel) {
        self.lock()
            .producers
            .entry(group.to_owned())
            .or_default()
            .insert(channel.connection.id(), channel);
    }

    /// UNREGISTER_CLIENT; returns the consumer group when its member set changed.
    pub fn unregister(
        &self,
        connection: ConnectionId,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) -> Option<String> {
        let mut registry = self.lock();
        if let Some(group) = producer_group
            && let Some(channels) = registry.producers.get_mut(group)
        {
            channels.remove(&connection);
            if channels.is_empty() {
                registry.producers.remove(group);
            }
        }
        let group = consumer_group?;
        let info = registry.consumers.get_mut(group)?;
        let before = info.client_ids();
        info.channels.remove(&connection);
        let changed = before != info.client_ids();
        if info.is_empty() {
            registry.consumers.remove(group);
        }
        changed.then(|| group.to_owned())
    }

    /// Forgets a closed connection everywhere; returns consumer groups whose members changed.
    pub fn remove_connection(&self, connection: ConnectionId) -> Vec<String> {
        self.senders
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, senders| {
                senders.remove(&connection);
                !senders.is_empty()
            });
        self.remove_where(|id, _| id == connection)
    }

    /// Remembers that `connection` sent a message to `topic`.
    pub fn note_sender(&self, topic: &str, connection: &Connection) {
        let known = self
            .senders
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(topic)
            .is_some_and(|s| s.contains_key(&connection.id()));
        if known || connection.is_closed() {
            return;
        }
        self.senders
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(topic.to_owned())
            .or_default()
            .insert(connection.id(), connection.clone());
    }

    /// Open connections that have sent to `topic`.
    pub fn senders_to(&self, topic: &str) -> usize {
        self.senders
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(topic)
            .map_or(0, |s| s.values().filter(|c| !c.is_closed()).count())
    }

    /// Records a heartbeat of a consumer that is not a remoting client (a v5 client): it shows
    /// among the group's members and keeps the group online; `subscriptions` replace the
    /// group's when given.
    pub fn register_other_consumer(
        &self,
        group: &str,
        client: OtherClient,
        subscriptions: &[SubscriptionData],
    ) {
        let mut registry = self.lock();
        let info = registry.consumers.entry(group.to_owned()).or_default();
        if info.channels.is_empty() {
            "CONSUME_POP".clone_into(&mut info.consume_type);
            "CONSUME_FROM_LAST_OFFSET".clone_into(&mut info.consume_from_where);
        }
        if !subscriptions.is_empty() {
            info.subscriptions = subscriptions
                .iter()
                .map(|s| (s.topic.clone(), s.clone()))
                .collect();
        }
        info.others.insert(client.client_id.clone(), client);
    }

    /// Forgets a client that is not a remoting client, in every group.
    pub fn unregister_other(&self, client_id: &str) {
        self.lock().consumers.retain(|_, info| {
            info.others.remove(client_id);
            !info.is_empty()
        });
    }

    /// Drops channels silent for longer than `timeout_ms`; returns (changed groups, the
    /// dropped connections, which the caller closes).
    pub fn expire(&self, now_ms: i64, timeout_ms: i64) -> (Vec<String>, Vec<Connection>) {
        self.lock().consumers.retain(|_, info| {
            info.others
                .retain(|_, c| now_ms - c.last_update_ms <= timeout_ms);
            !info.is_empty()
        });
        let mut dropped = Vec::new();
        let changed = self.remove_where(|_, channel| {
            let expired = now_ms - channel.last_update_ms > timeout_ms;
            if expired {
                dropped.push(channel.connection.clone());
            }
            expired
        });
        (changed, dropped)
    }

    fn remove_where(
        &self,
        mut remove: impl FnMut(ConnectionId, &ClientChannel) -> bool,
    ) -> Vec<String> {
        let mut registry = self.lock();
        let mut changed = Vec::new();
        registry.consumers.retain(|group, info| {
            let before = info.client_ids();
            info.channels.retain(|id, c| !remove(*id, c));
            if before != info.client_ids() {
                changed.push(group.clone());
            }
            !info.is_empty()
        });
        registry.producers.retain(|_, channels| {
            channels.retain(|id, c| !remove(*id, c));
            !channels.is_empty()
        });
        changed
    }

    /// One live connection of a producer group (CHECK_TRANSACTION_STATE goes to it): the one
    /// heard from most recently, as any member can answer for the group.
    pub fn producer_connection(&self, group: &str) -> Option<Connection> {
        self.lock()
            .producers
            .get(group)?
            .values()
            .filter(|c| !c.connection.is_closed())
            .max_by_key(|c| (c.last_update_ms, c.connection.id()))
            .map(|c| c.connection.clone())
    }

    /// Client ids of a consumer group, sorted (every member must see the same list).
    pub fn consumer_ids(&self, group: &str) -> Vec<String> {
        self.lock()
            .consumers
            .get(group)
            .map(|g| g.client_ids().into_iter().collect())
            .unwrap_or_default()
    }

    /// The live channel of one member of a consumer group (the one heard from last, when the
    /// client has several connections).
    pub fn consumer_channel(&self, group: &str, client_id: &str) -> Option<ClientChannel> {
        self.lock()
            .consumers
            .get(group)?
            .channels
            .values()
            .filter(|c| c.client_id == client_id && !c.connection.is_closed())
            .max_by_key(|c| (c.last_update_ms, c.connection.id()))
            .cloned()
    }

    /// Connections of a consumer group's members (NOTIFY_CONSUMER_IDS_CHANGED goes to each).
    pub fn consumer_connections(&self, group: &str) -> Vec<Connection> {
        self.lock()
            .consumers
            .get(group)
            .map(|g| g.channels.values().map(|c| c.connection.clone()).collect())
            .unwrap_or_default()
    }

    /// The subscription a consumer group registered for `topic`.
    pub fn subscription(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        self.lock()
            .consumers
            .get(group)
            .and_then(|g| g.subscriptions.get(topic).cloned())
    }

    /// Whether a consumer group has members online.
    pub fn consumer_group(&self, group: &str) -> Option<ConsumerGroupInfo> {
        self.lock().consumers.get(group).cloned()
    }

    /// The online members of a producer group, if it has any.
    pub fn producer_group(&self, group: &str) -> Option<Vec<ClientChannel>> {
        self.lock()
            .producers
            .get(group)
            .map(|channels| channels.values().cloned().collect())
    }

    /// Every online consumer group's name.
    pub fn consumer_group_names(&self) -> Vec<String> {
        self.lock().consumers.keys().cloned().collect()
    }

    /// Every producer group with its connections (GET_ALL_PRODUCER_INFO).
    pub fn producer_groups(&self) -> Vec<(String, Vec<ClientChannel>)> {
        let registry = self.lock();
        registry
            .producers
            .iter()
            .map(|(group, channels)| (group.clone(), channels.values().cloned().collect()))
            .collect()
    }

    /// Online consumer groups whose subscriptions include `topic`.
    pub fn groups_subscribed_to(&self, topic: &str) -> BTreeSet<String> {
        self.lock()
            .consumers
            .iter()
            .filter(|(_, info)| info.subscriptions.contains_key(topic))
            .map(|(group, _)| group.clone())
            .collect()
    }
}
