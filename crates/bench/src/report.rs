//! The outcome of a run: one [`Report`] for every mode, printed as a small human table
//! (`Display`) or as JSON ([`Report::to_json`]) with the same fields.
//!
//! JSON shape (absent sections are omitted):
//!
//! ```text
//! { "mode": "produce", "settings": {..}, "elapsed_s": 1.2,
//!   "sent": {"messages", "bytes", "msgs_per_s", "mb_per_s"}, "received": {..},
//!   "send_latency": {"count", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "mean_us"},
//!   "e2e_latency": {..}, "errors": {"kind": count}, "error_total": 0,
//!   "extra": {..}, "notes": [".."] }
//! ```

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::stats::{ErrorTally, LatencySummary, Throughput};

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `produce`, `consume`, `e2e`, `raw-tcp` or `raw-disk`.
    pub mode: String,
    /// The settings the run used.
    pub settings: Map<String, Value>,
    /// Seconds the throughput figures are measured over.
    pub elapsed_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent: Option<Throughput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<Throughput>,
    /// From handing a message to the client to the broker's acknowledgement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_latency: Option<LatencySummary>,
    /// From the send timestamp in the body to receipt by a consumer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e2e_latency: Option<LatencySummary>,
    pub errors: ErrorTally,
    pub error_total: u64,
    /// Mode-specific figures (e.g. `fsyncs` of `raw-disk`).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Report {
    pub fn new(mode: &str, settings: Map<String, Value>) -> Self {
        Self {
            mode: mode.to_owned(),
            settings,
            elapsed_s: 0.0,
            sent: None,
            received: None,
            send_latency: None,
            e2e_latency: None,
            errors: ErrorTally::default(),
            error_total: 0,
            extra: Map::new(),
            notes: Vec::new(),
        }
    }

    /// Adds failures to the tally (and its total).
    pub fn add_errors(&mut self, errors: &ErrorTally) {
        self.errors.merge(errors);
        self.error_total = self.errors.total();
    }

    /// Pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and maps with string keys always serialises.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let settings: Vec<String> = self
            .settings
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect();
        writeln!(f, "apogee bench {}: {}", self.mode, settings.join(" "))?;
        writeln!(f, "elapsed {:.3} s", self.elapsed_s)?;
        let flows: Vec<Vec<String>> = [("sent", &self.sent), ("received", &self.received)]
            .into_iter()
            .filter_map(|(name, t)| t.as_ref().map(|t| throughput_row(name, t)))
            .collect();
        if !flows.is_empty() {
            writeln!(f)?;
            f.write_str(&table(&["", "messages", "bytes", "msgs/s", "MB/s"], &flows))?;
        }
        let latencies: Vec<Vec<String>> = [
            (
                if self.mode == "topics" {
                    "create"
                } else {
                    "send → ack"
                },
                &self.send_latency,
            ),
            ("send → receive", &self.e2e_latency),
        ]
        .into_iter()
        .filter_map(|(name, l)| l.as_ref().map(|l| latency_row(name, l)))
        .collect();
        if !latencies.is_empty() {
            writeln!(f)?;
            let header = [
                "latency (µs)",
                "count",
                "p50",
                "p90",
                "p99",
                "p99.9",
                "max",
                "mean",
            ];
            f.write_str(&table(&header, &latencies))?;
        }
        for (k, v) in &self.extra {
            writeln!(f, "{k}: {v}")?;
        }
        writeln!(f)?;
        if self.errors.is_empty() {
            writeln!(f, "errors: none")?;
        } else {
            writeln!(f, "errors: {}", self.error_total)?;
            for (kind, count) in self.errors.iter() {
                writeln!(f, "  {count:>10}  {kind}")?;
            }
        }
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        Ok(())
    }
}

fn throughput_row(name: &str, t: &Throughput) -> Vec<String> {
    vec![
        name.to_owned(),
        t.messages.to_string(),
        t.bytes.to_string(),
        format!("{:.1}", t.msgs_per_s),
        format!("{:.2}", t.mb_per_s),
    ]
}

fn latency_row(name: &str, l: &LatencySummary) -> Vec<String> {
    vec![
        name.to_owned(),
        l.count.to_string(),
        l.p50_us.to_string(),
        l.p90_us.to_string(),
        l.p99_us.to_string(),
        l.p999_us.to_string(),
        l.max_us.to_string(),
        format!("{:.1}", l.mean_us),
    ]
}

/// Columns padded to their widest cell: the first left-aligned, the others right-aligned.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        let mut out = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            let pad = w.saturating_sub(cell.chars().count());
            if i == 0 {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str("  ");
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(&mut header.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn sample() -> Report {
        let mut settings = Map::new();
        settings.insert("topic".into(), json!("BenchTopic"));
        settings.insert("size".into(), json!(1024));
        let mut errors = ErrorTally::default();
        errors.add("Remoting::Timeout", 3);
        let mut report = Report::new("produce", settings);
        report.add_errors(&errors);
        report.elapsed_s = 2.0;
        report.sent = Some(Throughput::new(2000, 2_048_000, Duration::from_secs(2)));
        report.send_latency = Some(LatencySummary {
            count: 2000,
            p50_us: 800,
            p90_us: 1500,
            p99_us: 4000,
            p999_us: 9000,
            max_us: 12_000,
            mean_us: 950.25,
        });
        report.notes.push("stopped early".into());
        report
    }

    #[test]
    fn given_report_should_print_aligned_table_errors_and_notes() {
        let text = sample().to_string();
        let expected = "\
apogee bench produce: topic=BenchTopic size=1024
elapsed 2.000 s

      messages    bytes  msgs/s  MB/s
sent      2000  2048000  1000.0  1.02

latency (µs)  count  p50   p90   p99  p99.9    max   mean
send → ack     2000  800  1500  4000   9000  12000  950.2

errors: 3
           3  Remoting::Timeout
note: stopped early
";
        assert_eq!(text, expected);
    }

    #[test]
    fn given_report_should_serialise_fields_scripts_read() {
        let v: Value = serde_json::from_str(&sample().to_json()).unwrap();
        assert_eq!(v["mode"], "produce");
        assert_eq!(v["sent"]["messages"], 2000);
        assert_eq!(v["sent"]["msgs_per_s"], 1000.0);
        assert_eq!(v["send_latency"]["p99_us"], 4000);
        assert_eq!(v["errors"]["Remoting::Timeout"], 3);
        assert_eq!(v["error_total"], 3);
        assert_eq!(v["settings"]["topic"], "BenchTopic");
        assert!(v.get("received").is_none(), "absent sections are omitted");
        assert!(v.get("extra").is_none());
    }

    #[test]
    fn given_clean_run_should_say_no_errors() {
        let report = Report::new("raw-tcp", Map::new());
        assert!(report.to_string().contains("errors: none"));
        let v: Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(v["error_total"], 0);
    }
}
