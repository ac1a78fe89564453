//! TLS end to end: a NameServer and a broker in enforcing mode (the broker registers over
//! TLS); a TLS client sends and consumes; a plaintext client is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_client::{Message, Producer, ProducerConfig};
use apogee_testkit::TestPki;
use common::*;

#[tokio::test]
async fn given_enforcing_tls_should_serve_a_tls_client_end_to_end_and_refuse_plaintext() {
    let pki = TestPki::new();
    let (mode, ca) = ("enforcing".to_owned(), pki.text("ca.pem"));
    let (cert, key) = (pki.text("server.pem"), pki.text("server.key"));
    let dir = tempfile::tempdir().unwrap();
    let namesrv = apogee_testkit::start_namesrv_with(&dir.path().join("ns"), |raw| {
        raw.tls_server_mode.clone_from(&mode);
        raw.tls_server_cert_path.clone_from(&cert);
        raw.tls_server_key_path.clone_from(&key);
    })
    .await;
    let ns = namesrv.local_addr().to_string();
    let mut raw = apogee_testkit::broker_config(dir.path(), &ns);
    raw.tls_server_mode.clone_from(&mode);
    raw.tls_server_cert_path.clone_from(&cert);
    raw.tls_server_key_path.clone_from(&key);
    raw.tls_enable = true;
    raw.tls_client_trust_cert_path.clone_from(&ca);
    let broker = apogee_testkit::start_broker(raw).await;
    broker.register_now().await;

    let tls_client = || client(&ns).tls(Some(&pki.path("ca.pem"))).unwrap();
    let topic = unique("Tls");
    let producer = Producer::start(tls_client(), ProducerConfig::new(unique("pg")))
        .await
        .unwrap();
    for i in 0..3 {
        producer
            .send(Message::new(&topic, format!("secret-{i}")))
            .await
            .unwrap();
    }
    let seen = Seen::default();
    let listener_seen = seen.clone();
    let consumer = apogee_client::PushConsumer::builder(tls_client(), from_first(&unique("cg")))
        .subscribe(&topic, "*")
        .listener(move |msgs: &[apogee_client::MessageExt]| {
            listener_seen.push(msgs);
            apogee_client::ConsumeResult::Success
        })
        .start()
        .await
        .unwrap();
    seen.wait_for("three messages over TLS", 3).await;
    consumer.shutdown().await;
    producer.shutdown().await;

    let plain = Producer::start(client(&ns), ProducerConfig::new(unique("pg"))).await;
    let refused = match plain {
        Err(e) => e.to_string(),
        Ok(p) => {
            let sent = p.send(Message::new(&topic, "plain")).await;
            p.shutdown().await;
            format!("{:?}", sent.expect_err("a plaintext send must fail"))
        }
    };
    assert!(!refused.is_empty());
}
