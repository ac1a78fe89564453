//! Tokio transport for the remoting protocol.
//!
//! ```text
//!            ┌──────────── Connection (one per TCP stream, both sides) ───────────┐
//! socket ──► │ reader task: decode_frame ─┬─ response → pending[opaque] oneshot   │
//!            │                            └─ request  → Dispatcher (code → proc.) │
//!            │   (requests are served inside the reader task: no task per request) │
//! socket ◄── │ writer task ◄── bounded queue ◄── responses / outbound requests     │
//!            └─────────────────────────────────────────────────────────────────────┘
//! Server: accept loop → Connection per stream.   Client: address → pooled Connection.
//! ```
//!
//! A malformed frame closes only its own connection (one log line). Oneway requests are
//! never answered; unknown codes get REQUEST_CODE_NOT_SUPPORTED; a response mirrors the
//! request's header encoding.

mod client;
mod connection;
mod dispatch;
mod error;
mod read;
mod server;
mod tls;
mod write;

pub use client::RemotingClient;
pub use connection::{Connection, ConnectionId};
pub use dispatch::{
    BoxFuture, Dispatcher, OutboundHook, PassEndHook, RequestGuard, RequestObserver,
    RequestProcessor,
};
pub use error::RemotingError;
pub use read::{more_requests_follow, release_in_flight_slot};
pub use server::{RemotingServer, ServerHandle};
pub use tls::{ClientAuth, ClientTls, ServerTls, ServerTlsFiles, TlsMode};

use std::time::Duration;

use apogee_protocol::FrameLimits;

/// Whether a listen address (`host:port`) accepts loopback connections only.
pub fn binds_loopback_only(bind: &str) -> bool {
    bind.parse::<std::net::SocketAddr>()
        .map(|a| a.ip().is_loopback())
        .unwrap_or_else(|_| bind.starts_with("localhost:"))
}

/// Transport settings shared by server and client connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportConfig {
    pub limits: FrameLimits,
    /// Requests from one peer processed at once; past it the connection stops reading.
    pub in_flight_requests_max: usize,
    /// Outbound frames queued per connection before senders wait.
    pub write_queue_frames_max: usize,
    /// A connection with no inbound traffic for this long is closed (Java: 120 s).
    pub idle_timeout: Duration,
    pub connect_timeout: Duration,
}

impl TransportConfig {
    /// The server settings every config file exposes (`frame_bytes_max`,
    /// `in_flight_requests_per_connection`, `channel_idle_timeout_secs`), checked, with the
    /// other settings at their defaults. The error names the offending key.
    pub fn for_server(
        frame_bytes_max: usize,
        in_flight_requests: usize,
        idle_timeout_secs: u64,
    ) -> Result<Self, String> {
        if frame_bytes_max < 1024 {
            return Err(format!("frame_bytes_max = {frame_bytes_max} is below 1024"));
        }
        if idle_timeout_secs == 0 || in_flight_requests == 0 {
            return Err(
                "channel_idle_timeout_secs and in_flight_requests_per_connection must be > 0"
                    .into(),
            );
        }
        Ok(Self {
            limits: FrameLimits {
                frame_bytes_max,
                ..FrameLimits::default()
            },
            in_flight_requests_max: in_flight_requests,
            idle_timeout: Duration::from_secs(idle_timeout_secs),
            ..Self::default()
        })
    }
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            limits: FrameLimits::default(),
            in_flight_requests_max: 256,
            write_queue_frames_max: 1024,
            idle_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(3),
        }
    }
}
