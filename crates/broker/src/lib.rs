//! The broker: the store behind the remoting protocol. Processors (one per request family)
//! get narrow contexts of managers; background services register with the NameServers,
//! deliver delay levels, check unresolved transactions, expire clients and persist offsets.
//!
//! ```text
//! client ─SEND─► SendProcessor ─► MessageStore.append ─► CommitLog ─► reput ─► ConsumeQueue
//!                                                                        │ arrival listener
//! client ─PULL─► PullProcessor ─► get_messages ◄── wakes ── PullWaiters ◄┘
//! client ─HEART_BEAT─► ClientProcessor ─► ClientRegistry ─► NOTIFY_CONSUMER_IDS_CHANGED
//! admin ─17/215/21─► TopicAdmin ─► TopicConfigs ─► re-register;  200/201/207 ─► GroupAdmin
//! admin ─208/202/203/204/300─► Stats;  222 ─► ResetOffset ─► parked reset + PullWaiters wake
//! send/pull ─relaxed counters─► BrokerStats ◄─ 1 Hz sampler;  admin ─28─► RuntimeInfo
//! admin ─314─► GroupAdmin (clone offsets);  307 ─► ConsumerCall ─same request─► the client
//! admin ─26/25─► ConfigAdmin ─► LiveSettings (atomics the processors read) + store retention
//!                              + <store>/config/broker.properties (applied again at start)
//! producer ─SEND TRAN_MSG─► half queue ─END_TRANSACTION─► real topic + op record
//! TransactionCheckService ─CHECK_TRANSACTION_STATE─► a producer of the half's group
//! Registration ─REGISTER_BROKER (30 s, on topic change)─► NameServers
//! ```

pub mod access;
pub mod config;
mod config_ha;
mod controller_mode;
pub mod delay_levels;
mod error;
pub mod filter;
pub mod ha;
mod ha_switch;
mod listeners;
pub mod live;
pub mod manager;
pub mod messaging;
mod metrics;
pub mod ops;
mod persist;
mod pop;
pub mod processor;
pub mod service;
mod services;
pub mod stats;
pub mod stats_items;
pub mod transaction;
mod transport_tls;

use std::net::SocketAddr;
use std::sync::Arc;

use apogee_model::Perm;
use apogee_model::system_topic::SCHEDULE_TOPIC;
use apogee_remoting::{Dispatcher, RemotingClient, RemotingServer, ServerHandle};
use apogee_runtime::{Clock, Shutdown, SystemClock};
use apogee_store::MessageStore;
use tokio::task::JoinHandle;

pub use config::{BrokerConfig, RawBrokerConfig};
pub use error::BrokerError;

use crate::live::{ConfigService, LiveSettings};
use crate::manager::client_registry::ClientRegistry;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::queue_lock::QueueLocks;
use crate::manager::subscription_group::SubscriptionGroups;
use crate::manager::topic_config::{TBW102, TopicConfigs};
use crate::processor::{Identity, SendGate};
use crate::service::long_polling::PullWaiters;
use crate::service::register::Registration;
use crate::service::schedule::ScheduleService;
use crate::service::slave_sync::SlaveSync;
use crate::service::timer::TimerService;
use crate::service::transaction_check::{CheckReport, TransactionCheckService};
use crate::stats::BrokerStats;

/// A started broker.
pub struct Broker {
    server: ServerHandle,
    /// The VIP listener (`listenPort − 2`): everything but pulls.
    vip: Option<ServerHandle>,
    store: Arc<MessageStore>,
    shutdown: Shutdown,
    tasks: Vec<JoinHandle<()>>,
    advertised: SocketAddr,
    registration: Registration,
    schedule: Arc<ScheduleService>,
    transactions: Arc<TransactionCheckService>,
    timer: Arc<TimerService>,
    stats: BrokerStats,
    waiters: PullWaiters,
    /// Saved once more at shutdown (their writer threads save as they change).
    tables: (TopicConfigs, SubscriptionGroups),
    replication: ha::Replication,
    /// A slave's copy of its master's metadata.
    slave_sync: Option<SlaveSync>,
    metrics: Option<apogee_metrics::Exporter>,
    messaging: messaging::Messaging,
}

/// Runs a broker until `shutdown` fires.
pub async fn run(config: BrokerConfig, shutdown: Shutdown) -> Result<(), BrokerError> {
    Broker::start(config, shutdown, Arc::new(SystemClock))
        .await?
        .wait()
        .await;
    Ok(())
}

/// The managers, loaded once and shared by the processors.
struct Managers {
    topics: TopicConfigs,
    groups: SubscriptionGroups,
    offsets: ConsumerOffsets,
    clients: ClientRegistry,
    locks: QueueLocks,
    waiters: PullWaiters,
    stats: BrokerStats,
    gate: SendGate,
    combiner: Arc<ops::combine::Combiner>,
    live: LiveSettings,
    replication: ha::Replication,
    timer: config::TimerLimits,
    filters: filter::SqlFilters,
    delay_levels: usize,
    pop: manager::pop_state::PopStates,
    orphans: manager::orphan_checks::OrphanChecks,
    others: manager::other_calls::OtherClients,
}

impl Managers {
    /// Storing messages for the processors that put (send, send-back, commit).
    fn putter(&self, store: &Arc<MessageStore>, clock: &Arc<dyn Clock>) -> ops::put::Putter {
        ops::put::Putter {
            store: store.clone(),
            gate: self.gate.clone(),
            replication: self.replication.clone(),
            stats: self.stats.clone(),
            clock: Arc::clone(clock),
            combiner: Arc::clone(&self.combiner),
        }
    }

    /// Reading queues for consumers (pull, POP).
    fn getter(
        &self,
        store: &Arc<MessageStore>,
        identity: &Identity,
        limits: &Arc<config::Limits>,
    ) -> ops::get::Getter {
        ops::get::Getter {
            store: store.clone(),
            topics: self.topics.clone(),
            groups: self.groups.clone(),
            clients: self.clients.clone(),
            offsets: self.offsets.clone(),
            identity: identity.clone(),
            limits: Arc::clone(limits),
            stats: self.stats.clone(),
            live: self.live.clone(),
            filters: self.filters.clone(),
        }
    }
}

impl Broker {
    /// Opens the store, loads the metadata, binds the port, starts the services.
    pub async fn start(
        config: BrokerConfig,
        shutdown: Shutdown,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, BrokerError> {
        let config = live::apply_overlay(config)?;
        let (listener, advertised) = listeners::bind_listener(&config).await?;
        let store = open_store(&config, &clock).await?;
        let (replication, ha_tasks) = ha::Replication::start(&config, &store, &shutdown).await?;
        let managers = load_managers(&config, &clock, replication)?;
        let waiters = managers.waiters.clone();
        store.add_arrival_listener(Arc::new(move |d| waiters.arrived(&d.topic, d.queue_id)));
        let identity = Identity::of(&config, advertised);
        let access = access::load(&config)?;
        let tls = transport_tls::server_tls(&config)?;
        let registration = registration(
            &config,
            advertised,
            &managers,
            transport_tls::outbound(&config)?,
        );
        let delivery = services::Delivery::load(&config, &store, &managers, (&identity, &clock))?;
        let admin = AdminContext {
            access: &access,
            store: &store,
            identity: &identity,
            registration: &registration,
            delivery: &delivery,
            config: &config,
            clock: &clock,
        };
        let (mut dispatcher, messaging) = build_dispatcher(&admin, &managers);
        register_admin(&mut dispatcher, &admin, &managers);
        access::serve(&access, &config, (&identity, &clock), &mut dispatcher);
        let stats = stats_view(&store, &managers, &identity);
        let view = (stats, &store, &clock, &delivery);
        let metrics = metrics::start(&config.metrics, &mut dispatcher, view, &shutdown).await?;
        let vip = listeners::serve_vip(&config, &dispatcher, &tls, &shutdown).await?;
        let server =
            RemotingServer::serve_with_tls(listener, dispatcher, config.transport, tls, &shutdown)?;
        let mut tasks = services::spawn_services(
            &config,
            &managers,
            &delivery,
            &registration,
            &clock,
            &shutdown,
        );
        tasks.push(access::spawn_reloader(&access, &shutdown));
        tasks.extend(ha_tasks);
        let slave_sync = services::slave_sync(&config, &managers, &registration, &delivery);
        tasks.extend(
            slave_sync
                .clone()
                .map(|s| tokio::spawn(s.run(shutdown.clone()))),
        );
        tracing::info!(%advertised, cluster = %config.cluster, broker = %config.broker_name, "broker started");
        Ok(Self {
            server,
            vip,
            store,
            shutdown,
            tasks,
            advertised,
            registration,
            schedule: delivery.schedule,
            transactions: delivery.transactions,
            timer: delivery.timer,
            stats: managers.stats,
            waiters: managers.waiters,
            replication: managers.replication,
            slave_sync,
            tables: (managers.topics, managers.groups),
            metrics,
            messaging,
        })
    }

    /// Send, end-transaction and POP for the endpoints that are not remoting.
    pub fn messaging(&self) -> messaging::Messaging {
        self.messaging.clone()
    }

    /// Pulls parked by long polling now (tests wait for a pull to be parked before acting).
    pub fn parked_pulls(&self) -> usize {
        self.waiters.parked()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Where Prometheus scrapes `/metrics`, when the exporter is on.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .map(apogee_metrics::Exporter::local_addr)
    }

    /// The bound VIP address (`listenPort − 2`), when it is on.
    pub fn vip_addr(&self) -> Option<SocketAddr> {
        self.vip.as_ref().map(ServerHandle::local_addr)
    }

    /// The address clients are given (`brokerIP1:port`).
    pub fn advertised_addr(&self) -> SocketAddr {
        self.advertised
    }

    /// Registers with the NameServers now (tests use it instead of waiting for the period).
    pub async fn register_now(&self) {
        self.registration.register_all().await;
    }

    /// Replication as GET_BROKER_HA_STATUS reports it.
    pub fn ha_status(&self) -> apogee_protocol::body::ha::HaRuntimeInfo {
        self.replication.runtime_info()
    }

    /// The role now (in controller mode it changes while running).
    pub fn role(&self) -> config::BrokerRole {
        self.replication.role()
    }

    /// Controller mode: the master epoch acted on and the SyncStateSet held (on a master).
    pub fn controller_view(&self) -> Option<(i32, std::collections::BTreeSet<i64>)> {
        self.replication
            .switching()
            .map(|s| (s.master_epoch(), s.sync_state_set().0))
    }

    /// This broker's HA address (`brokerIP2:haListenPort`).
    pub fn ha_addr(&self) -> String {
        self.replication.ha_server_addr()
    }

    /// On a slave, copies the master's topics, groups and offsets now (tests use it instead
    /// of waiting for the period); `Ok(false)` on a master or before the master is known.
    pub async fn sync_from_master_now(&self) -> Result<bool, BrokerError> {
        match &self.slave_sync {
            Some(sync) => sync.sync_now().await,
            None => Ok(false),
        }
    }

    /// Delivers due delay-level messages now (tests).
    pub fn deliver_due_delays(&self) -> Result<usize, BrokerError> {
        self.schedule.deliver_due()
    }

    /// The timer service (tests read its figures and run passes).
    pub fn timer(&self) -> &Arc<TimerService> {
        &self.timer
    }

    /// Runs one transaction check pass now (tests use it instead of waiting for the interval).
    pub async fn check_transactions_now(&self) -> CheckReport {
        self.transactions.check_now().await
    }

    /// The retention settings the store's cleaner uses now (UPDATE_BROKER_CONFIG changes them).
    pub fn retention(&self) -> apogee_store::retention::RetentionConfig {
        self.store.retention()
    }

    /// Takes one statistics sample now, as the once-a-second sampler does (tests use it to
    /// move the TPS windows without waiting).
    pub fn sample_stats_now(&self) {
        self.stats.sample_now();
    }

    /// Waits for `shutdown`, then stops cleanly: services finish (offsets written, the
    /// NameServers told), the port closes, the store flushes.
    pub async fn wait(self) {
        self.shutdown.wait().await;
        for task in self.tasks {
            let _ = task.await;
        }
        // Outbound connections close too (a controller sees this broker leave at once).
        self.registration.client.shutdown();
        self.server.stop().await;
        if let Some(vip) = self.vip {
            vip.stop().await;
        }
        if let Some(metrics) = self.metrics {
            metrics.wait().await;
        }
        let (store, tables) = (self.store, self.tables);
        let _ = tokio::task::spawn_blocking(move || {
            if let Err(e) = tables.0.save_now().and_then(|()| tables.1.save_now()) {
                tracing::error!(error = %e, "config tables not written at shutdown");
            }
            store.shutdown();
        })
        .await;
    }

    /// Triggers shutdown and waits for it.
    pub async fn stop(self) {
        self.shutdown.trigger();
        self.wait().await;
    }
}

/// Opens (and recovers) the store on a blocking thread.
async fn open_store(
    config: &BrokerConfig,
    clock: &Arc<dyn Clock>,
) -> Result<Arc<MessageStore>, BrokerError> {
    let (store_config, store_clock) = (config.store.clone(), Arc::clone(clock));
    let store = tokio::task::spawn_blocking(move || {
        MessageStore::open(store_config, store_clock, Vec::new())
    })
    .await
    .map_err(|e| BrokerError::SystemError(format!("store open panicked: {e}")))??;
    Ok(Arc::new(store))
}

fn registration(
    config: &BrokerConfig,
    advertised: SocketAddr,
    m: &Managers,
    (signer, tls): (
        Option<apogee_remoting::OutboundHook>,
        Option<apogee_remoting::ClientTls>,
    ),
) -> Registration {
    let mut dispatcher = Dispatcher::new();
    if let Some(sign) = signer {
        dispatcher.on_outbound(sign);
    }
    Registration {
        client: RemotingClient::with_tls(dispatcher, config.transport, tls),
        namesrv_addrs: config.namesrv_addrs.clone(),
        cluster: config.cluster.clone(),
        broker_name: config.broker_name.clone(),
        broker_addr: advertised.to_string(),
        broker_id: config.broker_id,
        replication: m.replication.clone(),
        heartbeat_timeout_ms: config.limits.heartbeat_timeout_ms,
        period: config.limits.register_period,
        serial: Arc::default(),
        topics: m.topics.clone(),
        live: m.live.clone(),
    }
}

fn load_managers(
    config: &BrokerConfig,
    clock: &Arc<dyn Clock>,
    replication: ha::Replication,
) -> Result<Managers, BrokerError> {
    let offsets = ConsumerOffsets::load(&config.config_dir)?;
    let managers = Managers {
        topics: TopicConfigs::load_with_limit(
            &config.config_dir,
            Arc::clone(clock),
            config.limits.growth.topics_max,
        )?,
        groups: SubscriptionGroups::load_with_limit(
            &config.config_dir,
            Arc::clone(clock),
            config.limits.auto_create_group,
            config.limits.growth.groups_max,
        )?,
        offsets: offsets.clone(),
        pop: manager::pop_state::PopStates::load(
            offsets,
            config.raw.pop_inflight_max.max(1),
            &config.config_dir,
        )?,
        clients: ClientRegistry::default(),
        orphans: manager::orphan_checks::OrphanChecks::default(),
        others: manager::other_calls::OtherClients::default(),
        locks: QueueLocks::default(),
        waiters: PullWaiters::new(config.limits.growth.suspended_pulls_max),
        stats: BrokerStats::new(Arc::clone(clock), config.cluster.as_str()),
        live: LiveSettings::new(config),
        gate: SendGate::new(
            config.limits.send_concurrency,
            config.limits.wait_in_send_queue,
            config.limits.page_cache_busy_ms,
        ),
        combiner: Arc::default(),
        replication,
        timer: config.limits.timer,
        filters: filter::SqlFilters::new(config.limits.property_filter),
        delay_levels: config.limits.delay_levels_ms.len(),
    };
    create_system_topics(
        config,
        &managers.topics,
        config.limits.delay_levels_ms.len(),
    )?;
    Ok(managers)
}

/// The topics every broker has (`TopicConfigManager` constructor).
fn create_system_topics(
    config: &BrokerConfig,
    topics: &TopicConfigs,
    levels: usize,
) -> Result<(), BrokerError> {
    let rw = Perm::READ_WRITE.0;
    if config.limits.auto_create_topic {
        topics.ensure(
            TBW102,
            config.limits.default_topic_queue_nums,
            rw | Perm::INHERIT,
        )?;
    }
    topics.ensure(SCHEDULE_TOPIC, i32::try_from(levels).unwrap_or(18), rw)?;
    topics.ensure(transaction::HALF_TOPIC, 1, rw)?;
    topics.ensure(transaction::OP_TOPIC, 1, rw)?;
    if config.limits.timer.enabled {
        topics.ensure(apogee_model::system_topic::TIMER_TOPIC, 1, rw)?;
    }
    if config.raw.trace_topic_enable {
        topics.ensure(&config.raw.msg_trace_topic_name, 1, rw)?;
    }
    topics.ensure("SELF_TEST_TOPIC", 1, rw)?;
    topics.ensure("OFFSET_MOVED_EVENT", 1, rw)?;
    for own in [config.cluster.as_str(), config.broker_name.as_str()] {
        if apogee_model::TopicName::new(own).is_ok() {
            topics.ensure(own, 1, rw)?;
        }
    }
    Ok(())
}

fn build_dispatcher(admin: &AdminContext<'_>, m: &Managers) -> (Dispatcher, messaging::Messaging) {
    let (config, store, identity, clock) = (admin.config, admin.store, admin.identity, admin.clock);
    let client = admin.registration.client.clone();
    let messaging = messaging::build(config, store, m, (identity, clock), (client, admin.access));
    let limits = Arc::new(config.limits.clone());
    let mut dispatcher = Dispatcher::new();
    processor::register_shared(&mut dispatcher, Arc::clone(&messaging.send));
    processor::register(
        &mut dispatcher,
        processor::PullProcessor {
            get: m.getter(store, identity, &limits),
            waiters: m.waiters.clone(),
            replication: m.replication.clone(),
        },
    );
    processor::register(
        &mut dispatcher,
        processor::OffsetProcessor {
            store: store.clone(),
            offsets: m.offsets.clone(),
            topics: m.topics.clone(),
            groups: m.groups.clone(),
        },
    );
    processor::register(
        &mut dispatcher,
        processor::ClientProcessor {
            clients: m.clients.clone(),
            groups: m.groups.clone(),
            topics: m.topics.clone(),
            locks: m.locks.clone(),
            clock: Arc::clone(clock),
            heartbeat_groups_max: config.limits.growth.heartbeat_groups_max,
            filters: m.filters.clone(),
        },
    );
    register_store_families(&mut dispatcher, store, m, identity, clock);
    processor::register_shared(&mut dispatcher, Arc::clone(&messaging.end_transaction));
    pop::register(&mut dispatcher, &messaging.pop, m);
    let (clients, groups) = (m.clients.clone(), m.groups.clone());
    dispatcher.on_close(move |connection| {
        for group in clients.remove_connection(connection.id()) {
            processor::notify_ids_changed(&clients, &groups, &group);
        }
    });
    // The sends a connection read in one pass are appended together once they have all
    // been served as far as the append.
    let (combiner, appends) = (Arc::clone(&m.combiner), Arc::clone(store));
    dispatcher.on_pass_end(Arc::new(move || combiner.write_waiting(&*appends)));
    (dispatcher, messaging)
}

/// The families that re-store or look up stored messages: send-back, end-transaction, query.
fn register_store_families(
    dispatcher: &mut Dispatcher,
    store: &Arc<MessageStore>,
    m: &Managers,
    identity: &Identity,
    clock: &Arc<dyn Clock>,
) {
    processor::register(
        dispatcher,
        processor::SendBackProcessor {
            put: m.putter(store, clock),
            records: store.clone(),
            topics: m.topics.clone(),
            groups: m.groups.clone(),
            identity: identity.clone(),
            live: m.live.clone(),
            stats: m.stats.clone(),
            replication: m.replication.clone(),
            delay_levels: m.delay_levels,
        },
    );
    processor::register(
        dispatcher,
        processor::QueryProcessor {
            store: store.clone(),
        },
    );
}

/// What the administration families need besides the managers.
struct AdminContext<'a> {
    access: &'a Arc<apogee_auth::AccessControl>,
    store: &'a Arc<MessageStore>,
    identity: &'a Identity,
    registration: &'a Registration,
    delivery: &'a services::Delivery,
    config: &'a BrokerConfig,
    clock: &'a Arc<dyn Clock>,
}

/// The broker-wide families: configuration (25/26), runtime info (28) and the calls relayed
/// to consumer clients (307, 309).
fn register_broker_admin(dispatcher: &mut Dispatcher, admin: &AdminContext<'_>, m: &Managers) {
    let service = ConfigService::new(
        admin.config.clone(),
        m.live.clone(),
        admin.store.clone(),
        Arc::clone(admin.clock),
    );
    processor::register(
        dispatcher,
        processor::ConfigAdminProcessor {
            config: Arc::new(service),
            topics: m.topics.clone(),
            registration: admin.registration.clone(),
        },
    );
    processor::register(
        dispatcher,
        processor::ConsumerCallProcessor {
            clients: m.clients.clone(),
            store: admin.store.clone(),
            topics: m.topics.clone(),
            groups: m.groups.clone(),
            identity: admin.identity.clone(),
            others: m.others.clone(),
        },
    );
    processor::register(
        dispatcher,
        processor::MaintenanceProcessor {
            store: admin.store.clone(),
            topics: m.topics.clone(),
        },
    );
    processor::register(
        dispatcher,
        processor::InspectProcessor {
            store: admin.store.clone(),
            topics: m.topics.clone(),
            offsets: m.offsets.clone(),
            clients: m.clients.clone(),
            schedule: Arc::clone(&admin.delivery.schedule),
            identity: admin.identity.clone(),
            clock: Arc::clone(admin.clock),
        },
    );
    let timer = Arc::clone(&admin.delivery.timer);
    processor::register(dispatcher, processor::TimerAdminProcessor { timer });
    processor::register(
        dispatcher,
        processor::RuntimeInfoProcessor {
            store: admin.store.clone(),
            queues: admin.store.clone(),
            stats: m.stats.clone(),
            schedule: Arc::clone(&admin.delivery.schedule),
            timer: Arc::clone(&admin.delivery.timer),
            gate: m.gate.clone(),
            waiters: m.waiters.clone(),
            pop: m.pop.clone(),
            replication: m.replication.clone(),
        },
    );
    processor::register(
        dispatcher,
        processor::HaStatusProcessor {
            replication: m.replication.clone(),
        },
    );
    controller_mode::register(
        dispatcher,
        admin.config,
        &m.replication,
        admin.identity.store_host,
    );
}

/// The administration families: topics, groups, statistics, offset resets, and the
/// broker-wide ones.
/// What GET_CONSUME_STATS and the other statistics answer from (and the metrics read).
fn stats_view(
    store: &Arc<MessageStore>,
    m: &Managers,
    identity: &Identity,
) -> processor::StatsProcessor {
    processor::StatsProcessor {
        store: store.clone(),
        topics: m.topics.clone(),
        offsets: m.offsets.clone(),
        clients: m.clients.clone(),
        identity: identity.clone(),
        groups: m.groups.clone(),
        stats: m.stats.clone(),
    }
}

fn register_admin(dispatcher: &mut Dispatcher, admin: &AdminContext<'_>, m: &Managers) {
    register_broker_admin(dispatcher, admin, m);
    let AdminContext {
        store,
        identity,
        registration,
        ..
    } = *admin;
    processor::register(
        dispatcher,
        processor::TopicAdminProcessor {
            store: store.clone(),
            topics: m.topics.clone(),
            offsets: m.offsets.clone(),
            clients: m.clients.clone(),
            registration: registration.clone(),
            identity: identity.clone(),
            queue_nums_max: admin.config.limits.growth.topic_queue_nums_max,
            stats: m.stats.clone(),
        },
    );
    processor::register(
        dispatcher,
        processor::GroupAdminProcessor {
            groups: m.groups.clone(),
            offsets: m.offsets.clone(),
            topics: m.topics.clone(),
            clients: m.clients.clone(),
            queue_nums_max: admin.config.limits.growth.topic_queue_nums_max,
            stats: m.stats.clone(),
        },
    );
    processor::register(dispatcher, stats_view(store, m, identity));
    processor::register(
        dispatcher,
        processor::ResetOffsetProcessor {
            store: store.clone(),
            topics: m.topics.clone(),
            groups: m.groups.clone(),
            offsets: m.offsets.clone(),
            waiters: m.waiters.clone(),
            clients: m.clients.clone(),
            live: m.live.clone(),
            identity: identity.clone(),
        },
    );
}

impl Identity {
    fn of(config: &BrokerConfig, store_host: SocketAddr) -> Self {
        Self {
            cluster: config.cluster.as_str().to_owned(),
            broker_name: config.broker_name.as_str().to_owned(),
            store_host,
        }
    }
}
