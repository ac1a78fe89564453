//! `rocketmq_rpc_latency`: how long each remoting request took from dispatch to response, in
//! milliseconds, by request code, response code and result, with RocketMQ 5's labels
//! (`protocol_type`, `request_code` and `response_code` as lowercase code names, `result`).
//! Observing costs a read-locked map lookup and one histogram update: the labels are codes,
//! turned into names only when scraped.

use std::fmt::Write;
use std::time::Duration;

use apogee_protocol::{RequestCode, ResponseCode};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// RocketMQ 5's bucket bounds for RPC latency, in milliseconds.
const BUCKETS_MS: [f64; 9] = [1.0, 3.0, 5.0, 7.0, 10.0, 100.0, 1000.0, 3000.0, 10000.0];

/// A request or response code, written as its lowercase name (its number if unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Code {
    Request(i32),
    Response(i32),
}

impl EncodeLabelValue for Code {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        let name = match *self {
            Code::Request(c) => RequestCode(c).name(),
            Code::Response(c) => ResponseCode(c).name(),
        };
        match (name, *self) {
            (Some(name), _) => {
                for c in name.chars() {
                    encoder.write_char(c.to_ascii_lowercase())?;
                }
                Ok(())
            }
            (None, Code::Request(c) | Code::Response(c)) => write!(encoder, "{c}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RpcLabels {
    protocol_type: &'static str,
    request_code: Code,
    response_code: Code,
    result: &'static str,
}

/// The latency histogram family of one server.
#[derive(Debug)]
pub struct RpcMetrics {
    latency: Family<RpcLabels, Histogram, fn() -> Histogram>,
}

fn histogram() -> Histogram {
    Histogram::new(BUCKETS_MS)
}

impl RpcMetrics {
    /// Creates the family and registers it in `registry`.
    pub fn register(registry: &mut Registry) -> std::sync::Arc<Self> {
        let latency: Family<RpcLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(histogram);
        registry.register(
            "rocketmq_rpc_latency",
            "Remoting request latency in milliseconds, from dispatch to response",
            latency.clone(),
        );
        std::sync::Arc::new(Self { latency })
    }

    /// Records one request.
    pub fn observe(
        &self,
        request: RequestCode,
        response: ResponseCode,
        oneway: bool,
        elapsed: Duration,
    ) {
        let result = if oneway {
            "oneway"
        } else if response == ResponseCode::SYSTEM_ERROR {
            "process_request_failed"
        } else {
            "success"
        };
        let labels = RpcLabels {
            protocol_type: "remoting",
            request_code: Code::Request(request.0),
            response_code: Code::Response(response.0),
            result,
        };
        self.latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64() * 1000.0);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn given_observed_requests_should_expose_lowercase_code_names_and_buckets() {
        let mut registry = Registry::default();
        let rpc = RpcMetrics::register(&mut registry);
        rpc.observe(
            RequestCode::SEND_MESSAGE_V2,
            ResponseCode::SUCCESS,
            false,
            Duration::from_millis(2),
        );
        rpc.observe(RequestCode(54321), ResponseCode(777), true, Duration::ZERO);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        let lines: Vec<String> = text.lines().map(|l| format!("{l}\n")).collect();
        let scrape = prometheus_parse::Scrape::parse(lines.into_iter().map(Ok)).unwrap();
        let send: Vec<_> = scrape
            .samples
            .iter()
            .filter(|s| {
                s.metric == "rocketmq_rpc_latency_count"
                    && s.labels.get("request_code") == Some("send_message_v2")
            })
            .collect();
        assert_eq!(send.len(), 1, "{text}");
        assert_eq!(send[0].labels.get("response_code"), Some("success"));
        assert_eq!(send[0].labels.get("result"), Some("success"));
        assert!(text.contains("request_code=\"54321\""), "{text}");
        assert!(text.contains("result=\"oneway\""), "{text}");
        assert!(text.contains("le=\"3.0\""), "{text}");
    }
}
