//! SendMessage and EndTransaction: each v5 message goes through the broker's own send (the
//! same checks, redirects, flush and replica waits as a remoting send); a transaction id is
//! the half message's offset message id, so a verdict finds its half message by offset.

use apogee_broker::messaging::Messaging;
use apogee_protocol::header::transaction::EndTransactionRequestHeader;
use apogee_protocol::message_id::decode_offset_msg_id;
use apogee_protocol::property;
use apogee_protocol::record::find_property;
use std::net::SocketAddr;

use crate::convert::{self, V5_PRODUCER_GROUP};
use crate::status::{self, Failure, fail, is_ok, ok};
use crate::{pb, recall};

/// Most messages one SendMessage may carry.
const MESSAGES_MAX: usize = 1024;

pub async fn send(
    messaging: &Messaging,
    request: pb::SendMessageRequest,
    peer: SocketAddr,
) -> pb::SendMessageResponse {
    if request.messages.is_empty() || request.messages.len() > MESSAGES_MAX {
        let status = fail(pb::Code::BadRequest, "a send carries 1 to 1024 messages");
        return pb::SendMessageResponse {
            status: Some(status),
            entries: Vec::new(),
        };
    }
    let mut entries = Vec::with_capacity(request.messages.len());
    for message in request.messages {
        entries.push(send_one(messaging, message, peer).await);
    }
    let status = overall(entries.iter().filter_map(|e| e.status.as_ref()));
    pb::SendMessageResponse {
        status: Some(status),
        entries,
    }
}

async fn send_one(
    messaging: &Messaging,
    message: pb::Message,
    peer: SocketAddr,
) -> pb::SendResultEntry {
    let topic = message
        .topic
        .as_ref()
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let queues = messaging
        .topics
        .get(&topic)
        .map_or(8, |c| c.write_queue_nums);
    let failed = |status: Failure, id: String| pb::SendResultEntry {
        status: Some(status),
        message_id: id,
        ..pb::SendResultEntry::default()
    };
    let outgoing = match convert::outgoing(message, queues) {
        Ok(outgoing) => outgoing,
        Err(status) => return failed(status, String::new()),
    };
    match messaging
        .send
        .send(&outgoing.header, &outgoing.body, false, peer)
        .await
    {
        Ok(sent) => {
            let recall_handle = outgoing
                .deliver_ms
                .map(|at| {
                    recall::handle(messaging, &outgoing.header.topic, at, &outgoing.message_id)
                })
                .unwrap_or_default();
            pb::SendResultEntry {
                status: Some(status::of_send(sent.code)),
                message_id: outgoing.message_id,
                transaction_id: if outgoing.transactional {
                    sent.offset_msg_id
                } else {
                    String::new()
                },
                offset: sent.queue_offset,
                recall_handle,
            }
        }
        Err(e) => failed(status::of_broker(&e), outgoing.message_id),
    }
}

/// OK when every entry is, the one status when there is one, else MULTIPLE_RESULTS.
pub fn overall<'a>(mut statuses: impl Iterator<Item = &'a pb::Status> + Clone) -> pb::Status {
    if statuses.clone().all(is_ok) {
        return ok();
    }
    let first = statuses.next().cloned().unwrap_or_else(ok);
    if statuses.next().is_none() {
        return first;
    }
    fail(
        pb::Code::MultipleResults,
        "the entries have different statuses",
    )
}

pub async fn end_transaction(
    messaging: &Messaging,
    request: pb::EndTransactionRequest,
) -> pb::EndTransactionResponse {
    let status = match verdict(messaging, &request).await {
        Ok(()) => ok(),
        Err(status) => status,
    };
    pb::EndTransactionResponse {
        status: Some(status),
    }
}

async fn verdict(
    messaging: &Messaging,
    request: &pb::EndTransactionRequest,
) -> Result<(), Failure> {
    let invalid = || fail(pb::Code::InvalidTransactionId, "unknown transaction id");
    let (_, offset) = decode_offset_msg_id(&request.transaction_id).ok_or_else(invalid)?;
    let half = messaging
        .end_transaction
        .records
        .lookup_record(offset)
        .ok_or_else(invalid)?;
    let properties = String::from_utf8_lossy(&half.properties).into_owned();
    let group = find_property(&properties, property::PRODUCER_GROUP)
        .unwrap_or(V5_PRODUCER_GROUP)
        .to_owned();
    let commit_or_rollback = match pb::TransactionResolution::try_from(request.resolution) {
        Ok(pb::TransactionResolution::Commit) => 8,
        Ok(pb::TransactionResolution::Rollback) => 12,
        _ => 0,
    };
    let header = EndTransactionRequestHeader {
        topic: request.topic.as_ref().map(|t| t.name.clone()),
        producer_group: group,
        tran_state_table_offset: half.queue_offset,
        commit_log_offset: offset,
        commit_or_rollback,
        from_transaction_check: Some(
            request.source == pb::TransactionSource::SourceServerCheck as i32,
        ),
        msg_id: request.message_id.clone(),
        transaction_id: Some(request.transaction_id.clone()),
        broker_name: None,
    };
    messaging
        .end_transaction
        .end(&header)
        .await
        .map_err(|e| status::of_broker(&e))
}
