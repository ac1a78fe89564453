//! openraft's log storage over [`Wal`]: entries are kept in memory for reading and in the file
//! for durability; every write is on disk before openraft hears it is done.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{ErrorSubject, ErrorVerb, LogId, OptionalSend, RaftLogReader, StorageError, Vote};

use super::wal::{Record, Wal};
use super::{NodeId, TypeConfig};

type Entry = openraft::Entry<TypeConfig>;

/// Past this size, a purge rewrites the file with only what is still needed.
const COMPACT_AT_BYTES: u64 = 1 << 20;

/// The controller's raft log. Clones share it (a clone is the log reader).
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    wal: Wal,
    entries: BTreeMap<u64, Entry>,
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId<NodeId>>,
    last_purged: Option<LogId<NodeId>>,
}

impl Inner {
    fn replay(&mut self, record: Record) {
        match record {
            Record::Vote(v) => self.vote = Some(v),
            Record::Entry(e) => {
                self.entries.insert(e.log_id.index, e);
            }
            Record::TruncateFrom(index) => {
                self.entries.split_off(&index);
            }
            Record::PurgeUpTo(id) => {
                self.entries = self.entries.split_off(&(id.index + 1));
                self.last_purged = Some(id);
            }
            Record::Committed(c) => self.committed = c,
        }
    }

    /// Writes records durably, then applies them to memory.
    fn record(&mut self, records: Vec<Record>) -> io::Result<()> {
        self.wal.append(&records)?;
        for r in records {
            self.replay(r);
        }
        Ok(())
    }

    fn compact(&mut self) -> io::Result<()> {
        let mut records = Vec::with_capacity(self.entries.len() + 3);
        records.extend(self.vote.map(Record::Vote));
        records.extend(self.last_purged.map(Record::PurgeUpTo));
        records.push(Record::Committed(self.committed));
        records.extend(self.entries.values().cloned().map(Record::Entry));
        self.wal.rewrite(&records)
    }
}

fn io_error(verb: ErrorVerb) -> impl FnOnce(io::Error) -> StorageError<NodeId> {
    move |e| StorageError::from_io_error(ErrorSubject::Logs, verb, e)
}

impl LogStore {
    /// Opens `dir/raft-log` and replays it.
    pub fn open(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let (wal, records) = Wal::open(&dir.join("raft-log"))?;
        let mut inner = Inner {
            wal,
            entries: BTreeMap::new(),
            vote: None,
            committed: None,
            last_purged: None,
        };
        for r in records {
            inner.replay(r);
        }
        Ok(Self {
            inner: Arc::new(Mutex::new(inner)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs a write on the blocking pool (it fsyncs); raft's writes come one at a time.
    async fn write(
        &self,
        verb: ErrorVerb,
        f: impl FnOnce(&mut Inner) -> io::Result<()> + Send + 'static,
    ) -> Result<(), StorageError<NodeId>> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            f(&mut inner.lock().unwrap_or_else(PoisonError::into_inner))
        })
        .await
        .map_err(io::Error::other)
        .and_then(|r| r)
        .map_err(io_error(verb))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError<NodeId>> {
        Ok(self
            .lock()
            .entries
            .range(range)
            .map(|(_, e)| e.clone())
            .collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let inner = self.lock();
        let last = inner.entries.values().next_back().map(|e| e.log_id);
        Ok(LogState {
            last_purged_log_id: inner.last_purged,
            last_log_id: last.or(inner.last_purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let vote = *vote;
        self.write(ErrorVerb::Write, move |i| {
            i.record(vec![Record::Vote(vote)])
        })
        .await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(self.lock().vote)
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        self.write(ErrorVerb::Write, move |i| {
            i.record(vec![Record::Committed(committed)])
        })
        .await
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let records: Vec<Record> = entries.into_iter().map(Record::Entry).collect();
        let outcome = self
            .write(ErrorVerb::Write, move |i| i.record(records))
            .await;
        callback.log_io_completed(match &outcome {
            Ok(()) => Ok(()),
            Err(e) => Err(io::Error::other(e.to_string())),
        });
        outcome
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.write(ErrorVerb::Delete, move |i| {
            i.record(vec![Record::TruncateFrom(log_id.index)])
        })
        .await
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.write(ErrorVerb::Delete, move |i| {
            i.record(vec![Record::PurgeUpTo(log_id)])?;
            if i.wal.size() > COMPACT_AT_BYTES {
                i.compact()?;
            }
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
#[path = "log_store_tests.rs"]
mod tests;
