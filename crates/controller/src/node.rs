//! A running controller: its raft node, its port and its two background scans (expired
//! heartbeats; dead masters, on the leader).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use apogee_remoting::{Dispatcher, RemotingClient, RemotingServer, ServerHandle};
use apogee_runtime::{Clock, Shutdown};
use openraft::BasicNode;
use openraft::error::{InitializeError, RaftError};

use crate::ControllerConfig;
use crate::decide::Trigger;
use crate::raft::{LogStore, Network, NodeId, Raft, StateMachine, raft_config};
use crate::service::{self, core::Core};

/// Why a controller could not start.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error("controller store {path}: {source}")]
    Store {
        path: String,
        source: std::io::Error,
    },
    #[error("raft: {0}")]
    Raft(String),
    #[error(transparent)]
    Remoting(#[from] apogee_remoting::RemotingError),
}

/// A started controller node.
pub struct Controller {
    server: ServerHandle,
    core: Arc<Core>,
    shutdown: Shutdown,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Runs a controller until `shutdown` fires.
pub async fn run(config: ControllerConfig, shutdown: Shutdown) -> Result<(), ControllerError> {
    Controller::start(config, shutdown, Arc::new(apogee_runtime::SystemClock))
        .await?
        .wait()
        .await;
    Ok(())
}

async fn open_raft(
    config: &ControllerConfig,
    client: RemotingClient,
) -> Result<(Raft, crate::raft::SharedState), ControllerError> {
    let store_error = |source| ControllerError::Store {
        path: config.data_dir.display().to_string(),
        source,
    };
    let log = LogStore::open(&config.data_dir).map_err(store_error)?;
    let sm = StateMachine::open(&config.data_dir).map_err(store_error)?;
    let state = sm.shared_state();
    let raft_settings = raft_config()
        .validate()
        .map_err(|e| ControllerError::Raft(e.to_string()))?;
    let raft = Raft::new(
        config.self_id,
        Arc::new(raft_settings),
        Network::new(client),
        log,
        sm,
    )
    .await
    .map_err(|e| ControllerError::Raft(e.to_string()))?;
    Ok((raft, state))
}

impl Controller {
    /// Opens the store, starts raft, binds the port and the scans. A new group is formed by
    /// its first peer (all of `peers` as voters); a node that already has a log keeps it.
    pub async fn start(
        config: ControllerConfig,
        shutdown: Shutdown,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ControllerError> {
        let client = RemotingClient::new(
            Dispatcher::new(),
            apogee_remoting::TransportConfig::default(),
        );
        let (raft, state) = open_raft(&config, client.clone()).await?;
        let raft = Arc::new(raft);
        let core = Arc::new(Core::new(
            config.clone(),
            Arc::clone(&raft),
            state,
            clock,
            client,
        ));
        let mut dispatcher = Dispatcher::new();
        service::register(&mut dispatcher, Arc::clone(&core));
        let shutdown = shutdown.child();
        let (closed, stopping) = (Arc::clone(&core), shutdown.clone());
        dispatcher.on_close(move |conn| {
            // Our own stop closes every connection: that is not brokers leaving.
            if !stopping.is_triggered() {
                connection_closed(&closed, conn.id());
            }
        });
        let server =
            RemotingServer::bind(&config.bind, dispatcher, config.transport, &shutdown).await?;
        if !apogee_remoting::binds_loopback_only(&config.bind) {
            tracing::warn!(bind = %config.bind, "the controller port has no access control: anyone who reaches it can elect masters, change settings and clean broker data; keep it on a private network or set listen_address = \"127.0.0.1\"");
        }
        let members: BTreeMap<NodeId, BasicNode> = config
            .peers
            .iter()
            .map(|(id, p)| (*id, BasicNode::new(p.addr.clone())))
            .collect();
        // Only the first peer proposes the group; the others join when it contacts them (if
        // every node proposed, their candidacies would depose each other while starting).
        if config.peers.keys().next() == Some(&config.self_id) {
            match raft.initialize(members).await {
                Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {}
                Err(e) => return Err(ControllerError::Raft(e.to_string())),
            }
        }
        let tasks = vec![
            tokio::spawn(expire_loop(Arc::clone(&core), shutdown.clone())),
            tokio::spawn(inactive_master_loop(Arc::clone(&core), shutdown.clone())),
        ];
        tracing::info!(addr = %server.local_addr(), id = %config.raw.self_id, peers = %config.peers_text(), "controller started");
        Ok(Self {
            server,
            core,
            shutdown,
            tasks,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Whether this node leads the group now.
    pub fn is_leader(&self) -> bool {
        self.core.is_leader()
    }

    /// The applied state (for tests and embedding).
    pub fn state(&self) -> crate::ControllerState {
        self.core.state.read().clone()
    }

    /// Waits for shutdown, then stops serving and stops raft.
    pub async fn wait(self) {
        self.shutdown.wait().await;
        self.server.stop().await;
        for task in self.tasks {
            let _ = task.await;
        }
        if let Err(e) = self.core.raft.shutdown().await {
            tracing::warn!(error = %e, "raft did not stop cleanly");
        }
        self.core.client.shutdown();
        tracing::info!("controller stopped");
    }

    /// Stops now.
    pub async fn stop(self) {
        self.shutdown.trigger();
        self.wait().await;
    }
}

/// A broker's heartbeat connection closed: it is gone now, and if it was a master, the leader
/// elects another at once (RocketMQ does the same on channel close).
fn connection_closed(core: &Arc<Core>, connection: apogee_remoting::ConnectionId) {
    for gone in core.live.connection_closed(connection) {
        tracing::info!(broker_name = %gone.broker_name, broker_id = gone.broker_id, "broker's controller connection closed");
        let was_master = core
            .broker_set(&gone.broker_name)
            .is_some_and(|s| s.master == Some(gone.broker_id));
        if was_master && core.is_leader() {
            let core = Arc::clone(core);
            tokio::spawn(async move {
                if let Err(r) = core.elect(&gone.broker_name, Trigger::Controller).await {
                    tracing::warn!(broker_name = %gone.broker_name, code = %r.code, remark = %r.remark, "re-election after the master left failed; the scan retries");
                }
            });
        }
    }
}

async fn expire_loop(core: Arc<Core>, shutdown: Shutdown) {
    let mut tick = tokio::time::interval(core.config.scan_not_active_broker_interval);
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            _ = tick.tick() => {}
        }
        for gone in core.live.expire(core.now_ms()) {
            tracing::warn!(broker_name = %gone.broker_name, broker_id = gone.broker_id, "broker expired: no heartbeat within its timeout");
        }
    }
}

/// On the leader: every broker set whose master is not alive while some replica is gets an
/// election. A new leader first waits `inactive_master_grace` for heartbeats.
async fn inactive_master_loop(core: Arc<Core>, shutdown: Shutdown) {
    let mut tick = tokio::time::interval(core.config.scan_inactive_master_interval);
    let mut leader_since: Option<Instant> = None;
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            _ = tick.tick() => {}
        }
        if !core.is_leader() {
            leader_since = None;
            continue;
        }
        let since = *leader_since.get_or_insert_with(Instant::now);
        if since.elapsed() < core.settings.inactive_master_grace() {
            continue;
        }
        for name in orphaned_sets(&core) {
            if let Err(r) = core.elect(&name, Trigger::Controller).await {
                tracing::debug!(broker_name = %name, code = %r.code, remark = %r.remark, "no new master yet");
            }
        }
    }
}

/// Broker sets with no live master but a live replica.
fn orphaned_sets(core: &Core) -> Vec<String> {
    let now = core.now_ms();
    let state = core.state.read();
    state
        .broker_sets()
        .filter(|(name, set)| {
            let alive = |id: &i64| core.live.alive(name, *id, now).is_some();
            !set.master.as_ref().is_some_and(alive) && set.replicas.keys().any(alive)
        })
        .map(|(name, _)| name.clone())
        .collect()
}
