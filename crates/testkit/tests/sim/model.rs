//! The model of one broker set under the controller, stepped in ticks: brokers with their logs
//! (message ids by offset) and epoch files, the controller's replicated state decided by the
//! real `apogee_controller::decide` rules, each controller node's own heartbeat table, and the
//! broker side of controller mode as `apogee_broker`'s link does it (take the role the
//! controller names; follow a master after cutting back to the common epoch point, with the
//! real `apogee_replication::common_point`; keep the SyncStateSet, growing it only with
//! members that already hold everything).

use std::collections::{BTreeMap, BTreeSet};

use apogee_controller::decide::{self, Heartbeat, Liveness, Trigger};
use apogee_controller::{ControllerState, Event};
use apogee_replication::EpochCache;

pub const SET: &str = "broker-a";
/// Ticks without a heartbeat after which a controller node counts a broker dead.
pub const TIMEOUT: u64 = 3;
/// Ticks a new controller leader waits for heartbeats before judging masters dead.
pub const GRACE: u64 = 3;
/// Ticks a SyncStateSet member may stay behind before the master drops it.
pub const NOT_CATCHUP: u64 = 5;
/// Entries a slave copies per tick.
pub const COPY: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Fenced,
    Master,
    Slave,
}

#[derive(Debug, Clone)]
pub struct Broker {
    pub id: i64,
    pub up: bool,
    /// Cut off from the controllers / from the other brokers.
    pub cut_from_controllers: bool,
    pub cut_from_brokers: bool,
    pub log: Vec<u64>,
    pub epochs: EpochCache,
    pub role: Role,
    pub master_epoch: i32,
    pub registered: bool,
    pub following: Option<i64>,
    pub aligned: bool,
    /// On a master: the SyncStateSet it holds, what each slave acknowledged, when each
    /// slave last caught up, and its writes waiting for acknowledgement (id, end).
    pub sss: (BTreeSet<i64>, i32),
    pub acks: BTreeMap<i64, usize>,
    pub caught: BTreeMap<i64, u64>,
    pub waiting: Vec<(u64, usize)>,
}

impl Broker {
    pub fn new(id: i64) -> Self {
        Self {
            id,
            up: true,
            cut_from_controllers: false,
            cut_from_brokers: false,
            log: Vec::new(),
            epochs: EpochCache::default(),
            role: Role::Fenced,
            master_epoch: 0,
            registered: false,
            following: None,
            aligned: false,
            sss: (BTreeSet::new(), 0),
            acks: BTreeMap::new(),
            caught: BTreeMap::new(),
            waiting: Vec::new(),
        }
    }

    /// A crash: the process state goes, the files (log, epochs, id) stay.
    pub fn crash(&mut self) {
        let keep = (self.log.clone(), self.epochs.clone(), self.registered);
        *self = Self::new(self.id);
        (self.log, self.epochs, self.registered) = keep;
        self.up = false;
    }
}

/// One controller node: up or not, and its own heartbeat table (id → tick, epoch, end).
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub up: bool,
    pub live: BTreeMap<i64, (u64, i32, i64)>,
}

pub struct LiveAt<'a>(&'a Node, u64);

/// A node's table as seen at `tick`.
pub fn live_at(node: &Node, tick: u64) -> LiveAt<'_> {
    LiveAt(node, tick)
}

impl Liveness for LiveAt<'_> {
    fn heartbeat(&self, _: &str, id: i64) -> Option<Heartbeat> {
        self.0
            .live
            .get(&id)
            .filter(|(at, _, _)| self.1.saturating_sub(*at) <= TIMEOUT)
            .map(|(_, epoch, max)| Heartbeat {
                epoch: *epoch,
                max_offset: *max,
                election_priority: 0,
            })
    }
}

/// The whole simulated system.
pub struct World {
    pub tick: u64,
    pub state: ControllerState,
    pub nodes: Vec<Node>,
    pub leader: Option<usize>,
    pub leader_since: u64,
    pub brokers: Vec<Broker>,
    pub next_message: u64,
    /// Acknowledged messages with the offset they were written at (logs that hold a message
    /// hold it there: followers copy the master's log byte for byte).
    pub acked: BTreeMap<u64, usize>,
    /// Who became master under each epoch.
    pub masters: BTreeMap<i32, i64>,
    /// Heartbeats on their way: (delivery tick, node, broker id, (epoch, max offset)).
    pub in_flight: Vec<(u64, usize, i64, (i32, i64))>,
    pub violations: Vec<String>,
    /// A deliberately wrong master that adds every connected slave to the SyncStateSet,
    /// caught up or not (the checker must catch what that loses).
    pub careless_growth: bool,
}

impl World {
    pub fn new(brokers: usize, nodes: usize) -> Self {
        Self {
            tick: 0,
            state: ControllerState::default(),
            nodes: vec![
                Node {
                    up: true,
                    ..Node::default()
                };
                nodes
            ],
            leader: None,
            leader_since: 0,
            brokers: (1..=brokers).map(|i| Broker::new(i as i64)).collect(),
            next_message: 0,
            acked: BTreeMap::new(),
            masters: BTreeMap::new(),
            in_flight: Vec::new(),
            violations: Vec::new(),
            careless_growth: false,
        }
    }

    fn commit(&mut self, event: Event) {
        self.state.apply(&event);
    }

    /// A majority of nodes up elects the lowest-numbered one (raft's own election is
    /// openraft's, tested by its suite; what matters here is that the leader changes).
    pub fn elect_controller_leader(&mut self) {
        let up: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].up)
            .collect();
        let leader = (up.len() * 2 > self.nodes.len()).then(|| up[0]);
        if leader != self.leader {
            self.leader = leader;
            self.leader_since = self.tick;
        }
    }

    /// Every live broker's heartbeat to every controller node: lost when `drop` says so,
    /// held back `delay()` ticks otherwise (a late one overwrites what came since, with the
    /// epoch and offset of when it was sent, as a late packet would).
    pub fn heartbeats(&mut self, drop: &mut impl FnMut() -> bool, delay: &mut impl FnMut() -> u64) {
        let tick = self.tick;
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|(at, ..)| *at <= tick);
        self.in_flight = later;
        for (_, n, id, (epoch, max)) in due {
            if self.nodes[n].up {
                self.nodes[n].live.insert(id, (tick, epoch, max));
            }
        }
        for b in self
            .brokers
            .iter()
            .filter(|b| b.up && b.registered && !b.cut_from_controllers)
        {
            let beat = (b.epochs.last_epoch(), b.log.len() as i64);
            for (n, node) in self.nodes.iter_mut().enumerate().filter(|(_, n)| n.up) {
                match (drop(), delay()) {
                    (true, _) => {}
                    (false, 0) => {
                        node.live.insert(b.id, (tick, beat.0, beat.1));
                    }
                    (false, d) => self.in_flight.push((tick + d, n, b.id, beat)),
                }
            }
        }
    }

    /// The leader's scan: a set whose master is not alive while a replica is gets an election.
    pub fn scan(&mut self) {
        let Some(l) = self.leader else { return };
        if self.tick - self.leader_since < GRACE {
            return;
        }
        let Some(set) = self.state.broker_set(SET) else {
            return;
        };
        let live = LiveAt(&self.nodes[l], self.tick);
        let alive = |id: &i64| live.heartbeat(SET, *id).is_some();
        if set.master.as_ref().is_some_and(alive) || !set.replicas.keys().any(alive) {
            return;
        }
        let had_master = set.master.is_some();
        match decide::elect_master(&self.state, SET, Trigger::Controller, &live, false) {
            Ok(e) => self.commit(e.event),
            Err((_, Some(event))) if had_master => self.commit(event),
            Err(_) => {}
        }
    }

    /// A broker asks the controller who is master and acts on it.
    pub fn poll(&mut self, i: usize) {
        let Some(l) = self.leader else { return };
        let id = self.brokers[i].id;
        if !self.brokers[i].registered {
            let code = format!("b{id}");
            match decide::apply_broker_id(&self.state, "c", SET, id, &code) {
                Ok(Some(e)) => self.commit(e),
                Ok(None) => {}
                Err(_) => return,
            }
            self.brokers[i].registered = true;
        }
        let Some(set) = self.state.broker_set(SET).cloned() else {
            return;
        };
        let Some(master) = set.master else {
            let live = LiveAt(&self.nodes[l], self.tick);
            if let Ok(e) = decide::elect_master(&self.state, SET, Trigger::Broker(id), &live, false)
            {
                self.commit(e.event);
            }
            return;
        };
        let b = &mut self.brokers[i];
        let newer = set.master_epoch > b.master_epoch || b.role == Role::Fenced;
        if newer && master == id {
            let (epoch, end) = (set.master_epoch, b.log.len() as i64);
            if b.epochs.last_epoch() > epoch {
                return;
            }
            if b.epochs.last_epoch() < epoch {
                b.epochs.begin(epoch, end);
            }
            if let Some(other) = self.masters.insert(epoch, id).filter(|o| *o != id) {
                self.violations
                    .push(format!("epoch {epoch}: masters {other} and {id}"));
            }
            let b = &mut self.brokers[i];
            (b.role, b.master_epoch, b.following) = (Role::Master, epoch, None);
            b.sss = (set.sync_state_set.clone(), set.sync_state_set_epoch);
            (b.acks, b.caught, b.waiting) = Default::default();
        } else if newer {
            (b.role, b.master_epoch) = (Role::Slave, set.master_epoch);
            (b.following, b.aligned, b.waiting) = (Some(master), false, Vec::new());
        } else if master == id && set.sync_state_set_epoch > b.sss.1 {
            b.sss = (set.sync_state_set.clone(), set.sync_state_set_epoch);
        }
    }
}
