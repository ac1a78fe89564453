//! What brokers send to a client over the connections it opened: member changes, transaction
//! checks, offset resets, and the admin calls a broker relays (running info, consume a message
//! directly). Each answers as Java's `ClientRemotingProcessor` does.

use std::sync::Weak;
use std::time::Instant;

use apogee_protocol::body::admin::{
    ConsumeDirectlyOutcome, ConsumeMessageDirectlyResult, ResetOffsetBody, to_java_json,
};
use apogee_protocol::header::admin::{
    ConsumeMessageDirectlyResultRequestHeader, ResetOffsetRequestHeader,
};
use apogee_protocol::header::consumer::ConsumerGroupHeader;
use apogee_protocol::record::{RecordAt, decode_record};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{BoxFuture, Connection, RequestProcessor};

use crate::instance::ClientInstance;
use crate::message::{MessageExt, property};

/// Serves what brokers send to clients.
pub(crate) struct InboundProcessor {
    instance: Weak<ClientInstance>,
}

impl InboundProcessor {
    pub(crate) const CODES: &'static [RequestCode] = &[
        RequestCode::NOTIFY_CONSUMER_IDS_CHANGED,
        RequestCode::CHECK_TRANSACTION_STATE,
        RequestCode::RESET_CONSUMER_CLIENT_OFFSET,
        RequestCode::GET_CONSUMER_RUNNING_INFO,
        RequestCode::CONSUME_MESSAGE_DIRECTLY,
    ];

    pub(crate) fn new(instance: Weak<ClientInstance>) -> Self {
        Self { instance }
    }
}

impl RequestProcessor for InboundProcessor {
    fn process(
        &self,
        connection: Connection,
        request: RemotingCommand,
    ) -> BoxFuture<RemotingCommand> {
        let instance = self.instance.upgrade();
        Box::pin(async move {
            let Some(instance) = instance else {
                return failure(&request, "client is shutting down".into());
            };
            match request.request_code() {
                RequestCode::NOTIFY_CONSUMER_IDS_CHANGED => ids_changed(&instance, &request),
                RequestCode::CHECK_TRANSACTION_STATE => {
                    check_transaction(&instance, &connection, &request)
                }
                RequestCode::RESET_CONSUMER_CLIENT_OFFSET => reset_offsets(&instance, &request),
                RequestCode::GET_CONSUMER_RUNNING_INFO => instance.answer_running_info(&request),
                RequestCode::CONSUME_MESSAGE_DIRECTLY => {
                    consume_directly(&instance, &request).await
                }
                other => RemotingCommand::response_to(
                    &request,
                    ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                    Some(format!("{other} is not supported by this client")),
                ),
            }
        })
    }
}

fn failure(request: &RemotingCommand, remark: String) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::SYSTEM_ERROR, Some(remark))
}

fn ok(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::SUCCESS, None)
}

/// NOTIFY_CONSUMER_IDS_CHANGED (40): the group's members changed; rebalance soon.
fn ids_changed(instance: &ClientInstance, request: &RemotingCommand) -> RemotingCommand {
    if let Ok(h) = request.header::<ConsumerGroupHeader>() {
        tracing::debug!(group = %h.consumer_group, "consumer ids changed");
        if let Some(consumer) = instance.consumer(&h.consumer_group) {
            consumer.ids_changed();
        }
    }
    ok(request)
}

/// CHECK_TRANSACTION_STATE (39): the producer group named in the half message answers in the
/// background (END_TRANSACTION, oneway).
fn check_transaction(
    instance: &ClientInstance,
    connection: &Connection,
    request: &RemotingCommand,
) -> RemotingCommand {
    let group = decode_record(&request.body, 0, false)
        .ok()
        .and_then(|(record, _)| match record {
            RecordAt::Message(r) => r.properties_map().get(property::PGROUP).cloned(),
            RecordAt::Blank { .. } => None,
        });
    match group.as_deref().and_then(|g| instance.producer(g)) {
        Some(p) => p.check_transaction(connection.peer().to_string(), request.clone()),
        None => tracing::warn!(
            ?group,
            "transaction check for a producer group not in this process"
        ),
    }
    ok(request)
}

/// RESET_CONSUMER_CLIENT_OFFSET (220): move the group's offsets on a topic.
fn reset_offsets(instance: &ClientInstance, request: &RemotingCommand) -> RemotingCommand {
    let h = match request.header::<ResetOffsetRequestHeader>() {
        Ok(h) => h,
        Err(e) => return failure(request, format!("bad reset header: {e}")),
    };
    let body =
        match apogee_protocol::body::from_json::<ResetOffsetBody>("reset offset", &request.body) {
            Ok(body) => body,
            Err(e) => return failure(request, format!("bad reset body: {e}")),
        };
    tracing::info!(group = %h.group, topic = %h.topic, timestamp = h.timestamp, "broker resets offsets");
    if let Some(consumer) = instance.consumer(&h.group) {
        consumer.reset_offsets(h.topic, body.offset_table);
    }
    ok(request)
}

/// CONSUME_MESSAGE_DIRECTLY (309): run the group's listener once on the stored message in the
/// body, on a blocking thread, and report how it went (`ConsumeMessageDirectlyResult`). The
/// message is not acknowledged or sent back: this is a diagnosis, as in Java.
async fn consume_directly(instance: &ClientInstance, request: &RemotingCommand) -> RemotingCommand {
    let h = match request.header::<ConsumeMessageDirectlyResultRequestHeader>() {
        Ok(h) => h,
        Err(e) => return failure(request, e.to_string()),
    };
    let record = match decode_record(&request.body, 0, true) {
        Ok((RecordAt::Message(record), _)) => record,
        _ => return failure(request, "the body is not a stored message".into()),
    };
    let msg = MessageExt::from_record(record, h.broker_name.as_deref().unwrap_or_default());
    let Some(call) = instance
        .consumer(&h.consumer_group)
        .and_then(|c| c.consume_directly(msg))
    else {
        return failure(
            request,
            format!(
                "The Consumer Group <{}> not exist in this consumer",
                h.consumer_group
            ),
        );
    };
    let began = Instant::now();
    let mut result = ConsumeMessageDirectlyResult {
        order: call.order,
        ..ConsumeMessageDirectlyResult::default()
    };
    match tokio::task::spawn_blocking(call.run).await {
        Ok(outcome) => result.consume_result = outcome,
        Err(e) => {
            result.consume_result = ConsumeDirectlyOutcome::CrThrowException;
            result.remark = Some(panic_text(e));
        }
    }
    result.spent_time_mills = i64::try_from(began.elapsed().as_millis()).unwrap_or(i64::MAX);
    ok(request).with_body(to_java_json(&result))
}

/// What a listener that panicked said.
fn panic_text(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .map_or_else(|| "the listener panicked".into(), |s| format!("panic: {s}")),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn given_a_panicking_call_should_report_its_message() {
        let e = tokio::task::spawn_blocking(|| panic!("listener broke"))
            .await
            .unwrap_err();
        assert_eq!(panic_text(e), "panic: listener broke");
        let owned = tokio::task::spawn_blocking(|| std::panic::panic_any(String::from("owned")))
            .await
            .unwrap_err();
        assert_eq!(panic_text(owned), "panic: owned");
    }

    #[test]
    fn given_codes_should_serve_the_relayed_calls() {
        assert!(InboundProcessor::CODES.contains(&RequestCode::CONSUME_MESSAGE_DIRECTLY));
        assert!(InboundProcessor::CODES.contains(&RequestCode::GET_CONSUMER_RUNNING_INFO));
    }
}
