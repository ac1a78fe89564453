//! Sends three transactional messages: one committed, one rolled back, and one left unknown
//! that the broker checks back about (the check answers commit). Waits for the check, then
//! exits.
//!
//! `cargo run -p apogee-client --example transactional_producer -- [namesrv] [topic]`
//! (the broker's first check comes after `transaction_timeout_ms`, 6 s by default).

use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use apogee_client::{
    ClientConfig, LocalTransactionState, Message, MessageExt, ProducerConfig, TransactionListener,
    TransactionProducer,
};

struct Orders {
    checked: Mutex<mpsc::Sender<String>>,
}

impl TransactionListener for Orders {
    fn execute_local_transaction(&self, msg: &Message, arg: &str) -> LocalTransactionState {
        println!("local transaction for {:?} -> {arg}", msg.uniq_key());
        match arg {
            "commit" => LocalTransactionState::CommitMessage,
            "rollback" => LocalTransactionState::RollbackMessage,
            _ => LocalTransactionState::Unknown,
        }
    }

    fn check_local_transaction(&self, msg: &MessageExt) -> LocalTransactionState {
        println!("broker checks {}: answering commit", msg.msg_id);
        if let Ok(tx) = self.checked.lock() {
            let _ = tx.send(msg.msg_id.clone());
        }
        LocalTransactionState::CommitMessage
    }
}

#[tokio::main]
async fn main() -> Result<(), apogee_client::ClientError> {
    let mut args = std::env::args().skip(1);
    let namesrv = args.next().unwrap_or_else(|| "127.0.0.1:9876".into());
    let topic = args.next().unwrap_or_else(|| "TopicTest".into());

    let (tx, rx) = mpsc::channel();
    let producer = TransactionProducer::start(
        ClientConfig::new(&namesrv),
        ProducerConfig::new("example_tx_producer"),
        Orders {
            checked: Mutex::new(tx),
        },
    )
    .await?;
    for decision in ["commit", "rollback", "unknown"] {
        let r = producer
            .send_in_transaction(
                Message::new(&topic, format!("order {decision}")).with_tags("TagA"),
                decision,
            )
            .await?;
        println!("half message {} -> {:?}", r.send.msg_id, r.state);
    }
    let checked =
        tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(120))).await;
    match checked {
        Ok(Ok(id)) => println!("resolved {id} by check"),
        _ => println!("no check within 120 s"),
    }
    producer.shutdown().await;
    Ok(())
}
