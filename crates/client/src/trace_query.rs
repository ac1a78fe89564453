//! Reading a message's trace: the records clients with message trace on wrote to a trace topic
//! (indexed under the traced message's id), decoded and put in time order.

use apogee_protocol::body::trace::{self, TraceEvent};

use crate::admin::Admin;
use crate::{ClientError, Result};

impl Admin {
    /// The trace events of message `msg_id` in `trace_topic` (RocketMQ's default is
    /// [`trace::TRACE_TOPIC`]), oldest first; empty when the topic does not exist yet.
    pub async fn message_trace(&self, msg_id: &str, trace_topic: &str) -> Result<Vec<TraceEvent>> {
        let found = match self
            .query_message_by_key(trace_topic, msg_id, 0, i64::MAX)
            .await
        {
            Ok(found) => found,
            Err(ClientError::NoRoute { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut events: Vec<TraceEvent> = found
            .iter()
            .flat_map(|m| trace::decode(&String::from_utf8_lossy(&m.body)))
            .filter(|e| e.msg_id == msg_id)
            .collect();
        events.sort_by_key(|e| (e.timestamp.unwrap_or(i64::MAX), step(&e.trace_type)));
        events.dedup();
        Ok(events)
    }
}

/// Where a step goes among steps of the same millisecond.
fn step(kind: &str) -> u8 {
    match kind {
        "Pub" => 0,
        "EndTransaction" => 1,
        "SubBefore" => 2,
        _ => 3,
    }
}
