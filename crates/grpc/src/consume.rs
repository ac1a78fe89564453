//! ReceiveMessage, AckMessage, ChangeInvisibleDuration and ForwardMessageToDeadLetterQueue on
//! the broker's POP: a receive pops every queue of the topic on this broker (a FIFO group
//! pops orderly), waits up to its long-polling time, and streams a status, the messages (each
//! with its receipt handle: RocketMQ's handle plus the CommitLog offset) and the delivery
//! time. A handle whose invisible time has passed is refused (INVALID_RECEIPT_HANDLE), as the
//! Apache proxy refuses it.

use std::time::Duration;

use apogee_broker::manager::pop_state::QueueKey;
use apogee_broker::messaging::Messaging;
use apogee_broker::ops::pop::{INVISIBLE_MAX_MS, POP_BATCH_MAX, PopOutcome, PopRequest};
use apogee_model::Perm;
use apogee_model::system_topic::dlq_topic;
use apogee_protocol::body::client::SubscriptionData;
use apogee_protocol::header::pop::init_mode;
use apogee_protocol::pop_info::{ExtraInfo, real_topic};
use apogee_protocol::record::{RecordAt, decode_record, encode_properties};

use crate::convert::{self, Delivery, millis_of_duration, timestamp};
use crate::pb;
use crate::status::{self, Failure, fail, ok};

/// Shortest invisible time a receive may ask for (the proxy's is 10 s; 1 s is allowed here).
const INVISIBLE_MIN_MS: i64 = 1_000;
/// Invisible time of an auto-renewed receive (the proxy's).
const AUTO_RENEW_MS: i64 = 60_000;
/// Longest long-polling wait (the proxy's).
const POLL_MAX: Duration = Duration::from_secs(20);
/// Answer this long before the client's deadline.
const DEADLINE_MARGIN: Duration = Duration::from_millis(300);

/// The items of one ReceiveMessage stream.
pub async fn receive(
    messaging: &Messaging,
    request: pb::ReceiveMessageRequest,
    deadline: Option<Duration>,
    fifo: bool,
) -> Vec<pb::ReceiveMessageResponse> {
    let now = messaging.clock.now_ms();
    let items = match pop(messaging, &request, deadline, fifo).await {
        Ok((outcome, topic)) if !outcome.messages.is_empty() => {
            let mut items = vec![status_item(ok())];
            items.extend(
                outcome
                    .messages
                    .iter()
                    .filter_map(|m| message_item(m, &topic, outcome.invisible_ms)),
            );
            items
        }
        Ok(_) => vec![status_item(fail(
            pb::Code::MessageNotFound,
            "no new message",
        ))],
        Err(failure) => vec![status_item(failure)],
    };
    let mut items = items;
    items.push(pb::ReceiveMessageResponse {
        content: Some(pb::receive_message_response::Content::DeliveryTimestamp(
            timestamp(now),
        )),
    });
    items
}

pub fn status_item(status: pb::Status) -> pb::ReceiveMessageResponse {
    pb::ReceiveMessageResponse {
        content: Some(pb::receive_message_response::Content::Status(status)),
    }
}

fn message_item(
    message: &apogee_broker::ops::pop::PoppedMessage,
    topic: &str,
    invisible_ms: i64,
) -> Option<pb::ReceiveMessageResponse> {
    let Ok((RecordAt::Message(record), _)) = decode_record(&message.record, 0, false) else {
        return None;
    };
    let attempts = record.reconsume_times.max(message.attempts);
    let delivery = Delivery {
        topic,
        receipt_handle: Some(message.handle.to_string()),
        invisible_ms: Some(invisible_ms),
        attempts,
    };
    Some(pb::ReceiveMessageResponse {
        content: Some(pb::receive_message_response::Content::Message(
            convert::incoming(&record, &delivery),
        )),
    })
}

async fn pop(
    messaging: &Messaging,
    request: &pb::ReceiveMessageRequest,
    deadline: Option<Duration>,
    fifo: bool,
) -> Result<(PopOutcome, String), Failure> {
    let group = request
        .group
        .as_ref()
        .map(|g| g.name.clone())
        .unwrap_or_default();
    let topic = request
        .message_queue
        .as_ref()
        .and_then(|q| q.topic.as_ref())
        .map(|t| t.name.clone())
        .unwrap_or_default();
    if group.is_empty() {
        return Err(fail(
            pb::Code::IllegalConsumerGroup,
            "consumer group is empty",
        ));
    }
    let invisible_ms = if request.auto_renew {
        AUTO_RENEW_MS
    } else {
        request
            .invisible_duration
            .as_ref()
            .map_or(0, millis_of_duration)
    };
    if !(INVISIBLE_MIN_MS..=INVISIBLE_MAX_MS).contains(&invisible_ms) {
        return Err(fail(
            pb::Code::IllegalInvisibleTime,
            &format!(
                "the invisible time must be within [{INVISIBLE_MIN_MS}, {INVISIBLE_MAX_MS}] ms"
            ),
        ));
    }
    let poll = poll_time(request, deadline)?;
    let filter = request.filter_expression.clone().unwrap_or_default();
    let subscription = subscription(&topic, &filter);
    let max = usize::try_from(request.batch_size.clamp(1, POP_BATCH_MAX)).unwrap_or(1);
    let pop = PopRequest {
        group,
        subscription,
        queue_id: -1,
        max,
        invisible_ms,
        orderly: fifo,
        init_mode: init_mode::MAX,
    };
    let outcome = messaging
        .pop
        .pop(&pop, poll, std::future::pending())
        .await
        .map_err(|e| status::of_broker(&e))?;
    Ok((outcome, topic))
}

/// The request's long-polling time (20 s at most), cut to answer before the call's deadline.
fn poll_time(
    request: &pb::ReceiveMessageRequest,
    deadline: Option<Duration>,
) -> Result<Duration, Failure> {
    let asked = request
        .long_polling_timeout
        .as_ref()
        .map_or(POLL_MAX, |d| {
            Duration::from_millis(u64::try_from(millis_of_duration(d)).unwrap_or(0))
        })
        .min(POLL_MAX);
    let Some(deadline) = deadline else {
        return Ok(asked.saturating_sub(DEADLINE_MARGIN));
    };
    if deadline <= DEADLINE_MARGIN {
        return Err(fail(
            pb::Code::IllegalPollingTime,
            "the call's deadline leaves no time to poll",
        ));
    }
    Ok(asked.min(deadline - DEADLINE_MARGIN))
}

pub fn subscription(topic: &str, filter: &pb::FilterExpression) -> SubscriptionData {
    let expression = if filter.expression.is_empty() {
        "*"
    } else {
        filter.expression.as_str()
    };
    if filter.r#type == pb::FilterType::Sql as i32 {
        let mut sub = SubscriptionData::from_tag_expression(topic, "*", 0);
        sub.expression_type = Some("SQL92".into());
        sub.sub_string = expression.to_owned();
        sub.tags_set.clear();
        sub.code_set.clear();
        return sub;
    }
    SubscriptionData::from_tag_expression(topic, expression, 0)
}

/// A live handle: well formed and its invisible time not yet passed.
fn live_handle(messaging: &Messaging, text: &str) -> Result<ExtraInfo, Failure> {
    let handle = ExtraInfo::parse(text).map_err(|_| {
        fail(
            pb::Code::InvalidReceiptHandle,
            "receipt handle is malformed",
        )
    })?;
    if handle.deadline() <= messaging.clock.now_ms() {
        return Err(fail(
            pb::Code::InvalidReceiptHandle,
            "receipt handle is expired",
        ));
    }
    Ok(handle)
}

fn not_in_flight() -> Failure {
    fail(
        pb::Code::InvalidReceiptHandle,
        "the message is no longer in flight (acked already, or delivered again)",
    )
}

pub fn ack(messaging: &Messaging, request: pb::AckMessageRequest) -> pb::AckMessageResponse {
    let group = request.group.map(|g| g.name).unwrap_or_default();
    let topic = request.topic.map(|t| t.name).unwrap_or_default();
    let entries: Vec<pb::AckMessageResultEntry> = request
        .entries
        .into_iter()
        .take(1024)
        .map(|entry| {
            let status = live_handle(messaging, &entry.receipt_handle)
                .and_then(|handle| {
                    let real = real_topic(&topic, &group, &handle.topic_type);
                    messaging
                        .pop
                        .ack(&group, &real, &handle)
                        .map_err(|_| not_in_flight())
                })
                .err()
                .unwrap_or_else(ok);
            pb::AckMessageResultEntry {
                message_id: entry.message_id,
                receipt_handle: entry.receipt_handle,
                status: Some(status),
            }
        })
        .collect();
    let status = crate::produce::overall(entries.iter().filter_map(|e| e.status.as_ref()));
    pb::AckMessageResponse {
        status: Some(status),
        entries,
    }
}

pub fn change_invisible(
    messaging: &Messaging,
    request: pb::ChangeInvisibleDurationRequest,
) -> pb::ChangeInvisibleDurationResponse {
    let group = request.group.map(|g| g.name).unwrap_or_default();
    let topic = request.topic.map(|t| t.name).unwrap_or_default();
    let invisible_ms = request
        .invisible_duration
        .as_ref()
        .map_or(0, millis_of_duration);
    let changed = if (0..=INVISIBLE_MAX_MS).contains(&invisible_ms) {
        live_handle(messaging, &request.receipt_handle).and_then(|handle| {
            let real = real_topic(&topic, &group, &handle.topic_type);
            messaging
                .pop
                .change_invisible(&group, &real, &handle, invisible_ms)
                .map_err(|_| not_in_flight())
        })
    } else {
        Err(fail(
            pb::Code::IllegalInvisibleTime,
            "invisible time out of [0, 12 h]",
        ))
    };
    match changed {
        Ok(handle) => pb::ChangeInvisibleDurationResponse {
            status: Some(ok()),
            receipt_handle: handle.to_string(),
        },
        Err(status) => pb::ChangeInvisibleDurationResponse {
            status: Some(status),
            receipt_handle: String::new(),
        },
    }
}

/// The client gave up on a message: a copy goes to `%DLQ%{group}` and the handle is acked.
pub async fn forward_to_dlq(
    messaging: &Messaging,
    request: pb::ForwardMessageToDeadLetterQueueRequest,
) -> pb::ForwardMessageToDeadLetterQueueResponse {
    let status = match dead_letter(messaging, &request).await {
        Ok(()) => ok(),
        Err(status) => status,
    };
    pb::ForwardMessageToDeadLetterQueueResponse {
        status: Some(status),
    }
}

async fn dead_letter(
    messaging: &Messaging,
    request: &pb::ForwardMessageToDeadLetterQueueRequest,
) -> Result<(), Failure> {
    let group = request
        .group
        .as_ref()
        .map(|g| g.name.clone())
        .unwrap_or_default();
    let topic = request
        .topic
        .as_ref()
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let handle = live_handle(messaging, &request.receipt_handle)?;
    let real = real_topic(&topic, &group, &handle.topic_type);
    // The CommitLog offset comes from the broker's own record of the popped message, never
    // from the client's handle.
    let key = QueueKey::new(&group, &real, handle.queue_id);
    let offset = messaging
        .pop
        .states
        .commit_log_offset(&key, handle.offset(), handle.pop_time)
        .ok_or_else(not_in_flight)?;
    let records = std::sync::Arc::clone(&messaging.end_transaction.records);
    let record = tokio::task::spawn_blocking(move || records.record_at(offset))
        .await
        .ok()
        .flatten()
        .filter(|r| r.topic_str() == real)
        .ok_or_else(|| fail(pb::Code::MessageNotFound, "the message is no longer stored"))?;
    let mut props = record.properties_map();
    props.insert("DLQ_ORIGIN_TOPIC".into(), topic.clone());
    props.insert("DLQ_ORIGIN_MESSAGE_ID".into(), request.message_id.clone());
    let dlq = dlq_topic(&group);
    messaging
        .topics
        .ensure(&dlq, 1, Perm::READ_WRITE.0)
        .map_err(|e| status::of_broker(&e))?;
    let mut message = apogee_broker::ops::reput::copy_of(
        &record,
        (&dlq, 0),
        encode_properties(&props),
        messaging.identity.store_host,
    );
    message.reconsume_times = request.delivery_attempt.max(record.reconsume_times);
    message.prepared_transaction_offset = 0;
    messaging
        .put
        .put(vec![message], &dlq)
        .await
        .map_err(|e| status::of_broker(&e))?;
    let _ = messaging.pop.ack(&group, &real, &handle);
    Ok(())
}
