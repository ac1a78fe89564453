//! openraft's state machine: the [`ControllerState`] every node applies committed events to.
//! The state itself lives in memory; snapshots of it are files (written to a temp file, synced,
//! renamed), and the log store keeps the committed id, so a restart loads the last snapshot
//! and openraft re-applies the committed entries after it.

use std::io::{self, Cursor};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    BasicNode, EntryPayload, ErrorSubject, ErrorVerb, LogId, RaftSnapshotBuilder, SnapshotMeta,
    StorageError, StoredMembership,
};
use serde::{Deserialize, Serialize};

use super::{NodeId, TypeConfig};
use crate::ControllerState;

type Meta = SnapshotMeta<NodeId, BasicNode>;

/// The applied state, shared with the request handlers (which only read it).
#[derive(Clone, Default)]
pub struct SharedState(Arc<RwLock<ControllerState>>);

impl SharedState {
    pub fn read(&self) -> RwLockReadGuard<'_, ControllerState> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn replace(&self, state: ControllerState) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = state;
    }

    fn apply(&self, event: &crate::Event) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .apply(event);
    }
}

/// A snapshot as stored in its file.
#[derive(Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: Meta,
    /// JSON of the [`ControllerState`].
    data: Vec<u8>,
}

struct Inner {
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, BasicNode>,
    current: Option<StoredSnapshot>,
    built: u64,
}

/// The controller's state machine. Clones share it (a clone builds snapshots).
#[derive(Clone)]
pub struct StateMachine {
    state: SharedState,
    inner: Arc<Mutex<Inner>>,
    path: PathBuf,
}

fn sm_error(verb: ErrorVerb) -> impl FnOnce(io::Error) -> StorageError<NodeId> {
    move |e| StorageError::from_io_error(ErrorSubject::StateMachine, verb, e)
}

fn persist(path: &Path, snapshot: &StoredSnapshot) -> io::Result<()> {
    let bytes = serde_json::to_vec(snapshot).map_err(io::Error::other)?;
    super::wal::replace_file(path, &bytes)
}

/// [`persist`] on the blocking pool.
async fn persist_blocking(
    path: &Path,
    snapshot: &StoredSnapshot,
) -> Result<(), StorageError<NodeId>> {
    let (path, snapshot) = (path.to_owned(), snapshot.clone());
    tokio::task::spawn_blocking(move || persist(&path, &snapshot))
        .await
        .map_err(io::Error::other)
        .and_then(|r| r)
        .map_err(sm_error(ErrorVerb::Write))
}

impl StateMachine {
    /// Loads `dir/raft-snapshot.json` if there is one. A damaged snapshot stops the start: the
    /// log before it may be purged, so guessing would lose state.
    pub fn open(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("raft-snapshot.json");
        let stored: Option<StoredSnapshot> = match std::fs::read(&path) {
            Ok(bytes) => Some(
                serde_json::from_slice(&bytes)
                    .map_err(|e| io::Error::other(format!("{} is damaged: {e}", path.display())))?,
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let state = SharedState::default();
        let mut inner = Inner {
            last_applied: None,
            membership: StoredMembership::default(),
            current: None,
            built: 0,
        };
        if let Some(s) = stored {
            state.replace(serde_json::from_slice(&s.data).map_err(io::Error::other)?);
            inner.last_applied = s.meta.last_log_id;
            inner.membership = s.meta.last_membership.clone();
            inner.current = Some(s);
        }
        Ok(Self {
            state,
            inner: Arc::new(Mutex::new(inner)),
            path,
        })
    }

    pub fn shared_state(&self) -> SharedState {
        self.state.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let data = serde_json::to_vec(&*self.state.read())
            .map_err(|e| sm_error(ErrorVerb::Read)(io::Error::other(e)))?;
        let stored = {
            let mut inner = self.lock();
            inner.built += 1;
            let index = inner.last_applied.map_or(0, |l| l.index);
            StoredSnapshot {
                meta: Meta {
                    last_log_id: inner.last_applied,
                    last_membership: inner.membership.clone(),
                    snapshot_id: format!("{index}-{}", inner.built),
                },
                data,
            }
        };
        persist_blocking(&self.path, &stored).await?;
        self.lock().current = Some(stored.clone());
        Ok(Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>), StorageError<NodeId>>
    {
        let inner = self.lock();
        Ok((inner.last_applied, inner.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<()>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = openraft::Entry<TypeConfig>> + openraft::OptionalSend,
        I::IntoIter: openraft::OptionalSend,
    {
        let mut applied = Vec::new();
        let mut inner = self.lock();
        for entry in entries {
            inner.last_applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(event) => self.state.apply(&event),
                EntryPayload::Membership(m) => {
                    inner.membership = StoredMembership::new(Some(entry.log_id), m);
                }
            }
            applied.push(());
        }
        Ok(applied)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &Meta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let data = snapshot.into_inner();
        let state: ControllerState = serde_json::from_slice(&data)
            .map_err(|e| sm_error(ErrorVerb::Read)(io::Error::other(e)))?;
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data,
        };
        persist_blocking(&self.path, &stored).await?;
        self.state.replace(state);
        let mut inner = self.lock();
        inner.last_applied = meta.last_log_id;
        inner.membership = meta.last_membership.clone();
        inner.current = Some(stored);
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        Ok(self.lock().current.clone().map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}
