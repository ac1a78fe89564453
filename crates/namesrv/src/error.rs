//! NameServer errors and their single mapping to response codes.

use apogee_protocol::{DecodeError, HeaderError, RemotingCommand, ResponseCode};

/// Why the NameServer could not serve a request, or could not start.
#[derive(Debug, thiserror::Error)]
pub enum NamesrvError {
    #[error("{0}")]
    Header(#[from] HeaderError),
    #[error("{0}")]
    Body(#[from] DecodeError),
    #[error("crc32 not match")]
    CrcMismatch,
    #[error("register broker failed")]
    RegisterFailed,
    #[error(
        "register broker failed: {broker} id {id} is held by {holder}, which is alive; it must unregister or stop heartbeating first"
    )]
    BrokerIdTaken {
        broker: String,
        id: i64,
        holder: String,
    },
    #[error(
        "No topic route info in name server for the topic: {0}\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details."
    )]
    TopicNotExist(String),
    #[error("No config item, Namespace: {namespace} Key: {key}")]
    KvNotFound { namespace: String, key: String },
    #[error("No config item, Namespace: {0}")]
    KvNamespaceNotFound(String),
    #[error("disable")]
    Disabled,
    #[error("Can not update config in black list.")]
    ConfigBlackListed,
    #[error("{0}")]
    BadConfigUpdate(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("cannot persist {path}: {source}")]
    Persist {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot load {path}: {reason}")]
    Load { path: String, reason: String },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Remoting(#[from] apogee_remoting::RemotingError),
}

impl NamesrvError {
    /// The one place an error becomes a response code (and the remark Java would send).
    pub fn response_code(&self) -> ResponseCode {
        match self {
            Self::TopicNotExist(_) => ResponseCode::TOPIC_NOT_EXIST,
            Self::KvNotFound { .. } | Self::KvNamespaceNotFound(_) => ResponseCode::QUERY_NOT_FOUND,
            Self::ConfigBlackListed => ResponseCode::NO_PERMISSION,
            _ => ResponseCode::SYSTEM_ERROR,
        }
    }

    pub fn into_response(self, request: &RemotingCommand) -> RemotingCommand {
        RemotingCommand::response_to(request, self.response_code(), Some(self.to_string()))
    }
}

/// Turns a handler outcome into the response to send.
pub fn respond(
    request: &RemotingCommand,
    outcome: Result<RemotingCommand, NamesrvError>,
) -> RemotingCommand {
    outcome.unwrap_or_else(|e| {
        tracing::debug!(code = %request.request_code(), error = %e, "request failed");
        e.into_response(request)
    })
}
