//! `apogee`: one binary for every role. Parses arguments, loads configuration in layers
//! (file → `APOGEE_<ROLE>__*` env → flags), installs logging and signal handling, then calls
//! the role's `run(config, shutdown)`.

use std::path::PathBuf;

use anyhow::Context;
use apogee_namesrv::{NamesrvConfig, RawNamesrvConfig};
use apogee_runtime::Shutdown;
use apogee_runtime::config::{Layers, load_layered};
use clap::{Args, Parser, Subcommand};

/// mimalloc instead of glibc's malloc: the request path allocates small, short-lived buffers
/// (header maps, frames, task state) on one thread and frees them on another; glibc's arenas
/// spent ~12 % of the broker's CPU on them under load (docs/PERFORMANCE.md). Built without
/// transparent huge pages (`no_thp`): each thread's first heap page would be a 2 MiB one,
/// ~11 MB more RSS for an idle broker.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin;
mod bench;
mod broker;
mod console;
mod controller;

#[derive(Parser)]
#[command(name = "apogee", version, about = "Apogee: a RocketMQ-compatible message broker in Rust", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a NameServer: the route registry brokers register with and clients ask for routes.
    Namesrv(NamesrvArgs),
    /// Run a broker: stores messages and serves producers and consumers.
    Broker(broker::BrokerArgs),
    /// Run a NameServer and a broker in one process: everything a client needs, data in ./apogee-data.
    Standalone(broker::StandaloneArgs),
    /// Run one node of the failover controller group: elects a new master when a master dies.
    Controller(controller::ControllerArgs),
    /// Run the management service (the managed services' HTTP API) for a cluster.
    Console(console::ConsoleArgs),
    /// Administer a cluster with mqadmin's commands and flags, e.g. `apogee admin clusterList -n 127.0.0.1:9876`.
    #[command(disable_help_flag = true)]
    Admin(Deferred),
    /// Load generator (produce, consume, e2e) and the machine's raw limits (raw-tcp, raw-disk).
    #[command(disable_help_flag = true)]
    Bench(Deferred),
}

/// The arguments of `admin` and `bench`, parsed only when one of them runs: their parsers
/// (over a hundred mqadmin commands) are built then, so starting a server never runs (or
/// maps into memory) that code.
#[derive(Args)]
struct Deferred {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    args: Vec<std::ffi::OsString>,
}

impl Deferred {
    /// The command line as the subcommand's own parser reads it: `apogee <name> <args…>`.
    fn argv(self, name: &str) -> impl Iterator<Item = std::ffi::OsString> {
        std::iter::once(format!("apogee {name}").into()).chain(self.args)
    }
}

#[derive(Args)]
struct NamesrvArgs {
    /// TOML config file; every key and its default is in config/namesrv.toml
    /// (print it with --print-default-config). Keys can also be set with environment
    /// variables APOGEE_NAMESRV__<KEY>, e.g. APOGEE_NAMESRV__LISTEN_PORT=9877.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Port to listen on [default: 9876].
    #[arg(short = 'p', long = "listen-port", value_name = "PORT")]
    listen_port: Option<u16>,
    /// Address to bind [default: 0.0.0.0].
    #[arg(long = "listen-address", value_name = "ADDR")]
    listen_address: Option<String>,
    /// Directory for the NameServer's files (kvConfig.json) [default: ./apogee-data/namesrv].
    #[arg(long = "data-dir", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Set any config key, e.g. --set order_message_enable=true (repeatable; wins over file and env).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    set: Vec<(String, String)>,
    /// Print the annotated default config file and exit.
    #[arg(long = "print-default-config")]
    print_default_config: bool,
}

/// Prints a line to stdout, ignoring a closed stdout (`apogee standalone | head -2` must not
/// bring the servers down the way `println!` would, by panicking on EPIPE).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
pub(crate) use say;

/// The multi-threaded runtime every server role runs on.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    runtime_with_workers(0)
}

/// [`runtime`] with `workers` worker threads (0: tokio's default, one per core, or
/// `TOKIO_WORKER_THREADS`).
pub(crate) fn runtime_with_workers(workers: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if workers > 0 {
        builder.worker_threads(workers);
    }
    builder
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// A path as a TOML string value for `--set`-style overrides.
pub(crate) fn toml_path(path: &std::path::Path) -> String {
    format!("{:?}", path.display().to_string())
}

pub(crate) fn parse_key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))
}

/// mqadmin's two-letter `-bn` flag, which clap cannot declare, as `--brokerName`.
fn mqadmin_flag(arg: std::ffi::OsString) -> std::ffi::OsString {
    if arg == "-bn" {
        "--brokerName".into()
    } else {
        arg
    }
}

/// `apogee help admin …` as `apogee admin help …` (and bench): the top-level parser knows
/// those two only as [`Deferred`], their own parsers know their commands.
fn deferred_help(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let deferred = args
        .get(2)
        .is_some_and(|name| name == "admin" || name == "bench");
    if deferred && args.get(1).is_some_and(|a| a == "help") {
        args.swap(1, 2);
    }
    args
}

fn main() -> std::process::ExitCode {
    let args = deferred_help(std::env::args_os().map(mqadmin_flag).collect());
    let cli = Cli::parse_from(args);
    let outcome = match cli.command {
        Command::Namesrv(args) => namesrv(args),
        Command::Broker(args) => broker::broker(args),
        Command::Standalone(args) => broker::standalone(args),
        Command::Controller(args) => controller::controller(args),
        Command::Console(args) => console::console(args),
        Command::Admin(args) => admin::run(admin::AdminArgs::parse_from(args.argv("admin"))),
        Command::Bench(args) => bench::bench(bench::BenchArgs::parse_from(args.argv("bench"))),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The cause chain on one line; no backtrace (RUST_BACKTRACE is for panics).
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn namesrv(args: NamesrvArgs) -> anyhow::Result<()> {
    if args.print_default_config {
        print!("{}", apogee_namesrv::config::DEFAULT_CONFIG_TOML);
        return Ok(());
    }
    let mut overrides = args.set.clone();
    if let Some(port) = args.listen_port {
        overrides.push(("listen_port".into(), port.to_string()));
    }
    if let Some(addr) = &args.listen_address {
        overrides.push(("listen_address".into(), format!("\"{addr}\"")));
    }
    if let Some(dir) = &args.data_dir {
        overrides.push(("data_dir".into(), toml_path(dir)));
    }
    let layers = Layers {
        file: args.config.as_deref(),
        base: None,
        env_prefix: Some("APOGEE_NAMESRV"),
        env: None,
        overrides,
    };
    let raw: RawNamesrvConfig =
        load_layered(&layers).context("loading NameServer configuration")?;
    let config = NamesrvConfig::try_from(raw).context("validating NameServer configuration")?;
    let controller = config
        .embedded_controller()
        .map(controller::embedded_config)
        .transpose()?;
    apogee_runtime::init_tracing();
    runtime()?.block_on(async move {
        let shutdown = Shutdown::new();
        shutdown.trigger_on_signals();
        let clock = std::sync::Arc::new(apogee_runtime::SystemClock);
        let namesrv = apogee_namesrv::Namesrv::start(config, shutdown.clone(), clock.clone())
            .await
            .context("starting the NameServer")?;
        say!(
            "Apogee NameServer listening on {} (Ctrl-C to stop)",
            namesrv.local_addr()
        );
        let controller = match controller {
            Some(c) => Some(
                apogee_controller::Controller::start(c, shutdown, clock)
                    .await
                    .context("starting the embedded controller")?,
            ),
            None => None,
        };
        if let Some(c) = &controller {
            say!(
                "Apogee controller (embedded) listening on {}",
                c.local_addr()
            );
        }
        namesrv.wait().await;
        if let Some(c) = controller {
            c.wait().await;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    fn deferred(argv: &[&str]) -> Vec<String> {
        match Cli::try_parse_from(argv).expect("parses").command {
            Command::Admin(d) => d.argv("admin"),
            Command::Bench(d) => d.argv("bench"),
            _ => panic!("not a deferred command"),
        }
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
    }

    #[test]
    fn given_admin_or_bench_arguments_should_pass_every_one_to_the_subcommand_parser() {
        assert_eq!(
            deferred(&["apogee", "admin", "--help"]),
            ["apogee admin", "--help"]
        );
        assert_eq!(
            deferred(&["apogee", "admin", "topicList", "-n", "127.0.0.1:9876", "-c"]),
            ["apogee admin", "topicList", "-n", "127.0.0.1:9876", "-c"]
        );
        assert_eq!(
            deferred(&["apogee", "bench", "produce", "-m", "10", "--sync"]),
            ["apogee bench", "produce", "-m", "10", "--sync"]
        );
        let args = admin::AdminArgs::try_parse_from(deferred(&[
            "apogee",
            "admin",
            "clusterList",
            "-n",
            "10.0.0.1:9876",
        ]));
        assert!(args.is_ok(), "the admin parser reads what was deferred");
        assert!(
            admin::AdminArgs::try_parse_from(deferred(&["apogee", "admin", "noSuchCommand"]))
                .is_err()
        );
    }

    #[test]
    fn given_help_for_admin_or_bench_should_ask_their_own_parser() {
        let argv = |words: &[&str]| words.iter().map(Into::into).collect::<Vec<_>>();
        let asked = deferred_help(argv(&["apogee", "help", "admin", "topicList"]));
        assert_eq!(asked, argv(&["apogee", "admin", "help", "topicList"]));
        let parsed = Cli::try_parse_from(asked).expect("parses");
        let Command::Admin(d) = parsed.command else {
            panic!("admin expected")
        };
        let help = admin::AdminArgs::try_parse_from(d.argv("admin"))
            .err()
            .expect("help");
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        assert!(help.to_string().contains("topicList"), "{help}");
        assert_eq!(
            deferred_help(argv(&["apogee", "help", "broker"])),
            argv(&["apogee", "help", "broker"])
        );
    }

    #[test]
    fn every_parser_should_be_well_formed() {
        Cli::command().debug_assert();
        admin::AdminArgs::command().debug_assert();
        bench::BenchArgs::command().debug_assert();
    }
}
