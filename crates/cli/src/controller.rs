//! `apogee controller`: one node of the failover controller group (RocketMQ's `mqcontroller`).
//! Configuration from a TOML file (every key in config/controller.toml; Java's key names are
//! accepted), `APOGEE_CONTROLLER__*` variables and flags.

use std::path::PathBuf;

use anyhow::Context;
use apogee_controller::{ControllerConfig, RawControllerConfig};
use apogee_runtime::Shutdown;
use apogee_runtime::config::{Layers, load_layered};
use clap::Args;

use crate::say;

#[derive(Args)]
pub struct ControllerArgs {
    /// TOML config file; every key and its default is in config/controller.toml
    /// (print it with --print-default-config).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Every controller as `id-host:port;…` (Java: controllerDLegerPeers) [default: n0-127.0.0.1:9878].
    #[arg(long = "peers", value_name = "PEERS")]
    peers: Option<String>,
    /// This node's id in the peer list [default: n0].
    #[arg(long = "self-id", value_name = "ID")]
    self_id: Option<String>,
    /// Directory for the raft log and snapshots [default: ./apogee-data/controller].
    #[arg(long = "data-dir", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Set any config key, e.g. --set enable_elect_unclean_master=true (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = crate::parse_key_value)]
    set: Vec<(String, String)>,
    /// Print the annotated default config file and exit.
    #[arg(long = "print-default-config")]
    print_default_config: bool,
}

pub fn controller(args: ControllerArgs) -> anyhow::Result<()> {
    if args.print_default_config {
        print!("{}", apogee_controller::config::DEFAULT_CONFIG_TOML);
        return Ok(());
    }
    let mut overrides = Vec::new();
    if let Some(peers) = &args.peers {
        overrides.push(("peers".to_owned(), format!("{peers:?}")));
    }
    if let Some(id) = &args.self_id {
        overrides.push(("self_id".to_owned(), format!("{id:?}")));
    }
    if let Some(dir) = &args.data_dir {
        overrides.push(("data_dir".to_owned(), crate::toml_path(dir)));
    }
    overrides.extend(args.set.iter().cloned());
    let layers = Layers {
        file: args.config.as_deref(),
        base: None,
        env_prefix: Some("APOGEE_CONTROLLER"),
        env: None,
        overrides,
    };
    let raw: RawControllerConfig =
        load_layered(&layers).context("loading controller configuration")?;
    let config = ControllerConfig::try_from(raw)
        .map_err(anyhow::Error::msg)
        .context("validating controller configuration")?;
    apogee_runtime::init_tracing();
    crate::runtime()?.block_on(async move {
        let shutdown = Shutdown::new();
        shutdown.trigger_on_signals();
        let clock = std::sync::Arc::new(apogee_runtime::SystemClock);
        let peers = config.peers_text();
        let node = apogee_controller::Controller::start(config, shutdown, clock)
            .await
            .context("starting the controller")?;
        say!(
            "Apogee controller listening on {} (group {peers}; Ctrl-C to stop)",
            node.local_addr()
        );
        node.wait().await;
        Ok(())
    })
}

/// The controller of `apogee namesrv` with `enable_controller_in_namesrv`: its `[controller]`
/// table, validated as `apogee controller` validates its file.
pub fn embedded_config(table: &toml::Table) -> anyhow::Result<ControllerConfig> {
    let layers = Layers {
        file: None,
        base: Some(table.clone()),
        env_prefix: None,
        env: None,
        overrides: Vec::new(),
    };
    let raw: RawControllerConfig =
        load_layered(&layers).context("loading the [controller] table of the NameServer")?;
    ControllerConfig::try_from(raw)
        .map_err(anyhow::Error::msg)
        .context("validating the [controller] table of the NameServer")
}
