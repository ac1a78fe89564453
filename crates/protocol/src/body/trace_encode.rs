//! Writing trace records in RocketMQ's layout (the Java client's `TraceDataEncoder`; see
//! [`super::trace`] for the fields), so any RocketMQ tool reads what Apogee's client writes.

use super::trace::{CONTENT_SPLITOR, FIELD_SPLITOR, TraceEvent};

/// `MessageType` names in ordinal order.
const MESSAGE_TYPES: [&str; 5] = [
    "Normal_Msg",
    "Trans_Msg_Half",
    "Trans_msg_Commit",
    "Delay_Msg",
    "Order_Msg",
];

/// Appends `event` as one record (fields joined by `\u{1}`, ended by `\u{2}`). A field that is
/// absent is written empty; text containing a separator has it removed.
pub fn encode_into(event: &TraceEvent, out: &mut String) {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let number = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let flag = |v: Option<bool>| v.unwrap_or(false).to_string();
    let ordinal = || {
        event
            .msg_type
            .as_deref()
            .and_then(|t| MESSAGE_TYPES.iter().position(|n| *n == t))
            .unwrap_or(0)
            .to_string()
    };
    let fields: Vec<String> = match event.trace_type.as_str() {
        "Pub" => vec![
            number(event.timestamp),
            text(&event.region_id),
            text(&event.group_name),
            text(&event.topic),
            event.msg_id.clone(),
            text(&event.tags),
            text(&event.keys),
            text(&event.store_host),
            number(event.body_length),
            number(event.cost_time),
            ordinal(),
            text(&event.offset_msg_id),
            flag(event.success),
            text(&event.client_host),
        ],
        "SubBefore" => vec![
            number(event.timestamp),
            text(&event.region_id),
            text(&event.group_name),
            text(&event.request_id),
            event.msg_id.clone(),
            number(event.retry_times),
            text(&event.keys),
            text(&event.client_host),
        ],
        "SubAfter" => vec![
            text(&event.request_id),
            event.msg_id.clone(),
            number(event.cost_time),
            flag(event.success),
            text(&event.keys),
            number(event.context_code),
            number(event.timestamp),
            text(&event.group_name),
        ],
        _ => vec![
            number(event.timestamp),
            text(&event.region_id),
            text(&event.group_name),
            text(&event.topic),
            event.msg_id.clone(),
            text(&event.tags),
            text(&event.keys),
            text(&event.store_host),
            ordinal(),
            text(&event.transaction_id),
            text(&event.transaction_state),
            flag(event.from_transaction_check),
        ],
    };
    out.push_str(&event.trace_type);
    for field in fields {
        out.push(CONTENT_SPLITOR);
        out.extend(
            field
                .chars()
                .filter(|c| *c != CONTENT_SPLITOR && *c != FIELD_SPLITOR),
        );
    }
    out.push(FIELD_SPLITOR);
}

#[cfg(test)]
mod tests {
    use super::super::trace::decode;
    use super::*;

    fn event(kind: &str) -> TraceEvent {
        TraceEvent {
            trace_type: kind.into(),
            timestamp: Some(1_700_000_000_000),
            region_id: Some("DefaultRegion".into()),
            group_name: Some("G".into()),
            topic: Some("T".into()),
            msg_id: "7F00000100002A9F0000000000000000".into(),
            offset_msg_id: Some("C0A8000100002A9F0000000000000042".into()),
            tags: Some("TagA".into()),
            keys: Some("k1 k2".into()),
            store_host: Some("127.0.0.1:10911".into()),
            body_length: Some(12),
            cost_time: Some(3),
            msg_type: Some("Delay_Msg".into()),
            success: Some(true),
            request_id: Some("req-1".into()),
            retry_times: Some(2),
            context_code: Some(0),
            transaction_id: Some("tx-1".into()),
            transaction_state: Some("COMMIT_MESSAGE".into()),
            from_transaction_check: Some(false),
            client_host: Some("10.0.0.7".into()),
        }
    }

    /// What the decoder keeps of each kind.
    fn kept(e: TraceEvent) -> TraceEvent {
        let mut e = e;
        match e.trace_type.as_str() {
            "Pub" => {
                (e.request_id, e.retry_times, e.context_code) = (None, None, None);
                (
                    e.transaction_id,
                    e.transaction_state,
                    e.from_transaction_check,
                ) = (None, None, None);
            }
            "SubBefore" => {
                (e.topic, e.offset_msg_id, e.tags, e.store_host) = (None, None, None, None);
                (e.body_length, e.cost_time, e.msg_type, e.success) = (None, None, None, None);
                (e.context_code, e.transaction_id, e.transaction_state) = (None, None, None);
                e.from_transaction_check = None;
            }
            "SubAfter" => {
                e.client_host = None;
                (e.region_id, e.topic, e.offset_msg_id, e.tags) = (None, None, None, None);
                (e.store_host, e.body_length, e.msg_type, e.retry_times) = (None, None, None, None);
                (
                    e.transaction_id,
                    e.transaction_state,
                    e.from_transaction_check,
                ) = (None, None, None);
            }
            _ => {
                e.client_host = None;
                (e.offset_msg_id, e.body_length, e.cost_time, e.success) = (None, None, None, None);
                (e.request_id, e.retry_times, e.context_code) = (None, None, None);
            }
        }
        e
    }

    #[test]
    fn given_each_kind_of_record_should_read_back_what_was_written() {
        let kinds = ["Pub", "SubBefore", "SubAfter", "EndTransaction"];
        let mut body = String::new();
        for kind in kinds {
            encode_into(&event(kind), &mut body);
        }
        let read = decode(&body);
        let expected: Vec<TraceEvent> = kinds.iter().map(|k| kept(event(k))).collect();
        assert_eq!(read, expected);
    }

    #[test]
    fn given_separators_inside_a_field_should_keep_the_record_readable() {
        let mut e = event("Pub");
        e.keys = Some("a\u{1}b\u{2}c".into());
        let mut body = String::new();
        encode_into(&e, &mut body);
        assert_eq!(decode(&body)[0].keys.as_deref(), Some("abc"));
    }
}
