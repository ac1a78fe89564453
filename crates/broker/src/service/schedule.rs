//! Delay-level delivery (REMOTING.md §6.7): queue `level − 1` of SCHEDULE_TOPIC_XXXX holds the
//! messages of each level in store order, so each level is delivered by walking its queue and
//! stopping at the first message not yet due (store time + the level's delay). A due message
//! is copied to its `REAL_TOPIC` / `REAL_QID` with the delay properties removed. Progress per
//! level is kept in `delayOffset.json` (`{"offsetTable":{1:12,2:0}}`), so delivery resumes
//! after a restart; a crash between delivery and the offset write delivers again (at least
//! once, as in RocketMQ).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apogee_model::DataVersion;
use apogee_protocol::record::{
    RecordAt, StoredRecord, decode_record, encode_properties, parse_properties,
};
use apogee_runtime::{Clock, Shutdown};
use apogee_store::dispatch::SCHEDULE_TOPIC;
use apogee_store::{MessageStore, MessageToStore};
use serde::{Deserialize, Serialize};

use crate::live::LiveSettings;
use crate::{BrokerError, persist};

/// How often levels are scanned when nothing is due sooner.
const TICK: Duration = Duration::from_millis(100);
const BATCH: usize = 32;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Document {
    data_version: DataVersion,
    offset_table: BTreeMap<i32, i64>,
}

/// The delay-level delivery service.
pub struct ScheduleService {
    store: Arc<MessageStore>,
    clock: Arc<dyn Clock>,
    offsets: Mutex<BTreeMap<i32, i64>>,
    path: PathBuf,
    store_host: std::net::SocketAddr,
}

impl ScheduleService {
    pub fn load(
        store: Arc<MessageStore>,
        clock: Arc<dyn Clock>,
        config_dir: &std::path::Path,
        store_host: std::net::SocketAddr,
    ) -> Result<Self, BrokerError> {
        let path = config_dir.join("delayOffset.json");
        let doc = persist::load_json::<Document>(&path)?.unwrap_or_default();
        Ok(Self {
            store,
            clock,
            offsets: Mutex::new(doc.offset_table),
            path,
            store_host,
        })
    }

    /// Delivers due messages until `shutdown`, writing offsets every
    /// `flushConsumerOffsetInterval`.
    pub async fn run(self: Arc<Self>, shutdown: Shutdown, live: LiveSettings) {
        let mut last_persist = tokio::time::Instant::now();
        loop {
            if let Err(e) = self.deliver_due() {
                tracing::warn!(error = %e, "delay delivery failed; retrying");
            }
            if last_persist.elapsed() >= live.flush_offsets_interval() {
                self.persist_logged();
                last_persist = tokio::time::Instant::now();
            }
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                () = shutdown.wait() => break,
            }
        }
        self.persist_logged();
    }

    /// One pass over every level; returns how many messages were delivered.
    pub fn deliver_due(&self) -> Result<usize, BrokerError> {
        let levels = self.store.config().delay_levels_ms.clone();
        let mut delivered = 0;
        for (index, delay_ms) in levels.iter().enumerate() {
            let level = i32::try_from(index + 1).unwrap_or(i32::MAX);
            delivered += self.deliver_level(level, *delay_ms)?;
        }
        Ok(delivered)
    }

    fn deliver_level(&self, level: i32, delay_ms: i64) -> Result<usize, BrokerError> {
        let queue_id = level - 1;
        let mut offset = self.offset(level);
        let mut delivered = 0;
        loop {
            let result = self.store.get_messages(
                SCHEDULE_TOPIC,
                queue_id,
                offset,
                (BATCH, usize::MAX),
                None,
            );
            if result.messages.is_empty() {
                if result.next_begin_offset > offset {
                    // Files were cleaned past our position.
                    self.set_offset(level, result.next_begin_offset);
                }
                return Ok(delivered);
            }
            let now = self.clock.now_ms();
            for (bytes, queue_offset) in result.messages.iter().zip(&result.queue_offsets) {
                let record = match decode_record(bytes, 0, false) {
                    Ok((RecordAt::Message(record), _)) => record,
                    _ => {
                        tracing::warn!(level, queue_offset, "unreadable delay record skipped");
                        offset = queue_offset + 1;
                        continue;
                    }
                };
                if record.store_timestamp + delay_ms > now {
                    self.set_offset(level, offset);
                    return Ok(delivered);
                }
                if let Some(message) = self.real_message(&record) {
                    self.store.append(std::slice::from_ref(&message))?;
                    delivered += 1;
                }
                offset = queue_offset + 1;
            }
            self.set_offset(level, offset);
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
        Some(MessageToStore {
            topic,
            queue_id,
            flag: record.flag,
            sys_flag: record.sys_flag,
            born_timestamp: record.born_timestamp,
            born_host: record.born_host,
            store_host: self.store_host,
            reconsume_times: record.reconsume_times,
            prepared_transaction_offset: record.prepared_transaction_offset,
            body: record.body.clone(),
            properties: encode_properties(&props),
        })
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

    /// Writes `delayOffset.json`.
    pub fn persist(&self) -> Result<(), BrokerError> {
        let doc = Document {
            data_version: DataVersion::new(self.clock.now_ms()),
            offset_table: self
                .offsets
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        };
        persist::write_json(&self.path, &doc, &["offsetTable"])
    }

    fn persist_logged(&self) {
        if let Err(e) = self.persist() {
            tracing::warn!(error = %e, "cannot write delayOffset.json");
        }
    }
}
