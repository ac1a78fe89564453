//! The broker's background services: the ones that deliver what waits in system queues (delay
//! levels, transaction checks, timers) run on a master — in controller mode while it is
//! master — the POP revive loop everywhere (a slave pops nothing), and a slave's copy of its
//! master's metadata.

use std::sync::Arc;

use apogee_runtime::{Clock, Shutdown};
use apogee_store::MessageStore;
use tokio::task::JoinHandle;

use crate::config::BrokerConfig;
use crate::processor::Identity;
use crate::service::housekeeping::Housekeeping;
use crate::service::pop_revive::PopRevive;
use crate::service::register::Registration;
use crate::service::schedule::ScheduleService;
use crate::service::slave_sync::SlaveSync;
use crate::service::timer::TimerService;
use crate::service::transaction_check::TransactionCheckService;
use crate::{BrokerError, Managers, controller_mode};

/// The services that deliver what waits in system queues.
pub(crate) struct Delivery {
    pub schedule: Arc<ScheduleService>,
    pub transactions: Arc<TransactionCheckService>,
    pub timer: Arc<TimerService>,
    /// POP messages not acked in time, stored again for redelivery.
    pub revive: Arc<PopRevive>,
}

impl Delivery {
    /// Loads each service's saved progress (the timer recovers when it starts running).
    pub(crate) fn load(
        config: &BrokerConfig,
        store: &Arc<MessageStore>,
        m: &Managers,
        (identity, clock): (&Identity, &Arc<dyn Clock>),
    ) -> Result<Self, BrokerError> {
        let host = identity.store_host;
        let (s, c) = (Arc::clone(store), Arc::clone(clock));
        let levels = config.limits.delay_levels_ms.clone();
        let schedule = ScheduleService::load(s, c, &config.config_dir, (host, levels))?;
        let (s, c) = (Arc::clone(store), Arc::clone(clock));
        let timer = TimerService::load(s, c, &config.config_dir, config.limits.timer, host)?;
        Ok(Self {
            schedule: Arc::new(schedule),
            transactions: check_service(config, store, m, identity, clock),
            timer: Arc::new(timer),
            revive: Arc::new(crate::pop::revive(config, store, m, (identity, clock))),
        })
    }
}

fn check_service(
    config: &BrokerConfig,
    store: &Arc<MessageStore>,
    m: &Managers,
    identity: &Identity,
    clock: &Arc<dyn Clock>,
) -> Arc<TransactionCheckService> {
    Arc::new(TransactionCheckService {
        store: store.clone(),
        topics: m.topics.clone(),
        offsets: m.offsets.clone(),
        clients: m.clients.clone(),
        clock: Arc::clone(clock),
        identity: identity.clone(),
        limits: config.limits.transaction,
        live: m.live.clone(),
        pass: tokio::sync::Mutex::new(()),
        orphans: m.orphans.clone(),
    })
}

/// On a slave, what copies the master's metadata (it also marks the offset table a slave's).
pub(crate) fn slave_sync(
    config: &BrokerConfig,
    m: &Managers,
    registration: &Registration,
    delivery: &Delivery,
) -> Option<SlaveSync> {
    m.replication.is_slave().then(|| {
        m.offsets.set_slave(true);
        SlaveSync {
            client: registration.client.clone(),
            replication: m.replication.clone(),
            topics: m.topics.clone(),
            groups: m.groups.clone(),
            offsets: m.offsets.clone(),
            schedule: Arc::clone(&delivery.schedule),
            timer: Arc::clone(&delivery.timer),
            interval: config.ha.sync_interval,
        }
    })
}

pub(crate) fn spawn_services(
    config: &BrokerConfig,
    m: &Managers,
    delivery: &Delivery,
    registration: &Registration,
    clock: &Arc<dyn Clock>,
    shutdown: &Shutdown,
) -> Vec<JoinHandle<()>> {
    let housekeeping = Housekeeping {
        clients: m.clients.clone(),
        groups: m.groups.clone(),
        offsets: m.offsets.clone(),
        pop: m.pop.clone(),
        clock: Arc::clone(clock),
        channel_expired: config.limits.channel_expired,
        live: m.live.clone(),
    };
    let mut tasks = vec![
        tokio::spawn(housekeeping.run(shutdown.clone())),
        tokio::spawn(registration.clone().run(shutdown.clone())),
        tokio::spawn(m.stats.clone().run(shutdown.clone())),
        // A slave pops nothing, so it has nothing to revive.
        tokio::spawn(Arc::clone(&delivery.revive).run(shutdown.clone())),
    ];
    // A slave only copies: delay delivery and transaction checks write, so they run on the
    // master (the slave keeps the master's delay offsets for when it is promoted).
    // In controller mode the role changes while running: `controller_mode` runs them then.
    if !m.replication.is_slave() && config.controller.is_none() {
        tasks.push(tokio::spawn(
            Arc::clone(&delivery.schedule).run(shutdown.clone(), m.live.clone()),
        ));
        tasks.push(tokio::spawn(
            Arc::clone(&delivery.transactions).run(shutdown.clone()),
        ));
        tasks.push(tokio::spawn(
            Arc::clone(&delivery.timer).run(shutdown.clone()),
        ));
    }
    tasks.extend(controller_mode::spawn(
        controller_mode::Parts {
            config,
            broker_addr: registration.broker_addr.clone(),
            client: registration.client.clone(),
            replication: &m.replication,
            topics: &m.topics,
            offsets: &m.offsets,
            delivery,
            live: &m.live,
        },
        shutdown,
    ));
    tasks
}
