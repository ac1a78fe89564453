//! Sends ten tagged messages with keys, one batch and one ordered message, then prints what
//! the broker answered.
//!
//! `cargo run -p apogee-client --example producer -- [namesrv] [topic]`
//! (defaults: 127.0.0.1:9876, TopicTest; start a cluster with `apogee standalone`).

use apogee_client::{ClientConfig, Message, Producer, ProducerConfig};

#[tokio::main]
async fn main() -> Result<(), apogee_client::ClientError> {
    let mut args = std::env::args().skip(1);
    let namesrv = args.next().unwrap_or_else(|| "127.0.0.1:9876".into());
    let topic = args.next().unwrap_or_else(|| "TopicTest".into());

    let producer = Producer::start(
        ClientConfig::new(&namesrv),
        ProducerConfig::new("example_producer"),
    )
    .await?;
    for i in 0..10 {
        let msg = Message::new(&topic, format!("Hello Apogee {i}"))
            .with_tags("TagA")
            .with_keys([format!("order-{i}")]);
        let result = producer.send(msg).await?;
        println!(
            "sent {} to queue {} at offset {}",
            result.msg_id, result.queue.queue_id, result.queue_offset
        );
    }
    let batch = (0..3)
        .map(|i| Message::new(&topic, format!("batch {i}")))
        .collect();
    let result = producer.send_batch(batch).await?;
    println!("batch stored as {}", result.msg_id);
    let result = producer
        .send_orderly(
            Message::new(&topic, "order-42 created").with_tags("TagB"),
            "order-42",
        )
        .await?;
    println!("ordered message on queue {}", result.queue.queue_id);
    producer.shutdown().await;
    Ok(())
}
