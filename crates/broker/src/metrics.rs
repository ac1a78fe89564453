//! The broker's Prometheus metrics (`metrics_exporter_type = "PROM"`), with RocketMQ 5's names
//! and labels: every figure is read from what the broker already keeps (the stats items'
//! running totals, the client registry, consumer offsets, the store) when Prometheus scrapes,
//! so sending and pulling pay nothing for it; only `rocketmq_rpc_latency` is recorded per
//! request. Every series carries `cluster`, `node_type="broker"` and `node_id` (the broker
//! name), set once on the registry.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use apogee_metrics::prometheus_client::collector::Collector;
use apogee_metrics::prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use apogee_metrics::prometheus_client::metrics::MetricType;
use apogee_metrics::prometheus_client::metrics::counter::ConstCounter;
use apogee_metrics::prometheus_client::metrics::gauge::ConstGauge;
use apogee_metrics::prometheus_client::registry::Registry;
use apogee_metrics::{Exporter, MetricsSettings, RpcMetrics};
use apogee_remoting::Dispatcher;
use apogee_runtime::{Clock, Shutdown};
use apogee_store::MessageStore;

use crate::BrokerError;
use crate::manager::pop_state::PopStates;
use crate::manager::topic_config::is_system_topic;
use crate::processor::StatsProcessor;
use crate::service::timer::TimerService;
use crate::stats_items::names;

/// Starts the exporter when the settings ask for it, and hooks the request latency histogram
/// into `dispatcher`.
pub async fn start(
    settings: &MetricsSettings,
    dispatcher: &mut Dispatcher,
    (view, store, clock, delivery): (
        StatsProcessor,
        &Arc<MessageStore>,
        &Arc<dyn Clock>,
        &crate::services::Delivery,
    ),
    shutdown: &Shutdown,
) -> Result<Option<Exporter>, BrokerError> {
    if !settings.enabled() {
        return Ok(None);
    }
    let collector = BrokerCollector {
        view,
        store: Arc::clone(store),
        clock: Arc::clone(clock),
        timer: Arc::clone(&delivery.timer),
        pop: delivery.revive.states.clone(),
    };
    let identity = &collector.view.identity;
    let mut registry = Registry::with_labels(
        [
            ("cluster", identity.cluster.clone()),
            ("node_type", "broker".to_owned()),
            ("node_id", identity.broker_name.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (Cow::Borrowed(k), Cow::Owned(v))),
    );
    let rpc = RpcMetrics::register(&mut registry);
    dispatcher.observe(Arc::new(move |code, response, oneway, elapsed| {
        rpc.observe(code, response, oneway, elapsed);
    }));
    registry.register_collector(Box::new(collector));
    let exporter = apogee_metrics::serve(&settings.bind, Arc::new(registry), shutdown)
        .await
        .map_err(|e| BrokerError::Config(format!("metrics exporter on {}: {e}", settings.bind)))?;
    Ok(Some(exporter))
}

/// Reads the broker's figures at scrape time.
#[derive(Clone)]
struct BrokerCollector {
    view: StatsProcessor,
    store: Arc<MessageStore>,
    clock: Arc<dyn Clock>,
    timer: Arc<TimerService>,
    pop: PopStates,
}

impl std::fmt::Debug for BrokerCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerCollector").finish_non_exhaustive()
    }
}

type Labels<'a> = Vec<(&'static str, &'a str)>;

/// One metric family: its rows of labels and value, written under one descriptor.
fn family<T: Copy, M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    (name, help, kind): (&str, &str, MetricType),
    rows: &[(Labels<'_>, T)],
    metric: fn(T) -> M,
) -> Result<(), std::fmt::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut descriptor = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in rows {
        metric(*value).encode(descriptor.encode_family(labels)?)?;
    }
    Ok(())
}

fn counter(v: u64) -> ConstCounter<u64> {
    ConstCounter::new(v)
}

fn gauge(v: i64) -> ConstGauge<i64> {
    ConstGauge::new(v)
}

fn flag(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

impl BrokerCollector {
    /// Messages and bytes in by topic, out by topic and group (the stats items' running totals;
    /// the topic sets have no secondary key).
    fn traffic(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let items = self.view.stats.items();
        for (stat, name, help) in [
            (
                names::TOPIC_PUT_NUMS,
                "rocketmq_messages_in",
                "Messages stored, by topic",
            ),
            (
                names::TOPIC_PUT_SIZE,
                "rocketmq_throughput_in",
                "Message bytes stored, by topic",
            ),
            (
                names::GROUP_GET_NUMS,
                "rocketmq_messages_out",
                "Messages delivered to consumers, by topic and group",
            ),
            (
                names::GROUP_GET_SIZE,
                "rocketmq_throughput_out",
                "Message bytes delivered to consumers, by topic and group",
            ),
        ] {
            let totals = items.totals(stat);
            let rows: Vec<_> = totals
                .iter()
                .map(|(topic, group, value)| {
                    let labels = if group.is_empty() {
                        let labels: Labels = vec![
                            ("topic", topic.as_str()),
                            ("is_system", flag(is_system_topic(topic))),
                        ];
                        labels
                    } else {
                        self.group_labels(topic, group)
                    };
                    (labels, *value)
                })
                .collect();
            family(encoder, (name, help, MetricType::Counter), &rows, counter)?;
        }
        Ok(())
    }

    fn group_labels<'a>(&'a self, topic: &'a str, group: &'a str) -> Labels<'a> {
        let labels: Labels = vec![
            ("topic", topic),
            ("consumer_group", group),
            (
                "is_retry",
                flag(apogee_model::system_topic::is_retry_topic(topic)),
            ),
            ("is_system", flag(is_system_topic(topic))),
        ];
        labels
    }

    /// Producer and consumer connections by client language and version.
    fn connections(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut producers: BTreeMap<(&'static str, String), i64> = BTreeMap::new();
        for (_, channels) in self.view.clients.producer_groups() {
            for c in channels {
                *producers
                    .entry((c.language.name(), c.version.to_string()))
                    .or_default() += 1;
            }
        }
        let rows: Vec<_> = producers
            .iter()
            .map(|((language, version), n)| {
                let labels: Labels = vec![("language", language), ("version", version.as_str())];
                (labels, *n)
            })
            .collect();
        family(
            encoder,
            (
                "rocketmq_producer_connections",
                "Producer connections, by client language and version",
                MetricType::Gauge,
            ),
            &rows,
            gauge,
        )?;
        let mut consumers: BTreeMap<(String, &'static str, String, String), i64> = BTreeMap::new();
        for group in self.view.clients.consumer_group_names() {
            let Some(info) = self.view.clients.consumer_group(&group) else {
                continue;
            };
            for c in info.channels.values() {
                let key = (
                    group.clone(),
                    c.language.name(),
                    c.version.to_string(),
                    info.consume_type.clone(),
                );
                *consumers.entry(key).or_default() += 1;
            }
        }
        let rows: Vec<_> = consumers
            .iter()
            .map(|((group, language, version, mode), n)| {
                let labels: Labels = vec![
                    ("consumer_group", group.as_str()),
                    ("language", language),
                    ("version", version.as_str()),
                    ("consume_mode", mode.as_str()),
                ];
                (labels, *n)
            })
            .collect();
        family(
            encoder,
            (
                "rocketmq_consumer_connections",
                "Consumer connections, by group, client language, version and consume mode",
                MetricType::Gauge,
            ),
            &rows,
            gauge,
        )
    }

    /// Each group's backlog on each topic: messages not yet consumed, and how old the oldest
    /// of them is (milliseconds since it was stored; 0 without backlog).
    fn lag(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let now = self.clock.now_ms();
        let mut lag: Vec<(String, String, i64, i64)> = Vec::new();
        for per_group in self.view.broker_consume_stats(false).consume_stats_list {
            for (group, topics) in per_group {
                for stats in topics {
                    let Some(topic) = stats.offset_table.keys().next().map(|q| q.topic.clone())
                    else {
                        continue;
                    };
                    let mut messages = 0;
                    let mut oldest = now;
                    for (queue, w) in &stats.offset_table {
                        let behind = (w.broker_offset - w.consumer_offset).max(0);
                        messages += behind;
                        if behind > 0
                            && let Some(t) = self
                                .view
                                .store
                                .store_time_at(&topic, queue.queue_id, w.consumer_offset)
                                .filter(|t| *t > 0)
                        {
                            oldest = oldest.min(t);
                        }
                    }
                    lag.push((topic, group.clone(), messages, (now - oldest).max(0)));
                }
            }
        }
        let messages: Vec<_> = lag
            .iter()
            .map(|(t, g, n, _)| (self.group_labels(t, g), *n))
            .collect();
        let latency: Vec<_> = lag
            .iter()
            .map(|(t, g, _, ms)| (self.group_labels(t, g), *ms))
            .collect();
        family(
            encoder,
            (
                "rocketmq_consumer_lag_messages",
                "Messages a group has not consumed yet, by topic",
                MetricType::Gauge,
            ),
            &messages,
            gauge,
        )?;
        family(
            encoder,
            (
                "rocketmq_consumer_lag_latency",
                "Age in milliseconds of the oldest message a group has not consumed, by topic",
                MetricType::Gauge,
            ),
            &latency,
            gauge,
        )
    }

    /// CommitLog size, what is not yet flushed or dispatched, and the age of the oldest message.
    fn storage(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let store = &self.store;
        let max = store.commit_log_max_offset();
        let reserve = store
            .earliest_message_time()
            .map_or(0, |t| (self.clock.now_ms() - t).max(0));
        let labels: Labels = vec![("storage_type", "local"), ("storage_medium", "disk")];
        for (name, help, value) in [
            (
                "rocketmq_storage_size",
                "Bytes of CommitLog kept on disk",
                max - store.commit_log_min_offset(),
            ),
            (
                "rocketmq_storage_flush_behind_bytes",
                "CommitLog bytes written but not yet flushed",
                max - store.durable_offset(),
            ),
            (
                "rocketmq_storage_dispatch_behind_bytes",
                "CommitLog bytes not yet in the consume queues and index",
                max - store.dispatched_offset(),
            ),
            (
                "rocketmq_storage_message_reserve_time",
                "Age in milliseconds of the oldest message kept",
                reserve,
            ),
        ] {
            family(
                encoder,
                (name, help, MetricType::Gauge),
                &[(labels.clone(), value.max(0))],
                gauge,
            )?;
        }
        Ok(())
    }
}

impl BrokerCollector {
    /// Timer messages: pending per topic, what is not enqueued yet, how late delivery runs,
    /// and the totals (RocketMQ 5's `rocketmq_timer_*` / `rocketmq_timing_messages`).
    fn timers(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let view = self.timer.view();
        let per_topic = self.timer.pending_per_topic();
        let rows: Vec<(Labels, i64)> = per_topic
            .iter()
            .map(|(topic, count)| (vec![("topic", topic.as_str())], *count))
            .collect();
        family(
            encoder,
            (
                "rocketmq_timing_messages",
                "Timer messages waiting for their delivery time, by topic",
                MetricType::Gauge,
            ),
            &rows,
            gauge,
        )?;
        for (name, help, value) in [
            (
                "rocketmq_timer_enqueue_lag",
                "Timer messages stored but not yet enqueued",
                view.offset_behind,
            ),
            (
                "rocketmq_timer_dequeue_latency",
                "Milliseconds the oldest due timer is overdue",
                view.read_behind_ms,
            ),
        ] {
            family(
                encoder,
                (name, help, MetricType::Gauge),
                &[(vec![], value)],
                gauge,
            )?;
        }
        for (name, help, value) in [
            (
                "rocketmq_timer_enqueue",
                "Timer messages enqueued",
                view.counters.enqueued,
            ),
            (
                "rocketmq_timer_dequeue",
                "Timer messages delivered to their topics",
                view.counters.delivered,
            ),
        ] {
            family(
                encoder,
                (name, help, MetricType::Counter),
                &[(vec![], value)],
                counter,
            )?;
        }
        Ok(())
    }
}

impl BrokerCollector {
    /// POP: messages in flight, and the totals popped, acked, changed and revived.
    fn pops(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let figures = self.pop.figures();
        let inflight = i64::try_from(figures.inflight).unwrap_or(i64::MAX);
        family(
            encoder,
            (
                "rocketmq_pop_inflight_messages",
                "Popped messages not yet acked (invisible to their group)",
                MetricType::Gauge,
            ),
            &[(vec![], inflight)],
            gauge,
        )?;
        for (name, help, value) in [
            ("rocketmq_pop_messages", "Messages popped", figures.popped),
            (
                "rocketmq_pop_ack_messages",
                "Popped messages acked",
                figures.acked,
            ),
            (
                "rocketmq_pop_change_invisible",
                "Invisible-time changes of popped messages",
                figures.changed,
            ),
            (
                "rocketmq_pop_revive_retry_messages",
                "Popped messages not acked in time, stored again for redelivery (or read again, orderly)",
                figures.revived,
            ),
        ] {
            family(
                encoder,
                (name, help, MetricType::Counter),
                &[(vec![], value)],
                counter,
            )?;
        }
        Ok(())
    }
}

impl Collector for BrokerCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        self.traffic(&mut encoder)?;
        self.connections(&mut encoder)?;
        self.lag(&mut encoder)?;
        self.storage(&mut encoder)?;
        self.timers(&mut encoder)?;
        self.pops(&mut encoder)
    }
}
