//! Prometheus exposition for Apogee's servers (RocketMQ 5's `metricsExporterType=PROM`): the
//! exporter settings, an HTTP listener that serves `/metrics` from a prometheus-client
//! registry, and the remoting latency histogram (`rocketmq_rpc_latency`) every server fills
//! through its dispatcher's observer. What a server exports is its own business: it registers
//! metrics or a scrape-time collector in the registry it hands to [`serve`].
//!
//! ```text
//! broker / namesrv ──registers──► Registry ◄──encode on GET /metrics── exporter (axum)
//! remoting dispatch ──(code, response, elapsed)──► RpcMetrics (histogram family)
//! ```

mod exporter;
mod rpc;
mod settings;

pub use exporter::{Exporter, serve};
pub use prometheus_client;
pub use rpc::RpcMetrics;
pub use settings::{DEFAULT_PROM_PORT, ExporterType, MetricsSettings};
