//! Replication in the broker: the role, the HA listener and (on a slave) the HA client, the
//! SYNC_MASTER wait, and the master addresses a slave learns from its NameServers.
//!
//! ```text
//! send ─► store.append ─► store.durable ─► Replication::confirm(end) ─► Acks::wait (SYNC_MASTER)
//! registration reply (masterAddr, haServerAddr) ─► Replication::learn_master ─► HaSlave, SlaveSync
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use apogee_protocol::body::ha::HaRuntimeInfo;
use apogee_replication::{Acks, HaMaster, HaSettings, HaSlave, ReplicaStatus};
use apogee_runtime::Shutdown;
use apogee_store::{MessageStore, ReplicaLog};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::BrokerError;
use crate::config::{BrokerConfig, BrokerRole};

/// The broker's replication state, shared by the processors that need it.
#[derive(Clone)]
pub struct Replication(Arc<Inner>);

struct Inner {
    role: BrokerRole,
    settings: HaSettings,
    slave_read_enable: bool,
    store: Arc<dyn ReplicaLog>,
    acks: Arc<Acks>,
    slave: Option<Arc<HaSlave>>,
    ha_addr: SocketAddr,
    /// A slave's master HA address (fixed by `haMasterAddress`, else from registration).
    master_ha: watch::Sender<Option<String>>,
    fixed_master_ha: bool,
    /// A slave's master remoting address, for copying metadata.
    master_addr: watch::Sender<Option<String>>,
}

impl Replication {
    /// Binds the HA port (every role listens, as Java's brokers do) and, on a slave, starts
    /// the client that copies the master's CommitLog.
    pub async fn start(
        config: &BrokerConfig,
        store: &Arc<MessageStore>,
        shutdown: &Shutdown,
    ) -> Result<(Self, Vec<JoinHandle<()>>), BrokerError> {
        let ha = &config.ha;
        let listener = tokio::net::TcpListener::bind(&ha.bind).await.map_err(|e| {
            BrokerError::Config(format!(
                "cannot open the HA port {} (ha_listen_port): {e}",
                ha.bind
            ))
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| BrokerError::Config(e.to_string()))?
            .port();
        let acks = Arc::new(Acks::default());
        let log: Arc<dyn ReplicaLog> = Arc::clone(store) as Arc<dyn ReplicaLog>;
        let server = Arc::new(HaMaster::new(
            Arc::clone(&log),
            Arc::clone(&acks),
            ha.settings,
        ));
        let mut tasks = vec![tokio::spawn(server.serve(listener, shutdown.clone()))];
        let replica_log = Arc::clone(&log);
        let (master_ha, master_ha_rx) = watch::channel(ha.master_address.clone());
        let slave = config.role.is_slave().then(|| {
            let client = Arc::new(HaSlave::new(log, master_ha_rx, ha.settings));
            tasks.push(tokio::spawn(Arc::clone(&client).run(shutdown.clone())));
            client
        });
        let ha_addr = SocketAddr::new(ha.advertised_ip, port);
        tracing::info!(role = config.role.as_str(), %ha_addr, "HA listening");
        Ok((
            Self(Arc::new(Inner {
                role: config.role,
                settings: ha.settings,
                slave_read_enable: ha.slave_read_enable,
                store: replica_log,
                acks,
                slave,
                ha_addr,
                master_ha,
                fixed_master_ha: ha.master_address.is_some(),
                master_addr: watch::Sender::new(None),
            })),
            tasks,
        ))
    }

    pub fn role(&self) -> BrokerRole {
        self.0.role
    }

    pub fn is_slave(&self) -> bool {
        self.0.role.is_slave()
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
        if !self.is_slave() {
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
        if self.0.role != BrokerRole::SyncMaster || !wait_store_ok() {
            return ReplicaStatus::Ok;
        }
        let s = &self.0.settings;
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
            ha_client_runtime_info: self
                .0
                .slave
                .as_ref()
                .map(|s| s.runtime_info())
                .unwrap_or_default(),
        }
    }

    /// Replication figures for GET_BROKER_RUNTIME_INFO (Apogee's own keys; Java has none).
    pub fn runtime_keys(&self) -> Vec<(&'static str, String)> {
        let info = self.runtime_info();
        let mut keys = vec![("brokerRole", self.0.role.as_str().to_owned())];
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
