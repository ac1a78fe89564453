//! `topics`: many topics, created one request at a time as an operator's script would, then
//! every route looked up once. Shows whether creating and routing stay flat as the count grows:
//! the report gives the whole time, per-create latency, and the first and the last thousand
//! creates side by side.
//!
//! Topic `i` is `<topic>-<i>` (`BenchTopic-0` …), created with `queues` read and write queues
//! on every master of the cluster (UPDATE_AND_CREATE_TOPIC per master, each answered once the
//! broker has made it durable and registered it). `bench produce --topics N` then spreads its
//! sends over the same names.

use std::time::{Duration, Instant};

use apogee_client::{Admin, TopicSpec};
use apogee_runtime::Shutdown;
use serde_json::{Map, Value, json};

use crate::config::Target;
use crate::error::{BenchError, Result};
use crate::report::Report;
use crate::stats::Latency;
use crate::topic;

/// Most topics one run creates.
pub const TOPICS_MAX: usize = 1_000_000;
/// The window compared at the start and at the end of the run.
const WINDOW: usize = 1_000;

/// `topics`: how many, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicsConfig {
    /// `topic` is the name prefix; `queues` the queues per broker.
    pub target: Target,
    pub count: usize,
}

impl TopicsConfig {
    pub fn validate(&self) -> Result<()> {
        if self.count == 0 || self.count > TOPICS_MAX {
            return Err(BenchError::Config(format!(
                "--count must be 1..={TOPICS_MAX}"
            )));
        }
        if self.target.queues == 0 || self.target.queues > 1024 {
            return Err(BenchError::Config("--queues must be 1..=1024".into()));
        }
        Ok(())
    }

    fn settings(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("namesrv".into(), json!(self.target.namesrv));
        map.insert("cluster".into(), json!(self.target.cluster));
        map.insert("prefix".into(), json!(self.target.topic));
        map.insert("queues".into(), json!(self.target.queues));
        map.insert("count".into(), json!(self.count));
        map
    }
}

/// The name of topic `index` of a run with `prefix`.
pub fn topic_name(prefix: &str, index: usize) -> String {
    format!("{prefix}-{index}")
}

/// Creates the topics, then looks each route up once; reports both.
pub async fn topics(config: &TopicsConfig, stop: Shutdown) -> Result<Report> {
    config.validate()?;
    let target = &config.target;
    let admin = Admin::start(topic::client_config(target, "admin", 0))
        .await
        .map_err(|e| BenchError::client("starting the admin client", e))?;
    let masters = topic::wait_for_masters(&admin, target).await?;
    let mut report = Report::new("topics", config.settings());
    let created = create_all(&admin, &masters, config, &stop).await?;
    let routes = look_up_all(&admin, &target.topic, created.count, &stop).await?;
    report.elapsed_s = created.elapsed.as_secs_f64();
    report.send_latency = created.latency.summary();
    report.extra.insert("masters".into(), json!(masters.len()));
    report
        .extra
        .insert("topics_created".into(), json!(created.count));
    report
        .extra
        .insert("create_s".into(), json!(secs(created.elapsed)));
    report
        .extra
        .insert("first_1000_s".into(), json!(secs(created.first_window)));
    report
        .extra
        .insert("last_1000_s".into(), json!(secs(created.last_window)));
    report
        .extra
        .insert("route_lookups".into(), json!(routes.count));
    report
        .extra
        .insert("route_lookup_s".into(), json!(secs(routes.elapsed)));
    if let Some(summary) = routes.latency.summary() {
        report
            .extra
            .insert("route_lookup_latency".into(), json!(summary));
    }
    if stop.is_triggered() {
        report.notes.push("stopped early by a signal".into());
    }
    report
        .notes
        .push("create latency (send_latency in JSON): one topic created on every master".into());
    Ok(report)
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

struct Created {
    count: usize,
    elapsed: Duration,
    latency: Latency,
    /// The first and the last [`WINDOW`] creates.
    first_window: Duration,
    last_window: Duration,
}

async fn create_all(
    admin: &Admin,
    masters: &[String],
    config: &TopicsConfig,
    stop: &Shutdown,
) -> Result<Created> {
    let queues = i32::try_from(config.target.queues).unwrap_or(8);
    let mut latency = Latency::new();
    let mut took = Vec::with_capacity(config.count);
    let start = Instant::now();
    for index in 0..config.count {
        if stop.is_triggered() {
            break;
        }
        let spec = TopicSpec {
            read_queue_nums: queues,
            write_queue_nums: queues,
            ..TopicSpec::new(topic_name(&config.target.topic, index))
        };
        let began = Instant::now();
        for addr in masters {
            admin.create_topic(addr, &spec).await.map_err(|e| {
                BenchError::client(format!("creating topic `{}` on {addr}", spec.topic), e)
            })?;
        }
        let one = began.elapsed();
        latency.record(one);
        took.push(one);
    }
    let window = took.len().min(WINDOW);
    Ok(Created {
        count: took.len(),
        elapsed: start.elapsed(),
        latency,
        first_window: took[..window].iter().sum(),
        last_window: took[took.len() - window..].iter().sum(),
    })
}

struct Looked {
    count: usize,
    elapsed: Duration,
    latency: Latency,
}

/// GET_ROUTEINFO_BY_TOPIC for every created topic, one at a time; each must have a route.
async fn look_up_all(admin: &Admin, prefix: &str, count: usize, stop: &Shutdown) -> Result<Looked> {
    let mut latency = Latency::new();
    let start = Instant::now();
    let mut looked = 0;
    for index in 0..count {
        if stop.is_triggered() {
            break;
        }
        let name = topic_name(prefix, index);
        let began = Instant::now();
        admin
            .topic_route(&name)
            .await
            .map_err(|e| BenchError::client(format!("route of `{name}`"), e))?;
        latency.record(began.elapsed());
        looked += 1;
    }
    Ok(Looked {
        count: looked,
        elapsed: start.elapsed(),
        latency,
    })
}
