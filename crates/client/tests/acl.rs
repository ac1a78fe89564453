//! The client signs every request: a producer and a push consumer with credentials work
//! against a broker with authentication and authorization on; without them they are refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_client::{ClientError, Message, Producer, ProducerConfig};
use common::*;

const MANAGED: &str = r#"{"users":[
  {"username":"alice","password":"alice-secret-1","userType":"Normal","userStatus":"enable"},
  {"username":"carol","password":"carol-secret-1","userType":"Normal","userStatus":"enable"}],
 "acls":[
  {"subject":"User:alice","policies":[{"entries":[{"resource":"Topic:Signed*","actions":["Pub"],"decision":"Allow"}]}]},
  {"subject":"User:carol","policies":[{"entries":[
    {"resource":"Topic:Signed*","actions":["Sub"],"decision":"Allow"},
    {"resource":"Group:signed-cg*","actions":["Sub"],"decision":"Allow"}]}]}]}"#;

#[tokio::test]
async fn given_credentials_should_produce_and_consume_under_access_control_and_be_refused_without()
{
    let cluster = cluster_with(|raw| {
        raw.authentication_enabled = true;
        raw.authorization_enabled = true;
        let dir = raw.store_path_root_dir.join("config");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("acl.json"), MANAGED).unwrap();
    })
    .await;
    let ns = &cluster.namesrv_addr;
    let topic = unique("Signed");
    let alice = client(ns).credentials("alice", "alice-secret-1");
    let producer = Producer::start(alice, ProducerConfig::new(unique("pg")))
        .await
        .unwrap();
    for i in 0..3 {
        producer
            .send(Message::new(&topic, format!("m-{i}")))
            .await
            .unwrap();
    }
    wait_for_route(ns, &topic).await;

    let seen = Seen::default();
    let seen_by_listener = seen.clone();
    let carol = client(ns).credentials("carol", "carol-secret-1");
    let consumer = apogee_client::PushConsumer::builder(carol, from_first(&unique("signed-cg")))
        .subscribe(&topic, "*")
        .listener(move |msgs: &[apogee_client::MessageExt]| {
            seen_by_listener.push(msgs);
            apogee_client::ConsumeResult::Success
        })
        .start()
        .await
        .unwrap();
    seen.wait_for("three signed messages", 3).await;
    consumer.shutdown().await;

    let anonymous = Producer::start(client(ns), ProducerConfig::new(unique("pg")))
        .await
        .unwrap();
    match anonymous.send(Message::new(&topic, "no")).await {
        Err(ClientError::Refused { code, remark, .. }) => {
            assert_eq!(code, apogee_protocol::ResponseCode::NO_PERMISSION);
            assert_eq!(remark, "username cannot be null.");
        }
        other => panic!("an unsigned send must be refused: {other:?}"),
    }
    producer.shutdown().await;
    anonymous.shutdown().await;
}
