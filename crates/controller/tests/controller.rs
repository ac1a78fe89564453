//! Controllers over real sockets: one node and a group of three, driven with RocketMQ's
//! controller requests the way brokers and mqadmin send them.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use apogee_controller::{Controller, ControllerConfig, RawControllerConfig};
use apogee_protocol::body::controller::{BrokerReplicasInfo, SyncStateSet};
use apogee_protocol::header::EmptyHeader;
use apogee_protocol::header::controller::*;
use apogee_protocol::header::namesrv::BrokerHeartbeatRequestHeader;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{Dispatcher, RemotingClient, TransportConfig};
use apogee_runtime::{Shutdown, SystemClock};

const WAIT: Duration = Duration::from_secs(20);

fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

fn config(dir: &std::path::Path, ports: &[u16], me: usize) -> ControllerConfig {
    let peers: String = ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("n{i}-127.0.0.1:{p};"))
        .collect();
    ControllerConfig::try_from(RawControllerConfig {
        peers,
        self_id: format!("n{me}"),
        listen_address: "127.0.0.1".into(),
        data_dir: dir.join(format!("n{me}")),
        inactive_master_grace_ms: 500,
        scan_inactive_master_interval_ms: 200,
        scan_not_active_broker_interval_ms: 200,
        ..RawControllerConfig::default()
    })
    .expect("config")
}

async fn start(dir: &std::path::Path, ports: &[u16], me: usize) -> Controller {
    Controller::start(
        config(dir, ports, me),
        Shutdown::new(),
        Arc::new(SystemClock),
    )
    .await
    .expect("start")
}

fn client() -> RemotingClient {
    RemotingClient::new(Dispatcher::new(), TransportConfig::default())
}

async fn call(client: &RemotingClient, port: u16, request: RemotingCommand) -> RemotingCommand {
    client
        .invoke(
            &format!("127.0.0.1:{port}"),
            request,
            Duration::from_secs(10),
        )
        .await
        .expect("answer")
}

async fn wait_for<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The port of whichever node leads: it says so, and it serves a leader-only request (a leader
/// just elected may still be deposed by a candidate of a later term).
async fn leader(client: &RemotingClient, ports: &[u16]) -> u16 {
    wait_for("a controller leader", async || {
        for port in ports {
            let probe = RemotingCommand::request(
                RequestCode::CONTROLLER_GET_NEXT_BROKER_ID,
                &GetNextBrokerIdRequestHeader {
                    cluster_name: "c".into(),
                    broker_name: "probe".into(),
                },
            );
            let answered = client
                .invoke(&format!("127.0.0.1:{port}"), probe, Duration::from_secs(2))
                .await;
            if answered.is_ok_and(|r| r.response_code() == ResponseCode::SUCCESS) {
                return Some(*port);
            }
        }
        None
    })
    .await
}

async fn apply_and_register(client: &RemotingClient, port: u16, id: i64, addr: &str) {
    let apply = RemotingCommand::request(
        RequestCode::CONTROLLER_APPLY_BROKER_ID,
        &ApplyBrokerIdRequestHeader {
            cluster_name: "c".into(),
            broker_name: "broker-a".into(),
            applied_broker_id: id,
            register_check_code: format!("{addr};1"),
        },
    );
    let r = call(client, port, apply).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let register = RemotingCommand::request(
        RequestCode::CONTROLLER_REGISTER_BROKER,
        &RegisterBrokerToControllerRequestHeader {
            cluster_name: "c".into(),
            broker_name: "broker-a".into(),
            broker_id: Some(id),
            broker_address: addr.into(),
            invoke_time: None,
        },
    );
    let r = call(client, port, register).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
}

async fn heartbeat(client: &RemotingClient, port: u16, id: i64, addr: &str, epoch: i32) {
    let beat = RemotingCommand::request(
        RequestCode::BROKER_HEARTBEAT,
        &BrokerHeartbeatRequestHeader {
            cluster_name: apogee_model::ClusterName::new("c").expect("name"),
            broker_addr: addr.into(),
            broker_name: apogee_model::BrokerName::new("broker-a").expect("name"),
            broker_id: Some(id),
            epoch: Some(epoch),
            max_offset: Some(100),
            confirm_offset: Some(100),
            heartbeat_timeout_mills: Some(3000),
            election_priority: None,
        },
    );
    let r = call(client, port, beat).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
}

async fn elect(
    client: &RemotingClient,
    port: u16,
    broker_id: i64,
    designate: bool,
) -> RemotingCommand {
    call(
        client,
        port,
        RemotingCommand::request(
            RequestCode::CONTROLLER_ELECT_MASTER,
            &ElectMasterRequestHeader {
                cluster_name: Some("c".into()),
                broker_name: "broker-a".into(),
                broker_id: Some(broker_id),
                designate_elect: Some(designate),
                invoke_time: None,
            },
        ),
    )
    .await
}

async fn replica_info(
    client: &RemotingClient,
    port: u16,
) -> (GetReplicaInfoResponseHeader, SyncStateSet) {
    let r = call(
        client,
        port,
        RemotingCommand::request(
            RequestCode::CONTROLLER_GET_REPLICA_INFO,
            &GetReplicaInfoRequestHeader {
                broker_name: "broker-a".into(),
            },
        ),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let body = apogee_protocol::body::from_json("sss", &r.body).expect("sss");
    (r.header().expect("header"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_one_controller_a_broker_takes_an_id_registers_and_becomes_master() {
    let dir = tempfile::tempdir().expect("dir");
    let ports = free_ports(1);
    let node = start(dir.path(), &ports, 0).await;
    let c = client();
    let port = leader(&c, &ports).await;
    let next = call(
        &c,
        port,
        RemotingCommand::request(
            RequestCode::CONTROLLER_GET_NEXT_BROKER_ID,
            &GetNextBrokerIdRequestHeader {
                cluster_name: "c".into(),
                broker_name: "broker-a".into(),
            },
        ),
    )
    .await;
    let h: GetNextBrokerIdResponseHeader = next.header().expect("header");
    assert_eq!(h.next_broker_id, Some(1));
    apply_and_register(&c, port, 1, "127.0.0.1:10911").await;
    let r = elect(&c, port, 1, false).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let h: ElectMasterResponseHeader = r.header().expect("header");
    assert_eq!((h.master_broker_id, h.master_epoch), (Some(1), Some(1)));
    assert_eq!(h.master_address.as_deref(), Some("127.0.0.1:10911"));
    // Asking again, alive, changes nothing: 2011 with the same master.
    heartbeat(&c, port, 1, "127.0.0.1:10911", 1).await;
    let again = elect(&c, port, 1, false).await;
    assert_eq!(
        again.response_code(),
        ResponseCode::CONTROLLER_MASTER_STILL_EXIST
    );
    let (info, sss) = replica_info(&c, port).await;
    assert_eq!(info.master_broker_id, Some(1));
    assert_eq!(sss.sync_state_set, BTreeSet::from([1]));
    node.stop().await;

    // The decisions survive a restart (raft log on disk).
    let node = start(dir.path(), &ports, 0).await;
    let port = leader(&c, &ports).await;
    let (info, _) = replica_info(&c, port).await;
    assert_eq!(
        (info.master_broker_id, info.master_epoch),
        (Some(1), Some(1))
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_the_master_connection_closes_the_slave_in_sync_becomes_master() {
    let dir = tempfile::tempdir().expect("dir");
    let ports = free_ports(1);
    let node = start(dir.path(), &ports, 0).await;
    let admin = client();
    let port = leader(&admin, &ports).await;
    let (master, slave) = (client(), client());
    apply_and_register(&master, port, 1, "127.0.0.1:1").await;
    apply_and_register(&slave, port, 2, "127.0.0.1:2").await;
    heartbeat(&master, port, 1, "127.0.0.1:1", 0).await;
    heartbeat(&slave, port, 2, "127.0.0.1:2", 0).await;
    assert_eq!(
        elect(&master, port, 1, false).await.response_code(),
        ResponseCode::SUCCESS
    );
    // The master reports its slave caught up.
    let alter = RemotingCommand::request(
        RequestCode::CONTROLLER_ALTER_SYNC_STATE_SET,
        &AlterSyncStateSetRequestHeader {
            broker_name: "broker-a".into(),
            master_broker_id: Some(1),
            master_epoch: Some(1),
            invoke_time: None,
        },
    )
    .with_body(
        SyncStateSet {
            sync_state_set: BTreeSet::from([1, 2]),
            sync_state_set_epoch: 1,
        }
        .to_json(),
    );
    let r = call(&master, port, alter.clone()).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let h: AlterSyncStateSetResponseHeader = r.header().expect("header");
    assert_eq!(h.new_sync_state_set_epoch, Some(2));
    // A stale repeat is fenced.
    let stale = call(&master, port, alter).await;
    assert_eq!(
        stale.response_code(),
        ResponseCode::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED
    );

    master.shutdown();
    let (info, sss) = wait_for("the slave elected", async || {
        let (info, sss) = replica_info(&admin, port).await;
        (info.master_broker_id == Some(2)).then_some((info, sss))
    })
    .await;
    assert_eq!(info.master_epoch, Some(2));
    assert_eq!(sss.sync_state_set, BTreeSet::from([2]));
    // mqadmin getSyncStateSet's view.
    let r = call(
        &admin,
        port,
        RemotingCommand::request(RequestCode::CONTROLLER_GET_SYNC_STATE_DATA, &EmptyHeader)
            .with_body(br#"["broker-a"]"#.to_vec()),
    )
    .await;
    let view: BrokerReplicasInfo = apogee_protocol::body::from_json("view", &r.body).expect("view");
    let a = &view.replicas_info_table["broker-a"];
    assert_eq!(a.master_broker_id, Some(2));
    assert_eq!(a.in_sync_replicas.len(), 1);
    assert!(!a.not_in_sync_replicas[0].alive);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_three_controllers_a_follower_refuses_and_the_group_survives_its_leader() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().expect("dir");
    let ports = free_ports(3);
    let mut nodes = Vec::new();
    for i in 0..3 {
        nodes.push(Some(start(dir.path(), &ports, i).await));
    }
    let c = client();
    let first = leader(&c, &ports).await;
    let follower = *ports.iter().find(|p| **p != first).expect("follower");
    let refused = elect(&c, follower, 1, false).await;
    assert_eq!(refused.response_code(), ResponseCode::CONTROLLER_NOT_LEADER);
    apply_and_register(&c, first, 1, "127.0.0.1:10911").await;
    assert_eq!(
        elect(&c, first, 1, false).await.response_code(),
        ResponseCode::SUCCESS
    );

    let index = ports.iter().position(|p| *p == first).expect("index");
    let stopped = tokio::time::Instant::now();
    nodes[index].take().expect("node").stop().await;
    let rest: Vec<u16> = ports.iter().copied().filter(|p| *p != first).collect();
    let second = leader(&c, &rest).await;
    println!("new controller leader after {:?}", stopped.elapsed());
    let (info, _) = replica_info(&c, second).await;
    assert_eq!(
        (info.master_broker_id, info.master_epoch),
        (Some(1), Some(1))
    );
    // The new leader takes decisions, and the old one catches up when it returns.
    apply_and_register(&c, second, 2, "127.0.0.1:10921").await;
    nodes[index] = Some(start(dir.path(), &ports, index).await);
    let nodes: Vec<Controller> = nodes.into_iter().flatten().collect();
    for node in &nodes {
        let caught_up = wait_for("every node applied id 2", async || {
            node.state()
                .broker_set("broker-a")
                .is_some_and(|s| s.replicas.contains_key(&2))
                .then_some(())
        });
        caught_up.await;
    }
    for node in nodes {
        node.stop().await;
    }
}
