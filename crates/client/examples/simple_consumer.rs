//! Receives messages with the simple (POP) consumer, 30 s invisible each, and acks every one
//! it printed; stops after a receive that waited 5 s for nothing.
//!
//! `cargo run -p apogee-client --example simple_consumer -- [namesrv] [topic]`

use std::time::Duration;

use apogee_client::{ClientConfig, SimpleConsumer, SimpleConsumerConfig};

#[tokio::main]
async fn main() -> Result<(), apogee_client::ClientError> {
    let mut args = std::env::args().skip(1);
    let namesrv = args.next().unwrap_or_else(|| "127.0.0.1:9876".into());
    let topic = args.next().unwrap_or_else(|| "TopicTest".into());

    let mut config = SimpleConsumerConfig::new("example_simple");
    config.await_duration = Duration::from_secs(5);
    config.from_first = true;
    let consumer = SimpleConsumer::start(ClientConfig::new(&namesrv), config).await?;
    consumer.subscribe(&topic, "*").await?;
    loop {
        let batch = consumer.receive(16, Duration::from_secs(30)).await?;
        if batch.is_empty() {
            break;
        }
        for m in &batch {
            println!(
                "{} (delivery {}): {}",
                m.msg_id,
                m.reconsume_times + 1,
                String::from_utf8_lossy(&m.body)
            );
            consumer.ack(m).await?;
        }
    }
    println!("nothing new for 5 s");
    Ok(())
}
