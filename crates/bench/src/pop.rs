//! Consumer load through POP: simple consumers of one group, each a task that receives up to
//! 32 messages (invisible for a minute), counts them into its own histogram and acks them with
//! one BATCH_ACK_MESSAGE, until the run is over.

use std::sync::Arc;
use std::time::Duration;

use apogee_client::{SimpleConsumer, SimpleConsumerConfig};
use apogee_runtime::Shutdown;
use tokio::task::JoinHandle;

use crate::config::{ConsumerSettings, StartFrom, Target};
use crate::consume::{ConsumeOutcome, receive};
use crate::error::{BenchError, Result};
use crate::stats::Counters;
use crate::topic;

/// Messages per receive (the most a pop returns).
const BATCH: i32 = 32;
/// How long a received message stays invisible to the group.
const INVISIBLE: Duration = Duration::from_secs(60);
/// How long an empty receive waits for messages.
const AWAIT: Duration = Duration::from_secs(1);

/// The POP consumers of a run.
pub(crate) struct PopGroup {
    tasks: Vec<JoinHandle<ConsumeOutcome>>,
    done: Shutdown,
}

impl PopGroup {
    /// Starts `settings.consumers` simple consumers of one group on `target.topic`.
    pub(crate) async fn start(
        target: &Target,
        settings: &ConsumerSettings,
        from: StartFrom,
        counters: Arc<Counters>,
    ) -> Result<PopGroup> {
        let done = Shutdown::new();
        let mut tasks = Vec::new();
        for index in 0..settings.consumers {
            let mut config = SimpleConsumerConfig::new(settings.group.clone());
            config.await_duration = AWAIT;
            config.from_first = from == StartFrom::First;
            let client = topic::client_config(target, "pop", index);
            let consumer = SimpleConsumer::start(client, config)
                .await
                .map_err(|e| BenchError::client(format!("starting POP consumer {index}"), e))?;
            consumer
                .subscribe(&target.topic, "*")
                .await
                .map_err(|e| BenchError::client(format!("subscribing POP consumer {index}"), e))?;
            let (counters, done) = (Arc::clone(&counters), done.clone());
            tasks.push(tokio::spawn(run(consumer, counters, done)));
        }
        Ok(PopGroup { tasks, done })
    }

    /// Stops the consumers and merges what they saw.
    pub(crate) async fn finish(self) -> ConsumeOutcome {
        self.done.trigger();
        let mut outcome = ConsumeOutcome::default();
        for task in self.tasks {
            if let Ok(part) = task.await {
                outcome.merge(&part);
            }
        }
        outcome
    }
}

async fn run(consumer: SimpleConsumer, counters: Arc<Counters>, done: Shutdown) -> ConsumeOutcome {
    let mut outcome = ConsumeOutcome::default();
    loop {
        let received = tokio::select! {
            received = consumer.receive(BATCH, INVISIBLE) => received,
            () = done.wait() => break,
        };
        let messages = match received {
            Ok(messages) => messages,
            Err(_) => {
                // A broker away for a moment: try again shortly.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let batch = receive(&messages, None);
        counters.add_received(batch.messages, batch.bytes);
        outcome.add(batch);
        // A failed ack brings the messages back after a minute (counted again, as in
        // RocketMQ: at least once).
        let _ = consumer.ack_batch(&messages).await;
    }
    outcome
}
