//! The NameServer: a stateless route registry. Brokers register their topics every 30 s;
//! clients ask it for routes. State lives in one [`route_table::RouteTable`]; the processors
//! translate remoting requests into calls on it; a scan task drops silent brokers, and a
//! connection-close hook drops brokers whose connection went away.
//!
//! ```text
//! broker ──REGISTER_BROKER──► BrokerProcessor ──► RouteTable ◄── RouteProcessor ◄──ROUTE── client
//!                                                    ▲
//!                             liveness scan (5 s) ───┘── on connection close
//! ```

pub mod config;
mod error;
pub mod kv_config;
mod metrics;
pub mod processor;
pub mod route_table;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apogee_remoting::{Dispatcher, RemotingServer, ServerHandle};
use apogee_runtime::{Clock, Shutdown, SystemClock};

pub use config::{NamesrvConfig, RawNamesrvConfig};
pub use error::NamesrvError;

use crate::kv_config::KvConfig;
use crate::processor::{BrokerProcessor, ConfigProcessor, KvProcessor, RouteProcessor};
use crate::route_table::SharedRouteTable;

/// A started NameServer.
pub struct Namesrv {
    server: ServerHandle,
    table: SharedRouteTable,
    shutdown: Shutdown,
    scan: tokio::task::JoinHandle<()>,
    reload: tokio::task::JoinHandle<()>,
    metrics: Option<apogee_metrics::Exporter>,
}

/// The cluster name `Cluster:` checks use on the NameServer, which serves many clusters.
const NAMESRV_CLUSTER: &str = "NameServer";
/// How often `plain_acl.yml` is looked at for changes.
const PLAIN_ACL_RELOAD_PERIOD: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs the NameServer until `shutdown` fires.
pub async fn run(config: NamesrvConfig, shutdown: Shutdown) -> Result<(), NamesrvError> {
    Namesrv::start(config, shutdown, Arc::new(SystemClock))
        .await?
        .wait()
        .await;
    Ok(())
}

/// Access control: the guard every request passes when it is on (a warning when it is off and
/// the NameServer listens beyond loopback).
fn guard(
    config: &NamesrvConfig,
    dispatcher: &mut Dispatcher,
) -> Result<Arc<apogee_auth::AccessControl>, NamesrvError> {
    let access = apogee_auth::AccessControl::load(
        &config.auth_keys(),
        NAMESRV_CLUSTER,
        apogee_auth::Managed::default(),
        config.plain_acl_path.clone(),
    )
    .map(Arc::new)
    .map_err(NamesrvError::Config)?;
    if access.enabled() {
        let guard = Arc::clone(access.guard());
        dispatcher.guard(Arc::new(move |connection, request| {
            guard
                .check(connection.peer().ip(), request)
                .map_err(|r| (r.code, r.remark))
        }));
    } else if !apogee_remoting::binds_loopback_only(&config.bind) {
        tracing::warn!(bind = %config.bind, "listening beyond loopback with access control off: anyone who reaches the port can register brokers and change routes (set authentication_enabled and authorization_enabled)");
    }
    Ok(access)
}

impl Namesrv {
    /// Loads state, binds the port and starts the background scan.
    pub async fn start(
        config: NamesrvConfig,
        shutdown: Shutdown,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, NamesrvError> {
        let kv = KvConfig::load(&config.kv_config_path)?;
        let table = SharedRouteTable::default();
        let mut dispatcher = Dispatcher::new();
        processor::register(
            &mut dispatcher,
            BrokerProcessor {
                table: table.clone(),
                kv: kv.clone(),
                live: config.live.clone(),
                clock: Arc::clone(&clock),
                limits: config.transport.limits,
            },
        );
        processor::register(
            &mut dispatcher,
            RouteProcessor {
                table: table.clone(),
                kv: kv.clone(),
                live: config.live.clone(),
            },
        );
        processor::register(&mut dispatcher, KvProcessor { kv });
        processor::register(
            &mut dispatcher,
            ConfigProcessor {
                config: config.clone(),
            },
        );
        let access = guard(&config, &mut dispatcher)?;
        let tls = config.server_tls()?;
        let closed_table = table.clone();
        dispatcher.on_close(move |conn| {
            for gone in closed_table.write().connection_closed(conn.id()) {
                tracing::info!(cluster = %gone.cluster, addr = %gone.addr, "broker connection closed; broker removed");
            }
        });
        let shutdown = shutdown.child();
        let metrics =
            metrics::start(&config.metrics, &mut dispatcher, table.clone(), &shutdown).await?;
        let server = RemotingServer::bind_with_tls(
            &config.bind,
            dispatcher,
            config.transport,
            tls,
            &shutdown,
        )
        .await?;
        let scan = tokio::spawn(scan_loop(
            table.clone(),
            config.live.clone(),
            clock,
            shutdown.clone(),
        ));
        let reload = apogee_runtime::spawn_periodic_blocking(
            PLAIN_ACL_RELOAD_PERIOD,
            &shutdown,
            move || access.reload_plain_file(),
        );
        tracing::info!(addr = %server.local_addr(), "NameServer started");
        Ok(Self {
            server,
            table,
            shutdown,
            scan,
            reload,
            metrics,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Where Prometheus scrapes `/metrics`, when the exporter is on.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .map(apogee_metrics::Exporter::local_addr)
    }

    /// The live route table (for tests and embedding).
    pub fn route_table(&self) -> &SharedRouteTable {
        &self.table
    }

    /// Waits for shutdown, then stops serving.
    pub async fn wait(self) {
        self.shutdown.wait().await;
        self.server.stop().await;
        let _ = self.scan.await;
        let _ = self.reload.await;
        if let Some(metrics) = self.metrics {
            metrics.wait().await;
        }
        tracing::info!("NameServer stopped");
    }

    /// Stops now.
    pub async fn stop(self) {
        self.shutdown.trigger();
        self.wait().await;
    }
}

async fn scan_loop(
    table: SharedRouteTable,
    live: config::LiveSettings,
    clock: Arc<dyn Clock>,
    shutdown: Shutdown,
) {
    loop {
        let interval = Duration::from_millis(live.get().scan_not_active_broker_interval_ms);
        tokio::select! {
            () = shutdown.wait() => return,
            () = tokio::time::sleep(interval) => {}
        }
        for gone in table.write().scan_expired(clock.now_ms()) {
            tracing::warn!(cluster = %gone.cluster, addr = %gone.addr, "broker expired: no heartbeat within its timeout");
        }
    }
}
