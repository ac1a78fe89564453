//! `apogee admin <command>`: mqadmin's commands, names and flags (`-n` NameServer, `-c`
//! cluster, `-b` broker, `-t` topic, `-g` group, …) on top of the client's admin API.
//! Every command prints a human table by default and one JSON document with `--json`.

mod acl;
mod acl_file;
mod cluster;
mod controller;
mod dlq;
mod group;
mod ha;
mod message;
mod ops;
mod stats;
mod table;
mod topic;
mod trace;

use anyhow::Context;
use apogee_client::{Admin, ClientConfig, StoreCleaning};
use clap::{Args, Parser, Subcommand};

use crate::say;

#[derive(Parser)]
#[command(
    name = "apogee admin",
    about = "Administer a cluster with mqadmin's commands and flags"
)]
pub struct AdminArgs {
    /// NameServer addresses, ';' separated.
    #[arg(
        short = 'n',
        long = "namesrvAddr",
        global = true,
        env = "NAMESRV_ADDR",
        default_value = "127.0.0.1:9876"
    )]
    namesrv: String,
    /// Access key every request is signed with (an ACL 1.0 account or ACL 2.0 user). Not
    /// `--accessKey`: updateAclConfig uses that for the account it writes, as mqadmin.
    #[arg(
        long = "authAccessKey",
        global = true,
        env = "APOGEE_ACCESS_KEY",
        requires = "auth_secret_key"
    )]
    auth_access_key: Option<String>,
    /// Secret of --authAccessKey.
    #[arg(
        long = "authSecretKey",
        global = true,
        env = "APOGEE_SECRET_KEY",
        hide_env_values = true,
        requires = "auth_access_key"
    )]
    auth_secret_key: Option<String>,
    /// Connect over TLS (RocketMQ's `tls.enable`).
    #[arg(long = "tls", global = true, env = "APOGEE_TLS")]
    tls: bool,
    /// PEM CA certificates the servers' certificates must chain to; without it any server
    /// certificate is accepted (RocketMQ's default test mode).
    #[arg(long = "tlsTrustCertPath", global = true, requires = "tls")]
    tls_trust_cert_path: Option<std::path::PathBuf>,
    /// Print one JSON document instead of tables (for scripts).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
#[command(rename_all = "camelCase")]
enum AdminCommand {
    /// Create or update a topic on one broker (-b) or every master of a cluster (-c).
    UpdateTopic(topic::UpdateTopic),
    /// Delete a topic from a cluster's brokers and the NameServers.
    DeleteTopic(topic::DeleteTopic),
    /// Every topic the NameServer knows (-c: with cluster and consumer groups).
    TopicList(topic::TopicList),
    /// The route of a topic: brokers, addresses, queues and permissions.
    TopicRoute(topic::TopicRoute),
    /// Min and max offsets of each queue of a topic.
    TopicStatus(topic::TopicStatus),
    /// Brokers of every cluster with their load.
    ClusterList(cluster::ClusterList),
    /// A broker's runtime statistics (TPS, today's totals, put latency, disk, flush backlog …).
    BrokerStatus(cluster::BrokerStatus),
    /// A broker's configuration (Java key names).
    GetBrokerConfig(cluster::GetBrokerConfig),
    /// Replication: a master's slaves (acknowledged offset, lag, in sync) or a slave's master.
    HaStatus(ha::HaStatus),
    /// Change one broker configuration key while it runs (e.g. fileReservedTime).
    UpdateBrokerConfig(cluster::UpdateBrokerConfig),
    /// Each NameServer's configuration.
    GetNamesrvConfig(cluster::GetNamesrvConfig),
    /// Change one NameServer configuration key while it runs, on every NameServer.
    UpdateNamesrvConfig(cluster::UpdateNamesrvConfig),
    /// Who leads the controller group (-a any controller).
    GetControllerMetaData(controller::GetControllerMetaData),
    /// Master, epochs and in-sync replicas of broker sets (controller mode).
    GetSyncStateSet(controller::GetSyncStateSet),
    /// Make a chosen broker the master of its set (controller mode).
    ElectMaster(controller::ElectMaster),
    /// Forget a broker set, or some of its brokers, in the controller.
    CleanBrokerMetadata(controller::CleanBrokerMetadata),
    /// Each broker's epoch history: under which master epoch its CommitLog was written.
    GetBrokerEpoch(controller::GetBrokerEpoch),
    /// Each controller node's configuration (-a: `;`-separated nodes).
    GetControllerConfig(controller::GetControllerConfig),
    /// Change a controller setting while it runs, on each node given with -a.
    UpdateControllerConfig(controller::UpdateControllerConfig),
    /// Create or update a subscription (consumer) group.
    UpdateSubGroup(group::UpdateSubGroup),
    /// Delete a subscription group.
    DeleteSubGroup(group::DeleteSubGroup),
    /// A group's progress: broker offset, consumer offset and lag per queue.
    ConsumerProgress(group::ConsumerProgress),
    /// The online members of a consumer group and their subscriptions.
    ConsumerConnection(group::ConsumerConnection),
    /// The online producers of a group.
    ProducerConnection(group::ProducerConnection),
    /// Copy one group's committed offsets to another.
    CloneGroupOffset(group::CloneGroupOffset),
    /// What one consumer client reports about itself: subscriptions, queues held, rates.
    ConsumerStatus(group::ConsumerStatus),
    /// Move a group's offsets on a topic back (or forward) to a point in time, live consumers included.
    ResetOffsetByTime(group::ResetOffsetByTime),
    /// Look a message up by its id (offset message id, or client id with -t).
    QueryMsgById(message::QueryMsgById),
    /// A message's trace (sent, delivered, consumed) from the trace topic.
    QueryMsgTraceById(trace::QueryMsgTraceById),
    /// A consumer group's dead letters (Apogee's own command).
    QueryDlqMsg(dlq::QueryDlqMsg),
    /// Send a group's dead letters (chosen by id, or all) back to it through its retry topic.
    ResendDlqMsg(dlq::ResendDlqMsg),
    /// A message by its client id (UNIQ_KEY) in a topic; with -g -d, have a client consume it.
    QueryMsgByUniqueKey(message::QueryMsgByUniqueKey),
    /// Messages of a topic with a key.
    QueryMsgByKey(message::QueryMsgByKey),
    /// The message at a queue offset.
    QueryMsgByOffset(message::QueryMsgByOffset),
    /// Send one message.
    SendMessage(message::SendMessage),
    /// Read messages from a topic's queues without committing anything.
    ConsumeMessage(message::ConsumeMessage),
    /// Set a NameServer KV config entry (on every NameServer).
    UpdateKvConfig(ops::UpdateKvConfig),
    /// Delete a NameServer KV config entry (on every NameServer).
    DeleteKvConfig(ops::DeleteKvConfig),
    /// Get, put or delete an ordered topic's queue layout (the NameServer's ORDER_TOPIC_CONFIG).
    UpdateOrderConf(ops::UpdateOrderConf),
    /// Take write permission away from every topic of a broker (on every NameServer).
    WipeWritePerm(ops::WritePerm),
    /// Give write permission back to every topic of a broker (on every NameServer).
    AddWritePerm(ops::WritePerm),
    /// Show a queue's consume-queue units.
    QueryCq(ops::QueryCq),
    /// List the producer groups a broker knows and their connections.
    Producer(ops::ProducerList),
    /// Create or update the topics of a JSON file in one request per broker.
    UpdateTopicList(ops::UpdateTopicList),
    /// Every topic's put and get rates and 24-hour counts, per consumer group.
    StatsAll(stats::StatsAll),
    /// Every group's progress on one broker.
    BrokerConsumeStats(stats::BrokerConsumeStats),
    /// Delete the consume queues whose every message has expired.
    #[command(name = "cleanExpiredCQ")]
    CleanExpiredCq(ops::CleaningTarget),
    /// Delete the consume queues of topics a broker has no config for.
    CleanUnusedTopic(ops::CleaningTarget),
    /// Delete expired CommitLog files now, whatever the deleteWhen hour.
    DeleteExpiredCommitLog(ops::CleaningTarget),
    /// Create an access-control user (ACL 2.0).
    CreateUser(acl::CreateUser),
    /// Change a user's password, type or status.
    UpdateUser(acl::UpdateUser),
    /// Delete a user and its ACL.
    DeleteUser(acl::DeleteUser),
    /// Show one user.
    GetUser(acl::GetUser),
    /// List users (-f: whose name contains FILTER).
    ListUser(acl::ListUser),
    /// Grant or refuse actions on resources to a user (merged into its policies).
    CreateAcl(acl::UpsertAcl),
    /// Same as createAcl: merge entries into a user's policies.
    UpdateAcl(acl::UpsertAcl),
    /// Delete a user's ACL, or one resource's entry (-r).
    DeleteAcl(acl::DeleteAcl),
    /// Show a user's ACL.
    GetAcl(acl::GetAcl),
    /// List ACLs (-s: subject filter, -r: resource filter).
    ListAcl(acl::ListAcl),
    /// Copy users from one broker to another (created or updated there).
    CopyUser(acl::CopyUser),
    /// Copy ACLs from one broker to another (merged into the target's).
    CopyAcl(acl::CopyAcl),
    /// Create or update an ACL 1.0 account in plain_acl.yml.
    UpdateAclConfig(acl_file::UpdateAclConfig),
    /// Delete an ACL 1.0 account.
    #[command(alias = "deleteAccessConfig")]
    DeleteAclConfig(acl_file::DeleteAclConfig),
    /// Replace the ACL 1.0 global white addresses.
    UpdateGlobalWhiteAddr(acl_file::UpdateGlobalWhiteAddr),
    /// The version of each broker's plain_acl.yml.
    ClusterAclConfigVersion(acl_file::ClusterAclConfigVersion),
    /// Every ACL 1.0 account and global white address.
    #[command(alias = "getAccessConfigSubCommand")]
    GetAclConfig(acl_file::GetAclConfig),
}

/// What a command prints: tables for people, one JSON value for scripts.
pub struct Report {
    pub human: String,
    pub json: serde_json::Value,
}

impl Report {
    pub fn new(human: impl Into<String>, json: serde_json::Value) -> Self {
        Self {
            human: human.into(),
            json,
        }
    }
}

pub fn run(args: AdminArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let mut client = ClientConfig::new(&args.namesrv);
        client.instance_name = format!("apogee-admin-{}", std::process::id());
        if let (Some(ak), Some(sk)) = (&args.auth_access_key, &args.auth_secret_key) {
            client = client.credentials(ak.clone(), sk.clone());
        }
        if args.tls {
            client = client.tls(args.tls_trust_cert_path.as_deref())?;
        }
        let admin = Admin::start(client.clone())
            .await
            .with_context(|| format!("connecting to the NameServer at {}", args.namesrv))?;
        let report = dispatch(&admin, &client, args.command).await;
        admin.instance().shutdown();
        report
    })?;
    if args.json {
        say!("{}", serde_json::to_string_pretty(&report.json)?);
    } else {
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), "{}", report.human);
    }
    Ok(())
}

async fn dispatch(
    admin: &Admin,
    client: &ClientConfig,
    command: AdminCommand,
) -> anyhow::Result<Report> {
    use AdminCommand as C;
    match command {
        C::UpdateTopic(a) => a.run(admin).await,
        C::DeleteTopic(a) => a.run(admin).await,
        C::TopicList(a) => a.run(admin).await,
        C::TopicRoute(a) => a.run(admin).await,
        C::TopicStatus(a) => a.run(admin).await,
        C::ClusterList(a) => a.run(admin).await,
        C::BrokerStatus(a) => a.run(admin).await,
        C::HaStatus(a) => a.run(admin).await,
        C::GetBrokerConfig(a) => a.run(admin).await,
        C::UpdateBrokerConfig(a) => a.run(admin).await,
        C::GetNamesrvConfig(a) => a.run(admin).await,
        C::UpdateNamesrvConfig(a) => a.run(admin).await,
        C::GetControllerMetaData(a) => a.run(admin).await,
        C::GetSyncStateSet(a) => a.run(admin).await,
        C::ElectMaster(a) => a.run(admin).await,
        C::CleanBrokerMetadata(a) => a.run(admin).await,
        C::GetBrokerEpoch(a) => a.run(admin).await,
        C::GetControllerConfig(a) => a.run(admin).await,
        C::UpdateControllerConfig(a) => a.run(admin).await,
        C::CloneGroupOffset(a) => a.run(admin).await,
        C::ConsumerStatus(a) => a.run(admin).await,
        C::UpdateSubGroup(a) => a.run(admin).await,
        C::DeleteSubGroup(a) => a.run(admin).await,
        C::ConsumerProgress(a) => a.run(admin).await,
        C::ConsumerConnection(a) => a.run(admin).await,
        C::ProducerConnection(a) => a.run(admin).await,
        C::ResetOffsetByTime(a) => a.run(admin).await,
        C::QueryMsgById(a) => a.run(admin).await,
        C::QueryMsgTraceById(a) => a.run(admin).await,
        C::QueryDlqMsg(a) => a.run(admin).await,
        C::ResendDlqMsg(a) => a.run(admin, client).await,
        C::QueryMsgByUniqueKey(a) => a.run(admin).await,
        C::QueryMsgByKey(a) => a.run(admin).await,
        C::QueryMsgByOffset(a) => a.run(admin).await,
        C::SendMessage(a) => a.run(client).await,
        C::ConsumeMessage(a) => a.run(admin).await,
        C::UpdateKvConfig(a) => a.run(admin).await,
        C::DeleteKvConfig(a) => a.run(admin).await,
        C::UpdateOrderConf(a) => a.run(admin).await,
        C::WipeWritePerm(a) => a.run(admin, false).await,
        C::AddWritePerm(a) => a.run(admin, true).await,
        C::QueryCq(a) => a.run(admin).await,
        C::Producer(a) => a.run(admin).await,
        C::UpdateTopicList(a) => a.run(admin).await,
        C::StatsAll(a) => a.run(admin).await,
        C::BrokerConsumeStats(a) => a.run(admin).await,
        C::CleanExpiredCq(a) => a.run(admin, StoreCleaning::ExpiredConsumeQueues).await,
        C::CleanUnusedTopic(a) => a.run(admin, StoreCleaning::UnusedTopics).await,
        C::DeleteExpiredCommitLog(a) => a.run(admin, StoreCleaning::ExpiredCommitLog).await,
        C::CreateUser(a) => a.run(admin).await,
        C::UpdateUser(a) => a.run(admin).await,
        C::DeleteUser(a) => a.run(admin).await,
        C::GetUser(a) => a.run(admin).await,
        C::ListUser(a) => a.run(admin).await,
        C::CreateAcl(a) => a.run(admin, true).await,
        C::UpdateAcl(a) => a.run(admin, false).await,
        C::DeleteAcl(a) => a.run(admin).await,
        C::GetAcl(a) => a.run(admin).await,
        C::ListAcl(a) => a.run(admin).await,
        C::CopyUser(a) => a.run(admin).await,
        C::CopyAcl(a) => a.run(admin).await,
        C::UpdateAclConfig(a) => a.run(admin).await,
        C::DeleteAclConfig(a) => a.run(admin).await,
        C::UpdateGlobalWhiteAddr(a) => a.run(admin).await,
        C::ClusterAclConfigVersion(a) => a.run(admin).await,
        C::GetAclConfig(a) => a.run(admin).await,
    }
}

/// Brokers a command acts on: one address (-b) or every master of a cluster (-c).
#[derive(Args)]
pub struct BrokerTarget {
    /// Broker address (ip:port).
    #[arg(short = 'b', long = "brokerAddr", required_unless_present = "cluster")]
    broker: Option<String>,
    /// Every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

impl BrokerTarget {
    /// Whether the command names a cluster (-c) rather than one broker.
    pub fn is_cluster(&self) -> bool {
        self.broker.is_none() && self.cluster.is_some()
    }

    pub async fn addrs(&self, admin: &Admin) -> anyhow::Result<Vec<String>> {
        match (&self.broker, &self.cluster) {
            (Some(b), _) => Ok(vec![b.clone()]),
            (None, Some(c)) => Ok(admin.cluster_masters(c).await?),
            (None, None) => anyhow::bail!("give a broker address (-b) or a cluster name (-c)"),
        }
    }
}

/// Local time as `yyyy-MM-ddTHH:mm:ss.SSS` (one token, so tables split on whitespace); `-` for none.
pub fn human_time(ms: i64) -> String {
    use chrono::TimeZone as _;
    if ms <= 0 {
        return "-".into();
    }
    chrono::Local
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// A point in time as mqadmin takes it: `now`, milliseconds since the epoch, or local time
/// `yyyy-MM-dd#HH:mm:ss:SSS`.
pub fn parse_time(text: &str) -> Result<i64, String> {
    use chrono::TimeZone as _;
    if text.eq_ignore_ascii_case("now") {
        return Ok(chrono::Utc::now().timestamp_millis());
    }
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d#%H:%M:%S:%3f").map_err(
        |_| {
            format!(
                "`{text}` is not a time: use `now`, milliseconds since the epoch, or yyyy-MM-dd#HH:mm:ss:SSS"
            )
        },
    )?;
    chrono::Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| format!("`{text}` does not exist in the local time zone"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_time_texts_should_parse_like_mqadmin() {
        assert_eq!(parse_time("1700000000000"), Ok(1_700_000_000_000));
        assert!(parse_time("now").is_ok_and(|t| t > 1_700_000_000_000));
        let ms = parse_time("2026-11-21#10:00:00:123").unwrap();
        assert!(human_time(ms).starts_with("2026-11-21T10:00:00.123"));
        assert!(
            parse_time("yesterday")
                .unwrap_err()
                .contains("yyyy-MM-dd#HH:mm:ss:SSS")
        );
        assert_eq!(human_time(0), "-");
    }
}
