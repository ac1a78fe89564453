//! The client side: one pooled connection per address, created on first use and replaced
//! when it closes, so a restarted peer is reconnected on the next call.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apogee_protocol::RemotingCommand;
use apogee_runtime::Shutdown;
use tokio::net::TcpStream;

use crate::tls::ClientTls;
use crate::{Connection, Dispatcher, RemotingError, TransportConfig, connection};

/// A connection pool plus request helpers. Clones share the pool.
#[derive(Clone)]
pub struct RemotingClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    pool: Mutex<HashMap<String, Connection>>,
    dispatcher: Arc<Dispatcher>,
    config: TransportConfig,
    shutdown: Shutdown,
    tls: Option<ClientTls>,
}

impl RemotingClient {
    /// `dispatcher` serves requests the peer sends us over our connections (the broker calls
    /// clients back); an empty one answers REQUEST_CODE_NOT_SUPPORTED.
    pub fn new(dispatcher: Dispatcher, config: TransportConfig) -> Self {
        Self::with_tls(dispatcher, config, None)
    }

    /// [`new`](Self::new), connecting over TLS when `tls` is given.
    pub fn with_tls(
        dispatcher: Dispatcher,
        config: TransportConfig,
        tls: Option<ClientTls>,
    ) -> Self {
        Self {
            inner: Arc::new(ClientInner {
                pool: Mutex::new(HashMap::new()),
                dispatcher: Arc::new(dispatcher),
                config,
                shutdown: Shutdown::new(),
                tls,
            }),
        }
    }

    /// The pooled connection to `addr`, connecting if there is none or it has closed.
    pub async fn connection(&self, addr: &str) -> Result<Connection, RemotingError> {
        if let Some(conn) = self.pooled(addr) {
            return Ok(conn);
        }
        let connect_error = |reason: String| RemotingError::Connect {
            addr: addr.to_owned(),
            reason,
        };
        let stream =
            tokio::time::timeout(self.inner.config.connect_timeout, TcpStream::connect(addr))
                .await
                .map_err(|_| {
                    connect_error(format!(
                        "timed out after {:?}",
                        self.inner.config.connect_timeout
                    ))
                })?
                .map_err(|e| connect_error(e.to_string()))?;
        let peer: SocketAddr = stream
            .peer_addr()
            .map_err(|e| connect_error(e.to_string()))?;
        let (dispatcher, config) = (Arc::clone(&self.inner.dispatcher), self.inner.config);
        let conn = match &self.inner.tls {
            None => connection::spawn(stream, peer, dispatcher, config, &self.inner.shutdown),
            Some(tls) => {
                let _ = stream.set_nodelay(true);
                let name = ClientTls::server_name(addr).map_err(connect_error)?;
                let session = tokio::time::timeout(
                    self.inner.config.connect_timeout,
                    tls.connector.connect(name, stream),
                )
                .await
                .map_err(|_| connect_error("TLS handshake timed out".into()))?
                .map_err(|e| connect_error(format!("TLS handshake failed: {e}")))?;
                connection::spawn_stream(session, peer, dispatcher, config, &self.inner.shutdown)
            }
        };
        let mut pool = self.pool();
        match pool.get(addr) {
            Some(existing) if !existing.is_closed() => {
                conn.close();
                Ok(existing.clone())
            }
            _ => {
                pool.insert(addr.to_owned(), conn.clone());
                Ok(conn)
            }
        }
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, HashMap<String, Connection>> {
        self.inner
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn pooled(&self, addr: &str) -> Option<Connection> {
        let mut pool = self.pool();
        match pool.get(addr) {
            Some(conn) if !conn.is_closed() => Some(conn.clone()),
            Some(_) => {
                pool.remove(addr);
                None
            }
            None => None,
        }
    }

    /// Sends a request and waits for the response.
    pub async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let started = tokio::time::Instant::now();
        let conn = self.connection_within(addr, timeout).await?;
        conn.invoke(request, timeout.saturating_sub(started.elapsed()))
            .await
    }

    /// Sends a request in the background and hands the outcome to `callback`.
    pub fn invoke_with_callback(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
        callback: impl FnOnce(Result<RemotingCommand, RemotingError>) + Send + 'static,
    ) {
        let (client, addr) = (self.clone(), addr.to_owned());
        tokio::spawn(async move { callback(client.invoke(&addr, request, timeout).await) });
    }

    /// Sends a request that gets no response.
    pub async fn invoke_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<(), RemotingError> {
        let conn = self.connection_within(addr, timeout).await?;
        conn.send_oneway(request, timeout).await
    }

    /// The pooled connection, giving up (as a timeout) after `timeout`.
    async fn connection_within(
        &self,
        addr: &str,
        timeout: Duration,
    ) -> Result<Connection, RemotingError> {
        tokio::time::timeout(timeout, self.connection(addr))
            .await
            .map_err(|_| RemotingError::Timeout {
                addr: addr.to_owned(),
                timeout,
            })?
    }

    /// Closes the connection to `addr`, if any.
    pub fn close_connection(&self, addr: &str) {
        let removed = self.pool().remove(addr);
        if let Some(conn) = removed {
            conn.close();
        }
    }

    /// Closes every connection.
    pub fn shutdown(&self) {
        self.inner.shutdown.trigger();
        self.inner
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
