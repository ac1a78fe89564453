//! Topic commands: updateTopic, deleteTopic, topicList, topicRoute, topicStatus.

use apogee_client::{Admin, TopicSpec};
use clap::{ArgAction, Args};
use serde_json::json;

use super::table::Table;
use super::{BrokerTarget, Report, human_time};

#[derive(Args)]
pub struct UpdateTopic {
    #[command(flatten)]
    target: BrokerTarget,
    #[arg(short = 't', long = "topic")]
    topic: String,
    #[arg(short = 'r', long = "readQueueNums", default_value_t = 8)]
    read_queue_nums: i32,
    #[arg(short = 'w', long = "writeQueueNums", default_value_t = 8)]
    write_queue_nums: i32,
    /// 6 = read and write, 4 = read only, 2 = write only.
    #[arg(short = 'p', long = "perm", default_value_t = 6)]
    perm: i32,
    /// Ordered topic (true/false).
    #[arg(short = 'o', long = "order", default_value_t = false, action = ArgAction::Set)]
    order: bool,
    /// Attribute changes, e.g. `+message.type=FIFO,-key`.
    #[arg(short = 'a', long = "attributes")]
    attributes: Option<String>,
}

impl UpdateTopic {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        if ![2, 4, 6].contains(&self.perm) {
            anyhow::bail!(
                "perm must be 2 (write), 4 (read) or 6 (read and write), not {}",
                self.perm
            );
        }
        let spec = TopicSpec {
            topic: self.topic.clone(),
            read_queue_nums: self.read_queue_nums,
            write_queue_nums: self.write_queue_nums,
            perm: self.perm,
            order: self.order,
            attributes: self.attributes.clone(),
        };
        let brokers = self.target.addrs(admin).await?;
        let mut human = String::new();
        for addr in &brokers {
            admin.create_topic(addr, &spec).await?;
            human.push_str(&format!("create topic to {addr} success.\n"));
        }
        if self.order {
            let conf = self.write_order_conf(admin, &brokers).await?;
            human.push_str(&format!("set cluster orderConf. orderConf=[{conf}]\n"));
        }
        human.push_str(&format!(
            "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, order={}]\n",
            spec.topic, spec.read_queue_nums, spec.write_queue_nums, spec.perm, spec.order
        ));
        Ok(Report::new(
            human,
            json!({
                "topic": spec.topic,
                "brokers": brokers,
                "readQueueNums": spec.read_queue_nums,
                "writeQueueNums": spec.write_queue_nums,
                "perm": spec.perm,
                "order": spec.order,
            }),
        ))
    }
}

impl UpdateTopic {
    /// mqadmin's `-o true`: the NameServers' `ORDER_TOPIC_CONFIG` entry for the topic lists
    /// `brokerName:writeQueueNums` of each broker serving it — every master of the cluster
    /// with `-c` (the entry replaced), or this broker merged into the entry with `-b`.
    async fn write_order_conf(&self, admin: &Admin, brokers: &[String]) -> anyhow::Result<String> {
        let info = admin.cluster_info().await?;
        let name_of = |addr: &str| {
            info.broker_addr_table
                .iter()
                .find(|(_, b)| b.broker_addrs.values().any(|a| a == addr))
                .map(|(name, _)| name.as_str().to_owned())
        };
        let mut entries: Vec<(String, i32)> = if self.target.is_cluster() {
            Vec::new()
        } else {
            admin
                .kv_config(apogee_client::ORDER_TOPIC_CONFIG, &self.topic)
                .await?
                .unwrap_or_default()
                .split(';')
                .filter_map(|e| e.split_once(':'))
                .filter_map(|(b, n)| Some((b.to_owned(), n.trim().parse().ok()?)))
                .collect()
        };
        for addr in brokers {
            let name = name_of(addr)
                .ok_or_else(|| anyhow::anyhow!("no broker at {addr} is registered"))?;
            entries.retain(|(b, _)| *b != name);
            entries.push((name, self.write_queue_nums));
        }
        let conf = entries
            .iter()
            .map(|(b, n)| format!("{b}:{n}"))
            .collect::<Vec<_>>()
            .join(";");
        admin
            .put_kv_config(apogee_client::ORDER_TOPIC_CONFIG, &self.topic, &conf)
            .await?;
        Ok(conf)
    }
}

#[derive(Args)]
pub struct DeleteTopic {
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Cluster to delete the topic from.
    #[arg(short = 'c', long = "clusterName", default_value = "DefaultCluster")]
    cluster: String,
    /// Delete even while producers or consumers of the topic are online.
    #[arg(short = 'f', long = "force")]
    force: bool,
}

impl DeleteTopic {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        admin
            .delete_topic(&self.cluster, &self.topic, self.force)
            .await?;
        Ok(Report::new(
            format!(
                "delete topic [{t}] from cluster [{c}] success.\ndelete topic [{t}] from NameServer success.\n",
                t = self.topic,
                c = self.cluster
            ),
            json!({"topic": self.topic, "cluster": self.cluster, "deleted": true}),
        ))
    }
}

#[derive(Args)]
pub struct TopicList {
    /// Also show each topic's cluster and consumer groups.
    #[arg(short = 'c', long = "clusterModel")]
    cluster_model: bool,
}

impl TopicList {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let topics = admin.topic_list().await?;
        if !self.cluster_model {
            let human: String = topics.iter().map(|t| format!("{t}\n")).collect();
            return Ok(Report::new(human, json!({ "topics": topics })));
        }
        let info = admin.cluster_info().await?;
        let mut table = Table::new(&["Cluster Name", "Topic", "Consumer Group"]);
        let mut rows = Vec::new();
        for topic in &topics {
            let Ok(route) = admin.topic_route(topic).await else {
                continue;
            };
            let clusters: std::collections::BTreeSet<String> = route
                .broker_datas
                .iter()
                .filter_map(|b| {
                    info.cluster_addr_table
                        .iter()
                        .find(|(_, names)| names.contains(&b.broker_name))
                        .map(|(c, _)| c.to_string())
                })
                .collect();
            let cluster = clusters.into_iter().collect::<Vec<_>>().join(",");
            let groups = admin.topic_consumed_by(topic).await.unwrap_or_default();
            if groups.is_empty() {
                table.row(vec![cluster.clone(), topic.clone(), String::new()]);
            }
            for g in &groups {
                table.row(vec![cluster.clone(), topic.clone(), g.clone()]);
            }
            rows.push(json!({"cluster": cluster, "topic": topic, "consumerGroups": groups}));
        }
        Ok(Report::new(table.render(), json!({ "topics": rows })))
    }
}

#[derive(Args)]
pub struct TopicRoute {
    #[arg(short = 't', long = "topic")]
    topic: String,
}

impl TopicRoute {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let route = admin.topic_route(&self.topic).await?;
        let mut table = Table::new(&[
            "Broker Name",
            "Broker Addrs",
            "Read Queues",
            "Write Queues",
            "Perm",
        ]);
        for q in &route.queue_datas {
            let addrs = route
                .broker_datas
                .iter()
                .find(|b| b.broker_name == q.broker_name)
                .map(|b| {
                    b.broker_addrs
                        .iter()
                        .map(|(id, a)| format!("{id}:{a}"))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            table.row(vec![
                q.broker_name.to_string(),
                addrs,
                q.read_queue_nums.to_string(),
                q.write_queue_nums.to_string(),
                perm_name(q.perm).to_owned(),
            ]);
        }
        Ok(Report::new(table.render(), serde_json::to_value(&route)?))
    }
}

fn perm_name(perm: i32) -> &'static str {
    match perm & 6 {
        6 => "RW",
        4 => "R",
        2 => "W",
        _ => "NONE",
    }
}

#[derive(Args)]
pub struct TopicStatus {
    #[arg(short = 't', long = "topic")]
    topic: String,
}

impl TopicStatus {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let stats = admin.topic_stats(&self.topic).await?;
        let mut table = Table::new(&[
            "Broker Name",
            "QID",
            "Min Offset",
            "Max Offset",
            "Last Updated",
        ]);
        let mut rows = Vec::new();
        for (mq, o) in &stats.offset_table {
            table.row(vec![
                mq.broker_name.clone(),
                mq.queue_id.to_string(),
                o.min_offset.to_string(),
                o.max_offset.to_string(),
                human_time(o.last_update_timestamp),
            ]);
            rows.push(json!({
                "brokerName": mq.broker_name,
                "queueId": mq.queue_id,
                "minOffset": o.min_offset,
                "maxOffset": o.max_offset,
                "lastUpdateTimestamp": o.last_update_timestamp,
            }));
        }
        Ok(Report::new(
            table.render(),
            json!({ "topic": self.topic, "queues": rows }),
        ))
    }
}
