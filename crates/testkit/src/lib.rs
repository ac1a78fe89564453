//! Dev-only harness: the same `Namesrv::start` / `Broker::start` the binary runs, on
//! `127.0.0.1` ephemeral ports with data in a temp dir. Never a normal dependency.

mod cluster;
mod failover;
pub mod http;
mod pki;
mod process;

pub use cluster::{Cluster, Member, Pair, fast_ha, group_name};
pub use failover::{FailoverSet, controller_config, free_port};
pub use pki::TestPki;
pub use process::ChildServer;

use std::path::Path;
use std::sync::Arc;

use apogee_broker::{Broker, BrokerConfig, RawBrokerConfig};
use apogee_namesrv::{Namesrv, NamesrvConfig, RawNamesrvConfig};
use apogee_runtime::{Shutdown, SystemClock};

/// A NameServer and one broker registered with it.
pub struct InProcess {
    pub namesrv: Namesrv,
    pub namesrv_addr: String,
    pub broker: Broker,
    /// The broker's client-facing address.
    pub broker_addr: String,
    /// The broker's raw config, for restarts on the same directory.
    pub raw: RawBrokerConfig,
    pub dir: tempfile::TempDir,
}

/// A NameServer on an ephemeral port keeping its files under `data_dir`.
pub async fn start_namesrv(data_dir: &Path) -> Namesrv {
    start_namesrv_with(data_dir, |_| {}).await
}

/// [`start_namesrv`] with `tweak` applied to its config.
pub async fn start_namesrv_with(
    data_dir: &Path,
    tweak: impl FnOnce(&mut RawNamesrvConfig),
) -> Namesrv {
    let mut raw = RawNamesrvConfig {
        listen_address: "127.0.0.1".into(),
        listen_port: 0,
        data_dir: data_dir.to_owned(),
        ..RawNamesrvConfig::default()
    };
    tweak(&mut raw);
    let config = NamesrvConfig::try_from(raw).expect("test NameServer config is valid");
    Namesrv::start(config, Shutdown::new(), Arc::new(SystemClock))
        .await
        .expect("test NameServer starts")
}

/// Broker settings for tests: loopback, ephemeral port, store under `dir/store`.
pub fn broker_config(dir: &Path, namesrv_addr: &str) -> RawBrokerConfig {
    RawBrokerConfig {
        listen_address: "127.0.0.1".into(),
        listen_port: 0,
        broker_ip1: "127.0.0.1".into(),
        namesrv_addr: namesrv_addr.into(),
        store_path_root_dir: dir.join("store"),
        // Small files: many test clusters run at once and files are allocated in full.
        mapped_file_size_commit_log: 64 * 1024 * 1024,
        mapped_file_size_consume_queue: 10_000 * 20,
        max_hash_slot_num: 10_000,
        max_index_num: 40_000,
        // The host disk is shared and often above 85 %: test brokers must neither delete
        // files nor refuse writes because of it.
        clean_file_forcibly_enable: false,
        disk_space_warning_level_ratio: 99,
        ..RawBrokerConfig::default()
    }
}

pub async fn start_broker(raw: RawBrokerConfig) -> Broker {
    let config = BrokerConfig::try_from(raw).expect("test broker config is valid");
    Broker::start(config, Shutdown::new(), Arc::new(SystemClock))
        .await
        .expect("test broker starts")
}

/// A NameServer and a broker (with `tweak` applied to its config) in a fresh temp dir.
pub async fn start(tweak: impl FnOnce(&mut RawBrokerConfig)) -> InProcess {
    let dir = tempfile::tempdir().expect("temp dir");
    let namesrv = start_namesrv(&dir.path().join("namesrv")).await;
    let namesrv_addr = namesrv.local_addr().to_string();
    let mut raw = broker_config(dir.path(), &namesrv_addr);
    tweak(&mut raw);
    let broker = start_broker(raw.clone()).await;
    InProcess {
        broker_addr: broker.advertised_addr().to_string(),
        namesrv,
        namesrv_addr,
        broker,
        raw,
        dir,
    }
}

/// Polls `check` every 20 ms until it holds; panics naming `what` after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: std::time::Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
