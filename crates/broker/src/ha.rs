//! Replication in the broker: the role, the HA listener and (on a slave) the HA client, the
//! SYNC_MASTER wait, and the master addresses a slave learns from its NameServers.
//!
//! ```text
//! send ─► store.append ─► store.durable ─► Replication::confirm(end) ─► Acks::wait (SYNC_MASTER)
//! registration reply (masterAddr, haServerAddr) ─► Replication::learn_master ─► HaSlave, SlaveSync
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};

use apogee_protocol::body::ha::HaRuntimeInfo;
use apogee_replication::autoswitch::{AsMaster, AsSlave};
use apogee_replication::{Acks, HaMaster, HaSettings, HaSlave, ReplicaStatus, SharedEpochs};
use apogee_runtime::Shutdown;
use apogee_store::{MessageStore, ReplicaLog};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::BrokerError;
use crate::config::{BrokerConfig, BrokerRole};
pub use crate::ha_switch::Switching;

/// The broker's replication state, shared by the processors that need it.
#[derive(Clone)]
pub struct Replication(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    /// The role now ([`role_code`]); it changes only in controller mode.
    pub(crate) role: AtomicU8,
    /// The id registered with the NameServers (0 for a master).
    pub(crate) registered_id: AtomicI64,
    settings: HaSettings,
    slave_read_enable: bool,
    pub(crate) store: Arc<dyn ReplicaLog>,
    pub(crate) acks: Arc<Acks>,
    slave: Option<Arc<HaSlave>>,
    ha_addr: SocketAddr,
    /// A slave's master HA address (fixed by `haMasterAddress`, else from registration).
    pub(crate) master_ha: watch::Sender<Option<String>>,
    fixed_master_ha: bool,
    /// A slave's master remoting address, for copying metadata.
    pub(crate) master_addr: watch::Sender<Option<String>>,
    /// Controller mode's AutoSwitch HA and role state.
    switching: Option<Switching>,
    /// Bumped on every role change (the registration re-registers at once).
    pub(crate) role_changes: watch::Sender<u64>,
}

pub(crate) fn role_code(role: BrokerRole) -> u8 {
    match role {
        BrokerRole::AsyncMaster => 0,
        BrokerRole::SyncMaster => 1,
        BrokerRole::Slave => 2,
    }
}

fn role_of(code: u8) -> BrokerRole {
    match code {
        0 => BrokerRole::AsyncMaster,
        1 => BrokerRole::SyncMaster,
        _ => BrokerRole::Slave,
    }
}

async fn bind_ha(config: &BrokerConfig) -> Result<(TcpListener, u16), BrokerError> {
    let ha = &config.ha;
    let listener = TcpListener::bind(&ha.bind).await.map_err(|e| {
        BrokerError::Config(format!(
            "cannot open the HA port {} (ha_listen_port): {e}",
            ha.bind
        ))
    })?;
    let port = listener
        .local_addr()
        .map_err(|e| BrokerError::Config(e.to_string()))?
        .port();
    Ok((listener, port))
}

impl Replication {
    /// Binds the HA port (every role listens, as Java's brokers do) and, on a slave, starts
    /// the client that copies the master's CommitLog. In controller mode both sides speak
    /// AutoSwitch HA and the broker starts as a slave with no master (fenced: no writes)
    /// until the controller decides.
    pub async fn start(
        config: &BrokerConfig,
        store: &Arc<MessageStore>,
        shutdown: &Shutdown,
    ) -> Result<(Self, Vec<JoinHandle<()>>), BrokerError> {
        let ha = &config.ha;
        let (listener, port) = bind_ha(config).await?;
        let acks = Arc::new(Acks::default());
        let log: Arc<dyn ReplicaLog> = Arc::clone(store) as Arc<dyn ReplicaLog>;
        let (master_ha, master_ha_rx) = watch::channel(ha.master_address.clone());
        let mut tasks = Vec::new();
        let mut slave = None;
        let switching = if let Some(mode) = &config.controller {
            let epochs = Arc::new(SharedEpochs::open(
                &config.store.root.join("epochFileCheckpoint"),
            ));
            let (serving, serving_rx) = watch::channel(false);
            let server = Arc::new(AsMaster::new(
                Arc::clone(&log),
                Arc::clone(&acks),
                Arc::clone(&epochs),
                ha.settings,
                serving_rx,
            ));
            tasks.push(tokio::spawn(server.serve(listener, shutdown.clone())));
            let client = Arc::new(AsSlave::new(
                Arc::clone(&log),
                Arc::clone(&epochs),
                master_ha_rx,
                ha.settings,
            ));
            tasks.push(tokio::spawn(Arc::clone(&client).run(shutdown.clone())));
            Some(Switching::new(client, serving, epochs, mode))
        } else {
            let server = Arc::new(HaMaster::new(
                Arc::clone(&log),
                Arc::clone(&acks),
                ha.settings,
            ));
            tasks.push(tokio::spawn(server.serve(listener, shutdown.clone())));
            if config.role.is_slave() {
                let client = Arc::new(HaSlave::new(Arc::clone(&log), master_ha_rx, ha.settings));
                tasks.push(tokio::spawn(Arc::clone(&client).run(shutdown.clone())));
                slave = Some(client);
            }
            None
        };
        let role = if switching.is_some() {
            BrokerRole::Slave
        } else {
            config.role
        };
        let ha_addr = SocketAddr::new(ha.advertised_ip, port);
        tracing::info!(role = role.as_str(), controller_mode = switching.is_some(), %ha_addr, "HA listening");
        Ok((
            Self(Arc::new(Inner {
                role: AtomicU8::new(role_code(role)),
                registered_id: AtomicI64::new(config.broker_id),
                settings: ha.settings,
                slave_read_enable: ha.slave_read_enable,
                store: log,
                acks,
                slave,
                ha_addr,
                master_ha,
                fixed_master_ha: ha.master_address.is_some(),
                master_addr: watch::Sender::new(None),
                switching,
                role_changes: watch::Sender::new(0),
            })),
            tasks,
        ))
    }

    pub fn role(&self) -> BrokerRole {
        role_of(self.0.role.load(Ordering::Acquire))
    }

    pub fn is_slave(&self) -> bool {
        self.role().is_slave()
    }

    /// The id to register with the NameServers (0 for a master, in controller mode too).
    pub fn registered_id(&self) -> i64 {
        self.0.registered_id.load(Ordering::Acquire)
    }

    /// Controller mode's state, when the broker runs in it.
    pub fn switching(&self) -> Option<&Switching> {
        self.0.switching.as_ref()
    }

    /// Wakes on every role change.
    pub fn role_changes(&self) -> watch::Receiver<u64> {
        self.0.role_changes.subscribe()
    }

    /// In controller mode, until the controller has decided the role: no registration and no
    /// writes.
    pub fn fenced(&self) -> bool {
        self.0.switching.as_ref().is_some_and(Switching::fenced)
    }

    pub fn slave_read_enable(&self) -> bool {
        self.0.slave_read_enable
    }

    /// `brokerIP2:haListenPort`, sent with every registration.
    pub fn ha_server_addr(&self) -> String {
        self.0.ha_addr.to_string()
    }

    /// What a NameServer's registration reply says of this slave's master. The remoting
    /// address is taken as given (it may be gone); the HA address only when present and not
    /// fixed by `haMasterAddress`.
    pub fn learn_master(&self, master_addr: Option<String>, ha_addr: Option<String>) {
        // In controller mode the controller names the master, not the NameServers.
        if !self.is_slave() || self.0.switching.is_some() {
            return;
        }
        self.0.master_addr.send_if_modified(|v| {
            let changed = *v != master_addr;
            *v = master_addr.clone();
            changed
        });
        if let Some(ha) = ha_addr.filter(|a| !a.is_empty() && !self.0.fixed_master_ha) {
            self.0.master_ha.send_if_modified(|v| {
                let changed = v.as_deref() != Some(ha.as_str());
                *v = Some(ha.clone());
                changed
            });
        }
    }

    /// The master's remoting address, when this slave knows it.
    pub fn master_addr(&self) -> Option<String> {
        self.0.master_addr.borrow().clone()
    }

    /// For a SYNC_MASTER send that waits for its store (`WAIT` not `false`, only looked at
    /// on a SYNC_MASTER): whether a slave
    /// has everything below `end`. Other roles and sends answer `Ok` at once.
    pub async fn confirm(&self, end: i64, wait_store_ok: impl FnOnce() -> bool) -> ReplicaStatus {
        let s = &self.0.settings;
        if let Some(switching) = &self.0.switching {
            // Controller mode: with allAckInSyncStateSet every SyncStateSet member must have
            // the bytes; without it the master alone acknowledges (RocketMQ's inSyncReplicas 1).
            if !switching.all_ack() || !wait_store_ok() {
                return ReplicaStatus::Ok;
            }
            // Demoted since the append: the bytes will be cut, never acknowledge them.
            if self.role() != BrokerRole::SyncMaster {
                return ReplicaStatus::Timeout;
            }
            return self.0.acks.wait_all(end, s.slave_timeout).await;
        }
        if self.role() != BrokerRole::SyncMaster || !wait_store_ok() {
            return ReplicaStatus::Ok;
        }
        self.0
            .acks
            .wait(
                end,
                self.0.store.max_offset(),
                s.fallbehind_max,
                s.slave_timeout,
            )
            .await
    }

    /// GET_BROKER_HA_STATUS (907).
    pub fn runtime_info(&self) -> HaRuntimeInfo {
        let end = self.0.store.max_offset();
        let connections = self
            .0
            .acks
            .runtime_info(end, self.0.settings.fallbehind_max);
        HaRuntimeInfo {
            master: !self.is_slave(),
            master_commit_log_max_offset: end,
            in_sync_slave_nums: i32::try_from(connections.iter().filter(|c| c.in_sync).count())
                .unwrap_or(i32::MAX),
            ha_connection_info: connections,
            ha_client_runtime_info: match (&self.0.slave, &self.0.switching) {
                (Some(s), _) => s.runtime_info(),
                (None, Some(sw)) => sw.client_runtime_info(self.0.store.max_offset()),
                (None, None) => Default::default(),
            },
        }
    }

    /// Replication figures for GET_BROKER_RUNTIME_INFO (Apogee's own keys; Java has none).
    pub fn runtime_keys(&self) -> Vec<(&'static str, String)> {
        let info = self.runtime_info();
        let mut keys = vec![("brokerRole", self.role().as_str().to_owned())];
        if let Some(switching) = &self.0.switching {
            keys.extend(switching.runtime_keys());
        }
        if let Some(slave) = &self.0.slave {
            let s = slave.status();
            keys.push(("haMasterAddress", s.master_addr.unwrap_or_default()));
            keys.push(("haConnected", s.connected.to_string()));
            keys.push(("haLastReadTimestamp", s.last_read_ms.to_string()));
        } else {
            let lag = info
                .ha_connection_info
                .iter()
                .map(|c| c.diff)
                .min()
                .unwrap_or(-1);
            keys.push(("haSlaveNum", info.ha_connection_info.len().to_string()));
            keys.push(("haInSyncSlaveNum", info.in_sync_slave_nums.to_string()));
            keys.push(("haSlaveFallBehindBytes", lag.to_string()));
            keys.push(("haSlaveFallBehindMs", self.0.acks.lag_ms().to_string()));
        }
        keys
    }
}
