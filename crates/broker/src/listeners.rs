//! The broker's listening ports: the client port (and the address clients are given) and the
//! VIP port.

use std::net::SocketAddr;

use apogee_remoting::{Dispatcher, RemotingServer, ServerHandle};
use apogee_runtime::Shutdown;

use crate::{BrokerConfig, BrokerError};

/// Binds the client port; returns the listener and the address clients are given.
pub(crate) async fn bind_listener(
    config: &BrokerConfig,
) -> Result<(tokio::net::TcpListener, SocketAddr), BrokerError> {
    let listener = tokio::net::TcpListener::bind(&config.bind)
        .await
        .map_err(|e| BrokerError::Config(format!("cannot listen on {}: {e}", config.bind)))?;
    let port = listener
        .local_addr()
        .map_err(|e| BrokerError::Config(e.to_string()))?
        .port();
    Ok((listener, SocketAddr::new(config.broker_ip, port)))
}

/// The VIP listener: Java clients up to 4.4 and rocketmq-dashboard (`vipChannelEnabled`) send
/// to `listenPort − 2`; it serves every family but pulls, as Java's fast server does.
pub(crate) async fn serve_vip(
    config: &BrokerConfig,
    dispatcher: &Dispatcher,
    tls: &apogee_remoting::ServerTls,
    shutdown: &Shutdown,
) -> Result<Option<ServerHandle>, BrokerError> {
    let Some(addr) = &config.vip_bind else {
        return Ok(None);
    };
    let pulls = [
        apogee_protocol::RequestCode::PULL_MESSAGE,
        apogee_protocol::RequestCode::LITE_PULL_MESSAGE,
    ];
    let vip = dispatcher.without(&pulls);
    let vip = RemotingServer::bind_with_tls(addr, vip, config.transport, tls.clone(), shutdown)
        .await
        .map_err(|e| {
            BrokerError::Config(format!(
                "cannot open the VIP port {addr} (listen_port − 2): {e}; set vip_channel_enable = false to run without it"
            ))
        })?;
    tracing::info!(addr = %vip.local_addr(), "VIP channel listening");
    Ok(Some(vip))
}
