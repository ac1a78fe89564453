//! Reads a topic from its first stored message with the lite pull consumer, committing by
//! hand after each batch, until nothing arrives for 3 seconds.
//!
//! `cargo run -p apogee-client --example pull_consumer -- [namesrv] [topic]`

use std::time::Duration;

use apogee_client::{ClientConfig, ConsumeFrom, LitePullConsumer, LitePullConsumerConfig};

#[tokio::main]
async fn main() -> Result<(), apogee_client::ClientError> {
    let mut args = std::env::args().skip(1);
    let namesrv = args.next().unwrap_or_else(|| "127.0.0.1:9876".into());
    let topic = args.next().unwrap_or_else(|| "TopicTest".into());

    let mut config = LitePullConsumerConfig::new("example_pull");
    config.auto_commit = false;
    config.consume_from = ConsumeFrom::FirstOffset;
    let consumer = LitePullConsumer::start(ClientConfig::new(&namesrv), config).await?;
    consumer.subscribe(&topic, "*").await?;
    loop {
        let batch = consumer.poll(Duration::from_secs(3)).await;
        if batch.is_empty() {
            break;
        }
        for m in &batch {
            println!(
                "queue {} offset {}: {}",
                m.queue_id,
                m.queue_offset,
                String::from_utf8_lossy(&m.body)
            );
        }
        consumer.commit_sync().await?;
    }
    println!(
        "no new messages for 3 s; assigned {:?}",
        consumer.assignment()
    );
    consumer.shutdown().await;
    Ok(())
}
