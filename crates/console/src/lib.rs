//! The management service: the managed RocketMQ services' management HTTP API (seed 001
//! chapter 7, `/api/manager/...`) served over axum, talking to the cluster only through
//! `apogee-client`'s admin API. Runs inside `apogee standalone` (port 8080) and as
//! `apogee console -n NAMESRV`.
//!
//! ```text
//! HTTP ─► router ─► Caller (accessKey/secretKey: the administrator or a broker user)
//!                    └► handler ─► apogee_client::Admin ─► NameServer / brokers
//!                               ─► Notes (remarks RocketMQ has no field for; notes.json)
//!         ◄── {"code":200,"message":"success","result":{"data":…}}
//! browser ─► /  and /ui/* (the web console: static pages embedded in the binary, `ui`)
//!         ─► /api/console/session (login: HttpOnly cookie + CSRF token) ─► the same API
//! ```

pub mod alerts;
pub mod auth;
pub mod cache;
pub mod config;
pub mod history;
pub mod lag;
pub mod limit;
pub mod notes;
pub mod openapi;
pub mod reply;
pub mod routes;
pub mod session;
pub mod ui;

use std::net::SocketAddr;
use std::sync::Arc;

use apogee_client::{Admin, ClientConfig};
use apogee_runtime::Shutdown;

pub use config::{ConsoleConfig, RawConsoleConfig};

/// What every handler shares.
pub struct State {
    pub admin: Admin,
    pub users: auth::Users,
    pub limiter: limit::Limiter,
    pub notes: notes::Notes,
    pub namesrv_addr: String,
    pub tenant_id: String,
    pub history: Arc<history::HistoryStore>,
    pub webhook: alerts::Webhook,
    /// The web console's logins.
    pub sessions: session::Sessions,
    /// How the console reaches the cluster (the dial test's clients use it too).
    pub client: ClientConfig,
    /// The dial test's producer, started on first use.
    pub dial: tokio::sync::OnceCell<apogee_client::Producer>,
    /// Each cluster's stored-message count (§7.4.1's `msgNowNums`), reused briefly.
    pub stored_cache: cache::Recent,
}

/// Why the console could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("console: {0}")]
    Config(String),
    #[error("console: cannot listen on {bind}: {source}")]
    Bind {
        bind: String,
        source: std::io::Error,
    },
    #[error("console: {0}")]
    Client(#[from] apogee_client::ClientError),
}

/// A running management service.
pub struct Console {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    sampler: tokio::task::JoinHandle<()>,
    state: Arc<State>,
}

impl Console {
    /// Connects to the NameServers, binds the port and serves until `shutdown` fires.
    pub async fn start(config: ConsoleConfig, shutdown: &Shutdown) -> Result<Self, ConsoleError> {
        // One client instance per cluster (instances are shared by name within a process).
        let name: String = format!("apogee-console-{}", config.namesrv_addr)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut client = ClientConfig::new(&config.namesrv_addr).instance_name(name);
        client.request_timeout = config.request_timeout;
        let admin = Admin::start(client.clone()).await?;
        let notes = notes::Notes::open(&config.data_dir).map_err(|e| {
            ConsoleError::Config(format!("data_dir {}: {e}", config.data_dir.display()))
        })?;
        let (dir, days) = (config.data_dir.clone(), config.history_retention_days);
        let store = tokio::task::spawn_blocking(move || history::HistoryStore::open(&dir, days))
            .await
            .map_err(|e| ConsoleError::Config(e.to_string()))?
            .map_err(ConsoleError::Config)?;
        let store = Arc::new(store);
        let state = Arc::new(State {
            admin,
            users: auth::Users::new(config.admin.clone()),
            limiter: limit::Limiter::new(config.rate_limit_per_second, config.rate_limit_burst),
            notes,
            namesrv_addr: config.namesrv_addr.clone(),
            tenant_id: config.tenant_id.clone(),
            history: Arc::clone(&store),
            webhook: alerts::Webhook::default(),
            sessions: session::Sessions::default(),
            client,
            dial: tokio::sync::OnceCell::new(),
            stored_cache: cache::Recent::new(config.stored_count_cache),
        });
        let sampler = tokio::spawn(history::run(
            state.admin.clone(),
            store,
            state.webhook.clone(),
            config.history_sample_interval,
            shutdown.clone(),
        ));
        let listener = tokio::net::TcpListener::bind(&config.bind)
            .await
            .map_err(|source| ConsoleError::Bind {
                bind: config.bind.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ConsoleError::Bind {
            bind: config.bind.clone(),
            source,
        })?;
        let shared = Arc::clone(&state);
        let app = routes::router().with_state(state);
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.wait().await })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "console stopped");
            }
        });
        tracing::info!(%addr, "management API listening");
        Ok(Self {
            addr,
            task,
            sampler,
            state: Arc::clone(&shared),
        })
    }

    /// Takes one history sample now and records it as taken at `at_ms` (tests move time with
    /// it instead of waiting for the interval).
    pub async fn sample_at(&self, at_ms: i64) -> Result<(), String> {
        history::sample_once(
            &self.state.admin,
            &self.state.history,
            &self.state.webhook,
            at_ms,
        )
        .await
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits until the server has stopped (after its shutdown fired).
    pub async fn wait(self) {
        let _ = self.task.await;
        let _ = self.sampler.await;
        if let Some(producer) = self.state.dial.get() {
            producer.shutdown().await;
        }
    }
}
