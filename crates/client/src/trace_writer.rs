//! Writing message traces (Java's `enableMsgTrace`): producers record a `Pub` per send (and
//! `EndTransaction` per transaction verdict), push consumers a `SubBefore` + `SubAfter` per
//! consumed message. Records go through a bounded queue to one background task, which
//! batches them (up to 100, or what arrived within 100 ms) into messages on the trace topic
//! (`RMQ_SYS_TRACE_TOPIC` unless named), in RocketMQ's layout, keyed by each traced message's
//! id and keys so QUERY_MESSAGE by id finds them. Recording never waits and never fails a
//! send or a consume: when the queue is full the record is dropped (and counted).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apogee_protocol::body::trace::TraceEvent;
use apogee_protocol::body::trace_encode::encode_into;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::ClientConfig;
use crate::message::Message;
use crate::producer::{Producer, ProducerConfig};

/// Records waiting to be written at most.
const QUEUE_MAX: usize = 2048;
/// Records per trace message at most.
const BATCH_MAX: usize = 100;
/// How long a batch waits for more records.
const BATCH_WAIT: Duration = Duration::from_millis(100);
/// How long closing waits for the last records to be written.
const CLOSE_WAIT: Duration = Duration::from_secs(3);
/// Keys (message ids and keys) one trace message is indexed under at most, and their bytes
/// (the broker refuses properties past 32,767 bytes).
const KEYS_MAX: usize = 256;
const KEYS_BYTES_MAX: usize = 16 * 1024;

/// A producer's or consumer's trace writer.
pub(crate) struct TraceWriter {
    tx: Mutex<Option<mpsc::Sender<TraceEvent>>>,
    task: Mutex<Option<JoinHandle<()>>>,
    dropped: AtomicU64,
    /// The trace topic (sends to it are never traced).
    pub(crate) topic: String,
}

impl TraceWriter {
    /// Starts the writer of `owner_group`'s traces to `topic`.
    pub(crate) fn start(client: &ClientConfig, owner_group: &str, topic: String) -> Arc<Self> {
        let (tx, rx) = mpsc::channel(QUEUE_MAX);
        let group = format!("_INNER_TRACE_PRODUCER-{owner_group}");
        let task = tokio::spawn(run(client.clone(), group, topic.clone(), rx));
        Arc::new(Self {
            tx: Mutex::new(Some(tx)),
            task: Mutex::new(Some(task)),
            dropped: AtomicU64::new(0),
            topic,
        })
    }

    /// Queues a record; drops it when the queue is full or the writer is closed.
    pub(crate) fn record(&self, event: TraceEvent) {
        let sent = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|tx| tx.try_send(event).is_ok());
        if !sent {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records dropped so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Writes what is queued (waiting at most a few seconds) and stops.
    pub(crate) async fn close(&self) {
        drop(
            self.tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(mut task) = task
            && tokio::time::timeout(CLOSE_WAIT, &mut task).await.is_err()
        {
            task.abort();
            tracing::warn!("trace writer did not finish in time; its last records are lost");
        }
    }
}

async fn run(
    client: ClientConfig,
    group: String,
    topic: String,
    mut rx: mpsc::Receiver<TraceEvent>,
) {
    let producer = match Producer::start(client, ProducerConfig::new(group)).await {
        Ok(producer) => producer,
        Err(e) => {
            tracing::warn!(error = %e, "trace producer not started; traces are dropped");
            while rx.recv().await.is_some() {}
            return;
        }
    };
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + BATCH_WAIT;
        while batch.len() < BATCH_MAX {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(event)) => batch.push(event),
                _ => break,
            }
        }
        if let Err(e) = producer.send(trace_message(&topic, &batch)).await {
            tracing::debug!(error = %e, records = batch.len(), "trace records not written");
        }
    }
    producer.shutdown().await;
}

/// One message carrying `batch`, indexed under every traced message id and key.
fn trace_message(topic: &str, batch: &[TraceEvent]) -> Message {
    let mut body = String::new();
    let mut keys: Vec<String> = Vec::new();
    let mut key_bytes = 0;
    for event in batch {
        encode_into(event, &mut body);
        let ids = std::iter::once(event.msg_id.as_str())
            .chain(event.keys.as_deref().unwrap_or("").split_whitespace());
        for key in ids.filter(|k| !k.is_empty()) {
            let fits = keys.len() < KEYS_MAX && key_bytes + key.len() < KEYS_BYTES_MAX;
            if fits && !keys.iter().any(|k| k == key) {
                key_bytes += key.len() + 1;
                keys.push(key.to_owned());
            }
        }
    }
    Message::new(topic, body.into_bytes()).with_keys(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use apogee_protocol::body::trace::decode;

    #[test]
    fn given_a_batch_should_index_it_under_each_id_and_key_once() {
        let event = |id: &str, keys: Option<&str>| TraceEvent {
            trace_type: "Pub".into(),
            msg_id: id.into(),
            keys: keys.map(str::to_owned),
            ..TraceEvent::default()
        };
        let batch = [
            event("A", Some("k1 k2")),
            event("B", Some("k1")),
            event("A", None),
        ];
        let message = trace_message("RMQ_SYS_TRACE_TOPIC", &batch);
        assert_eq!(message.keys(), Some("A k1 k2 B"));
        let records = decode(std::str::from_utf8(&message.body).unwrap());
        assert_eq!(records.len(), 3);
    }
}
