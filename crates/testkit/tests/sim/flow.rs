//! Data in the model: client writes on the master, copying to slaves (cut back to the common
//! epoch point first), acknowledgements (every SyncStateSet member has the write: RocketMQ's
//! allAckInSyncStateSet), and the master's SyncStateSet upkeep.

use std::collections::BTreeSet;

use apogee_controller::decide;
use apogee_replication::common_point;

use super::model::{COPY, NOT_CATCHUP, Role, SET, World};

impl World {
    fn master_index(&self) -> Option<usize> {
        self.brokers
            .iter()
            .position(|b| b.up && b.role == Role::Master)
    }

    /// A client write on each broker that thinks it is master.
    pub fn write(&mut self) {
        for b in self
            .brokers
            .iter_mut()
            .filter(|b| b.up && b.role == Role::Master)
        {
            self.next_message += 1;
            b.log.push(self.next_message);
            b.waiting.push((self.next_message, b.log.len()));
        }
    }

    fn link_up(&self, a: usize, b: usize) -> bool {
        let (x, y) = (&self.brokers[a], &self.brokers[b]);
        x.up && y.up && !x.cut_from_brokers && !y.cut_from_brokers
    }

    /// Each slave copies from its master: on (re)connection it cuts back to the point its
    /// epochs and the master's share, then takes a few entries, recording new epochs.
    pub fn replicate(&mut self) {
        for i in 0..self.brokers.len() {
            let Some(m) = self.brokers[i]
                .following
                .and_then(|id| self.brokers.iter().position(|b| b.id == id))
            else {
                continue;
            };
            if !self.link_up(i, m) || self.brokers[m].role != Role::Master {
                self.brokers[i].aligned = false;
                continue;
            }
            let from = self.brokers[i].log.len();
            let master = &self.brokers[m];
            let (master_epochs, master_end) = (master.epochs.clone(), master.log.len());
            let upto = master_end.min(from + COPY);
            let tail: Vec<u64> = master
                .log
                .get(from..upto)
                .map(<[u64]>::to_vec)
                .unwrap_or_default();
            let s = &mut self.brokers[i];
            if !s.aligned {
                let end = s.log.len() as i64;
                let Some(point) =
                    common_point(&s.epochs, end, master_epochs.entries(), master_end as i64)
                else {
                    continue;
                };
                s.log.truncate(point as usize);
                s.epochs.cut(point);
                s.aligned = true;
                // Cut back: copy from the new end next tick.
                let (id, ack) = (s.id, s.log.len());
                self.brokers[m].acks.insert(id, ack);
                continue;
            }
            // The new epoch is recorded from the first frame, data or heartbeat.
            if let Some((epoch, start, _)) = master_epochs.span_at(s.log.len() as i64)
                && epoch > s.epochs.last_epoch()
            {
                s.epochs.begin(epoch, start);
            }
            for entry in tail {
                let at = s.log.len() as i64;
                if let Some((epoch, start, _)) = master_epochs.span_at(at)
                    && epoch > s.epochs.last_epoch()
                {
                    s.epochs.begin(epoch, start);
                }
                s.log.push(entry);
            }
            let (id, ack) = (s.id, s.log.len());
            self.brokers[m].acks.insert(id, ack);
        }
    }

    /// A master's waiting writes are acknowledged once every other member of its
    /// SyncStateSet has them.
    pub fn acknowledge(&mut self) {
        for b in self
            .brokers
            .iter_mut()
            .filter(|b| b.up && b.role == Role::Master)
        {
            let quorum: Vec<i64> = b.sss.0.iter().copied().filter(|id| *id != b.id).collect();
            let acks = &b.acks;
            let mut acked = Vec::new();
            b.waiting.retain(|(msg, end)| {
                let done = quorum
                    .iter()
                    .all(|id| acks.get(id).is_some_and(|a| a >= end));
                if done {
                    acked.push((*msg, end - 1));
                }
                !done
            });
            self.acked.extend(acked);
        }
    }

    /// The master drops members that stayed behind and adds slaves holding everything, and
    /// has the controller record the change.
    pub fn keep_sync_state_set(&mut self) {
        let (Some(m), Some(_)) = (self.master_index(), self.leader) else {
            return;
        };
        if self.brokers[m].cut_from_controllers {
            return;
        }
        let tick = self.tick;
        let connected: Vec<usize> = (0..self.brokers.len())
            .filter(|i| {
                self.brokers[*i].following == Some(self.brokers[m].id)
                    && self.link_up(*i, m)
                    && self.brokers[*i].aligned
            })
            .collect();
        let end = self.brokers[m].log.len();
        let live_ids: BTreeSet<i64> = connected.iter().map(|i| self.brokers[*i].id).collect();
        let b = &mut self.brokers[m];
        b.acks.retain(|id, _| live_ids.contains(id));
        b.caught.retain(|id, _| live_ids.contains(id));
        for (id, ack) in &b.acks {
            if *ack >= end || !b.caught.contains_key(id) && b.sss.0.contains(id) {
                b.caught.insert(*id, tick);
            }
        }
        let mut proposed: BTreeSet<i64> = b
            .sss
            .0
            .iter()
            .copied()
            .filter(|id| *id == b.id || b.caught.get(id).is_some_and(|t| tick - t <= NOT_CATCHUP))
            .collect();
        proposed.insert(b.id);
        let careless = self.careless_growth;
        proposed.extend(
            b.acks
                .iter()
                .filter(|(_, a)| careless || **a >= end)
                .map(|(id, _)| *id),
        );
        if proposed == b.sss.0 {
            return;
        }
        let (id, epoch, held) = (b.id, b.master_epoch, b.sss.1);
        let l = self.leader.expect("checked");
        let live = super::model::live_at(&self.nodes[l], tick);
        if let Ok(event) =
            decide::alter_sync_state_set(&self.state, SET, (id, epoch), (&proposed, held), &live)
        {
            self.state.apply(&event);
            let set = self.state.broker_set(SET).expect("known");
            self.brokers[m].sss = (set.sync_state_set.clone(), set.sync_state_set_epoch);
        }
    }

    /// What must hold at every step.
    pub fn check(&mut self) {
        let Some(set) = self.state.broker_set(SET) else {
            return;
        };
        if !set
            .sync_state_set
            .iter()
            .all(|id| set.replicas.contains_key(id))
        {
            self.violations.push(format!(
                "SyncStateSet {:?} not within the replicas",
                set.sync_state_set
            ));
        }
        for id in &set.sync_state_set {
            let Some(b) = self.brokers.iter().find(|b| b.id == *id) else {
                continue;
            };
            if let Some((lost, _)) = self
                .acked
                .iter()
                .find(|(m, at)| b.log.get(**at) != Some(*m))
            {
                self.violations.push(format!(
                    "tick {}: acknowledged message {lost} missing from SyncStateSet member {id}",
                    self.tick
                ));
                return;
            }
        }
    }
}
