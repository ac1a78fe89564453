//! Operations commands with mqadmin's names and flags: updateKvConfig, deleteKvConfig,
//! updateOrderConf, wipeWritePerm, addWritePerm (every NameServer), queryCq, producer,
//! updateTopicList, and the store cleanings cleanExpiredCQ, cleanUnusedTopic,
//! deleteExpiredCommitLog.

use apogee_client::{Admin, CqQuery, StoreCleaning, TopicConfig};
use clap::Args;
use serde_json::json;

use super::table::Table;
use super::{BrokerTarget, Report, human_time};

#[derive(Args)]
pub struct UpdateKvConfig {
    #[arg(short = 's', long = "namespace")]
    namespace: String,
    #[arg(short = 'k', long = "key")]
    key: String,
    #[arg(short = 'v', long = "value")]
    value: String,
}

impl UpdateKvConfig {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        admin
            .put_kv_config(&self.namespace, &self.key, &self.value)
            .await?;
        Ok(Report::new(
            "update kv config in namespace success.\n",
            json!({"namespace": self.namespace, "key": self.key, "value": self.value}),
        ))
    }
}

#[derive(Args)]
pub struct DeleteKvConfig {
    #[arg(short = 's', long = "namespace")]
    namespace: String,
    #[arg(short = 'k', long = "key")]
    key: String,
}

impl DeleteKvConfig {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        admin.delete_kv_config(&self.namespace, &self.key).await?;
        Ok(Report::new(
            "delete kv config from namespace success.\n",
            json!({"namespace": self.namespace, "key": self.key}),
        ))
    }
}

#[derive(Args)]
pub struct UpdateOrderConf {
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// get, put or delete.
    #[arg(short = 'm', long = "method")]
    method: String,
    /// The layout to put: `brokerName:queues;brokerName:queues`.
    #[arg(short = 'v', long = "orderConf")]
    conf: Option<String>,
}

impl UpdateOrderConf {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let ns = apogee_client::ORDER_TOPIC_CONFIG;
        let conf = match self.method.as_str() {
            "get" => admin.kv_config(ns, &self.topic).await?,
            "put" => {
                let conf = self
                    .conf
                    .ok_or_else(|| anyhow::anyhow!("put needs the layout: -v broker:queues;…"))?;
                admin.put_kv_config(ns, &self.topic, &conf).await?;
                Some(conf)
            }
            "delete" => {
                admin.delete_kv_config(ns, &self.topic).await?;
                None
            }
            other => anyhow::bail!("method `{other}`: use get, put or delete"),
        };
        Ok(Report::new(
            format!(
                "{} orderConf success. topic=[{}], orderConf=[{}]\n",
                self.method,
                self.topic,
                conf.as_deref().unwrap_or("")
            ),
            json!({"topic": self.topic, "orderConf": conf}),
        ))
    }
}

#[derive(Args)]
pub struct WritePerm {
    /// Broker name (not address).
    #[arg(short = 'b', long = "brokerName")]
    broker_name: String,
}

impl WritePerm {
    /// `wipeWritePerm` (writable = false) or `addWritePerm` (true).
    pub async fn run(self, admin: &Admin, writable: bool) -> anyhow::Result<Report> {
        let counts = admin.set_write_perm(&self.broker_name, writable).await?;
        let addrs = admin.instance().name_server_addrs();
        let verb = if writable { "add" } else { "wipe" };
        let mut human = String::new();
        for (addr, count) in addrs.iter().zip(&counts) {
            human.push_str(&format!(
                "{verb} write perm of broker[{}] in name server[{addr}] OK, {count}\n",
                self.broker_name
            ));
        }
        Ok(Report::new(
            human,
            json!({"brokerName": self.broker_name, "writable": writable, "topics": counts}),
        ))
    }
}

#[derive(Args)]
pub struct QueryCq {
    #[arg(short = 't', long = "topic")]
    topic: String,
    #[arg(short = 'q', long = "queue")]
    queue_id: i32,
    #[arg(short = 'i', long = "index")]
    index: i64,
    #[arg(short = 'c', long = "count", default_value_t = 10)]
    count: i32,
    /// Broker address; the topic's first master when absent.
    #[arg(short = 'b', long = "broker")]
    broker: Option<String>,
    /// Judge each unit against this group's subscription.
    #[arg(short = 'g', long = "consumer")]
    group: Option<String>,
}

impl QueryCq {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let broker = match self.broker {
            Some(b) => b,
            None => admin
                .topic_masters(&self.topic)
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| anyhow::anyhow!("topic {} has no master", self.topic))?,
        };
        let query = CqQuery {
            topic: self.topic.clone(),
            queue_id: self.queue_id,
            index: self.index,
            count: self.count,
            group: self.group.clone(),
        };
        let body = admin.query_consume_queue(&broker, query).await?;
        let mut human = format!(
            "queue: {}@{} min: {} max: {}\n",
            self.queue_id, self.topic, body.min_queue_index, body.max_queue_index
        );
        if let Some(filter) = &body.filter_data {
            human.push_str(&format!("filter: {filter}\n"));
        }
        let mut table = Table::new(&["PhysicOffset", "PhysicSize", "TagsCode", "Eval"]);
        for unit in &body.queue_data {
            table.row(vec![
                unit.physic_offset.to_string(),
                unit.physic_size.to_string(),
                unit.tags_code.to_string(),
                unit.eval.to_string(),
            ]);
        }
        human.push_str(&table.render());
        Ok(Report::new(human, serde_json::to_value(&body)?))
    }
}

#[derive(Args)]
pub struct ProducerList {
    /// Broker address.
    #[arg(short = 'b', long = "broker")]
    broker: String,
}

impl ProducerList {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let producers = admin.producers(&self.broker).await?;
        let mut table = Table::new(&[
            "Group",
            "ClientId",
            "Addr",
            "Language",
            "Version",
            "LastUpdate",
        ]);
        for (group, infos) in &producers.data {
            for info in infos {
                table.row(vec![
                    group.clone(),
                    info.client_id.clone(),
                    info.remote_ip.clone(),
                    info.language.clone(),
                    info.version.to_string(),
                    human_time(info.last_update_timestamp),
                ]);
            }
        }
        Ok(Report::new(
            table.render(),
            serde_json::to_value(&producers)?,
        ))
    }
}

#[derive(Args)]
pub struct UpdateTopicList {
    #[command(flatten)]
    target: BrokerTarget,
    /// A JSON file holding an array of topic configs (`topicName`, `readQueueNums`, …).
    #[arg(short = 'f', long = "filename")]
    file: std::path::PathBuf,
}

impl UpdateTopicList {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let text = std::fs::read(&self.file)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", self.file.display()))?;
        let topics: Vec<TopicConfig> = serde_json::from_slice(&text).map_err(|e| {
            anyhow::anyhow!(
                "{} is not a JSON array of topic configs: {e}",
                self.file.display()
            )
        })?;
        let brokers = self.target.addrs(admin).await?;
        for addr in &brokers {
            admin.create_topic_list(addr, topics.clone()).await?;
        }
        let names: Vec<&str> = topics.iter().map(|t| t.topic_name.as_str()).collect();
        Ok(Report::new(
            format!(
                "submit batch of topic config to {brokers:?} success, please check the result later.\n"
            ),
            json!({"brokers": brokers, "topics": names}),
        ))
    }
}

/// Where a store cleaning goes: one broker (-b), every broker of a cluster (-c), or every
/// broker the NameServer knows (neither), slaves included, as mqadmin.
#[derive(Args)]
pub struct CleaningTarget {
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    #[arg(short = 'c', long = "cluster")]
    cluster: Option<String>,
}

impl CleaningTarget {
    /// Asks every targeted broker; prints mqadmin's `success` when all of them did it, and
    /// fails naming each broker that did not (mqadmin prints `false` and exits 0).
    pub async fn run(self, admin: &Admin, cleaning: StoreCleaning) -> anyhow::Result<Report> {
        let addrs = match self.broker {
            Some(b) => vec![b],
            None => {
                admin
                    .cluster_broker_addrs(self.cluster.as_deref().map(str::trim))
                    .await?
            }
        };
        anyhow::ensure!(!addrs.is_empty(), "false: no broker to ask");
        let mut failed = Vec::new();
        for addr in &addrs {
            if let Err(e) = admin.clean_store(addr, cleaning).await {
                failed.push(format!("{addr}: {e}"));
            }
        }
        anyhow::ensure!(failed.is_empty(), "false: {}", failed.join("; "));
        Ok(Report::new(
            "success\n",
            json!({"success": true, "brokers": addrs}),
        ))
    }
}
