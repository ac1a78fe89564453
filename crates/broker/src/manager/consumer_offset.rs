//! Committed consumer offsets per (topic, group, queue), persisted as `consumerOffset.json`
//! (REMOTING.md §6.11: `"offsetTable":{"topic@group":{0:12,1:40}}` with bare queue ids).
//! Commits only touch memory; [`ConsumerOffsets::persist`] runs every
//! `flushConsumerOffsetInterval` and at shutdown, as in Java.

use std::collections::{BTreeMap, HashMap};
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

/// Shared handle to the offset table.
#[derive(Clone)]
pub struct ConsumerOffsets {
    inner: Arc<Inner>,
}

struct Inner {
    table: Mutex<HashMap<String, BTreeMap<i32, i64>>>,
    dirty: AtomicBool,
    path: PathBuf,
    persist: Mutex<()>,
}

fn key(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

impl ConsumerOffsets {
    pub fn load(config_dir: &std::path::Path) -> Result<Self, BrokerError> {
        let path = config_dir.join("consumerOffset.json");
        let doc = persist::load_json::<Document>(&path)?.unwrap_or_default();
        Ok(Self {
            inner: Arc::new(Inner {
                table: Mutex::new(doc.offset_table.into_iter().collect()),
                dirty: AtomicBool::new(false),
                path,
                persist: Mutex::new(()),
            }),
        })
    }

    /// Stores the next offset to consume.
    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        self.lock()
            .entry(key(topic, group))
            .or_default()
            .insert(queue_id, offset);
        self.inner.dirty.store(true, Ordering::Release);
    }

    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.lock()
            .get(&key(topic, group))
            .and_then(|queues| queues.get(&queue_id).copied())
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
        let doc = Document {
            data_version: DataVersion::default(),
            offset_table: self
                .lock()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        persist::write_json(&self.inner.path, &doc, &["offsetTable"]).inspect_err(|_| {
            self.inner.dirty.store(true, Ordering::Release);
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeMap<i32, i64>>> {
        self.inner
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
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
}
