//! v5 statuses: every refusal travels in-band as a `Status` (gRPC status OK), as the Apache
//! proxy answers; broker errors map onto the v5 codes here, in one place.

use apogee_broker::BrokerError;
use apogee_protocol::ResponseCode;

use crate::pb;

/// A refusal, ready to put in a response.
pub type Failure = pb::Status;

pub fn fail(code: pb::Code, message: &str) -> Failure {
    pb::Status {
        code: code as i32,
        message: message.to_owned(),
    }
}

pub fn ok() -> pb::Status {
    fail(pb::Code::Ok, "OK")
}

pub fn is_ok(status: &pb::Status) -> bool {
    status.code == pb::Code::Ok as i32
}

/// The v5 code for a broker refusal.
pub fn of_broker(error: &BrokerError) -> Failure {
    let text = error.to_string();
    let code = match error.response_code() {
        ResponseCode::TOPIC_NOT_EXIST => pb::Code::TopicNotFound,
        ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST => pb::Code::ConsumerGroupNotFound,
        ResponseCode::NO_PERMISSION => pb::Code::Forbidden,
        ResponseCode::MESSAGE_ILLEGAL if text.contains("body size") => {
            pb::Code::MessageBodyTooLarge
        }
        ResponseCode::MESSAGE_ILLEGAL if text.contains("properties") => {
            pb::Code::MessagePropertiesTooLarge
        }
        ResponseCode::MESSAGE_ILLEGAL | ResponseCode::INVALID_PARAMETER => pb::Code::BadRequest,
        ResponseCode::SUBSCRIPTION_PARSE_FAILED => pb::Code::IllegalFilterExpression,
        ResponseCode::SYSTEM_BUSY | ResponseCode::POLLING_FULL => pb::Code::TooManyRequests,
        ResponseCode::SERVICE_NOT_AVAILABLE => pb::Code::InternalServerError,
        _ => pb::Code::InternalError,
    };
    fail(code, &text)
}

/// The v5 code for a stored message's send answer (stored, maybe not yet durable).
pub fn of_send(code: ResponseCode) -> Failure {
    match code {
        ResponseCode::SUCCESS => ok(),
        ResponseCode::FLUSH_DISK_TIMEOUT => {
            fail(pb::Code::MasterPersistenceTimeout, "flush disk timeout")
        }
        ResponseCode::FLUSH_SLAVE_TIMEOUT => {
            fail(pb::Code::SlavePersistenceTimeout, "flush slave timeout")
        }
        ResponseCode::SLAVE_NOT_AVAILABLE => fail(pb::Code::HaNotAvailable, "slave not available"),
        other => fail(pb::Code::InternalError, &format!("send answered {other:?}")),
    }
}
