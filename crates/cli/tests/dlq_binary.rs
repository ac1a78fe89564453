//! `apogee admin queryDlqMsg` and `resendDlqMsg` against a real `apogee standalone`: a group's
//! dead letters are listed and sent back to it, chosen by id or all, through its retry topic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_client::{
    Admin, ClientConfig, Message, MessageQueue, Producer, ProducerConfig, property,
};
use common::*;

#[tokio::test]
async fn given_dead_letters_admin_should_list_and_resend_them_to_the_group() {
    let s = Standalone::start(&[]).await;
    let ns = s.namesrv.as_str();
    admin_json(
        ns,
        &["updateSubGroup", "-c", "DefaultCluster", "-g", "billing"],
    );
    admin_json(
        ns,
        &[
            "updateTopic",
            "-c",
            "DefaultCluster",
            "-t",
            "%DLQ%billing",
            "-r",
            "1",
            "-w",
            "1",
        ],
    );
    let client = ClientConfig::new(ns).instance_name("dlq-test");
    let producer = Producer::start(client.clone(), ProducerConfig::new("shop"))
        .await
        .unwrap();
    for i in 0..2 {
        let m = Message::new("%DLQ%billing", format!("dead {i}"))
            .with_property(property::RETRY_TOPIC, "Orders");
        producer.send(m).await.unwrap();
    }
    let two_listed = || async {
        admin_json(ns, &["queryDlqMsg", "-g", "billing"])["messages"]
            .as_array()
            .is_some_and(|m| m.len() == 2)
    };
    wait_until("both dead letters listed", two_listed).await;
    let listed = admin_json(ns, &["queryDlqMsg", "-g", "billing"]);
    assert_eq!(listed["messages"][0]["topic"], "Orders", "{listed}");
    let first = listed["messages"][0]["msgId"].as_str().unwrap().to_owned();

    let one = admin_json(ns, &["resendDlqMsg", "-g", "billing", "-i", &first]);
    assert_eq!(one["resent"].as_array().unwrap().len(), 1, "{one}");
    let all = admin_json(ns, &["resendDlqMsg", "-g", "billing", "-a"]);
    assert_eq!(all["resent"].as_array().unwrap().len(), 2, "{all}");
    let err = admin_err(ns, &["resendDlqMsg", "-g", "billing", "-i", "NOPE"]);
    assert!(err.contains("not a dead letter"), "{err}");
    let err = admin_err(ns, &["queryDlqMsg", "-g", "nobody"]);
    assert!(err.contains("no dead letters"), "{err}");

    let admin = Admin::start(client).await.unwrap();
    let retry = MessageQueue {
        topic: "%RETRY%billing".into(),
        broker_name: "broker-a".into(),
        queue_id: 0,
    };
    let three_copies = || async {
        admin
            .pull_from(&retry, 0, 32)
            .await
            .is_ok_and(|p| p.messages.len() == 3)
    };
    wait_until("three copies in the retry topic", three_copies).await;
    let copies = admin.pull_from(&retry, 0, 32).await.unwrap().messages;
    let bodies: Vec<&[u8]> = copies.iter().map(|m| m.body.as_ref()).collect();
    assert_eq!(bodies, [&b"dead 0"[..], b"dead 0", b"dead 1"]);
    assert!(
        copies
            .iter()
            .all(|m| m.property(property::RETRY_TOPIC) == Some("Orders"))
    );
    producer.shutdown().await;
}
