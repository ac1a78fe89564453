//! Cluster and broker commands: clusterList, brokerStatus, getBrokerConfig,
//! updateBrokerConfig, getNamesrvConfig, updateNamesrvConfig.

use std::collections::BTreeMap;

use apogee_client::Admin;
use clap::Args;
use serde_json::json;

use super::table::Table;
use super::{BrokerTarget, Report};

#[derive(Args)]
pub struct ClusterList {
    /// Only this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

/// The first figure (last 10 s) of a runtime-info TPS string such as `"12.5 3.0 1.0"`.
fn first_figure(tps: Option<&String>) -> f64 {
    tps.and_then(|t| t.split(' ').next())
        .and_then(|f| f.parse().ok())
        .unwrap_or(0.0)
}

impl ClusterList {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let info = admin.cluster_info().await?;
        let now = chrono::Utc::now().timestamp_millis();
        let mut table = Table::new(&[
            "Cluster Name",
            "Broker Name",
            "BID",
            "Addr",
            "Version",
            "InTPS",
            "OutTPS",
            "PCWait(ms)",
            "Hour",
            "SPACE",
        ]);
        let mut rows = Vec::new();
        for (cluster, names) in &info.cluster_addr_table {
            if self
                .cluster
                .as_deref()
                .is_some_and(|c| c != cluster.as_str())
            {
                continue;
            }
            for name in names {
                let Some(broker) = info.broker_addr_table.get(name) else {
                    continue;
                };
                for (id, addr) in &broker.broker_addrs {
                    // A broker that does not answer is listed without figures.
                    let stats = admin.broker_runtime_info(addr).await.unwrap_or_default();
                    let get = |k: &str| stats.get(k).cloned().unwrap_or_default();
                    let in_tps = first_figure(stats.get("putTps"));
                    let out_tps = first_figure(
                        stats
                            .get("getTransferredTps")
                            .or_else(|| stats.get("getTransferedTps")),
                    );
                    let hours = stats
                        .get("earliestMessageTimeStamp")
                        .and_then(|t| t.parse::<i64>().ok())
                        .filter(|t| *t > 0)
                        .map(|t| (now - t) / 3_600_000);
                    table.row(vec![
                        cluster.to_string(),
                        name.to_string(),
                        id.to_string(),
                        addr.clone(),
                        get("brokerVersionDesc"),
                        format!("{in_tps:.2}"),
                        format!("{out_tps:.2}"),
                        get("pageCacheLockTimeMills"),
                        hours.map(|h| h.to_string()).unwrap_or_default(),
                        get("commitLogDiskRatio"),
                    ]);
                    rows.push(json!({
                        "cluster": cluster.as_str(),
                        "brokerName": name.as_str(),
                        "brokerId": id,
                        "addr": addr,
                        "version": get("brokerVersionDesc"),
                        "inTps": in_tps,
                        "outTps": out_tps,
                        "pageCacheLockTimeMills": get("pageCacheLockTimeMills"),
                        "hoursOfMessages": hours,
                        "commitLogDiskRatio": get("commitLogDiskRatio"),
                        "reachable": !stats.is_empty(),
                    }));
                }
            }
        }
        if let Some(c) = &self.cluster
            && rows.is_empty()
        {
            anyhow::bail!(
                "cluster `{c}` is unknown to the NameServer; `clusterList` shows the clusters"
            );
        }
        Ok(Report::new(table.render(), json!({ "brokers": rows })))
    }
}

/// `key : value` lines, keys padded like mqadmin's.
pub(super) fn key_values(map: &BTreeMap<String, String>) -> String {
    map.iter().map(|(k, v)| format!("{k:<40}: {v}\n")).collect()
}

#[derive(Args)]
pub struct BrokerStatus {
    #[command(flatten)]
    target: BrokerTarget,
}

impl BrokerStatus {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let brokers = self.target.addrs(admin).await?;
        let mut human = String::new();
        let mut json = serde_json::Map::new();
        for addr in &brokers {
            let stats = admin.broker_runtime_info(addr).await?;
            if brokers.len() > 1 {
                human.push_str(&format!("# {addr}\n"));
            }
            human.push_str(&key_values(&stats));
            json.insert(addr.clone(), serde_json::to_value(&stats)?);
        }
        Ok(Report::new(human, serde_json::Value::Object(json)))
    }
}

#[derive(Args)]
pub struct GetBrokerConfig {
    #[command(flatten)]
    target: BrokerTarget,
}

impl GetBrokerConfig {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let brokers = self.target.addrs(admin).await?;
        let mut human = String::new();
        let mut json = serde_json::Map::new();
        for addr in &brokers {
            let config = admin.broker_config(addr).await?;
            human.push_str(&format!("============{addr}============\n"));
            human.push_str(&key_values(&config));
            json.insert(addr.clone(), serde_json::to_value(&config)?);
        }
        Ok(Report::new(human, serde_json::Value::Object(json)))
    }
}

#[derive(Args)]
pub struct UpdateBrokerConfig {
    #[command(flatten)]
    target: BrokerTarget,
    /// Config key (Java name, e.g. fileReservedTime).
    #[arg(short = 'k', long = "key")]
    key: String,
    #[arg(short = 'v', long = "value")]
    value: String,
}

impl UpdateBrokerConfig {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let brokers = self.target.addrs(admin).await?;
        let change = BTreeMap::from([(self.key.clone(), self.value.clone())]);
        let mut human = String::new();
        for addr in &brokers {
            admin.update_broker_config(addr, &change).await?;
            human.push_str(&format!(
                "update broker config success, {addr}: {}={}\n",
                self.key, self.value
            ));
        }
        Ok(Report::new(
            human,
            json!({ "brokers": brokers, "key": self.key, "value": self.value }),
        ))
    }
}

#[derive(Args)]
pub struct GetNamesrvConfig {}

impl GetNamesrvConfig {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let configs = admin.namesrv_configs().await?;
        let mut human = String::new();
        for (addr, config) in &configs {
            human.push_str(&format!("============{addr}============\n"));
            human.push_str(&key_values(config));
        }
        Ok(Report::new(human, serde_json::to_value(&configs)?))
    }
}

#[derive(Args)]
pub struct UpdateNamesrvConfig {
    /// Config key (Java name, e.g. orderMessageEnable).
    #[arg(short = 'k', long = "key")]
    key: String,
    #[arg(short = 'v', long = "value")]
    value: String,
}

impl UpdateNamesrvConfig {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let change = BTreeMap::from([(self.key.clone(), self.value.clone())]);
        admin.update_namesrv_config(&change).await?;
        Ok(Report::new(
            format!(
                "update name server config success!\n{}={}\n",
                self.key, self.value
            ),
            json!({ "key": self.key, "value": self.value }),
        ))
    }
}
