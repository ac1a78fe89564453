//! Recalling a delay message before its delivery time (RecallMessage, v2.0.4): a send of a
//! delay message answers a recall handle, URL-safe Base64 of
//! `v1 {topic} {brokerName} {deliverMs} {messageId}` as RocketMQ 5.3's `RecallMessageHandle`
//! shapes it (verified against apache/rocketmq); recalling stores
//! the timer cancellation RocketMQ uses (`TIMER_DEL_UNIQKEY = {topic}+{messageId}` at the same
//! delivery time), so the timer service drops the message instead of delivering it.

use std::net::SocketAddr;

use apogee_broker::messaging::Messaging;
use apogee_protocol::header::message::SendMessageRequestHeader;
use apogee_protocol::{Properties, property};
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use bytes::Bytes;

use crate::pb;
use crate::status::{self, Failure, fail, ok};

/// Longest recall handle read.
const HANDLE_BYTES_MAX: usize = 1024;

/// The recall handle of a delay message sent to `topic` on this broker.
pub fn handle(messaging: &Messaging, topic: &str, deliver_ms: i64, message_id: &str) -> String {
    encode(
        topic,
        &messaging.identity.broker_name,
        deliver_ms,
        message_id,
    )
}

fn encode(topic: &str, broker: &str, deliver_ms: i64, message_id: &str) -> String {
    URL_SAFE.encode(format!("v1 {topic} {broker} {deliver_ms} {message_id}"))
}

/// (topic, delivery time, message id) of a handle broker `own` gave.
fn decode(own: &str, text: &str) -> Option<(String, i64, String)> {
    if text.len() > HANDLE_BYTES_MAX {
        return None;
    }
    let text = text.trim();
    let bytes = URL_SAFE
        .decode(text)
        .or_else(|_| URL_SAFE_NO_PAD.decode(text))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let parts: Vec<&str> = text.split(' ').collect();
    let [version, topic, broker, deliver_ms, id] = parts[..] else {
        return None;
    };
    if version != "v1" || broker != own || id.is_empty() {
        return None;
    }
    Some((topic.to_owned(), deliver_ms.parse().ok()?, id.to_owned()))
}

pub async fn recall(
    messaging: &Messaging,
    request: pb::RecallMessageRequest,
    peer: SocketAddr,
) -> pb::RecallMessageResponse {
    match cancel(messaging, &request, peer).await {
        Ok(message_id) => pb::RecallMessageResponse {
            status: Some(ok()),
            message_id,
        },
        Err(status) => pb::RecallMessageResponse {
            status: Some(status),
            message_id: String::new(),
        },
    }
}

async fn cancel(
    messaging: &Messaging,
    request: &pb::RecallMessageRequest,
    peer: SocketAddr,
) -> Result<String, Failure> {
    let topic = request
        .topic
        .as_ref()
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let own = &messaging.identity.broker_name;
    let (handle_topic, deliver_ms, id) = decode(own, &request.recall_handle)
        .filter(|(t, _, _)| *t == topic)
        .ok_or_else(|| fail(pb::Code::BadRequest, "recall handle is invalid"))?;
    if deliver_ms <= messaging.clock.now_ms() {
        return Err(fail(
            pb::Code::MessageNotFound,
            "the message was delivered already: too late to recall it",
        ));
    }
    let mut props = Properties::default();
    props.push(property::TIMER_DELIVER_MS, &deliver_ms.to_string());
    props.push(property::TIMER_DEL_UNIQKEY, &format!("{handle_topic}+{id}"));
    props.push(property::UNIQ_KEY, &id);
    let header = SendMessageRequestHeader {
        producer_group: String::new(),
        topic: handle_topic,
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 8,
        queue_id: 0,
        sys_flag: 0,
        born_timestamp: messaging.clock.now_ms(),
        flag: 0,
        properties: Some(props.into_string()),
        reconsume_times: None,
        unit_mode: None,
        max_reconsume_times: None,
        batch: None,
        broker_name: None,
    };
    messaging
        .send
        .send(&header, &Bytes::from_static(b"recall"), false, peer)
        .await
        .map_err(|e| status::of_broker(&e))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_decodes_on_its_broker_only() {
        let handle = encode("Orders", "broker-a", 1_700_000_000_000, "01AB");
        assert_eq!(
            decode("broker-a", &handle),
            Some(("Orders".into(), 1_700_000_000_000, "01AB".into()))
        );
        assert_eq!(decode("broker-b", &handle), None);
        assert_eq!(
            decode("broker-a", handle.trim_end_matches('=')).map(|d| d.2),
            Some("01AB".into())
        );
        for bad in [
            "",
            "!!!",
            &URL_SAFE.encode("v2 T b 1 id"),
            &URL_SAFE.encode("v1 T broker-a x id"),
        ] {
            assert_eq!(decode("broker-a", bad), None, "{bad}");
        }
    }
}
