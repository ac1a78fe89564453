//! Cluster and broker commands: clusterList.

use apogee_client::Admin;
use clap::Args;
use serde_json::json;

use super::Report;
use super::table::Table;

#[derive(Args)]
pub struct ClusterList {
    /// Only this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

impl ClusterList {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let info = admin.cluster_info().await?;
        let mut table = Table::new(&["Cluster Name", "Broker Name", "BID", "Addr"]);
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
                    table.row(vec![
                        cluster.to_string(),
                        name.to_string(),
                        id.to_string(),
                        addr.clone(),
                    ]);
                    rows.push(json!({
                        "cluster": cluster.as_str(),
                        "brokerName": name.as_str(),
                        "brokerId": id,
                        "addr": addr,
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
