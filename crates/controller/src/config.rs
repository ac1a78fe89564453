//! Controller configuration: the raw, deserialisable form (see `config/controller.toml` for
//! every key; Java's names are accepted as aliases) and the validated [`ControllerConfig`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::raft::NodeId;

/// The annotated default file, embedded so `apogee controller` runs without one.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../../config/controller.toml");

/// Configuration as written by a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawControllerConfig {
    #[serde(alias = "controllerDLegerPeers")]
    pub peers: String,
    #[serde(alias = "controllerDLegerSelfId")]
    pub self_id: String,
    #[serde(alias = "controllerDLegerGroup")]
    pub group: String,
    pub listen_address: String,
    #[serde(alias = "controllerStorePath")]
    pub data_dir: PathBuf,
    #[serde(alias = "scanNotActiveBrokerInterval")]
    pub scan_not_active_broker_interval_ms: u64,
    #[serde(alias = "scanInactiveMasterInterval")]
    pub scan_inactive_master_interval_ms: u64,
    pub inactive_master_grace_ms: u64,
    #[serde(alias = "notifyBrokerRoleChanged")]
    pub notify_broker_role_changed: bool,
    #[serde(alias = "enableElectUncleanMaster")]
    pub enable_elect_unclean_master: bool,
    pub frame_bytes_max: usize,
    pub channel_idle_timeout_secs: u64,
    pub in_flight_requests_per_connection: usize,
}

impl Default for RawControllerConfig {
    fn default() -> Self {
        Self {
            peers: "n0-127.0.0.1:9878".into(),
            self_id: "n0".into(),
            group: "apogee-controller".into(),
            listen_address: "0.0.0.0".into(),
            data_dir: PathBuf::from("./apogee-data/controller"),
            scan_not_active_broker_interval_ms: 1000,
            scan_inactive_master_interval_ms: 1000,
            inactive_master_grace_ms: 3000,
            notify_broker_role_changed: true,
            enable_elect_unclean_master: false,
            frame_bytes_max: apogee_protocol::FrameLimits::DEFAULT_FRAME_BYTES_MAX,
            channel_idle_timeout_secs: 120,
            in_flight_requests_per_connection: 256,
        }
    }
}

/// One controller of the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// As written in `peers` (`n0`).
    pub name: String,
    pub addr: String,
}

/// Validated configuration; only this reaches [`crate::Controller::start`].
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// Raft node id → peer; the id is the entry's position in `peers`, so every node must
    /// list the peers in the same order.
    pub peers: BTreeMap<NodeId, Peer>,
    pub self_id: NodeId,
    pub group: String,
    pub bind: String,
    pub data_dir: PathBuf,
    pub scan_not_active_broker_interval: Duration,
    pub scan_inactive_master_interval: Duration,
    pub inactive_master_grace: Duration,
    pub notify_broker_role_changed: bool,
    pub elect_unclean_master: bool,
    pub transport: apogee_remoting::TransportConfig,
    pub raw: RawControllerConfig,
}

/// `n0-127.0.0.1:9878;n1-127.0.0.1:9868` → peers in order.
pub fn parse_peers(text: &str) -> Result<Vec<Peer>, String> {
    let mut peers: Vec<Peer> = Vec::new();
    for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((name, addr)) = entry.split_once('-') else {
            return Err(format!("peer `{entry}` is not id-host:port"));
        };
        let (name, addr) = (name.trim(), addr.trim());
        if name.is_empty()
            || addr
                .rsplit_once(':')
                .is_none_or(|(_, p)| p.parse::<u16>().is_err())
        {
            return Err(format!("peer `{entry}` is not id-host:port"));
        }
        if peers.iter().any(|p| p.name == name) {
            return Err(format!("peer id {name} is listed twice"));
        }
        peers.push(Peer {
            name: name.to_owned(),
            addr: addr.to_owned(),
        });
    }
    if peers.is_empty() {
        return Err("peers lists no controller".into());
    }
    Ok(peers)
}

impl TryFrom<RawControllerConfig> for ControllerConfig {
    type Error = String;

    fn try_from(raw: RawControllerConfig) -> Result<Self, String> {
        let peers = parse_peers(&raw.peers)?;
        let Some(position) = peers.iter().position(|p| p.name == raw.self_id) else {
            return Err(format!("self_id {} is not in peers", raw.self_id));
        };
        let port = peers[position]
            .addr
            .rsplit_once(':')
            .map_or("", |(_, p)| p)
            .to_owned();
        if [
            raw.scan_not_active_broker_interval_ms,
            raw.scan_inactive_master_interval_ms,
        ]
        .contains(&0)
        {
            return Err("scan intervals must be > 0".into());
        }
        let transport = apogee_remoting::TransportConfig::for_server(
            raw.frame_bytes_max,
            raw.in_flight_requests_per_connection,
            raw.channel_idle_timeout_secs,
        )?;
        Ok(Self {
            peers: (0..).zip(peers).collect(),
            self_id: position as NodeId,
            group: raw.group.clone(),
            bind: format!("{}:{port}", raw.listen_address),
            data_dir: raw.data_dir.clone(),
            scan_not_active_broker_interval: Duration::from_millis(
                raw.scan_not_active_broker_interval_ms,
            ),
            scan_inactive_master_interval: Duration::from_millis(
                raw.scan_inactive_master_interval_ms,
            ),
            inactive_master_grace: Duration::from_millis(raw.inactive_master_grace_ms),
            notify_broker_role_changed: raw.notify_broker_role_changed,
            elect_unclean_master: raw.enable_elect_unclean_master,
            transport,
            raw,
        })
    }
}

impl ControllerConfig {
    /// `n0:127.0.0.1:9878;n1:…;` as CONTROLLER_GET_METADATA_INFO reports the peers.
    pub fn peers_text(&self) -> String {
        self.peers
            .values()
            .map(|p| format!("{}:{};", p.name, p.addr))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_default_file_should_match_the_defaults() {
        let parsed: RawControllerConfig = toml::from_str(DEFAULT_CONFIG_TOML).expect("parses");
        assert_eq!(parsed, RawControllerConfig::default());
    }

    #[test]
    fn given_three_peers_should_number_them_in_order_and_bind_own_port() {
        let raw = RawControllerConfig {
            peers: "n0-127.0.0.1:9878; n1-127.0.0.1:9868;n2-127.0.0.1:9858;".into(),
            self_id: "n1".into(),
            ..RawControllerConfig::default()
        };
        let config = ControllerConfig::try_from(raw).expect("valid");
        assert_eq!(config.self_id, 1);
        assert_eq!(config.bind, "0.0.0.0:9868");
        assert_eq!(config.peers[&2].addr, "127.0.0.1:9858");
        assert_eq!(
            config.peers_text(),
            "n0:127.0.0.1:9878;n1:127.0.0.1:9868;n2:127.0.0.1:9858;"
        );
    }

    #[test]
    fn given_bad_peer_lists_should_refuse_them() {
        for peers in ["", "n0", "n0-host", "n0-h:1;n0-h:2", "-h:1"] {
            assert!(parse_peers(peers).is_err(), "{peers}");
        }
        let raw = RawControllerConfig {
            self_id: "n9".into(),
            ..RawControllerConfig::default()
        };
        assert!(ControllerConfig::try_from(raw).is_err());
    }
}
