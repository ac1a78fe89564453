//! The classic delay levels (`messageDelayLevel`, REMOTING.md §6.7): their table, and the
//! tags-code rule the broker gives the store at open, so `SCHEDULE_TOPIC_XXXX`'s consume
//! queues hold each message's delivery time (store time + its level's delay) as Java writes
//! them. The store itself knows nothing of delay levels.

use apogee_model::system_topic::SCHEDULE_TOPIC;
use apogee_protocol::record::find_property;
use apogee_store::config::TagsCodeRule;

/// RocketMQ's default `messageDelayLevel`.
pub const DEFAULT_DELAY_LEVELS: &str = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

/// Parses a `messageDelayLevel` string (`1s 5s 1m 2h 1d`) into milliseconds per level.
pub fn parse_delay_levels(text: &str) -> Result<Vec<i64>, String> {
    let levels = text
        .split_whitespace()
        .map(|item| {
            let (number, unit) = item.split_at(item.len().saturating_sub(1));
            let factor = match unit {
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return Err(format!("delay level `{item}` must end in s, m, h or d")),
            };
            number
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .map(|n| n * factor)
                .ok_or_else(|| format!("delay level `{item}` is not a positive number"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if levels.is_empty() {
        return Err("messageDelayLevel lists no levels".into());
    }
    Ok(levels)
}

/// The store's tags-code rule for delay-level messages.
pub fn tags_code_rule(levels_ms: Vec<i64>) -> TagsCodeRule {
    TagsCodeRule::new(move |record| {
        if record.topic_str() != SCHEDULE_TOPIC {
            return None;
        }
        let props = std::str::from_utf8(&record.properties).unwrap_or_default();
        let level = find_property(props, "DELAY")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, levels_ms.len().max(1));
        Some(record.store_timestamp + levels_ms.get(level - 1).copied().unwrap_or(0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_java_delay_levels_should_parse_all_units_and_refuse_garbage() {
        let levels = parse_delay_levels(DEFAULT_DELAY_LEVELS).unwrap();
        assert_eq!(levels.len(), 18);
        assert_eq!(levels[1], 5_000);
        assert_eq!(levels[17], 7_200_000);
        assert_eq!(parse_delay_levels("1d").unwrap(), vec![86_400_000]);
        assert!(parse_delay_levels("5x").is_err());
        assert!(parse_delay_levels("").is_err());
        assert!(parse_delay_levels("-1s").is_err());
    }

    #[test]
    fn given_a_delay_message_the_rule_should_give_its_delivery_time_and_leave_others_alone() {
        let rule = tags_code_rule(vec![1_000, 5_000]);
        let host: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut record = apogee_protocol::record::StoredRecord {
            magic: apogee_protocol::record::MAGIC_V1,
            body_crc: 0,
            queue_id: 1,
            flag: 0,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: host,
            store_timestamp: 100,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: bytes::Bytes::new(),
            topic: bytes::Bytes::from_static(SCHEDULE_TOPIC.as_bytes()),
            properties: bytes::Bytes::from_static(b"DELAY\x012\x02"),
        };
        assert_eq!(rule.apply(&record), Some(5_100));
        record.properties = bytes::Bytes::from_static(b"DELAY\x0199\x02");
        assert_eq!(rule.apply(&record), Some(5_100), "levels clamp to the last");
        record.topic = bytes::Bytes::from_static(b"T");
        assert_eq!(rule.apply(&record), None);
    }
}
