//! `apogee console`: the management service (the managed services' HTTP API) for a cluster,
//! reached through its NameServers. Configuration from a TOML file (every key in
//! config/console.toml), `APOGEE_CONSOLE__*` variables and flags. `apogee standalone` runs the
//! same service beside its NameServer and broker.

use std::path::PathBuf;

use anyhow::Context;
use apogee_console::{Console, ConsoleConfig, RawConsoleConfig};
use apogee_runtime::Shutdown;
use apogee_runtime::config::{Layers, load_layered};
use clap::Args;

use crate::say;

#[derive(Args)]
pub struct ConsoleArgs {
    /// TOML config file; every key and its default is in config/console.toml
    /// (print it with --print-default-config).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// NameServer addresses, ';' separated [default: 127.0.0.1:9876].
    #[arg(short = 'n', long = "namesrvAddr", value_name = "ADDRS")]
    namesrv: Option<String>,
    /// Port of the HTTP API [default: 8080].
    #[arg(short = 'p', long = "listen-port", value_name = "PORT")]
    listen_port: Option<u16>,
    /// Address to bind [default: 127.0.0.1].
    #[arg(long = "listen-address", value_name = "IP")]
    listen_address: Option<String>,
    /// Directory for the console's files [default: ./apogee-data/console].
    #[arg(long = "data-dir", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Set any config key, e.g. --set admin_secret_key='"…"' (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = crate::parse_key_value)]
    set: Vec<(String, String)>,
    /// Print the annotated default config file and exit.
    #[arg(long = "print-default-config")]
    print_default_config: bool,
}

/// Layers `file` (if any), `APOGEE_CONSOLE__*` and `overrides` into a validated config.
pub fn load(
    file: Option<&std::path::Path>,
    overrides: Vec<(String, String)>,
) -> anyhow::Result<ConsoleConfig> {
    let layers = Layers {
        file,
        base: None,
        env_prefix: Some("APOGEE_CONSOLE"),
        env: None,
        overrides,
    };
    let raw: RawConsoleConfig = load_layered(&layers).context("loading console configuration")?;
    ConsoleConfig::try_from(raw)
        .map_err(anyhow::Error::msg)
        .context("validating console configuration")
}

pub fn console(args: ConsoleArgs) -> anyhow::Result<()> {
    if args.print_default_config {
        print!("{}", apogee_console::config::DEFAULT_CONFIG_TOML);
        return Ok(());
    }
    let mut overrides = Vec::new();
    if let Some(n) = &args.namesrv {
        overrides.push(("namesrv_addr".to_owned(), format!("{n:?}")));
    }
    if let Some(p) = args.listen_port {
        overrides.push(("listen_port".to_owned(), p.to_string()));
    }
    if let Some(a) = &args.listen_address {
        overrides.push(("listen_address".to_owned(), format!("{a:?}")));
    }
    if let Some(d) = &args.data_dir {
        overrides.push((
            "data_dir".to_owned(),
            format!("{:?}", d.display().to_string()),
        ));
    }
    overrides.extend(args.set.iter().cloned());
    let config = load(args.config.as_deref(), overrides)?;
    apogee_runtime::init_tracing();
    crate::runtime()?.block_on(async move {
        let shutdown = Shutdown::new();
        shutdown.trigger_on_signals();
        let console = Console::start(config, &shutdown)
            .await
            .context("starting the console")?;
        say!(
            "Apogee console listening on http://{} (management API under /api/manager; Ctrl-C to stop)",
            console.local_addr()
        );
        console.wait().await;
        Ok(())
    })
}
