//! Statistics commands with mqadmin's names and flags: statsAll (every topic's put and get
//! rates and 24-hour counts per consumer group, from VIEW_BROKER_STATS_DATA on each master)
//! and brokerConsumeStats (every group's progress on one broker, GET_BROKER_CONSUME_STATS).

use apogee_client::{Admin, BrokerStatsData};
use clap::Args;
use serde_json::json;

use super::table::Table;
use super::{Report, human_time};

/// mqadmin's `compute24HourSum`: the day's sum, else the hour's, else the minute's.
fn sum_24h(data: &BrokerStatsData) -> i64 {
    [
        data.stats_day.sum,
        data.stats_hour.sum,
        data.stats_minute.sum,
    ]
    .into_iter()
    .find(|s| *s != 0)
    .unwrap_or(0)
}

/// Minute TPS and 24-hour count of one stats item, summed over `masters` (a master without
/// the item adds nothing, as in mqadmin).
async fn figures(admin: &Admin, masters: &[String], name: &str, key: &str) -> (f64, i64) {
    let mut total = (0.0, 0);
    for addr in masters {
        if let Ok(data) = admin.view_broker_stats(addr, name, key).await {
            total.0 += data.stats_minute.tps;
            total.1 += sum_24h(&data);
        }
    }
    total
}

#[derive(Args)]
pub struct StatsAll {
    /// Only topics with messages in or out in the last 24 hours.
    #[arg(short = 'a', long = "activeTopic")]
    active: bool,
    /// Only this topic.
    #[arg(short = 't', long = "topic")]
    topic: Option<String>,
}

impl StatsAll {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let topics: Vec<String> = match &self.topic {
            Some(t) => vec![t.clone()],
            None => admin
                .topic_list()
                .await?
                .into_iter()
                .filter(|t| !t.starts_with("%RETRY%") && !t.starts_with("%DLQ%"))
                .collect(),
        };
        let mut table = Table::new(&[
            "Topic",
            "Consumer Group",
            "Accumulation",
            "InTPS",
            "OutTPS",
            "InMsg24Hour",
            "OutMsg24Hour",
        ]);
        let mut rows = Vec::new();
        for topic in topics {
            let Ok(masters) = admin.topic_masters(&topic).await else {
                continue;
            };
            let (in_tps, in_24h) = figures(admin, &masters, "TOPIC_PUT_NUMS", &topic).await;
            let groups = admin.topic_consumed_by(&topic).await.unwrap_or_default();
            if groups.is_empty() {
                if !self.active || in_24h > 0 {
                    table.row(vec![
                        topic.clone(),
                        String::new(),
                        "0".into(),
                        format!("{in_tps:.2}"),
                        String::new(),
                        in_24h.to_string(),
                        "NO_CONSUMER".into(),
                    ]);
                    rows.push(json!({"topic": topic, "inTps": in_tps, "inMsg24Hour": in_24h}));
                }
                continue;
            }
            for group in groups {
                let key = format!("{topic}@{group}");
                let (out_tps, out_24h) = figures(admin, &masters, "GROUP_GET_NUMS", &key).await;
                let accumulation = admin
                    .consume_stats(&group, Some(&topic))
                    .await
                    .map_or(0, |s| s.total_diff().max(0));
                if self.active && in_24h == 0 && out_24h == 0 {
                    continue;
                }
                table.row(vec![
                    topic.clone(),
                    group.clone(),
                    accumulation.to_string(),
                    format!("{in_tps:.2}"),
                    format!("{out_tps:.2}"),
                    in_24h.to_string(),
                    out_24h.to_string(),
                ]);
                rows.push(json!({
                    "topic": topic, "group": group, "accumulation": accumulation,
                    "inTps": in_tps, "outTps": out_tps,
                    "inMsg24Hour": in_24h, "outMsg24Hour": out_24h,
                }));
            }
        }
        Ok(Report::new(table.render(), json!({ "stats": rows })))
    }
}

#[derive(Args)]
pub struct BrokerConsumeStats {
    /// Broker address (ip:port).
    #[arg(short = 'b', long = "brokerAddr")]
    broker: String,
    /// Only queues at least this far behind.
    #[arg(short = 'l', long = "level", default_value_t = 0)]
    level: i64,
    /// Only ordered topics.
    #[arg(short = 'o', long = "order", default_value_t = false, action = clap::ArgAction::Set)]
    order: bool,
    /// mqadmin's timeout in milliseconds (accepted; requests use the client's timeout).
    #[arg(short = 't', long = "timeoutMillis")]
    _timeout: Option<u64>,
}

impl BrokerConsumeStats {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let list = admin.broker_consume_stats(&self.broker, self.order).await?;
        let mut table = Table::new(&[
            "Topic",
            "Group",
            "Broker Name",
            "QID",
            "Broker Offset",
            "Consumer Offset",
            "Diff",
            "LastTime",
        ]);
        for per_group in &list.consume_stats_list {
            for (group, stats) in per_group {
                for s in stats {
                    for (mq, o) in &s.offset_table {
                        let diff = o.broker_offset - o.consumer_offset;
                        if diff < self.level {
                            continue;
                        }
                        table.row(vec![
                            mq.topic.clone(),
                            group.clone(),
                            mq.broker_name.clone(),
                            mq.queue_id.to_string(),
                            o.broker_offset.to_string(),
                            o.consumer_offset.to_string(),
                            diff.to_string(),
                            human_time(o.last_timestamp),
                        ]);
                    }
                }
            }
        }
        let human = format!("{}\nDiff Total: {}\n", table.render(), list.total_diff);
        Ok(Report::new(human, serde_json::to_value(&list)?))
    }
}
