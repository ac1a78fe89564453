//! Replication through the binaries, as an operator runs it: `apogee namesrv`, a SYNC_MASTER
//! `apogee broker` and its SLAVE as separate processes. The master is SIGKILLed in the middle
//! of consumption; every message it acknowledged is still consumed, from the slave, by the
//! same consumer. `apogee admin haStatus` shows both sides.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use apogee_client::{
    ClientConfig, ConsumeFrom, ConsumeResult, Message, MessageExt, Producer, ProducerConfig,
    PushConsumer, PushConsumerConfig, SendStatus,
};
use apogee_testkit::ChildServer;
use common::*;

async fn spawn(args: &[String], log: &Path) -> (ChildServer, String) {
    let child = ChildServer::spawn(Path::new(BIN), args, log, 1).await;
    let addr = child.addrs[0].clone();
    (child, addr)
}

fn broker_args(dir: &Path, ns: &str, role: &str, id: u32) -> Vec<String> {
    let mut args: Vec<String> = ["broker", "-n", ns, "-p", "0", "--store-dir"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.push(dir.display().to_string());
    for set in [
        "broker_ip1=\"127.0.0.1\"".to_owned(),
        "listen_address=\"127.0.0.1\"".to_owned(),
        "grpc_listen_port=0".to_owned(),
        format!("broker_role=\"{role}\""),
        format!("broker_id={id}"),
        "ha_send_heartbeat_interval_ms=200".to_owned(),
        "ha_housekeeping_interval_ms=2000".to_owned(),
        "slave_sync_interval_ms=500".to_owned(),
        "mapped_file_size_commit_log=16777216".to_owned(),
        "mapped_file_size_consume_queue=200000".to_owned(),
        "disk_space_warning_level_ratio=99".to_owned(),
        "clean_file_forcibly_enable=false".to_owned(),
    ] {
        args.push("--set".into());
        args.push(set);
    }
    args
}

fn client(ns: &str, name: &str) -> ClientConfig {
    let mut c = ClientConfig::new(ns).instance_name(name);
    c.poll_name_server_interval = std::time::Duration::from_secs(1);
    c.rebalance_interval = std::time::Duration::from_secs(1);
    c.heartbeat_interval = std::time::Duration::from_secs(1);
    c.persist_offset_interval = std::time::Duration::from_millis(300);
    c
}

fn ha_status(ns: &str, broker: &str) -> serde_json::Value {
    admin_json(ns, &["haStatus", "-b", broker])[broker].clone()
}

/// 2,000 sends to the SYNC_MASTER, each acknowledged SEND_OK (its slave is connected).
async fn produce(ns: &str) -> BTreeSet<String> {
    let producer = Producer::start(
        client(ns, "replication-producer"),
        ProducerConfig::new("RepPG"),
    )
    .await
    .unwrap();
    let mut acked = BTreeSet::new();
    for i in 0..2000 {
        let body = format!("k{i:04}");
        let r = producer
            .send(Message::new("Killed", body.clone()))
            .await
            .unwrap();
        assert_eq!(r.status, SendStatus::SendOk, "a slave was connected: {r:?}");
        acked.insert(body);
    }
    producer.shutdown().await;
    acked
}

type Seen = std::sync::Arc<std::sync::Mutex<BTreeSet<String>>>;

/// A push consumer of the topic that records every body it is given.
async fn consume(ns: &str, seen: &Seen) -> PushConsumer {
    let mut config = PushConsumerConfig::new("RepCG");
    config.consume_from = ConsumeFrom::FirstOffset;
    let sink = std::sync::Arc::clone(seen);
    PushConsumer::builder(client(ns, "replication-consumer"), config)
        .subscribe("Killed", "*")
        .listener(move |msgs: &[MessageExt]| {
            let mut seen = sink.lock().unwrap();
            for m in msgs {
                seen.insert(String::from_utf8_lossy(&m.body).into_owned());
            }
            ConsumeResult::Success
        })
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_sync_master_killed_every_acknowledged_message_should_be_consumed_from_the_slave() {
    let dir = tempfile::tempdir().unwrap();
    let ns_dir = dir.path().join("namesrv");
    let ns_args: Vec<String> = [
        "namesrv",
        "--listen-address",
        "127.0.0.1",
        "--listen-port",
        "0",
        "--data-dir",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([ns_dir.display().to_string()])
    .collect();
    let (_ns_proc, ns) = spawn(&ns_args, &dir.path().join("namesrv.log")).await;
    let master_args = broker_args(&dir.path().join("master"), &ns, "SYNC_MASTER", 0);
    let (mut master_proc, master) = spawn(&master_args, &dir.path().join("master.log")).await;
    let slave_args = broker_args(&dir.path().join("slave"), &ns, "SLAVE", 1);
    let (_slave_proc, slave) = spawn(&slave_args, &dir.path().join("slave.log")).await;
    wait_until("the slave to connect", || {
        let (ns, master) = (ns.clone(), master.clone());
        async move {
            let status = admin(&ns, &["haStatus", "-b", &master, "--json"]);
            status.status.success()
                && serde_json::from_slice::<serde_json::Value>(&status.stdout).unwrap()[&master]
                    ["inSyncSlaveNums"]
                    == 1
        }
    })
    .await;
    let human = String::from_utf8(admin(&ns, &["haStatus", "-b", &master]).stdout).unwrap();
    assert!(
        human.contains("#InSyncSlaveNum") && human.contains("OK"),
        "{human}"
    );

    let acked = produce(&ns).await;
    let slave_view = ha_status(&ns, &slave);
    assert_eq!(slave_view["master"], false);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let consumer = consume(&ns, &seen).await;
    let counted = std::sync::Arc::clone(&seen);
    wait_until("the consumer to start on the master", || {
        let n = counted.lock().unwrap().len();
        async move { n >= 100 }
    })
    .await;
    master_proc.kill();
    let all = std::sync::Arc::clone(&seen);
    wait_until("every acknowledged message, from the slave", || {
        let done = acked.is_subset(&all.lock().unwrap());
        async move { done }
    })
    .await;
    consumer.shutdown().await;
    let slave_view = ha_status(&ns, &slave);
    assert!(
        slave_view["haClientRuntimeInfo"]["maxOffset"]
            .as_i64()
            .unwrap()
            > 0
    );
}
