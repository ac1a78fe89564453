//! The route registry: which brokers exist, which topics they serve, and when each last
//! reported. A plain struct with synchronous methods and an injected `now_ms`, so every rule
//! is testable without sockets or sleeps; [`SharedRouteTable`] is the thread-safe handle the
//! processors use (a std `RwLock`, never held across `.await`).
//!
//! ```text
//! topic_queue:  topic ─► brokerName ─► QueueData          (what clients route on)
//! broker_addr:  brokerName ─► BrokerData {id ─► addr}     (who serves it)
//! cluster_addr: cluster ─► {brokerName}
//! broker_live:  (cluster, addr) ─► last update, timeout, DataVersion, connection
//! ```
//! Rules follow Java's `RouteInfoManager` (see docs/protocol-notes.md).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use apogee_model::{
    BrokerName, ClusterName, DataVersion, MASTER_ID, Perm, TopicName, TopicSysFlag,
};
use apogee_protocol::body::TopicList;
use apogee_protocol::body::register::TopicConfigSerializeWrapper;
use apogee_protocol::body::route::{
    BrokerData, BrokerMemberGroup, ClusterInfo, QueueData, TopicRouteData,
};
use apogee_remoting::ConnectionId;

/// Java's default broker expiry, used when a registration gives none.
pub const DEFAULT_BROKER_TIMEOUT_MS: i64 = 120_000;

/// A broker instance is identified by its cluster and address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrokerAddrInfo {
    pub cluster: ClusterName,
    pub addr: String,
}

#[derive(Debug, Clone)]
struct BrokerLiveInfo {
    last_update_ms: i64,
    timeout_ms: i64,
    data_version: DataVersion,
    connection: Option<ConnectionId>,
    ha_server_addr: String,
}

/// Everything REGISTER_BROKER carries, decoded and validated.
#[derive(Debug, Clone)]
pub struct Registration {
    pub cluster: ClusterName,
    pub broker_addr: String,
    pub broker_name: BrokerName,
    pub broker_id: i64,
    pub ha_server_addr: String,
    pub timeout_ms: Option<i64>,
    pub enable_acting_master: Option<bool>,
    pub topics: Option<TopicConfigSerializeWrapper>,
    pub filter_servers: Option<Vec<String>>,
    pub connection: Option<ConnectionId>,
}

/// For a slave: its master's addresses, when the master is registered and alive.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegisterOutcome {
    pub master_addr: Option<String>,
    pub ha_server_addr: Option<String>,
}

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterRefusal {
    /// A single-topic registration from a broker id that never registered in full.
    NotRegisteredYet,
    /// Another address holds this broker name and id and is alive: a second broker (or a
    /// forger) may not take it over, whatever stateVersion it claims.
    IdTaken { holder: String },
}

/// Where a registration's address landed.
enum Placement {
    /// Another live broker with a newer stateVersion holds this id.
    Stale,
    Placed {
        first: bool,
    },
}

/// Whether to wipe or restore write permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePermOp {
    Wipe,
    Add,
}

/// The registry. See the module docs.
#[derive(Debug, Default)]
pub struct RouteTable {
    topic_queue: BTreeMap<TopicName, BTreeMap<BrokerName, QueueData>>,
    broker_addr: BTreeMap<BrokerName, BrokerData>,
    cluster_addr: BTreeMap<ClusterName, BTreeSet<BrokerName>>,
    broker_live: HashMap<BrokerAddrInfo, BrokerLiveInfo>,
    filter_server: HashMap<BrokerAddrInfo, Vec<String>>,
    /// A master's DataVersion that changed recently, and until when (ms): the batches of a
    /// split registration all carry it, and each batch's topics are applied, not only the
    /// first's (Java applies later batches' changes only at the next version change).
    applying: HashMap<BrokerAddrInfo, (DataVersion, i64)>,
}

/// How long after a version change its registrations count as one round of batches.
const SPLIT_ROUND_MS: i64 = 60_000;

impl RouteTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or refreshes) a broker and, for a master, its topics.
    pub fn register_broker(
        &mut self,
        reg: Registration,
        delete_missing_topics: bool,
        now_ms: i64,
    ) -> Result<RegisterOutcome, RegisterRefusal> {
        let key = BrokerAddrInfo {
            cluster: reg.cluster.clone(),
            addr: reg.broker_addr.clone(),
        };
        let register_first = match self.place_address(&reg, now_ms)? {
            Placement::Stale => {
                tracing::warn!(broker = %reg.broker_name, id = reg.broker_id, addr = %reg.broker_addr, "stale registration: a newer broker holds this id");
                self.broker_live.remove(&key);
                return Ok(RegisterOutcome::default());
            }
            Placement::Placed { first } => first,
        };
        let is_master = reg.broker_id == MASTER_ID;
        if is_master {
            let version = reg.topics.as_ref().map(|t| t.data_version);
            let changed = self.is_broker_topic_config_changed(&key, version.as_ref());
            if changed && let Some(version) = version {
                self.applying.insert(
                    key.clone(),
                    (version, now_ms.saturating_add(SPLIT_ROUND_MS)),
                );
            }
            let in_round = self
                .applying
                .get(&key)
                .is_some_and(|(v, until)| Some(*v) == version && now_ms < *until);
            self.update_topics(
                &reg,
                register_first || changed || in_round,
                delete_missing_topics,
            );
        }
        self.record_liveness(key, &reg, now_ms);
        Ok(if is_master {
            RegisterOutcome::default()
        } else {
            self.master_of(&reg.cluster, &reg.broker_name)
        })
    }

    /// Puts the broker's address under its name and id (Java's rules: one id per address, a
    /// single-topic registration needs a full one first). Unlike Java, where a newer
    /// stateVersion wins, an id held by another live address is refused: the holder must
    /// unregister or expire first.
    fn place_address(
        &mut self,
        reg: &Registration,
        now_ms: i64,
    ) -> Result<Placement, RegisterRefusal> {
        if let Some(holder) = self.live_holder(reg, now_ms) {
            return Err(RegisterRefusal::IdTaken { holder });
        }
        self.cluster_addr
            .entry(reg.cluster.clone())
            .or_default()
            .insert(reg.broker_name.clone());
        let mut first = !self.broker_addr.contains_key(&reg.broker_name);
        let data = self
            .broker_addr
            .entry(reg.broker_name.clone())
            .or_insert_with(|| BrokerData {
                broker_addrs: BTreeMap::new(),
                broker_name: reg.broker_name.clone(),
                cluster: reg.cluster.clone(),
                enable_acting_master: false,
                zone_name: None,
            });
        data.enable_acting_master = reg.enable_acting_master.unwrap_or(false);
        // One address has one id: a slave promoted to master re-registers under id 0.
        data.broker_addrs
            .retain(|id, addr| *addr != reg.broker_addr || *id == reg.broker_id);
        let incoming_state = reg
            .topics
            .as_ref()
            .map_or(0, |t| t.data_version.state_version);
        if let Some(old_addr) = data
            .broker_addrs
            .get(&reg.broker_id)
            .filter(|a| **a != reg.broker_addr)
        {
            let old_key = BrokerAddrInfo {
                cluster: reg.cluster.clone(),
                addr: old_addr.clone(),
            };
            let old_state = self
                .broker_live
                .get(&old_key)
                .map(|l| l.data_version.state_version);
            if old_state.is_some_and(|s| s > incoming_state) {
                return Ok(Placement::Stale);
            }
        }
        let single_topic = reg
            .topics
            .as_ref()
            .is_some_and(|t| t.topic_config_table.len() == 1);
        if !data.broker_addrs.contains_key(&reg.broker_id) && single_topic {
            return Err(RegisterRefusal::NotRegisteredYet);
        }
        first |= data
            .broker_addrs
            .insert(reg.broker_id, reg.broker_addr.clone())
            .is_none();
        Ok(Placement::Placed { first })
    }

    /// The other, still-live address registered under `reg`'s broker name and id, if any.
    fn live_holder(&self, reg: &Registration, now_ms: i64) -> Option<String> {
        let holder = self
            .broker_addr
            .get(&reg.broker_name)?
            .broker_addrs
            .get(&reg.broker_id)
            .filter(|a| **a != reg.broker_addr)?;
        let key = BrokerAddrInfo {
            cluster: reg.cluster.clone(),
            addr: holder.clone(),
        };
        let incoming_state = reg
            .topics
            .as_ref()
            .map_or(0, |t| t.data_version.state_version);
        // Controller mode (the holder registered a master epoch as its stateVersion): a master
        // of a newer epoch replaces it at once, though it still looks alive (frozen,
        // partitioned). A holder outside controller mode keeps its id until it goes silent.
        self.broker_live
            .get(&key)
            .filter(|l| l.last_update_ms.saturating_add(l.timeout_ms) >= now_ms)
            .filter(|l| {
                let held = l.data_version.state_version;
                held == 0 || held >= incoming_state
            })
            .map(|_| holder.clone())
    }

    /// A master's topics become queue data; only changed (or new) entries are replaced, so a
    /// wiped write permission survives re-registration with the same DataVersion.
    fn update_topics(&mut self, reg: &Registration, replace_all: bool, delete_missing: bool) {
        let Some(topics) = reg.topics.as_ref() else {
            return;
        };
        if delete_missing {
            self.remove_topics_not_in(&reg.broker_name, topics);
        }
        for config in topics.topic_config_table.values() {
            if replace_all || !self.serves(&config.topic_name, &reg.broker_name) {
                let queue = QueueData {
                    broker_name: reg.broker_name.clone(),
                    perm: config.perm,
                    read_queue_nums: config.read_queue_nums,
                    topic_sys_flag: config.topic_sys_flag,
                    write_queue_nums: config.write_queue_nums,
                };
                self.topic_queue
                    .entry(config.topic_name.clone())
                    .or_default()
                    .insert(reg.broker_name.clone(), queue);
            }
        }
    }

    fn record_liveness(&mut self, key: BrokerAddrInfo, reg: &Registration, now_ms: i64) {
        let live = BrokerLiveInfo {
            last_update_ms: now_ms,
            timeout_ms: reg
                .timeout_ms
                .filter(|t| *t > 0)
                .unwrap_or(DEFAULT_BROKER_TIMEOUT_MS),
            data_version: reg
                .topics
                .as_ref()
                .map(|t| t.data_version)
                .unwrap_or_default(),
            connection: reg.connection,
            ha_server_addr: reg.ha_server_addr.clone(),
        };
        self.broker_live.insert(key.clone(), live);
        match &reg.filter_servers {
            Some(list) if list.is_empty() => {
                self.filter_server.remove(&key);
            }
            Some(list) => {
                self.filter_server.insert(key, list.clone());
            }
            None => {}
        }
    }

    fn serves(&self, topic: &TopicName, broker: &BrokerName) -> bool {
        self.topic_queue
            .get(topic)
            .is_some_and(|m| m.contains_key(broker))
    }

    fn remove_topics_not_in(&mut self, broker: &BrokerName, topics: &TopicConfigSerializeWrapper) {
        for (topic, queues) in &mut self.topic_queue {
            if !topics.topic_config_table.contains_key(topic.as_str()) {
                queues.remove(broker);
            }
        }
        self.topic_queue.retain(|_, queues| !queues.is_empty());
    }

    fn master_of(&self, cluster: &ClusterName, broker: &BrokerName) -> RegisterOutcome {
        let Some(master_addr) = self
            .broker_addr
            .get(broker)
            .and_then(|d| d.broker_addrs.get(&(MASTER_ID)))
        else {
            return RegisterOutcome::default();
        };
        let key = BrokerAddrInfo {
            cluster: cluster.clone(),
            addr: master_addr.clone(),
        };
        match self.broker_live.get(&key) {
            Some(live) => RegisterOutcome {
                master_addr: Some(master_addr.clone()),
                ha_server_addr: Some(live.ha_server_addr.clone()),
            },
            None => RegisterOutcome::default(),
        }
    }

    /// Whether `version` differs from what the broker last registered (or it never did).
    pub fn is_broker_topic_config_changed(
        &self,
        key: &BrokerAddrInfo,
        version: Option<&DataVersion>,
    ) -> bool {
        let stored = self.broker_live.get(key).map(|l| &l.data_version);
        match (stored, version) {
            (Some(stored), Some(version)) => stored != version,
            (Some(stored), None) => *stored != DataVersion::default(),
            (None, _) => true,
        }
    }

    /// The DataVersion the broker last registered with.
    pub fn broker_data_version(&self, key: &BrokerAddrInfo) -> Option<DataVersion> {
        self.broker_live.get(key).map(|l| l.data_version)
    }

    /// Refreshes a live broker's timestamp (BROKER_HEARTBEAT, QUERY_DATA_VERSION).
    pub fn touch(&mut self, key: &BrokerAddrInfo, now_ms: i64) -> bool {
        match self.broker_live.get_mut(key) {
            Some(live) => {
                live.last_update_ms = now_ms;
                true
            }
            None => false,
        }
    }

    /// Removes one broker instance; its topics go when its broker name has no address left.
    pub fn unregister_broker(&mut self, cluster: &ClusterName, addr: &str, broker: &BrokerName) {
        let key = BrokerAddrInfo {
            cluster: cluster.clone(),
            addr: addr.to_owned(),
        };
        self.broker_live.remove(&key);
        self.filter_server.remove(&key);
        let Some(data) = self.broker_addr.get_mut(broker) else {
            return;
        };
        data.broker_addrs.retain(|_, a| a != addr);
        if !data.broker_addrs.is_empty() {
            return;
        }
        self.broker_addr.remove(broker);
        if let Some(names) = self.cluster_addr.get_mut(cluster) {
            names.remove(broker);
            if names.is_empty() {
                self.cluster_addr.remove(cluster);
            }
        }
        for queues in self.topic_queue.values_mut() {
            queues.remove(broker);
        }
        self.topic_queue.retain(|_, queues| !queues.is_empty());
    }

    /// Drops brokers silent past their timeout; returns who was dropped.
    pub fn scan_expired(&mut self, now_ms: i64) -> Vec<BrokerAddrInfo> {
        let expired: Vec<BrokerAddrInfo> = self
            .broker_live
            .iter()
            .filter(|(_, live)| live.last_update_ms.saturating_add(live.timeout_ms) < now_ms)
            .map(|(key, _)| key.clone())
            .collect();
        for key in &expired {
            self.remove_instance(key);
        }
        expired
    }

    /// Drops every broker that registered over `connection`; returns who was dropped.
    pub fn connection_closed(&mut self, connection: ConnectionId) -> Vec<BrokerAddrInfo> {
        let gone: Vec<BrokerAddrInfo> = self
            .broker_live
            .iter()
            .filter(|(_, live)| live.connection == Some(connection))
            .map(|(key, _)| key.clone())
            .collect();
        for key in &gone {
            self.remove_instance(key);
        }
        gone
    }

    fn remove_instance(&mut self, key: &BrokerAddrInfo) {
        let owner = self
            .broker_addr
            .values()
            .find(|d| d.cluster == key.cluster && d.broker_addrs.values().any(|a| *a == key.addr))
            .map(|d| d.broker_name.clone());
        match owner {
            Some(broker) => self.unregister_broker(&key.cluster, &key.addr, &broker),
            None => {
                self.broker_live.remove(key);
                self.filter_server.remove(key);
            }
        }
    }

    /// The route of `topic`, or `None` when no live broker serves it.
    pub fn route(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topic_queue.get(topic)?;
        let mut route = TopicRouteData::default();
        for (broker, queue) in queues {
            route.queue_datas.push(queue.clone());
            if let Some(data) = self.broker_addr.get(broker) {
                for addr in data.broker_addrs.values() {
                    let key = BrokerAddrInfo {
                        cluster: data.cluster.clone(),
                        addr: addr.clone(),
                    };
                    if let Some(list) = self.filter_server.get(&key) {
                        route.filter_server_table.insert(addr.clone(), list.clone());
                    }
                }
                route.broker_datas.push(data.clone());
            }
        }
        (!route.broker_datas.is_empty() && !route.queue_datas.is_empty()).then_some(route)
    }

    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self.broker_addr.clone(),
            cluster_addr_table: self.cluster_addr.clone(),
        }
    }

    pub fn all_topics(&self) -> TopicList {
        TopicList {
            broker_addr: None,
            topic_list: self.topic_queue.keys().map(|t| t.to_string()).collect(),
        }
    }

    /// Topics served by any broker of `cluster`.
    pub fn topics_of_cluster(&self, cluster: &str) -> TopicList {
        let brokers = self
            .cluster_addr
            .iter()
            .find(|(c, _)| c.as_str() == cluster)
            .map(|(_, b)| b);
        let topic_list = match brokers {
            Some(brokers) => self
                .topic_queue
                .iter()
                .filter(|(_, queues)| queues.keys().any(|b| brokers.contains(b)))
                .map(|(t, _)| t.to_string())
                .collect(),
            None => Vec::new(),
        };
        TopicList {
            broker_addr: None,
            topic_list,
        }
    }

    /// Cluster and broker names (they double as system topics) plus one broker address.
    pub fn system_topics(&self) -> TopicList {
        let mut topic_list = Vec::new();
        for (cluster, brokers) in &self.cluster_addr {
            topic_list.push(cluster.to_string());
            topic_list.extend(brokers.iter().map(ToString::to_string));
        }
        let broker_addr = self
            .broker_addr
            .values()
            .find_map(|d| d.broker_addrs.values().next().cloned());
        TopicList {
            broker_addr,
            topic_list,
        }
    }

    /// Topics whose first queue entry's sys flag passes `filter` (unit-topic lists).
    pub fn topics_by_sys_flag(&self, filter: impl Fn(TopicSysFlag) -> bool) -> TopicList {
        let topic_list = self
            .topic_queue
            .iter()
            .filter(|(_, queues)| {
                queues
                    .values()
                    .next()
                    .is_some_and(|q| filter(TopicSysFlag(q.topic_sys_flag)))
            })
            .map(|(t, _)| t.to_string())
            .collect();
        TopicList {
            broker_addr: None,
            topic_list,
        }
    }

    /// Clears (wipe) or restores (add: perm = READ|WRITE) write permission of every topic on
    /// `broker`; returns how many topics were touched.
    pub fn operate_write_perm(&mut self, broker: &BrokerName, op: WritePermOp) -> i32 {
        // A wipe must survive the broker's next registrations with the same version.
        self.applying.clear();
        let mut count = 0;
        for queues in self.topic_queue.values_mut() {
            if let Some(queue) = queues.get_mut(broker) {
                queue.perm = match op {
                    WritePermOp::Wipe => Perm(queue.perm).without_write().0,
                    WritePermOp::Add => Perm::READ_WRITE.0,
                };
                count += 1;
            }
        }
        count
    }

    /// Deletes a topic everywhere, or only from the brokers of `cluster`.
    pub fn delete_topic(&mut self, topic: &TopicName, cluster: Option<&str>) {
        let Some(cluster) = cluster.filter(|c| !c.is_empty()) else {
            self.topic_queue.remove(topic);
            return;
        };
        let Some(brokers) = self
            .cluster_addr
            .iter()
            .find(|(c, _)| c.as_str() == cluster)
            .map(|(_, b)| b.clone())
        else {
            return;
        };
        if let Some(queues) = self.topic_queue.get_mut(topic) {
            queues.retain(|broker, _| !brokers.contains(broker));
            if queues.is_empty() {
                self.topic_queue.remove(topic);
            }
        }
    }

    /// Registers queue data for a topic; entries for unknown brokers are skipped. Returns how
    /// many were registered. (Java drops the whole request at the first unknown broker.)
    pub fn register_topic(&mut self, topic: &TopicName, queues: Vec<QueueData>) -> usize {
        let known: Vec<QueueData> = queues
            .into_iter()
            .filter(|q| self.broker_addr.contains_key(&q.broker_name))
            .collect();
        let count = known.len();
        if count > 0 {
            let entry = self.topic_queue.entry(topic.clone()).or_default();
            for queue in known {
                entry.insert(queue.broker_name.clone(), queue);
            }
        }
        count
    }

    /// The member group of a broker name (empty addresses when unknown).
    pub fn member_group(&self, cluster: &str, broker: &str) -> BrokerMemberGroup {
        let broker_addrs = self
            .broker_addr
            .get(broker)
            .map(|d| d.broker_addrs.clone())
            .unwrap_or_default();
        BrokerMemberGroup {
            broker_addrs,
            broker_name: broker.to_owned(),
            cluster: cluster.to_owned(),
        }
    }

    /// How many broker instances are alive (for logs and tests).
    pub fn live_broker_count(&self) -> usize {
        self.broker_live.len()
    }

    /// Live broker instances per cluster (for metrics).
    pub fn live_brokers_by_cluster(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for key in self.broker_live.keys() {
            *out.entry(key.cluster.to_string()).or_default() += 1;
        }
        out
    }

    /// How many topics have a route (for metrics).
    pub fn topic_count(&self) -> usize {
        self.topic_queue.len()
    }
}

/// The thread-safe handle processors and background tasks share.
#[derive(Debug, Clone, Default)]
pub struct SharedRouteTable(Arc<RwLock<RouteTable>>);

impl SharedRouteTable {
    pub fn read(&self) -> RwLockReadGuard<'_, RouteTable> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, RouteTable> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
#[path = "route_table_tests.rs"]
mod tests;
