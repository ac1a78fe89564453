//! The NameServer's Prometheus metrics (`metrics_exporter_type = "PROM"`): request latency
//! (`rocketmq_rpc_latency`, as on the broker) and, read from the route table when scraped,
//! Apogee's own `apogee_namesrv_live_brokers` (per cluster) and `apogee_namesrv_topics`
//! (RocketMQ's NameServer exports no metrics of its own).

use std::borrow::Cow;
use std::sync::Arc;

use apogee_metrics::prometheus_client::collector::Collector;
use apogee_metrics::prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use apogee_metrics::prometheus_client::metrics::MetricType;
use apogee_metrics::prometheus_client::metrics::gauge::ConstGauge;
use apogee_metrics::prometheus_client::registry::Registry;
use apogee_metrics::{Exporter, MetricsSettings, RpcMetrics};
use apogee_remoting::Dispatcher;
use apogee_runtime::Shutdown;

use crate::NamesrvError;
use crate::route_table::SharedRouteTable;

/// Starts the exporter when the settings ask for it, and hooks the request latency histogram
/// into `dispatcher`.
pub async fn start(
    settings: &MetricsSettings,
    dispatcher: &mut Dispatcher,
    table: SharedRouteTable,
    shutdown: &Shutdown,
) -> Result<Option<Exporter>, NamesrvError> {
    if !settings.enabled() {
        return Ok(None);
    }
    let mut registry =
        Registry::with_labels([(Cow::Borrowed("node_type"), Cow::Borrowed("namesrv"))].into_iter());
    let rpc = RpcMetrics::register(&mut registry);
    dispatcher.observe(Arc::new(move |code, response, oneway, elapsed| {
        rpc.observe(code, response, oneway, elapsed);
    }));
    registry.register_collector(Box::new(RouteCollector(table)));
    apogee_metrics::serve(&settings.bind, Arc::new(registry), shutdown)
        .await
        .map(Some)
        .map_err(|e| NamesrvError::Config(format!("metrics exporter on {}: {e}", settings.bind)))
}

#[derive(Debug)]
struct RouteCollector(SharedRouteTable);

fn count(n: usize) -> ConstGauge<i64> {
    ConstGauge::new(i64::try_from(n).unwrap_or(i64::MAX))
}

impl Collector for RouteCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (brokers, topics) = {
            let table = self.0.read();
            (table.live_brokers_by_cluster(), table.topic_count())
        };
        let mut live = encoder.encode_descriptor(
            "apogee_namesrv_live_brokers",
            "Broker instances registered and alive, by cluster",
            None,
            MetricType::Gauge,
        )?;
        for (cluster, n) in &brokers {
            count(*n).encode(live.encode_family(&[("cluster", cluster.as_str())])?)?;
        }
        count(topics).encode(encoder.encode_descriptor(
            "apogee_namesrv_topics",
            "Topics with a route",
            None,
            MetricType::Gauge,
        )?)
    }
}
