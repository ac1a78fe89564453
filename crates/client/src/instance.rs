//! The per-process client instance (Java's `MQClientInstance`): one connection pool, the route
//! cache, heartbeats, and the registry of producer and consumer groups. Producers and
//! consumers with the same client id share one instance; it lives as long as any of them.
//!
//! Background loops hold only a `Weak` reference and end when the last user drops it.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apogee_protocol::body::admin::{ConsumeDirectlyOutcome, ConsumerRunningInfo, to_java_json};
use apogee_protocol::body::client::{ConsumerData, HeartbeatData, MessageQueue, ProducerData};
use apogee_protocol::body::route::TopicRouteData;
use apogee_protocol::header::admin::GetConsumerRunningInfoRequestHeader;
use apogee_protocol::header::consumer::UnregisterClientRequestHeader;
use apogee_protocol::header::namesrv::GetRouteInfoRequestHeader;
use apogee_protocol::message_id::{UniqIdGenerator, ms_since_month_start};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{Dispatcher, RemotingClient};
use apogee_runtime::Shutdown;
use tokio::sync::mpsc;

use crate::config::ClientConfig;
use crate::inbound::InboundProcessor;
use crate::message::MessageExt;
use crate::namesrv::NameServers;
use crate::route::TopicRoute;
use crate::{ClientError, Result};

/// The template topic new topics are created from.
pub const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";

/// What the instance needs from a consumer group registered with it.
pub(crate) trait ConsumerHandle: Send + Sync + 'static {
    fn consumer_data(&self) -> ConsumerData;
    /// The broker reported a change in the group's members: rebalance soon.
    fn ids_changed(&self);
    /// A broker moved the group's offsets on `topic` (RESET_CONSUMER_CLIENT_OFFSET).
    fn reset_offsets(&self, topic: String, offsets: BTreeMap<MessageQueue, i64>);
    /// GET_CONSUMER_RUNNING_INFO: what the consumer reports about itself (`None`: it does
    /// not answer it).
    fn running_info(&self) -> Option<ConsumerRunningInfo> {
        None
    }
    /// CONSUME_MESSAGE_DIRECTLY: the listener call to run on `msg` (`None`: this consumer has
    /// no listener to run).
    fn consume_directly(&self, _msg: MessageExt) -> Option<DirectConsume> {
        None
    }
}

/// One listener call asked for by CONSUME_MESSAGE_DIRECTLY, run on a blocking thread.
pub(crate) struct DirectConsume {
    /// An orderly listener.
    pub order: bool,
    pub run: Box<dyn FnOnce() -> ConsumeDirectlyOutcome + Send>,
}

/// What the instance needs from a producer group registered with it.
pub(crate) trait ProducerHandle: Send + Sync + 'static {
    /// A broker asks about a transaction (CHECK_TRANSACTION_STATE); answer in the background.
    fn check_transaction(&self, broker_addr: String, request: RemotingCommand);
}

static INSTANCES: LazyLock<Mutex<HashMap<String, Weak<ClientInstance>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A per-process random standing in for Java's class-loader hash in UNIQ_KEY.
pub(crate) fn process_random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::Instant::now().elapsed().as_nanos());
    hasher.finish()
}

/// Shared client state; see the module docs.
pub struct ClientInstance {
    client_id: String,
    pub(crate) config: ClientConfig,
    pub(crate) remoting: RemotingClient,
    namesrv: NameServers,
    routes: Mutex<HashMap<String, Arc<TopicRoute>>>,
    /// Broker name → (broker id → address), merged from every cached route.
    brokers: Mutex<HashMap<String, BTreeMap<i64, String>>>,
    producers: Mutex<HashMap<String, Arc<dyn ProducerHandle>>>,
    consumers: Mutex<HashMap<String, Arc<dyn ConsumerHandle>>>,
    uniq: UniqIdGenerator,
    /// Closed once the runtime that started the background loops is gone.
    alive: mpsc::Sender<()>,
    shutdown: Shutdown,
    me: Weak<ClientInstance>,
}

impl std::fmt::Debug for ClientInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInstance")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl ClientInstance {
    /// The instance for `config`'s client id, started on the current Tokio runtime if there
    /// is none (or the old one's runtime has gone).
    pub async fn get(config: &ClientConfig) -> Result<Arc<ClientInstance>> {
        config.validate()?;
        let id = config.client_id();
        // Clients of one id that sign as different users get different connections.
        let key = match &config.credentials {
            Some(c) => format!("{id}#{}", c.access_key),
            None => id.clone(),
        };
        let key = if config.tls.is_some() {
            format!("{key}#tls")
        } else {
            key
        };
        {
            let instances = lock(&INSTANCES);
            if let Some(existing) = instances.get(&key).and_then(Weak::upgrade)
                && !existing.alive.is_closed()
                && !existing.shutdown.is_triggered()
            {
                return Ok(existing);
            }
        }
        let instance = Self::start(config.clone(), id.clone());
        if instance.namesrv.is_http() {
            instance
                .namesrv
                .refresh(instance.config.request_timeout)
                .await?;
        }
        let mut instances = lock(&INSTANCES);
        // Another task may have won the race; prefer the registered one.
        if let Some(existing) = instances.get(&key).and_then(Weak::upgrade)
            && !existing.alive.is_closed()
            && !existing.shutdown.is_triggered()
        {
            return Ok(existing);
        }
        instances.insert(key, Arc::downgrade(&instance));
        Ok(instance)
    }

    fn start(config: ClientConfig, client_id: String) -> Arc<ClientInstance> {
        let (alive, mut alive_rx) = mpsc::channel::<()>(1);
        // The receiver lives in a task of the current runtime: when the runtime goes, the
        // sender sees the channel closed and `get` starts a fresh instance.
        tokio::spawn(async move { while alive_rx.recv().await.is_some() {} });
        let random = process_random();
        let instance = Arc::new_cyclic(|weak: &Weak<ClientInstance>| {
            let mut dispatcher = Dispatcher::new();
            dispatcher.register(
                InboundProcessor::CODES,
                Arc::new(InboundProcessor::new(weak.clone())),
            );
            if let Some(credentials) = config.credentials.clone() {
                dispatcher.on_outbound(Arc::new(move |request| {
                    apogee_auth::signature::sign_request(request, &credentials);
                }));
            }
            ClientInstance {
                uniq: UniqIdGenerator::new(config.client_ip, std::process::id(), random as i32),
                namesrv: NameServers::new(config.name_servers.clone()),
                remoting: RemotingClient::with_tls(
                    dispatcher,
                    apogee_remoting::TransportConfig::default(),
                    config.tls.clone(),
                ),
                client_id,
                config,
                routes: Mutex::new(HashMap::new()),
                brokers: Mutex::new(HashMap::new()),
                producers: Mutex::new(HashMap::new()),
                consumers: Mutex::new(HashMap::new()),
                alive,
                shutdown: Shutdown::new(),
                me: weak.clone(),
            }
        });
        spawn_loops(&instance);
        instance
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn client_ip(&self) -> IpAddr {
        self.config.client_ip
    }

    /// A new UNIQ_KEY (REMOTING.md §5.2).
    pub fn next_uniq_id(&self) -> String {
        self.uniq.next(ms_since_month_start(now_ms()))
    }

    pub(crate) fn register_producer(
        &self,
        group: &str,
        handle: Arc<dyn ProducerHandle>,
    ) -> Result<()> {
        let mut producers = lock(&self.producers);
        if producers.contains_key(group) {
            return Err(ClientError::GroupAlreadyRegistered {
                kind: "producer",
                group: group.to_owned(),
                client_id: self.client_id.clone(),
            });
        }
        producers.insert(group.to_owned(), handle);
        Ok(())
    }

    pub(crate) fn register_consumer(
        &self,
        group: &str,
        handle: Arc<dyn ConsumerHandle>,
    ) -> Result<()> {
        let mut consumers = lock(&self.consumers);
        if consumers.contains_key(group) {
            return Err(ClientError::GroupAlreadyRegistered {
                kind: "consumer",
                group: group.to_owned(),
                client_id: self.client_id.clone(),
            });
        }
        consumers.insert(group.to_owned(), handle);
        Ok(())
    }

    /// Removes the group and tells every broker (UNREGISTER_CLIENT) so its consumers
    /// rebalance at once.
    pub(crate) async fn unregister(
        &self,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) {
        if let Some(group) = producer_group {
            lock(&self.producers).remove(group);
        }
        if let Some(group) = consumer_group {
            lock(&self.consumers).remove(group);
        }
        let header = UnregisterClientRequestHeader {
            client_id: self.client_id.clone(),
            producer_group: producer_group.map(str::to_owned),
            consumer_group: consumer_group.map(str::to_owned),
        };
        for addr in self.all_broker_addrs() {
            let request = RemotingCommand::request(RequestCode::UNREGISTER_CLIENT, &header);
            if let Err(e) = self
                .invoke_ok(&addr, request, self.config.request_timeout)
                .await
            {
                tracing::debug!(%addr, error = %e, "unregister failed");
            }
        }
    }

    pub(crate) fn consumer(&self, group: &str) -> Option<Arc<dyn ConsumerHandle>> {
        lock(&self.consumers).get(group).cloned()
    }

    pub(crate) fn producer(&self, group: &str) -> Option<Arc<dyn ProducerHandle>> {
        lock(&self.producers).get(group).cloned()
    }

    // ---- calls ----

    /// Sends `request` and returns the response, whatever its code.
    pub(crate) async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        if self.shutdown.is_triggered() {
            return Err(ClientError::Shutdown);
        }
        Ok(self.remoting.invoke(addr, request, timeout).await?)
    }

    /// Sends `request` and returns the response if its code is SUCCESS.
    pub(crate) async fn invoke_ok(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        let response = self.invoke(addr, request, timeout).await?;
        if response.response_code() == ResponseCode::SUCCESS {
            Ok(response)
        } else {
            Err(ClientError::refused(addr, &response))
        }
    }

    pub(crate) async fn invoke_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<()> {
        Ok(self.remoting.invoke_oneway(addr, request, timeout).await?)
    }

    /// Sends `request` to the NameServers in turn until one answers.
    pub(crate) async fn invoke_namesrv(
        &self,
        request: RemotingCommand,
    ) -> Result<(String, RemotingCommand)> {
        let addrs = self.namesrv.in_order();
        if addrs.is_empty() {
            return Err(ClientError::NoNameServer(
                "the NameServer list is empty".into(),
            ));
        }
        let mut last = String::new();
        for addr in addrs {
            match self
                .remoting
                .invoke(&addr, request.clone(), self.config.request_timeout)
                .await
            {
                Ok(response) => {
                    self.namesrv.mark_good(&addr);
                    return Ok((addr, response));
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(ClientError::NoNameServer(last))
    }

    pub fn name_server_addrs(&self) -> Vec<String> {
        self.namesrv.addrs()
    }

    /// Fetches a route from the NameServer; `Ok(None)` when the topic does not exist.
    pub async fn fetch_route(&self, topic: &str) -> Result<Option<TopicRouteData>> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_owned(),
            accept_standard_json_only: None,
        };
        let request = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
        let (addr, response) = self.invoke_namesrv(request).await?;
        match response.response_code() {
            ResponseCode::SUCCESS => {
                apogee_protocol::body::from_json("topic route", &response.body)
                    .map(Some)
                    .map_err(|e| ClientError::bad_response(&addr, e))
            }
            ResponseCode::TOPIC_NOT_EXIST => Ok(None),
            _ => Err(ClientError::refused(&addr, &response)),
        }
    }

    /// The cached route of `topic`, fetched if absent.
    pub async fn route(&self, topic: &str) -> Result<Arc<TopicRoute>> {
        if let Some(route) = lock(&self.routes).get(topic) {
            return Ok(Arc::clone(route));
        }
        self.refresh_route(topic).await
    }

    /// Fetches and caches the route of `topic`.
    pub async fn refresh_route(&self, topic: &str) -> Result<Arc<TopicRoute>> {
        match self.fetch_route(topic).await? {
            Some(data) => Ok(self.cache_route(TopicRoute::new(topic, data))),
            None => Err(self.no_route(topic)),
        }
    }

    /// The route to send to: the topic's own, or for a topic that does not exist yet the
    /// `TBW102` template's (at most `default_queue_nums` queues per broker; the broker creates
    /// the topic on the first send).
    pub(crate) async fn publish_route(
        &self,
        topic: &str,
        default_queue_nums: usize,
    ) -> Result<Arc<TopicRoute>> {
        if let Some(route) = lock(&self.routes).get(topic)
            && !route.publish_queues.is_empty()
        {
            return Ok(Arc::clone(route));
        }
        if let Some(data) = self.fetch_route(topic).await? {
            let route = self.cache_route(TopicRoute::new(topic, data));
            if !route.publish_queues.is_empty() {
                return Ok(route);
            }
        }
        match self.fetch_route(AUTO_CREATE_TOPIC_KEY).await? {
            Some(data) => {
                let route = TopicRoute::with_queue_limit(topic, data, default_queue_nums);
                self.note_brokers(&route);
                if route.publish_queues.is_empty() {
                    return Err(self.no_route(topic));
                }
                Ok(Arc::new(route))
            }
            None => Err(self.no_route(topic)),
        }
    }

    pub(crate) fn no_route(&self, topic: &str) -> ClientError {
        ClientError::NoRoute {
            topic: topic.to_owned(),
            namesrv: self.namesrv.addrs().join(";"),
        }
    }

    fn cache_route(&self, route: TopicRoute) -> Arc<TopicRoute> {
        self.note_brokers(&route);
        let route = Arc::new(route);
        lock(&self.routes).insert(route.topic.clone(), Arc::clone(&route));
        route
    }

    /// Adds the route's brokers to the broker table; a broker not seen before gets a
    /// heartbeat at once, so it knows this client's groups before their first request
    /// (instead of up to 30 s later).
    fn note_brokers(&self, route: &TopicRoute) {
        let mut changed = false;
        {
            let mut brokers = lock(&self.brokers);
            for b in &route.data.broker_datas {
                let name = b.broker_name.to_string();
                if brokers.get(&name) != Some(&b.broker_addrs) {
                    brokers.insert(name, b.broker_addrs.clone());
                    changed = true;
                }
            }
        }
        if changed && let Some(me) = self.me.upgrade() {
            tokio::spawn(async move { me.heartbeat().await });
        }
    }

    /// The master address of `broker_name` (or any replica if `allow_slave` and no master).
    pub(crate) fn broker_addr(&self, broker_name: &str, allow_slave: bool) -> Option<String> {
        let brokers = lock(&self.brokers);
        let addrs = brokers.get(broker_name)?;
        addrs
            .get(&apogee_model::MASTER_ID)
            .or_else(|| allow_slave.then(|| addrs.values().next()).flatten())
            .cloned()
    }

    /// The id and address of `broker_name`'s broker `broker_id`, else its master, else any
    /// of its brokers (a slave, while the master is gone from the route).
    pub(crate) fn broker_addr_by_id(
        &self,
        broker_name: &str,
        broker_id: i64,
    ) -> Option<(i64, String)> {
        let brokers = lock(&self.brokers);
        let addrs = brokers.get(broker_name)?;
        [broker_id, apogee_model::MASTER_ID]
            .into_iter()
            .find_map(|id| addrs.get(&id).map(|a| (id, a.clone())))
            .or_else(|| addrs.iter().next().map(|(id, a)| (*id, a.clone())))
    }

    /// The id after `broker_id` among `broker_name`'s brokers, wrapping around: where a pull
    /// goes after its broker could not be reached (the master may be dead before the
    /// NameServers drop it).
    pub(crate) fn next_broker_id(&self, broker_name: &str, broker_id: i64) -> i64 {
        let brokers = lock(&self.brokers);
        let Some(addrs) = brokers.get(broker_name) else {
            return apogee_model::MASTER_ID;
        };
        addrs
            .keys()
            .copied()
            .find(|id| *id > broker_id)
            .or_else(|| addrs.keys().copied().next())
            .unwrap_or(apogee_model::MASTER_ID)
    }

    /// The master address of `broker_name`, refreshing `topic`'s route if it is unknown.
    pub(crate) async fn find_broker_addr(&self, broker_name: &str, topic: &str) -> Result<String> {
        if let Some(addr) = self.broker_addr(broker_name, true) {
            return Ok(addr);
        }
        self.refresh_route(topic).await?;
        self.broker_addr(broker_name, true)
            .ok_or_else(|| self.no_route(topic))
    }

    fn all_broker_addrs(&self) -> Vec<String> {
        lock(&self.brokers)
            .values()
            .flat_map(|addrs| addrs.values().cloned())
            .collect()
    }

    /// Re-reads every cached route and rebuilds the broker table from them.
    pub(crate) async fn refresh_all_routes(&self) {
        if self.namesrv.is_http()
            && let Err(e) = self.namesrv.refresh(self.config.request_timeout).await
        {
            tracing::warn!(error = %e, "cannot refresh the NameServer list");
        }
        let topics: Vec<String> = lock(&self.routes).keys().cloned().collect();
        let mut fresh = HashMap::new();
        for topic in topics {
            match self.fetch_route(&topic).await {
                Ok(Some(data)) => {
                    fresh.insert(topic.clone(), Arc::new(TopicRoute::new(&topic, data)));
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(%topic, error = %e, "route refresh failed; keeping the old one");
                    if let Some(old) = lock(&self.routes).get(&topic) {
                        fresh.insert(topic, Arc::clone(old));
                    }
                }
            }
        }
        let mut brokers = HashMap::new();
        for route in fresh.values() {
            for b in &route.data.broker_datas {
                brokers.insert(b.broker_name.to_string(), b.broker_addrs.clone());
            }
        }
        *lock(&self.routes) = fresh;
        *lock(&self.brokers) = brokers;
    }

    /// Sends HEART_BEAT to every known broker (masters only when there are no consumers).
    pub async fn heartbeat(&self) {
        let producers: Vec<ProducerData> = lock(&self.producers)
            .keys()
            .map(|g| ProducerData {
                group_name: g.clone(),
            })
            .collect();
        let consumers: Vec<ConsumerData> = lock(&self.consumers)
            .values()
            .map(|c| c.consumer_data())
            .collect();
        if producers.is_empty() && consumers.is_empty() {
            return;
        }
        let data = HeartbeatData {
            client_id: self.client_id.clone(),
            consumer_data_set: consumers,
            producer_data_set: producers,
            heartbeat_fingerprint: 0,
            without_sub: false,
        };
        let body = match serde_json::to_vec(&data) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode heartbeat");
                return;
            }
        };
        let has_consumers = !data.consumer_data_set.is_empty();
        let targets: Vec<String> = lock(&self.brokers)
            .values()
            .flat_map(|addrs| {
                addrs
                    .iter()
                    .filter(|(id, _)| has_consumers || **id == apogee_model::MASTER_ID)
                    .map(|(_, a)| a.clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        for addr in targets {
            let request =
                RemotingCommand::bare_request(RequestCode::HEART_BEAT).with_body(body.clone());
            if let Err(e) = self
                .invoke_ok(&addr, request, self.config.request_timeout)
                .await
            {
                tracing::warn!(%addr, error = %e, "heartbeat failed");
            }
        }
    }

    /// Stops the background loops and closes every connection. Later calls fail with
    /// [`ClientError::Shutdown`].
    pub fn shutdown(&self) {
        self.shutdown.trigger();
        self.remoting.shutdown();
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.shutdown.is_triggered()
    }

    /// GET_CONSUMER_RUNNING_INFO from a broker (Java's `MQClientInstance.consumerRunningInfo`):
    /// the group's own report plus the NameServer address, consume type and client version.
    pub(crate) fn answer_running_info(&self, request: &RemotingCommand) -> RemotingCommand {
        let h = match request.header::<GetConsumerRunningInfoRequestHeader>() {
            Ok(h) => h,
            Err(e) => {
                return RemotingCommand::response_to(
                    request,
                    ResponseCode::SYSTEM_ERROR,
                    Some(e.to_string()),
                );
            }
        };
        let Some(mut info) = self
            .consumer(&h.consumer_group)
            .and_then(|c| c.running_info())
        else {
            return RemotingCommand::response_to(
                request,
                ResponseCode::SYSTEM_ERROR,
                Some(format!(
                    "The Consumer Group <{}> not exist in this consumer",
                    h.consumer_group
                )),
            );
        };
        let properties = [
            (
                ConsumerRunningInfo::PROP_NAMESERVER_ADDR,
                self.namesrv.addrs().join(";"),
            ),
            (
                ConsumerRunningInfo::PROP_CONSUME_TYPE,
                "CONSUME_PASSIVELY".to_owned(),
            ),
            (
                ConsumerRunningInfo::PROP_CLIENT_VERSION,
                apogee_protocol::version::CURRENT_DESC.to_owned(),
            ),
        ];
        for (key, value) in properties {
            info.properties.insert(key.to_owned(), value);
        }
        RemotingCommand::response_to(request, ResponseCode::SUCCESS, None)
            .with_body(to_java_json(&info))
    }
}

impl Drop for ClientInstance {
    fn drop(&mut self) {
        self.shutdown.trigger();
        self.remoting.shutdown();
    }
}

/// Route refresh and heartbeat loops, each holding only a `Weak`.
fn spawn_loops(instance: &Arc<ClientInstance>) {
    let periods = [
        (instance.config.poll_name_server_interval, Loop::Routes),
        (instance.config.heartbeat_interval, Loop::Heartbeat),
    ];
    for (period, which) in periods {
        let weak = Arc::downgrade(instance);
        let shutdown = instance.shutdown.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    () = shutdown.wait() => return,
                }
                let Some(instance) = weak.upgrade() else {
                    return;
                };
                match which {
                    Loop::Routes => instance.refresh_all_routes().await,
                    Loop::Heartbeat => instance.heartbeat().await,
                }
            }
        });
    }
}

#[derive(Clone, Copy)]
enum Loop {
    Routes,
    Heartbeat,
}
