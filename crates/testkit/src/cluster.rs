//! A master/slave pair and their NameServer, in process, on ephemeral ports in one temp dir.
//! The slave finds its master as in production: from the NameServer's registration reply.

use std::time::Duration;

use apogee_broker::{Broker, RawBrokerConfig};
use apogee_namesrv::Namesrv;

use crate::{broker_config, start_broker, start_namesrv, wait_until};

/// HA timings for tests: reports and heartbeats every 200 ms, a silent peer dropped after 2 s.
pub fn fast_ha(raw: &mut RawBrokerConfig) {
    raw.ha_send_heartbeat_interval_ms = 200;
    raw.ha_housekeeping_interval_ms = 2000;
}

/// A NameServer, a master (`broker-a`, id 0) and its slave (id 1).
pub struct Pair {
    pub namesrv: Namesrv,
    pub namesrv_addr: String,
    pub master: Option<Broker>,
    pub slave: Option<Broker>,
    pub master_raw: RawBrokerConfig,
    pub slave_raw: RawBrokerConfig,
    pub dir: tempfile::TempDir,
}

impl Pair {
    /// Starts the NameServer, the master with `role` (ASYNC_MASTER or SYNC_MASTER), then the
    /// slave, and waits until the slave is connected to the master's HA port.
    pub async fn start(role: &str, tweak: impl Fn(&mut RawBrokerConfig)) -> Pair {
        let dir = tempfile::tempdir().expect("temp dir");
        let namesrv = start_namesrv(&dir.path().join("namesrv")).await;
        let namesrv_addr = namesrv.local_addr().to_string();
        let mut master_raw = broker_config(&dir.path().join("master"), &namesrv_addr);
        master_raw.broker_role = role.into();
        fast_ha(&mut master_raw);
        tweak(&mut master_raw);
        let master = start_broker(master_raw.clone()).await;
        let mut slave_raw = broker_config(&dir.path().join("slave"), &namesrv_addr);
        slave_raw.broker_role = "SLAVE".into();
        slave_raw.broker_id = 1;
        fast_ha(&mut slave_raw);
        tweak(&mut slave_raw);
        let slave = start_broker(slave_raw.clone()).await;
        let pair = Pair {
            namesrv,
            namesrv_addr,
            master: Some(master),
            slave: Some(slave),
            master_raw,
            slave_raw,
            dir,
        };
        pair.wait_connected().await;
        pair
    }

    pub fn master(&self) -> &Broker {
        self.master.as_ref().expect("the master is running")
    }

    pub fn slave(&self) -> &Broker {
        self.slave.as_ref().expect("the slave is running")
    }

    pub fn master_addr(&self) -> String {
        self.master().advertised_addr().to_string()
    }

    pub fn slave_addr(&self) -> String {
        self.slave().advertised_addr().to_string()
    }

    /// Waits until the master counts one connected slave.
    pub async fn wait_connected(&self) {
        wait_until(
            "the slave to connect to the master",
            Duration::from_secs(30),
            || async { self.master().ha_status().ha_connection_info.len() == 1 },
        )
        .await;
    }

    /// Waits until the slave's CommitLog ends where the master's does.
    pub async fn wait_caught_up(&self) {
        wait_until("the slave to catch up", Duration::from_secs(30), || async {
            let m = self.master().ha_status().master_commit_log_max_offset;
            self.slave().ha_status().ha_client_runtime_info.max_offset == m
        })
        .await;
    }

    /// Stops the slave cleanly (its files stay).
    pub async fn stop_slave(&mut self) {
        if let Some(slave) = self.slave.take() {
            slave.stop().await;
        }
    }

    /// Starts the slave again on its files (a new port).
    pub async fn start_slave(&mut self) {
        assert!(self.slave.is_none(), "the slave is running");
        self.slave = Some(start_broker(self.slave_raw.clone()).await);
    }

    /// Stops the master cleanly (it unregisters; its files stay).
    pub async fn stop_master(&mut self) {
        if let Some(master) = self.master.take() {
            master.stop().await;
        }
    }
}
