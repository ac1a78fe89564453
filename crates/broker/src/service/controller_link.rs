//! A broker in controller mode (docs/failover.md, docs/controller-facts.md §5): it takes a
//! broker id from the controller once (kept in `brokerIdentity`), registers, beats to every
//! controller, and acts on who the controller says is master: itself (become master, or ask to
//! be elected when the set has none) or another broker (follow it). As master it keeps the
//! SyncStateSet true: slaves that caught up join it, slaves that fell behind leave it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use apogee_protocol::ResponseCode;
use apogee_runtime::Shutdown;

use crate::ha::Replication;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::topic_config::TopicConfigs;
use crate::service::controller_calls::{CallError, ControllerCalls, MasterView};

/// How long a joining slave may take to reach the master's end before it is proposed.
const JOIN_CATCH_UP: Duration = Duration::from_secs(1);
/// Pause between attempts to reach the controllers.
const RETRY: Duration = Duration::from_millis(500);

/// Everything the link acts on.
#[derive(Clone)]
pub struct ControllerLink {
    pub calls: ControllerCalls,
    pub replication: Replication,
    pub topics: TopicConfigs,
    pub offsets: ConsumerOffsets,
    /// `brokerIdentity` in the store's root (`-temp` beside it while an id is applied for).
    pub identity_path: PathBuf,
}

/// `cluster#brokerName#brokerId[#checkCode]`.
fn read_identity(path: &std::path::Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(text.trim().split('#').map(str::to_owned).collect())
}

fn write_identity(path: &std::path::Path, fields: &[String]) -> Result<(), CallError> {
    crate::persist::write_atomically(path, fields.join("#").as_bytes()).map_err(|e| CallError {
        code: None,
        remark: e.to_string(),
    })
}

impl ControllerLink {
    fn temp_identity(&self) -> PathBuf {
        self.identity_path.with_file_name("brokerIdentity-temp")
    }

    /// This broker's id in its set: from `brokerIdentity`, or applied for (the controller's
    /// next id, with a check code so a retry of the same application is accepted).
    async fn broker_id(&self, leader: &str) -> Result<i64, CallError> {
        let me = [self.calls.cluster.clone(), self.calls.broker_name.clone()];
        let mismatch = |fields: &[String]| CallError {
            code: None,
            remark: format!(
                "{} is for {}#{}, not {}#{}: remove it to join as a new broker",
                self.identity_path.display(),
                fields.first().cloned().unwrap_or_default(),
                fields.get(1).cloned().unwrap_or_default(),
                me[0],
                me[1]
            ),
        };
        if let Some(fields) = read_identity(&self.identity_path) {
            if fields.len() < 3 || fields[..2] != me {
                return Err(mismatch(&fields));
            }
            return fields[2].parse().map_err(|_| mismatch(&fields));
        }
        let temp = self.temp_identity();
        let (id, code) = match read_identity(&temp) {
            Some(fields) if fields.len() >= 4 && fields[..2] == me => {
                (fields[2].parse().unwrap_or(-1), fields[3..].join("#"))
            }
            _ => {
                let id = self.calls.next_broker_id(leader).await?;
                let code = format!("{};{}", self.calls.broker_addr, now_ms());
                let fields = [me[0].clone(), me[1].clone(), id.to_string(), code.clone()];
                write_identity(&temp, &fields)?;
                (id, code)
            }
        };
        if let Err(e) = self.calls.apply_broker_id(leader, id, &code).await {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
        write_identity(
            &self.identity_path,
            &[me[0].clone(), me[1].clone(), id.to_string()],
        )?;
        let _ = std::fs::remove_file(&temp);
        tracing::info!(id, "broker id taken from the controller");
        Ok(id)
    }

    fn switching(&self) -> &crate::ha::Switching {
        self.replication
            .switching()
            .expect("the link runs only in controller mode")
    }

    /// Takes an id and registers; returns the controller's view of the set.
    async fn join(&self) -> Result<MasterView, CallError> {
        let leader = self.calls.leader().await?;
        let id = self.broker_id(&leader).await?;
        self.switching().set_controller_id(id);
        let view = self.calls.register(&leader, id).await?;
        self.beat().await;
        Ok(view)
    }

    async fn beat(&self) {
        let sw = self.switching();
        let offsets = (
            self.replication.max_offset(),
            self.replication.confirm_offset(),
        );
        self.calls
            .heartbeat(sw.controller_id(), sw.epochs().last_epoch(), offsets)
            .await;
    }

    /// Runs until `shutdown`: join, then heartbeats, the master poll and the SyncStateSet
    /// check.
    pub async fn run(self, shutdown: Shutdown) {
        let view = loop {
            match self.join().await {
                Ok(view) => break view,
                Err(e) => tracing::warn!(error = %e, "cannot join the controller yet; retrying"),
            }
            tokio::select! {
                () = tokio::time::sleep(RETRY) => {}
                () = shutdown.wait() => return,
            }
        };
        self.act(view).await;
        let beats = tokio::spawn(self.clone().beat_loop(shutdown.clone()));
        let checks = tokio::spawn(self.clone().check_loop(shutdown.clone()));
        self.poll_loop(shutdown).await;
        let _ = beats.await;
        let _ = checks.await;
    }

    async fn beat_loop(self, shutdown: Shutdown) {
        let mut tick = tokio::time::interval(self.calls.mode.heartbeat_interval);
        loop {
            tokio::select! {
                _ = tick.tick() => self.beat().await,
                () = shutdown.wait() => return,
            }
        }
    }

    async fn poll_loop(&self, shutdown: Shutdown) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(self.calls.mode.sync_metadata_period) => {}
                () = self.switching().poked() => {}
                () = shutdown.wait() => return,
            }
            if let Err(e) = self.poll().await {
                tracing::debug!(error = %e, "asking the controller who is master failed");
            }
        }
    }

    async fn poll(&self) -> Result<(), CallError> {
        let leader = self.calls.leader().await?;
        match self.calls.replica_info(&leader).await {
            Ok(view) => {
                self.act(view).await;
                Ok(())
            }
            Err(e) if e.code == Some(ResponseCode::CONTROLLER_BROKER_METADATA_NOT_EXIST) => {
                let view = self.join().await?;
                self.act(view).await;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Acts on the controller's view when its epoch is newer than the one acted on (or the
    /// broker has no role yet).
    async fn act(&self, view: MasterView) {
        let sw = self.switching();
        let me = sw.controller_id();
        let newer = view.epoch > sw.master_epoch() || sw.fenced();
        match (view.master_id, newer) {
            (None, _) => self.ask_to_lead().await,
            (Some(m), true) if m == me => self.lead(view).await,
            (Some(_), true) => self.follow(view).await,
            (Some(m), false) if m == me => {
                let (ids, epoch) = view.sync_state_set;
                self.replication.adopt_sync_state_set(ids, epoch);
            }
            (Some(_), false) => {
                if !self.replication.is_slave() {
                    return;
                }
                // Still following: make sure the master's HA address is known.
                if let Some(addr) = view.master_addr {
                    self.learn_ha(&addr).await;
                }
            }
        }
    }

    async fn ask_to_lead(&self) {
        let me = self.switching().controller_id();
        let outcome = async {
            let leader = self.calls.leader().await?;
            self.calls.elect(&leader, me).await
        };
        match outcome.await {
            Ok(view) if view.master_id.is_some() => Box::pin(self.act(view)).await,
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "election not won; the controller decides"),
        }
    }

    async fn lead(&self, view: MasterView) {
        match self
            .replication
            .become_master(view.epoch, view.sync_state_set)
            .await
        {
            Ok(()) => {
                self.offsets.set_slave(false);
                self.topics.set_state_version(i64::from(view.epoch));
            }
            Err(e) => tracing::warn!(epoch = view.epoch, error = %e, "not taking the master role"),
        }
    }

    async fn follow(&self, view: MasterView) {
        let Some(addr) = view.master_addr else { return };
        if let Err(e) = self.replication.become_slave(view.epoch, addr.clone()) {
            tracing::warn!(epoch = view.epoch, error = %e, "not following the new master");
            return;
        }
        self.offsets.set_slave(true);
        self.topics.set_state_version(i64::from(view.epoch));
        self.learn_ha(&addr).await;
    }

    async fn learn_ha(&self, master_addr: &str) {
        match self.calls.master_ha_addr(master_addr).await {
            Ok(ha) => self.replication.follow_ha(Some(ha)),
            Err(e) => {
                tracing::debug!(master = %master_addr, error = %e, "master's HA address not known yet")
            }
        }
    }

    async fn check_loop(self, shutdown: Shutdown) {
        let mut caught: BTreeMap<i64, Instant> = BTreeMap::new();
        let mut last_max = 0;
        loop {
            tokio::select! {
                () = tokio::time::sleep(self.calls.mode.check_sync_state_set_period) => {}
                () = shutdown.wait() => return,
            }
            if self.replication.is_slave() || self.replication.fenced() {
                caught.clear();
                continue;
            }
            if let Err(e) = self.check_sync_state_set(&mut caught, &mut last_max).await {
                tracing::debug!(error = %e, "SyncStateSet not changed");
            }
        }
    }

    /// Drops members that fell behind (or left) and adds slaves that caught up. While an
    /// addition is proposed, writes wait for the new member too, so nothing acknowledged is
    /// missing from it once the controller records it.
    async fn check_sync_state_set(
        &self,
        caught: &mut BTreeMap<i64, Instant>,
        last_max: &mut i64,
    ) -> Result<(), CallError> {
        let sw = self.switching();
        let me = sw.controller_id();
        let (held, held_epoch) = sw.sync_state_set();
        let acks = self.replication.slave_acks();
        let max = self.replication.max_offset();
        let now = Instant::now();
        caught.retain(|id, _| acks.contains_key(id));
        for (id, ack) in &acks {
            if *ack >= *last_max || !caught.contains_key(id) && held.contains(id) {
                caught.insert(*id, now);
            }
        }
        *last_max = max;
        let limit = self.calls.mode.slave_not_catchup;
        let mut proposed: BTreeSet<i64> = held
            .iter()
            .copied()
            .filter(|id| *id == me || caught.get(id).is_some_and(|t| t.elapsed() < limit))
            .collect();
        proposed.insert(me);
        let joining: Vec<i64> = acks
            .iter()
            .filter(|(id, ack)| !held.contains(id) && **ack >= max)
            .map(|(id, _)| *id)
            .collect();
        if !joining.is_empty() {
            proposed.extend(self.catch_up(&proposed, &joining).await);
        }
        if proposed == held {
            self.replication.adopt_sync_state_set(held, held_epoch);
            return Ok(());
        }
        let leader = self.calls.leader().await?;
        let outcome = self
            .calls
            .alter_sync_state_set(&leader, (me, sw.master_epoch()), (&proposed, held_epoch))
            .await;
        match outcome {
            Ok(epoch) => {
                tracing::info!(from = ?held, to = ?proposed, epoch, "SyncStateSet changed");
                self.replication.adopt_sync_state_set(proposed, epoch);
                Ok(())
            }
            Err(e) => {
                // The change may have been recorded all the same (an answer lost): writes keep
                // waiting for both sets until a poll brings the controller's SyncStateSet.
                self.replication.wait_for_union(&proposed);
                Err(e)
            }
        }
    }

    /// Writes wait for `joining` too from now on; returns those that then reach the end.
    async fn catch_up(&self, keep: &BTreeSet<i64>, joining: &[i64]) -> Vec<i64> {
        let mut union = keep.clone();
        union.extend(joining);
        self.replication.wait_for_union(&union);
        let target = self.replication.max_offset();
        let deadline = Instant::now() + JOIN_CATCH_UP;
        loop {
            let acks = self.replication.slave_acks();
            let ready: Vec<i64> = joining
                .iter()
                .copied()
                .filter(|id| acks.get(id).is_some_and(|a| *a >= target))
                .collect();
            if ready.len() == joining.len() || Instant::now() >= deadline {
                return ready;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
