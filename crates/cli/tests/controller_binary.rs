//! The controller group as an operator runs it: three `apogee controller` processes, and
//! `apogee admin getControllerMetaData` / `electMaster` against them. The leader is SIGKILLed;
//! the other two elect a new one, and the killed node rejoins. And a controller embedded in
//! `apogee namesrv` (Java's enableControllerInNamesrv), whose settings change at runtime.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Instant;

use apogee_testkit::ChildServer;
use common::*;

fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

async fn spawn_node(dir: &Path, peers: &str, me: usize) -> ChildServer {
    let args: Vec<String> = vec![
        "controller".into(),
        "--peers".into(),
        peers.into(),
        "--self-id".into(),
        format!("n{me}"),
        "--data-dir".into(),
        dir.join(format!("n{me}")).display().to_string(),
        "--set".into(),
        "listen_address=\"127.0.0.1\"".into(),
    ];
    ChildServer::spawn(Path::new(BIN), &args, &dir.join(format!("n{me}.log")), 1).await
}

/// The leader address every answering node agrees on.
fn leader_of(addrs: &[String]) -> Option<String> {
    let mut seen = None;
    for addr in addrs {
        let out = admin(
            "127.0.0.1:1",
            &["getControllerMetaData", "-a", addr, "--json"],
        );
        if !out.status.success() {
            continue;
        }
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let leader = json["controllerLeaderAddress"].as_str()?.to_owned();
        if seen.get_or_insert_with(|| leader.clone()) != &leader {
            return None;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_three_controller_processes_a_killed_leader_is_replaced_and_rejoins() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(3);
    let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let peers: String = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| format!("n{i}-{a};"))
        .collect();
    let mut nodes = Vec::new();
    for i in 0..3 {
        nodes.push(spawn_node(dir.path(), &peers, i).await);
    }
    let mut leader = None;
    wait_until("the three agree on a leader", || {
        leader = leader_of(&addrs);
        std::future::ready(leader.is_some())
    })
    .await;
    let leader = leader.unwrap();
    let human = admin("127.0.0.1:1", &["getControllerMetaData", "-a", &addrs[0]]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("#ControllerLeaderAddress"), "{text}");
    assert_eq!(text.matches("#Peer:").count(), 3, "{text}");

    // electMaster for a set nobody registered: the controller's refusal, as mqadmin shows it.
    let refused = admin(
        "127.0.0.1:1",
        &[
            "electMaster",
            "-a",
            &leader,
            "-b",
            "1",
            "-bn",
            "nobody",
            "-c",
            "c",
        ],
    );
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("2010") || why.contains("NEED_TO_BE_REGISTERED"),
        "{why}"
    );

    let index = addrs.iter().position(|a| *a == leader).unwrap();
    let killed = Instant::now();
    nodes[index].kill();
    let rest: Vec<String> = addrs.iter().filter(|a| **a != leader).cloned().collect();
    let mut second = None;
    wait_until("a new leader", || {
        second = leader_of(&rest).filter(|l| *l != leader);
        std::future::ready(second.is_some())
    })
    .await;
    println!(
        "controller leader replaced {:?} after SIGKILL",
        killed.elapsed()
    );

    nodes[index] = spawn_node(dir.path(), &peers, index).await;
    wait_until("all three agree again", || {
        std::future::ready(leader_of(&addrs).is_some_and(|l| Some(&l) == second.as_ref()))
    })
    .await;
}

/// A broker in controller mode naming `ctl` as its controller.
async fn spawn_controller_mode_broker(dir: &Path, ns: &str, ctl: &str) -> ChildServer {
    let mut broker_args: Vec<String> = ["broker", "-n", ns, "-p", "0", "--store-dir"]
        .map(String::from)
        .to_vec();
    broker_args.push(dir.join("broker").display().to_string());
    for set in [
        "broker_ip1=\"127.0.0.1\"".to_owned(),
        "listen_address=\"127.0.0.1\"".to_owned(),
        "grpc_listen_port=0".to_owned(),
        "enable_controller_mode=true".to_owned(),
        format!("controller_addr=\"{ctl}\""),
        "mapped_file_size_commit_log=16777216".to_owned(),
        "mapped_file_size_consume_queue=200000".to_owned(),
        "disk_space_warning_level_ratio=99".to_owned(),
    ] {
        broker_args.extend(["--set".to_owned(), set]);
    }
    ChildServer::spawn(Path::new(BIN), &broker_args, &dir.join("broker.log"), 1).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_controller_in_the_namesrv_a_broker_becomes_master_and_settings_change_live() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_ports(1)[0];
    let sets = [
        "listen_address=\"127.0.0.1\"".to_owned(),
        "enable_controller_in_namesrv=true".to_owned(),
        format!("controller.peers=\"n0-127.0.0.1:{port}\""),
        "controller.listen_address=\"127.0.0.1\"".to_owned(),
        format!(
            "controller.data_dir={:?}",
            dir.path().join("ctl").display().to_string()
        ),
    ];
    let mut args: Vec<String> = ["namesrv", "--listen-port", "0", "--data-dir"]
        .map(String::from)
        .to_vec();
    args.push(dir.path().join("ns").display().to_string());
    for set in sets {
        args.extend(["--set".to_owned(), set]);
    }
    let namesrv = ChildServer::spawn(Path::new(BIN), &args, &dir.path().join("ns.log"), 2).await;
    let (ns, ctl) = (namesrv.addrs[0].clone(), namesrv.addrs[1].clone());
    assert!(ctl.ends_with(&format!(":{port}")), "{ctl}");
    wait_until("the embedded controller leads", || {
        std::future::ready(leader_of(std::slice::from_ref(&ctl)).as_ref() == Some(&ctl))
    })
    .await;
    let config = admin_json(&ns, &["getNamesrvConfig"]);
    assert_eq!(config[&ns]["enableControllerInNamesrv"], "true", "{config}");

    let broker = spawn_controller_mode_broker(dir.path(), &ns, &ctl).await;
    let broker_addr = broker.addrs[0].clone();
    wait_until("the broker is master", || {
        std::future::ready(sync_state(&ctl, "broker-a").is_some_and(|(m, _)| m == broker_addr))
    })
    .await;

    let before = admin_json("127.0.0.1:1", &["getControllerConfig", "-a", &ctl]);
    assert_eq!(
        before[&ctl]["enableElectUncleanMaster"], "false",
        "{before}"
    );
    admin_json(
        "127.0.0.1:1",
        &[
            "updateControllerConfig",
            "-a",
            &ctl,
            "-k",
            "enableElectUncleanMaster",
            "-v",
            "true",
        ],
    );
    let after = admin_json("127.0.0.1:1", &["getControllerConfig", "-a", &ctl]);
    assert_eq!(after[&ctl]["enableElectUncleanMaster"], "true", "{after}");
    let why = admin_err(
        "127.0.0.1:1",
        &[
            "updateControllerConfig",
            "-a",
            &ctl,
            "-k",
            "controllerDLegerPeers",
            "-v",
            "n0-1.2.3.4:1",
        ],
    );
    assert!(
        why.contains("cannot be changed while the controller runs"),
        "{why}"
    );
}
