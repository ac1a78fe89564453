//! KV config (`namespace → key → value`), persisted as RocketMQ's `kvConfig.json`
//! (`{"configTable":{ns:{k:v}}}`) with write-temp-then-rename, so a crash leaves the old file
//! or the new one, never half of one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::{Deserialize, Serialize};

use crate::NamesrvError;

/// The namespace that carries `orderTopicConf` per topic.
pub const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// Longest namespace or key (bytes).
pub const KV_NAME_BYTES_MAX: usize = 255;
/// Longest value (bytes).
pub const KV_VALUE_BYTES_MAX: usize = 64 * 1024;
/// Most entries across all namespaces (RocketMQ has no limit; every put rewrites the file).
pub const KV_ENTRIES_MAX: usize = 10_000;

type Table = BTreeMap<String, BTreeMap<String, String>>;

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct KvConfigFile {
    #[serde(default)]
    config_table: Table,
}

/// Shared handle to the KV table and its file.
#[derive(Debug, Clone)]
pub struct KvConfig {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    table: RwLock<Table>,
    /// Serialises file writes so the last change always reaches disk last.
    persist: Mutex<()>,
    entries_max: usize,
}

impl KvConfig {
    /// Loads `path` if it exists; a corrupt file is an error, never silently discarded.
    pub fn load(path: &Path) -> Result<Self, NamesrvError> {
        Self::load_with_limit(path, KV_ENTRIES_MAX)
    }

    /// [`load`](Self::load), holding at most `entries_max` entries.
    pub fn load_with_limit(path: &Path, entries_max: usize) -> Result<Self, NamesrvError> {
        let table = match std::fs::read(path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Table::new(),
            Ok(bytes) => {
                apogee_protocol::body::from_json::<KvConfigFile>("kvConfig.json", &bytes)
                    .map_err(|e| NamesrvError::Load {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })?
                    .config_table
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Table::new(),
            Err(e) => {
                return Err(NamesrvError::Load {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                });
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                table: RwLock::new(table),
                persist: Mutex::new(()),
                entries_max,
            }),
        })
    }

    pub fn get(&self, namespace: &str, key: &str) -> Option<String> {
        self.read().get(namespace).and_then(|m| m.get(key)).cloned()
    }

    pub fn list(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        self.read().get(namespace).cloned()
    }

    /// Sets one entry; refused (nothing changed) past the size limits.
    pub fn put(&self, namespace: &str, key: &str, value: &str) -> Result<(), NamesrvError> {
        if namespace.is_empty() || key.is_empty() {
            return Err(NamesrvError::LimitExceeded(
                "namespace or key is null".into(),
            ));
        }
        if namespace.len() > KV_NAME_BYTES_MAX || key.len() > KV_NAME_BYTES_MAX {
            return Err(NamesrvError::LimitExceeded(format!(
                "KV namespace and key are limited to {KV_NAME_BYTES_MAX} bytes"
            )));
        }
        if value.len() > KV_VALUE_BYTES_MAX {
            return Err(NamesrvError::LimitExceeded(format!(
                "KV value of {} bytes; the limit is {KV_VALUE_BYTES_MAX}",
                value.len()
            )));
        }
        self.change(|t| {
            let entries: usize = t.values().map(BTreeMap::len).sum();
            let exists = t.get(namespace).is_some_and(|m| m.contains_key(key));
            if !exists && entries >= self.inner.entries_max {
                return Err(NamesrvError::LimitExceeded(format!(
                    "the KV config holds {entries} entries, its limit"
                )));
            }
            t.entry(namespace.to_owned())
                .or_default()
                .insert(key.to_owned(), value.to_owned());
            Ok(())
        })
    }

    pub fn delete(&self, namespace: &str, key: &str) -> Result<(), NamesrvError> {
        self.change(|t| {
            if let Some(m) = t.get_mut(namespace) {
                m.remove(key);
                if m.is_empty() {
                    t.remove(namespace);
                }
            }
            Ok(())
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.inner
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `edit` to a copy, writes the copy, and only then makes it the table: a
    /// failed write (or a refused edit) changes nothing.
    fn change(
        &self,
        edit: impl FnOnce(&mut Table) -> Result<(), NamesrvError>,
    ) -> Result<(), NamesrvError> {
        let _serial = self
            .inner
            .persist
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut next = self.read().clone();
        edit(&mut next)?;
        let file = KvConfigFile { config_table: next };
        write_atomically(&self.inner.path, &file)?;
        *self
            .inner
            .table
            .write()
            .unwrap_or_else(PoisonError::into_inner) = file.config_table;
        Ok(())
    }
}

fn write_atomically(path: &Path, file: &KvConfigFile) -> Result<(), NamesrvError> {
    let fail = |source| NamesrvError::Persist {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(file).unwrap_or_default();
    let mut out = std::fs::File::create(&tmp).map_err(fail)?;
    out.write_all(&bytes).map_err(fail)?;
    out.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)?;
    if let Some(dir) = path.parent()
        && let Ok(dir) = std::fs::File::open(dir)
    {
        // The rename survives power loss only once the directory is synced.
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_changes_when_reloaded_should_survive_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("namesrv/kvConfig.json");
        let kv = KvConfig::load(&path).unwrap();
        kv.put(ORDER_TOPIC_CONFIG, "T", "a:4;b:4").unwrap();
        kv.put("ns", "k", "v").unwrap();
        kv.delete("ns", "k").unwrap();
        let again = KvConfig::load(&path).unwrap();
        assert_eq!(
            again.get(ORDER_TOPIC_CONFIG, "T").as_deref(),
            Some("a:4;b:4")
        );
        assert!(again.list("ns").is_none());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("configTable"), "{text}");
    }

    #[test]
    fn given_corrupt_file_when_loaded_should_refuse_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = KvConfig::load(&path).unwrap_err();
        assert!(err.to_string().contains("kvConfig.json"), "{err}");
    }

    #[test]
    fn given_oversize_or_too_many_entries_should_refuse_and_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        let kv = KvConfig::load_with_limit(&path, 20).unwrap();
        assert!(kv.put("ns", &"k".repeat(256), "v").is_err());
        assert!(
            kv.put("ns", "k", &"v".repeat(KV_VALUE_BYTES_MAX + 1))
                .is_err()
        );
        assert!(kv.put("", "k", "v").is_err());
        for i in 0..20 {
            kv.put("ns", &format!("k{i}"), "v").unwrap();
        }
        let err = kv.put("ns", "one-more", "v").unwrap_err();
        assert!(err.to_string().contains("limit"), "{err}");
        kv.put("ns", "k0", "replaced").unwrap();
        assert_eq!(kv.get("ns", "k0").as_deref(), Some("replaced"));
        assert!(kv.get("ns", "one-more").is_none());
    }
}
