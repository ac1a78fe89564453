//! The client's errors. A refusal by a server keeps its response code and remark, so callers
//! can match on `ResponseCode` and show the server's own words.

use apogee_protocol::{RemotingCommand, ResponseCode};
use apogee_remoting::RemotingError;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a non-success code.
    #[error("{addr} refused the request: {code} {remark}")]
    Refused {
        addr: String,
        code: ResponseCode,
        remark: String,
    },
    /// No response: connection refused, timed out or closed.
    #[error(transparent)]
    Remoting(#[from] RemotingError),
    #[error(
        "No route info of this topic: {topic}. Check that the topic exists (or that the broker \
         auto-creates topics), that a broker serving it is registered with the NameServer \
         ({namesrv}), and that the client points at the right NameServer."
    )]
    NoRoute { topic: String, namesrv: String },
    /// The message breaks a client-side rule (empty body, too large, bad topic, …).
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// An admin call's arguments cannot name anything (e.g. a malformed message id).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error(
        "the {kind} group `{group}` is already registered in this process under client id \
         {client_id}; use another group name or set a different instance name"
    )]
    GroupAlreadyRegistered {
        kind: &'static str,
        group: String,
        client_id: String,
    },
    /// A response that does not decode as the protocol says it should.
    #[error("bad response from {addr}: {reason}")]
    BadResponse { addr: String, reason: String },
    #[error("no NameServer answered: {0}")]
    NoNameServer(String),
    #[error("the client was shut down")]
    Shutdown,
    #[error("local file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl ClientError {
    /// The error for a response whose code is not the expected one.
    pub(crate) fn refused(addr: &str, response: &RemotingCommand) -> Self {
        ClientError::Refused {
            addr: addr.to_owned(),
            code: response.response_code(),
            remark: response.remark.clone().unwrap_or_default(),
        }
    }

    pub(crate) fn bad_response(addr: &str, reason: impl std::fmt::Display) -> Self {
        ClientError::BadResponse {
            addr: addr.to_owned(),
            reason: reason.to_string(),
        }
    }

    /// The server's response code, when the server answered.
    pub fn response_code(&self) -> Option<ResponseCode> {
        match self {
            ClientError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// True for failures that say nothing about the message itself (network trouble, a busy
    /// or missing broker): worth retrying on another broker.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Remoting(_) => true,
            ClientError::Refused { code, .. } => matches!(
                *code,
                ResponseCode::TOPIC_NOT_EXIST
                    | ResponseCode::SERVICE_NOT_AVAILABLE
                    | ResponseCode::SYSTEM_ERROR
                    | ResponseCode::NO_PERMISSION
                    | ResponseCode::NO_BUYER_ID
                    | ResponseCode::NOT_IN_CURRENT_UNIT
                    | ResponseCode::SYSTEM_BUSY
            ),
            _ => false,
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;
