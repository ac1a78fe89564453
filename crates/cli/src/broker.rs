//! `apogee broker` and `apogee standalone`. Both read the same config file: TOML (every key
//! in config/broker.toml) or a Java `broker.conf` (properties), picked by the file name.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use apogee_broker::config::import_java_properties;
use apogee_broker::{Broker, BrokerConfig, RawBrokerConfig};
use apogee_namesrv::{Namesrv, NamesrvConfig, RawNamesrvConfig};
use apogee_runtime::config::{Layers, load_layered};
use apogee_runtime::{Shutdown, SystemClock};
use clap::Args;

#[derive(Args)]
pub struct BrokerArgs {
    /// Config file: TOML (`*.toml`, every key in config/broker.toml; print it with
    /// --print-default-config) or a Java broker.conf (any other name). Keys can also be set
    /// with environment variables APOGEE_BROKER__<KEY>, e.g. APOGEE_BROKER__LISTEN_PORT=10921.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// NameServer addresses, ';' separated [default: 127.0.0.1:9876].
    #[arg(short = 'n', long = "namesrv-addr", value_name = "ADDRS")]
    namesrv_addr: Option<String>,
    /// Port clients connect to [default: 10911].
    #[arg(short = 'p', long = "listen-port", value_name = "PORT")]
    listen_port: Option<u16>,
    /// Store root (commitlog, consumequeue, index, config) [default: ./apogee-data/store].
    #[arg(long = "store-dir", value_name = "DIR")]
    store_dir: Option<PathBuf>,
    /// Set any config key, e.g. --set flush_disk_type=SYNC_FLUSH (repeatable; wins over file and env).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = crate::parse_key_value)]
    set: Vec<(String, String)>,
    /// Print the annotated default config file and exit.
    #[arg(long = "print-default-config")]
    print_default_config: bool,
}

#[derive(Args)]
pub struct StandaloneArgs {
    #[command(flatten)]
    broker: BrokerArgs,
    /// Root of all data: the broker's store goes in <DIR>/store, the NameServer's files in
    /// <DIR>/namesrv.
    #[arg(long = "data-dir", value_name = "DIR", default_value = "./apogee-data")]
    data_dir: PathBuf,
    /// NameServer port.
    #[arg(long = "namesrv-port", value_name = "PORT", default_value_t = 9876)]
    namesrv_port: u16,
    /// Address both servers listen on. Loopback by default: only this machine can connect.
    /// Pass 0.0.0.0 to expose them, after turning on authentication (docs/security.md).
    #[arg(
        long = "listen-address",
        value_name = "IP",
        default_value = "127.0.0.1"
    )]
    listen_address: String,
    /// Port of the management API (and console) [the console's config: 8080].
    #[arg(long = "console-port", value_name = "PORT")]
    console_port: Option<u16>,
    /// Run without the management API.
    #[arg(long = "no-console")]
    no_console: bool,
}

fn load_broker_config(
    args: &BrokerArgs,
    mut overrides: Vec<(String, String)>,
) -> anyhow::Result<BrokerConfig> {
    if let Some(addr) = &args.namesrv_addr {
        overrides.push(("namesrv_addr".into(), format!("{addr:?}")));
    }
    if let Some(port) = args.listen_port {
        overrides.push(("listen_port".into(), port.to_string()));
    }
    if let Some(dir) = &args.store_dir {
        overrides.push(("store_path_root_dir".into(), crate::toml_path(dir)));
    }
    overrides.extend(args.set.iter().cloned());
    let is_toml = args
        .config
        .as_deref()
        .is_some_and(|p| p.extension().is_some_and(|e| e == "toml"));
    let base = match args.config.as_deref() {
        Some(path) if !is_toml => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let import = import_java_properties(&text)?;
            if !import.ignored.is_empty() {
                eprintln!(
                    "note: {} keys of {} are not used by Apogee: {}",
                    import.ignored.len(),
                    path.display(),
                    import.ignored.join(", ")
                );
            }
            Some(import.table)
        }
        _ => None,
    };
    let layers = Layers {
        file: args.config.as_deref().filter(|_| is_toml),
        base,
        env_prefix: Some("APOGEE_BROKER"),
        env: None,
        overrides,
    };
    let raw: RawBrokerConfig = load_layered(&layers).context("loading broker configuration")?;
    BrokerConfig::try_from(raw).context("validating broker configuration")
}

pub fn broker(args: BrokerArgs) -> anyhow::Result<()> {
    if args.print_default_config {
        print!("{}", apogee_broker::config::DEFAULT_CONFIG_TOML);
        return Ok(());
    }
    let config = load_broker_config(&args, Vec::new())?;
    apogee_runtime::init_tracing();
    crate::runtime_with_workers(config.raw.network_worker_threads)?.block_on(async move {
        let shutdown = Shutdown::new();
        shutdown.trigger_on_signals();
        let grpc = grpc_addr(&config)?;
        let broker = Broker::start(config, shutdown.clone(), Arc::new(SystemClock))
            .await
            .context("starting the broker")?;
        let grpc = serve_grpc(&broker, grpc, &shutdown).await?;
        crate::say!(
            "Apogee broker listening on {} (clients use {}; Ctrl-C to stop)",
            broker.local_addr(),
            broker.advertised_addr()
        );
        broker.wait().await;
        if let Some(g) = grpc {
            g.stopped().await;
        }
        Ok(())
    })
}

pub fn standalone(args: StandaloneArgs) -> anyhow::Result<()> {
    if args.broker.print_default_config {
        print!("{}", apogee_broker::config::DEFAULT_CONFIG_TOML);
        return Ok(());
    }
    let namesrv_raw = RawNamesrvConfig {
        listen_address: args.listen_address.clone(),
        listen_port: args.namesrv_port,
        data_dir: args.data_dir.join("namesrv"),
        ..RawNamesrvConfig::default()
    };
    let namesrv_config =
        NamesrvConfig::try_from(namesrv_raw).context("NameServer configuration")?;
    let mut overrides = Vec::new();
    if args.broker.namesrv_addr.is_none() {
        let local = format!("\"127.0.0.1:{}\"", args.namesrv_port);
        overrides.push(("namesrv_addr".to_owned(), local));
    }
    if args.broker.store_dir.is_none() && !config_sets_store(&args.broker) {
        overrides.push((
            "store_path_root_dir".into(),
            crate::toml_path(&args.data_dir.join("store")),
        ));
    }
    if !config_names(&args.broker, &["listen_address"]) {
        overrides.push((
            "listen_address".into(),
            format!("{:?}", args.listen_address),
        ));
        let loopback = args
            .listen_address
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
        if loopback && !config_names(&args.broker, &["broker_ip1", "brokerIP1"]) {
            overrides.push(("broker_ip1".into(), format!("{:?}", args.listen_address)));
        }
    }
    let mut broker_config = load_broker_config(&args.broker, overrides)?;
    let console_config = (!args.no_console)
        .then(|| standalone_console(&args))
        .transpose()?;
    apogee_runtime::init_tracing();
    let workers = broker_config.raw.network_worker_threads;
    crate::runtime_with_workers(workers)?.block_on(async move {
        let shutdown = Shutdown::new();
        shutdown.trigger_on_signals();
        let clock = Arc::new(SystemClock);
        let namesrv = Namesrv::start(namesrv_config, shutdown.clone(), clock.clone())
            .await
            .context("starting the NameServer")?;
        if args.broker.namesrv_addr.is_none() {
            // The NameServer may have been given port 0: register with the port it got.
            broker_config.namesrv_addrs =
                vec![format!("127.0.0.1:{}", namesrv.local_addr().port())];
        }
        let grpc = grpc_addr(&broker_config)?;
        let broker = Broker::start(broker_config, shutdown.clone(), clock)
            .await
            .context("starting the broker")?;
        let grpc = serve_grpc(&broker, grpc, &shutdown).await?;
        let console = start_console(console_config, &namesrv, &shutdown).await?;
        announce(&namesrv, &broker, console.as_ref(), &args.data_dir);
        if let Some(g) = &grpc {
            crate::say!("Apogee v5 gRPC endpoint listening on {}", g.local_addr());
        }
        broker.wait().await;
        if let Some(g) = grpc {
            g.stopped().await;
        }
        namesrv.wait().await;
        if let Some(c) = console {
            c.wait().await;
        }
        Ok(())
    })
}

/// The management API of a standalone, pointed at its NameServer.
async fn start_console(
    config: Option<apogee_console::ConsoleConfig>,
    namesrv: &Namesrv,
    shutdown: &Shutdown,
) -> anyhow::Result<Option<apogee_console::Console>> {
    let Some(mut c) = config else {
        return Ok(None);
    };
    c.namesrv_addr = format!("127.0.0.1:{}", namesrv.local_addr().port());
    let console = apogee_console::Console::start(c, shutdown)
        .await
        .context("starting the management API (--no-console runs without it)")?;
    Ok(Some(console))
}

/// Where the v5 gRPC endpoint listens (`grpc_listen_port`; -1: nowhere).
fn grpc_addr(config: &BrokerConfig) -> anyhow::Result<Option<std::net::SocketAddr>> {
    let port = config.raw.grpc_listen_port;
    if port < 0 {
        return Ok(None);
    }
    let port = u16::try_from(port).context("grpc_listen_port must be -1 or a port")?;
    let ip: std::net::IpAddr = config
        .raw
        .listen_address
        .parse()
        .context("listen_address must be an IP address")?;
    Ok(Some(std::net::SocketAddr::new(ip, port)))
}

async fn serve_grpc(
    broker: &Broker,
    addr: Option<std::net::SocketAddr>,
    shutdown: &Shutdown,
) -> anyhow::Result<Option<apogee_grpc::GrpcServer>> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let server = apogee_grpc::serve(broker.messaging(), addr, shutdown)
        .await
        .with_context(|| {
            format!("starting the v5 gRPC endpoint on {addr} (grpc_listen_port = -1 turns it off)")
        })?;
    Ok(Some(server))
}

/// What `apogee standalone` prints once everything listens.
fn announce(
    namesrv: &Namesrv,
    broker: &Broker,
    console: Option<&apogee_console::Console>,
    data_dir: &std::path::Path,
) {
    crate::say!("Apogee NameServer listening on {}", namesrv.local_addr());
    crate::say!("Apogee broker listening on {}", broker.local_addr());
    if let Some(c) = console {
        crate::say!(
            "Apogee console listening on http://{} (management API under /api/manager)",
            c.local_addr()
        );
    }
    crate::say!(
        "Point clients at namesrvAddr=127.0.0.1:{} (the broker is reachable as {}). Data in {}. Ctrl-C to stop.",
        namesrv.local_addr().port(),
        broker.advertised_addr(),
        data_dir.display()
    );
    if namesrv.local_addr().ip().is_loopback() {
        crate::say!(
            "Only this machine can connect. To expose Apogee, turn on authentication (docs/security.md) and pass --listen-address 0.0.0.0."
        );
    }
}

/// The management API of `apogee standalone`: the console's defaults and `APOGEE_CONSOLE__*`,
/// on the standalone's address, with its data under `<data-dir>/console`.
fn standalone_console(args: &StandaloneArgs) -> anyhow::Result<apogee_console::ConsoleConfig> {
    let mut overrides = vec![
        (
            "listen_address".to_owned(),
            format!("{:?}", args.listen_address),
        ),
        (
            "data_dir".to_owned(),
            crate::toml_path(&args.data_dir.join("console")),
        ),
    ];
    if let Some(port) = args.console_port {
        overrides.push(("listen_port".to_owned(), port.to_string()));
    }
    crate::console::load(None, overrides)
        .context("set APOGEE_CONSOLE__ADMIN_SECRET_KEY to your own secret, or pass --no-console")
}

/// Whether the config file itself names a store directory (then --data-dir does not move it).
fn config_sets_store(args: &BrokerArgs) -> bool {
    config_names(args, &["storePathRootDir", "store_path_root_dir"])
}

/// Whether the config file mentions any of `keys` (then the standalone defaults leave it be).
fn config_names(args: &BrokerArgs, keys: &[&str]) -> bool {
    args.config.as_deref().is_some_and(|p| {
        std::fs::read_to_string(p).is_ok_and(|t| keys.iter().any(|k| t.contains(k)))
    })
}
