//! The accept loop: one [`Connection`](crate::Connection) per accepted stream, all served
//! by the same [`Dispatcher`]. Stops accepting and closes every connection on shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use apogee_runtime::Shutdown;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::tls::{ServerTls, TlsMode};
use crate::{Dispatcher, RemotingError, TransportConfig, connection};

/// How long a new connection has to show whether it speaks TLS and to finish its handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The first byte of a TLS record carrying a handshake.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Binds listeners.
pub struct RemotingServer;

/// A running server.
pub struct ServerHandle {
    local_addr: SocketAddr,
    shutdown: Shutdown,
    task: JoinHandle<()>,
}

impl RemotingServer {
    /// Binds `addr` (e.g. `0.0.0.0:9876` or `127.0.0.1:0`) and starts accepting. The server
    /// stops when `shutdown` fires.
    pub async fn bind(
        addr: &str,
        dispatcher: Dispatcher,
        config: TransportConfig,
        shutdown: &Shutdown,
    ) -> Result<ServerHandle, RemotingError> {
        Self::bind_with_tls(addr, dispatcher, config, ServerTls::disabled(), shutdown).await
    }

    /// [`bind`](Self::bind) with TLS in `tls`'s mode.
    pub async fn bind_with_tls(
        addr: &str,
        dispatcher: Dispatcher,
        config: TransportConfig,
        tls: ServerTls,
        shutdown: &Shutdown,
    ) -> Result<ServerHandle, RemotingError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| RemotingError::Bind {
                addr: addr.to_owned(),
                source,
            })?;
        Self::serve_with_tls(listener, dispatcher, config, tls, shutdown)
    }

    /// Serves an already bound listener (a caller that must know its port before building
    /// the dispatcher binds first).
    pub fn serve(
        listener: TcpListener,
        dispatcher: Dispatcher,
        config: TransportConfig,
        shutdown: &Shutdown,
    ) -> Result<ServerHandle, RemotingError> {
        Self::serve_with_tls(
            listener,
            dispatcher,
            config,
            ServerTls::disabled(),
            shutdown,
        )
    }

    /// [`serve`](Self::serve) with TLS in `tls`'s mode.
    pub fn serve_with_tls(
        listener: TcpListener,
        dispatcher: Dispatcher,
        config: TransportConfig,
        tls: ServerTls,
        shutdown: &Shutdown,
    ) -> Result<ServerHandle, RemotingError> {
        let local_addr = listener
            .local_addr()
            .map_err(|source| RemotingError::Bind {
                addr: "listener".to_owned(),
                source,
            })?;
        let shutdown = shutdown.child();
        let mode = tls.mode();
        let task = tokio::spawn(accept_loop(
            listener,
            Arc::new(dispatcher),
            (config, tls),
            shutdown.clone(),
        ));
        tracing::info!(%local_addr, tls = ?mode, "remoting server listening");
        Ok(ServerHandle {
            local_addr,
            shutdown,
            task,
        })
    }
}

async fn accept_loop(
    listener: TcpListener,
    dispatcher: Arc<Dispatcher>,
    (config, tls): (TransportConfig, ServerTls),
    shutdown: Shutdown,
) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.wait() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) if tls.mode == TlsMode::Disabled => {
                let conn =
                    connection::spawn(stream, peer, Arc::clone(&dispatcher), config, &shutdown);
                tracing::debug!(%peer, id = conn.id(), "connection accepted");
            }
            Ok((stream, peer)) => {
                let (dispatcher, tls, shutdown) =
                    (Arc::clone(&dispatcher), tls.clone(), shutdown.clone());
                tokio::spawn(async move {
                    let accepted = tokio::time::timeout(
                        HANDSHAKE_TIMEOUT,
                        accept_tls(stream, peer, dispatcher, (config, &tls), &shutdown),
                    )
                    .await;
                    match accepted {
                        Ok(Ok(())) => {}
                        Ok(Err(reason)) => tracing::info!(%peer, %reason, "connection refused"),
                        Err(_) => {
                            tracing::info!(%peer, "connection closed: no TLS handshake in time")
                        }
                    }
                });
            }
            Err(e) => {
                // Typically EMFILE; back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Serves one connection of a TLS-enabled server: a TLS session, or (permissive mode) a
/// plaintext connection whose first byte is not a handshake record.
async fn accept_tls(
    stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    dispatcher: Arc<Dispatcher>,
    (config, tls): (TransportConfig, &ServerTls),
    shutdown: &Shutdown,
) -> Result<(), String> {
    let mut first = [0u8; 1];
    let read = stream.peek(&mut first).await.map_err(|e| e.to_string())?;
    if read == 0 {
        return Err("closed before sending anything".into());
    }
    let Some(acceptor) = tls
        .acceptor
        .as_ref()
        .filter(|_| first[0] == TLS_HANDSHAKE_RECORD)
    else {
        if tls.mode == TlsMode::Enforcing {
            return Err("plaintext on a TLS-only port (tls server mode enforcing)".into());
        }
        connection::spawn(stream, peer, dispatcher, config, shutdown);
        return Ok(());
    };
    let _ = stream.set_nodelay(true);
    let session = acceptor
        .accept(stream)
        .await
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
    let conn = connection::spawn_stream(session, peer, dispatcher, config, shutdown);
    tracing::debug!(%peer, id = conn.id(), "TLS connection accepted");
    Ok(())
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting and closes every connection of this server.
    pub async fn stop(self) {
        self.shutdown.trigger();
        let _ = self.task.await;
    }
}
