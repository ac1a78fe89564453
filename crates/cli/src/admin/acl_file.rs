//! ACL 1.0 commands with mqadmin's names and flags: updateAclConfig, deleteAclConfig,
//! updateGlobalWhiteAddr (writes: every broker of a cluster with -c) and
//! clusterAclConfigVersion, getAclConfig (reads: the masters).

use apogee_client::{Admin, CreateAccessConfigRequestHeader};
use clap::Args;
use serde_json::json;

use super::acl::{WriteTarget, done};
use super::table::Table;
use super::{BrokerTarget, Report};

/// `updateAclConfig -a AK -s SK [-w WHITE] [-i TOPIC_PERM] [-u GROUP_PERM] [-t t=PERM,..]
/// [-g g=PERM,..] [-m true|false]`.
#[derive(Args)]
pub struct UpdateAclConfig {
    #[command(flatten)]
    target: WriteTarget,
    #[arg(short = 'a', long = "accessKey")]
    access_key: String,
    #[arg(short = 's', long = "secretKey")]
    secret_key: String,
    #[arg(short = 'w', long = "whiteRemoteAddress")]
    white_remote_address: Option<String>,
    #[arg(short = 'i', long = "defaultTopicPerm")]
    default_topic_perm: Option<String>,
    #[arg(short = 'u', long = "defaultGroupPerm")]
    default_group_perm: Option<String>,
    #[arg(short = 't', long = "topicPerms")]
    topic_perms: Option<String>,
    #[arg(short = 'g', long = "groupPerms")]
    group_perms: Option<String>,
    #[arg(short = 'm', long = "admin")]
    admin: Option<bool>,
}

impl UpdateAclConfig {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let account = CreateAccessConfigRequestHeader {
            access_key: self.access_key,
            secret_key: Some(self.secret_key),
            white_remote_address: self.white_remote_address,
            admin: self.admin,
            default_topic_perm: self.default_topic_perm,
            default_group_perm: self.default_group_perm,
            topic_perms: self.topic_perms,
            group_perms: self.group_perms,
        };
        let addrs = self.target.addrs(admin).await?;
        for addr in &addrs {
            admin.update_acl_config(addr, &account).await?;
        }
        Ok(done(&addrs))
    }
}

/// `deleteAclConfig -a AK`.
#[derive(Args)]
pub struct DeleteAclConfig {
    #[command(flatten)]
    target: WriteTarget,
    #[arg(short = 'a', long = "accessKey")]
    access_key: String,
}

impl DeleteAclConfig {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let addrs = self.target.addrs(admin).await?;
        for addr in &addrs {
            admin.delete_acl_config(addr, &self.access_key).await?;
        }
        Ok(done(&addrs))
    }
}

/// `updateGlobalWhiteAddr -g PATTERN[,PATTERN]`.
#[derive(Args)]
pub struct UpdateGlobalWhiteAddr {
    #[command(flatten)]
    target: WriteTarget,
    #[arg(short = 'g', long = "globalWhiteRemoteAddresses")]
    addrs: String,
}

impl UpdateGlobalWhiteAddr {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let addrs = self.target.addrs(admin).await?;
        for addr in &addrs {
            admin.update_global_white_addrs(addr, &self.addrs).await?;
        }
        Ok(done(&addrs))
    }
}

/// `clusterAclConfigVersion`: each broker's ACL file version.
#[derive(Args)]
pub struct ClusterAclConfigVersion {
    #[command(flatten)]
    target: BrokerTarget,
}

impl ClusterAclConfigVersion {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let mut table = Table::new(&["#Cluster", "#BrokerName", "#BrokerAddr", "#AclFileVersion"]);
        let mut rows = Vec::new();
        for addr in self.target.addrs(admin).await? {
            let v = admin.acl_config_version(&addr).await?;
            let version: serde_json::Value = serde_json::from_str(&v.version).unwrap_or_default();
            table.row(vec![
                v.cluster_name.clone(),
                v.broker_name.clone(),
                v.broker_addr.clone(),
                version["counter"].to_string(),
            ]);
            rows.push(json!({
                "clusterName": v.cluster_name,
                "brokerName": v.broker_name,
                "brokerAddr": v.broker_addr,
                "version": version,
            }));
        }
        Ok(Report::new(table.render(), json!(rows)))
    }
}

/// `getAclConfig`: every account and global white address of each broker.
#[derive(Args)]
pub struct GetAclConfig {
    #[command(flatten)]
    target: BrokerTarget,
}

impl GetAclConfig {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let mut human = String::new();
        let mut all = Vec::new();
        for addr in self.target.addrs(admin).await? {
            let config = admin.acl_config(&addr).await?;
            human.push_str(&format!(
                "{addr} globalWhiteRemoteAddresses: {}\n",
                config.global_white_addrs.join(",")
            ));
            let mut table = Table::new(&["#AccessKey", "#Admin", "#TopicPerms", "#GroupPerms"]);
            for a in &config.plain_access_configs {
                table.row(vec![
                    a.access_key.clone(),
                    a.admin.to_string(),
                    a.topic_perms.join(","),
                    a.group_perms.join(","),
                ]);
            }
            human.push_str(&table.render());
            all.push(json!({"broker": addr, "config": config}));
        }
        Ok(Report::new(human, json!(all)))
    }
}
