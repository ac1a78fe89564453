//! Consumer progress: the next offset to consume per queue. Clustering groups keep it on the
//! broker (pushed every 5 s and piggy-backed on pulls); broadcasting consumers keep it in a
//! local file, since every member has its own progress.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use apogee_protocol::body::client::MessageQueue;
use serde::{Deserialize, Serialize};

use crate::instance::ClientInstance;
use crate::{ClientError, Result};

#[derive(Debug)]
pub(crate) struct OffsetStore {
    group: String,
    /// `Some` for a local (broadcasting) store.
    file: Option<PathBuf>,
    table: Mutex<HashMap<MessageQueue, i64>>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct LocalFile {
    offset_table: Vec<LocalEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocalEntry {
    topic: String,
    broker_name: String,
    queue_id: i32,
    offset: i64,
}

impl OffsetStore {
    pub(crate) fn remote(group: &str) -> Self {
        Self {
            group: group.to_owned(),
            file: None,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// A local store in `dir/<group>[@instance]/offsets.json`, loaded now. Unlike Java's
    /// default (`ip@pid` in the path), the path does not change with the process id, so a
    /// restarted broadcasting consumer resumes where it stopped.
    pub(crate) fn local(dir: &Path, group: &str, instance_name: &str) -> Result<Self> {
        let folder = if instance_name == crate::DEFAULT_INSTANCE_NAME {
            group.to_owned()
        } else {
            format!("{group}@{instance_name}")
        };
        let file = dir.join(folder).join("offsets.json");
        let mut table = HashMap::new();
        match std::fs::read(&file) {
            Ok(bytes) => {
                let parsed: LocalFile = serde_json::from_slice(&bytes).map_err(|e| {
                    ClientError::Config(format!("offset file {} is corrupt: {e}", file.display()))
                })?;
                for e in parsed.offset_table {
                    table.insert(
                        MessageQueue {
                            topic: e.topic,
                            broker_name: e.broker_name,
                            queue_id: e.queue_id,
                        },
                        e.offset,
                    );
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(ClientError::Io {
                    path: file.display().to_string(),
                    source,
                });
            }
        }
        Ok(Self {
            group: group.to_owned(),
            file: Some(file),
            table: Mutex::new(table),
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<MessageQueue, i64>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records progress; with `increase_only` an older offset never overwrites a newer one.
    pub(crate) fn update(&self, queue: &MessageQueue, offset: i64, increase_only: bool) {
        if offset < 0 {
            return;
        }
        let mut table = self.table();
        let entry = table.entry(queue.clone()).or_insert(offset);
        if !increase_only || offset > *entry {
            *entry = offset;
        }
    }

    pub(crate) fn cached(&self, queue: &MessageQueue) -> Option<i64> {
        self.table().get(queue).copied()
    }

    /// The stored offset: the local file's, or the broker's (`None` when it has none).
    pub(crate) async fn read_stored(
        &self,
        instance: &ClientInstance,
        queue: &MessageQueue,
    ) -> Result<Option<i64>> {
        if self.file.is_some() {
            return Ok(self.cached(queue));
        }
        let addr = instance
            .find_broker_addr(&queue.broker_name, &queue.topic)
            .await?;
        let offset = instance
            .query_consumer_offset(&addr, &self.group, queue)
            .await?;
        if let Some(o) = offset {
            self.update(queue, o, false);
        }
        Ok(offset)
    }

    pub(crate) fn remove(&self, queue: &MessageQueue) {
        self.table().remove(queue);
    }

    /// Writes the progress of `queues` (all cached queues when `None`).
    pub(crate) async fn persist(
        &self,
        instance: &ClientInstance,
        queues: Option<&[MessageQueue]>,
    ) -> Result<()> {
        let snapshot: Vec<(MessageQueue, i64)> = {
            let table = self.table();
            match queues {
                Some(qs) => qs
                    .iter()
                    .filter_map(|q| table.get(q).map(|o| (q.clone(), *o)))
                    .collect(),
                None => table.iter().map(|(q, o)| (q.clone(), *o)).collect(),
            }
        };
        match &self.file {
            Some(file) => self.write_file(file),
            None => {
                for (queue, offset) in snapshot {
                    let addr = match instance
                        .find_broker_addr(&queue.broker_name, &queue.topic)
                        .await
                    {
                        Ok(addr) => addr,
                        Err(e) => {
                            tracing::debug!(?queue, error = %e, "no broker to commit the offset to");
                            continue;
                        }
                    };
                    if let Err(e) = instance
                        .update_consumer_offset(&addr, &self.group, &queue, offset, true)
                        .await
                    {
                        tracing::debug!(?queue, error = %e, "offset commit failed");
                    }
                }
                Ok(())
            }
        }
    }

    /// Commits `queue`'s offset and waits for the broker's answer.
    pub(crate) async fn persist_sync(
        &self,
        instance: &ClientInstance,
        queue: &MessageQueue,
    ) -> Result<()> {
        let Some(offset) = self.cached(queue) else {
            return Ok(());
        };
        match &self.file {
            Some(file) => self.write_file(file),
            None => {
                let addr = instance
                    .find_broker_addr(&queue.broker_name, &queue.topic)
                    .await?;
                instance
                    .update_consumer_offset(&addr, &self.group, queue, offset, false)
                    .await
            }
        }
    }

    /// Temp file + rename, so a crash leaves the old or the new file, never half of one.
    fn write_file(&self, file: &Path) -> Result<()> {
        let entries = self
            .table()
            .iter()
            .map(|(q, o)| LocalEntry {
                topic: q.topic.clone(),
                broker_name: q.broker_name.clone(),
                queue_id: q.queue_id,
                offset: *o,
            })
            .collect();
        let io = |source| ClientError::Io {
            path: file.display().to_string(),
            source,
        };
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let body = serde_json::to_vec_pretty(&LocalFile {
            offset_table: entries,
        })
        .unwrap_or_default();
        let tmp = file.with_extension("json.tmp");
        std::fs::write(&tmp, body).map_err(io)?;
        std::fs::rename(&tmp, file).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(id: i32) -> MessageQueue {
        MessageQueue {
            topic: "T".into(),
            broker_name: "b".into(),
            queue_id: id,
        }
    }

    #[test]
    fn given_increase_only_should_keep_the_larger_offset() {
        let store = OffsetStore::remote("g");
        store.update(&mq(0), 10, true);
        store.update(&mq(0), 5, true);
        assert_eq!(store.cached(&mq(0)), Some(10));
        store.update(&mq(0), 5, false);
        assert_eq!(store.cached(&mq(0)), Some(5));
    }

    #[test]
    fn given_local_store_should_survive_reload() {
        let dir = tempfile::tempdir().unwrap();
        let store = OffsetStore::local(dir.path(), "g", crate::DEFAULT_INSTANCE_NAME).unwrap();
        store.update(&mq(1), 42, true);
        store.write_file(store.file.as_deref().unwrap()).unwrap();
        let again = OffsetStore::local(dir.path(), "g", crate::DEFAULT_INSTANCE_NAME).unwrap();
        assert_eq!(again.cached(&mq(1)), Some(42));
        std::fs::write(dir.path().join("g/offsets.json"), b"{not json").unwrap();
        let err = OffsetStore::local(dir.path(), "g", crate::DEFAULT_INSTANCE_NAME).unwrap_err();
        assert!(err.to_string().contains("corrupt"), "{err}");
    }
}
