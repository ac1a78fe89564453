//! Broker CPU per message: each master's `processCpuMicros` (GET_BROKER_RUNTIME_INFO, Apogee's
//! own key: the process's user + system time) read before and after a run; the growth over
//! all masters divided by the messages the run moved. Brokers that do not report it (Java)
//! leave the figure out. For `apogee standalone` the NameServer's work is in it too.

use apogee_client::Admin;
use serde_json::json;

use crate::config::Target;
use crate::report::Report;
use crate::topic;

/// Reads the masters' CPU time (also for runs of other clients: the third-party example).
pub struct CpuProbe {
    admin: Admin,
    masters: Vec<String>,
}

impl CpuProbe {
    /// A probe of the target cluster's masters; `None` when they cannot be listed.
    pub async fn start(target: &Target) -> Option<Self> {
        let admin = Admin::start(topic::client_config(target, "cpu", 0))
            .await
            .ok()?;
        let masters = admin.cluster_masters(&target.cluster).await.ok()?;
        (!masters.is_empty()).then_some(Self { admin, masters })
    }

    /// The masters' CPU time so far, in µs; `None` when any does not say.
    pub async fn sample(&self) -> Option<u64> {
        self.sum("processCpuMicros").await
    }

    /// The masters' CommitLog writes so far; `None` when any does not say.
    pub async fn writes(&self) -> Option<u64> {
        self.sum("commitLogWritesTotal").await
    }

    /// `key` of every master's runtime info, summed; `None` when any does not say.
    async fn sum(&self, key: &str) -> Option<u64> {
        let mut total = 0u64;
        for addr in &self.masters {
            let info = self.admin.broker_runtime_info(addr).await.ok()?;
            total = total.checked_add(info.get(key)?.parse().ok()?)?;
        }
        Some(total)
    }
}

/// Adds `broker_cpu_s` and `broker_cpu_us_per_msg` to `report` for `messages` moved between
/// the two samples.
pub(crate) fn fill(report: &mut Report, before: Option<u64>, after: Option<u64>, messages: u64) {
    let (Some(before), Some(after)) = (before, after) else {
        return;
    };
    let used = after.saturating_sub(before);
    report
        .extra
        .insert("broker_cpu_s".into(), json!(used as f64 / 1e6));
    if messages > 0 {
        let per = used as f64 / messages as f64;
        report.extra.insert(
            "broker_cpu_us_per_msg".into(),
            json!((per * 100.0).round() / 100.0),
        );
    }
}

/// Adds `broker_msgs_per_write` (messages per CommitLog write) to `report` for `messages`
/// moved between the two samples.
fn fill_writes(report: &mut Report, before: Option<u64>, after: Option<u64>, messages: u64) {
    let (Some(before), Some(after)) = (before, after) else {
        return;
    };
    let writes = after.saturating_sub(before);
    if writes > 0 && messages > 0 {
        let per = messages as f64 / writes as f64;
        report.extra.insert(
            "broker_msgs_per_write".into(),
            json!((per * 100.0).round() / 100.0),
        );
    }
}

/// Broker CPU and CommitLog writes over one measured phase: [`Meter::start`] right before
/// it, [`Meter::finish`] right after.
pub(crate) struct Meter {
    probe: Option<CpuProbe>,
    before: (Option<u64>, Option<u64>),
}

impl Meter {
    pub(crate) async fn start(target: &Target) -> Self {
        let probe = CpuProbe::start(target).await;
        let before = match &probe {
            Some(p) => (p.sample().await, p.writes().await),
            None => (None, None),
        };
        Self { probe, before }
    }

    /// Adds the broker's CPU per message, and for runs that write, its messages per CommitLog
    /// write, to `report` (nothing when a broker did not say).
    pub(crate) async fn finish(self, report: &mut Report, messages: u64, writes: bool) {
        let after = match &self.probe {
            Some(p) => (p.sample().await, p.writes().await),
            None => (None, None),
        };
        fill(report, self.before.0, after.0, messages);
        if writes {
            fill_writes(report, self.before.1, after.1, messages);
        }
    }
}
