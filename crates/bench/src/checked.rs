//! A checked run for chaos testing (`scripts/chaos.sh`): one producer sends numbered messages
//! on a fixed set of keys, each in order on its key's queue (ordered messages) and retried
//! until acknowledged, while an orderly push consumer records what it receives. At the end it
//! reports what was acknowledged and never received (lost), received more than once
//! (duplicated), received out of its key's order, and how long sends stalled (the outages a
//! failover caused).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use apogee_client::{
    ConsumeFrom, Message, MessageExt, OrderlyResult, Producer, ProducerConfig, PushConsumer,
    PushConsumerConfig, SendStatus,
};
use apogee_runtime::Shutdown;
use serde::Serialize;

use crate::config::Target;
use crate::error::{BenchError, Result};
use crate::topic::{client_config, ensure_topic};

/// What a checked run does.
#[derive(Debug, Clone)]
pub struct CheckedConfig {
    pub target: Target,
    pub group: String,
    /// Ordering keys the messages cycle through.
    pub keys: usize,
    /// How long to produce (or until the shutdown fires).
    pub duration: Duration,
    /// After producing, how long to wait for the consumer to receive everything.
    pub drain: Duration,
}

/// The verdict.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckedReport {
    pub acknowledged: usize,
    pub received: usize,
    pub lost: usize,
    pub duplicated: usize,
    pub out_of_order: usize,
    /// Every stall of the producer longer than 100 ms (first failed attempt → acknowledged), ms.
    pub outages_ms: Vec<u64>,
    /// Up to 10 lost messages, for a look in the logs.
    pub lost_examples: Vec<String>,
    /// Why producing stopped early (a send not acknowledged within [`STALL_MAX`]).
    pub stalled: Option<String>,
}

/// A send not acknowledged after retrying this long ends the run (and is reported).
pub const STALL_MAX: Duration = Duration::from_secs(60);

/// How a retried send ended.
enum Sent {
    Acked(Duration),
    Stopped,
    GaveUp(String),
}

type Received = Arc<Mutex<Vec<(usize, u64)>>>;

fn parse(body: &[u8]) -> Option<(usize, u64)> {
    let text = std::str::from_utf8(body).ok()?;
    let (key, n) = text.split_once(':')?;
    Some((key.strip_prefix('k')?.parse().ok()?, n.parse().ok()?))
}

async fn consumer(config: &CheckedConfig, received: &Received) -> Result<PushConsumer> {
    let mut settings = PushConsumerConfig::new(&config.group);
    settings.consume_from = ConsumeFrom::FirstOffset;
    let sink = Arc::clone(received);
    let mut client = client_config(&config.target, "checked-consumer", 0);
    client.poll_name_server_interval = Duration::from_secs(1);
    client.rebalance_interval = Duration::from_secs(1);
    PushConsumer::builder(client, settings)
        .subscribe(config.target.topic.clone(), "*")
        .orderly_listener(move |msgs: &[MessageExt]| {
            let mut seen = sink.lock().unwrap_or_else(PoisonError::into_inner);
            seen.extend(msgs.iter().filter_map(|m| parse(&m.body)));
            OrderlyResult::Success
        })
        .start()
        .await
        .map_err(|e| BenchError::client("starting the checked consumer", e))
}

/// Sends one message, retrying until it is acknowledged SEND_OK (at most [`STALL_MAX`]).
async fn send_until_acked(producer: &Producer, msg: &Message, key: &str, stop: &Shutdown) -> Sent {
    let started = Instant::now();
    loop {
        let why = match producer.send_orderly(msg.clone(), key).await {
            Ok(r) if r.status == SendStatus::SendOk => return Sent::Acked(started.elapsed()),
            Ok(r) => format!("{:?}", r.status),
            Err(e) => e.to_string(),
        };
        if started.elapsed() > STALL_MAX {
            return Sent::GaveUp(why);
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
            () = stop.wait() => return Sent::Stopped,
        }
    }
}

/// Runs the checked producer and consumer; see the module doc.
pub async fn checked(config: &CheckedConfig, stop: Shutdown) -> Result<CheckedReport> {
    ensure_topic(&config.target).await?;
    let received: Received = Arc::default();
    let consumer = consumer(config, &received).await?;
    let mut client = client_config(&config.target, "checked-producer", 0);
    client.poll_name_server_interval = Duration::from_secs(1);
    let producer = Producer::start(
        client,
        ProducerConfig::new(format!("{}-producer", config.group)),
    )
    .await
    .map_err(|e| BenchError::client("starting the checked producer", e))?;
    let mut report = CheckedReport::default();
    let mut acked: BTreeSet<(usize, u64)> = BTreeSet::new();
    let mut next = vec![0u64; config.keys.max(1)];
    let deadline = Instant::now() + config.duration;
    let mut i = 0usize;
    while Instant::now() < deadline && !stop.is_triggered() {
        let key = i % next.len();
        let body = format!("k{key}:{}", next[key]);
        let msg = Message::new(&config.target.topic, body);
        let took = match send_until_acked(&producer, &msg, &format!("k{key}"), &stop).await {
            Sent::Acked(took) => took,
            Sent::Stopped => break,
            Sent::GaveUp(why) => {
                report.stalled = Some(format!(
                    "k{key}:{} not acknowledged within {STALL_MAX:?}: {why}",
                    next[key]
                ));
                break;
            }
        };
        if took > Duration::from_millis(100) {
            report
                .outages_ms
                .push(u64::try_from(took.as_millis()).unwrap_or(u64::MAX));
        }
        acked.insert((key, next[key]));
        next[key] += 1;
        i += 1;
    }
    producer.shutdown().await;
    let drained = Instant::now() + config.drain;
    while Instant::now() < drained {
        let got: BTreeSet<(usize, u64)> = received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .copied()
            .collect();
        if acked.is_subset(&got) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    consumer.shutdown().await;
    let all = received
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    Ok(verdict(&acked, &all, report))
}

fn verdict(
    acked: &BTreeSet<(usize, u64)>,
    all: &[(usize, u64)],
    mut report: CheckedReport,
) -> CheckedReport {
    let distinct: BTreeSet<(usize, u64)> = all.iter().copied().collect();
    let lost: Vec<_> = acked.difference(&distinct).collect();
    report.acknowledged = acked.len();
    report.received = distinct.len();
    report.lost = lost.len();
    report.lost_examples = lost
        .iter()
        .take(10)
        .map(|(k, n)| format!("k{k}:{n}"))
        .collect();
    report.duplicated = all.len() - distinct.len();
    // Per key, each first sighting must come after the one before it.
    let mut highest: BTreeMap<usize, u64> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (key, n) in all {
        if !seen.insert((*key, *n)) {
            continue;
        }
        let top = highest.entry(*key).or_insert(*n);
        if *n < *top {
            report.out_of_order += 1;
        }
        *top = (*top).max(*n);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_stream_with_a_gap_a_repeat_and_a_swap_the_verdict_counts_each() {
        let acked: BTreeSet<(usize, u64)> = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)].into();
        let all = [(0, 0), (0, 2), (0, 1), (1, 0), (1, 0)];
        let r = verdict(&acked, &all, CheckedReport::default());
        assert_eq!((r.lost, r.duplicated, r.out_of_order), (1, 1, 1));
        assert_eq!(r.lost_examples, vec!["k1:1".to_owned()]);
        assert_eq!(parse(b"k3:17"), Some((3, 17)));
    }
}
