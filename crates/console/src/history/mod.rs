//! History: every `history_sample_interval_secs` (60) the console samples the cluster — each
//! master's in and out TPS, each user topic's put TPS, each group's get TPS and backlog per
//! topic — and keeps the samples `history_retention_days` (7) in SQLite; the 24-hour series of
//! §7.4.3 and §7.8.1 are read from there.

pub mod store;
pub mod top;

use std::sync::Arc;
use std::time::Duration;

use apogee_client::Admin;
use apogee_runtime::Shutdown;

pub use store::{HistoryStore, Point, Sample};

use crate::routes::is_system_topic;

/// The first figure (last 10 s) of a runtime-info TPS such as `"12.5 3.0 1.0"`.
fn first_figure(tps: Option<&String>) -> f64 {
    tps.and_then(|t| t.split(' ').next())
        .and_then(|f| f.parse().ok())
        .unwrap_or(0.0)
}

/// One sample of every cluster the NameServers know.
pub async fn collect(admin: &Admin) -> Result<Sample, apogee_client::ClientError> {
    let info = admin.cluster_info().await?;
    let mut sample = Sample::default();
    for (cluster, names) in &info.cluster_addr_table {
        let cluster = cluster.to_string();
        for name in names {
            let Some(addr) = info
                .broker_addr_table
                .get(name)
                .and_then(|b| b.broker_addrs.get(&0))
            else {
                continue;
            };
            let broker = name.to_string();
            let runtime = admin.broker_runtime_info(addr).await?;
            sample.brokers.push((
                cluster.clone(),
                broker.clone(),
                first_figure(runtime.get("putTps")),
                first_figure(runtime.get("getTransferredTps")),
            ));
            for topic in admin
                .topic_configs(addr)
                .await?
                .topic_config_table
                .into_keys()
            {
                if is_system_topic(&topic)
                    || topic == cluster
                    || names.iter().any(|n| n.as_str() == topic)
                {
                    continue;
                }
                let tps = admin
                    .view_broker_stats(addr, "TOPIC_PUT_NUMS", &topic)
                    .await
                    .map_or(0.0, |d| d.stats_minute.tps);
                sample
                    .topics
                    .push((cluster.clone(), broker.clone(), topic, tps));
            }
            for per_group in admin
                .broker_consume_stats(addr, false)
                .await?
                .consume_stats_list
            {
                for (group, topics) in per_group {
                    for stats in topics {
                        let Some(topic) = stats.offset_table.keys().next().map(|q| q.topic.clone())
                        else {
                            continue;
                        };
                        let backlog = stats
                            .offset_table
                            .values()
                            .map(|o| (o.broker_offset - o.consumer_offset).max(0))
                            .sum();
                        sample.groups.push((
                            cluster.clone(),
                            broker.clone(),
                            topic,
                            group.clone(),
                            stats.consume_tps,
                            backlog,
                        ));
                    }
                }
            }
        }
    }
    Ok(sample)
}

/// Samples now, records the sample under `at_ms` and evaluates the alert rules against it.
pub async fn sample_once(
    admin: &Admin,
    store: &Arc<HistoryStore>,
    webhook: &crate::alerts::Webhook,
    at_ms: i64,
) -> Result<(), String> {
    let sample = Arc::new(collect(admin).await.map_err(|e| e.to_string())?);
    let (record, saved) = (Arc::clone(store), Arc::clone(&sample));
    tokio::task::spawn_blocking(move || record.record(at_ms, &saved))
        .await
        .map_err(|e| e.to_string())??;
    crate::alerts::evaluate(admin, store, webhook, &sample, at_ms).await;
    Ok(())
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Samples every `interval` until `shutdown`; a failed sample is logged and skipped.
pub async fn run(
    admin: Admin,
    store: Arc<HistoryStore>,
    webhook: crate::alerts::Webhook,
    interval: Duration,
    shutdown: Shutdown,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = sample_once(&admin, &store, &webhook, now_ms()).await {
            tracing::warn!(error = %e, "history sample skipped");
        }
    }
}
