//! The calls the broker relays to one consumer client, found among the clients that sent
//! heartbeats by (`consumerGroup`, `clientId`), like CHECK_TRANSACTION_STATE:
//!
//! * GET_CONSUMER_RUNNING_INFO (307): relayed as it came; the answer is the client's
//!   `ConsumerRunningInfo` JSON.
//! * CONSUME_MESSAGE_DIRECTLY (309): the broker adds its `brokerName` and the topic's and
//!   group's sys flags, and puts the stored message named by `msgId` (an offset message id)
//!   into the body; the answer is the client's `ConsumeMessageDirectlyResult`.
//!
//! The client's answer is relayed unchanged: code, remark, ext fields and body. Java's
//! remarks: client offline → SYSTEM_ERROR "The Consumer <group> <id> not online"; no answer
//! in time → CONSUME_MSG_TIMEOUT "consumer <group> <id> Timeout: …". Where Java throws on a
//! message id that names no message, Apogee answers SYSTEM_ERROR with the reason.

use std::sync::Arc;
use std::time::Duration;

use apogee_protocol::header::admin::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
};
use apogee_protocol::message_id::decode_offset_msg_id;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{Connection, RemotingError};
use apogee_store::RecordReader;

use super::{Handler, Identity, blocking};
use crate::BrokerError;
use crate::manager::client_registry::ClientRegistry;
use crate::manager::other_calls::OtherClients;
use crate::manager::subscription_group::SubscriptionGroups;
use crate::manager::topic_config::TopicConfigs;

/// How long the client has to answer (Java's `Broker2Client.callClient`: 10 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The calls relayed to consumer clients.
pub struct ConsumerCallProcessor {
    pub clients: ClientRegistry,
    pub store: Arc<dyn RecordReader>,
    pub topics: TopicConfigs,
    pub groups: SubscriptionGroups,
    pub identity: Identity,
    /// v5 clients: CONSUME_MESSAGE_DIRECTLY reaches them as a verify-message command.
    pub others: OtherClients,
}

impl Handler for ConsumerCallProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::GET_CONSUMER_RUNNING_INFO,
        RequestCode::CONSUME_MESSAGE_DIRECTLY,
    ];

    async fn handle(
        &self,
        _connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let mut forward = RemotingCommand::bare_request(request.request_code());
        forward.ext_fields = request.ext_fields.clone();
        let (group, id) = if request.request_code() == RequestCode::CONSUME_MESSAGE_DIRECTLY {
            let h: ConsumeMessageDirectlyResultRequestHeader = request.header()?;
            forward.body = self.stored_message(h.msg_id.as_deref()).await?;
            let id = h.client_id.clone().unwrap_or_default();
            if self
                .clients
                .consumer_channel(&h.consumer_group, &id)
                .is_none()
            {
                let topic = h.topic.clone().unwrap_or_default();
                if let Some(pending) =
                    self.others
                        .consume_directly(&id, &topic, forward.body.clone())
                {
                    return Ok(verified(request, pending, (&h.consumer_group, &id)).await);
                }
            }
            self.add_relay_fields(&mut forward, &h);
            (h.consumer_group, h.client_id.unwrap_or_default())
        } else {
            let h: GetConsumerRunningInfoRequestHeader = request.header()?;
            forward.body = request.body.clone();
            (h.consumer_group, h.client_id)
        };
        self.relay(request, forward, &group, &id).await
    }
}

impl ConsumerCallProcessor {
    /// The stored bytes of the message `msg_id` names (read off the network worker).
    async fn stored_message(&self, msg_id: Option<&str>) -> Result<bytes::Bytes, BrokerError> {
        let msg_id = msg_id.unwrap_or_default();
        let Some((_, offset)) = decode_offset_msg_id(msg_id) else {
            return Err(BrokerError::SystemError(format!(
                "msgId <{msg_id}> is not an offset message id"
            )));
        };
        let store = Arc::clone(&self.store);
        blocking(move || {
            store
                .lookup_record(offset)
                .and_then(|r| store.record_bytes_at(offset, r.encoded_len()))
        })
        .await?
        .ok_or_else(|| {
            BrokerError::SystemError(format!("can not find message by the msgId <{msg_id}>"))
        })
    }

    /// What Java's broker adds before relaying 309: its name, and the topic's and group's
    /// sys flags when it knows them.
    fn add_relay_fields(
        &self,
        forward: &mut RemotingCommand,
        h: &ConsumeMessageDirectlyResultRequestHeader,
    ) {
        let ext = &mut forward.ext_fields;
        ext.insert("brokerName", self.identity.broker_name.clone());
        if let Some(topic) = h.topic.as_deref().and_then(|t| self.topics.get(t)) {
            ext.insert("topicSysFlag", topic.topic_sys_flag.to_string());
        }
        if let Some(group) = self.groups.get(&h.consumer_group) {
            ext.insert("groupSysFlag", group.group_sys_flag.to_string());
        }
    }

    /// Sends `forward` to the client and answers `request` with what it said.
    async fn relay(
        &self,
        request: &RemotingCommand,
        forward: RemotingCommand,
        group: &str,
        id: &str,
    ) -> Result<RemotingCommand, BrokerError> {
        let channel = self.clients.consumer_channel(group, id).ok_or_else(|| {
            BrokerError::SystemError(format!("The Consumer <{group}> <{id}> not online"))
        })?;
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

/// The answer to CONSUME_MESSAGE_DIRECTLY for a v5 client: its verify-message reply as a
/// `ConsumeMessageDirectlyResult` (CR_SUCCESS, or CR_THROW_EXCEPTION with its reason), or
/// CONSUME_MSG_TIMEOUT.
async fn verified(
    request: &RemotingCommand,
    pending: crate::manager::other_calls::Pending,
    (group, id): (&str, &str),
) -> RemotingCommand {
    let started = std::time::Instant::now();
    let (result, remark) = match tokio::time::timeout(CALL_TIMEOUT, pending).await {
        Ok(Ok(())) => ("CR_SUCCESS", String::from("verified by the v5 client")),
        Ok(Err(reason)) => ("CR_THROW_EXCEPTION", reason),
        Err(_) => {
            return RemotingCommand::response_to(
                request,
                ResponseCode::CONSUME_MSG_TIMEOUT,
                Some(format!(
                    "consumer <{group}> <{id}> Timeout: no verify-message result"
                )),
            );
        }
    };
    let body = serde_json::json!({
        "order": false,
        "autoCommit": true,
        "consumeResult": result,
        "remark": remark,
        "spentTimeMills": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    });
    RemotingCommand::response_to(request, ResponseCode::SUCCESS, None)
        .with_body(body.to_string().into_bytes())
}
