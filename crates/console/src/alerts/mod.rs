//! Alerts: rules evaluated after every history sample; a rule crossing its threshold records a
//! `firing` event, coming back a `resolved` one, and each event is POSTed as JSON to the rule's
//! webhook (three tries). Rules and events live in the history database and are managed through
//! `/api/alerts/...` (Apogee's own API: the managed services' document has none).

pub mod rules;
mod webhook;

use std::sync::Arc;

use apogee_client::Admin;

use crate::history::{HistoryStore, Sample};
use rules::{Kind, Rule};
pub use webhook::Webhook;

/// A rule's current value (`None`: not measurable now, e.g. the cluster is unreachable).
async fn value(
    admin: &Admin,
    store: &Arc<HistoryStore>,
    rule: &Rule,
    sample: &Sample,
    now: i64,
) -> Option<f64> {
    let group = rule.group_name.as_deref().unwrap_or_default();
    let topic = rule.topic_name.as_deref().unwrap_or_default();
    match rule.kind {
        Kind::Backlog => Some(
            sample
                .groups
                .iter()
                .filter(|g| g.0 == rule.cluster_name && g.2 == topic && g.3 == group)
                .map(|g| g.5 as f64)
                .sum(),
        ),
        Kind::ConsumeDelay => {
            let stats = admin.consume_stats(group, Some(topic)).await.ok()?;
            let oldest = crate::lag::oldest_unconsumed(admin, &stats, None).await;
            Some(crate::lag::delay_ms(oldest, now) as f64)
        }
        Kind::GroupOffline => {
            let online = admin
                .consumer_connection(group)
                .await
                .is_ok_and(|c| !c.connection_set.is_empty());
            Some(if online { 0.0 } else { 1.0 })
        }
        Kind::DlqGrowing => {
            let size: i64 = admin
                .topic_stats(&apogee_model::system_topic::dlq_topic(group))
                .await
                .map_or(0, |t| t.offset_table.values().map(|o| o.max_offset).sum());
            let id = rule.id;
            let last = store
                .run(move |c| rules::swap_last_value(c, id, size as f64))
                .await
                .ok()?;
            Some(last.map_or(0.0, |l| (size as f64 - l).max(0.0)))
        }
        Kind::Disk => {
            let masters = admin.cluster_masters(&rule.cluster_name).await.ok()?;
            let mut worst: f64 = 0.0;
            for addr in masters {
                let runtime = admin.broker_runtime_info(&addr).await.ok()?;
                let ratio: f64 = runtime
                    .get("commitLogDiskRatio")
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(0.0);
                worst = worst.max(ratio * 100.0);
            }
            Some(worst)
        }
    }
}

fn describe(rule: &Rule, value: f64) -> String {
    let what = match rule.kind {
        Kind::Backlog => format!(
            "group {} has {value} messages not consumed on {}",
            rule.group_name.as_deref().unwrap_or_default(),
            rule.topic_name.as_deref().unwrap_or_default()
        ),
        Kind::ConsumeDelay => format!(
            "the oldest message group {} has not consumed on {} was stored {value} ms ago",
            rule.group_name.as_deref().unwrap_or_default(),
            rule.topic_name.as_deref().unwrap_or_default()
        ),
        Kind::GroupOffline => format!(
            "group {} has {} consumer online",
            rule.group_name.as_deref().unwrap_or_default(),
            if value > 0.0 { "no" } else { "a" }
        ),
        Kind::DlqGrowing => format!(
            "{value} messages reached %DLQ%{} since the last check",
            rule.group_name.as_deref().unwrap_or_default()
        ),
        Kind::Disk => format!(
            "a broker of {} uses {value:.1} % of its disk",
            rule.cluster_name
        ),
    };
    format!("{}: {what} (threshold {})", rule.name, rule.threshold)
}

/// Evaluates every enabled rule against `sample` (taken at `now`) and delivers transitions.
pub async fn evaluate(
    admin: &Admin,
    store: &Arc<HistoryStore>,
    webhook: &Webhook,
    sample: &Sample,
    now: i64,
) {
    let rules = match store.run(rules::list).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "alert rules unreadable; not evaluated");
            return;
        }
    };
    for rule in rules.into_iter().filter(|r| r.enabled) {
        let Some(v) = value(admin, store, &rule, sample, now).await else {
            continue;
        };
        let firing = v > rule.threshold;
        if firing == rule.firing {
            continue;
        }
        let message = describe(&rule, v);
        let recorded = {
            let rule = rule.clone();
            store
                .run(move |c| rules::transition(c, &rule, firing, now, v, &message))
                .await
        };
        match recorded {
            Ok(event) => {
                tracing::info!(rule = %rule.name, state = %event.state, value = v, "alert");
                // A rule without a webhook is watched in the console only.
                if !rule.webhook.is_empty() {
                    webhook.deliver(rule.webhook.clone(), event, Arc::clone(store));
                }
            }
            Err(e) => tracing::warn!(error = %e, rule = %rule.name, "alert event not recorded"),
        }
    }
}
