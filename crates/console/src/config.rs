//! Console configuration: the raw, deserialisable form (see `config/console.toml` for every
//! key) and the validated [`ConsoleConfig`].

use std::path::PathBuf;

use serde::Deserialize;

/// The annotated default file, embedded so `apogee console` runs without one.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../../config/console.toml");

/// The administrator's secret when none is configured: usable on loopback only.
pub const DEFAULT_ADMIN_SECRET: &str = "apogee";

/// Configuration as written by a person.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConsoleConfig {
    pub listen_address: String,
    pub listen_port: u16,
    pub namesrv_addr: String,
    pub data_dir: PathBuf,
    pub admin_access_key: String,
    pub admin_secret_key: String,
    pub tenant_id: String,
    pub request_timeout_ms: u64,
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
    pub history_sample_interval_secs: u64,
    pub history_retention_days: u32,
    pub stored_count_cache_secs: u64,
}

impl Default for RawConsoleConfig {
    fn default() -> Self {
        Self {
            listen_address: "127.0.0.1".into(),
            listen_port: 8080,
            namesrv_addr: "127.0.0.1:9876".into(),
            data_dir: PathBuf::from("./apogee-data/console"),
            admin_access_key: "admin".into(),
            admin_secret_key: DEFAULT_ADMIN_SECRET.into(),
            tenant_id: "1".into(),
            request_timeout_ms: 5000,
            rate_limit_per_second: 20,
            rate_limit_burst: 40,
            history_sample_interval_secs: 60,
            history_retention_days: 7,
            stored_count_cache_secs: 10,
        }
    }
}

/// Validated configuration; only this reaches [`crate::Console::start`].
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    pub bind: String,
    pub namesrv_addr: String,
    pub data_dir: PathBuf,
    /// The administrator (full access); `None` when its access key is empty.
    pub admin: Option<(String, String)>,
    pub tenant_id: String,
    pub request_timeout: std::time::Duration,
    /// Requests per second per access key (0: unlimited) and the burst allowed.
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
    /// How often the history is sampled, and how many days of it are kept.
    pub history_sample_interval: std::time::Duration,
    pub history_retention_days: u32,
    /// How long the cluster's stored-message count (one request per topic) is reused.
    pub stored_count_cache: std::time::Duration,
}

impl TryFrom<RawConsoleConfig> for ConsoleConfig {
    type Error = String;

    fn try_from(raw: RawConsoleConfig) -> Result<Self, String> {
        let loopback = raw
            .listen_address
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
            || raw.listen_address == "localhost";
        let admin = (!raw.admin_access_key.trim().is_empty())
            .then(|| (raw.admin_access_key.clone(), raw.admin_secret_key.clone()));
        if let Some((_, secret)) = &admin {
            if secret.is_empty() {
                return Err("admin_secret_key is empty; set one or clear admin_access_key".into());
            }
            if secret == DEFAULT_ADMIN_SECRET && !loopback {
                return Err(format!(
                    "the console listens on {} with the default admin_secret_key; set your own before listening beyond loopback",
                    raw.listen_address
                ));
            }
        }
        if raw.namesrv_addr.trim().is_empty() {
            return Err("namesrv_addr is empty".into());
        }
        Ok(Self {
            bind: format!("{}:{}", raw.listen_address, raw.listen_port),
            namesrv_addr: raw.namesrv_addr.clone(),
            data_dir: raw.data_dir.clone(),
            admin,
            tenant_id: raw.tenant_id.clone(),
            request_timeout: std::time::Duration::from_millis(raw.request_timeout_ms.max(100)),
            rate_limit_per_second: raw.rate_limit_per_second,
            rate_limit_burst: raw.rate_limit_burst,
            history_sample_interval: std::time::Duration::from_secs(
                raw.history_sample_interval_secs.max(1),
            ),
            history_retention_days: raw.history_retention_days.max(1),
            stored_count_cache: std::time::Duration::from_secs(raw.stored_count_cache_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_default_file_should_match_the_defaults() {
        let parsed: RawConsoleConfig = toml::from_str(DEFAULT_CONFIG_TOML).expect("parses");
        assert_eq!(parsed, RawConsoleConfig::default());
    }

    #[test]
    fn given_the_default_secret_beyond_loopback_should_refuse_to_start() {
        let raw = RawConsoleConfig {
            listen_address: "0.0.0.0".into(),
            ..RawConsoleConfig::default()
        };
        let why = ConsoleConfig::try_from(raw).expect_err("refused");
        assert!(why.contains("admin_secret_key"), "{why}");
        let raw = RawConsoleConfig {
            listen_address: "0.0.0.0".into(),
            admin_secret_key: "s3cret-enough".into(),
            ..RawConsoleConfig::default()
        };
        assert!(ConsoleConfig::try_from(raw).is_ok());
    }
}
