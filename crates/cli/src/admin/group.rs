//! Consumer-group commands: updateSubGroup, deleteSubGroup, consumerProgress,
//! consumerConnection, producerConnection, resetOffsetByTime.

use apogee_client::{Admin, SubscriptionGroupConfig};
use clap::{ArgAction, Args};
use serde_json::json;

use super::table::Table;
use super::{BrokerTarget, Report, human_time, parse_time};

#[derive(Args)]
pub struct UpdateSubGroup {
    #[command(flatten)]
    target: BrokerTarget,
    #[arg(short = 'g', long = "groupName")]
    group: String,
    #[arg(short = 's', long = "consumeEnable", action = ArgAction::Set)]
    consume_enable: Option<bool>,
    #[arg(short = 'm', long = "consumeFromMinEnable", action = ArgAction::Set)]
    consume_from_min_enable: Option<bool>,
    #[arg(short = 'd', long = "consumeBroadcastEnable", action = ArgAction::Set)]
    consume_broadcast_enable: Option<bool>,
    #[arg(short = 'o', long = "consumeMessageOrderly", action = ArgAction::Set)]
    consume_message_orderly: Option<bool>,
    #[arg(short = 'q', long = "retryQueueNums")]
    retry_queue_nums: Option<i32>,
    #[arg(short = 'r', long = "retryMaxTimes")]
    retry_max_times: Option<i32>,
    #[arg(short = 'i', long = "brokerId")]
    broker_id: Option<i64>,
    #[arg(short = 'w', long = "whichBrokerWhenConsumeSlowly")]
    which_broker_when_consume_slowly: Option<i64>,
    #[arg(short = 'a', long = "notifyConsumerIdsChanged", action = ArgAction::Set)]
    notify_consumer_ids_changed: Option<bool>,
}

impl UpdateSubGroup {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let mut config = SubscriptionGroupConfig::named(&self.group);
        if let Some(v) = self.consume_enable {
            config.consume_enable = v;
        }
        if let Some(v) = self.consume_from_min_enable {
            config.consume_from_min_enable = v;
        }
        if let Some(v) = self.consume_broadcast_enable {
            config.consume_broadcast_enable = v;
        }
        if let Some(v) = self.consume_message_orderly {
            config.consume_message_orderly = v;
        }
        if let Some(v) = self.retry_queue_nums {
            config.retry_queue_nums = v;
        }
        if let Some(v) = self.retry_max_times {
            config.retry_max_times = v;
        }
        if let Some(v) = self.broker_id {
            config.broker_id = v;
        }
        if let Some(v) = self.which_broker_when_consume_slowly {
            config.which_broker_when_consume_slowly = v;
        }
        if let Some(v) = self.notify_consumer_ids_changed {
            config.notify_consumer_ids_changed_enable = v;
        }
        let brokers = self.target.addrs(admin).await?;
        let mut human = String::new();
        for addr in &brokers {
            admin.create_subscription_group(addr, &config).await?;
            human.push_str(&format!("create subscription group to {addr} success.\n"));
        }
        human.push_str(&format!(
            "SubscriptionGroupConfig [groupName={}, consumeEnable={}, consumeFromMinEnable={}, consumeBroadcastEnable={}, consumeMessageOrderly={}, retryQueueNums={}, retryMaxTimes={}, brokerId={}, whichBrokerWhenConsumeSlowly={}, notifyConsumerIdsChangedEnable={}]\n",
            config.group_name,
            config.consume_enable,
            config.consume_from_min_enable,
            config.consume_broadcast_enable,
            config.consume_message_orderly,
            config.retry_queue_nums,
            config.retry_max_times,
            config.broker_id,
            config.which_broker_when_consume_slowly,
            config.notify_consumer_ids_changed_enable,
        ));
        Ok(Report::new(
            human,
            json!({ "brokers": brokers, "config": serde_json::to_value(&config)? }),
        ))
    }
}

#[derive(Args)]
pub struct DeleteSubGroup {
    #[command(flatten)]
    target: BrokerTarget,
    #[arg(short = 'g', long = "groupName")]
    group: String,
    /// Also delete the group's committed offsets.
    #[arg(short = 'r', long = "removeOffset", default_value_t = false, action = ArgAction::Set)]
    remove_offset: bool,
}

impl DeleteSubGroup {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let brokers = self.target.addrs(admin).await?;
        let mut human = String::new();
        for addr in &brokers {
            admin
                .delete_subscription_group_on(addr, &self.group, self.remove_offset)
                .await?;
            human.push_str(&format!(
                "delete subscription group [{}] from broker [{addr}] success.\n",
                self.group
            ));
        }
        Ok(Report::new(
            human,
            json!({ "group": self.group, "brokers": brokers, "removeOffset": self.remove_offset }),
        ))
    }
}

#[derive(Args)]
pub struct ConsumerProgress {
    /// Consumer group; without it, a summary line per group.
    #[arg(short = 'g', long = "groupName")]
    group: Option<String>,
    /// Only this topic of the group.
    #[arg(short = 't', long = "topicName")]
    topic: Option<String>,
}

impl ConsumerProgress {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        match &self.group {
            Some(group) => self.one_group(admin, group).await,
            None => all_groups(admin).await,
        }
    }

    async fn one_group(&self, admin: &Admin, group: &str) -> anyhow::Result<Report> {
        let stats = admin.consume_stats(group, self.topic.as_deref()).await?;
        let mut table = Table::new(&[
            "Topic",
            "Broker Name",
            "QID",
            "Broker Offset",
            "Consumer Offset",
            "Diff",
            "LastTime",
        ]);
        let mut rows = Vec::new();
        for (mq, o) in &stats.offset_table {
            let diff = o.broker_offset - o.consumer_offset;
            table.row(vec![
                mq.topic.clone(),
                mq.broker_name.clone(),
                mq.queue_id.to_string(),
                o.broker_offset.to_string(),
                o.consumer_offset.to_string(),
                diff.to_string(),
                human_time(o.last_timestamp),
            ]);
            rows.push(json!({
                "topic": mq.topic,
                "brokerName": mq.broker_name,
                "queueId": mq.queue_id,
                "brokerOffset": o.broker_offset,
                "consumerOffset": o.consumer_offset,
                "diff": diff,
                "lastTimestamp": o.last_timestamp,
            }));
        }
        let human = format!(
            "{}\nConsume TPS: {:.2}\nDiff Total: {}\n",
            table.render(),
            stats.consume_tps,
            stats.total_diff()
        );
        Ok(Report::new(
            human,
            json!({
                "group": group,
                "consumeTps": stats.consume_tps,
                "diffTotal": stats.total_diff(),
                "queues": rows,
            }),
        ))
    }
}

/// One line per subscription group known to any master: members, model, TPS and lag.
async fn all_groups(admin: &Admin) -> anyhow::Result<Report> {
    let info = admin.cluster_info().await?;
    let mut groups = std::collections::BTreeSet::new();
    for broker in info.broker_addr_table.values() {
        if let Some(addr) = broker.broker_addrs.get(&0) {
            let wrapper = admin.subscription_groups(addr).await?;
            groups.extend(wrapper.subscription_group_table.into_keys());
        }
    }
    let mut table = Table::new(&["Group", "Count", "Type", "Model", "TPS", "Diff Total"]);
    let mut rows = Vec::new();
    for group in groups {
        let Ok(stats) = admin.consume_stats(&group, None).await else {
            continue;
        };
        let (count, kind, model) = match admin.consumer_connection(&group).await {
            Ok(c) => (
                c.connection_set.len(),
                c.consume_type.clone(),
                json_text(&c.message_model),
            ),
            Err(_) => (0, String::new(), String::new()),
        };
        table.row(vec![
            group.clone(),
            count.to_string(),
            kind.clone(),
            model.clone(),
            format!("{:.2}", stats.consume_tps),
            stats.total_diff().to_string(),
        ]);
        rows.push(json!({
            "group": group,
            "count": count,
            "consumeType": kind,
            "messageModel": model,
            "consumeTps": stats.consume_tps,
            "diffTotal": stats.total_diff(),
        }));
    }
    Ok(Report::new(table.render(), json!({ "groups": rows })))
}

/// A serde enum as the text Java writes (`CLUSTERING`).
fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[derive(Args)]
pub struct ConsumerConnection {
    #[arg(short = 'g', long = "consumerGroup")]
    group: String,
}

impl ConsumerConnection {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let c = admin.consumer_connection(&self.group).await?;
        let mut members = Table::new(&["ClientId", "ClientAddr", "Language", "Version"]);
        for m in &c.connection_set {
            members.row(vec![
                m.client_id.clone(),
                m.client_addr.clone(),
                m.language.clone(),
                m.version.to_string(),
            ]);
        }
        let mut subs = Table::new(&["Topic", "SubExpression"]);
        for (topic, s) in &c.subscription_table {
            subs.row(vec![topic.clone(), s.sub_string.clone()]);
        }
        let model = json_text(&c.message_model);
        let human = format!(
            "{}\n{}\nConsumeType: {}\nMessageModel: {}\nConsumeFromWhere: {}\n",
            members.render(),
            subs.render(),
            c.consume_type,
            model,
            c.consume_from_where
        );
        let json = json!({
            "group": self.group,
            "connections": c.connection_set.iter().map(|m| json!({
                "clientId": m.client_id,
                "clientAddr": m.client_addr,
                "language": m.language,
                "version": m.version,
            })).collect::<Vec<_>>(),
            "subscriptions": c.subscription_table.iter().map(|(t, s)| json!({
                "topic": t,
                "subExpression": s.sub_string,
            })).collect::<Vec<_>>(),
            "consumeType": c.consume_type,
            "messageModel": model,
            "consumeFromWhere": c.consume_from_where,
        });
        Ok(Report::new(human, json))
    }
}

#[derive(Args)]
pub struct ProducerConnection {
    #[arg(short = 'g', long = "producerGroup")]
    group: String,
    #[arg(short = 't', long = "topic")]
    topic: String,
}

impl ProducerConnection {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let c = admin.producer_connection(&self.group, &self.topic).await?;
        let mut table = Table::new(&["ClientId", "ClientAddr", "Language", "Version"]);
        let mut rows = Vec::new();
        for m in &c.connection_set {
            table.row(vec![
                m.client_id.clone(),
                m.client_addr.clone(),
                m.language.clone(),
                m.version.to_string(),
            ]);
            rows.push(json!({
                "clientId": m.client_id,
                "clientAddr": m.client_addr,
                "language": m.language,
                "version": m.version,
            }));
        }
        Ok(Report::new(
            table.render(),
            json!({ "group": self.group, "connections": rows }),
        ))
    }
}

#[derive(Args)]
pub struct ResetOffsetByTime {
    #[arg(short = 'g', long = "group")]
    group: String,
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// `now`, milliseconds since the epoch, or local time yyyy-MM-dd#HH:mm:ss:SSS.
    #[arg(short = 's', long = "timestamp", value_parser = parse_time)]
    timestamp: i64,
    /// Also move offsets forward (false: only back).
    #[arg(short = 'f', long = "force", default_value_t = true, action = ArgAction::Set)]
    force: bool,
}

impl ResetOffsetByTime {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let offsets = admin
            .reset_offset_by_time(&self.group, &self.topic, self.timestamp, self.force)
            .await?;
        let mut table = Table::new(&["brokerName", "queueId", "offset"]);
        let mut rows = Vec::new();
        for (mq, offset) in &offsets {
            table.row(vec![
                mq.broker_name.clone(),
                mq.queue_id.to_string(),
                offset.to_string(),
            ]);
            rows.push(json!({
                "brokerName": mq.broker_name,
                "queueId": mq.queue_id,
                "offset": offset,
            }));
        }
        let human = format!(
            "rollback consumer offset by specified group[{}], topic[{}], force[{}], timestamp(string)[{}], timestamp(long)[{}]\n{}",
            self.group,
            self.topic,
            self.force,
            human_time(self.timestamp),
            self.timestamp,
            table.render()
        );
        Ok(Report::new(
            human,
            json!({
                "group": self.group,
                "topic": self.topic,
                "timestamp": self.timestamp,
                "force": self.force,
                "offsets": rows,
            }),
        ))
    }
}

#[derive(Args)]
pub struct CloneGroupOffset {
    /// Group whose offsets are copied.
    #[arg(short = 's', long = "srcGroup")]
    src: String,
    /// Group that receives them.
    #[arg(short = 'd', long = "destGroup")]
    dest: String,
    /// Only this topic [default: every topic of the source group].
    #[arg(short = 't', long = "topic")]
    topic: Option<String>,
    /// Also copy topics an online source group does not subscribe to.
    #[arg(short = 'o', long = "offline", default_value_t = false, action = ArgAction::Set)]
    offline: bool,
}

impl CloneGroupOffset {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        admin
            .clone_group_offset(&self.src, &self.dest, self.topic.as_deref(), self.offline)
            .await?;
        Ok(Report::new(
            format!(
                "clone group offset success. srcGroup[{}], destGroup[{}], topic[{}]\n",
                self.src,
                self.dest,
                self.topic.as_deref().unwrap_or("*")
            ),
            json!({ "srcGroup": self.src, "destGroup": self.dest, "topic": self.topic }),
        ))
    }
}

#[derive(Args)]
pub struct ConsumerStatus {
    #[arg(short = 'g', long = "consumerGroup")]
    group: String,
    /// One client [default: every online member].
    #[arg(short = 'i', long = "clientId")]
    client_id: Option<String>,
}

impl ConsumerStatus {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let ids: Vec<String> = match &self.client_id {
            Some(id) => vec![id.clone()],
            None => admin
                .consumer_connection(&self.group)
                .await?
                .connection_set
                .into_iter()
                .map(|c| c.client_id)
                .collect(),
        };
        let mut human = String::new();
        let mut json = serde_json::Map::new();
        for id in ids {
            let info = admin.consumer_running_info(&self.group, &id).await?;
            human.push_str(&format!("#ClientId: {id}\n"));
            for (k, v) in &info.properties {
                human.push_str(&format!("{k:<40}: {v}\n"));
            }
            let mut queues = Table::new(&[
                "Topic",
                "Broker Name",
                "QID",
                "Commit Offset",
                "Cached Msgs",
                "Cached MiB",
                "Locked",
                "Last Pull",
            ]);
            for (mq, q) in &info.mq_table {
                queues.row(vec![
                    mq.topic.clone(),
                    mq.broker_name.clone(),
                    mq.queue_id.to_string(),
                    q.commit_offset.to_string(),
                    q.cached_msg_count.to_string(),
                    q.cached_msg_size_in_mib.to_string(),
                    q.locked.to_string(),
                    human_time(q.last_pull_timestamp),
                ]);
            }
            let mut rates = Table::new(&[
                "Topic",
                "Pull TPS",
                "Pull RT",
                "Consume OK TPS",
                "Consume RT",
                "Failed TPS",
            ]);
            for (topic, s) in &info.status_table {
                rates.row(vec![
                    topic.clone(),
                    format!("{:.2}", s.pull_tps),
                    format!("{:.2}", s.pull_rt),
                    format!("{:.2}", s.consume_ok_tps),
                    format!("{:.2}", s.consume_rt),
                    format!("{:.2}", s.consume_failed_tps),
                ]);
            }
            human.push_str(&format!("\n{}\n{}\n", queues.render(), rates.render()));
            json.insert(id, serde_json::to_value(&info)?);
        }
        Ok(Report::new(human, serde_json::Value::Object(json)))
    }
}
