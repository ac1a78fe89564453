//! The accept loop: one [`Connection`](crate::Connection) per accepted stream, all served
//! by the same [`Dispatcher`]. Stops accepting and closes every connection on shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use apogee_runtime::Shutdown;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::{Dispatcher, RemotingError, TransportConfig, connection};

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
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| RemotingError::Bind {
                addr: addr.to_owned(),
                source,
            })?;
        Self::serve(listener, dispatcher, config, shutdown)
    }

    /// Serves an already bound listener (a caller that must know its port before building
    /// the dispatcher binds first).
    pub fn serve(
        listener: TcpListener,
        dispatcher: Dispatcher,
        config: TransportConfig,
        shutdown: &Shutdown,
    ) -> Result<ServerHandle, RemotingError> {
        let local_addr = listener
            .local_addr()
            .map_err(|source| RemotingError::Bind {
                addr: "listener".to_owned(),
                source,
            })?;
        let shutdown = shutdown.child();
        let task = tokio::spawn(accept_loop(
            listener,
            Arc::new(dispatcher),
            config,
            shutdown.clone(),
        ));
        tracing::info!(%local_addr, "remoting server listening");
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
    config: TransportConfig,
    shutdown: Shutdown,
) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.wait() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let conn =
                    connection::spawn(stream, peer, Arc::clone(&dispatcher), config, &shutdown);
                tracing::debug!(%peer, id = conn.id(), "connection accepted");
            }
            Err(e) => {
                // Typically EMFILE; back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
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
