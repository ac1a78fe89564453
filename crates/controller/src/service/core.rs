//! What every request handler shares: the raft handle, the applied state, the heartbeat table,
//! and the leader's one-at-a-time "decide, then commit" step (RocketMQ's event scheduler).

use std::sync::Arc;
use std::time::Duration;

use apogee_protocol::body::controller::SyncStateSet;
use apogee_protocol::header::controller::NotifyBrokerRoleChangedRequestHeader;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::RemotingClient;
use apogee_runtime::Clock;
use openraft::error::{ClientWriteError, RaftError};

use crate::decide::{self, Refusal, Trigger};
use crate::live::LiveTable;
use crate::raft::{NodeId, Raft, SharedState};
use crate::settings::Settings;
use crate::{BrokerSet, ControllerConfig, Event};

/// How long a decision waits for its event to commit (Java's processor waits 5 s too).
const COMMIT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Core {
    pub config: ControllerConfig,
    pub raft: Arc<Raft>,
    pub state: SharedState,
    pub live: LiveTable,
    pub clock: Arc<dyn Clock>,
    /// Brokers are told about new masters through this.
    pub client: RemotingClient,
    /// What UPDATE_CONTROLLER_CONFIG may change while running.
    pub settings: Settings,
    decide: tokio::sync::Mutex<()>,
}

/// The leader's right to decide, held while deciding and committing.
pub struct Turn<'a>(#[allow(dead_code)] tokio::sync::MutexGuard<'a, ()>);

pub fn refusal(code: ResponseCode, remark: impl Into<String>) -> Refusal {
    Refusal {
        code,
        remark: remark.into(),
    }
}

/// What an election came to.
pub enum Election {
    /// A new master, already committed.
    Elected,
    /// The master stays; the answer is 2011 with the current state.
    Unchanged(Refusal),
}

impl Core {
    pub fn new(
        config: ControllerConfig,
        raft: Arc<Raft>,
        state: SharedState,
        clock: Arc<dyn Clock>,
        client: RemotingClient,
    ) -> Self {
        Self {
            settings: Settings::new(&config),
            config,
            raft,
            state,
            live: LiveTable::default(),
            clock,
            client,
            decide: tokio::sync::Mutex::new(()),
        }
    }

    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    pub fn is_leader(&self) -> bool {
        self.leader() == Some(self.config.self_id)
    }

    fn not_leader(&self) -> Refusal {
        let leader = self
            .leader()
            .and_then(|id| self.config.peers.get(&id))
            .map_or_else(
                || "none yet".to_owned(),
                |p| format!("{} at {}", p.name, p.addr),
            );
        refusal(
            ResponseCode::CONTROLLER_NOT_LEADER,
            format!(
                "controller {} is not the leader (leader: {leader})",
                self.config.raw.self_id
            ),
        )
    }

    /// Takes the leader's turn, once the state holds everything committed so far.
    pub async fn lead(&self) -> Result<Turn<'_>, Refusal> {
        if !self.is_leader() {
            return Err(self.not_leader());
        }
        let turn = Turn(self.decide.lock().await);
        match tokio::time::timeout(COMMIT_TIMEOUT, self.raft.ensure_linearizable()).await {
            Ok(Ok(_)) => Ok(turn),
            _ => Err(self.not_leader()),
        }
    }

    /// Replicates an event; it is applied on this node when this returns `Ok`.
    pub async fn commit(&self, _turn: &Turn<'_>, event: Event) -> Result<(), Refusal> {
        match tokio::time::timeout(COMMIT_TIMEOUT, self.raft.client_write(event)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))) => {
                Err(self.not_leader())
            }
            Ok(Err(e)) => Err(refusal(ResponseCode::SYSTEM_ERROR, format!("raft: {e}"))),
            Err(_) => Err(refusal(
                ResponseCode::SYSTEM_ERROR,
                format!("the change was not committed within {COMMIT_TIMEOUT:?}"),
            )),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A copy of one broker set.
    pub fn broker_set(&self, broker_name: &str) -> Option<BrokerSet> {
        self.state.read().broker_set(broker_name).cloned()
    }

    /// Decides and commits an election; tells the set's live brokers about a new master.
    pub async fn elect(&self, broker_name: &str, trigger: Trigger) -> Result<Election, Refusal> {
        let turn = self.lead().await?;
        let decision = {
            let state = self.state.read();
            let live = self.live.at(self.now_ms());
            let had_master = state
                .broker_set(broker_name)
                .is_some_and(|s| s.master.is_some());
            decide::elect_master(
                &state,
                broker_name,
                trigger,
                &live,
                self.settings.elect_unclean_master(),
            )
            .map_err(|(r, event)| (r, event.filter(|_| had_master)))
        };
        match decision {
            Ok(elected) => {
                self.commit(&turn, elected.event).await?;
                tracing::info!(
                    broker_name,
                    master = elected.new_master,
                    epoch = elected.master_epoch,
                    ?trigger,
                    "new master elected"
                );
                self.notify_role_change(broker_name);
                Ok(Election::Elected)
            }
            Err((r, _)) if r.code == ResponseCode::CONTROLLER_MASTER_STILL_EXIST => {
                Ok(Election::Unchanged(r))
            }
            Err((r, Some(event))) => {
                self.commit(&turn, event).await?;
                tracing::warn!(
                    broker_name,
                    "no broker can take over; the set has no master"
                );
                Err(r)
            }
            Err((r, None)) => Err(r),
        }
    }

    /// NOTIFY_BROKER_ROLE_CHANGED (oneway) to every live broker of the set, in the background.
    pub fn notify_role_change(&self, broker_name: &str) {
        if !self.settings.notify_broker_role_changed() {
            return;
        }
        let Some(set) = self.broker_set(broker_name) else {
            return;
        };
        let now = self.now_ms();
        let header = NotifyBrokerRoleChangedRequestHeader {
            master_address: set
                .master
                .and_then(|m| set.replicas.get(&m))
                .map(|r| r.address.clone()),
            master_epoch: Some(set.master_epoch),
            sync_state_set_epoch: Some(set.sync_state_set_epoch),
            master_broker_id: set.master,
        };
        let body = sync_state_set(&set).to_json();
        for (id, replica) in &set.replicas {
            if self.live.alive(broker_name, *id, now).is_none() {
                continue;
            }
            let request =
                RemotingCommand::request(RequestCode::NOTIFY_BROKER_ROLE_CHANGED, &header)
                    .with_body(body.clone())
                    .into_oneway();
            let (client, addr) = (self.client.clone(), replica.address.clone());
            tokio::spawn(async move {
                if let Err(e) = client
                    .invoke_oneway(&addr, request, Duration::from_secs(3))
                    .await
                {
                    tracing::debug!(%addr, error = %e, "role change notice not delivered; the broker will poll");
                }
            });
        }
    }
}

/// A set's SyncStateSet as the wire body.
pub fn sync_state_set(set: &BrokerSet) -> SyncStateSet {
    SyncStateSet {
        sync_state_set: set.sync_state_set.clone(),
        sync_state_set_epoch: set.sync_state_set_epoch,
    }
}
