//! What the master knows of its slaves: one entry per HA connection with the offset the
//! slave last reported, and the best of them, which SYNC_MASTER sends wait on
//! (group commit: one report releases every send it covers).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use apogee_protocol::body::ha::HaConnectionInfo;

use crate::waiters::AckWaiters;

/// The outcome of waiting for a slave (the send is stored whatever it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaStatus {
    /// A slave has the bytes.
    Ok,
    /// No slave is connected within `haSlaveFallbehindMax` (SLAVE_NOT_AVAILABLE, 11).
    SlaveNotAvailable,
    /// No slave reported the bytes within `slaveTimeout` (FLUSH_SLAVE_TIMEOUT, 12).
    Timeout,
}

#[derive(Debug, Clone)]
struct Peer {
    addr: String,
    /// The slave's controller broker id (AutoSwitch HA names it; classic HA does not).
    broker_id: Option<i64>,
    /// Last reported offset, −1 before the first report.
    ack: i64,
    /// Next offset to send, −1 before the first report.
    transfer_from: i64,
    bytes_per_second: i64,
    /// (end offset, send time) of frames sent and not yet acknowledged, oldest first.
    unacked: VecDeque<(i64, std::time::Instant)>,
}

/// Frames remembered per slave for its time lag; older ones are dropped (the lag then reads
/// from the oldest kept).
const UNACKED_MAX: usize = 4096;

/// The slaves of one master.
#[derive(Debug)]
pub struct Acks {
    peers: Mutex<HashMap<u64, Peer>>,
    best: AckWaiters,
    /// The broker ids every acknowledged write must reach (controller mode's
    /// `allAckInSyncStateSet`: the SyncStateSet less the master, plus a proposed member).
    quorum: Mutex<BTreeSet<i64>>,
    /// The least any quorum member has (`i64::MAX` for an empty quorum).
    all: AckWaiters,
    /// Told that least whenever it is published (the store's dispatch limit).
    on_quorum: Mutex<Option<Hook>>,
    next_id: AtomicU64,
}

/// Called with what every quorum member has, each time acknowledgements move.
pub type QuorumHook = std::sync::Arc<dyn Fn(i64) + Send + Sync>;

struct Hook(QuorumHook);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QuorumHook")
    }
}

impl Default for Acks {
    fn default() -> Self {
        let all = AckWaiters::default();
        all.publish(i64::MAX);
        Self {
            peers: Mutex::new(HashMap::new()),
            best: AckWaiters::default(),
            quorum: Mutex::new(BTreeSet::new()),
            all,
            on_quorum: Mutex::new(None),
            next_id: AtomicU64::new(1),
        }
    }
}

impl Acks {
    fn peers(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Peer>> {
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slave connected; returns its id.
    pub(crate) fn join(&self, addr: String) -> u64 {
        self.join_broker(addr, None)
    }

    /// A slave that named its broker id connected; returns the connection's id.
    pub(crate) fn join_broker(&self, addr: String, broker_id: Option<i64>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.peers().insert(
            id,
            Peer {
                addr,
                broker_id,
                ack: -1,
                transfer_from: -1,
                bytes_per_second: 0,
                unacked: VecDeque::new(),
            },
        );
        id
    }

    /// A slave went away.
    pub(crate) fn leave(&self, id: u64) {
        let mut peers = self.peers();
        peers.remove(&id);
        self.publish(&peers);
    }

    /// A slave reported its end.
    pub(crate) fn report(&self, id: u64, ack: i64) {
        let mut peers = self.peers();
        if let Some(peer) = peers.get_mut(&id) {
            peer.ack = ack;
            while peer.unacked.front().is_some_and(|(end, _)| *end <= ack) {
                peer.unacked.pop_front();
            }
        }
        self.publish(&peers);
    }

    /// The writer's progress, for runtime info.
    pub(crate) fn sending(&self, id: u64, from: i64, bytes_per_second: Option<i64>) {
        if let Some(peer) = self.peers().get_mut(&id) {
            if from > peer.transfer_from && peer.transfer_from >= 0 {
                if peer.unacked.len() >= UNACKED_MAX {
                    peer.unacked.pop_back();
                }
                peer.unacked.push_back((from, std::time::Instant::now()));
            }
            peer.transfer_from = from;
            if let Some(rate) = bytes_per_second {
                peer.bytes_per_second = rate;
            }
        }
    }

    fn publish(&self, peers: &HashMap<u64, Peer>) {
        let best = peers.values().map(|p| p.ack).max().unwrap_or(-1);
        self.best.publish(best);
        let quorum = self.quorum.lock().unwrap_or_else(PoisonError::into_inner);
        let acks = broker_acks(peers);
        let least = quorum
            .iter()
            .map(|id| acks.get(id).copied().unwrap_or(-1))
            .min()
            .unwrap_or(i64::MAX);
        self.all.publish(least);
        if let Some(hook) = self
            .on_quorum
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            (hook.0)(least);
        }
    }

    /// Installs (or removes) the hook told what every quorum member has; it is called at
    /// once with the current value.
    pub fn on_quorum(&self, hook: Option<QuorumHook>) {
        let peers = self.peers();
        *self
            .on_quorum
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = hook.map(Hook);
        self.publish(&peers);
    }

    /// Sets the broker ids [`wait_all`](Self::wait_all) waits for.
    pub fn set_quorum(&self, ids: BTreeSet<i64>) {
        let peers = self.peers();
        *self.quorum.lock().unwrap_or_else(PoisonError::into_inner) = ids;
        self.publish(&peers);
    }

    /// The best offset each named slave has reported, by broker id.
    pub fn broker_acks(&self) -> BTreeMap<i64, i64> {
        broker_acks(&self.peers())
    }

    /// The least offset every quorum member has (`i64::MAX` with no quorum).
    pub fn quorum_ack(&self) -> i64 {
        self.all.best()
    }

    /// Waits until every quorum member has everything below `end`.
    pub async fn wait_all(&self, end: i64, timeout: Duration) -> ReplicaStatus {
        if self.all.best() >= end {
            return ReplicaStatus::Ok;
        }
        match tokio::time::timeout(timeout, self.all.reached(end)).await {
            Ok(()) => ReplicaStatus::Ok,
            Err(_) => ReplicaStatus::Timeout,
        }
    }

    /// Connected slaves.
    pub fn connected(&self) -> usize {
        self.peers().len()
    }

    /// The furthest offset any connected slave has (−1 when none has reported).
    pub fn best_ack(&self) -> i64 {
        self.best.best()
    }

    /// Waits until a slave has everything below `end`. `master_end` is the master's
    /// CommitLog end: with no slave connected, or none within `fallbehind_max` bytes of it,
    /// the answer is immediate (a dead slave does not hold sends for the timeout).
    pub async fn wait(
        &self,
        end: i64,
        master_end: i64,
        fallbehind_max: i64,
        timeout: Duration,
    ) -> ReplicaStatus {
        let now = self.best.best();
        if now >= end {
            return ReplicaStatus::Ok;
        }
        if self.connected() == 0 || now < 0 || master_end - now >= fallbehind_max {
            return ReplicaStatus::SlaveNotAvailable;
        }
        match tokio::time::timeout(timeout, self.best.reached(end)).await {
            Ok(()) => ReplicaStatus::Ok,
            Err(_) => ReplicaStatus::Timeout,
        }
    }

    /// How long the most lagging slave has had bytes sent and not acknowledged (ms).
    pub fn lag_ms(&self) -> i64 {
        self.peers()
            .values()
            .filter_map(|p| p.unacked.front().map(|(_, at)| at.elapsed().as_millis()))
            .max()
            .map_or(0, |ms| i64::try_from(ms).unwrap_or(i64::MAX))
    }

    /// One entry per connection, as GET_BROKER_HA_STATUS shows them.
    pub fn runtime_info(&self, master_end: i64, fallbehind_max: i64) -> Vec<HaConnectionInfo> {
        let mut out: Vec<HaConnectionInfo> = self
            .peers()
            .values()
            .map(|p| {
                let diff = if p.ack < 0 {
                    master_end
                } else {
                    master_end - p.ack
                };
                HaConnectionInfo {
                    addr: p.addr.clone(),
                    slave_ack_offset: p.ack,
                    diff,
                    in_sync: p.ack >= 0 && diff < fallbehind_max,
                    transferred_byte_in_second: p.bytes_per_second,
                    transfer_from_where: p.transfer_from,
                }
            })
            .collect();
        out.sort_by(|a, b| a.addr.cmp(&b.addr));
        out
    }
}

fn broker_acks(peers: &HashMap<u64, Peer>) -> BTreeMap<i64, i64> {
    let mut out = BTreeMap::new();
    for p in peers.values() {
        if let Some(id) = p.broker_id {
            let e = out.entry(id).or_insert(-1);
            *e = (*e).max(p.ack);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn given_a_quorum_a_write_waits_for_its_slowest_member() {
        let acks = std::sync::Arc::new(Acks::default());
        assert_eq!(
            acks.wait_all(10, Duration::from_secs(1)).await,
            ReplicaStatus::Ok
        );
        let (a, b) = (
            acks.join_broker("a".into(), Some(2)),
            acks.join_broker("b".into(), Some(3)),
        );
        acks.set_quorum(BTreeSet::from([2, 3]));
        acks.report(a, 50);
        let waiting = {
            let acks = std::sync::Arc::clone(&acks);
            tokio::spawn(async move { acks.wait_all(40, Duration::from_secs(5)).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        acks.report(b, 40);
        assert_eq!(waiting.await.expect("joined"), ReplicaStatus::Ok);
        assert_eq!(acks.quorum_ack(), 40);
        acks.leave(b);
        assert_eq!(
            acks.wait_all(45, Duration::from_secs(1)).await,
            ReplicaStatus::Timeout
        );
    }

    #[tokio::test]
    async fn given_no_slave_should_answer_not_available_at_once() {
        let acks = Acks::default();
        let status = acks.wait(10, 10, 1 << 20, Duration::from_secs(60)).await;
        assert_eq!(status, ReplicaStatus::SlaveNotAvailable);
    }

    #[tokio::test]
    async fn given_a_slave_far_behind_should_answer_not_available() {
        let acks = Acks::default();
        let id = acks.join("s".into());
        acks.report(id, 0);
        let status = acks.wait(2000, 2000, 1000, Duration::from_secs(60)).await;
        assert_eq!(status, ReplicaStatus::SlaveNotAvailable);
    }

    #[tokio::test]
    async fn given_one_report_should_release_every_send_it_covers() {
        let acks = std::sync::Arc::new(Acks::default());
        let id = acks.join("s".into());
        acks.report(id, 0);
        let waits: Vec<_> = (1..=50)
            .map(|end| {
                let acks = std::sync::Arc::clone(&acks);
                tokio::spawn(async move { acks.wait(end, 50, 1000, Duration::from_secs(30)).await })
            })
            .collect();
        tokio::task::yield_now().await;
        acks.report(id, 50);
        for w in waits {
            assert_eq!(w.await.expect("joined"), ReplicaStatus::Ok);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn given_a_silent_slave_should_time_out() {
        let acks = Acks::default();
        let id = acks.join("s".into());
        acks.report(id, 5);
        let status = acks.wait(10, 10, 1000, Duration::from_secs(3)).await;
        assert_eq!(status, ReplicaStatus::Timeout);
        acks.leave(id);
        assert_eq!(acks.best_ack(), -1);
    }
}
