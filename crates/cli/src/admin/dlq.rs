//! Dead letters (Apogee's own commands; mqadmin has none): `queryDlqMsg` lists a group's
//! dead-letter topic, `resendDlqMsg` sends chosen or all of its messages back to the group
//! through its retry topic (`apogee_client::redeliver`).

use apogee_client::{Admin, ClientConfig, MessageExt, Producer, ProducerConfig, redeliver};
use clap::Args;
use serde_json::json;

use super::table::Table;
use super::{Report, human_time};

/// Dead letters read by one command at most.
const READ_MAX: i64 = 10_000;

/// Up to `max` of `group`'s dead letters, oldest first.
async fn dead_letters(admin: &Admin, group: &str, max: i64) -> anyhow::Result<Vec<MessageExt>> {
    let queues = admin
        .dead_letter_queues(group)
        .await
        .map_err(|e| anyhow::anyhow!("group {group} has no dead letters (%DLQ%{group}: {e})"))?;
    let mut found = Vec::new();
    let mut left = max;
    for (q, lo, hi) in queues {
        if left <= 0 {
            break;
        }
        let to = hi.min(lo + left);
        left -= to - lo;
        found.extend(admin.read_range(&q, lo, to).await?);
    }
    Ok(found)
}

#[derive(Args)]
pub struct QueryDlqMsg {
    /// The consumer group whose dead letters to list.
    #[arg(short = 'g', long = "consumerGroup")]
    group: String,
    /// Messages listed at most.
    #[arg(short = 'c', long = "count", default_value_t = 100)]
    count: i64,
}

impl QueryDlqMsg {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let found = dead_letters(admin, &self.group, self.count.clamp(1, READ_MAX)).await?;
        let mut table = Table::new(&[
            "#MsgId",
            "#Topic",
            "#Keys",
            "#Retries",
            "#StoreTime",
            "#Broker",
            "#QID",
            "#Offset",
        ]);
        let mut rows = Vec::new();
        for m in &found {
            let topic = redeliver::original_topic(m);
            table.row(vec![
                m.msg_id.clone(),
                topic.clone(),
                m.keys().unwrap_or_default().to_owned(),
                m.reconsume_times.to_string(),
                human_time(m.store_timestamp),
                m.broker_name.clone(),
                m.queue_id.to_string(),
                m.queue_offset.to_string(),
            ]);
            rows.push(json!({
                "msgId": m.msg_id, "topic": topic, "keys": m.keys(), "reconsumeTimes": m.reconsume_times,
                "storeTimestamp": m.store_timestamp, "brokerName": m.broker_name,
                "queueId": m.queue_id, "queueOffset": m.queue_offset,
            }));
        }
        Ok(Report::new(table.render(), json!({ "messages": rows })))
    }
}

#[derive(Args)]
pub struct ResendDlqMsg {
    /// The consumer group whose dead letters to resend (to the same group).
    #[arg(short = 'g', long = "consumerGroup")]
    group: String,
    /// Message ids to resend, comma separated (see queryDlqMsg).
    #[arg(
        short = 'i',
        long = "msgId",
        value_delimiter = ',',
        required_unless_present = "all"
    )]
    msg_ids: Vec<String>,
    /// Resend every dead letter (at most 10,000 per run).
    #[arg(short = 'a', long = "all", conflicts_with = "msg_ids")]
    all: bool,
}

impl ResendDlqMsg {
    pub async fn run(self, admin: &Admin, client: &ClientConfig) -> anyhow::Result<Report> {
        let found = dead_letters(admin, &self.group, READ_MAX).await?;
        let picked: Vec<&MessageExt> = if self.all {
            found.iter().collect()
        } else {
            let picked: Vec<_> = found
                .iter()
                .filter(|m| self.msg_ids.contains(&m.msg_id))
                .collect();
            if let Some(missing) = self
                .msg_ids
                .iter()
                .find(|i| !picked.iter().any(|m| m.msg_id == **i))
            {
                anyhow::bail!(
                    "{missing} is not a dead letter of group {} (see queryDlqMsg)",
                    self.group
                );
            }
            picked
        };
        let producer =
            Producer::start(client.clone(), ProducerConfig::new("apogee-admin-resend")).await?;
        let mut table = Table::new(&["#MsgId", "#ResentAs"]);
        let mut rows = Vec::new();
        for m in picked {
            let sent = redeliver::resend_to_group(admin, &producer, &self.group, m).await;
            let sent = match sent {
                Ok(id) => id,
                Err(e) => {
                    producer.shutdown().await;
                    return Err(e.into());
                }
            };
            table.row(vec![m.msg_id.clone(), sent.clone()]);
            rows.push(json!({ "msgId": m.msg_id, "resentAs": sent }));
        }
        producer.shutdown().await;
        Ok(Report::new(
            table.render(),
            json!({ "group": self.group, "resent": rows }),
        ))
    }
}
