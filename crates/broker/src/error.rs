//! Broker errors and their single mapping to response codes and remarks.

use apogee_protocol::{DecodeError, HeaderError, RemotingCommand, ResponseCode};
use apogee_store::StoreError;

/// Why the broker could not serve a request, or could not start.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("{0}")]
    Header(#[from] HeaderError),
    #[error("{0}")]
    Body(#[from] DecodeError),
    #[error(
        "topic[{0}] not exist, apply first please! See https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details."
    )]
    TopicNotExist(String),
    #[error("{0}")]
    NoPermission(String),
    /// A pull refused by a permission: NO_PERMISSION with the `forbiddenType` response header
    /// (Java's `ForbiddenType`: 1 broker, 2 group, 3 topic, 4 broadcasting, 5 subscription).
    #[error("{remark}")]
    PullForbidden { remark: String, forbidden_type: i32 },
    #[error("{0}")]
    MessageIllegal(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("subscription group [{0}] does not exist, apply first please!")]
    GroupNotExist(String),
    #[error("the consumer's subscription not exist, group: {group} topic: {topic}")]
    SubscriptionNotExist { group: String, topic: String },
    #[error("the consumer's subscription not latest, group: {group} topic: {topic}")]
    SubscriptionNotLatest { group: String, topic: String },
    #[error("parse the consumer's subscription[{0}] failed")]
    SubscriptionParseFailed(String),
    #[error("{0}")]
    QueryNotFound(String),
    #[error("{0}")]
    SystemBusy(String),
    #[error("{0}")]
    SystemError(String),
    #[error("{0}")]
    ServiceNotAvailable(String),
    #[error("{0}")]
    ConsumerNotOnline(String),
    #[error("{0}")]
    IllegalOperation(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A refusal whose code was chosen where it was decided (access-control management).
    #[error("{remark}")]
    Refused { code: ResponseCode, remark: String },
    #[error("cannot persist {path}: {source}")]
    Persist {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot load {path}: {reason}")]
    Load { path: String, reason: String },
    #[error(transparent)]
    Remoting(#[from] apogee_remoting::RemotingError),
}

impl BrokerError {
    /// A stored message whose flush failed: it may never reach the disk.
    pub fn flush_failed() -> Self {
        Self::ServiceNotAvailable(
            "the message was not made durable: a disk flush failed and the broker refuses writes until restarted"
                .into(),
        )
    }

    /// A write sent to a slave (RocketMQ 5.x's answer: SYSTEM_BUSY, which clients retry
    /// elsewhere).
    pub fn slave_refuses_writes() -> Self {
        Self::SystemBusy("[REJECTREQUEST]system busy, start flow control for a while".into())
    }

    /// The one place an error becomes a response code.
    pub fn response_code(&self) -> ResponseCode {
        match self {
            Self::TopicNotExist(_) => ResponseCode::TOPIC_NOT_EXIST,
            Self::NoPermission(_) | Self::PullForbidden { .. } => ResponseCode::NO_PERMISSION,
            Self::MessageIllegal(_) => ResponseCode::MESSAGE_ILLEGAL,
            Self::InvalidParameter(_) => ResponseCode::INVALID_PARAMETER,
            Self::GroupNotExist(_) => ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            Self::SubscriptionNotExist { .. } => ResponseCode::SUBSCRIPTION_NOT_EXIST,
            Self::SubscriptionNotLatest { .. } => ResponseCode::SUBSCRIPTION_NOT_LATEST,
            Self::SubscriptionParseFailed(_) => ResponseCode::SUBSCRIPTION_PARSE_FAILED,
            Self::QueryNotFound(_) => ResponseCode::QUERY_NOT_FOUND,
            Self::SystemBusy(_) => ResponseCode::SYSTEM_BUSY,
            Self::ServiceNotAvailable(_) => ResponseCode::SERVICE_NOT_AVAILABLE,
            Self::ConsumerNotOnline(_) => ResponseCode::CONSUMER_NOT_ONLINE,
            Self::IllegalOperation(_) => ResponseCode::ILLEGAL_OPERATION,
            Self::Refused { code, .. } => *code,
            Self::Store(e) => match e {
                StoreError::RecordTooLarge { .. }
                | StoreError::PropertiesTooLarge { .. }
                | StoreError::TopicTooLong { .. } => ResponseCode::MESSAGE_ILLEGAL,
                StoreError::InvalidTopic(_) => ResponseCode::INVALID_PARAMETER,
                StoreError::DiskFull { .. } | StoreError::NotWritable(_) => {
                    ResponseCode::SERVICE_NOT_AVAILABLE
                }
                _ => ResponseCode::SYSTEM_ERROR,
            },
            _ => ResponseCode::SYSTEM_ERROR,
        }
    }

    pub fn into_response(self, request: &RemotingCommand) -> RemotingCommand {
        let mut response =
            RemotingCommand::response_to(request, self.response_code(), Some(self.to_string()));
        if let Self::PullForbidden { forbidden_type, .. } = self {
            response
                .ext_fields
                .insert("forbiddenType", forbidden_type.to_string());
        }
        response
    }
}

/// Turns a handler outcome into the response to send.
pub fn respond(
    request: &RemotingCommand,
    outcome: Result<RemotingCommand, BrokerError>,
) -> RemotingCommand {
    outcome.unwrap_or_else(|e| {
        tracing::debug!(code = %request.request_code(), error = %e, "request failed");
        e.into_response(request)
    })
}
