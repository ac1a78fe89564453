//! `queryMsgTraceById`: a message's trace (sent, delivered, consumed, transaction ended) from
//! the trace topic clients write when message trace is on.

use apogee_client::{Admin, TRACE_TOPIC};
use clap::Args;
use serde_json::json;

use super::table::Table;
use super::{Report, human_time};

#[derive(Args)]
pub struct QueryMsgTraceById {
    /// The message id (client id, UNIQ_KEY) whose trace to show.
    #[arg(short = 'i', long = "msgId")]
    msg_id: String,
    /// The trace topic (clients may name their own).
    #[arg(short = 't', long = "traceTopic", default_value = TRACE_TOPIC)]
    trace_topic: String,
}

fn or_dash(v: Option<&str>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or("-").to_owned()
}

impl QueryMsgTraceById {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let events = admin.message_trace(&self.msg_id, &self.trace_topic).await?;
        if events.is_empty() {
            anyhow::bail!(
                "no trace of message {} in {}: was message trace on in the clients (and is that their trace topic)?",
                self.msg_id,
                self.trace_topic
            );
        }
        let mut table = Table::new(&[
            "#Type",
            "#Group",
            "#ClientHost",
            "#Time",
            "#CostTimes",
            "#Status",
        ]);
        for e in &events {
            let status = match (e.success, &e.transaction_state) {
                (_, Some(state)) => state.clone(),
                (Some(true), _) => "success".into(),
                (Some(false), _) => "failed".into(),
                (None, _) => "-".into(),
            };
            table.row(vec![
                e.trace_type.clone(),
                or_dash(e.group_name.as_deref()),
                or_dash(e.client_host.as_deref().or(e.store_host.as_deref())),
                e.timestamp.map_or("-".into(), human_time),
                e.cost_time.map_or("-".into(), |c| format!("{c}ms")),
                status,
            ]);
        }
        Ok(Report::new(
            table.render(),
            json!({ "traceTopic": self.trace_topic, "events": events }),
        ))
    }
}
