//! Consumes each queue in order under the broker's queue lock; a message whose body contains
//! "retry" fails once and is retried in place, holding back the messages behind it.
//!
//! `cargo run -p apogee-client --example orderly_consumer -- [namesrv] [topic]`

use apogee_client::{ClientConfig, MessageExt, OrderlyResult, PushConsumer, PushConsumerConfig};

#[tokio::main]
async fn main() -> Result<(), apogee_client::ClientError> {
    let mut args = std::env::args().skip(1);
    let namesrv = args.next().unwrap_or_else(|| "127.0.0.1:9876".into());
    let topic = args.next().unwrap_or_else(|| "TopicTest".into());

    let consumer = PushConsumer::builder(
        ClientConfig::new(&namesrv),
        PushConsumerConfig::new("example_orderly"),
    )
    .subscribe(&topic, "*")
    .orderly_listener(|msgs: &[MessageExt]| {
        let m = &msgs[0];
        let body = String::from_utf8_lossy(&m.body);
        if body.contains("retry") && m.reconsume_times == 0 {
            println!(
                "queue {} offset {}: failing once, will retry in place",
                m.queue_id, m.queue_offset
            );
            return OrderlyResult::SuspendCurrentQueueAMoment;
        }
        println!("queue {} offset {}: {body}", m.queue_id, m.queue_offset);
        OrderlyResult::Success
    })
    .start()
    .await?;
    println!("consuming {topic} in order; Ctrl-C to stop");
    let _ = tokio::signal::ctrl_c().await;
    consumer.shutdown().await;
    Ok(())
}
