//! The producer's `Pub` trace records (see `trace_writer`).

use std::time::Instant;

use apogee_protocol::body::trace::TraceEvent;
use apogee_protocol::header::transaction::EndTransactionRequestHeader;

use super::ProducerInner;
use crate::instance::now_ms;
use crate::message::{Message, SendResult, SendStatus, property};

impl ProducerInner {
    /// Records a completed send, unless tracing is off or the send carried traces itself.
    pub(super) fn trace_send(
        &self,
        msg: &Message,
        result: &SendResult,
        (addr, region): (&str, Option<String>),
        started: Instant,
    ) {
        let Some(trace) = &self.trace else {
            return;
        };
        if msg.topic == trace.topic {
            return;
        }
        let cost = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        trace.record(TraceEvent {
            trace_type: "Pub".into(),
            timestamp: Some(now_ms() - cost),
            region_id: Some(region.unwrap_or_else(|| "DefaultRegion".into())),
            group_name: Some(self.config.group.clone()),
            topic: Some(msg.topic.clone()),
            msg_id: result.msg_id.clone(),
            offset_msg_id: Some(result.offset_msg_id.clone()).filter(|id| !id.is_empty()),
            tags: msg.tags().map(str::to_owned),
            keys: msg.keys().map(str::to_owned),
            store_host: Some(addr.to_owned()),
            body_length: i64::try_from(msg.body.len()).ok(),
            cost_time: Some(cost),
            msg_type: Some(message_type(msg).into()),
            success: Some(result.status == SendStatus::SendOk),
            client_host: Some(self.instance.client_ip().to_string()),
            ..TraceEvent::default()
        });
    }
}

impl ProducerInner {
    /// Records a transaction verdict sent to the broker (`EndTransaction`).
    pub(super) fn trace_end_transaction(&self, header: &EndTransactionRequestHeader, addr: &str) {
        let Some(trace) = &self.trace else {
            return;
        };
        let state = match header.commit_or_rollback {
            8 => "COMMIT_MESSAGE",
            12 => "ROLLBACK_MESSAGE",
            _ => "UNKNOW",
        };
        trace.record(TraceEvent {
            trace_type: "EndTransaction".into(),
            timestamp: Some(now_ms()),
            region_id: Some("DefaultRegion".into()),
            group_name: Some(self.config.group.clone()),
            topic: header.topic.clone(),
            msg_id: header.msg_id.clone(),
            store_host: Some(addr.to_owned()),
            msg_type: Some("Trans_msg_Commit".into()),
            transaction_id: header.transaction_id.clone(),
            transaction_state: Some(state.into()),
            from_transaction_check: header.from_transaction_check,
            ..TraceEvent::default()
        });
    }
}

/// RocketMQ's `MessageType` name of a message being sent.
fn message_type(msg: &Message) -> &'static str {
    if msg.property(property::TRAN_MSG) == Some("true") {
        "Trans_Msg_Half"
    } else if [
        property::DELAY,
        "TIMER_DELIVER_MS",
        "TIMER_DELAY_SEC",
        "TIMER_DELAY_MS",
    ]
    .iter()
    .any(|k| msg.property(k).is_some())
    {
        "Delay_Msg"
    } else {
        "Normal_Msg"
    }
}
