//! Automatic failover through the binaries, as an operator runs it: `apogee namesrv`,
//! `apogee controller` and two `apogee broker`s in controller mode with
//! allAckInSyncStateSet. The master is SIGKILLed; the controller makes the other broker
//! master, the producer goes on, and every acknowledged message is consumed.
//! `apogee admin getSyncStateSet` and `getBrokerEpoch` show it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use apogee_client::{
    ClientConfig, ConsumeFrom, ConsumeResult, Message, MessageExt, Producer, ProducerConfig,
    PushConsumer, PushConsumerConfig, SendStatus,
};
use apogee_testkit::{ChildServer, free_port};
use common::*;

async fn spawn(args: &[String], log: &Path) -> (ChildServer, String) {
    let child = ChildServer::spawn(Path::new(BIN), args, log, 1).await;
    let addr = child.addrs[0].clone();
    (child, addr)
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| (*s).to_owned()).collect()
}

fn broker_args(dir: &Path, ns: &str, controller: &str) -> Vec<String> {
    let mut out = args(&["broker", "-n", ns, "-p", "0", "--store-dir"]);
    out.push(dir.display().to_string());
    for set in [
        "broker_ip1=\"127.0.0.1\"".to_owned(),
        "listen_address=\"127.0.0.1\"".to_owned(),
        "grpc_listen_port=0".to_owned(),
        "enable_controller_mode=true".to_owned(),
        format!("controller_addr=\"{controller}\""),
        "all_ack_in_sync_state_set=true".to_owned(),
        "sync_broker_metadata_period=500".to_owned(),
        "check_sync_state_set_period=200".to_owned(),
        "ha_send_heartbeat_interval_ms=200".to_owned(),
        "ha_housekeeping_interval_ms=2000".to_owned(),
        "mapped_file_size_commit_log=16777216".to_owned(),
        "mapped_file_size_consume_queue=200000".to_owned(),
        "disk_space_warning_level_ratio=99".to_owned(),
        "clean_file_forcibly_enable=false".to_owned(),
    ] {
        out.push("--set".into());
        out.push(set);
    }
    out
}

fn client(ns: &str, name: &str) -> ClientConfig {
    let mut c = ClientConfig::new(ns).instance_name(name);
    c.poll_name_server_interval = Duration::from_secs(1);
    c.rebalance_interval = Duration::from_secs(1);
    c.heartbeat_interval = Duration::from_secs(1);
    c.persist_offset_interval = Duration::from_millis(300);
    c
}

/// Sends `range`, each retried until acknowledged SEND_OK (as an application would).
async fn produce(producer: &Producer, range: std::ops::Range<usize>) -> BTreeSet<String> {
    let mut acked = BTreeSet::new();
    for i in range {
        let body = format!("k{i:05}");
        let deadline = Instant::now() + WAIT;
        loop {
            match producer.send(Message::new("FailoverT", body.clone())).await {
                Ok(r) if r.status == SendStatus::SendOk => break,
                outcome => assert!(Instant::now() < deadline, "{body}: {outcome:?}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        acked.insert(body);
    }
    acked
}

type Seen = std::sync::Arc<std::sync::Mutex<BTreeSet<String>>>;

async fn consume(ns: &str, seen: &Seen) -> PushConsumer {
    let mut config = PushConsumerConfig::new("FailoverCG");
    config.consume_from = ConsumeFrom::FirstOffset;
    let sink = std::sync::Arc::clone(seen);
    PushConsumer::builder(client(ns, "failover-consumer"), config)
        .subscribe("FailoverT", "*")
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
async fn given_the_master_process_killed_the_slave_takes_over_and_every_acknowledged_message_is_consumed()
 {
    let dir = tempfile::tempdir().unwrap();
    let mut ns_args = args(&[
        "namesrv",
        "--listen-address",
        "127.0.0.1",
        "--listen-port",
        "0",
        "--data-dir",
    ]);
    ns_args.push(dir.path().join("namesrv").display().to_string());
    let (_ns_proc, ns) = spawn(&ns_args, &dir.path().join("namesrv.log")).await;
    let controller = format!("127.0.0.1:{}", free_port());
    let mut ctl_args = args(&["controller", "--peers"]);
    ctl_args.push(format!("n0-{controller}"));
    ctl_args.push("--data-dir".into());
    ctl_args.push(dir.path().join("controller").display().to_string());
    let (_ctl_proc, _) = spawn(&ctl_args, &dir.path().join("controller.log")).await;
    let mut brokers = Vec::new();
    for name in ["b0", "b1"] {
        let args = broker_args(&dir.path().join(name), &ns, &controller);
        brokers.push(spawn(&args, &dir.path().join(format!("{name}.log"))).await);
    }
    let mut state = None;
    wait_until("a master with both brokers in sync", || {
        state = sync_state(&controller, "broker-a");
        std::future::ready(state.as_ref().is_some_and(|(_, n)| *n == 2))
    })
    .await;
    let (master, _) = state.unwrap();

    let producer = Producer::start(
        client(&ns, "failover-producer"),
        ProducerConfig::new("FailoverPG"),
    )
    .await
    .unwrap();
    let mut acked = produce(&producer, 0..1000).await;
    let index = brokers.iter().position(|(_, a)| *a == master).unwrap();
    let killed = Instant::now();
    brokers[index].0.kill();
    let mut next = None;
    wait_until("the controller to name a new master", || {
        next = sync_state(&controller, "broker-a").filter(|(m, _)| *m != master);
        std::future::ready(next.is_some())
    })
    .await;
    println!("new master named {:?} after SIGKILL", killed.elapsed());
    acked.extend(produce(&producer, 1000..1001).await);
    println!(
        "first acknowledged send {:?} after SIGKILL",
        killed.elapsed()
    );
    acked.extend(produce(&producer, 1001..1200).await);

    let epochs = admin_json(&ns, &["getBrokerEpoch", "-b", "broker-a"]);
    let new_master = next.unwrap().0;
    let list = epochs[&new_master]["epochList"].as_array().unwrap();
    assert_eq!(
        list.len(),
        2,
        "epoch 1 under the old master, 2 under the new: {epochs}"
    );

    let seen = std::sync::Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let consumer = consume(&ns, &seen).await;
    let all = std::sync::Arc::clone(&seen);
    wait_until("every acknowledged message", || {
        let done = acked.is_subset(&all.lock().unwrap());
        async move { done }
    })
    .await;
    consumer.shutdown().await;
    producer.shutdown().await;
}
