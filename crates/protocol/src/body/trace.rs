//! Message trace data as RocketMQ clients write it to the trace topic (`RMQ_SYS_TRACE_TOPIC` by
//! default) when `enableMsgTrace` is on: records separated by `\u{2}`, fields by `\u{1}`, each
//! record starting with its type. The layouts (Java client 4.9/5.x; older clients write fewer
//! trailing fields, read as absent):
//!
//! ```text
//! Pub            time region group topic msgId tags keys storeHost bodyLength costTime msgType [offsetMsgId] success [clientHost]
//! SubBefore      time region group requestId msgId retryTimes keys
//! SubAfter       requestId msgId costTime success keys [contextCode [time [group]]]
//! EndTransaction time region group topic msgId tags keys storeHost msgType transactionId state fromCheck
//! ```
//!
//! Each trace message is indexed under the traced message's id (and its keys), so a QUERY_MESSAGE
//! on the trace topic by message id finds them. Trace data is written by clients: it is read
//! here as hostile text (unknown types and short or malformed records are skipped, sizes
//! bounded).

use serde::Serialize;

/// Between the fields of a record.
pub const CONTENT_SPLITOR: char = '\u{1}';
/// After each record.
pub const FIELD_SPLITOR: char = '\u{2}';
/// The trace topic's default name.
pub const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// Records read from one body at most.
const RECORDS_MAX: usize = 1024;

/// One step in a message's life, as a client reported it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceEvent {
    /// `Pub`, `SubBefore`, `SubAfter` or `EndTransaction`.
    pub trace_type: String,
    /// Milliseconds since the epoch (absent for an old client's `SubAfter`).
    pub timestamp: Option<i64>,
    pub region_id: Option<String>,
    /// The producer or consumer group.
    pub group_name: Option<String>,
    pub topic: Option<String>,
    pub msg_id: String,
    pub offset_msg_id: Option<String>,
    pub tags: Option<String>,
    pub keys: Option<String>,
    pub store_host: Option<String>,
    pub client_host: Option<String>,
    pub body_length: Option<i64>,
    /// Send or consume time in milliseconds.
    pub cost_time: Option<i64>,
    /// RocketMQ's `MessageType`: `Normal_Msg`, `Trans_Msg_Half`, `Trans_msg_Commit`,
    /// `Delay_Msg`, `Order_Msg`.
    pub msg_type: Option<String>,
    pub success: Option<bool>,
    /// Ties a `SubBefore` to its `SubAfter`.
    pub request_id: Option<String>,
    pub retry_times: Option<i64>,
    /// `ConsumeReturnType` ordinal of a `SubAfter` (success, timeout, exception, null, failed).
    pub context_code: Option<i64>,
    pub transaction_id: Option<String>,
    pub transaction_state: Option<String>,
    pub from_transaction_check: Option<bool>,
}

fn text(fields: &[&str], i: usize) -> Option<String> {
    fields
        .get(i)
        .filter(|f| !f.is_empty() && **f != "null")
        .map(|f| (*f).to_owned())
}

fn number(fields: &[&str], i: usize) -> Option<i64> {
    fields.get(i).and_then(|f| f.trim().parse().ok())
}

fn flag(fields: &[&str], i: usize) -> Option<bool> {
    fields.get(i).map(|f| f.eq_ignore_ascii_case("true"))
}

fn message_type(ordinal: Option<i64>) -> Option<String> {
    let names = [
        "Normal_Msg",
        "Trans_Msg_Half",
        "Trans_msg_Commit",
        "Delay_Msg",
        "Order_Msg",
    ];
    ordinal
        .and_then(|o| usize::try_from(o).ok())
        .and_then(|o| names.get(o))
        .map(|n| (*n).to_owned())
}

fn publish(f: &[&str]) -> Option<TraceEvent> {
    if f.len() < 13 {
        return None;
    }
    // 13 fields: no offset id; 14 or more: offset id, success, then the client host.
    let (offset_msg_id, success) = if f.len() == 13 {
        (None, flag(f, 12))
    } else {
        (text(f, 12), flag(f, 13))
    };
    Some(TraceEvent {
        timestamp: number(f, 1),
        region_id: text(f, 2),
        group_name: text(f, 3),
        topic: text(f, 4),
        msg_id: text(f, 5)?,
        tags: text(f, 6),
        keys: text(f, 7),
        store_host: text(f, 8),
        body_length: number(f, 9),
        cost_time: number(f, 10),
        msg_type: message_type(number(f, 11)),
        offset_msg_id,
        success,
        client_host: text(f, 14),
        ..TraceEvent::default()
    })
}

fn before(f: &[&str]) -> Option<TraceEvent> {
    (f.len() >= 8).then_some(())?;
    Some(TraceEvent {
        timestamp: number(f, 1),
        region_id: text(f, 2),
        group_name: text(f, 3),
        request_id: text(f, 4),
        msg_id: text(f, 5)?,
        retry_times: number(f, 6),
        keys: text(f, 7),
        client_host: text(f, 8),
        ..TraceEvent::default()
    })
}

fn after(f: &[&str]) -> Option<TraceEvent> {
    (f.len() >= 6).then_some(())?;
    Some(TraceEvent {
        request_id: text(f, 1),
        msg_id: text(f, 2)?,
        cost_time: number(f, 3),
        success: flag(f, 4),
        keys: text(f, 5),
        context_code: number(f, 6),
        timestamp: number(f, 7),
        group_name: text(f, 8),
        ..TraceEvent::default()
    })
}

fn end_transaction(f: &[&str]) -> Option<TraceEvent> {
    (f.len() >= 13).then_some(())?;
    Some(TraceEvent {
        timestamp: number(f, 1),
        region_id: text(f, 2),
        group_name: text(f, 3),
        topic: text(f, 4),
        msg_id: text(f, 5)?,
        tags: text(f, 6),
        keys: text(f, 7),
        store_host: text(f, 8),
        msg_type: message_type(number(f, 9)),
        transaction_id: text(f, 10),
        transaction_state: text(f, 11),
        from_transaction_check: flag(f, 12),
        ..TraceEvent::default()
    })
}

/// Every record of a trace message's body that can be read.
pub fn decode(body: &str) -> Vec<TraceEvent> {
    body.split(FIELD_SPLITOR)
        .take(RECORDS_MAX)
        .filter_map(|record| {
            let fields: Vec<&str> = record.split(CONTENT_SPLITOR).take(32).collect();
            let kind = *fields.first()?;
            let event = match kind {
                "Pub" => publish(&fields),
                "SubBefore" => before(&fields),
                "SubAfter" => after(&fields),
                "EndTransaction" => end_transaction(&fields),
                _ => None,
            }?;
            Some(TraceEvent {
                trace_type: kind.to_owned(),
                ..event
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record from `|`-separated fields, as a client writes it.
    fn record(fields: &str) -> String {
        let mut s = fields.replace('|', &CONTENT_SPLITOR.to_string());
        s.push(FIELD_SPLITOR);
        s
    }

    #[test]
    fn given_a_java_clients_records_should_read_every_type() {
        let body = [
            record("Pub|1700000000000|DefaultRegion|PG|Orders|ID1|TagA|k1|10.0.0.1:10911|12|3|0|OFF1|true|10.0.0.9"),
            record("SubBefore|1700000000100|DefaultRegion|CG|REQ|ID1|0|k1"),
            record("SubAfter|REQ|ID1|7|false|k1|4|1700000000107|CG"),
            record("EndTransaction|1700000000050|DefaultRegion|PG|Orders|ID1|TagA|k1|10.0.0.1:10911|1|TX|COMMIT_MESSAGE|false"),
        ]
        .concat();
        let events = decode(&body);
        assert_eq!(events.len(), 4);
        let p = &events[0];
        assert_eq!(
            (p.trace_type.as_str(), p.msg_id.as_str(), p.timestamp),
            ("Pub", "ID1", Some(1_700_000_000_000))
        );
        assert_eq!(
            (
                p.offset_msg_id.as_deref(),
                p.success,
                p.client_host.as_deref()
            ),
            (Some("OFF1"), Some(true), Some("10.0.0.9"))
        );
        assert_eq!(
            (p.msg_type.as_deref(), p.cost_time, p.body_length),
            (Some("Normal_Msg"), Some(3), Some(12))
        );
        assert_eq!(
            (events[1].group_name.as_deref(), events[1].retry_times),
            (Some("CG"), Some(0))
        );
        let a = &events[2];
        assert_eq!(
            (a.success, a.cost_time, a.context_code, a.timestamp),
            (Some(false), Some(7), Some(4), Some(1_700_000_000_107))
        );
        assert_eq!(a.group_name.as_deref(), Some("CG"));
        assert_eq!(
            events[3].transaction_state.as_deref(),
            Some("COMMIT_MESSAGE")
        );
    }

    #[test]
    fn given_an_old_clients_short_records_should_read_what_is_there() {
        let body = [
            record("Pub|1|R|PG|T|ID|||h|1|2|4|true"),
            record("SubAfter|REQ|ID|7|true|null"),
        ]
        .concat();
        let events = decode(&body);
        assert_eq!(events[0].success, Some(true));
        assert_eq!(events[0].offset_msg_id, None);
        assert_eq!(events[0].msg_type.as_deref(), Some("Order_Msg"));
        assert_eq!(
            (events[1].timestamp, events[1].keys.as_deref()),
            (None, None)
        );
    }

    #[test]
    fn given_garbage_should_skip_it_without_panicking() {
        assert!(decode("").is_empty());
        assert!(decode("Pub\u{1}x").is_empty());
        assert!(decode("Nope\u{1}1\u{1}2\u{2}").is_empty());
        let bad_numbers = record("Pub|x|R|G|T|ID|||h|y|z|99|maybe");
        let e = decode(&bad_numbers);
        assert_eq!(
            (e[0].timestamp, e[0].msg_type.as_deref(), e[0].success),
            (None, None, Some(false))
        );
        let many = "SubAfter\u{1}r\u{1}ID\u{1}1\u{1}true\u{1}k\u{2}".repeat(5000);
        assert_eq!(decode(&many).len(), RECORDS_MAX);
    }
}
