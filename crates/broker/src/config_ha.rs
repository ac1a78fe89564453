//! The replication part of the broker's configuration: the role, and how the HA connection
//! behaves (Java's keys and defaults, docs/ha-facts.md §6).

use std::net::IpAddr;
use std::time::Duration;

use apogee_protocol::ha::TRANSFER_BODY_MAX;
use apogee_replication::HaSettings;

use crate::BrokerError;
use crate::config::RawBrokerConfig;

/// What this broker is in its group (`brokerRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerRole {
    /// Acknowledges once stored here; slaves copy in the background.
    AsyncMaster,
    /// Acknowledges once a slave has the message too (or answers 11/12).
    SyncMaster,
    /// Copies a master; serves reads, refuses writes.
    Slave,
}

impl BrokerRole {
    /// `brokerRole` with the id rule Java applies at start-up: a master is id 0, a slave
    /// has an id > 0.
    pub fn parse(text: &str, broker_id: i64) -> Result<Self, BrokerError> {
        let role = match text {
            "ASYNC_MASTER" => Self::AsyncMaster,
            "SYNC_MASTER" => Self::SyncMaster,
            "SLAVE" => Self::Slave,
            other => {
                return Err(BrokerError::Config(format!(
                    "broker_role `{other}`: expected ASYNC_MASTER, SYNC_MASTER or SLAVE"
                )));
            }
        };
        match role {
            Self::Slave if broker_id <= 0 => Err(BrokerError::Config(
                "broker_role SLAVE needs broker_id > 0 (0 is the master's)".into(),
            )),
            Self::AsyncMaster | Self::SyncMaster if broker_id != 0 => Err(BrokerError::Config(
                format!("broker_role {text} (a master) needs broker_id 0, not {broker_id}"),
            )),
            _ => Ok(role),
        }
    }

    pub fn is_slave(self) -> bool {
        self == Self::Slave
    }

    /// Java's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AsyncMaster => "ASYNC_MASTER",
            Self::SyncMaster => "SYNC_MASTER",
            Self::Slave => "SLAVE",
        }
    }
}

/// Validated replication settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaConfig {
    /// Where the master listens for slaves (`haListenPort`; by default `listenPort + 1`, or
    /// an ephemeral port when `listenPort` is 0).
    pub bind: String,
    /// The host slaves are told to connect to (`brokerIP2`, by default `brokerIP1`).
    pub advertised_ip: IpAddr,
    /// A slave's fixed master HA address (`haMasterAddress`); otherwise the NameServer's
    /// registration reply gives it.
    pub master_address: Option<String>,
    pub settings: HaSettings,
    /// Whether consumers are sent to a slave for data no longer in memory (`slaveReadEnable`).
    pub slave_read_enable: bool,
    /// How often a slave copies topics, groups and offsets from its master (Java 4.9: 10 s).
    pub sync_interval: Duration,
}

/// Controller mode (docs/failover.md): the controller decides master and slaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerMode {
    /// Every controller (`controllerAddr`, `;`-separated).
    pub controller_addrs: Vec<String>,
    /// How long the controller waits for this broker's heartbeats before it counts it dead.
    pub heartbeat_timeout_ms: i64,
    pub heartbeat_interval: Duration,
    /// Lower wins an election between equally caught-up brokers.
    pub election_priority: i32,
    /// How often the broker asks the controller who is master (notices also arrive at once).
    pub sync_metadata_period: Duration,
    /// How often a master checks which slaves are caught up (the SyncStateSet).
    pub check_sync_state_set_period: Duration,
    /// An acknowledged write is on every SyncStateSet member (`allAckInSyncStateSet`).
    pub all_ack_in_sync_state_set: bool,
    /// A SyncStateSet member this far behind for this long is dropped from it.
    pub slave_not_catchup: Duration,
}

impl ControllerMode {
    pub(crate) fn from_raw(raw: &RawBrokerConfig) -> Result<Option<Self>, BrokerError> {
        if !raw.enable_controller_mode {
            return Ok(None);
        }
        let controller_addrs: Vec<String> = raw
            .controller_addr
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect();
        if controller_addrs.is_empty() {
            return Err(BrokerError::Config(
                "enable_controller_mode needs controller_addr (host:port;host:port…)".into(),
            ));
        }
        if raw.broker_heartbeat_interval == 0
            || raw.controller_heart_beat_timeout_mills
                <= i64::try_from(raw.broker_heartbeat_interval).unwrap_or(i64::MAX)
        {
            return Err(BrokerError::Config(
                "broker_heartbeat_interval must be > 0 and below controller_heart_beat_timeout_mills".into(),
            ));
        }
        if raw.sync_broker_metadata_period < 100 || raw.check_sync_state_set_period < 100 {
            return Err(BrokerError::Config(
                "sync_broker_metadata_period and check_sync_state_set_period must be >= 100".into(),
            ));
        }
        Ok(Some(Self {
            controller_addrs,
            heartbeat_timeout_ms: raw.controller_heart_beat_timeout_mills,
            heartbeat_interval: Duration::from_millis(raw.broker_heartbeat_interval),
            election_priority: raw.broker_election_priority,
            sync_metadata_period: Duration::from_millis(raw.sync_broker_metadata_period),
            check_sync_state_set_period: Duration::from_millis(raw.check_sync_state_set_period),
            all_ack_in_sync_state_set: raw.all_ack_in_sync_state_set,
            slave_not_catchup: Duration::from_millis(raw.ha_max_time_slave_not_catchup),
        }))
    }
}

/// Java's `HA_ADDRESS_MIN_LENGTH`: shorter `haMasterAddress` values are ignored.
const HA_ADDRESS_MIN_LENGTH: usize = 6;

impl HaConfig {
    pub(crate) fn from_raw(raw: &RawBrokerConfig, broker_ip: IpAddr) -> Result<Self, BrokerError> {
        let bad = |m: &str| Err(BrokerError::Config(m.into()));
        let port = match raw.ha_listen_port {
            p if p < 0 => {
                if raw.listen_port == 0 {
                    0
                } else {
                    raw.listen_port.checked_add(1).ok_or_else(|| {
                        BrokerError::Config(
                            "listen_port 65535 leaves no room for ha_listen_port = listen_port + 1; set ha_listen_port".into(),
                        )
                    })?
                }
            }
            p => u16::try_from(p)
                .map_err(|_| BrokerError::Config(format!("ha_listen_port {p} is not a port")))?,
        };
        if raw.ha_transfer_batch_size == 0 || raw.ha_transfer_batch_size > TRANSFER_BODY_MAX {
            return bad(
                "ha_transfer_batch_size must be within 1..=4194304 (a Java slave's read buffer)",
            );
        }
        if raw.ha_send_heartbeat_interval_ms < 100
            || raw.ha_housekeeping_interval_ms <= raw.ha_send_heartbeat_interval_ms
        {
            return bad(
                "ha_send_heartbeat_interval_ms must be >= 100 and below ha_housekeeping_interval_ms",
            );
        }
        if raw.ha_slave_fallbehind_max <= 0 || raw.slave_timeout_ms == 0 {
            return bad("ha_slave_fallbehind_max and slave_timeout_ms must be > 0");
        }
        if raw.slave_sync_interval_ms < 100 {
            return bad("slave_sync_interval_ms must be >= 100");
        }
        let master = raw.ha_master_address.trim();
        let advertised_ip = if raw.broker_ip2.trim().is_empty() {
            broker_ip
        } else {
            crate::config::resolve_broker_ip(&raw.broker_ip2)?
        };
        Ok(Self {
            bind: format!("{}:{port}", raw.listen_address),
            advertised_ip,
            master_address: (master.len() >= HA_ADDRESS_MIN_LENGTH).then(|| master.to_owned()),
            settings: HaSettings {
                heartbeat: Duration::from_millis(raw.ha_send_heartbeat_interval_ms),
                housekeeping: Duration::from_millis(raw.ha_housekeeping_interval_ms),
                batch_bytes: raw.ha_transfer_batch_size,
                fallbehind_max: raw.ha_slave_fallbehind_max,
                slave_timeout: Duration::from_millis(raw.slave_timeout_ms),
                // A SYNC_MASTER's sends wait for the slave: their frames go out at once.
                linger: if raw.broker_role == "SYNC_MASTER" {
                    Duration::ZERO
                } else {
                    Duration::from_micros(raw.ha_linger_us)
                },
                ..HaSettings::default()
            },
            slave_read_enable: raw.slave_read_enable,
            sync_interval: Duration::from_millis(raw.slave_sync_interval_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(
        overrides: impl FnOnce(&mut RawBrokerConfig),
    ) -> Result<crate::BrokerConfig, BrokerError> {
        let mut raw = RawBrokerConfig {
            broker_ip1: "127.0.0.1".into(),
            ..RawBrokerConfig::default()
        };
        overrides(&mut raw);
        crate::BrokerConfig::try_from(raw)
    }

    #[test]
    fn given_roles_should_apply_javas_id_rule() {
        assert!(parse(|r| r.broker_role = "SLAVE".into()).is_err());
        let slave = parse(|r| {
            r.broker_role = "SLAVE".into();
            r.broker_id = 1;
        })
        .expect("a slave with id 1");
        assert_eq!(slave.role, BrokerRole::Slave);
        assert!(parse(|r| r.broker_id = 2).is_err(), "a master is id 0");
        assert!(parse(|r| r.broker_role = "MASTER".into()).is_err());
    }

    #[test]
    fn given_defaults_should_listen_for_slaves_on_the_next_port() {
        let config = parse(|_| {}).expect("defaults");
        assert_eq!(config.ha.bind, "0.0.0.0:10912");
        assert_eq!(config.ha.settings.slave_timeout, Duration::from_secs(3));
        assert_eq!(config.ha.settings.fallbehind_max, 256 * 1024 * 1024);
        let ephemeral = parse(|r| r.listen_port = 0).expect("ephemeral");
        assert_eq!(ephemeral.ha.bind, "0.0.0.0:0");
        let short = parse(|r| r.ha_master_address = "a:1".into()).expect("ignored");
        assert_eq!(
            short.ha.master_address, None,
            "Java ignores addresses under 6 characters"
        );
    }

    #[test]
    fn given_java_keys_should_map_both_fallbehind_names() {
        let import = crate::config::import_java_properties(
            "haSlaveFallbehindMax=1000\nslaveReadEnable=true\nhaListenPort=20000\n",
        )
        .expect("imports");
        assert!(import.ignored.is_empty(), "{:?}", import.ignored);
        let gap = crate::config::import_java_properties("haMaxGapNotInSync=77\n").expect("imports");
        assert_eq!(
            gap.table
                .get("ha_slave_fallbehind_max")
                .and_then(toml::Value::as_integer),
            Some(77)
        );
    }
}
