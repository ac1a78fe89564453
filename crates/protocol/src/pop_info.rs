//! The strings POP puts on the wire (verified against RocketMQ 5.x `ExtraInfoUtil`,
//! docs/protocol-notes.md "POP"):
//!
//! * the receipt handle (`POP_CK` property, `extraInfo` of ACK and CHANGE_INVISIBLETIME), space
//!   separated: `ckOffset popTime invisibleTime reviveQid topicType brokerName queueId
//!   [queueOffset [commitLogOffset]]`, topic type `0` normal, `1` retry (V1), `2` retry (V2);
//! * a POP answer's `startOffsetInfo` (`type queueId offset`), `msgOffsetInfo`
//!   (`type queueId o1,o2,…`) and `orderCountInfo` (`type qo{queueId}%{offset} count` and
//!   `type queueId count`), entries joined by `;`.

use std::collections::HashMap;
use std::fmt;

use apogee_model::system_topic::{RETRY_PREFIX, pop_retry_topic};

/// The topic type marker of a topic a message was popped from.
pub fn topic_type(topic: &str) -> &'static str {
    match topic.strip_prefix(RETRY_PREFIX) {
        Some(rest) if rest.contains('+') => "2",
        Some(_) => "1",
        None => "0",
    }
}

/// The topic a handle's message really sits on: `topic` itself or the group's retry topic.
pub fn real_topic(topic: &str, group: &str, kind: &str) -> String {
    match kind {
        "1" => pop_retry_topic(topic, group, false),
        "2" => pop_retry_topic(topic, group, true),
        _ => topic.to_owned(),
    }
}

/// A receipt handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraInfo {
    pub ck_offset: i64,
    pub pop_time: i64,
    pub invisible_time: i64,
    pub revive_qid: i32,
    /// `0`, `1` or `2`.
    pub topic_type: String,
    pub broker_name: String,
    pub queue_id: i32,
    pub queue_offset: Option<i64>,
    pub commit_log_offset: Option<i64>,
}

/// A handle that is not RocketMQ's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadHandle;

impl ExtraInfo {
    /// Parses a handle; at most 512 bytes and 9 fields.
    pub fn parse(text: &str) -> Result<Self, BadHandle> {
        if text.len() > 512 {
            return Err(BadHandle);
        }
        let fields: Vec<&str> = text.split(' ').collect();
        if !(7..=9).contains(&fields.len()) {
            return Err(BadHandle);
        }
        let number = |i: usize| fields[i].parse::<i64>().map_err(|_| BadHandle);
        let small = |i: usize| fields[i].parse::<i32>().map_err(|_| BadHandle);
        let optional = |i: usize| fields.get(i).map(|_| number(i)).transpose();
        let topic_type = fields[4];
        if !matches!(topic_type, "0" | "1" | "2") || fields[5].is_empty() {
            return Err(BadHandle);
        }
        Ok(Self {
            ck_offset: number(0)?,
            pop_time: number(1)?,
            invisible_time: number(2)?,
            revive_qid: small(3)?,
            topic_type: topic_type.to_owned(),
            broker_name: fields[5].to_owned(),
            queue_id: small(6)?,
            queue_offset: optional(7)?,
            commit_log_offset: optional(8)?,
        })
    }

    /// When the message becomes visible again.
    pub fn deadline(&self) -> i64 {
        self.pop_time.saturating_add(self.invisible_time)
    }

    /// The message's queue offset: the 8th field, else the check point's offset.
    pub fn offset(&self) -> i64 {
        self.queue_offset.unwrap_or(self.ck_offset)
    }
}

impl fmt::Display for ExtraInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} {}",
            self.ck_offset,
            self.pop_time,
            self.invisible_time,
            self.revive_qid,
            self.topic_type,
            self.broker_name,
            self.queue_id
        )?;
        if let Some(offset) = self.queue_offset {
            write!(f, " {offset}")?;
            if let Some(commit_log_offset) = self.commit_log_offset {
                write!(f, " {commit_log_offset}")?;
            }
        }
        Ok(())
    }
}

/// The offset strings of one POP answer, built queue by queue.
#[derive(Debug, Default)]
pub struct OffsetInfo {
    start: Vec<String>,
    messages: Vec<String>,
    orders: Vec<String>,
}

impl OffsetInfo {
    /// One queue that returned messages: where its read started and each message's offset.
    pub fn add_queue(&mut self, topic: &str, queue_id: i32, start: i64, offsets: &[i64]) {
        let kind = topic_type(topic);
        self.start.push(format!("{kind} {queue_id} {start}"));
        let list: Vec<String> = offsets.iter().map(i64::to_string).collect();
        self.messages
            .push(format!("{kind} {queue_id} {}", list.join(",")));
    }

    /// An orderly queue's delivery counts: one entry per message read again, and the queue's
    /// least count.
    pub fn add_order_counts(&mut self, topic: &str, queue_id: i32, counts: &[(i64, i32)]) {
        let kind = topic_type(topic);
        for (offset, count) in counts.iter().filter(|(_, c)| *c > 0) {
            self.orders
                .push(format!("{kind} qo{queue_id}%{offset} {count}"));
        }
        let least = counts.iter().map(|(_, c)| *c).min().unwrap_or(0);
        self.orders.push(format!("{kind} {queue_id} {least}"));
    }

    /// `(startOffsetInfo, msgOffsetInfo, orderCountInfo)`.
    pub fn render(&self) -> (String, String, Option<String>) {
        let orders = (!self.orders.is_empty()).then(|| self.orders.join(";"));
        (self.start.join(";"), self.messages.join(";"), orders)
    }
}

/// Parses `startOffsetInfo` / `orderCountInfo` into `"type@queueId"` (or
/// `"type@qo{queueId}%{offset}"`) → number.
pub fn parse_numbers(text: &str) -> HashMap<String, i64> {
    let mut out = HashMap::new();
    for entry in text.split(';').filter(|e| !e.is_empty()) {
        let parts: Vec<&str> = entry.split(' ').collect();
        if let [kind, queue, value] = parts[..]
            && let Ok(value) = value.parse()
        {
            out.insert(format!("{kind}@{queue}"), value);
        }
    }
    out
}

/// Parses `msgOffsetInfo` into `"type@queueId"` → offsets.
pub fn parse_offset_lists(text: &str) -> HashMap<String, Vec<i64>> {
    let mut out = HashMap::new();
    for entry in text.split(';').filter(|e| !e.is_empty()) {
        let parts: Vec<&str> = entry.split(' ').collect();
        if let [kind, queue, list] = parts[..] {
            let offsets = list.split(',').filter_map(|o| o.parse().ok()).collect();
            out.insert(format!("{kind}@{queue}"), offsets);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_round_trips_and_bad_ones_are_refused() {
        let text = "10 1700000000000 60000 3 0 broker-a 2 12 4096";
        let info = ExtraInfo::parse(text).expect("parse");
        assert_eq!(info.offset(), 12);
        assert_eq!(info.commit_log_offset, Some(4096));
        assert_eq!(info.deadline(), 1_700_000_060_000);
        assert_eq!(info.to_string(), text);
        let short = ExtraInfo::parse("10 1 2 3 1 b 4").expect("seven fields");
        assert_eq!(short.offset(), 10);
        for bad in [
            "",
            "1 2 3",
            "a 1 2 3 0 b 4",
            "1 2 3 4 9 b 5",
            "1 2 3 4 0  5",
        ] {
            assert_eq!(ExtraInfo::parse(bad), Err(BadHandle), "{bad:?}");
        }
    }

    #[test]
    fn topic_types_and_real_topics() {
        assert_eq!(topic_type("T"), "0");
        assert_eq!(topic_type("%RETRY%g_T"), "1");
        assert_eq!(topic_type("%RETRY%g+T"), "2");
        assert_eq!(real_topic("T", "g", "1"), "%RETRY%g_T");
        assert_eq!(real_topic("T", "g", "2"), "%RETRY%g+T");
        assert_eq!(real_topic("T", "g", "0"), "T");
    }

    #[test]
    fn offset_info_renders_and_parses() {
        let mut info = OffsetInfo::default();
        info.add_queue("T", 1, 5, &[5, 7]);
        info.add_queue("%RETRY%g_T", 0, 0, &[0]);
        info.add_order_counts("T", 1, &[(5, 2), (7, 0)]);
        let (start, messages, orders) = info.render();
        assert_eq!(start, "0 1 5;1 0 0");
        assert_eq!(messages, "0 1 5,7;1 0 0");
        assert_eq!(orders.as_deref(), Some("0 qo1%5 2;0 1 0"));
        assert_eq!(parse_numbers(&start)["1@0"], 0);
        assert_eq!(parse_offset_lists(&messages)["0@1"], vec![5, 7]);
        assert_eq!(parse_numbers(&orders.unwrap_or_default())["0@qo1%5"], 2);
    }
}
