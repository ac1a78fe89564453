//! Broker configuration: the raw, deserialisable form (TOML file or Java `broker.conf` →
//! env → CLI, unknown keys refused), and the validated [`BrokerConfig`] that `run()` takes.
//!
//! ```text
//! broker.toml ─┐
//!              ├─► toml::Table ─► env APOGEE_BROKER__* ─► --set ─► RawBrokerConfig ─► BrokerConfig
//! broker.conf ─┘ (java_import: Java keys mapped, unknown Java keys reported, not fatal)
//! ```

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use apogee_model::{BrokerName, ClusterName, Perm};
use apogee_protocol::FrameLimits;
use apogee_store::config::parse_delay_levels;
use apogee_store::retention::{RetentionConfig, parse_delete_when};
use apogee_store::{FlushMode, StoreConfig};
use serde::{Deserialize, Serialize};

use crate::BrokerError;
pub use crate::config_ha::{BrokerRole, HaConfig};

/// The annotated default file, embedded so `apogee broker` runs without one.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../../config/broker.toml");

/// Configuration as written by a person; see `config/broker.toml` for every key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawBrokerConfig {
    pub broker_cluster_name: String,
    pub broker_name: String,
    pub broker_id: i64,
    pub broker_role: String,
    pub listen_address: String,
    pub listen_port: u16,
    pub broker_ip1: String,
    pub namesrv_addr: String,
    pub store_path_root_dir: PathBuf,
    pub flush_disk_type: String,
    pub sync_flush_timeout_ms: u64,
    pub file_reserved_time: u64,
    pub delete_when: String,
    pub disk_max_used_space_ratio: u32,
    pub clean_file_forcibly_enable: bool,
    pub disk_space_warning_level_ratio: u32,
    pub disk_space_clean_forcibly_ratio: u32,
    pub mapped_file_size_commit_log: usize,
    pub mapped_file_size_consume_queue: usize,
    pub max_hash_slot_num: usize,
    pub max_index_num: usize,
    pub auto_create_topic_enable: bool,
    pub auto_create_subscription_group: bool,
    pub default_topic_queue_nums: i32,
    pub max_message_size: usize,
    pub message_delay_level: String,
    pub broker_permission: i32,
    pub long_polling_enable: bool,
    pub short_polling_time_ms: u64,
    pub pull_messages_max: usize,
    pub pull_bytes_max: usize,
    pub channel_expired_timeout_ms: u64,
    pub register_name_server_period_ms: u64,
    pub broker_heartbeat_timeout_ms: i64,
    pub send_concurrency: usize,
    pub wait_time_ms_in_send_queue: u64,
    pub os_page_cache_busy_timeout_ms: u64,
    pub flush_consumer_offset_interval_ms: u64,
    pub region_id: String,
    pub trace_on: bool,
    pub frame_bytes_max: usize,
    pub channel_idle_timeout_secs: u64,
    pub in_flight_requests_per_connection: usize,
    pub reject_transaction_message: bool,
    pub transaction_check_interval_ms: u64,
    pub transaction_timeout_ms: u64,
    pub transaction_check_max: i32,
    pub use_server_side_reset_offset: bool,
    pub topic_queue_nums_max: i32,
    pub topics_max: usize,
    pub subscription_groups_max: usize,
    pub heartbeat_groups_max: usize,
    pub long_polling_suspend_max_ms: u64,
    pub suspended_pulls_max: usize,
    pub access_message_in_memory_max_ratio: u32,
    pub vip_channel_enable: bool,
    pub authentication_enabled: bool,
    pub authorization_enabled: bool,
    pub authentication_whitelist: String,
    pub authorization_whitelist: String,
    pub init_authentication_user: String,
    pub inner_client_authentication_credentials: String,
    pub acl_enable: bool,
    pub plain_acl_file: String,
    pub tls_server_mode: String,
    pub tls_server_cert_path: String,
    pub tls_server_key_path: String,
    pub tls_server_need_client_auth: String,
    pub tls_server_trust_cert_path: String,
    pub tls_enable: bool,
    pub tls_client_trust_cert_path: String,
    pub broker_ip2: String,
    pub ha_listen_port: i32,
    pub ha_master_address: String,
    pub ha_send_heartbeat_interval_ms: u64,
    pub ha_housekeeping_interval_ms: u64,
    pub ha_transfer_batch_size: usize,
    pub ha_slave_fallbehind_max: i64,
    pub slave_timeout_ms: u64,
    pub slave_read_enable: bool,
    pub slave_sync_interval_ms: u64,
    pub ha_linger_us: u64,
}

impl Default for RawBrokerConfig {
    fn default() -> Self {
        Self {
            broker_cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            broker_id: 0,
            broker_role: "ASYNC_MASTER".into(),
            listen_address: "0.0.0.0".into(),
            listen_port: 10911,
            broker_ip1: String::new(),
            namesrv_addr: "127.0.0.1:9876".into(),
            store_path_root_dir: PathBuf::from("./apogee-data/store"),
            flush_disk_type: "ASYNC_FLUSH".into(),
            sync_flush_timeout_ms: 5000,
            file_reserved_time: 72,
            delete_when: "04".into(),
            disk_max_used_space_ratio: 75,
            clean_file_forcibly_enable: true,
            disk_space_warning_level_ratio: 90,
            disk_space_clean_forcibly_ratio: 85,
            mapped_file_size_commit_log: 1024 * 1024 * 1024,
            mapped_file_size_consume_queue: 300_000 * 20,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            auto_create_topic_enable: true,
            auto_create_subscription_group: true,
            default_topic_queue_nums: 8,
            max_message_size: 4 * 1024 * 1024,
            message_delay_level: apogee_store::config::DEFAULT_DELAY_LEVELS.into(),
            broker_permission: 6,
            long_polling_enable: true,
            short_polling_time_ms: 1000,
            pull_messages_max: 32,
            pull_bytes_max: 256 * 1024,
            channel_expired_timeout_ms: 120_000,
            register_name_server_period_ms: 30_000,
            broker_heartbeat_timeout_ms: 120_000,
            send_concurrency: 16,
            wait_time_ms_in_send_queue: 200,
            os_page_cache_busy_timeout_ms: 1000,
            flush_consumer_offset_interval_ms: 5000,
            region_id: "DefaultRegion".into(),
            trace_on: true,
            frame_bytes_max: FrameLimits::DEFAULT_FRAME_BYTES_MAX,
            channel_idle_timeout_secs: 120,
            in_flight_requests_per_connection: 1024,
            reject_transaction_message: false,
            transaction_check_interval_ms: 30_000,
            transaction_timeout_ms: 6000,
            transaction_check_max: 15,
            use_server_side_reset_offset: true,
            topic_queue_nums_max: 1024,
            topics_max: 100_000,
            subscription_groups_max: 100_000,
            heartbeat_groups_max: 1000,
            long_polling_suspend_max_ms: 60_000,
            suspended_pulls_max: 100_000,
            access_message_in_memory_max_ratio: 40,
            vip_channel_enable: true,
            authentication_enabled: false,
            authorization_enabled: false,
            authentication_whitelist: String::new(),
            authorization_whitelist: String::new(),
            init_authentication_user: String::new(),
            inner_client_authentication_credentials: String::new(),
            acl_enable: false,
            plain_acl_file: String::new(),
            tls_server_mode: "disabled".into(),
            tls_server_cert_path: String::new(),
            tls_server_key_path: String::new(),
            tls_server_need_client_auth: "none".into(),
            tls_server_trust_cert_path: String::new(),
            tls_enable: false,
            tls_client_trust_cert_path: String::new(),
            broker_ip2: String::new(),
            ha_listen_port: -1,
            ha_master_address: String::new(),
            ha_send_heartbeat_interval_ms: 5000,
            ha_housekeeping_interval_ms: 20_000,
            ha_transfer_batch_size: 32 * 1024,
            ha_slave_fallbehind_max: 256 * 1024 * 1024,
            slave_timeout_ms: 3000,
            slave_read_enable: false,
            slave_sync_interval_ms: 10_000,
            ha_linger_us: 1000,
        }
    }
}

/// Java `broker.conf` keys and the TOML keys they set. Keys not listed are reported as ignored.
const JAVA_KEYS: &[(&str, &str)] = &[
    ("brokerClusterName", "broker_cluster_name"),
    ("brokerName", "broker_name"),
    ("brokerId", "broker_id"),
    ("brokerRole", "broker_role"),
    ("listenPort", "listen_port"),
    ("brokerIP1", "broker_ip1"),
    ("namesrvAddr", "namesrv_addr"),
    ("storePathRootDir", "store_path_root_dir"),
    ("flushDiskType", "flush_disk_type"),
    ("syncFlushTimeout", "sync_flush_timeout_ms"),
    ("fileReservedTime", "file_reserved_time"),
    ("deleteWhen", "delete_when"),
    ("diskMaxUsedSpaceRatio", "disk_max_used_space_ratio"),
    ("cleanFileForciblyEnable", "clean_file_forcibly_enable"),
    (
        "diskSpaceWarningLevelRatio",
        "disk_space_warning_level_ratio",
    ),
    (
        "diskSpaceCleanForciblyRatio",
        "disk_space_clean_forcibly_ratio",
    ),
    ("mappedFileSizeCommitLog", "mapped_file_size_commit_log"),
    (
        "mappedFileSizeConsumeQueue",
        "mapped_file_size_consume_queue",
    ),
    ("maxHashSlotNum", "max_hash_slot_num"),
    ("maxIndexNum", "max_index_num"),
    ("autoCreateTopicEnable", "auto_create_topic_enable"),
    (
        "autoCreateSubscriptionGroup",
        "auto_create_subscription_group",
    ),
    ("defaultTopicQueueNums", "default_topic_queue_nums"),
    ("maxMessageSize", "max_message_size"),
    ("messageDelayLevel", "message_delay_level"),
    ("brokerPermission", "broker_permission"),
    ("longPollingEnable", "long_polling_enable"),
    ("shortPollingTimeMills", "short_polling_time_ms"),
    ("maxTransferCountOnMessageInMemory", "pull_messages_max"),
    ("maxTransferBytesOnMessageInMemory", "pull_bytes_max"),
    ("channelExpiredTimeout", "channel_expired_timeout_ms"),
    ("registerNameServerPeriod", "register_name_server_period_ms"),
    (
        "brokerNotActiveTimeoutMillis",
        "broker_heartbeat_timeout_ms",
    ),
    ("waitTimeMillsInSendQueue", "wait_time_ms_in_send_queue"),
    (
        "osPageCacheBusyTimeOutMills",
        "os_page_cache_busy_timeout_ms",
    ),
    (
        "flushConsumerOffsetInterval",
        "flush_consumer_offset_interval_ms",
    ),
    ("regionId", "region_id"),
    ("traceOn", "trace_on"),
    (
        "serverChannelMaxIdleTimeSeconds",
        "channel_idle_timeout_secs",
    ),
    ("rejectTransactionMessage", "reject_transaction_message"),
    ("transactionCheckInterval", "transaction_check_interval_ms"),
    ("transactionTimeOut", "transaction_timeout_ms"),
    ("transactionCheckMax", "transaction_check_max"),
    ("useServerSideResetOffset", "use_server_side_reset_offset"),
    (
        "accessMessageInMemoryMaxRatio",
        "access_message_in_memory_max_ratio",
    ),
    ("authenticationEnabled", "authentication_enabled"),
    ("authorizationEnabled", "authorization_enabled"),
    ("authenticationWhitelist", "authentication_whitelist"),
    ("authorizationWhitelist", "authorization_whitelist"),
    ("initAuthenticationUser", "init_authentication_user"),
    (
        "innerClientAuthenticationCredentials",
        "inner_client_authentication_credentials",
    ),
    ("aclEnable", "acl_enable"),
    ("tls.server.mode", "tls_server_mode"),
    ("tls.server.certPath", "tls_server_cert_path"),
    ("tls.server.keyPath", "tls_server_key_path"),
    ("tls.server.need.client.auth", "tls_server_need_client_auth"),
    ("tls.server.trustCertPath", "tls_server_trust_cert_path"),
    ("tls.enable", "tls_enable"),
    ("tls.client.trustCertPath", "tls_client_trust_cert_path"),
    ("brokerIP2", "broker_ip2"),
    ("haListenPort", "ha_listen_port"),
    ("haMasterAddress", "ha_master_address"),
    ("haSendHeartbeatInterval", "ha_send_heartbeat_interval_ms"),
    ("haHousekeepingInterval", "ha_housekeeping_interval_ms"),
    ("haTransferBatchSize", "ha_transfer_batch_size"),
    ("haSlaveFallbehindMax", "ha_slave_fallbehind_max"),
    ("haMaxGapNotInSync", "ha_slave_fallbehind_max"),
    ("slaveTimeout", "slave_timeout_ms"),
    ("slaveReadEnable", "slave_read_enable"),
];

/// A Java `broker.conf` turned into the TOML table the loader takes.
#[derive(Debug, Clone, Default)]
pub struct JavaImport {
    pub table: toml::Table,
    /// Java keys Apogee does not use (reported once at start-up, not fatal: real files carry many).
    pub ignored: Vec<String>,
}

/// Maps a Java properties file onto TOML keys, typing each value like the key's default.
pub fn import_java_properties(text: &str) -> Result<JavaImport, BrokerError> {
    let props = apogee_protocol::body::properties::parse(text)
        .map_err(|e| BrokerError::Config(format!("broker.conf: {e}")))?;
    let defaults = default_table()?;
    let mut out = JavaImport::default();
    for (key, value) in props {
        let Some((_, toml_key)) = JAVA_KEYS.iter().find(|(java, _)| *java == key) else {
            out.ignored.push(key);
            continue;
        };
        out.table.insert(
            (*toml_key).to_owned(),
            typed_value(&defaults, toml_key, &value),
        );
    }
    Ok(out)
}

/// The defaults as a TOML table (every key, typed).
pub(crate) fn default_table() -> Result<toml::Table, BrokerError> {
    toml::Table::try_from(RawBrokerConfig::default())
        .map_err(|e| BrokerError::Config(e.to_string()))
}

/// `text` typed like `toml_key`'s default: strings stay strings, the rest is parsed.
pub(crate) fn typed_value(defaults: &toml::Table, toml_key: &str, text: &str) -> toml::Value {
    let text = text.trim();
    match defaults.get(toml_key) {
        Some(toml::Value::String(_)) => toml::Value::String(text.to_owned()),
        _ => apogee_runtime::config::parse_scalar(text),
    }
}

/// The Java name of a TOML key, when Java has one.
pub fn java_name(toml_key: &str) -> Option<&'static str> {
    JAVA_KEYS
        .iter()
        .find(|(_, t)| *t == toml_key)
        .map(|(java, _)| *java)
}

/// The TOML key a Java name (or a TOML key itself) refers to, if it is one of Apogee's keys.
pub fn toml_key_of(name: &str) -> Option<String> {
    if let Some((_, toml_key)) = JAVA_KEYS.iter().find(|(java, _)| *java == name) {
        return Some((*toml_key).to_owned());
    }
    default_table()
        .ok()
        .filter(|t| t.contains_key(name))
        .map(|_| name.to_owned())
}

/// Validated configuration; only this reaches `run()`.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub cluster: ClusterName,
    pub broker_name: BrokerName,
    pub broker_id: i64,
    pub role: BrokerRole,
    pub ha: HaConfig,
    pub bind: String,
    /// The address advertised to clients and written into records (port from the bound socket).
    pub broker_ip: IpAddr,
    pub namesrv_addrs: Vec<String>,
    pub store: StoreConfig,
    /// `topics.json`, `subscriptionGroup.json`, `consumerOffset.json`, `delayOffset.json`.
    pub config_dir: PathBuf,
    pub broker_permission: Perm,
    /// The VIP listener (`listenPort − 2`, or an ephemeral port when `listenPort` is 0), or
    /// `None` when `vip_channel_enable` is off.
    pub vip_bind: Option<String>,
    pub transport: apogee_remoting::TransportConfig,
    pub limits: Limits,
    pub raw: RawBrokerConfig,
}

/// The numeric knobs the processors and services read.
#[derive(Debug, Clone)]
pub struct Limits {
    pub auto_create_topic: bool,
    pub auto_create_group: bool,
    pub default_topic_queue_nums: i32,
    pub max_message_size: usize,
    pub long_polling: bool,
    pub short_polling: Duration,
    pub pull_messages_max: usize,
    pub pull_bytes_max: usize,
    pub channel_expired: Duration,
    pub register_period: Duration,
    pub heartbeat_timeout_ms: i64,
    pub send_concurrency: usize,
    pub wait_in_send_queue: Duration,
    pub page_cache_busy_ms: i64,
    pub flush_offsets_interval: Duration,
    pub region_id: String,
    pub trace_on: bool,
    pub reject_transaction_message: bool,
    /// Resets are kept for the next pull (true) or pushed to online clients (false).
    pub server_side_reset: bool,
    pub transaction: TransactionLimits,
    pub growth: GrowthLimits,
}

/// Bounds on what requests can make the broker hold (Apogee's own; RocketMQ has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrowthLimits {
    pub topic_queue_nums_max: i32,
    pub topics_max: usize,
    pub groups_max: usize,
    pub heartbeat_groups_max: usize,
    pub suspend_max: Duration,
    pub suspended_pulls_max: usize,
}

/// What the transaction check service reads (REMOTING.md §6.10, §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionLimits {
    /// Time between two scans of the half queue (`transactionCheckInterval`).
    pub check_interval: Duration,
    /// Age (from the producer's born time) before a half message is first checked
    /// (`transactionTimeOut`).
    pub timeout_ms: i64,
    /// Checks before a half message is moved to TRANS_CHECK_MAX_TIME_TOPIC (`transactionCheckMax`).
    pub check_max: i32,
    /// Half messages born longer ago than this are given up (`fileReservedTime`).
    pub file_reserved_ms: i64,
}

impl TryFrom<RawBrokerConfig> for BrokerConfig {
    type Error = BrokerError;

    fn try_from(raw: RawBrokerConfig) -> Result<Self, BrokerError> {
        let bad = |m: String| BrokerError::Config(m);
        let cluster = ClusterName::new(&raw.broker_cluster_name)
            .map_err(|e| bad(format!("broker_cluster_name: {e}")))?;
        let broker_name =
            BrokerName::new(&raw.broker_name).map_err(|e| bad(format!("broker_name: {e}")))?;
        let role = BrokerRole::parse(&raw.broker_role, raw.broker_id)?;
        let flush = match raw.flush_disk_type.as_str() {
            "ASYNC_FLUSH" => FlushMode::java_async_default(),
            "SYNC_FLUSH" => FlushMode::Sync {
                timeout: Duration::from_millis(raw.sync_flush_timeout_ms.max(1)),
            },
            other => {
                return Err(bad(format!(
                    "flush_disk_type `{other}`: expected ASYNC_FLUSH or SYNC_FLUSH"
                )));
            }
        };
        let broker_ip = resolve_broker_ip(&raw.broker_ip1)?;
        let ha = HaConfig::from_raw(&raw, broker_ip)?;
        let limits = Limits::from_raw(&raw)?;
        let store = store_config(&raw, flush)?;
        let perm = Perm(raw.broker_permission);
        if raw.broker_permission & !Perm::READ_WRITE.0 != 0 {
            return Err(bad(format!(
                "broker_permission {} is not a combination of 2 (write) and 4 (read)",
                raw.broker_permission
            )));
        }
        let transport = apogee_remoting::TransportConfig::for_server(
            raw.frame_bytes_max,
            raw.in_flight_requests_per_connection,
            raw.channel_idle_timeout_secs,
        )
        .map_err(bad)?;
        Ok(Self {
            cluster,
            broker_name,
            broker_id: raw.broker_id,
            role,
            ha,
            bind: format!("{}:{}", raw.listen_address, raw.listen_port),
            vip_bind: raw.vip_channel_enable.then(|| {
                format!(
                    "{}:{}",
                    raw.listen_address,
                    raw.listen_port.saturating_sub(2)
                )
            }),
            broker_ip,
            namesrv_addrs: raw
                .namesrv_addr
                .split(';')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(String::from)
                .collect(),
            config_dir: raw.store_path_root_dir.join("config"),
            store,
            broker_permission: perm,
            transport,
            limits,
            raw,
        })
    }
}

/// The limits' ranges, each refusal naming its key.
/// Values that would make retention delete what it should keep, refused even for an
/// administrator (Apogee's own rule; RocketMQ takes them): at least an hour of retention, and
/// forced cleaning (which deletes unexpired files) only above the ratio where expired files go,
/// at no less than half the disk, and at most where writes are refused.
fn check_retention_safety(raw: &RawBrokerConfig) -> Result<(), BrokerError> {
    if raw.file_reserved_time == 0 {
        return Err(BrokerError::Config(
            "file_reserved_time must be at least 1 hour (0 would delete every CommitLog file but the active one)".into(),
        ));
    }
    let forcibly = raw.disk_space_clean_forcibly_ratio;
    if forcibly < 50
        || forcibly < raw.disk_max_used_space_ratio
        || forcibly > raw.disk_space_warning_level_ratio
    {
        return Err(BrokerError::Config(format!(
            "disk_space_clean_forcibly_ratio = {forcibly} must be at least 50, at least disk_max_used_space_ratio ({}) and at most disk_space_warning_level_ratio ({}): below that, forced cleaning deletes unexpired messages while the disk has room",
            raw.disk_max_used_space_ratio, raw.disk_space_warning_level_ratio
        )));
    }
    Ok(())
}

fn check_limits(raw: &RawBrokerConfig) -> Result<(), BrokerError> {
    if raw.default_topic_queue_nums < 1 || raw.default_topic_queue_nums > 1024 {
        return Err(BrokerError::Config(
            "default_topic_queue_nums must be within 1..=1024".into(),
        ));
    }
    if !(1..=100).contains(&raw.access_message_in_memory_max_ratio) {
        return Err(BrokerError::Config(
            "access_message_in_memory_max_ratio must be within 1..=100".into(),
        ));
    }
    if raw.max_message_size == 0 || raw.max_message_size > 64 * 1024 * 1024 {
        return Err(BrokerError::Config(
            "max_message_size must be within 1 byte..64 MiB".into(),
        ));
    }
    if raw.pull_messages_max == 0 || raw.pull_bytes_max == 0 || raw.send_concurrency == 0 {
        return Err(BrokerError::Config(
            "pull_messages_max, pull_bytes_max and send_concurrency must be > 0".into(),
        ));
    }
    if raw.transaction_check_interval_ms < 100 || raw.transaction_check_max < 1 {
        return Err(BrokerError::Config(
            "transaction_check_interval_ms must be >= 100 and transaction_check_max >= 1".into(),
        ));
    }
    if !(1..=65_535).contains(&raw.topic_queue_nums_max)
        || raw.default_topic_queue_nums > raw.topic_queue_nums_max
    {
        return Err(BrokerError::Config(
            "topic_queue_nums_max must be within 1..=65535 and at least default_topic_queue_nums"
                .into(),
        ));
    }
    if raw.topics_max < 16
        || raw.subscription_groups_max < 16
        || raw.heartbeat_groups_max == 0
        || raw.suspended_pulls_max == 0
        || raw.long_polling_suspend_max_ms < 1000
    {
        return Err(BrokerError::Config(
            "topics_max and subscription_groups_max must be >= 16, heartbeat_groups_max and suspended_pulls_max > 0, long_polling_suspend_max_ms >= 1000"
                .into(),
        ));
    }
    Ok(())
}

impl Limits {
    fn from_raw(raw: &RawBrokerConfig) -> Result<Self, BrokerError> {
        check_limits(raw)?;
        Ok(Self {
            auto_create_topic: raw.auto_create_topic_enable,
            auto_create_group: raw.auto_create_subscription_group,
            default_topic_queue_nums: raw.default_topic_queue_nums,
            max_message_size: raw.max_message_size,
            long_polling: raw.long_polling_enable,
            short_polling: Duration::from_millis(raw.short_polling_time_ms),
            pull_messages_max: raw.pull_messages_max,
            pull_bytes_max: raw.pull_bytes_max,
            channel_expired: Duration::from_millis(raw.channel_expired_timeout_ms.max(1000)),
            register_period: Duration::from_millis(
                raw.register_name_server_period_ms.clamp(10_000, 60_000),
            ),
            heartbeat_timeout_ms: raw.broker_heartbeat_timeout_ms,
            send_concurrency: raw.send_concurrency,
            wait_in_send_queue: Duration::from_millis(raw.wait_time_ms_in_send_queue.max(1)),
            page_cache_busy_ms: i64::try_from(raw.os_page_cache_busy_timeout_ms)
                .unwrap_or(i64::MAX),
            flush_offsets_interval: Duration::from_millis(
                raw.flush_consumer_offset_interval_ms.max(100),
            ),
            region_id: raw.region_id.clone(),
            trace_on: raw.trace_on,
            reject_transaction_message: raw.reject_transaction_message,
            server_side_reset: raw.use_server_side_reset_offset,
            transaction: TransactionLimits {
                check_interval: Duration::from_millis(raw.transaction_check_interval_ms),
                timeout_ms: i64::try_from(raw.transaction_timeout_ms).unwrap_or(i64::MAX),
                check_max: raw.transaction_check_max,
                file_reserved_ms: i64::try_from(raw.file_reserved_time)
                    .unwrap_or(i64::MAX / 3_600_000)
                    .saturating_mul(3_600_000),
            },
            growth: GrowthLimits {
                topic_queue_nums_max: raw.topic_queue_nums_max,
                topics_max: raw.topics_max,
                groups_max: raw.subscription_groups_max,
                heartbeat_groups_max: raw.heartbeat_groups_max,
                suspend_max: Duration::from_millis(raw.long_polling_suspend_max_ms),
                suspended_pulls_max: raw.suspended_pulls_max,
            },
        })
    }
}

fn store_config(raw: &RawBrokerConfig, flush: FlushMode) -> Result<StoreConfig, BrokerError> {
    let bad = |m: String| BrokerError::Config(m);
    let mut store = StoreConfig::new(&raw.store_path_root_dir);
    store.flush = flush;
    store.record_bytes_max = raw.max_message_size + 64 * 1024;
    store.delay_levels_ms = parse_delay_levels(&raw.message_delay_level)
        .map_err(|e| bad(format!("message_delay_level: {e}")))?;
    if !(10..=95).contains(&raw.disk_max_used_space_ratio) {
        return Err(bad(
            "disk_max_used_space_ratio must be within 10..=95".into()
        ));
    }
    for (key, value) in [
        (
            "disk_space_warning_level_ratio",
            raw.disk_space_warning_level_ratio,
        ),
        (
            "disk_space_clean_forcibly_ratio",
            raw.disk_space_clean_forcibly_ratio,
        ),
    ] {
        if !(10..=99).contains(&value) {
            return Err(bad(format!("{key} must be within 10..=99")));
        }
    }
    check_retention_safety(raw)?;
    if raw.mapped_file_size_commit_log < 1024 * 1024
        || raw.mapped_file_size_commit_log < store.record_bytes_max
    {
        return Err(bad(
            "mapped_file_size_commit_log must be at least 1 MiB and hold the largest message"
                .into(),
        ));
    }
    store.commit_log_file_bytes = raw.mapped_file_size_commit_log;
    if raw.mapped_file_size_consume_queue < 20
        || !raw.mapped_file_size_consume_queue.is_multiple_of(20)
    {
        return Err(bad(
            "mapped_file_size_consume_queue must be a positive multiple of 20 (one unit)".into(),
        ));
    }
    store.consume_queue_units_per_file = raw.mapped_file_size_consume_queue / 20;
    if raw.max_hash_slot_num == 0 || raw.max_index_num == 0 {
        return Err(bad("max_hash_slot_num and max_index_num must be > 0".into()));
    }
    store.index = apogee_store::index::IndexSizing {
        slots: raw.max_hash_slot_num,
        entries: raw.max_index_num,
    };
    store.access_in_memory_ratio = raw.access_message_in_memory_max_ratio;
    store.retention = RetentionConfig {
        file_reserved_hours: raw.file_reserved_time,
        delete_when_hours: parse_delete_when(&raw.delete_when)
            .map_err(|e| bad(format!("delete_when: {e}")))?,
        clean_ratio: f64::from(raw.disk_max_used_space_ratio) / 100.0,
        force_clean_ratio: f64::from(raw.disk_space_clean_forcibly_ratio) / 100.0,
        reject_ratio: f64::from(raw.disk_space_warning_level_ratio) / 100.0,
        clean_file_forcibly: raw.clean_file_forcibly_enable,
        ..RetentionConfig::default()
    };
    Ok(store)
}

/// `brokerIP1`, or this machine's primary address (the one a default route would use).
pub(crate) fn resolve_broker_ip(text: &str) -> Result<IpAddr, BrokerError> {
    if !text.trim().is_empty() {
        return text
            .trim()
            .parse()
            .map_err(|_| BrokerError::Config(format!("broker_ip1 `{text}` is not an IP address")));
    }
    // Connecting a UDP socket sends nothing; it only asks the kernel which source address a
    // route would use.
    let primary = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|()| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_unspecified());
    Ok(primary.unwrap_or(IpAddr::from([127, 0, 0, 1])))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
