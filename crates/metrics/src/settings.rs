//! Which exporter a server runs and where: RocketMQ 5's `metricsExporterType` (DISABLE, PROM;
//! OTLP_GRPC and LOG are Java's and refused here with a sentence), `metricsPromExporterHost`
//! and `metricsPromExporterPort` (default 5557).

/// RocketMQ 5's default `metricsPromExporterPort`.
pub const DEFAULT_PROM_PORT: u16 = 5557;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExporterType {
    Disabled,
    Prom,
}

/// Validated exporter settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    pub exporter: ExporterType,
    /// `host:port` for the `/metrics` listener (PROM only).
    pub bind: String,
}

impl MetricsSettings {
    /// From the three config keys; an empty `host` means `default_host` (the server's own
    /// listen address, as Java falls back to the broker's address).
    pub fn from_keys(
        exporter_type: &str,
        host: &str,
        port: u16,
        default_host: &str,
    ) -> Result<Self, String> {
        let exporter = match exporter_type.trim().to_ascii_uppercase().as_str() {
            "" | "DISABLE" => ExporterType::Disabled,
            "PROM" => ExporterType::Prom,
            "OTLP_GRPC" | "LOG" => {
                return Err(format!(
                    "metrics_exporter_type {exporter_type} is not supported by Apogee; use PROM (Prometheus scrapes /metrics) or DISABLE"
                ));
            }
            other => {
                return Err(format!(
                    "metrics_exporter_type {other} is unknown; use PROM or DISABLE"
                ));
            }
        };
        let host = match host.trim() {
            "" => default_host,
            h => h,
        };
        Ok(Self {
            exporter,
            bind: format!("{host}:{port}"),
        })
    }

    pub fn enabled(&self) -> bool {
        self.exporter == ExporterType::Prom
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_java_values_should_accept_prom_and_disable_and_refuse_the_rest() {
        let prom = MetricsSettings::from_keys("prom", "", 5557, "0.0.0.0").expect("valid");
        assert!(prom.enabled());
        assert_eq!(prom.bind, "0.0.0.0:5557");
        let off = MetricsSettings::from_keys("DISABLE", "10.0.0.1", 1, "x").expect("valid");
        assert!(!off.enabled());
        assert_eq!(off.bind, "10.0.0.1:1");
        for bad in ["OTLP_GRPC", "LOG", "statsd"] {
            let why = MetricsSettings::from_keys(bad, "", 1, "x").expect_err(bad);
            assert!(why.contains("PROM"), "{why}");
        }
    }
}
