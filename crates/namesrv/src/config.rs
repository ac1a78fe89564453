//! NameServer configuration: the raw, deserialisable form (file → env → CLI, unknown keys
//! refused), the validated [`NamesrvConfig`] that `run()` takes, and [`LiveSettings`], the
//! part UPDATE_NAMESRV_CONFIG may change while running (named with Java's keys on the wire).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

use apogee_protocol::FrameLimits;
use serde::Deserialize;

use crate::NamesrvError;

/// The annotated default file, embedded so `apogee namesrv` runs without one.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../../config/namesrv.toml");

/// Codes clients send to look up routes (GET_KV_CONFIG, GET_ROUTEINFO_BY_TOPIC): served without
/// signature by default, because the users clients sign with live on the brokers.
const CLIENT_READS: &str = "101,105";

/// Configuration as written by a person; see `config/namesrv.toml` for every key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawNamesrvConfig {
    pub listen_address: String,
    pub listen_port: u16,
    pub data_dir: PathBuf,
    pub order_message_enable: bool,
    pub return_order_topic_config_to_broker: bool,
    pub scan_not_active_broker_interval_ms: u64,
    pub enable_all_topic_list: bool,
    pub enable_topic_list: bool,
    pub delete_topic_with_broker_registration: bool,
    pub config_black_list: String,
    pub frame_bytes_max: usize,
    pub channel_idle_timeout_secs: u64,
    pub in_flight_requests_per_connection: usize,
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
    pub metrics_exporter_type: String,
    pub metrics_prom_exporter_host: String,
    pub metrics_prom_exporter_port: u16,
    /// Run a failover controller node in this process (Java: enableControllerInNamesrv).
    #[serde(alias = "enableControllerInNamesrv")]
    pub enable_controller_in_namesrv: bool,
    /// The embedded controller's keys, as in config/controller.toml (Java's names accepted);
    /// the binary reads them and runs the controller beside the NameServer.
    pub controller: toml::Table,
}

impl Default for RawNamesrvConfig {
    fn default() -> Self {
        Self {
            listen_address: "0.0.0.0".into(),
            listen_port: 9876,
            data_dir: PathBuf::from("./apogee-data/namesrv"),
            order_message_enable: false,
            return_order_topic_config_to_broker: true,
            scan_not_active_broker_interval_ms: 5000,
            enable_all_topic_list: true,
            enable_topic_list: true,
            delete_topic_with_broker_registration: false,
            config_black_list: "configBlackList;configStorePath;kvConfigPath".into(),
            frame_bytes_max: FrameLimits::DEFAULT_FRAME_BYTES_MAX,
            channel_idle_timeout_secs: 120,
            in_flight_requests_per_connection: 256,
            authentication_enabled: false,
            authorization_enabled: false,
            authentication_whitelist: CLIENT_READS.into(),
            authorization_whitelist: CLIENT_READS.into(),
            init_authentication_user: String::new(),
            inner_client_authentication_credentials: String::new(),
            acl_enable: false,
            plain_acl_file: String::new(),
            tls_server_mode: "disabled".into(),
            tls_server_cert_path: String::new(),
            tls_server_key_path: String::new(),
            tls_server_need_client_auth: "none".into(),
            tls_server_trust_cert_path: String::new(),
            metrics_exporter_type: "DISABLE".into(),
            metrics_prom_exporter_host: String::new(),
            metrics_prom_exporter_port: apogee_metrics::DEFAULT_PROM_PORT,
            enable_controller_in_namesrv: false,
            controller: toml::Table::new(),
        }
    }
}

/// Validated configuration; only this reaches `run()`.
#[derive(Debug, Clone)]
pub struct NamesrvConfig {
    pub bind: String,
    pub kv_config_path: PathBuf,
    pub transport: apogee_remoting::TransportConfig,
    pub live: LiveSettings,
    pub black_list: Vec<String>,
    /// ACL 1.0 accounts (`plain_acl_file`, default `plain_acl.yml` in the data dir).
    pub plain_acl_path: PathBuf,
    /// The Prometheus exporter (`metrics_exporter_type`).
    pub metrics: apogee_metrics::MetricsSettings,
    raw: RawNamesrvConfig,
}

impl TryFrom<RawNamesrvConfig> for NamesrvConfig {
    type Error = NamesrvError;

    fn try_from(raw: RawNamesrvConfig) -> Result<Self, NamesrvError> {
        if raw.scan_not_active_broker_interval_ms == 0 {
            return Err(NamesrvError::Config(
                "scan_not_active_broker_interval_ms must be > 0".into(),
            ));
        }
        let mut black_list: Vec<String> = [
            "configBlackList",
            "configStorePath",
            "kvConfigPath",
            "rocketmqHome",
        ]
        .map(String::from)
        .to_vec();
        black_list.extend(
            raw.config_black_list
                .split(';')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(String::from),
        );
        let transport = apogee_remoting::TransportConfig::for_server(
            raw.frame_bytes_max,
            raw.in_flight_requests_per_connection,
            raw.channel_idle_timeout_secs,
        )
        .map_err(NamesrvError::Config)?;
        let metrics = apogee_metrics::MetricsSettings::from_keys(
            &raw.metrics_exporter_type,
            &raw.metrics_prom_exporter_host,
            raw.metrics_prom_exporter_port,
            &raw.listen_address,
        )
        .map_err(NamesrvError::Config)?;
        Ok(Self {
            metrics,
            bind: format!("{}:{}", raw.listen_address, raw.listen_port),
            kv_config_path: raw.data_dir.join("kvConfig.json"),
            plain_acl_path: match raw.plain_acl_file.trim() {
                "" => raw.data_dir.join("plain_acl.yml"),
                p => PathBuf::from(p),
            },
            transport,
            live: LiveSettings::new(&raw),
            black_list,
            raw,
        })
    }
}

impl NamesrvConfig {
    /// The `[controller]` keys when a controller is to run in this process
    /// (`enable_controller_in_namesrv`).
    pub fn embedded_controller(&self) -> Option<&toml::Table> {
        self.raw
            .enable_controller_in_namesrv
            .then_some(&self.raw.controller)
    }

    /// How the port treats connections (`tls_server_*`).
    pub fn server_tls(&self) -> Result<apogee_remoting::ServerTls, NamesrvError> {
        let raw = &self.raw;
        apogee_remoting::ServerTls::from_settings(
            &raw.tls_server_mode,
            [
                &raw.tls_server_cert_path,
                &raw.tls_server_key_path,
                &raw.tls_server_need_client_auth,
                &raw.tls_server_trust_cert_path,
            ],
        )
        .map_err(|e| NamesrvError::Config(format!("tls: {e}")))
    }

    /// The access-control keys.
    pub fn auth_keys(&self) -> apogee_auth::AuthKeys {
        apogee_auth::auth_keys_of!(self.raw)
    }

    /// All settings as Java-named properties (GET_NAMESRV_CONFIG).
    pub fn to_properties(&self) -> BTreeMap<String, String> {
        let mut out = self.live.to_properties();
        out.insert("listenPort".into(), self.raw.listen_port.to_string());
        out.insert("bindAddress".into(), self.raw.listen_address.clone());
        out.insert(
            "kvConfigPath".into(),
            self.kv_config_path.display().to_string(),
        );
        out.insert("configBlackList".into(), self.raw.config_black_list.clone());
        out.insert(
            "enableControllerInNamesrv".into(),
            self.raw.enable_controller_in_namesrv.to_string(),
        );
        out.insert(
            "serverChannelMaxIdleTimeSeconds".into(),
            self.raw.channel_idle_timeout_secs.to_string(),
        );
        out.insert(
            "frameMaxLength".into(),
            self.raw.frame_bytes_max.to_string(),
        );
        out
    }

    /// Applies an UPDATE_NAMESRV_CONFIG body. All keys are checked before any is applied.
    pub fn update_from_properties(
        &self,
        props: &BTreeMap<String, String>,
    ) -> Result<(), NamesrvError> {
        if props.keys().any(|k| self.black_list.contains(k)) {
            return Err(NamesrvError::ConfigBlackListed);
        }
        let fixed = self.to_properties();
        let live_keys = self.live.to_properties();
        for key in props.keys() {
            if !live_keys.contains_key(key) {
                return Err(NamesrvError::BadConfigUpdate(if fixed.contains_key(key) {
                    format!(
                        "{key} cannot change while running; set it in the config file and restart"
                    )
                } else {
                    format!("unknown config key {key}")
                }));
            }
        }
        self.live.apply(props)
    }
}

/// Settings UPDATE_NAMESRV_CONFIG may change at runtime. Cloning shares them.
#[derive(Debug, Clone)]
pub struct LiveSettings(Arc<RwLock<Live>>);

/// A snapshot of the live settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Live {
    pub order_message_enable: bool,
    pub return_order_topic_config_to_broker: bool,
    pub scan_not_active_broker_interval_ms: u64,
    pub enable_all_topic_list: bool,
    pub enable_topic_list: bool,
    pub delete_topic_with_broker_registration: bool,
}

impl LiveSettings {
    fn new(raw: &RawNamesrvConfig) -> Self {
        Self(Arc::new(RwLock::new(Live {
            order_message_enable: raw.order_message_enable,
            return_order_topic_config_to_broker: raw.return_order_topic_config_to_broker,
            scan_not_active_broker_interval_ms: raw.scan_not_active_broker_interval_ms,
            enable_all_topic_list: raw.enable_all_topic_list,
            enable_topic_list: raw.enable_topic_list,
            delete_topic_with_broker_registration: raw.delete_topic_with_broker_registration,
        })))
    }

    pub fn get(&self) -> Live {
        *self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn to_properties(&self) -> BTreeMap<String, String> {
        let live = self.get();
        [
            ("orderMessageEnable", live.order_message_enable.to_string()),
            (
                "returnOrderTopicConfigToBroker",
                live.return_order_topic_config_to_broker.to_string(),
            ),
            (
                "scanNotActiveBrokerInterval",
                live.scan_not_active_broker_interval_ms.to_string(),
            ),
            ("enableAllTopicList", live.enable_all_topic_list.to_string()),
            ("enableTopicList", live.enable_topic_list.to_string()),
            (
                "deleteTopicWithBrokerRegistration",
                live.delete_topic_with_broker_registration.to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    fn apply(&self, props: &BTreeMap<String, String>) -> Result<(), NamesrvError> {
        let mut next = self.get();
        for (key, value) in props {
            let bad =
                || NamesrvError::BadConfigUpdate(format!("invalid value {value:?} for {key}"));
            let flag = || match value.trim() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(bad()),
            };
            match key.as_str() {
                "orderMessageEnable" => next.order_message_enable = flag()?,
                "returnOrderTopicConfigToBroker" => {
                    next.return_order_topic_config_to_broker = flag()?
                }
                "enableAllTopicList" => next.enable_all_topic_list = flag()?,
                "enableTopicList" => next.enable_topic_list = flag()?,
                "deleteTopicWithBrokerRegistration" => {
                    next.delete_topic_with_broker_registration = flag()?
                }
                "scanNotActiveBrokerInterval" => {
                    next.scan_not_active_broker_interval_ms = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|v| *v > 0)
                        .ok_or_else(bad)?;
                }
                _ => {
                    return Err(NamesrvError::BadConfigUpdate(format!(
                        "unknown config key {key}"
                    )));
                }
            }
        }
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_embedded_default_file_should_equal_defaults_in_code() {
        let parsed: RawNamesrvConfig = toml::from_str(DEFAULT_CONFIG_TOML).unwrap();
        assert_eq!(parsed, RawNamesrvConfig::default());
    }

    #[test]
    fn given_updates_when_applied_should_change_live_keys_and_refuse_others() {
        let config = NamesrvConfig::try_from(RawNamesrvConfig::default()).unwrap();
        let props = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
        config
            .update_from_properties(&props("orderMessageEnable", "true"))
            .unwrap();
        assert!(config.live.get().order_message_enable);
        assert!(matches!(
            config.update_from_properties(&props("kvConfigPath", "/tmp/x")),
            Err(NamesrvError::ConfigBlackListed)
        ));
        let err = config
            .update_from_properties(&props("listenPort", "1"))
            .unwrap_err();
        assert!(err.to_string().contains("restart"), "{err}");
        assert!(
            config
                .update_from_properties(&props("enableTopicList", "maybe"))
                .is_err()
        );
        assert!(
            config
                .update_from_properties(&props("bogus", "1"))
                .unwrap_err()
                .to_string()
                .contains("unknown")
        );
    }

    #[test]
    fn given_invalid_values_when_validated_should_say_which() {
        let raw = RawNamesrvConfig {
            frame_bytes_max: 10,
            ..RawNamesrvConfig::default()
        };
        assert!(
            NamesrvConfig::try_from(raw)
                .unwrap_err()
                .to_string()
                .contains("frame_bytes_max")
        );
    }
}
