//! Master/slave replication over real sockets: a SYNC_MASTER acknowledges only what its
//! slave has, answers 11/12 (stored all the same) when the slave is gone or silent and
//! recovers when it returns; a slave refuses writes, serves reads and copies the master's
//! metadata; an ASYNC_MASTER's slave lag is reported and drains.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use apogee_protocol::body::KvTable;
use apogee_protocol::body::ha::HaRuntimeInfo;
use apogee_protocol::header::consumer::{
    QueryConsumerOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use apogee_protocol::header::message::{PullMessageResponseHeader, SendMessageResponseHeader};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{Dispatcher, RemotingClient, TransportConfig};
use apogee_testkit::{Pair, wait_until};
use common::{create_topic, pull, records, send_v2};

fn client() -> RemotingClient {
    RemotingClient::new(Dispatcher::new(), TransportConfig::default())
}

async fn call(client: &RemotingClient, addr: &str, request: RemotingCommand) -> RemotingCommand {
    client
        .invoke(addr, request, Duration::from_secs(10))
        .await
        .unwrap()
}

async fn ha_status(client: &RemotingClient, addr: &str) -> HaRuntimeInfo {
    let r = call(
        client,
        addr,
        RemotingCommand::bare_request(RequestCode::GET_BROKER_HA_STATUS),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    serde_json::from_slice(&r.body).unwrap()
}

fn commit(topic: &str, queue_id: i32, offset: i64) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::UPDATE_CONSUMER_OFFSET,
        &UpdateConsumerOffsetRequestHeader {
            consumer_group: "cg".into(),
            topic: topic.into(),
            queue_id,
            commit_offset: offset,
            broker_name: None,
        },
    )
}

fn query(topic: &str, queue_id: i32) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::QUERY_CONSUMER_OFFSET,
        &QueryConsumerOffsetRequestHeader {
            consumer_group: "cg".into(),
            topic: topic.into(),
            queue_id,
            set_zero_if_not_found: Some(false),
            broker_name: None,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_sync_master_should_ack_only_what_the_slave_has_and_the_slave_serves_it() {
    let pair = Pair::start("SYNC_MASTER", |_| {}).await;
    let (c, master, slave) = (client(), pair.master_addr(), pair.slave_addr());
    for i in 0..200 {
        let r = call(
            &c,
            &master,
            send_v2("Sync", 0, "TAGS\u{1}a\u{2}", b"replicated"),
        )
        .await;
        assert_eq!(
            r.response_code(),
            ResponseCode::SUCCESS,
            "send {i}: {:?}",
            r.remark
        );
        let m = pair.master().ha_status().master_commit_log_max_offset;
        let s = pair.slave().ha_status().ha_client_runtime_info.max_offset;
        assert!(
            s >= m,
            "acknowledged before the slave had it: slave {s} < master {m}"
        );
    }
    let status = ha_status(&c, &master).await;
    assert!(status.master);
    assert_eq!(status.in_sync_slave_nums, 1);
    assert_eq!(status.ha_connection_info[0].diff, 0);
    let slave_view = ha_status(&c, &slave).await;
    assert!(!slave_view.master);
    assert_eq!(
        slave_view.ha_client_runtime_info.master_addr,
        pair.master().ha_addr(),
        "learned from the NameServer's registration reply"
    );

    // The slave serves the messages once it knows the topic, and sends consumers back to
    // the master (slaveReadEnable is off).
    assert!(pair.slave().sync_from_master_now().await.unwrap());
    wait_until(
        "the slave to index the topic",
        Duration::from_secs(10),
        || async {
            let r = call(&c, &slave, pull("Sync", 0, 0, "*", 0)).await;
            r.response_code() == ResponseCode::SUCCESS && records(&r.body).len() == 32
        },
    )
    .await;
    let r = call(&c, &slave, pull("Sync", 0, 0, "*", 0)).await;
    let h: PullMessageResponseHeader = r.header().unwrap();
    assert_eq!(h.suggest_which_broker_id, 0);
    assert_eq!(records(&r.body)[0].body.as_ref(), b"replicated");

    // A slave refuses writes with RocketMQ's codes.
    let r = call(&c, &slave, send_v2("Sync", 0, "", b"x")).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_BUSY);
    assert_eq!(
        r.remark.as_deref(),
        Some("[REJECTREQUEST]system busy, start flow control for a while")
    );
    let r = call(
        &c,
        &slave,
        RemotingCommand::bare_request(RequestCode::END_TRANSACTION),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SLAVE_NOT_AVAILABLE);
    // A pull past what the slave has never moves the consumer's offset.
    let r = call(&c, &slave, pull("Sync", 0, 10_000, "*", 0)).await;
    assert_eq!(r.response_code(), ResponseCode::PULL_RETRY_IMMEDIATELY);
    let h: PullMessageResponseHeader = r.header().unwrap();
    assert_eq!(h.next_begin_offset, 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_the_slave_gone_or_silent_sends_should_answer_11_or_12_stored_and_recover() {
    let mut pair = Pair::start("SYNC_MASTER", |raw| raw.slave_timeout_ms = 800).await;
    let (c, master) = (client(), pair.master_addr());
    let ok = call(&c, &master, send_v2("Gone", 0, "", b"first")).await;
    assert_eq!(ok.response_code(), ResponseCode::SUCCESS);

    // Gone: the master saw the connection close, so the answer is immediate.
    pair.stop_slave().await;
    wait_until(
        "the master to drop the slave",
        Duration::from_secs(10),
        || async { pair.master().ha_status().ha_connection_info.is_empty() },
    )
    .await;
    let r = call(&c, &master, send_v2("Gone", 0, "", b"alone")).await;
    assert_eq!(r.response_code(), ResponseCode::SLAVE_NOT_AVAILABLE);
    assert_eq!(r.remark, None);
    let h: SendMessageResponseHeader = r.header().unwrap();
    assert_eq!(h.queue_offset, 1, "stored all the same, with its header");

    // Silent: a peer that reports once and then says nothing holds each send for
    // slaveTimeout, then gets FLUSH_SLAVE_TIMEOUT (not a hang).
    let mut silent = tokio::net::TcpStream::connect(pair.master().ha_addr())
        .await
        .unwrap();
    let end = pair.master().ha_status().master_commit_log_max_offset;
    tokio::io::AsyncWriteExt::write_all(&mut silent, &end.to_be_bytes())
        .await
        .unwrap();
    wait_until(
        "the silent peer's report",
        Duration::from_secs(10),
        || async {
            pair.master()
                .ha_status()
                .ha_connection_info
                .first()
                .map(|c| c.slave_ack_offset)
                == Some(end)
        },
    )
    .await;
    let started = std::time::Instant::now();
    let r = call(&c, &master, send_v2("Gone", 0, "", b"unconfirmed")).await;
    assert_eq!(r.response_code(), ResponseCode::FLUSH_SLAVE_TIMEOUT);
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "it waited for the slave"
    );
    drop(silent);

    // The slave returns, catches up from its own end, and sends go through again.
    pair.start_slave().await;
    pair.wait_connected().await;
    pair.wait_caught_up().await;
    let r = call(&c, &master, send_v2("Gone", 0, "", b"again")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    assert!(pair.slave().sync_from_master_now().await.unwrap());
    let slave = pair.slave_addr();
    wait_until(
        "the slave to serve all four",
        Duration::from_secs(10),
        || async { records(&call(&c, &slave, pull("Gone", 0, 0, "*", 0)).await.body).len() == 4 },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_an_async_master_should_report_the_slave_lag_until_it_drains() {
    let pair = Pair::start("ASYNC_MASTER", |_| {}).await;
    let (c, master) = (client(), pair.master_addr());
    let sends = (0..2000).map(|_| call(&c, &master, send_v2("Async", 0, "", &[7u8; 1024])));
    for r in futures::future::join_all(sends).await {
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    }
    pair.wait_caught_up().await;
    let r = call(
        &c,
        &master,
        RemotingCommand::bare_request(RequestCode::GET_BROKER_RUNTIME_INFO),
    )
    .await;
    let table: KvTable = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        table.table.get("brokerRole").map(String::as_str),
        Some("ASYNC_MASTER")
    );
    assert_eq!(table.table.get("haSlaveNum").map(String::as_str), Some("1"));
    assert_eq!(
        table.table.get("haInSyncSlaveNum").map(String::as_str),
        Some("1")
    );
    wait_until(
        "the reported lag to drain",
        Duration::from_secs(10),
        || async {
            let r = call(
                &c,
                &master,
                RemotingCommand::bare_request(RequestCode::GET_BROKER_RUNTIME_INFO),
            )
            .await;
            let table: KvTable = serde_json::from_slice(&r.body).unwrap();
            table
                .table
                .get("haSlaveFallBehindBytes")
                .map(String::as_str)
                == Some("0")
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_metadata_on_the_master_the_slave_should_copy_it_and_keep_its_own_commits() {
    let pair = Pair::start("ASYNC_MASTER", |_| {}).await;
    let (c, master, slave) = (client(), pair.master_addr(), pair.slave_addr());
    let r = call(&c, &master, create_topic("Meta", 3, None)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    assert_eq!(
        call(&c, &master, commit("Meta", 0, 5))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    assert_eq!(
        call(&c, &master, commit("Meta", 1, 7))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    assert!(pair.slave().sync_from_master_now().await.unwrap());
    let r = call(
        &c,
        &slave,
        RemotingCommand::bare_request(RequestCode::GET_ALL_TOPIC_CONFIG),
    )
    .await;
    assert!(String::from_utf8_lossy(&r.body).contains("\"Meta\""));
    let r = call(&c, &slave, query("Meta", 1)).await;
    assert_eq!(r.ext_fields.get("offset"), Some("7"), "{r:?}");

    // The master goes away; consumers commit to the slave; the master's older value does
    // not overwrite that commit when the tables are copied again.
    assert_eq!(
        call(&c, &slave, commit("Meta", 1, 40))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    assert_eq!(
        call(&c, &master, commit("Meta", 0, 9))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    assert!(pair.slave().sync_from_master_now().await.unwrap());
    let r = call(&c, &slave, query("Meta", 1)).await;
    assert_eq!(r.ext_fields.get("offset"), Some("40"));
    let r = call(&c, &slave, query("Meta", 0)).await;
    assert_eq!(r.ext_fields.get("offset"), Some("9"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_two_groups_of_a_master_and_two_slaves_every_slave_should_copy_its_own_master() {
    let mut cluster =
        apogee_testkit::Cluster::start(&[("SYNC_MASTER", 2), ("ASYNC_MASTER", 2)], |_| {}).await;
    let c = client();
    for g in 0..2 {
        let master = cluster.addr(g, 0);
        for _ in 0..50 {
            let r = call(&c, &master, send_v2("Wide", 0, "", b"to both slaves")).await;
            assert_eq!(r.response_code(), ResponseCode::SUCCESS);
        }
        cluster.wait_caught_up(g).await;
        assert_eq!(cluster.broker(g, 0).ha_status().in_sync_slave_nums, 2);
    }
    let a = cluster
        .broker(0, 0)
        .ha_status()
        .master_commit_log_max_offset;
    let b = cluster
        .broker(1, 0)
        .ha_status()
        .master_commit_log_max_offset;
    assert_eq!(a, b, "same sends, same bytes");
    // A SYNC_MASTER needs one slave's report: with one of two gone, sends still succeed.
    cluster.stop(0, 2).await;
    cluster.wait_connected(0).await;
    let r = call(
        &c,
        &cluster.addr(0, 0),
        send_v2("Wide", 0, "", b"one is enough"),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let route = RemotingCommand::request(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        &apogee_protocol::header::namesrv::GetRouteInfoRequestHeader {
            topic: "Wide".into(),
            accept_standard_json_only: None,
        },
    );
    let r = call(&c, &cluster.namesrv_addr, route).await;
    let text = String::from_utf8_lossy(&r.body);
    for g in 0..2 {
        assert!(
            text.contains(&cluster.addr(g, 1)),
            "slave 1 of group {g} in the route: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_slave_read_enable_pulls_should_suggest_the_groups_broker() {
    let pair = Pair::start("ASYNC_MASTER", |raw| raw.slave_read_enable = true).await;
    let (c, master) = (client(), pair.master_addr());
    assert_eq!(
        call(&c, &master, send_v2("Read", 0, "", b"x"))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    let suggestion = |r: RemotingCommand| {
        r.header::<PullMessageResponseHeader>()
            .unwrap()
            .suggest_which_broker_id
    };
    // Data in memory: the group's brokerId (0 by default).
    assert_eq!(
        suggestion(call(&c, &master, pull("Read", 0, 0, "*", 0)).await),
        0
    );
    // A group that reads from its slave says so.
    let create = create_group_with_broker_1();
    assert_eq!(
        call(&c, &master, create).await.response_code(),
        ResponseCode::SUCCESS
    );
    assert_eq!(
        suggestion(call(&c, &master, pull("Read", 0, 0, "*", 0)).await),
        1
    );
    // Without slaveReadEnable consumers always go back to the master.
    let off = Pair::start("ASYNC_MASTER", |_| {}).await;
    let addr = off.master_addr();
    assert_eq!(
        call(&c, &addr, create_group_with_broker_1())
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    assert_eq!(
        call(&c, &addr, send_v2("Read", 0, "", b"x"))
            .await
            .response_code(),
        ResponseCode::SUCCESS
    );
    assert_eq!(
        suggestion(call(&c, &addr, pull("Read", 0, 0, "*", 0)).await),
        0
    );
}

fn create_group_with_broker_1() -> RemotingCommand {
    let group = apogee_protocol::body::admin::SubscriptionGroupConfig {
        group_name: "cg".into(),
        broker_id: 1,
        ..Default::default()
    };
    RemotingCommand::bare_request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
        .with_body(serde_json::to_vec(&group).unwrap())
}
