//! Transport errors.

use std::time::Duration;

/// Why a remote call did not produce a response.
#[derive(Debug, thiserror::Error)]
pub enum RemotingError {
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: String, reason: String },
    #[error("no response from {addr} within {timeout:?}")]
    Timeout { addr: String, timeout: Duration },
    #[error("connection to {addr} closed before the response arrived")]
    ConnectionClosed { addr: String },
    #[error("cannot encode request: {0}")]
    Encode(#[from] apogee_protocol::EncodeError),
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}
