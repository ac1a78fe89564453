//! The broker's configuration while it runs: GET_BROKER_CONFIG (26) reads it,
//! UPDATE_BROKER_CONFIG (25) changes the keys that can change without a restart, and accepted
//! changes are kept in `<store root>/config/broker.properties`, applied again at start.
//!
//! ```text
//! UPDATE_BROKER_CONFIG (properties) ─► protected? ─► NO_PERMISSION
//!                                      not live / unknown / invalid ─► SYSTEM_ERROR
//!                                      ─► validated like a start-up config ─► LiveSettings atomics
//!                                                                          ├► store retention
//!                                                                          └► broker.properties
//! processors and services ◄── relaxed loads of LiveSettings ──┘
//! ```
//!
//! CVE-2023-33246 came through this request (a config key that led to command execution), so
//! only the keys in [`LIVE_KEYS`] can change, and identity, network and path keys are refused
//! outright ([`PROTECTED_KEYS`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apogee_model::{DataVersion, Perm};
use apogee_protocol::body::properties;
use apogee_runtime::Clock;
use apogee_store::StoreAdmin;

use crate::config::{
    BrokerConfig, RawBrokerConfig, TransactionLimits, default_table, java_name, toml_key_of,
    typed_value,
};
use crate::{BrokerError, persist};

/// TOML keys UPDATE_BROKER_CONFIG may change while the broker runs.
pub const LIVE_KEYS: &[&str] = &[
    "file_reserved_time",
    "delete_when",
    "disk_max_used_space_ratio",
    "clean_file_forcibly_enable",
    "disk_space_warning_level_ratio",
    "disk_space_clean_forcibly_ratio",
    "broker_permission",
    "long_polling_enable",
    "short_polling_time_ms",
    "max_message_size",
    "transaction_timeout_ms",
    "transaction_check_interval_ms",
    "flush_consumer_offset_interval_ms",
    "use_server_side_reset_offset",
];

/// Keys refused with NO_PERMISSION: Java's `configBlackList` default
/// (`configBlackList;brokerConfigPath`), every path, and what identifies or reaches the broker.
/// Java and TOML spellings both.
pub const PROTECTED_KEYS: &[&str] = &[
    "configBlackList",
    "brokerConfigPath",
    "rocketmqHome",
    "storePathRootDir",
    "storePathCommitLog",
    "storePathConsumeQueue",
    "storePathIndex",
    "storeCheckpoint",
    "abortFile",
    "storePathEpochFile",
    "storePathBrokerIdentity",
    "kvConfigPath",
    "configStorePath",
    "brokerClusterName",
    "brokerName",
    "brokerId",
    "brokerRole",
    "brokerIP1",
    "brokerIP2",
    "listenPort",
    "haListenPort",
    "namesrvAddr",
    "fetchNamesrvAddrByAddressServer",
    "filterServerNums",
    "store_path_root_dir",
    "broker_cluster_name",
    "broker_name",
    "broker_id",
    "broker_role",
    "broker_ip1",
    "listen_address",
    "listen_port",
    "namesrv_addr",
];

/// The overlay file, next to `topics.json` (where Java keeps its `broker.properties`).
pub const OVERLAY_FILE: &str = "broker.properties";

/// The live-updatable settings, read with relaxed loads by the processors and services.
#[derive(Clone)]
pub struct LiveSettings(Arc<Settings>);

struct Settings {
    permission: AtomicI32,
    long_polling: AtomicBool,
    short_polling_ms: AtomicU64,
    max_message_size: AtomicUsize,
    transaction_timeout_ms: AtomicI64,
    transaction_check_interval_ms: AtomicU64,
    file_reserved_ms: AtomicI64,
    flush_offsets_interval_ms: AtomicU64,
    server_side_reset: AtomicBool,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl LiveSettings {
    pub fn new(config: &BrokerConfig) -> Self {
        let l = &config.limits;
        Self(Arc::new(Settings {
            permission: AtomicI32::new(config.broker_permission.0),
            long_polling: AtomicBool::new(l.long_polling),
            short_polling_ms: AtomicU64::new(millis(l.short_polling)),
            max_message_size: AtomicUsize::new(l.max_message_size),
            transaction_timeout_ms: AtomicI64::new(l.transaction.timeout_ms),
            transaction_check_interval_ms: AtomicU64::new(millis(l.transaction.check_interval)),
            file_reserved_ms: AtomicI64::new(l.transaction.file_reserved_ms),
            flush_offsets_interval_ms: AtomicU64::new(millis(l.flush_offsets_interval)),
            server_side_reset: AtomicBool::new(l.server_side_reset),
        }))
    }

    fn set(&self, config: &BrokerConfig) {
        let s = &self.0;
        let l = &config.limits;
        let r = Ordering::Relaxed;
        s.permission.store(config.broker_permission.0, r);
        s.long_polling.store(l.long_polling, r);
        s.short_polling_ms.store(millis(l.short_polling), r);
        s.max_message_size.store(l.max_message_size, r);
        s.transaction_timeout_ms.store(l.transaction.timeout_ms, r);
        s.transaction_check_interval_ms
            .store(millis(l.transaction.check_interval), r);
        s.file_reserved_ms.store(l.transaction.file_reserved_ms, r);
        s.flush_offsets_interval_ms
            .store(millis(l.flush_offsets_interval), r);
        s.server_side_reset.store(l.server_side_reset, r);
    }

    /// `brokerPermission`: 2 write, 4 read.
    pub fn permission(&self) -> Perm {
        Perm(self.0.permission.load(Ordering::Relaxed))
    }

    pub fn long_polling(&self) -> bool {
        self.0.long_polling.load(Ordering::Relaxed)
    }

    pub fn short_polling(&self) -> Duration {
        Duration::from_millis(self.0.short_polling_ms.load(Ordering::Relaxed))
    }

    pub fn max_message_size(&self) -> usize {
        self.0.max_message_size.load(Ordering::Relaxed)
    }

    pub fn transaction_timeout_ms(&self) -> i64 {
        self.0.transaction_timeout_ms.load(Ordering::Relaxed)
    }

    pub fn flush_offsets_interval(&self) -> Duration {
        Duration::from_millis(self.0.flush_offsets_interval_ms.load(Ordering::Relaxed))
    }

    /// `useServerSideResetOffset`: resets wait for the next pull (true) or go to online clients.
    pub fn server_side_reset(&self) -> bool {
        self.0.server_side_reset.load(Ordering::Relaxed)
    }

    /// `base` (for what cannot change) with the live timeout, interval and reserved time.
    pub fn transaction_limits(&self, base: TransactionLimits) -> TransactionLimits {
        TransactionLimits {
            check_interval: Duration::from_millis(
                self.0.transaction_check_interval_ms.load(Ordering::Relaxed),
            ),
            timeout_ms: self.transaction_timeout_ms(),
            file_reserved_ms: self.0.file_reserved_ms.load(Ordering::Relaxed),
            ..base
        }
    }
}

/// What an accepted update changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// TOML keys whose value changed.
    pub changed: Vec<String>,
    pub permission_changed: bool,
}

/// GET/UPDATE_BROKER_CONFIG's state: the effective config and its version. Updates are
/// serialised (Java's handler is `synchronized`).
pub struct ConfigService {
    live: LiveSettings,
    store: Arc<dyn StoreAdmin>,
    clock: Arc<dyn Clock>,
    overlay: PathBuf,
    state: Mutex<(BrokerConfig, DataVersion)>,
}

impl ConfigService {
    pub fn new(
        config: BrokerConfig,
        live: LiveSettings,
        store: Arc<dyn StoreAdmin>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let version = DataVersion::new(clock.now_ms());
        Self {
            overlay: config.config_dir.join(OVERLAY_FILE),
            live,
            store,
            clock,
            state: Mutex::new((config, version)),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, (BrokerConfig, DataVersion)> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The effective configuration as Java properties text (Java names where Java has one),
    /// plus `configBlackList`, and its version.
    pub fn properties(&self) -> Result<(String, DataVersion), BrokerError> {
        let (config, version) = &*self.state();
        let mut entries = BTreeMap::new();
        for (key, value) in raw_strings(&config.raw)? {
            entries.insert(java_name(&key).map_or(key, str::to_owned), value);
        }
        entries.insert("configBlackList".into(), PROTECTED_KEYS.join(";"));
        Ok((properties::render(&entries), *version))
    }

    /// Validates and applies `text` (properties); all keys or none.
    pub fn update(&self, text: &str) -> Result<Applied, BrokerError> {
        let props = properties::parse(text)
            .map_err(|line| BrokerError::SystemError(format!("string2Properties error: {line}")))?;
        let mut state = self.state();
        let record_bytes_max = self.store.config().record_bytes_max;
        let (next, changes) = plan_update(&state.0, &props, record_bytes_max)?;
        if changes.is_empty() {
            return Ok(Applied::default());
        }
        save_overlay(&self.overlay, &changes, &next.raw)?;
        let permission_changed = next.broker_permission != state.0.broker_permission;
        self.live.set(&next);
        self.store.update_retention(next.store.retention.clone());
        state.1.next(self.clock.now_ms());
        state.0 = next;
        tracing::info!(?changes, "broker config updated");
        Ok(Applied {
            changed: changes,
            permission_changed,
        })
    }
}

/// Every key of `raw` with its value as properties text.
fn raw_strings(raw: &RawBrokerConfig) -> Result<BTreeMap<String, String>, BrokerError> {
    let table = toml::Table::try_from(raw).map_err(|e| BrokerError::SystemError(e.to_string()))?;
    Ok(table
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                toml::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, text)
        })
        .collect())
}

/// The config `props` would give, validated like a start-up config, and the TOML keys whose
/// value changes. Refuses protected keys (NO_PERMISSION), then unknown and restart-only keys,
/// bad values and a `maxMessageSize` above what the open store holds (SYSTEM_ERROR).
pub fn plan_update(
    current: &BrokerConfig,
    props: &BTreeMap<String, String>,
    record_bytes_max: usize,
) -> Result<(BrokerConfig, Vec<String>), BrokerError> {
    let protected: Vec<&str> = props
        .keys()
        .map(String::as_str)
        .filter(|k| PROTECTED_KEYS.contains(k))
        .collect();
    if !protected.is_empty() {
        return Err(BrokerError::NoPermission(format!(
            "Can not update config in black list: {}",
            protected.join(", ")
        )));
    }
    let defaults = default_table()?;
    let mut table =
        toml::Table::try_from(&current.raw).map_err(|e| BrokerError::SystemError(e.to_string()))?;
    let mut changes = Vec::new();
    for (name, text) in props {
        let key = toml_key_of(name)
            .ok_or_else(|| BrokerError::SystemError(format!("unknown config key `{name}`")))?;
        if !LIVE_KEYS.contains(&key.as_str()) {
            return Err(BrokerError::SystemError(format!(
                "`{name}` cannot change while the broker runs; set it in the config file and \
                 restart (changeable now: {})",
                live_names().join(", ")
            )));
        }
        let value = typed_value(&defaults, &key, text);
        if table.get(&key) != Some(&value) {
            changes.push(key.clone());
        }
        table.insert(key, value);
    }
    let raw: RawBrokerConfig = table
        .try_into()
        .map_err(|e| BrokerError::SystemError(format!("bad value: {e}")))?;
    let next = BrokerConfig::try_from(raw).map_err(|e| BrokerError::SystemError(e.to_string()))?;
    if next.store.record_bytes_max > record_bytes_max {
        // The store was opened for records up to `record_bytes_max` (the message plus room
        // for headers and properties).
        let overhead = next.store.record_bytes_max - next.limits.max_message_size;
        return Err(BrokerError::SystemError(format!(
            "maxMessageSize can only be lowered while the broker runs (at most {}); raise it in \
             the config file and restart",
            record_bytes_max.saturating_sub(overhead)
        )));
    }
    Ok((next, changes))
}

/// The live keys by the names GET_BROKER_CONFIG shows.
fn live_names() -> Vec<&'static str> {
    LIVE_KEYS
        .iter()
        .map(|k| java_name(k).unwrap_or(k))
        .collect()
}

/// Merges `changes` (their values from `raw`) into the overlay file.
fn save_overlay(path: &Path, changes: &[String], raw: &RawBrokerConfig) -> Result<(), BrokerError> {
    let mut entries = load_overlay(path)?.unwrap_or_default();
    let values = raw_strings(raw)?;
    for key in changes {
        if let Some(value) = values.get(key) {
            let name = java_name(key).map_or_else(|| key.clone(), str::to_owned);
            entries.insert(name, value.clone());
        }
    }
    persist::write_atomically(path, properties::render(&entries).as_bytes())
}

fn load_overlay(path: &Path) -> Result<Option<BTreeMap<String, String>>, BrokerError> {
    persist::load(path, |bytes| {
        properties::parse(&String::from_utf8_lossy(bytes))
            .map_err(|line| format!("bad line {line:?}"))
    })
}

/// `config` with the updates kept in `<config_dir>/broker.properties` applied (start-up).
/// Keys that are not live-updatable are ignored with a warning; an overlay that no longer
/// validates stops the start with the file named.
pub fn apply_overlay(config: BrokerConfig) -> Result<BrokerConfig, BrokerError> {
    let path = config.config_dir.join(OVERLAY_FILE);
    let Some(mut props) = load_overlay(&path)? else {
        return Ok(config);
    };
    props.retain(|name, _| {
        let live = toml_key_of(name).is_some_and(|k| LIVE_KEYS.contains(&k.as_str()))
            && !PROTECTED_KEYS.contains(&name.as_str());
        if !live {
            tracing::warn!(key = %name, path = %path.display(), "ignoring a key that cannot be updated at runtime");
        }
        live
    });
    if props.is_empty() {
        return Ok(config);
    }
    // The store opens after this, sized for the result: any maxMessageSize is fine here.
    let (next, changes) = plan_update(&config, &props, usize::MAX)
        .map_err(|e| BrokerError::Config(format!("{}: {e}", path.display())))?;
    tracing::info!(path = %path.display(), ?changes, "applied runtime config updates");
    Ok(next)
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
