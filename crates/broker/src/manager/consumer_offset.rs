//! Committed consumer offsets per (topic, group, queue), persisted as `consumerOffset.json`
//! (REMOTING.md §6.11: `"offsetTable":{"topic@group":{0:12,1:40}}` with bare queue ids).
//! Commits only touch memory; [`ConsumerOffsets::persist`] runs every
//! `flushConsumerOffsetInterval` and at shutdown, as in Java.
//!
//! Two in-memory tables ride along (neither is persisted, as in Java): the furthest offset
//! each group has pulled (GET_CONSUME_STATS `pullOffset`), and pending server-side resets
//! (INVOKE_BROKER_TO_RESET_OFFSET). A reset is committed at once and also parked until the
//! group's next pull of that queue takes it; until then commits from clients, which still hold
//! the old position, are ignored.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use apogee_model::DataVersion;
use serde::{Deserialize, Serialize};

use crate::{BrokerError, persist};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Document {
    data_version: DataVersion,
    offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

/// `topic@group` → queue id → offset.
type OffsetTable = HashMap<String, BTreeMap<i32, i64>>;

#[derive(Default)]
struct Tables {
    committed: OffsetTable,
    pulled: OffsetTable,
    resets: OffsetTable,
    /// On a slave: commits made here (its master was away) that the master has not caught
    /// up with yet; copying the master's table keeps them.
    local: OffsetTable,
}

/// Shared handle to the offset table.
#[derive(Clone)]
pub struct ConsumerOffsets {
    inner: Arc<Inner>,
}

struct Inner {
    table: Mutex<Tables>,
    /// Set on a slave: commits are remembered as local until the master's table passes them.
    slave: AtomicBool,
    dirty: AtomicBool,
    path: PathBuf,
    persist: Mutex<()>,
}

fn key(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

/// Splits `topic@group`; topics and groups cannot contain `@`.
fn split_key(key: &str) -> Option<(&str, &str)> {
    key.split_once('@')
}

impl ConsumerOffsets {
    pub fn load(config_dir: &std::path::Path) -> Result<Self, BrokerError> {
        let path = config_dir.join("consumerOffset.json");
        let doc = persist::load_json::<Document>(&path)?.unwrap_or_default();
        Ok(Self {
            inner: Arc::new(Inner {
                table: Mutex::new(Tables {
                    committed: doc.offset_table.into_iter().collect(),
                    ..Tables::default()
                }),
                dirty: AtomicBool::new(false),
                slave: AtomicBool::new(false),
                path,
                persist: Mutex::new(()),
            }),
        })
    }

    /// Marks this table as a slave's (see [`adopt`](Self::adopt)).
    pub fn set_slave(&self, slave: bool) {
        self.inner.slave.store(slave, Ordering::Release);
    }

    /// A slave copies its master's offsets: every entry is taken, except that a commit made
    /// on this slave beyond the master's value (consumers came here while the master was
    /// away) is kept until the master passes it; entries only this slave has are kept (Java
    /// puts all without that exception, so a returning master's older offsets win there).
    pub fn adopt(&self, master: BTreeMap<String, BTreeMap<i32, i64>>) {
        let mut tables = self.lock();
        let Tables {
            committed, local, ..
        } = &mut *tables;
        for (key, queues) in master {
            for (queue, offset) in queues {
                let mine = local.get_mut(&key).and_then(|q| q.get(&queue).copied());
                match mine {
                    Some(kept) if kept > offset => continue,
                    Some(_) => {
                        if let Some(q) = local.get_mut(&key) {
                            q.remove(&queue);
                        }
                    }
                    None => {}
                }
                committed
                    .entry(key.clone())
                    .or_default()
                    .insert(queue, offset);
            }
        }
        local.retain(|_, q| !q.is_empty());
        drop(tables);
        self.inner.dirty.store(true, Ordering::Release);
    }

    /// Stores the next offset to consume.
    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        let mut tables = self.lock();
        if self.inner.slave.load(Ordering::Acquire) {
            set(&mut tables.local, topic, group, queue_id, offset);
        }
        set(&mut tables.committed, topic, group, queue_id, offset);
        self.inner.dirty.store(true, Ordering::Release);
    }

    /// A commit from a client; ignored (false) while a reset of that queue is pending,
    /// because the client does not know about the reset yet.
    pub fn commit_unless_reset(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> bool {
        let mut tables = self.lock();
        if get(&tables.resets, topic, group, queue_id).is_some() {
            return false;
        }
        if self.inner.slave.load(Ordering::Acquire) {
            set(&mut tables.local, topic, group, queue_id, offset);
        }
        set(&mut tables.committed, topic, group, queue_id, offset);
        self.inner.dirty.store(true, Ordering::Release);
        true
    }

    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        get(&self.lock().committed, topic, group, queue_id)
    }

    /// Records how far a group has pulled a queue (never moves backwards).
    pub fn note_pulled(&self, group: &str, topic: &str, queue_id: i32, next_offset: i64) {
        let mut tables = self.lock();
        let slot = tables
            .pulled
            .entry(key(topic, group))
            .or_default()
            .entry(queue_id)
            .or_insert(next_offset);
        *slot = (*slot).max(next_offset);
    }

    /// The furthest offset the group has pulled from the queue since start-up.
    pub fn pulled(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        get(&self.lock().pulled, topic, group, queue_id)
    }

    /// Server-side reset: commits `offset` and parks it for the group's next pull.
    pub fn assign_reset(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        let mut tables = self.lock();
        set(&mut tables.committed, topic, group, queue_id, offset);
        set(&mut tables.resets, topic, group, queue_id, offset);
        let pulled_key = key(topic, group);
        if let Some(queues) = tables.pulled.get_mut(&pulled_key) {
            queues.remove(&queue_id);
        }
        self.inner.dirty.store(true, Ordering::Release);
    }

    /// Takes the pending reset of a queue, if any (the pull that answers OFFSET_MOVED).
    pub fn take_reset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        let mut tables = self.lock();
        let k = key(topic, group);
        let queues = tables.resets.get_mut(&k)?;
        let offset = queues.remove(&queue_id);
        if queues.is_empty() {
            tables.resets.remove(&k);
        }
        offset
    }

    /// Replaces `dest`'s committed offsets on `topic` with a copy of `src`'s (Java's
    /// `cloneOffset`); false when `src` has none there.
    pub fn clone_offsets(&self, src: &str, dest: &str, topic: &str) -> bool {
        let mut tables = self.lock();
        let Some(offsets) = tables.committed.get(&key(topic, src)).cloned() else {
            return false;
        };
        tables.committed.insert(key(topic, dest), offsets);
        self.inner.dirty.store(true, Ordering::Release);
        true
    }

    /// Topics the group has committed offsets for (Java's `whichTopicByConsumer`).
    pub fn topics_of_group(&self, group: &str) -> BTreeSet<String> {
        self.lock()
            .committed
            .keys()
            .filter_map(|k| split_key(k))
            .filter(|(_, g)| *g == group)
            .map(|(t, _)| t.to_owned())
            .collect()
    }

    /// Groups with committed offsets on the topic (Java's `whichGroupByTopic`).
    pub fn groups_of_topic(&self, topic: &str) -> BTreeSet<String> {
        self.lock()
            .committed
            .keys()
            .filter_map(|k| split_key(k))
            .filter(|(t, _)| *t == topic)
            .map(|(_, g)| g.to_owned())
            .collect()
    }

    /// Forgets everything about a topic (DELETE_TOPIC_IN_BROKER).
    pub fn remove_topic(&self, topic: &str) {
        self.remove_where(|t, _| t == topic);
    }

    /// Forgets everything about a group (DELETE_SUBSCRIPTIONGROUP with `cleanOffset`).
    pub fn remove_group(&self, group: &str) {
        self.remove_where(|_, g| g == group);
    }

    fn remove_where(&self, matches: impl Fn(&str, &str) -> bool) {
        let keep = |k: &String, _: &mut BTreeMap<i32, i64>| {
            split_key(k).is_none_or(|(t, g)| !matches(t, g))
        };
        let mut tables = self.lock();
        let before = tables.committed.len();
        tables.committed.retain(keep);
        tables.pulled.retain(keep);
        tables.resets.retain(keep);
        if tables.committed.len() != before {
            self.inner.dirty.store(true, Ordering::Release);
        }
    }

    /// Writes the table if anything changed since the last write.
    pub fn persist(&self) -> Result<(), BrokerError> {
        let _guard = self
            .inner
            .persist
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !self.inner.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        persist::write_json(&self.inner.path, &self.document(), &["offsetTable"]).inspect_err(
            |_| {
                self.inner.dirty.store(true, Ordering::Release);
            },
        )
    }

    fn document(&self) -> Document {
        Document {
            data_version: DataVersion::default(),
            offset_table: self
                .lock()
                .committed
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// The committed table as `consumerOffset.json` holds it (GET_ALL_CONSUMER_OFFSET);
    /// `None` when it is empty (Java answers "No consumer offset in this broker").
    pub fn encode_java(&self) -> Option<Vec<u8>> {
        let doc = self.document();
        (!doc.offset_table.is_empty()).then(|| {
            apogee_protocol::fastjson::to_json(
                &doc,
                apogee_protocol::fastjson::JsonStyle::Legacy,
                &["offsetTable"],
            )
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.inner
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn get(table: &OffsetTable, topic: &str, group: &str, queue_id: i32) -> Option<i64> {
    table
        .get(&key(topic, group))
        .and_then(|queues| queues.get(&queue_id).copied())
}

fn set(table: &mut OffsetTable, topic: &str, group: &str, queue_id: i32, offset: i64) {
    table
        .entry(key(topic, group))
        .or_default()
        .insert(queue_id, offset);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_commits_when_persisted_should_write_java_layout_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let offsets = ConsumerOffsets::load(dir.path()).unwrap();
        offsets.commit("g", "T", 0, 12);
        offsets.commit("g", "T", 1, 40);
        offsets.persist().unwrap();
        let text = std::fs::read_to_string(dir.path().join("consumerOffset.json")).unwrap();
        assert!(
            text.contains(r#""offsetTable":{"T@g":{0:12,1:40}}"#),
            "{text}"
        );
        let again = ConsumerOffsets::load(dir.path()).unwrap();
        assert_eq!(again.query("g", "T", 1), Some(40));
        assert_eq!(again.query("g", "T", 2), None);
    }

    #[test]
    fn given_pending_reset_should_ignore_client_commits_until_a_pull_takes_it() {
        let dir = tempfile::tempdir().unwrap();
        let offsets = ConsumerOffsets::load(dir.path()).unwrap();
        offsets.commit("g", "T", 0, 40);
        offsets.note_pulled("g", "T", 0, 45);
        offsets.assign_reset("g", "T", 0, 10);
        assert_eq!(offsets.query("g", "T", 0), Some(10));
        assert_eq!(
            offsets.pulled("g", "T", 0),
            None,
            "the old pull position is void"
        );
        assert!(
            !offsets.commit_unless_reset("g", "T", 0, 41),
            "stale client commit"
        );
        assert_eq!(offsets.query("g", "T", 0), Some(10));
        assert_eq!(offsets.take_reset("other", "T", 0), None);
        assert_eq!(offsets.take_reset("g", "T", 0), Some(10));
        assert_eq!(offsets.take_reset("g", "T", 0), None, "taken once");
        assert!(offsets.commit_unless_reset("g", "T", 0, 12));
        assert_eq!(offsets.query("g", "T", 0), Some(12));
    }

    #[test]
    fn given_offsets_of_several_groups_should_list_and_remove_by_topic_and_by_group() {
        let dir = tempfile::tempdir().unwrap();
        let offsets = ConsumerOffsets::load(dir.path()).unwrap();
        offsets.commit("g1", "T", 0, 1);
        offsets.commit("g1", "U", 0, 1);
        offsets.commit("g2", "T", 1, 1);
        offsets.assign_reset("g2", "T", 0, 0);
        assert_eq!(
            offsets.topics_of_group("g1"),
            ["T", "U"].map(String::from).into()
        );
        assert_eq!(
            offsets.groups_of_topic("T"),
            ["g1", "g2"].map(String::from).into()
        );
        offsets.remove_topic("T");
        assert_eq!(offsets.groups_of_topic("T"), BTreeSet::new());
        assert_eq!(
            offsets.take_reset("g2", "T", 0),
            None,
            "resets go with the topic"
        );
        assert_eq!(offsets.query("g1", "U", 0), Some(1));
        offsets.remove_group("g1");
        assert_eq!(offsets.topics_of_group("g1"), BTreeSet::new());
        offsets.persist().unwrap();
        let text = std::fs::read_to_string(dir.path().join("consumerOffset.json")).unwrap();
        assert!(text.contains(r#""offsetTable":{}"#), "{text}");
    }
}
