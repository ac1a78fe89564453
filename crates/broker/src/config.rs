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

use crate::delay_levels::{DEFAULT_DELAY_LEVELS, parse_delay_levels, tags_code_rule};
use apogee_model::{BrokerName, ClusterName, Perm};
use apogee_protocol::FrameLimits;
use apogee_store::retention::{RetentionConfig, parse_delete_when};
use apogee_store::{FlushMode, StoreConfig};
use serde::{Deserialize, Serialize};

use crate::BrokerError;
pub use crate::config_ha::{BrokerRole, ControllerMode, HaConfig};

/// The annotated default file, embedded so `apogee broker` runs without one.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../../config/broker.toml");

/// Declares every key once: its field, type and default, and the Java `broker.conf` names
/// that set it. Generates [`RawBrokerConfig`], its `Default` and `JAVA_KEYS`.
macro_rules! raw_broker_config {
    ($($field:ident: $ty:ty = $default:expr $(, java $java:literal)*;)*) => {
        /// Configuration as written by a person; see `config/broker.toml` for every key.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct RawBrokerConfig {
            $(pub $field: $ty,)*
        }

        impl Default for RawBrokerConfig {
            fn default() -> Self {
                Self { $($field: $default,)* }
            }
        }

        /// Java `broker.conf` keys and the TOML keys they set. Keys not listed are reported
        /// as ignored.
        const JAVA_KEYS: &[(&str, &str)] = &[$($(($java, stringify!($field)),)*)*];
    };
}

raw_broker_config! {
    broker_cluster_name: String = "DefaultCluster".into(), java "brokerClusterName";
    broker_name: String = "broker-a".into(), java "brokerName";
    broker_id: i64 = 0, java "brokerId";
    broker_role: String = "ASYNC_MASTER".into(), java "brokerRole";
    listen_address: String = "0.0.0.0".into();
    listen_port: u16 = 10911, java "listenPort";
    broker_ip1: String = String::new(), java "brokerIP1";
    namesrv_addr: String = "127.0.0.1:9876".into(), java "namesrvAddr";
    store_path_root_dir: PathBuf = PathBuf::from("./apogee-data/store"), java "storePathRootDir";
    flush_disk_type: String = "ASYNC_FLUSH".into(), java "flushDiskType";
    sync_flush_timeout_ms: u64 = 5000, java "syncFlushTimeout";
    file_reserved_time: u64 = 72, java "fileReservedTime";
    delete_when: String = "04".into(), java "deleteWhen";
    disk_max_used_space_ratio: u32 = 75, java "diskMaxUsedSpaceRatio";
    clean_file_forcibly_enable: bool = true, java "cleanFileForciblyEnable";
    disk_space_warning_level_ratio: u32 = 90, java "diskSpaceWarningLevelRatio";
    disk_space_clean_forcibly_ratio: u32 = 85, java "diskSpaceCleanForciblyRatio";
    mapped_file_size_commit_log: usize = 1024 * 1024 * 1024, java "mappedFileSizeCommitLog";
    mapped_file_size_consume_queue: usize = 300_000 * 20, java "mappedFileSizeConsumeQueue";
    max_hash_slot_num: usize = 5_000_000, java "maxHashSlotNum";
    max_index_num: usize = 20_000_000, java "maxIndexNum";
    auto_create_topic_enable: bool = true, java "autoCreateTopicEnable";
    auto_create_subscription_group: bool = true, java "autoCreateSubscriptionGroup";
    default_topic_queue_nums: i32 = 8, java "defaultTopicQueueNums";
    max_message_size: usize = 4 * 1024 * 1024, java "maxMessageSize";
    message_delay_level: String = DEFAULT_DELAY_LEVELS.into(), java "messageDelayLevel";
    broker_permission: i32 = 6, java "brokerPermission";
    long_polling_enable: bool = true, java "longPollingEnable";
    short_polling_time_ms: u64 = 1000, java "shortPollingTimeMills";
    pull_messages_max: usize = 32, java "maxTransferCountOnMessageInMemory";
    pull_bytes_max: usize = 256 * 1024, java "maxTransferBytesOnMessageInMemory";
    channel_expired_timeout_ms: u64 = 120_000, java "channelExpiredTimeout";
    register_name_server_period_ms: u64 = 30_000, java "registerNameServerPeriod";
    broker_heartbeat_timeout_ms: i64 = 120_000, java "brokerNotActiveTimeoutMillis";
    send_concurrency: usize = 16;
    wait_time_ms_in_send_queue: u64 = 200, java "waitTimeMillsInSendQueue";
    os_page_cache_busy_timeout_ms: u64 = 1000, java "osPageCacheBusyTimeOutMills";
    flush_consumer_offset_interval_ms: u64 = 5000, java "flushConsumerOffsetInterval";
    region_id: String = "DefaultRegion".into(), java "regionId";
    trace_on: bool = true, java "traceOn";
    trace_topic_enable: bool = true, java "traceTopicEnable";
    msg_trace_topic_name: String = "RMQ_SYS_TRACE_TOPIC".into(), java "msgTraceTopicName";
    frame_bytes_max: usize = FrameLimits::DEFAULT_FRAME_BYTES_MAX;
    channel_idle_timeout_secs: u64 = 120, java "serverChannelMaxIdleTimeSeconds";
    in_flight_requests_per_connection: usize = 1024;
    reject_transaction_message: bool = false, java "rejectTransactionMessage";
    transaction_check_interval_ms: u64 = 30_000, java "transactionCheckInterval";
    transaction_timeout_ms: u64 = 6000, java "transactionTimeOut";
    transaction_check_max: i32 = 15, java "transactionCheckMax";
    enable_property_filter: bool = true, java "enablePropertyFilter";
    enable_topic_message_type_check: bool = false, java "enableTopicMessageTypeCheck";
    timer_wheel_enable: bool = true, java "timerWheelEnable";
    timer_max_delay_sec: u64 = 40 * 86_400, java "timerMaxDelaySec";
    mapped_file_size_timer_log: usize = 100 * 1024 * 1024, java "mappedFileSizeTimerLog";
    timer_pending_max: usize = 10_000_000;
    enable_retry_topic_v2: bool = false, java "enableRetryTopicV2";
    grpc_listen_port: i32 = 8081, java "grpcServerPort";
    network_worker_threads: usize = 0;
    pop_inflight_max: usize = 1_000_000;
    use_server_side_reset_offset: bool = true, java "useServerSideResetOffset";
    topic_queue_nums_max: i32 = 1024;
    topics_max: usize = 100_000;
    subscription_groups_max: usize = 100_000;
    heartbeat_groups_max: usize = 1000;
    long_polling_suspend_max_ms: u64 = 60_000;
    suspended_pulls_max: usize = 100_000;
    access_message_in_memory_max_ratio: u32 = 40, java "accessMessageInMemoryMaxRatio";
    vip_channel_enable: bool = true;
    authentication_enabled: bool = false, java "authenticationEnabled";
    authorization_enabled: bool = false, java "authorizationEnabled";
    authentication_whitelist: String = String::new(), java "authenticationWhitelist";
    authorization_whitelist: String = String::new(), java "authorizationWhitelist";
    init_authentication_user: String = String::new(), java "initAuthenticationUser";
    inner_client_authentication_credentials: String = String::new(), java "innerClientAuthenticationCredentials";
    acl_enable: bool = false, java "aclEnable";
    plain_acl_file: String = String::new();
    tls_server_mode: String = "disabled".into(), java "tls.server.mode";
    tls_server_cert_path: String = String::new(), java "tls.server.certPath";
    tls_server_key_path: String = String::new(), java "tls.server.keyPath";
    tls_server_need_client_auth: String = "none".into(), java "tls.server.need.client.auth";
    tls_server_trust_cert_path: String = String::new(), java "tls.server.trustCertPath";
    tls_enable: bool = false, java "tls.enable";
    tls_client_trust_cert_path: String = String::new(), java "tls.client.trustCertPath";
    broker_ip2: String = String::new(), java "brokerIP2";
    ha_listen_port: i32 = -1, java "haListenPort";
    ha_master_address: String = String::new(), java "haMasterAddress";
    ha_send_heartbeat_interval_ms: u64 = 5000, java "haSendHeartbeatInterval";
    ha_housekeeping_interval_ms: u64 = 20_000, java "haHousekeepingInterval";
    ha_transfer_batch_size: usize = 32 * 1024, java "haTransferBatchSize";
    ha_slave_fallbehind_max: i64 = 256 * 1024 * 1024, java "haSlaveFallbehindMax", java "haMaxGapNotInSync";
    slave_timeout_ms: u64 = 3000, java "slaveTimeout";
    slave_read_enable: bool = false, java "slaveReadEnable";
    slave_sync_interval_ms: u64 = 10_000;
    ha_linger_us: u64 = 1000;
    enable_controller_mode: bool = false, java "enableControllerMode";
    controller_addr: String = String::new(), java "controllerAddr";
    controller_heart_beat_timeout_mills: i64 = 3000, java "controllerHeartBeatTimeoutMills";
    broker_heartbeat_interval: u64 = 1000, java "brokerHeartbeatInterval";
    broker_election_priority: i32 = i32::MAX, java "brokerElectionPriority";
    sync_broker_metadata_period: u64 = 2000, java "syncBrokerMetadataPeriod";
    check_sync_state_set_period: u64 = 1000, java "checkSyncStateSetPeriod";
    all_ack_in_sync_state_set: bool = false, java "allAckInSyncStateSet";
    ha_max_time_slave_not_catchup: u64 = 15_000, java "haMaxTimeSlaveNotCatchup";
    metrics_exporter_type: String = "DISABLE".into(), java "metricsExporterType";
    metrics_prom_exporter_host: String = String::new(), java "metricsPromExporterHost";
    metrics_prom_exporter_port: u16 = apogee_metrics::DEFAULT_PROM_PORT, java "metricsPromExporterPort";
}

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
    /// Controller mode (`enableControllerMode`): the controller decides the role.
    pub controller: Option<ControllerMode>,
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
    /// The Prometheus exporter (`metrics_exporter_type`).
    pub metrics: apogee_metrics::MetricsSettings,
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
    /// `enablePropertyFilter`: SQL92 subscriptions are served.
    pub property_filter: bool,
    /// `enableTopicMessageTypeCheck`: sends must match their topic's `message.type`.
    pub message_type_check: bool,
    /// Resets are kept for the next pull (true) or pushed to online clients (false).
    pub server_side_reset: bool,
    pub transaction: TransactionLimits,
    pub growth: GrowthLimits,
    pub timer: TimerLimits,
    /// Delay of each classic delay level in ms (`messageDelayLevel`).
    pub delay_levels_ms: Vec<i64>,
}

/// Timer messages (REMOTING.md §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerLimits {
    /// `timerWheelEnable`: off, timer messages are refused with SYSTEM_ERROR.
    pub enabled: bool,
    /// `timerMaxDelaySec` in ms: later delivery times are refused with MESSAGE_ILLEGAL.
    pub max_delay_ms: i64,
    /// `mappedFileSizeTimerLog`: bytes per `timerlog/` file.
    pub log_file_bytes: usize,
    /// Timers held in memory at most; past it, enqueueing waits (the messages stay stored).
    pub pending_max: usize,
    /// A timer due later than this is stored again on the timer topic after this long, so
    /// its message outlives the CommitLog's retention: half of `fileReservedTime`, at most two
    /// days (Java's `timerRollWindowSlots`).
    pub roll_window_ms: i64,
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
        let controller = ControllerMode::from_raw(&raw)?;
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
        let metrics = apogee_metrics::MetricsSettings::from_keys(
            &raw.metrics_exporter_type,
            &raw.metrics_prom_exporter_host,
            raw.metrics_prom_exporter_port,
            &raw.listen_address,
        )
        .map_err(bad)?;
        Ok(Self {
            metrics,
            cluster,
            broker_name,
            broker_id: raw.broker_id,
            role,
            ha,
            controller,
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
    if raw.trace_topic_enable && apogee_model::TopicName::new(&raw.msg_trace_topic_name).is_err() {
        return Err(BrokerError::Config(format!(
            "msg_trace_topic_name `{}` is not a legal topic name",
            raw.msg_trace_topic_name
        )));
    }
    if raw.mapped_file_size_timer_log < 4096 || raw.timer_pending_max == 0 {
        return Err(BrokerError::Config(
            "mapped_file_size_timer_log must be >= 4096 and timer_pending_max > 0".into(),
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
    if raw.network_worker_threads > 1024 {
        return Err(BrokerError::Config(
            "network_worker_threads must be within 0..=1024 (0: one per core)".into(),
        ));
    }
    Ok(())
}

impl Limits {
    fn from_raw(raw: &RawBrokerConfig) -> Result<Self, BrokerError> {
        check_limits(raw)?;
        let delay_levels_ms = parse_delay_levels(&raw.message_delay_level)
            .map_err(|e| BrokerError::Config(format!("message_delay_level: {e}")))?;
        Ok(Self {
            delay_levels_ms,
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
            property_filter: raw.enable_property_filter,
            message_type_check: raw.enable_topic_message_type_check,
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
            timer: TimerLimits {
                enabled: raw.timer_wheel_enable,
                max_delay_ms: i64::try_from(raw.timer_max_delay_sec)
                    .unwrap_or(i64::MAX / 1000)
                    .saturating_mul(1000),
                log_file_bytes: raw.mapped_file_size_timer_log,
                pending_max: raw.timer_pending_max,
                roll_window_ms: i64::try_from(raw.file_reserved_time)
                    .unwrap_or(48)
                    .saturating_mul(3_600_000 / 2)
                    .min(2 * 86_400_000),
            },
        })
    }
}

fn store_config(raw: &RawBrokerConfig, flush: FlushMode) -> Result<StoreConfig, BrokerError> {
    let bad = |m: String| BrokerError::Config(m);
    let mut store = StoreConfig::new(&raw.store_path_root_dir);
    store.flush = flush;
    store.record_bytes_max = raw.max_message_size + 64 * 1024;
    let levels = parse_delay_levels(&raw.message_delay_level)
        .map_err(|e| bad(format!("message_delay_level: {e}")))?;
    store.tags_code = tags_code_rule(levels);
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
