//! A master store and a slave store over real sockets: the slave ends up with the master's
//! bytes, a SYNC wait is released by the slave's report, and a vanished slave makes waits
//! answer at once instead of hanging.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use apogee_replication::{Acks, HaMaster, HaSettings, HaSlave, ReplicaStatus};
use apogee_runtime::{Shutdown, SystemClock};
use apogee_store::{MessageStore, MessageToStore, ReplicaLog, StoreConfig};
use bytes::Bytes;

fn open(dir: &std::path::Path) -> Arc<MessageStore> {
    let mut config = StoreConfig::new(dir);
    config.commit_log_file_bytes = 256 * 1024;
    config.retention.reject_ratio = 1.0;
    config.retention.clean_file_forcibly = false;
    Arc::new(MessageStore::open(config, Arc::new(SystemClock), Vec::new()).unwrap())
}

fn message(i: usize) -> MessageToStore {
    MessageToStore {
        topic: "HA".into(),
        queue_id: i32::try_from(i % 2).unwrap(),
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1,
        born_host: "127.0.0.1:4000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(vec![7u8; 1000]),
        properties: format!("KEYS\u{1}k{i}\u{2}"),
    }
}

fn settings() -> HaSettings {
    HaSettings {
        heartbeat: Duration::from_millis(200),
        housekeeping: Duration::from_millis(1500),
        reconnect: Duration::from_millis(100),
        ..HaSettings::default()
    }
}

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The CommitLog's bytes from `from` to its end.
fn log_bytes(store: &MessageStore, from: i64) -> Vec<u8> {
    let (mut out, mut at) = (Vec::new(), from);
    while let Some(frame) = store.read_from(at, 1 << 20) {
        out.extend_from_slice(&frame);
        at += i64::try_from(frame.len()).unwrap();
    }
    out
}

/// Appends message `i` and waits (as a SYNC_MASTER send would) for a slave to have it.
async fn append_and_wait(master: &MessageStore, acks: &Acks, i: usize) -> ReplicaStatus {
    let out = master.append(&[message(i)]).unwrap();
    acks.wait(
        out.end_offset,
        master.max_offset(),
        1 << 30,
        Duration::from_secs(10),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_master_and_slave_should_copy_every_byte_and_release_sync_waits() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (master, slave) = (open(a.path()), open(b.path()));
    for i in 0..300 {
        master.append(&[message(i)]).unwrap();
    }
    let acks = Arc::new(Acks::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ha_addr = listener.local_addr().unwrap().to_string();
    let shutdown = Shutdown::new();
    let server = Arc::new(HaMaster::new(master.clone(), Arc::clone(&acks), settings()));
    tokio::spawn(server.serve(listener, shutdown.clone()));
    let (addr_tx, addr_rx) = tokio::sync::watch::channel(Some(ha_addr));
    let client_stop = Shutdown::new();
    let client = Arc::new(HaSlave::new(slave.clone(), addr_rx, settings()));
    let task = tokio::spawn(Arc::clone(&client).run(client_stop.clone()));

    until("the slave to copy the backlog", || {
        slave.max_offset() == master.max_offset()
    })
    .await;
    for i in 300..400 {
        assert_eq!(
            append_and_wait(&master, &acks, i).await,
            ReplicaStatus::Ok,
            "send {i}"
        );
    }
    assert!(slave.max_offset() >= master.max_offset());
    // An empty slave starts at the master's last file, as Java's does.
    let start = slave.commit_log_min_offset();
    assert!(start > 0, "the backlog spans files: {start}");
    let (x, y) = (log_bytes(&master, start), log_bytes(&slave, start));
    assert_eq!(x, y, "the slave's CommitLog is the master's, byte for byte");
    until("the slave's index", || {
        slave.query_by_key("HA", "k399", 4, 0, i64::MAX).len() == 1
    })
    .await;
    assert!(client.status().connected);

    // The slave stops: waits answer at once once the master notices the connection closed.
    client_stop.trigger();
    task.await.unwrap();
    until("the master to drop the slave", || acks.connected() == 0).await;
    let status = append_and_wait(&master, &acks, 400).await;
    assert_eq!(status, ReplicaStatus::SlaveNotAvailable);
    drop(addr_tx);
    shutdown.trigger();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_more_connections_than_slaves_max_the_extra_ones_should_be_closed() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let acks = Arc::new(Acks::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let server = Arc::new(HaMaster::new(
        open(dir.path()),
        Arc::clone(&acks),
        settings(),
    ));
    tokio::spawn(server.serve(listener, shutdown.clone()));
    let mut held = Vec::new();
    for _ in 0..apogee_replication::SLAVES_MAX {
        held.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    until("every allowed connection to be counted", || {
        acks.connected() == apogee_replication::SLAVES_MAX
    })
    .await;
    let mut extra = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(10), extra.read(&mut byte)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the extra connection is closed: {read:?}"
    );
    assert_eq!(acks.connected(), apogee_replication::SLAVES_MAX);
    shutdown.trigger();
}
