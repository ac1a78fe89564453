//! Statistics bodies: VIEW_BROKER_STATS_DATA (315) and GET_BROKER_CONSUME_STATS (317).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::admin::ConsumeStats;

/// One window of one stats item (`BrokerStatsItem`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerStatsItem {
    /// Average value per addition (for message counts: messages per request).
    pub avgpt: f64,
    /// Total added within the window.
    pub sum: i64,
    pub tps: f64,
}

/// VIEW_BROKER_STATS_DATA (315) response (`BrokerStatsData`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerStatsData {
    pub stats_day: BrokerStatsItem,
    pub stats_hour: BrokerStatsItem,
    pub stats_minute: BrokerStatsItem,
}

/// GET_BROKER_CONSUME_STATS (317) response (`ConsumeStatsList`): for every subscription group,
/// one `ConsumeStats` per topic it has offsets for.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStatsList {
    pub broker_addr: String,
    /// One single-entry map per group: group → its topics' stats.
    pub consume_stats_list: Vec<BTreeMap<String, Vec<ConsumeStats>>>,
    pub total_diff: i64,
    pub total_inflight_diff: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::admin::to_java_json;
    use crate::body::from_json;

    #[test]
    fn given_stats_data_should_use_java_names() {
        let data = BrokerStatsData {
            stats_minute: BrokerStatsItem {
                avgpt: 2.0,
                sum: 10,
                tps: 0.5,
            },
            ..BrokerStatsData::default()
        };
        let text = String::from_utf8(to_java_json(&data)).unwrap();
        assert_eq!(
            text,
            r#"{"statsDay":{"avgpt":0.0,"sum":0,"tps":0.0},"statsHour":{"avgpt":0.0,"sum":0,"tps":0.0},"statsMinute":{"avgpt":2.0,"sum":10,"tps":0.5}}"#
        );
        assert_eq!(
            from_json::<BrokerStatsData>("d", text.as_bytes()).unwrap(),
            data
        );
    }

    #[test]
    fn given_a_java_consume_stats_list_should_decode() {
        let java = br#"{"brokerAddr":"10.0.0.1:10911","consumeStatsList":[{"G":[{"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":9,"consumerOffset":4,"lastTimestamp":0,"pullOffset":4}}}]}],"totalDiff":5,"totalInflightDiff":0}"#;
        let list: ConsumeStatsList = from_json("list", java).unwrap();
        assert_eq!(list.total_diff, 5);
        assert_eq!(list.consume_stats_list[0]["G"][0].total_diff(), 5);
    }
}
