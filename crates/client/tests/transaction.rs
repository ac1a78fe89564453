//! The transactional producer against a real broker: commit, rollback, and a transaction left
//! unknown that the broker's check resolves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use apogee_broker::transaction::{CHECK_GROUP, HALF_TOPIC};
use apogee_client::{
    Admin, ConsumeFrom, ConsumeResult, LocalTransactionState, Message, MessageExt, ProducerConfig,
    PushConsumer, PushConsumerConfig, TransactionListener, TransactionProducer,
};
use common::*;

/// Decides by the `arg`; checks always answer commit and are counted.
struct Listener {
    checks: Arc<AtomicU32>,
}

impl TransactionListener for Listener {
    fn execute_local_transaction(&self, msg: &Message, arg: &str) -> LocalTransactionState {
        assert!(msg.uniq_key().is_some(), "the listener sees the message id");
        match arg {
            "commit" => LocalTransactionState::CommitMessage,
            "rollback" => LocalTransactionState::RollbackMessage,
            _ => LocalTransactionState::Unknown,
        }
    }

    fn check_local_transaction(&self, msg: &MessageExt) -> LocalTransactionState {
        assert_eq!(
            msg.body.as_ref(),
            b"unknown",
            "only the unknown one is checked"
        );
        self.checks.fetch_add(1, Ordering::SeqCst);
        LocalTransactionState::CommitMessage
    }
}

/// Nothing more can come: no transaction can still be committed once the broker's check has
/// resolved every half message. Its progress on the half queue (group CHECK_GROUP) moves past
/// a message only once an op record resolves it, and past the copy it stores for a check only
/// once the producer's answer did.
async fn wait_all_halves_resolved(ns: &str) {
    let admin = Admin::start(client(ns)).await.unwrap();
    wait_until("the check resolved every half message", || {
        let admin = admin.clone();
        async move {
            // An error (no route to the half topic yet) counts as not yet.
            admin
                .consume_stats(CHECK_GROUP, Some(HALF_TOPIC))
                .await
                .is_ok_and(|stats| {
                    let stored: i64 = stats.offset_table.values().map(|o| o.broker_offset).sum();
                    stored >= 3 && stats.total_diff() == 0
                })
        }
    })
    .await;
}

#[tokio::test]
async fn given_transactions_should_commit_roll_back_and_resolve_unknown_by_check() {
    let cluster = cluster_with(|raw| {
        raw.transaction_check_interval_ms = 200;
        raw.transaction_timeout_ms = 500;
    })
    .await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("Tx");
    let creator = create_topic(ns, &topic).await;
    let seen = Seen::default();
    let s = seen.clone();
    let mut config = PushConsumerConfig::new(unique("txg"));
    config.consume_from = ConsumeFrom::FirstOffset;
    let consumer = PushConsumer::builder(client(ns), config)
        .subscribe(&topic, "*")
        .listener(move |msgs: &[MessageExt]| {
            s.push(msgs);
            ConsumeResult::Success
        })
        .start()
        .await
        .unwrap();
    seen.wait_for("the topic's first message", 1).await;

    let checks = Arc::new(AtomicU32::new(0));
    let producer = TransactionProducer::start(
        client(ns),
        ProducerConfig::new(unique("txp")),
        Listener {
            checks: Arc::clone(&checks),
        },
    )
    .await
    .unwrap();
    let committed = producer
        .send_in_transaction(Message::new(&topic, "commit").with_delay_level(3), "commit")
        .await
        .unwrap();
    assert_eq!(committed.state, LocalTransactionState::CommitMessage);
    let rolled_back = producer
        .send_in_transaction(Message::new(&topic, "rollback"), "rollback")
        .await
        .unwrap();
    assert_eq!(rolled_back.state, LocalTransactionState::RollbackMessage);
    let unknown = producer
        .send_in_transaction(Message::new(&topic, "unknown"), "unknown")
        .await
        .unwrap();
    assert_eq!(unknown.state, LocalTransactionState::Unknown);

    seen.wait_for("commit + the checked one", 3).await;
    wait_all_halves_resolved(ns).await;
    // And everything stored before has been delivered: the consumer consumes every queue
    // through a sentinel sent now.
    let queues = wait_holds(&consumer, &topic, 4).await;
    let sentinels = send_sentinels(&creator, &queues).await;
    wait_through_sentinels(&consumer, &seen, &sentinels).await;
    let all = seen.all_but_sentinels();
    let bodies: Vec<String> = seen.bodies_but_sentinels();
    assert!(!bodies.contains(&"rollback".to_owned()), "{bodies:?}");
    assert_eq!(bodies.iter().filter(|b| *b == "commit").count(), 1);
    assert_eq!(bodies.iter().filter(|b| *b == "unknown").count(), 1);
    assert!(checks.load(Ordering::SeqCst) >= 1);
    let c = all.iter().find(|m| m.body.as_ref() == b"commit").unwrap();
    assert_eq!(
        c.msg_id, committed.send.msg_id,
        "the committed message keeps its id"
    );
    assert_eq!(c.topic, topic);
    producer.shutdown().await;
    consumer.shutdown().await;
    creator.shutdown().await;
}
