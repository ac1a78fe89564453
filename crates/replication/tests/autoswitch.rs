//! AutoSwitch HA over real sockets: a slave names itself, takes the master's epochs and
//! bytes; a demoted master that wrote past the point where its slave took over cuts that tail
//! when it follows the new master, and then holds exactly the new master's log.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use apogee_replication::autoswitch::{AsMaster, AsSlave};
use apogee_replication::{Acks, HaSettings, ReplicaStatus, SharedEpochs};
use apogee_runtime::{Shutdown, SystemClock};
use apogee_store::{MessageStore, MessageToStore, ReplicaLog, StoreConfig};
use bytes::Bytes;
use tokio::sync::watch;

struct Node {
    store: Arc<MessageStore>,
    epochs: Arc<SharedEpochs>,
    acks: Arc<Acks>,
    serving: watch::Sender<bool>,
    master: watch::Sender<Option<String>>,
    slave: Arc<AsSlave>,
    ha_addr: String,
}

fn settings() -> HaSettings {
    HaSettings {
        heartbeat: Duration::from_millis(200),
        housekeeping: Duration::from_millis(1500),
        reconnect: Duration::from_millis(100),
        ..HaSettings::default()
    }
}

async fn node(dir: &std::path::Path, id: i64, shutdown: &Shutdown) -> Node {
    let mut config = StoreConfig::new(dir);
    config.commit_log_file_bytes = 256 * 1024;
    config.retention.reject_ratio = 1.0;
    config.retention.clean_file_forcibly = false;
    let store = Arc::new(MessageStore::open(config, Arc::new(SystemClock), Vec::new()).unwrap());
    let log: Arc<dyn ReplicaLog> = Arc::clone(&store) as Arc<dyn ReplicaLog>;
    let epochs = Arc::new(SharedEpochs::open(&dir.join("epochFileCheckpoint")));
    let acks = Arc::new(Acks::default());
    let (serving, serving_rx) = watch::channel(false);
    let (master, master_rx) = watch::channel(None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ha_addr = listener.local_addr().unwrap().to_string();
    let server = Arc::new(AsMaster::new(
        Arc::clone(&log),
        Arc::clone(&acks),
        Arc::clone(&epochs),
        settings(),
        serving_rx,
    ));
    tokio::spawn(server.serve(listener, shutdown.clone()));
    let slave = Arc::new(AsSlave::new(
        log,
        Arc::clone(&epochs),
        master_rx,
        settings(),
    ));
    slave.set_broker_id(id);
    tokio::spawn(Arc::clone(&slave).run(shutdown.clone()));
    Node {
        store,
        epochs,
        acks,
        serving,
        master,
        slave,
        ha_addr,
    }
}

impl Node {
    fn lead(&self, epoch: i32) {
        self.master.send_replace(None);
        let end = self.store.max_offset();
        assert!(self.epochs.update(|c| c.begin(epoch, end)).unwrap());
        self.serving.send_replace(true);
    }

    fn follow(&self, master: &Node) {
        self.serving.send_replace(false);
        self.master.send_replace(Some(master.ha_addr.clone()));
    }

    fn write(&self, n: usize) -> i64 {
        let mut end = 0;
        for i in 0..n {
            end = self
                .store
                .append(&[MessageToStore {
                    topic: "AS".into(),
                    queue_id: 0,
                    flag: 0,
                    sys_flag: 0,
                    born_timestamp: 1,
                    born_host: "127.0.0.1:4000".parse().unwrap(),
                    store_host: "127.0.0.1:10911".parse().unwrap(),
                    reconsume_times: 0,
                    prepared_transaction_offset: 0,
                    body: Bytes::from(vec![u8::try_from(i % 250).unwrap(); 700]),
                    properties: format!("KEYS\u{1}k{i}\u{2}"),
                }])
                .unwrap()
                .end_offset;
        }
        end
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

fn log_bytes(store: &MessageStore) -> Vec<u8> {
    let (mut out, mut at) = (Vec::new(), 0);
    while let Some(frame) = store.read_from(at, 1 << 20) {
        out.extend_from_slice(&frame);
        at += i64::try_from(frame.len()).unwrap();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_a_failover_the_old_master_cuts_its_unreplicated_tail_and_follows() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let shutdown = Shutdown::new();
    let a = node(da.path(), 1, &shutdown).await;
    let b = node(db.path(), 2, &shutdown).await;

    // Epoch 1: A leads, B follows and is in the quorum; a write waits for B.
    a.lead(1);
    b.follow(&a);
    a.acks.set_quorum(BTreeSet::from([2]));
    let end = a.write(100);
    assert_eq!(
        a.acks.wait_all(end, Duration::from_secs(10)).await,
        ReplicaStatus::Ok
    );
    assert_eq!(a.acks.broker_acks().get(&2), Some(&end));
    until("B has the epoch", || b.epochs.last_epoch() == 1).await;

    // B is cut off; A writes on alone (these writes were never acknowledged to anyone).
    b.master.send_replace(None);
    until("B disconnected", || a.acks.connected() == 0).await;
    let unreplicated_end = a.write(50);
    assert!(unreplicated_end > end);

    // Epoch 2: B leads from where it is; A follows it and must drop its tail.
    b.lead(2);
    let b_end = b.write(30);
    a.follow(&b);
    until("A caught up with B", || a.store.max_offset() == b_end).await;
    assert_eq!(log_bytes(&a.store), log_bytes(&b.store));
    assert_eq!(a.epochs.snapshot().entries(), &[(1, 0), (2, end)]);
    assert!(a.slave.status().connected);
    shutdown.trigger();
}
