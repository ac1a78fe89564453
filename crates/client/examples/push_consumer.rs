//! Consumes `TagA || TagB` messages of a topic in a clustering group and prints them, until
//! Ctrl-C.
//!
//! `cargo run -p apogee-client --example push_consumer -- [namesrv] [topic]`

use apogee_client::{ClientConfig, ConsumeResult, MessageExt, PushConsumer, PushConsumerConfig};

#[tokio::main]
async fn main() -> Result<(), apogee_client::ClientError> {
    let mut args = std::env::args().skip(1);
    let namesrv = args.next().unwrap_or_else(|| "127.0.0.1:9876".into());
    let topic = args.next().unwrap_or_else(|| "TopicTest".into());

    let consumer = PushConsumer::builder(
        ClientConfig::new(&namesrv),
        PushConsumerConfig::new("example_consumer"),
    )
    .subscribe(&topic, "TagA || TagB")
    .listener(|msgs: &[MessageExt]| {
        for m in msgs {
            println!(
                "{} queue={} offset={} tags={:?} body={}",
                m.msg_id,
                m.queue_id,
                m.queue_offset,
                m.tags(),
                String::from_utf8_lossy(&m.body)
            );
        }
        ConsumeResult::Success
    })
    .start()
    .await?;
    println!("consuming {topic}; Ctrl-C to stop");
    let _ = tokio::signal::ctrl_c().await;
    consumer.shutdown().await;
    Ok(())
}
