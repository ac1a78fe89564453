//! Settings shared by every producer and consumer of a client instance. Defaults are the Java
//! client's (REMOTING.md §7.1).

use std::net::IpAddr;
use std::time::Duration;

use crate::{ClientError, Result};

/// Where the NameServer addresses come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameServerSource {
    /// A fixed list, e.g. parsed from `"10.0.0.1:9876;10.0.0.2:9876"`.
    List(Vec<String>),
    /// An HTTP endpoint answering `ip:port;ip:port` in its body (RocketMQ's `wsAddr`/
    /// `jmenv` address server), fetched at start and every 2 minutes.
    Http(String),
}

/// Client settings. `ClientConfig::new("127.0.0.1:9876")` gives the Java defaults.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub name_servers: NameServerSource,
    /// The instance name; with the default `DEFAULT` the client id is `ip@pid`, otherwise
    /// `ip@instance`. Two consumers of one group in one process need different names.
    pub instance_name: String,
    /// The IP this client reports (client id, born host); the first non-loopback address by
    /// default, falling back to 127.0.0.1.
    pub client_ip: IpAddr,
    /// Timeout of control calls: routes, heartbeats, offsets, admin (`mqClientApiTimeout`).
    pub request_timeout: Duration,
    /// Route refresh period (`pollNameServerInterval`, 30 s).
    pub poll_name_server_interval: Duration,
    /// Heartbeat period (`heartbeatBrokerInterval`, 30 s).
    pub heartbeat_interval: Duration,
    /// Offset push period (`persistConsumerOffsetInterval`, 5 s).
    pub persist_offset_interval: Duration,
    /// Rebalance period (20 s).
    pub rebalance_interval: Duration,
    /// Every request is signed with these (RocketMQ's `AclClientRPCHook`) when set.
    pub credentials: Option<apogee_auth::Credentials>,
    /// Connections to NameServers and brokers use TLS when set (RocketMQ's `tls.enable`).
    pub tls: Option<apogee_remoting::ClientTls>,
}

/// The instance name meaning "use the process id".
pub const DEFAULT_INSTANCE_NAME: &str = "DEFAULT";

impl ClientConfig {
    /// Java defaults with the NameServer list `addrs` (`;`-separated).
    pub fn new(addrs: &str) -> Self {
        Self {
            name_servers: NameServerSource::List(split_addrs(addrs)),
            instance_name: DEFAULT_INSTANCE_NAME.into(),
            client_ip: local_ip(),
            request_timeout: Duration::from_secs(3),
            poll_name_server_interval: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(30),
            persist_offset_interval: Duration::from_secs(5),
            rebalance_interval: Duration::from_secs(20),
            credentials: None,
            tls: None,
        }
    }

    /// Java defaults with NameServer addresses served by an HTTP endpoint.
    pub fn with_address_endpoint(url: &str) -> Self {
        Self {
            name_servers: NameServerSource::Http(url.to_owned()),
            ..Self::new("")
        }
    }

    /// Signs every request with this access key and secret (ACL 1.0 account or ACL 2.0 user).
    pub fn credentials(
        mut self,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some(apogee_auth::Credentials::new(access_key, secret_key));
        self
    }

    /// Connects over TLS, checking servers against the PEM CA certificates in `trust`, or (with
    /// `None`) accepting any server certificate, as RocketMQ's default test mode does.
    pub fn tls(mut self, trust: Option<&std::path::Path>) -> Result<Self> {
        let tls = apogee_remoting::ClientTls::new(trust, None).map_err(ClientError::Config)?;
        self.tls = Some(tls);
        Ok(self)
    }

    pub fn instance_name(mut self, name: impl Into<String>) -> Self {
        self.instance_name = name.into();
        self
    }

    /// `ip@pid` or `ip@instance`: how brokers tell clients apart.
    pub fn client_id(&self) -> String {
        let instance = if self.instance_name == DEFAULT_INSTANCE_NAME {
            std::process::id().to_string()
        } else {
            self.instance_name.clone()
        };
        format!("{}@{instance}", self.client_ip)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if let NameServerSource::List(list) = &self.name_servers {
            if list.is_empty() {
                return Err(ClientError::Config(
                    "no NameServer address: pass e.g. \"127.0.0.1:9876\"".into(),
                ));
            }
            if let Some(bad) = list.iter().find(|a| !looks_like_addr(a)) {
                return Err(ClientError::Config(format!(
                    "NameServer address `{bad}` is not host:port"
                )));
            }
        }
        if self.instance_name.trim().is_empty() {
            return Err(ClientError::Config("instance_name is empty".into()));
        }
        Ok(())
    }
}

/// `"a:1; b:2"` → `["a:1", "b:2"]`.
pub(crate) fn split_addrs(text: &str) -> Vec<String> {
    text.split([';', ','])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

fn looks_like_addr(addr: &str) -> bool {
    addr.rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}

/// The address other hosts most likely reach us at: the source address of a UDP socket
/// "connected" to a public address (no packet is sent), else loopback.
fn local_ip() -> IpAddr {
    let probe = || -> Option<IpAddr> {
        let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
        socket.connect("8.8.8.8:80").ok()?;
        Some(socket.local_addr().ok()?.ip())
    };
    probe()
        .filter(|ip| !ip.is_unspecified())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_address_list_should_split_and_validate() {
        assert_eq!(split_addrs(" a:1; b:2 ;"), vec!["a:1", "b:2"]);
        assert!(ClientConfig::new("127.0.0.1:9876").validate().is_ok());
        assert!(ClientConfig::new("").validate().is_err());
        let err = ClientConfig::new("localhost").validate().unwrap_err();
        assert!(err.to_string().contains("not host:port"), "{err}");
    }

    #[test]
    fn given_default_instance_should_use_pid_in_client_id() {
        let config = ClientConfig::new("127.0.0.1:9876");
        assert!(
            config
                .client_id()
                .ends_with(&format!("@{}", std::process::id()))
        );
        let named = config.instance_name("orders");
        assert!(named.client_id().ends_with("@orders"));
    }
}
