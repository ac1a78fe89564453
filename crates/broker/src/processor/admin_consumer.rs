//! GET_CONSUMER_RUNNING_INFO (307): the broker finds the connection of (`consumerGroup`,
//! `clientId`) among the clients that sent heartbeats, sends the same request to that client
//! (a broker → client call, like CHECK_TRANSACTION_STATE) and relays its answer: code, remark,
//! ext fields and body (the client's `ConsumerRunningInfo` JSON). Java's remarks: client
//! offline → SYSTEM_ERROR "The Consumer <group> <id> not online"; no answer in time →
//! CONSUME_MSG_TIMEOUT "consumer <group> <id> Timeout: …".

use std::time::Duration;

use apogee_protocol::header::admin::GetConsumerRunningInfoRequestHeader;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{Connection, RemotingError};

use super::Handler;
use crate::BrokerError;
use crate::manager::client_registry::ClientRegistry;

/// How long the client has to answer (Java's `Broker2Client.callClient`: 10 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The calls relayed to consumer clients.
pub struct ConsumerCallProcessor {
    pub clients: ClientRegistry,
}

impl Handler for ConsumerCallProcessor {
    const CODES: &'static [RequestCode] = &[RequestCode::GET_CONSUMER_RUNNING_INFO];

    async fn handle(
        &self,
        _connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let h: GetConsumerRunningInfoRequestHeader = request.header()?;
        let (group, id) = (&h.consumer_group, &h.client_id);
        let channel = self.clients.consumer_channel(group, id).ok_or_else(|| {
            BrokerError::SystemError(format!("The Consumer <{group}> <{id}> not online"))
        })?;
        let mut forward = RemotingCommand::bare_request(request.request_code());
        forward.ext_fields = request.ext_fields.clone();
        forward.body = request.body.clone();
        match channel.connection.invoke(forward, CALL_TIMEOUT).await {
            Ok(answer) => {
                let mut response = RemotingCommand::response_to(
                    request,
                    answer.response_code(),
                    answer.remark.clone(),
                );
                response.ext_fields = answer.ext_fields;
                Ok(response.with_body(answer.body))
            }
            Err(e @ RemotingError::Timeout { .. }) => Ok(RemotingCommand::response_to(
                request,
                ResponseCode::CONSUME_MSG_TIMEOUT,
                Some(format!("consumer <{group}> <{id}> Timeout: {e}")),
            )),
            Err(e) => Err(BrokerError::SystemError(format!(
                "invoke consumer <{group}> <{id}> Exception: {e}"
            ))),
        }
    }
}
