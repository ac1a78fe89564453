//! Controller-mode commands (mqadmin's names and flags): `getControllerMetaData`,
//! `getSyncStateSet`, `electMaster`, `cleanBrokerMetadata`, `getBrokerEpoch`,
//! `getControllerConfig` and `updateControllerConfig`. `-a` is any controller of the
//! group (`;`-separated list accepted); changes go to the leader it names. mqadmin's `-bn` is
//! accepted for `--brokerName`.

use std::collections::BTreeMap;

use apogee_client::{Admin, BrokerReplicasInfo, ReplicaIdentity};
use clap::Args;

use super::Report;

#[derive(Args)]
pub struct GetControllerMetaData {
    /// Controller address (ip:port).
    #[arg(short = 'a', long = "controllerAddress")]
    controller: String,
}

impl GetControllerMetaData {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let m = admin.controller_metadata(&self.controller).await?;
        let mut human = format!(
            "#ControllerGroup\t{}\n#ControllerLeaderId\t{}\n#ControllerLeaderAddress\t{}\n",
            m.group.clone().unwrap_or_default(),
            m.controller_leader_id.clone().unwrap_or_default(),
            m.controller_leader_address.clone().unwrap_or_default(),
        );
        let peers = m.peers.clone().unwrap_or_default();
        for peer in peers.split(';').filter(|p| !p.is_empty()) {
            human.push_str(&format!("#Peer:\t{peer}\n"));
        }
        let json = serde_json::json!({
            "group": m.group,
            "controllerLeaderId": m.controller_leader_id,
            "controllerLeaderAddress": m.controller_leader_address,
            "isLeader": m.is_leader,
            "peers": peers.split(';').filter(|p| !p.is_empty()).collect::<Vec<_>>(),
        });
        Ok(Report::new(human, json))
    }
}

#[derive(Args)]
pub struct GetSyncStateSet {
    /// Controller address (ip:port).
    #[arg(short = 'a', long = "controllerAddress")]
    controller: String,
    /// Broker set name.
    #[arg(short = 'b', long = "brokerName", required_unless_present = "cluster")]
    broker_name: Option<String>,
    /// Every broker set of this cluster (names from the NameServer).
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

fn identity(r: &ReplicaIdentity) -> String {
    format!(
        "ReplicaIdentity{{brokerName={}, brokerId={}, brokerAddress={}, alive={}}}",
        r.broker_name, r.broker_id, r.broker_address, r.alive
    )
}

fn render_sync_state(info: &BrokerReplicasInfo) -> String {
    let mut out = String::new();
    for (name, r) in &info.replicas_info_table {
        out.push_str(&format!(
            "\n#brokerName\t{name}\n#MasterBrokerId\t{}\n#MasterAddr\t{}\n#MasterEpoch\t{}\n#SyncStateSetEpoch\t{}\n#SyncStateSetNums\t{}\n",
            r.master_broker_id.map_or_else(String::new, |m| m.to_string()),
            r.master_address.clone().unwrap_or_default(),
            r.master_epoch,
            r.sync_state_set_epoch,
            r.in_sync_replicas.len(),
        ));
        for replica in &r.in_sync_replicas {
            out.push_str(&format!("\nInSyncReplica:\t{}\n", identity(replica)));
        }
        for replica in &r.not_in_sync_replicas {
            out.push_str(&format!("\nNotInSyncReplica:\t{}\n", identity(replica)));
        }
    }
    out
}

impl GetSyncStateSet {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let names = match (&self.broker_name, &self.cluster) {
            (Some(name), _) => vec![name.clone()],
            (None, Some(cluster)) => {
                let info = admin.cluster_info().await?;
                info.cluster_addr_table
                    .get(cluster.as_str())
                    .map(|names| names.iter().map(ToString::to_string).collect())
                    .ok_or_else(|| {
                        anyhow::anyhow!("cluster {cluster} is unknown to the NameServer")
                    })?
            }
            (None, None) => Vec::new(),
        };
        let info = admin.sync_state_data(&self.controller, &names).await?;
        Ok(Report::new(
            render_sync_state(&info),
            serde_json::to_value(&info)?,
        ))
    }
}

#[derive(Args)]
pub struct ElectMaster {
    /// Controller address (ip:port).
    #[arg(short = 'a', long = "controllerAddress")]
    controller: String,
    /// The id of the broker to make master.
    #[arg(short = 'b', long = "brokerId")]
    broker_id: i64,
    /// Broker set name (mqadmin: -bn).
    #[arg(long = "brokerName")]
    broker_name: String,
    /// Cluster name.
    #[arg(short = 'c', long = "clusterName")]
    cluster: String,
}

impl ElectMaster {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let elected = admin
            .elect_master(
                &self.controller,
                &self.cluster,
                &self.broker_name,
                self.broker_id,
            )
            .await?;
        let h = &elected.header;
        let mut human = format!(
            "\n#ClusterName\t{}\n#BrokerName\t{}\n#BrokerMasterAddr\t{}\n#MasterEpoch\t{}\n#SyncStateSetEpoch\t{}\n",
            self.cluster,
            self.broker_name,
            h.master_address.clone().unwrap_or_default(),
            h.master_epoch.unwrap_or_default(),
            h.sync_state_set_epoch.unwrap_or_default(),
        );
        if let Some(group) = &elected.body.broker_member_group {
            for (id, addr) in &group.broker_addrs {
                human.push_str(&format!("\t#Broker\t{id}\t{addr}\n"));
            }
        }
        let json = serde_json::json!({
            "masterBrokerId": h.master_broker_id,
            "masterAddress": h.master_address,
            "masterEpoch": h.master_epoch,
            "syncStateSetEpoch": h.sync_state_set_epoch,
            "syncStateSet": elected.body.sync_state_set,
        });
        Ok(Report::new(human, json))
    }
}

#[derive(Args)]
pub struct CleanBrokerMetadata {
    /// Controller address (ip:port).
    #[arg(short = 'a', long = "controllerAddress")]
    controller: String,
    /// Broker set name (mqadmin: -bn).
    #[arg(long = "brokerName")]
    broker_name: String,
    /// Broker ids to forget, e.g. `1;2` (default: the whole set).
    #[arg(short = 'b', long = "brokerControllerIdsToClean")]
    ids: Option<String>,
    /// Cluster name (required unless -l).
    #[arg(
        short = 'c',
        long = "clusterName",
        required_unless_present = "clean_living"
    )]
    cluster: Option<String>,
    /// Also forget brokers that are alive.
    #[arg(short = 'l', long = "cleanLivingBroker")]
    clean_living: bool,
}

impl CleanBrokerMetadata {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        admin
            .clean_broker_metadata(
                &self.controller,
                self.cluster.as_deref(),
                &self.broker_name,
                self.ids.as_deref(),
                self.clean_living,
            )
            .await?;
        Ok(Report::new(
            format!(
                "clear broker {} metadata from controller success!\n",
                self.broker_name
            ),
            serde_json::json!({"cleaned": self.broker_name, "ids": self.ids}),
        ))
    }
}

#[derive(Args)]
pub struct GetBrokerEpoch {
    /// Broker set name (every broker of it, from the NameServer).
    #[arg(short = 'b', long = "brokerName", required_unless_present = "cluster")]
    broker_name: Option<String>,
    /// Every broker set of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

impl GetBrokerEpoch {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let info = admin.cluster_info().await?;
        let mut human = String::new();
        let mut json = serde_json::Map::new();
        for (name, data) in &info.broker_addr_table {
            let wanted = match (&self.broker_name, &self.cluster) {
                (Some(b), _) => name.as_str() == b,
                (None, Some(c)) => data.cluster.as_str() == c,
                (None, None) => false,
            };
            if !wanted {
                continue;
            }
            for addr in data.broker_addrs.values() {
                let cache = admin.broker_epoch_cache(addr).await?;
                human.push_str(&format!(
                    "\n#clusterName\t{}\n#brokerName\t{}\n#brokerAddr\t{addr}\n#brokerId\t{}\n",
                    cache.cluster_name, cache.broker_name, cache.broker_id
                ));
                for e in &cache.epoch_list {
                    human.push_str(&format!(
                        "#Epoch: EpochEntry{{epoch={}, startOffset={}, endOffset={}}}\n",
                        e.epoch, e.start_offset, e.end_offset
                    ));
                }
                json.insert(addr.clone(), serde_json::to_value(&cache)?);
            }
        }
        Ok(Report::new(human, serde_json::Value::Object(json)))
    }
}

/// `127.0.0.1:9878;127.0.0.1:9868` → the addresses.
fn nodes(list: &str) -> Vec<String> {
    list.split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(ToOwned::to_owned)
        .collect()
}

#[derive(Args)]
pub struct GetControllerConfig {
    /// Controller addresses (ip:port;ip:port).
    #[arg(short = 'a', long = "controllerAddress")]
    controller: String,
}

impl GetControllerConfig {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let mut human = String::new();
        let mut json = serde_json::Map::new();
        for addr in nodes(&self.controller) {
            let config = admin.controller_config(&addr).await?;
            human.push_str(&format!("============{addr}============\n"));
            human.push_str(&super::cluster::key_values(&config));
            json.insert(addr, serde_json::to_value(&config)?);
        }
        Ok(Report::new(human, serde_json::Value::Object(json)))
    }
}

#[derive(Args)]
pub struct UpdateControllerConfig {
    /// Controller addresses (ip:port;ip:port); each is updated.
    #[arg(short = 'a', long = "controllerAddress")]
    controller: String,
    /// Key (enableElectUncleanMaster, notifyBrokerRoleChanged, inactiveMasterGraceMs).
    #[arg(short = 'k', long = "key")]
    key: String,
    #[arg(short = 'v', long = "value")]
    value: String,
}

impl UpdateControllerConfig {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let change = BTreeMap::from([(self.key.clone(), self.value.clone())]);
        let addrs = nodes(&self.controller);
        for addr in &addrs {
            admin.update_controller_config(addr, &change).await?;
        }
        let human = format!(
            "update controller config success!{addrs:?}\n{} : {}\n",
            self.key, self.value
        );
        Ok(Report::new(
            human,
            serde_json::json!({ "controllers": addrs, "key": self.key, "value": self.value }),
        ))
    }
}
