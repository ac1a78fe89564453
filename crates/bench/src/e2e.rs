//! End-to-end runs: consumers start first and wait until the group owns every queue, then
//! producers send; each body carries its send time, and consumers record send → receipt.
//! The limit applies to the producers; consumers go on until they have every message this
//! run sent successfully (or go idle), skipping bench messages of earlier runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use apogee_runtime::Shutdown;

use crate::config::E2eConfig;
use crate::consume::{ConsumerGroup, Watch};
use crate::error::{BenchError, Result};
use crate::produce::{ProducerPlan, run_producers, start_producers};
use crate::progress::{Follow, Progress};
use crate::report::Report;
use crate::stats::Counters;
use crate::{stamp, topic};

/// Runs producers and consumers of `config` together and reports both sides.
pub async fn e2e(config: &E2eConfig, stop: Shutdown) -> Result<Report> {
    config.validate()?;
    let counters = Arc::new(Counters::default());
    let run_id = stamp::new_run_id();
    let mut report = Report::new("e2e", config.settings());
    let group = start_consumers(config, &counters, run_id, &mut report).await?;
    let producers = match start_producers(&config.target, &config.producer).await {
        Ok(p) => p,
        Err(e) => {
            group.finish().await;
            return Err(e);
        }
    };
    let total = config.limit.producer_messages();
    let progress = Progress::start(config.progress, total, Arc::clone(&counters), Follow::Both);
    let producer_stop = stop.child();
    let plan = Arc::new(ProducerPlan {
        settings: config.producer.clone(),
        topics: crate::produce::topic_names(&config.target.topic, 1),
        run_id,
        counters: Arc::clone(&counters),
        stop: producer_stop.clone(),
        deadline: config.limit.duration.map(|d| Instant::now() + d),
        total,
    });
    let meter = crate::cpu::Meter::start(&config.target).await;
    let start = Instant::now();
    let goal = Arc::new(AtomicU64::new(u64::MAX));
    let producing = tokio::spawn({
        let goal = Arc::clone(&goal);
        async move {
            let outcome = run_producers(producers, plan).await;
            goal.store(outcome.messages, Ordering::Relaxed);
            outcome
        }
    });
    let end = Watch {
        counters: &counters,
        goal: &goal,
        deadline: None,
        idle_timeout: config.consumer.idle_timeout,
        stop: &stop,
    }
    .wait()
    .await;
    // Consumers gave up (idle or signal) while producers may still be sending.
    producer_stop.trigger();
    let produced = producing.await;
    let received = group.finish().await;
    progress.finish();
    let produced =
        produced.map_err(|e| BenchError::Failed(format!("the producer tasks failed: {e}")))?;
    produced.fill(&mut report);
    received.fill(&mut report, start);
    meter.finish(&mut report, produced.messages, true).await;
    if let Some(note) = end.note(
        Some(produced.messages),
        received.messages,
        config.consumer.idle_timeout,
    ) {
        report.notes.push(note);
    }
    Ok(report)
}

/// Starts the consumer group and waits until it owns every queue of the topic.
async fn start_consumers(
    config: &E2eConfig,
    counters: &Arc<Counters>,
    run_id: u64,
    report: &mut Report,
) -> Result<ConsumerGroup> {
    let queues = topic::ensure_topic(&config.target).await?;
    let group = ConsumerGroup::start(
        &config.target,
        &config.consumer,
        config.start_from(),
        Arc::clone(counters),
        Some(run_id),
    )
    .await?;
    if !group.await_assignment(&config.target.topic, queues).await {
        report.notes.push(
            "the consumers did not own every queue in time; messages sent before they did may be missed"
                .into(),
        );
    }
    Ok(group)
}
