//! A broker set in controller mode, in process: a NameServer, one controller and N brokers of
//! `broker-a`, all on ephemeral ports in one temp dir. The controller picks the master; tests
//! stop and restart brokers and watch the roles change.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use apogee_broker::config::BrokerRole;
use apogee_broker::{Broker, RawBrokerConfig};
use apogee_controller::{Controller, ControllerConfig, RawControllerConfig};
use apogee_namesrv::Namesrv;
use apogee_runtime::{Shutdown, SystemClock};

use crate::cluster::{Member, fast_ha};
use crate::{broker_config, start_broker, start_namesrv, wait_until};

const WAIT: Duration = Duration::from_secs(30);

/// A free loopback port (the controller's peer list needs it before it binds).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Controller timings for tests: the leader scans every 200 ms and trusts heartbeats at once.
pub fn controller_config(dir: &std::path::Path, port: u16) -> ControllerConfig {
    ControllerConfig::try_from(RawControllerConfig {
        peers: format!("n0-127.0.0.1:{port}"),
        listen_address: "127.0.0.1".into(),
        data_dir: dir.to_owned(),
        scan_inactive_master_interval_ms: 200,
        scan_not_active_broker_interval_ms: 200,
        inactive_master_grace_ms: 500,
        ..RawControllerConfig::default()
    })
    .expect("controller config")
}

/// One broker set under a controller.
pub struct FailoverSet {
    pub namesrv: Namesrv,
    pub namesrv_addr: String,
    pub controller: Option<Controller>,
    pub controller_addr: String,
    pub members: Vec<Member>,
    pub dir: tempfile::TempDir,
}

impl FailoverSet {
    /// Starts the NameServer, the controller and `brokers` brokers in controller mode (with
    /// `tweak`), the first alone until it is master, then waits until every other one
    /// follows it and the SyncStateSet holds them all.
    pub async fn start(brokers: usize, tweak: impl Fn(&mut RawBrokerConfig)) -> FailoverSet {
        let dir = tempfile::tempdir().expect("temp dir");
        let namesrv = start_namesrv(&dir.path().join("namesrv")).await;
        let namesrv_addr = namesrv.local_addr().to_string();
        let port = free_port();
        let controller = Controller::start(
            controller_config(&dir.path().join("controller"), port),
            Shutdown::new(),
            Arc::new(SystemClock),
        )
        .await
        .expect("controller starts");
        let mut set = FailoverSet {
            namesrv,
            namesrv_addr,
            controller: Some(controller),
            controller_addr: format!("127.0.0.1:{port}"),
            members: Vec::new(),
            dir,
        };
        for i in 0..brokers {
            let path = set.dir.path().join(format!("broker-{i}"));
            let mut raw = broker_config(&path, &set.namesrv_addr);
            raw.broker_name = "broker-a".into();
            raw.enable_controller_mode = true;
            raw.controller_addr = set.controller_addr.clone();
            raw.sync_broker_metadata_period = 500;
            raw.check_sync_state_set_period = 200;
            fast_ha(&mut raw);
            tweak(&mut raw);
            set.members.push(Member {
                broker: Some(start_broker(raw.clone()).await),
                raw,
            });
            if i == 0 {
                set.wait_master(None).await;
            }
        }
        set.wait_sync_state_set(brokers).await;
        set
    }

    /// Broker `i`, which must be running.
    pub fn broker(&self, i: usize) -> &Broker {
        self.members[i]
            .broker
            .as_ref()
            .expect("that broker is running")
    }

    /// The running broker that is master now, if one is.
    pub fn master(&self) -> Option<usize> {
        self.members.iter().position(|m| {
            m.broker
                .as_ref()
                .is_some_and(|b| b.role() == BrokerRole::SyncMaster)
        })
    }

    /// Waits until a broker other than `not` is master; returns it.
    pub async fn wait_master(&self, not: Option<usize>) -> usize {
        wait_until("a master", WAIT, || async {
            self.master().is_some_and(|m| Some(m) != not)
        })
        .await;
        self.master().expect("a master")
    }

    /// Waits until the master's SyncStateSet has `n` members.
    pub async fn wait_sync_state_set(&self, n: usize) -> BTreeSet<i64> {
        wait_until("the SyncStateSet to fill", WAIT, || async {
            self.master()
                .and_then(|m| self.broker(m).controller_view())
                .is_some_and(|(_, sss)| sss.len() == n)
        })
        .await;
        let master = self.master().expect("a master");
        self.broker(master)
            .controller_view()
            .expect("controller mode")
            .1
    }

    /// Stops broker `i` cleanly (its files stay; its connections close at once).
    pub async fn stop(&mut self, i: usize) {
        if let Some(broker) = self.members[i].broker.take() {
            broker.stop().await;
        }
    }

    /// Starts broker `i` again on its files (new ports).
    pub async fn restart(&mut self, i: usize) {
        let member = &mut self.members[i];
        assert!(member.broker.is_none(), "that broker is running");
        member.broker = Some(start_broker(member.raw.clone()).await);
    }
}
