//! User and ACL commands with mqadmin's names and flags (createUser … listAcl). Writes with -c
//! go to every broker of the cluster, slaves included; reads with -c ask the masters.

use apogee_client::{AclInfo, Admin, PolicyEntryInfo, PolicyInfo, UserInfo};
use clap::Args;
use serde_json::json;

use super::table::Table;
use super::{BrokerTarget, Report};

/// Every broker a write goes to: one (-b) or all of a cluster (-c).
#[derive(Args)]
pub struct WriteTarget {
    #[arg(short = 'b', long = "brokerAddr", required_unless_present = "cluster")]
    broker: Option<String>,
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

impl WriteTarget {
    pub(super) async fn addrs(&self, admin: &Admin) -> anyhow::Result<Vec<String>> {
        match &self.broker {
            Some(b) => Ok(vec![b.clone()]),
            None => Ok(admin.cluster_broker_addrs(self.cluster.as_deref()).await?),
        }
    }
}

pub(super) fn done(addrs: &[String]) -> Report {
    Report::new("success\n", json!({"success": true, "brokers": addrs}))
}

/// `createUser -u NAME -p PASSWORD [-t Super|Normal]`.
#[derive(Args)]
pub struct CreateUser {
    #[command(flatten)]
    target: WriteTarget,
    #[arg(short = 'u', long = "username")]
    username: String,
    #[arg(short = 'p', long = "password")]
    password: String,
    #[arg(short = 't', long = "userType")]
    user_type: Option<String>,
}

impl CreateUser {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let user = UserInfo {
            username: Some(self.username),
            password: Some(self.password),
            user_type: self.user_type,
            user_status: None,
        };
        let addrs = self.target.addrs(admin).await?;
        for addr in &addrs {
            admin.create_user(addr, &user).await?;
        }
        Ok(done(&addrs))
    }
}

/// `updateUser -u NAME` with one of `-p`, `-t`, `-s enable|disable`.
#[derive(Args)]
#[group(id = "change", required = true, multiple = false, args = ["password", "user_type", "user_status"])]
pub struct UpdateUser {
    #[command(flatten)]
    target: WriteTarget,
    #[arg(short = 'u', long = "username")]
    username: String,
    #[arg(short = 'p', long = "password")]
    password: Option<String>,
    #[arg(short = 't', long = "userType")]
    user_type: Option<String>,
    #[arg(short = 's', long = "userStatus")]
    user_status: Option<String>,
}

impl UpdateUser {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let user = UserInfo {
            username: Some(self.username),
            password: self.password,
            user_type: self.user_type,
            user_status: self.user_status,
        };
        let addrs = self.target.addrs(admin).await?;
        for addr in &addrs {
            admin.update_user(addr, &user).await?;
        }
        Ok(done(&addrs))
    }
}

/// `deleteUser -u NAME`.
#[derive(Args)]
pub struct DeleteUser {
    #[command(flatten)]
    target: WriteTarget,
    #[arg(short = 'u', long = "username")]
    username: String,
}

impl DeleteUser {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let addrs = self.target.addrs(admin).await?;
        for addr in &addrs {
            admin.delete_user(addr, &self.username).await?;
        }
        Ok(done(&addrs))
    }
}

fn user_table(users: &[(String, UserInfo)]) -> Report {
    let mut table = Table::new(&[
        "#Broker",
        "#UserName",
        "#Password",
        "#UserType",
        "#UserStatus",
    ]);
    for (addr, u) in users {
        let cell = |v: &Option<String>| v.clone().unwrap_or_default();
        table.row(vec![
            addr.clone(),
            cell(&u.username),
            cell(&u.password),
            cell(&u.user_type),
            cell(&u.user_status),
        ]);
    }
    let json: Vec<_> = users
        .iter()
        .map(|(addr, u)| json!({"broker": addr, "user": u}))
        .collect();
    Report::new(table.render(), json!(json))
}

/// `getUser -u NAME`.
#[derive(Args)]
pub struct GetUser {
    #[command(flatten)]
    target: BrokerTarget,
    #[arg(short = 'u', long = "username")]
    username: String,
}

impl GetUser {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let mut found = Vec::new();
        for addr in self.target.addrs(admin).await? {
            if let Some(user) = admin.user(&addr, &self.username).await? {
                found.push((addr, user));
            }
        }
        anyhow::ensure!(!found.is_empty(), "no user {}", self.username);
        Ok(user_table(&found))
    }
}

/// `listUser [-f FILTER]`.
#[derive(Args)]
pub struct ListUser {
    #[command(flatten)]
    target: BrokerTarget,
    #[arg(short = 'f', long = "filter")]
    filter: Option<String>,
}

impl ListUser {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let mut all = Vec::new();
        for addr in self.target.addrs(admin).await? {
            for user in admin.users(&addr, self.filter.as_deref()).await? {
                all.push((addr.clone(), user));
            }
        }
        Ok(user_table(&all))
    }
}

/// `createAcl` / `updateAcl -s User:NAME -r RES[,RES] -a ACT[,ACT] -d Allow|Deny [-i IP[,IP]]`.
#[derive(Args)]
pub struct UpsertAcl {
    #[command(flatten)]
    target: WriteTarget,
    #[arg(short = 's', long = "subject")]
    subject: String,
    #[arg(short = 'r', long = "resources", value_delimiter = ',')]
    resources: Vec<String>,
    #[arg(short = 'a', long = "actions", value_delimiter = ',')]
    actions: Vec<String>,
    #[arg(short = 'd', long = "decision")]
    decision: String,
    #[arg(short = 'i', long = "sourceIp", value_delimiter = ',')]
    source_ips: Vec<String>,
}

impl UpsertAcl {
    pub async fn run(self, admin: &Admin, create: bool) -> anyhow::Result<Report> {
        let entries = self
            .resources
            .iter()
            .map(|r| PolicyEntryInfo {
                resource: Some(r.trim().to_owned()),
                actions: self.actions.clone(),
                decision: Some(self.decision.clone()),
                source_ips: self.source_ips.clone(),
            })
            .collect();
        let acl = AclInfo {
            subject: Some(self.subject.clone()),
            policies: vec![PolicyInfo {
                entries,
                policy_type: None,
            }],
        };
        let addrs = self.target.addrs(admin).await?;
        for addr in &addrs {
            admin.upsert_acl(addr, &acl, create).await?;
        }
        Ok(done(&addrs))
    }
}

/// `deleteAcl -s User:NAME [-r RESOURCE]`.
#[derive(Args)]
pub struct DeleteAcl {
    #[command(flatten)]
    target: WriteTarget,
    #[arg(short = 's', long = "subject")]
    subject: String,
    #[arg(short = 'r', long = "resources")]
    resource: Option<String>,
}

impl DeleteAcl {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let addrs = self.target.addrs(admin).await?;
        for addr in &addrs {
            admin
                .delete_acl(addr, &self.subject, self.resource.as_deref())
                .await?;
        }
        Ok(done(&addrs))
    }
}

fn acl_table(acls: &[(String, AclInfo)]) -> Report {
    let mut table = Table::new(&[
        "#Broker",
        "#Subject",
        "#PolicyType",
        "#Resource",
        "#Actions",
        "#SourceIps",
        "#Decision",
    ]);
    for (addr, acl) in acls {
        for policy in &acl.policies {
            for e in &policy.entries {
                table.row(vec![
                    addr.clone(),
                    acl.subject.clone().unwrap_or_default(),
                    policy.policy_type.clone().unwrap_or_default(),
                    e.resource.clone().unwrap_or_default(),
                    e.actions.join(","),
                    e.source_ips.join(","),
                    e.decision.clone().unwrap_or_default(),
                ]);
            }
        }
    }
    let json: Vec<_> = acls
        .iter()
        .map(|(addr, a)| json!({"broker": addr, "acl": a}))
        .collect();
    Report::new(table.render(), json!(json))
}

/// `getAcl -s User:NAME`.
#[derive(Args)]
pub struct GetAcl {
    #[command(flatten)]
    target: BrokerTarget,
    #[arg(short = 's', long = "subject")]
    subject: String,
}

impl GetAcl {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let mut found = Vec::new();
        for addr in self.target.addrs(admin).await? {
            if let Some(acl) = admin.acl(&addr, &self.subject).await? {
                found.push((addr, acl));
            }
        }
        Ok(acl_table(&found))
    }
}

/// `listAcl [-s SUBJECT_FILTER] [-r RESOURCE_FILTER]`.
#[derive(Args)]
pub struct ListAcl {
    #[command(flatten)]
    target: BrokerTarget,
    #[arg(short = 's', long = "subject")]
    subject: Option<String>,
    #[arg(short = 'r', long = "resource")]
    resource: Option<String>,
}

impl ListAcl {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let mut all = Vec::new();
        for addr in self.target.addrs(admin).await? {
            let acls = admin
                .acls(&addr, self.subject.as_deref(), self.resource.as_deref())
                .await?;
            all.extend(acls.into_iter().map(|a| (addr.clone(), a)));
        }
        Ok(acl_table(&all))
    }
}

/// `copyUser -f FROM_BROKER -t TO_BROKER [-u NAME[,NAME]]`: users (all by default) created or
/// updated on the target as they are on the source.
#[derive(Args)]
pub struct CopyUser {
    #[arg(short = 'f', long = "fromBroker")]
    from: String,
    #[arg(short = 't', long = "toBroker")]
    to: String,
    #[arg(short = 'u', long = "usernames", value_delimiter = ',')]
    usernames: Vec<String>,
}

impl CopyUser {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let users = if self.usernames.is_empty() {
            admin.users(&self.from, None).await?
        } else {
            let mut users = Vec::new();
            for name in &self.usernames {
                let user = admin.user(&self.from, name.trim()).await?;
                users.push(user.ok_or_else(|| anyhow::anyhow!("no user {name} on {}", self.from))?);
            }
            users
        };
        let mut copied = Vec::new();
        for user in &users {
            let name = user.username.clone().unwrap_or_default();
            if admin.user(&self.to, &name).await?.is_some() {
                admin.update_user(&self.to, user).await?;
            } else {
                admin.create_user(&self.to, user).await?;
            }
            copied.push(name);
        }
        Ok(Report::new(
            format!("copied {} user(s) to {}\n", copied.len(), self.to),
            json!({"to": self.to, "users": copied}),
        ))
    }
}

/// `copyAcl -f FROM_BROKER -t TO_BROKER [-s SUBJECT[,SUBJECT]]`: ACLs (all by default) merged
/// into the target's.
#[derive(Args)]
pub struct CopyAcl {
    #[arg(short = 'f', long = "fromBroker")]
    from: String,
    #[arg(short = 't', long = "toBroker")]
    to: String,
    #[arg(short = 's', long = "subjects", value_delimiter = ',')]
    subjects: Vec<String>,
}

impl CopyAcl {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let acls = if self.subjects.is_empty() {
            admin.acls(&self.from, None, None).await?
        } else {
            let mut acls = Vec::new();
            for subject in &self.subjects {
                let acl = admin.acl(&self.from, subject.trim()).await?;
                acls.push(
                    acl.ok_or_else(|| anyhow::anyhow!("no ACL of {subject} on {}", self.from))?,
                );
            }
            acls
        };
        let mut copied = Vec::new();
        for acl in &acls {
            let subject = acl.subject.clone().unwrap_or_default();
            let exists = admin.acl(&self.to, &subject).await?.is_some();
            admin.upsert_acl(&self.to, acl, !exists).await?;
            copied.push(subject);
        }
        Ok(Report::new(
            format!("copied {} ACL(s) to {}\n", copied.len(), self.to),
            json!({"to": self.to, "subjects": copied}),
        ))
    }
}
