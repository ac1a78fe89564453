//! Clusters of brokers and their NameServer, in process, on ephemeral ports in one temp dir:
//! any number of broker groups (`broker-a`, `broker-b`, …), each a master and any number of
//! slaves. Slaves find their master as in production, from the NameServer's registration
//! reply. HA timings are shortened ([`fast_ha`]); the HA connections run on tokio's clock,
//! so there is no manual clock to share here.

use std::time::Duration;

use apogee_broker::{Broker, RawBrokerConfig};
use apogee_namesrv::Namesrv;

use crate::{broker_config, start_broker, start_namesrv, wait_until};

/// Every wait of the harness is bounded by this.
const WAIT: Duration = Duration::from_secs(30);

/// HA timings for tests: reports and heartbeats every 200 ms, a silent peer dropped after 2 s.
pub fn fast_ha(raw: &mut RawBrokerConfig) {
    raw.ha_send_heartbeat_interval_ms = 200;
    raw.ha_housekeeping_interval_ms = 2000;
}

/// One broker: its settings, and the broker while it runs.
pub struct Member {
    pub raw: RawBrokerConfig,
    pub broker: Option<Broker>,
}

/// A NameServer and broker groups; `groups[g][id]` is broker `id` (0: the master) of group
/// `g`, named `broker-a`, `broker-b`, ….
pub struct Cluster {
    pub namesrv: Namesrv,
    pub namesrv_addr: String,
    pub groups: Vec<Vec<Member>>,
    pub dir: tempfile::TempDir,
}

/// The name of group `g`.
pub fn group_name(g: usize) -> String {
    let letter = u8::try_from(g % 26).map_or('a', |n| char::from(b'a' + n));
    format!("broker-{letter}")
}

impl Cluster {
    /// Starts the NameServer, then for each `(master role, slaves)` of `shape` a master and
    /// its slaves, with `tweak` applied to every broker; waits until every slave is
    /// connected to its master.
    pub async fn start(shape: &[(&str, usize)], tweak: impl Fn(&mut RawBrokerConfig)) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let namesrv = start_namesrv(&dir.path().join("namesrv")).await;
        let namesrv_addr = namesrv.local_addr().to_string();
        let mut groups = Vec::new();
        for (g, (role, slaves)) in shape.iter().enumerate() {
            let mut members = Vec::new();
            for id in 0..=*slaves {
                let path = dir.path().join(format!("{}-{id}", group_name(g)));
                let mut raw = broker_config(&path, &namesrv_addr);
                raw.broker_name = group_name(g);
                raw.broker_id = i64::try_from(id).expect("a small id");
                raw.broker_role = if id == 0 {
                    (*role).into()
                } else {
                    "SLAVE".into()
                };
                fast_ha(&mut raw);
                tweak(&mut raw);
                let broker = start_broker(raw.clone()).await;
                members.push(Member {
                    raw,
                    broker: Some(broker),
                });
            }
            groups.push(members);
        }
        let cluster = Cluster {
            namesrv,
            namesrv_addr,
            groups,
            dir,
        };
        for g in 0..cluster.groups.len() {
            cluster.wait_connected(g).await;
        }
        cluster
    }

    /// Broker `id` of group `g`, which must be running.
    pub fn broker(&self, g: usize, id: usize) -> &Broker {
        self.groups[g][id]
            .broker
            .as_ref()
            .expect("that broker is running")
    }

    /// Its client address.
    pub fn addr(&self, g: usize, id: usize) -> String {
        self.broker(g, id).advertised_addr().to_string()
    }

    /// Stops broker `id` of group `g` cleanly (its files stay).
    pub async fn stop(&mut self, g: usize, id: usize) {
        if let Some(broker) = self.groups[g][id].broker.take() {
            broker.stop().await;
        }
    }

    /// Starts broker `id` of group `g` again on its files (a new port).
    pub async fn restart(&mut self, g: usize, id: usize) {
        let member = &mut self.groups[g][id];
        assert!(member.broker.is_none(), "that broker is running");
        member.broker = Some(start_broker(member.raw.clone()).await);
    }

    /// Waits until group `g`'s master counts every running slave as connected.
    pub async fn wait_connected(&self, g: usize) {
        let slaves = self.groups[g][1..]
            .iter()
            .filter(|m| m.broker.is_some())
            .count();
        wait_until("the slaves to connect to their master", WAIT, || async {
            self.broker(g, 0).ha_status().ha_connection_info.len() == slaves
        })
        .await;
    }

    /// Waits until every running slave of group `g` ends its CommitLog where the master does.
    pub async fn wait_caught_up(&self, g: usize) {
        wait_until("the slaves to catch up", WAIT, || async {
            let end = self.broker(g, 0).ha_status().master_commit_log_max_offset;
            self.groups[g][1..]
                .iter()
                .filter_map(|m| m.broker.as_ref())
                .all(|s| s.ha_status().ha_client_runtime_info.max_offset == end)
        })
        .await;
    }
}

/// The common case: one master and one slave.
pub struct Pair {
    pub cluster: Cluster,
    pub namesrv_addr: String,
}

impl Pair {
    /// Starts the NameServer, the master with `role` (ASYNC_MASTER or SYNC_MASTER), then the
    /// slave, and waits until the slave is connected to the master's HA port.
    pub async fn start(role: &str, tweak: impl Fn(&mut RawBrokerConfig)) -> Pair {
        let cluster = Cluster::start(&[(role, 1)], tweak).await;
        Pair {
            namesrv_addr: cluster.namesrv_addr.clone(),
            cluster,
        }
    }

    pub fn master(&self) -> &Broker {
        self.cluster.broker(0, 0)
    }

    pub fn slave(&self) -> &Broker {
        self.cluster.broker(0, 1)
    }

    pub fn master_addr(&self) -> String {
        self.cluster.addr(0, 0)
    }

    pub fn slave_addr(&self) -> String {
        self.cluster.addr(0, 1)
    }

    pub async fn wait_connected(&self) {
        self.cluster.wait_connected(0).await;
    }

    pub async fn wait_caught_up(&self) {
        self.cluster.wait_caught_up(0).await;
    }

    pub async fn stop_slave(&mut self) {
        self.cluster.stop(0, 1).await;
    }

    pub async fn start_slave(&mut self) {
        self.cluster.restart(0, 1).await;
    }

    pub async fn stop_master(&mut self) {
        self.cluster.stop(0, 0).await;
    }
}
