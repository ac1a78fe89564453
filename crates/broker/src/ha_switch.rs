//! Controller mode's side of replication (docs/failover.md): the role changes the controller
//! orders, the epoch file, and the SyncStateSet a master's acknowledged writes wait for.
//!
//! ```text
//! controller ─(elected)─► become_master: stop following, epoch entry, dispatch caught up,
//!                                        SYNC_MASTER, id 0, serve slaves
//!            ─(other master)─► become_slave: no writes, stop serving, follow its HA address
//!                                        (the AutoSwitch handshake cuts a divergent tail)
//! ```

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apogee_protocol::body::ha::HaClientRuntimeInfo;
use apogee_replication::SharedEpochs;
use apogee_replication::autoswitch::AsSlave;
use tokio::sync::watch;

use crate::config::{BrokerRole, ControllerMode};
use crate::ha::Replication;

/// A broker id no broker has (ids start at 1): a demoted master's quorum.
const NO_BROKER: i64 = -1;

/// How long a new master waits for its dispatch to catch up before taking writes.
const DISPATCH_CATCH_UP_MAX: Duration = Duration::from_secs(30);

/// Controller mode's replication state.
pub struct Switching {
    slave: Arc<AsSlave>,
    serving: watch::Sender<bool>,
    epochs: Arc<SharedEpochs>,
    all_ack: bool,
    fenced: AtomicBool,
    /// The newest master epoch this broker acted on.
    master_epoch: AtomicI32,
    /// This broker's controller-assigned id (−1 until it has one).
    controller_id: AtomicI64,
    /// The SyncStateSet the controller last confirmed, with its epoch (on a master).
    sync_state_set: Mutex<(BTreeSet<i64>, i32)>,
    /// NOTIFY_BROKER_ROLE_CHANGED: ask the controller now.
    poke: tokio::sync::Notify,
}

impl Switching {
    pub(crate) fn new(
        slave: Arc<AsSlave>,
        serving: watch::Sender<bool>,
        epochs: Arc<SharedEpochs>,
        mode: &ControllerMode,
    ) -> Self {
        Self {
            slave,
            serving,
            epochs,
            all_ack: mode.all_ack_in_sync_state_set,
            fenced: AtomicBool::new(true),
            master_epoch: AtomicI32::new(0),
            controller_id: AtomicI64::new(-1),
            sync_state_set: Mutex::new((BTreeSet::new(), 0)),
            poke: tokio::sync::Notify::new(),
        }
    }

    /// The controller says the role changed: the link asks it at once.
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    /// Resolves at the next [`poke`](Self::poke).
    pub async fn poked(&self) {
        self.poke.notified().await;
    }

    pub fn fenced(&self) -> bool {
        self.fenced.load(Ordering::Acquire)
    }

    pub fn all_ack(&self) -> bool {
        self.all_ack
    }

    pub fn master_epoch(&self) -> i32 {
        self.master_epoch.load(Ordering::Acquire)
    }

    pub fn controller_id(&self) -> i64 {
        self.controller_id.load(Ordering::Acquire)
    }

    /// Records the id the controller gave this broker (its AutoSwitch handshake names it).
    pub fn set_controller_id(&self, id: i64) {
        self.controller_id.store(id, Ordering::Release);
        self.slave.set_broker_id(id);
    }

    pub fn epochs(&self) -> &Arc<SharedEpochs> {
        &self.epochs
    }

    pub fn sync_state_set(&self) -> (BTreeSet<i64>, i32) {
        self.sync_state_set
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What a slave last heard as its master's confirm offset.
    pub fn slave_confirm_offset(&self) -> i64 {
        self.slave.confirm_offset()
    }

    pub(crate) fn runtime_keys(&self) -> Vec<(&'static str, String)> {
        let (sss, sss_epoch) = self.sync_state_set();
        vec![
            ("controllerMode", "true".to_owned()),
            ("masterEpoch", self.master_epoch().to_string()),
            ("controllerBrokerId", self.controller_id().to_string()),
            ("syncStateSet", format!("{sss:?}")),
            ("syncStateSetEpoch", sss_epoch.to_string()),
        ]
    }

    pub(crate) fn client_runtime_info(&self, max_offset: i64) -> HaClientRuntimeInfo {
        let s = self.slave.status();
        HaClientRuntimeInfo {
            master_addr: s.master_addr.unwrap_or_default(),
            transferred_byte_in_second: s.bytes_per_second,
            max_offset,
            last_read_timestamp: s.last_read_ms,
            last_write_timestamp: s.last_report_ms,
            master_flush_offset: self.slave.confirm_offset(),
        }
    }
}

impl Replication {
    fn switching_or_err(&self) -> Result<&Switching, String> {
        self.switching()
            .ok_or_else(|| "not in controller mode".to_owned())
    }

    fn set_role(&self, role: BrokerRole, registered_id: i64) {
        self.0
            .role
            .store(super::ha::role_code(role), Ordering::Release);
        self.0.registered_id.store(registered_id, Ordering::Release);
        self.0.role_changes.send_modify(|n| *n += 1);
    }

    /// The controller made this broker master under `epoch`: it stops following, records
    /// where the epoch starts, lets dispatch catch up with everything it holds (so every byte
    /// an old master had acknowledged is consumable), and takes writes as SYNC_MASTER,
    /// registered as id 0.
    pub async fn become_master(
        &self,
        epoch: i32,
        sync_state_set: (BTreeSet<i64>, i32),
    ) -> Result<(), String> {
        let sw = self.switching_or_err()?;
        if epoch < sw.master_epoch() {
            return Err(format!(
                "epoch {epoch} is older than {} already acted on",
                sw.master_epoch()
            ));
        }
        self.0.master_ha.send_replace(None);
        self.0.master_addr.send_replace(None);
        let end = self.0.store.max_offset();
        let recorded = sw
            .epochs
            .update(|c| c.last_epoch() >= epoch || c.begin(epoch, end))
            .map_err(|e| format!("saving the epoch file: {e}"))?;
        if !recorded {
            return Err(format!("epoch {epoch} is older than the epoch file's"));
        }
        // Everything this broker holds becomes consumable (as a slave it stopped at its old
        // master's confirm offset).
        self.0.store.set_dispatch_limit(i64::MAX);
        let deadline = tokio::time::Instant::now() + DISPATCH_CATCH_UP_MAX;
        while self.0.store.dispatched() < end && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.0.store.restore_queue_offsets();
        if sw.all_ack {
            // Consumers see only what every in-sync replica has (RocketMQ's confirm offset with
            // readUnCommitted off): their offsets never pass what a new master would hold.
            let store = Arc::clone(&self.0.store);
            self.0
                .acks
                .on_quorum(Some(Arc::new(move |least| store.set_dispatch_limit(least))));
        }
        sw.master_epoch.store(epoch, Ordering::Release);
        self.adopt_sync_state_set(sync_state_set.0, sync_state_set.1);
        sw.fenced.store(false, Ordering::Release);
        self.set_role(BrokerRole::SyncMaster, 0);
        sw.serving.send_replace(true);
        tracing::info!(epoch, offset = end, "this broker is master now");
        Ok(())
    }

    /// The controller named another master under `epoch`: no more writes here, slaves are let
    /// go, and the broker follows `master_addr` (its HA address comes with
    /// [`follow_ha`](Self::follow_ha)).
    pub fn become_slave(&self, epoch: i32, master_addr: String) -> Result<(), String> {
        let sw = self.switching_or_err()?;
        if epoch < sw.master_epoch() {
            return Err(format!(
                "epoch {epoch} is older than {} already acted on",
                sw.master_epoch()
            ));
        }
        self.set_role(BrokerRole::Slave, sw.controller_id());
        sw.serving.send_replace(false);
        // The dispatch limit stays where it is: a tail this broker wrote as master and no
        // in-sync replica has must not reach consumers before the new master's handshake cuts
        // it; from then on the master's confirm offset in each frame sets the limit.
        self.0.acks.on_quorum(None);
        sw.master_epoch.store(epoch, Ordering::Release);
        sw.fenced.store(false, Ordering::Release);
        // Writes still waiting must not be released as acknowledged: they wait for a member
        // that never answers, and time out.
        self.0.acks.set_quorum(BTreeSet::from([NO_BROKER]));
        let changed = self.0.master_addr.send_if_modified(|v| {
            let changed = v.as_deref() != Some(master_addr.as_str());
            *v = Some(master_addr.clone());
            changed
        });
        if changed {
            tracing::info!(epoch, master = %master_addr, "this broker is a slave now");
        }
        Ok(())
    }

    /// The master's HA address to follow (`None` stops following).
    pub fn follow_ha(&self, ha_addr: Option<String>) {
        self.0.master_ha.send_if_modified(|v| {
            let changed = *v != ha_addr;
            *v = ha_addr.clone();
            changed
        });
    }

    /// A SyncStateSet the controller confirmed; kept when its epoch is newer. Acknowledged
    /// writes then wait for its members (all but this broker).
    pub fn adopt_sync_state_set(&self, ids: BTreeSet<i64>, epoch: i32) {
        let Some(sw) = self.switching() else { return };
        let me = sw.controller_id();
        {
            let mut held = sw
                .sync_state_set
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if epoch < held.1 {
                return;
            }
            *held = (ids.clone(), epoch);
        }
        self.0
            .acks
            .set_quorum(ids.into_iter().filter(|id| *id != me).collect());
    }

    /// While a new SyncStateSet is proposed, writes wait for the members of both.
    pub fn wait_for_union(&self, proposed: &BTreeSet<i64>) {
        let Some(sw) = self.switching() else { return };
        let me = sw.controller_id();
        let (held, _) = sw.sync_state_set();
        self.0.acks.set_quorum(
            held.union(proposed)
                .copied()
                .filter(|id| *id != me)
                .collect(),
        );
    }

    /// Each named slave's acknowledged offset (AutoSwitch HA connections), by controller id.
    pub fn slave_acks(&self) -> std::collections::BTreeMap<i64, i64> {
        self.0.acks.broker_acks()
    }

    /// This broker's CommitLog end.
    pub fn max_offset(&self) -> i64 {
        self.0.store.max_offset()
    }

    /// What every SyncStateSet member has (the master's confirm offset), or what the master
    /// last said it was (on a slave).
    pub fn confirm_offset(&self) -> i64 {
        match self.switching() {
            Some(sw) if self.is_slave() => sw.slave_confirm_offset(),
            _ => self.0.acks.quorum_ack().min(self.max_offset()),
        }
    }
}
