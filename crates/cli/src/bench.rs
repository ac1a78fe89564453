//! `apogee bench produce|consume|e2e|raw-tcp|raw-disk`: flags mapped onto `apogee-bench`'s
//! config structs, one run, then the report: a table on stdout, or only JSON with `--json`,
//! and a JSON copy in a file with `--json-out`. The progress bar goes to stderr, and only when
//! stderr is a terminal and `--quiet` is off. Ctrl-C ends the run early and still reports.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use apogee_bench::raw::{DiskConfig, DiskFlush, TcpConfig};
use apogee_bench::{
    ConsumeConfig, ConsumerSettings, E2eConfig, Limit, ProduceConfig, ProducerSettings, Report,
    SendMode, StartFrom, Target,
};
use apogee_runtime::Shutdown;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "apogee bench",
    about = "Load generator and the machine's raw limits"
)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Send messages; report throughput and send → acknowledgement latency.
    Produce(ProduceArgs),
    /// Read the topic with a consumer group; report throughput and send → receipt latency.
    Consume(ConsumeArgs),
    /// Producers and consumers together; report send → receipt (end-to-end) latency.
    E2e(E2eArgs),
    /// Ordered sends retried until acknowledged plus an orderly consumer; prints a JSON verdict
    /// (lost, duplicated, out of order, send stalls). For chaos runs (scripts/chaos.sh).
    Checked(CheckedArgs),
    /// Loopback TCP echo of frames of the message size: the network ceiling to compare with.
    RawTcp(RawTcpArgs),
    /// Appends of the message size to a temp file: the disk ceiling, async or fdatasync'd.
    RawDisk(RawDiskArgs),
    /// Create --count topics (`<topic>-0` …) one request at a time, then look up each route.
    Topics(TopicsArgs),
}

#[derive(Args)]
struct TopicsArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Topics to create.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct ProduceArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    limit: LimitArgs,
    #[command(flatten)]
    producer: ProducerArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct CheckedArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Consumer group.
    #[arg(short = 'g', long = "group", default_value = "apogee_checked")]
    group: String,
    /// Ordering keys the messages cycle through.
    #[arg(long = "keys", default_value_t = 16)]
    keys: usize,
    /// Seconds to produce (Ctrl-C or SIGTERM ends it sooner).
    #[arg(long = "seconds", default_value_t = 60)]
    seconds: u64,
    /// Seconds to wait afterwards for the consumer to receive everything.
    #[arg(long = "drain-seconds", default_value_t = 60)]
    drain_seconds: u64,
}

#[derive(Args)]
struct ConsumeArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    limit: LimitArgs,
    #[command(flatten)]
    consumer: ConsumerArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct E2eArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    limit: LimitArgs,
    #[command(flatten)]
    producer: ProducerArgs,
    #[command(flatten)]
    consumer: ConsumerArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct TargetArgs {
    /// NameServer addresses, ';' separated.
    #[arg(
        short = 'n',
        long = "namesrv",
        value_name = "ADDRS",
        default_value = "127.0.0.1:9876"
    )]
    namesrv: String,
    /// Topic; created on every master of --cluster when it does not exist.
    #[arg(long, default_value = "BenchTopic")]
    topic: String,
    /// Cluster whose masters get the topic when it is created.
    #[arg(long, default_value = "DefaultCluster")]
    cluster: String,
    /// Read and write queues per broker when the topic is created.
    #[arg(long, default_value_t = 8)]
    queues: u32,
    /// Sign every request as this user (a broker with access control on).
    #[arg(
        long = "authAccessKey",
        env = "APOGEE_ACCESS_KEY",
        requires = "auth_secret_key"
    )]
    auth_access_key: Option<String>,
    /// Secret of --authAccessKey.
    #[arg(
        long = "authSecretKey",
        env = "APOGEE_SECRET_KEY",
        hide_env_values = true,
        requires = "auth_access_key"
    )]
    auth_secret_key: Option<String>,
}

#[derive(Args)]
struct LimitArgs {
    /// Messages in total [default: 100000 unless --duration is given; consume: until idle].
    #[arg(short = 'm', long, value_name = "N")]
    messages: Option<u64>,
    /// Run time, e.g. 30s, 500ms, 2m (with --messages: whichever comes first).
    #[arg(short = 'd', long, value_name = "TIME", value_parser = parse_duration)]
    duration: Option<Duration>,
}

#[derive(Args)]
struct ProducerArgs {
    /// Body size, e.g. 128, 1k, 16KiB.
    #[arg(short = 's', long, value_name = "BYTES", default_value = "1024", value_parser = parse_size)]
    size: usize,
    /// Producers, each with its own connections.
    #[arg(short = 'p', long, default_value_t = 4)]
    producers: usize,
    /// Callback sends outstanding per producer (ignored with --sync).
    #[arg(long = "in-flight", value_name = "N", default_value_t = 32)]
    in_flight: usize,
    /// Messages per send; above 1 sends batches.
    #[arg(short = 'b', long, default_value_t = 1)]
    batch: usize,
    /// Messages per second over all producers; 0 = unlimited.
    #[arg(short = 'r', long, value_name = "MSGS_PER_S", default_value_t = 0)]
    rate: u64,
    /// Sync sends: each producer waits for every answer before the next send.
    #[arg(long)]
    sync: bool,
    /// Producer group.
    #[arg(
        long = "producer-group",
        value_name = "GROUP",
        default_value = "apogee_bench_producer"
    )]
    producer_group: String,
    /// Send timer messages due this many ms after their send (TIMER_DELIVER_MS); e2e latency
    /// is then measured from each message's due time: how late it was delivered.
    #[arg(long = "timer-delay-ms", value_name = "MS", default_value_t = 0)]
    timer_delay_ms: u64,
    /// Spread the due times over this many ms more (message i is due `i % spread` ms later).
    #[arg(long = "timer-spread-ms", value_name = "MS", default_value_t = 0)]
    timer_spread_ms: u64,
    /// Spread sends over the topics `bench topics` created: `<topic>-0` … `<topic>-<N-1>`.
    #[arg(long, value_name = "N", default_value_t = 1)]
    topics: usize,
}

#[derive(Args)]
struct ConsumerArgs {
    /// Push consumers in the group (they share the queues).
    #[arg(short = 'c', long, default_value_t = 1)]
    consumers: usize,
    /// Consumer group [default: apogee_bench_consumer; e2e: apogee_bench_e2e].
    #[arg(short = 'g', long)]
    group: Option<String>,
    /// Where a group with no committed offset starts [default: first for consume, last for e2e].
    #[arg(long, value_enum)]
    from: Option<StartAt>,
    /// Stop when nothing arrived for this long.
    #[arg(long = "idle-timeout", value_name = "TIME", default_value = "10s", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// Consume by POP (simple consumers: receive 32, one batch ack) instead of push consumers
    /// (consume only).
    #[arg(long)]
    pop: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum StartAt {
    First,
    Last,
}

#[derive(Args)]
struct OutputArgs {
    /// Print only the JSON report to stdout.
    #[arg(long)]
    json: bool,
    /// Also write the JSON report to this file.
    #[arg(long = "json-out", value_name = "FILE")]
    json_out: Option<PathBuf>,
    /// No progress bar.
    #[arg(short = 'q', long)]
    quiet: bool,
}

#[derive(Args)]
struct RawTcpArgs {
    /// Frame size, e.g. 128, 1k, 16KiB.
    #[arg(short = 's', long, value_name = "BYTES", default_value = "1024", value_parser = parse_size)]
    size: usize,
    /// Client connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Frames not yet echoed, per connection.
    #[arg(long = "in-flight", value_name = "N", default_value_t = 32)]
    in_flight: usize,
    #[command(flatten)]
    limit: LimitArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct RawDiskArgs {
    /// Message size, e.g. 128, 1k, 16KiB.
    #[arg(short = 's', long, value_name = "BYTES", default_value = "1024", value_parser = parse_size)]
    size: usize,
    /// Directory of the temp file (use the broker's disk) [default: the system temp dir].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// fdatasync after every --batch messages (a sync-flush broker's group commit).
    #[arg(long)]
    sync: bool,
    /// Messages per fdatasync with --sync.
    #[arg(short = 'b', long, default_value_t = 1)]
    batch: usize,
    /// Without --sync: fdatasync every this many bytes, e.g. 64MiB [default: 0, only at the end].
    #[arg(long = "fsync-every", value_name = "BYTES", default_value = "0", value_parser = parse_size)]
    fsync_every: usize,
    #[command(flatten)]
    limit: LimitArgs,
    #[command(flatten)]
    output: OutputArgs,
}

pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    // Client warnings would scroll the progress bar away; logs only when asked for.
    if std::env::var_os("RUST_LOG").is_some() {
        apogee_runtime::init_tracing();
    }
    crate::runtime()?.block_on(async move {
        let stop = Shutdown::new();
        stop.trigger_on_signals();
        let (report, output) = match args.command {
            BenchCommand::Checked(a) => return checked(&a, stop).await,
            BenchCommand::Produce(a) => {
                let config = produce_config(&a);
                (apogee_bench::produce(&config, stop).await, a.output)
            }
            BenchCommand::Consume(a) => {
                let config = consume_config(&a);
                (apogee_bench::consume(&config, stop).await, a.output)
            }
            BenchCommand::E2e(a) => {
                let config = e2e_config(&a);
                (apogee_bench::e2e(&config, stop).await, a.output)
            }
            BenchCommand::RawTcp(a) => {
                let config = tcp_config(&a);
                (apogee_bench::raw::tcp(&config, stop).await, a.output)
            }
            BenchCommand::RawDisk(a) => {
                let config = disk_config(&a);
                (apogee_bench::raw::disk(&config, stop).await, a.output)
            }
            BenchCommand::Topics(a) => {
                let config = apogee_bench::TopicsConfig {
                    target: target(&a.target),
                    count: a.count,
                };
                (apogee_bench::topics(&config, stop).await, a.output)
            }
        };
        emit(&report?, &output)
    })
}

async fn checked(a: &CheckedArgs, stop: Shutdown) -> anyhow::Result<()> {
    let config = apogee_bench::CheckedConfig {
        target: target(&a.target),
        group: a.group.clone(),
        keys: a.keys,
        duration: std::time::Duration::from_secs(a.seconds),
        drain: std::time::Duration::from_secs(a.drain_seconds),
    };
    let report = apogee_bench::checked(&config, stop).await?;
    crate::say!("{}", serde_json::to_string(&report)?);
    Ok(())
}

fn emit(report: &Report, output: &OutputArgs) -> anyhow::Result<()> {
    let json = report.to_json();
    if output.json {
        crate::say!("{json}");
    } else {
        crate::say!("{}", report.to_string().trim_end());
    }
    if let Some(path) = &output.json_out {
        std::fs::write(path, format!("{json}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn progress(output: &OutputArgs) -> bool {
    !output.quiet && std::io::stderr().is_terminal()
}

fn target(a: &TargetArgs) -> Target {
    Target {
        namesrv: a.namesrv.clone(),
        topic: a.topic.clone(),
        cluster: a.cluster.clone(),
        queues: a.queues,
        credentials: a.auth_access_key.clone().zip(a.auth_secret_key.clone()),
    }
}

fn limit(a: &LimitArgs) -> Limit {
    Limit {
        messages: a.messages,
        duration: a.duration,
    }
}

fn producer(a: &ProducerArgs) -> ProducerSettings {
    ProducerSettings {
        size: a.size,
        producers: a.producers,
        in_flight: a.in_flight,
        batch: a.batch,
        rate: a.rate,
        mode: if a.sync {
            SendMode::Sync
        } else {
            SendMode::Async
        },
        group: a.producer_group.clone(),
        timer: (a.timer_delay_ms > 0).then_some((a.timer_delay_ms, a.timer_spread_ms)),
        topics: a.topics,
    }
}

fn consumer(a: &ConsumerArgs, default_group: &str) -> ConsumerSettings {
    ConsumerSettings {
        consumers: a.consumers,
        group: a.group.clone().unwrap_or_else(|| default_group.to_owned()),
        from: a.from.map(|f| match f {
            StartAt::First => StartFrom::First,
            StartAt::Last => StartFrom::Last,
        }),
        idle_timeout: a.idle_timeout,
        pop: a.pop,
    }
}

fn produce_config(a: &ProduceArgs) -> ProduceConfig {
    ProduceConfig {
        target: target(&a.target),
        limit: limit(&a.limit),
        producer: producer(&a.producer),
        progress: progress(&a.output),
    }
}

fn consume_config(a: &ConsumeArgs) -> ConsumeConfig {
    ConsumeConfig {
        target: target(&a.target),
        limit: limit(&a.limit),
        consumer: consumer(&a.consumer, &ConsumerSettings::default().group),
        progress: progress(&a.output),
    }
}

fn e2e_config(a: &E2eArgs) -> E2eConfig {
    E2eConfig {
        target: target(&a.target),
        limit: limit(&a.limit),
        producer: producer(&a.producer),
        consumer: consumer(&a.consumer, E2eConfig::DEFAULT_GROUP),
        progress: progress(&a.output),
    }
}

fn tcp_config(a: &RawTcpArgs) -> TcpConfig {
    TcpConfig {
        size: a.size,
        connections: a.connections,
        in_flight: a.in_flight,
        limit: limit(&a.limit),
        progress: progress(&a.output),
    }
}

fn disk_config(a: &RawDiskArgs) -> DiskConfig {
    DiskConfig {
        dir: a.dir.clone().unwrap_or_else(std::env::temp_dir),
        size: a.size,
        flush: if a.sync {
            DiskFlush::Sync { batch: a.batch }
        } else {
            DiskFlush::Async {
                fsync_every_bytes: a.fsync_every as u64,
            }
        },
        limit: limit(&a.limit),
        progress: progress(&a.output),
    }
}

/// `30s`, `500ms`, `2m`, `1h`, `1.5s`; a bare number is seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30s, 500ms or 2m"))?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" => value,
        "ms" => value / 1e3,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown time unit `{other}` (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{text}`: {e}"))
}

/// `1024`, `1k`/`1KiB` (1024), `16KiB`, `1m`/`1MiB` (1048576), `1GiB`.
fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: usize = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size like 128, 1k or 16KiB"))?;
    let scale: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}` (use k, KiB, m, MiB)")),
    };
    value
        .checked_mul(scale)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: BenchCommand,
    }

    fn parse(args: &[&str]) -> BenchCommand {
        Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied()))
            .unwrap()
            .command
    }

    #[test]
    fn given_durations_and_sizes_should_parse_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3 days").is_err());
        assert_eq!(parse_size("128"), Ok(128));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert_eq!(parse_size("16KiB"), Ok(16 * 1024));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert!(parse_size("1.5k").is_err());
        assert!(parse_size("12 parsecs").is_err());
    }

    #[test]
    fn given_no_flags_should_match_the_library_defaults() {
        let BenchCommand::Produce(a) = parse(&["produce"]) else {
            panic!("produce")
        };
        let defaults = ProduceConfig::default();
        let config = produce_config(&a);
        assert_eq!(config.target, defaults.target);
        assert_eq!(config.limit, defaults.limit);
        assert_eq!(config.producer, defaults.producer);
        let BenchCommand::Consume(a) = parse(&["consume"]) else {
            panic!("consume")
        };
        let defaults = ConsumeConfig::default();
        assert_eq!(consume_config(&a).consumer, defaults.consumer);
        let BenchCommand::E2e(a) = parse(&["e2e"]) else {
            panic!("e2e")
        };
        let defaults = E2eConfig::default();
        let config = e2e_config(&a);
        assert_eq!(config.consumer, defaults.consumer);
        assert_eq!(config.producer, defaults.producer);
        let BenchCommand::RawTcp(a) = parse(&["raw-tcp"]) else {
            panic!("raw-tcp")
        };
        let defaults = TcpConfig::default();
        let config = tcp_config(&a);
        assert_eq!(
            (config.size, config.connections, config.in_flight),
            (defaults.size, defaults.connections, defaults.in_flight)
        );
    }

    #[test]
    fn given_produce_flags_should_map_onto_the_config() {
        let BenchCommand::Produce(a) = parse(&[
            "produce",
            "-n",
            "10.0.0.1:9876",
            "--topic",
            "T",
            "--size",
            "16KiB",
            "--messages",
            "500",
            "--duration",
            "30s",
            "--producers",
            "16",
            "--batch",
            "32",
            "--rate",
            "50000",
            "--in-flight",
            "8",
            "--sync",
            "--json",
        ]) else {
            panic!("produce")
        };
        assert!(a.output.json);
        let c = produce_config(&a);
        assert_eq!(c.target.namesrv, "10.0.0.1:9876");
        assert_eq!(c.target.topic, "T");
        assert_eq!(c.limit.messages, Some(500));
        assert_eq!(c.limit.duration, Some(Duration::from_secs(30)));
        let p = &c.producer;
        assert_eq!(
            (p.size, p.producers, p.batch, p.rate),
            (16384, 16, 32, 50_000)
        );
        assert_eq!((p.in_flight, p.mode), (8, SendMode::Sync));
    }

    #[test]
    fn given_raw_disk_flags_should_pick_the_flush_mode() {
        let BenchCommand::RawDisk(a) = parse(&["raw-disk", "--sync", "--batch", "16"]) else {
            panic!("raw-disk")
        };
        assert_eq!(disk_config(&a).flush, DiskFlush::Sync { batch: 16 });
        let BenchCommand::RawDisk(a) = parse(&["raw-disk", "--fsync-every", "64MiB"]) else {
            panic!("raw-disk")
        };
        assert_eq!(
            disk_config(&a).flush,
            DiskFlush::Async {
                fsync_every_bytes: 64 << 20
            }
        );
        let BenchCommand::E2e(a) = parse(&["e2e", "--from", "first", "-c", "3"]) else {
            panic!("e2e")
        };
        let c = e2e_config(&a);
        assert_eq!(c.consumer.from, Some(StartFrom::First));
        assert_eq!(c.consumer.consumers, 3);
    }
}
