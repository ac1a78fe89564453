//! Delay-level delivery (REMOTING.md §6.7): queue `level − 1` of SCHEDULE_TOPIC_XXXX holds the
//! messages of each level in store order, so each level is delivered by walking its queue and
//! stopping at the first message not yet due (store time + the level's delay). A due message
//! is copied to its `REAL_TOPIC` / `REAL_QID` with the delay properties removed. Progress per
//! level is kept in `delayOffset.json` (`{"offsetTable":{1:12,2:0}}`), so delivery resumes
//! after a restart; a crash between delivery and the offset write delivers again (at least
//! once, as in RocketMQ).
//!
//! At start, each level's offset is pulled back into its queue's bounds (Java's
//! `correctDelayOffset`): after a crash the offsets file may be ahead of the recovered queue,
//! and new messages in that gap would never be delivered. A level's offset moves only past
//! messages whose copies are stored — and durable, under SYNC_FLUSH — so a failed or lost
//! re-put is retried, and one that succeeded is not repeated. Passes run on a blocking thread
//! and deliver at most a bounded number per level each, so a long backlog never holds a
//! worker.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apogee_model::DataVersion;
use apogee_model::system_topic::SCHEDULE_TOPIC;
use apogee_protocol::record::{StoredRecord, encode_properties, parse_properties};
use apogee_runtime::{Clock, Shutdown};
use apogee_store::{AppendOutcome, MessageStore, MessageToStore, PutStatus};
use serde::{Deserialize, Serialize};

use crate::live::LiveSettings;
use crate::ops::reput;
use crate::service::internal_queue::InternalQueue;
use crate::{BrokerError, persist};

/// How often levels are scanned when nothing is due sooner.
const TICK: Duration = Duration::from_millis(100);
const BATCH: usize = 32;
/// Most messages one pass delivers per level (the rest go on the next pass).
const PASS_PER_LEVEL_MAX: usize = 4096;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Document {
    data_version: DataVersion,
    offset_table: BTreeMap<i32, i64>,
}

/// What one read batch of a level delivered.
#[derive(Default)]
struct Batch {
    /// Queue offset just past the last message handled (stored, skipped or unreadable).
    done: i64,
    last: Option<AppendOutcome>,
    failed: Option<BrokerError>,
}

/// The delay-level delivery service.
pub struct ScheduleService {
    store: Arc<MessageStore>,
    clock: Arc<dyn Clock>,
    offsets: Mutex<BTreeMap<i32, i64>>,
    path: PathBuf,
    store_host: std::net::SocketAddr,
    /// Delay of each level in ms (`messageDelayLevel`).
    levels_ms: Vec<i64>,
}

impl ScheduleService {
    pub fn load(
        store: Arc<MessageStore>,
        clock: Arc<dyn Clock>,
        config_dir: &std::path::Path,
        (store_host, levels_ms): (std::net::SocketAddr, Vec<i64>),
    ) -> Result<Self, BrokerError> {
        let path = config_dir.join("delayOffset.json");
        let doc = persist::load_json::<Document>(&path)?.unwrap_or_default();
        let service = Self {
            store,
            clock,
            offsets: Mutex::new(doc.offset_table),
            path,
            store_host,
            levels_ms,
        };
        service.correct_offsets();
        Ok(service)
    }

    /// Pulls every level's offset into its queue's `[min, max]` (Java's `correctDelayOffset`).
    fn correct_offsets(&self) {
        let mut offsets = self.offsets.lock().unwrap_or_else(PoisonError::into_inner);
        for (level, offset) in offsets.iter_mut() {
            let queue = InternalQueue {
                topic: SCHEDULE_TOPIC,
                queue_id: level - 1,
            };
            *offset = queue.clamp(&self.store, *offset);
        }
    }

    /// Delivers due messages until `shutdown`, writing offsets every
    /// `flushConsumerOffsetInterval`.
    pub async fn run(self: Arc<Self>, shutdown: Shutdown, live: LiveSettings) {
        let mut last_persist = tokio::time::Instant::now();
        loop {
            let persist = last_persist.elapsed() >= live.flush_offsets_interval();
            let service = Arc::clone(&self);
            let pass = tokio::task::spawn_blocking(move || {
                if let Err(e) = service.deliver_due() {
                    tracing::warn!(error = %e, "delay delivery failed; retrying");
                }
                if persist {
                    service.persist_logged();
                }
            });
            if let Err(e) = pass.await {
                tracing::error!(error = %e, "delay delivery pass panicked");
            }
            if persist {
                last_persist = tokio::time::Instant::now();
            }
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                () = shutdown.wait() => break,
            }
        }
        let service = Arc::clone(&self);
        let _ = tokio::task::spawn_blocking(move || service.persist_logged()).await;
    }

    /// One pass over every level; returns how many messages were delivered.
    pub fn deliver_due(&self) -> Result<usize, BrokerError> {
        let levels = self.levels_ms.clone();
        let mut delivered = 0;
        for (index, delay_ms) in levels.iter().enumerate() {
            let level = i32::try_from(index + 1).unwrap_or(i32::MAX);
            delivered += self.deliver_level(level, *delay_ms)?;
        }
        Ok(delivered)
    }

    fn deliver_level(&self, level: i32, delay_ms: i64) -> Result<usize, BrokerError> {
        let queue = InternalQueue {
            topic: SCHEDULE_TOPIC,
            queue_id: level - 1,
        };
        let mut offset = self.offset(level);
        let mut delivered = 0;
        while delivered < PASS_PER_LEVEL_MAX {
            let read = queue.read(&self.store, offset, BATCH);
            if read.records.is_empty() {
                if read.next > offset {
                    // Unreadable units, or files cleaned past our position.
                    self.set_offset(level, read.next);
                }
                return Ok(delivered);
            }
            let now = self.clock.now_ms();
            let mut batch = Batch {
                done: offset,
                ..Batch::default()
            };
            let mut waiting = false;
            for (queue_offset, record) in &read.records {
                if record.store_timestamp.saturating_add(delay_ms) > now {
                    waiting = true;
                    break;
                }
                if let Some(message) = self.real_message(record) {
                    match self.store.append(std::slice::from_ref(&message)) {
                        Ok(outcome) => batch.last = Some(outcome),
                        Err(e) => {
                            batch.failed = Some(BrokerError::from(e));
                            break;
                        }
                    }
                    delivered += 1;
                }
                batch.done = queue_offset + 1;
            }
            if !waiting && batch.failed.is_none() {
                batch.done = read.next;
            }
            offset = self.settle(level, offset, batch)?;
            if waiting {
                return Ok(delivered);
            }
        }
        Ok(delivered)
    }

    /// Moves a level's offset past what a batch stored, once that is durable (SYNC_FLUSH);
    /// returns the new offset, or the batch's error after moving past what did succeed.
    fn settle(&self, level: i32, offset: i64, batch: Batch) -> Result<i64, BrokerError> {
        let durable = batch
            .last
            .as_ref()
            .is_none_or(|outcome| self.store.durable_blocking(outcome) == PutStatus::Ok);
        if !durable {
            return Err(BrokerError::SystemError(
                "delivered delay messages are not durable yet; retried".into(),
            ));
        }
        let done = batch.done.max(offset);
        self.set_offset(level, done);
        match batch.failed {
            Some(e) => Err(e),
            None => Ok(done),
        }
    }

    /// The message as it goes to its real topic; `None` (logged) when it names none.
    fn real_message(&self, record: &StoredRecord) -> Option<MessageToStore> {
        let mut props = parse_properties(std::str::from_utf8(&record.properties).unwrap_or(""));
        let topic = props.get("REAL_TOPIC").cloned();
        let queue_id = props.get("REAL_QID").and_then(|q| q.parse::<i32>().ok());
        let (Some(topic), Some(queue_id)) = (topic, queue_id) else {
            tracing::warn!(
                offset = record.physical_offset,
                "delay message without REAL_TOPIC/REAL_QID dropped"
            );
            return None;
        };
        for key in [
            "DELAY",
            "TIMER_DELIVER_MS",
            "TIMER_DELAY_SEC",
            "TIMER_DELAY_MS",
        ] {
            props.remove(key);
        }
        Some(reput::copy_of(
            record,
            (&topic, queue_id),
            encode_properties(&props),
            self.store_host,
        ))
    }

    /// Delivered offset per delay level (levels with no progress yet are absent, as in Java).
    pub fn level_offsets(&self) -> BTreeMap<i32, i64> {
        self.offsets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn offset(&self, level: i32) -> i64 {
        self.offsets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&level)
            .copied()
            .unwrap_or(0)
    }

    fn set_offset(&self, level: i32, offset: i64) {
        self.offsets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(level, offset);
    }

    /// A slave takes its master's `delayOffset.json` (GET_ALL_DELAY_OFFSET), so a promoted
    /// slave resumes delivery where the master was.
    pub fn adopt(&self, json: &[u8]) -> Result<(), BrokerError> {
        let doc: Document = apogee_protocol::body::from_json("delayOffset.json", json)?;
        *self.offsets.lock().unwrap_or_else(PoisonError::into_inner) = doc.offset_table;
        self.persist()
    }

    /// Writes `delayOffset.json`.
    pub fn persist(&self) -> Result<(), BrokerError> {
        persist::write_json(&self.path, &self.document(), &["offsetTable"])
    }

    fn document(&self) -> Document {
        Document {
            data_version: DataVersion::new(self.clock.now_ms()),
            offset_table: self
                .offsets
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    /// The level offsets as `delayOffset.json` holds them (GET_ALL_DELAY_OFFSET); `None` when
    /// no level has progress yet (Java answers "No delay offset in this broker").
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

    fn persist_logged(&self) {
        if let Err(e) = self.persist() {
            tracing::warn!(error = %e, "cannot write delayOffset.json");
        }
    }
}
