//! Serving the endpoint: a tonic server on its own listener beside the broker's remoting port
//! (8081 by default, the Apache proxy's), stopped with the broker's shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use apogee_broker::messaging::Messaging;
use apogee_runtime::Shutdown;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;

use crate::pb::messaging_service_server::MessagingServiceServer;
use crate::route::Routes;
use crate::service::Endpoint;
use crate::telemetry::Sessions;

/// Largest request or response message (a send of many 4 MiB messages is refused above it).
const MESSAGE_BYTES_MAX: usize = 64 << 20;
/// How often the endpoint is published in the NameServers.
const PUBLISH_PERIOD: std::time::Duration = std::time::Duration::from_secs(30);

/// A running endpoint.
pub struct GrpcServer {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl GrpcServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Waits for the server to stop (after the shutdown fired).
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

/// Serves the broker's messaging on `addr` until `shutdown`. Clients are told this endpoint
/// is at the broker's advertised IP and the bound port.
pub async fn serve(
    messaging: Messaging,
    addr: SocketAddr,
    shutdown: &Shutdown,
) -> std::io::Result<GrpcServer> {
    let listener = TcpListener::bind(addr).await?;
    let local_addr = listener.local_addr()?;
    let advertised = SocketAddr::new(messaging.identity.store_host.ip(), local_addr.port());
    let sessions = Sessions::default();
    messaging.orphans.add(Arc::new(sessions.clone()));
    messaging.others.set(Arc::new(sessions.clone()));
    let routes = Routes {
        messaging: messaging.clone(),
        advertised,
    };
    let endpoint = Endpoint {
        routes: routes.clone(),
        messaging,
        sessions,
    };
    let service = MessagingServiceServer::new(endpoint)
        .max_decoding_message_size(MESSAGE_BYTES_MAX)
        .max_encoding_message_size(MESSAGE_BYTES_MAX);
    tokio::spawn(publish_endpoint(routes, shutdown.clone()));
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move {
                stop.wait().await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the v5 gRPC endpoint stopped");
        }
    });
    tracing::info!(%local_addr, "v5 gRPC endpoint listening");
    Ok(GrpcServer { local_addr, task })
}

/// Publishes the endpoint in the NameServers now and every 30 s (a NameServer may have
/// restarted; a slave promoted to master starts publishing).
async fn publish_endpoint(routes: Routes, shutdown: Shutdown) {
    loop {
        routes.publish().await;
        tokio::select! {
            () = tokio::time::sleep(PUBLISH_PERIOD) => {}
            () = shutdown.wait() => return,
        }
    }
}
