//! Topic configurations of this broker, persisted as `topics.json` (REMOTING.md §6.11), with
//! auto-creation from a template topic (TBW102) and the system topics created at start-up.
//! Every change bumps the data version and wakes the NameServer registration task.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use apogee_model::{DataVersion, Perm, TopicConfig, TopicName};
use apogee_protocol::body::register::TopicConfigSerializeWrapper;
use apogee_runtime::Clock;
use tokio::sync::Notify;

use crate::BrokerError;
use crate::manager::topic_journal::{Record, TopicJournal};
use crate::persist::{JsonTable, SaveHook};

/// The auto-create template topic.
pub const TBW102: &str = "TBW102";

/// Topics clients may never send to (REMOTING.md §3.1 step 3).
pub const SEND_FORBIDDEN: &[&str] = &[
    apogee_model::system_topic::SCHEDULE_TOPIC,
    crate::transaction::HALF_TOPIC,
    crate::transaction::OP_TOPIC,
    crate::transaction::CHECK_MAX_TIME_TOPIC,
    apogee_model::system_topic::TIMER_TOPIC,
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

pub use apogee_model::{SYSTEM_TOPICS, is_system_topic};

/// Shared handle to the topic table.
#[derive(Clone)]
pub struct TopicConfigs {
    inner: Arc<Inner>,
}

struct Inner {
    table: JsonTable<TopicConfigSerializeWrapper>,
    /// Every change, durable before an admin change answers; `topics.json` follows behind.
    journal: Arc<TopicJournal>,
    clock: Arc<dyn Clock>,
    changed: Notify,
    /// What changed since the registration task last took it ([`TopicConfigs::take_changes`]).
    pending: std::sync::Mutex<Pending>,
    /// Most topics the table may hold (`topics_max`).
    topics_max: usize,
}

#[derive(Default)]
struct Pending {
    topics: BTreeSet<String>,
    whole: bool,
}

/// What the NameServers have not been told yet.
#[derive(Debug, PartialEq)]
pub enum Changes {
    None,
    /// These topics changed (or are new); registering them alone is enough.
    Topics(TopicConfigSerializeWrapper),
    /// Something beyond single topics changed (a deletion, the version, a slave's copy).
    Whole,
}

/// More changed topics than this are registered with the whole table.
const INCREMENT_TOPICS_MAX: usize = 800;
/// The writer's pause after saving `topics.json`; the journal keeps changes durable meanwhile.
const SAVE_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

impl TopicConfigs {
    /// Loads `topics.json` (or its backup) from `config_dir`, with room for 100,000 topics.
    pub fn load(config_dir: &std::path::Path, clock: Arc<dyn Clock>) -> Result<Self, BrokerError> {
        Self::load_with_limit(config_dir, clock, 100_000)
    }

    /// Loads `topics.json`; new topics are refused once `topics_max` exist.
    pub fn load_with_limit(
        config_dir: &std::path::Path,
        clock: Arc<dyn Clock>,
        topics_max: usize,
    ) -> Result<Self, BrokerError> {
        let table = JsonTable::load(config_dir.join("topics.json"), || {
            TopicConfigSerializeWrapper {
                data_version: DataVersion::new(clock.now_ms()),
                topic_config_table: BTreeMap::new(),
            }
        })?;
        let (journal, records) = TopicJournal::open(&config_dir.join("topics.journal"))?;
        let journal = Arc::new(journal);
        table.set_hook(Arc::clone(&journal) as Arc<dyn SaveHook>, SAVE_PAUSE);
        if !records.is_empty() {
            tracing::info!(
                changes = records.len(),
                "topic changes replayed from topics.journal"
            );
            let mut t = table.write();
            for record in records {
                apply(&mut t, record, clock.now_ms());
            }
            drop(t);
            table.request_save();
        }
        Ok(Self {
            inner: Arc::new(Inner {
                table,
                journal,
                clock,
                changed: Notify::new(),
                pending: std::sync::Mutex::default(),
                topics_max,
            }),
        })
    }

    /// Applies a change under the journal's lock and appends it, so the journal's order is
    /// the table's; asks for a save and wakes the registration task. `change` returns the
    /// record to append, or `None` when it changed nothing.
    fn change<R>(
        &self,
        change: impl FnOnce(
            &mut TopicConfigSerializeWrapper,
        ) -> Result<(R, Option<Record>), BrokerError>,
    ) -> Result<R, BrokerError> {
        let mut end = self.inner.journal.lock();
        let (result, record) = change(&mut self.write())?;
        let Some(record) = record else {
            return Ok(result);
        };
        {
            let mut pending = self.pending();
            match &record {
                Record::Put(config) => {
                    pending.topics.insert(config.topic_name.as_str().to_owned());
                }
                Record::Delete(_) => pending.whole = true,
            }
        }
        let appended = end.append(&record, &self.inner.journal);
        drop(end);
        self.persist()?;
        self.inner.changed.notify_one();
        appended.map(|()| result)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.inner
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks the whole table for registration and wakes the registration task.
    fn changed_whole(&self) {
        self.pending().whole = true;
        self.inner.changed.notify_one();
    }

    /// What changed since the last call: the registration task registers it.
    pub fn take_changes(&self) -> Changes {
        let Pending { topics, whole } = std::mem::take(&mut *self.pending());
        if whole || topics.len() > INCREMENT_TOPICS_MAX {
            return Changes::Whole;
        }
        if topics.is_empty() {
            return Changes::None;
        }
        let table = self.read();
        let topic_config_table = topics
            .into_iter()
            .filter_map(|t| table.topic_config_table.get(&t).map(|c| (t, c.clone())))
            .collect::<BTreeMap<_, _>>();
        if topic_config_table.is_empty() {
            return Changes::Whole;
        }
        Changes::Topics(TopicConfigSerializeWrapper {
            data_version: table.data_version,
            topic_config_table,
        })
    }

    /// A registration of the pending changes failed: the next one sends the whole table.
    pub fn retry_whole(&self) {
        self.pending().whole = true;
    }

    /// Forgets pending changes (a whole registration is about to tell everything).
    pub fn clear_changes(&self) {
        *self.pending() = Pending::default();
    }

    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        self.read().topic_config_table.get(topic).cloned()
    }

    /// The whole table with its version (registration body, GET_ALL_TOPIC_CONFIG).
    pub fn snapshot(&self) -> TopicConfigSerializeWrapper {
        self.read().clone()
    }

    /// Resolves when the table changes (the registration task re-registers).
    pub async fn changed(&self) {
        self.inner.changed.notified().await;
    }

    /// Inserts or replaces a topic and asks for the table to be saved.
    pub fn put(&self, config: TopicConfig) -> Result<(), BrokerError> {
        self.change(|table| {
            let name = config.topic_name.as_str();
            if !table.topic_config_table.contains_key(name) {
                self.check_room(table.topic_config_table.len(), name)?;
            }
            let record = Record::Put(config);
            apply(table, record.clone(), self.inner.clock.now_ms());
            Ok(((), Some(record)))
        })
    }

    /// Bumps the table's version without changing a topic (the broker's permission changed,
    /// which changes what is registered), persists it and wakes the registration task.
    pub fn touch(&self) -> Result<(), BrokerError> {
        self.write().data_version.next(self.inner.clock.now_ms());
        self.persist()?;
        self.changed_whole();
        Ok(())
    }

    /// Controller mode: the master epoch goes into the table's `stateVersion`, so a
    /// NameServer prefers this master's registration over an older master's.
    pub fn set_state_version(&self, epoch: i64) {
        {
            let mut table = self.write();
            if table.data_version.state_version == epoch {
                return;
            }
            table.data_version.state_version = epoch;
            table.data_version.next(self.inner.clock.now_ms());
        }
        self.inner.table.request_save();
        self.changed_whole();
    }

    /// A slave takes its master's table when its version differs (Java's SlaveSynchronize);
    /// returns whether it changed.
    pub fn adopt(&self, master: TopicConfigSerializeWrapper) -> bool {
        {
            let mut table = self.write();
            if table.data_version == master.data_version {
                return false;
            }
            *table = master;
        }
        self.inner.table.request_save();
        self.changed_whole();
        true
    }

    /// Removes a topic and persists the table; `None` when it did not exist.
    pub fn delete(&self, topic: &str) -> Result<Option<TopicConfig>, BrokerError> {
        let removed = self.change(|table| {
            let Some(removed) = table.topic_config_table.get(topic).cloned() else {
                return Ok((None, None));
            };
            let record = Record::Delete(topic.to_owned());
            apply(table, record.clone(), self.inner.clock.now_ms());
            Ok((Some(removed), Some(record)))
        })?;
        if removed.is_some() {
            tracing::info!(topic, "deleted topic");
        }
        Ok(removed)
    }

    /// Returns the topic, creating it with `make` when it does not exist yet.
    pub fn get_or_create(
        &self,
        topic: &str,
        make: impl FnOnce() -> Result<TopicConfig, BrokerError>,
    ) -> Result<TopicConfig, BrokerError> {
        if let Some(existing) = self.get(topic) {
            return Ok(existing);
        }
        let config = make()?;
        let (config, created) = self.change(|table| {
            if let Some(raced) = table.topic_config_table.get(topic) {
                return Ok(((raced.clone(), false), None));
            }
            self.check_room(table.topic_config_table.len(), topic)?;
            let record = Record::Put(config.clone());
            apply(table, record.clone(), self.inner.clock.now_ms());
            Ok(((config, true), Some(record)))
        })?;
        if created {
            tracing::info!(
                topic,
                queues = config.write_queue_nums,
                perm = config.perm,
                "created topic"
            );
        }
        Ok(config)
    }

    /// A topic of `queues` queues with `perm`, created if absent (system, retry and DLQ topics).
    pub fn ensure(&self, topic: &str, queues: i32, perm: i32) -> Result<TopicConfig, BrokerError> {
        self.get_or_create(topic, || {
            let name =
                TopicName::new(topic).map_err(|e| BrokerError::InvalidParameter(e.to_string()))?;
            let mut config = TopicConfig::new(name);
            config.read_queue_nums = queues;
            config.write_queue_nums = queues;
            config.perm = perm;
            Ok(config)
        })
    }

    /// Java's `createTopicInSendMessageMethod`: a new topic modelled on `template`, which must
    /// exist and carry PERM_INHERIT; `requested` queues, at most the template's.
    pub fn create_from_template(
        &self,
        topic: &TopicName,
        template: &str,
        requested: i32,
    ) -> Result<TopicConfig, BrokerError> {
        self.get_or_create(topic.as_str(), || {
            let Some(base) = self.get(template) else {
                return Err(BrokerError::TopicNotExist(topic.as_str().to_owned()));
            };
            if !Perm(base.perm).is_inherited() {
                return Err(BrokerError::TopicNotExist(topic.as_str().to_owned()));
            }
            let queues = requested.clamp(1, base.write_queue_nums.max(1));
            let mut config = TopicConfig::new(topic.clone());
            config.read_queue_nums = queues;
            config.write_queue_nums = queues;
            config.perm = base.perm & !Perm::INHERIT;
            config.topic_sys_flag = base.topic_sys_flag;
            config.topic_filter_type = base.topic_filter_type;
            Ok(config)
        })
    }

    /// Refuses a new topic once `topics_max` exist.
    fn check_room(&self, count: usize, topic: &str) -> Result<(), BrokerError> {
        if count >= self.inner.topics_max {
            return Err(BrokerError::SystemError(format!(
                "cannot create topic {topic}: the broker already holds {count} topics, its limit (topics_max)"
            )));
        }
        Ok(())
    }

    /// Asks the writer thread to save the table (never blocks on file I/O).
    fn persist(&self) -> Result<(), BrokerError> {
        self.inner.table.request_save();
        Ok(())
    }

    /// Waits until every topic change so far is durable in the journal (admin changes answer
    /// after it).
    pub async fn persisted(&self) -> Result<(), BrokerError> {
        let journal = Arc::clone(&self.inner.journal);
        tokio::task::spawn_blocking(move || journal.sync())
            .await
            .map_err(|e| BrokerError::SystemError(format!("journal sync: {e}")))?
    }

    /// Waits until `topics.json` holds every change so far (a version-only change, which the
    /// journal does not record).
    pub async fn saved(&self) -> Result<(), BrokerError> {
        self.inner.table.saved().await
    }

    /// Writes the table now, on this thread (shutdown, tests).
    pub fn save_now(&self) -> Result<(), BrokerError> {
        self.inner.table.save_now()
    }

    /// How many topics the table holds.
    pub fn len(&self) -> usize {
        self.read().topic_config_table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, TopicConfigSerializeWrapper> {
        self.inner.table.read()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, TopicConfigSerializeWrapper> {
        self.inner.table.write()
    }
}

/// Applies one change to the table and bumps its version.
fn apply(table: &mut TopicConfigSerializeWrapper, record: Record, now_ms: i64) {
    match record {
        Record::Put(config) => {
            table
                .topic_config_table
                .insert(config.topic_name.as_str().to_owned(), config);
        }
        Record::Delete(topic) => {
            table.topic_config_table.remove(&topic);
        }
    }
    table.data_version.next(now_ms);
}

#[cfg(test)]
mod tests {
    use super::*;
    use apogee_runtime::ManualClock;

    fn topics(dir: &std::path::Path) -> TopicConfigs {
        TopicConfigs::load(dir, Arc::new(ManualClock::new(1_000))).unwrap()
    }

    #[test]
    fn given_template_with_inherit_should_create_with_at_most_its_queues_and_survive_reload() {
        let dir = tempfile::tempdir().unwrap();
        let t = topics(dir.path());
        t.ensure(TBW102, 8, Perm::READ_WRITE.0 | Perm::INHERIT)
            .unwrap();
        let name = TopicName::new("Orders").unwrap();
        let created = t.create_from_template(&name, TBW102, 16).unwrap();
        assert_eq!((created.write_queue_nums, created.perm), (8, 6));
        t.save_now().unwrap();
        let reloaded = topics(dir.path());
        assert_eq!(reloaded.get("Orders"), Some(created));
        assert!(reloaded.snapshot().data_version.counter >= 2);
    }

    #[test]
    fn given_deleted_topic_should_be_gone_after_reload() {
        let dir = tempfile::tempdir().unwrap();
        let t = topics(dir.path());
        let created = t.ensure("Gone", 2, Perm::READ_WRITE.0).unwrap();
        assert_eq!(t.delete("Gone").unwrap(), Some(created));
        assert_eq!(t.delete("Gone").unwrap(), None);
        t.save_now().unwrap();
        assert!(topics(dir.path()).get("Gone").is_none());
        assert!(is_system_topic("rmq_sys_wheel") && is_system_topic(TBW102));
        assert!(!is_system_topic("%RETRY%g"));
    }

    #[test]
    fn given_template_without_inherit_should_refuse_as_topic_not_exist() {
        let dir = tempfile::tempdir().unwrap();
        let t = topics(dir.path());
        t.ensure(TBW102, 8, Perm::READ_WRITE.0).unwrap();
        let err = t
            .create_from_template(&TopicName::new("X").unwrap(), TBW102, 4)
            .unwrap_err();
        assert!(matches!(err, BrokerError::TopicNotExist(_)));
        assert!(t.get("X").is_none());
    }

    #[test]
    fn given_changes_only_in_the_journal_should_replay_them_over_topics_json() {
        let dir = tempfile::tempdir().unwrap();
        let mut old = TopicConfigSerializeWrapper::default();
        for name in ["Kept", "Dropped"] {
            let config = TopicConfig::new(TopicName::new(name).unwrap());
            old.topic_config_table.insert(name.into(), config);
        }
        crate::persist::write_json(&dir.path().join("topics.json"), &old, &[]).unwrap();
        let mut added = TopicConfig::new(TopicName::new("Added").unwrap());
        added.write_queue_nums = 8;
        {
            let (journal, _) = TopicJournal::open(&dir.path().join("topics.journal")).unwrap();
            let mut end = journal.lock();
            end.append(&Record::Put(added.clone()), &journal).unwrap();
            end.append(&Record::Delete("Dropped".into()), &journal)
                .unwrap();
        }
        let t = topics(dir.path());
        assert_eq!(t.get("Added"), Some(added));
        assert!(t.get("Kept").is_some() && t.get("Dropped").is_none());
        assert_eq!(
            t.snapshot().data_version.counter,
            old.data_version.counter + 2
        );
    }

    #[test]
    fn given_puts_then_a_delete_should_hand_registration_the_topics_then_the_whole_table() {
        let dir = tempfile::tempdir().unwrap();
        let t = topics(dir.path());
        assert_eq!(t.take_changes(), Changes::None);
        t.ensure("A", 4, Perm::READ_WRITE.0).unwrap();
        t.ensure("B", 4, Perm::READ_WRITE.0).unwrap();
        t.ensure("A", 4, Perm::READ_WRITE.0).unwrap();
        let Changes::Topics(changed) = t.take_changes() else {
            panic!("expected the two topics")
        };
        assert_eq!(
            changed.topic_config_table.keys().collect::<Vec<_>>(),
            ["A", "B"]
        );
        assert_eq!(changed.data_version, t.snapshot().data_version);
        assert_eq!(t.take_changes(), Changes::None);
        t.delete("A").unwrap();
        assert_eq!(t.take_changes(), Changes::Whole);
    }

    #[test]
    fn given_java_topics_json_should_load_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("topics.json"),
            "{\n\t\"dataVersion\":{\n\t\t\"counter\":3,\n\t\t\"timestamp\":1700000000000\n\t},\n\t\"topicConfigTable\":{\n\t\t\"T\":{\n\t\t\t\"order\":false,\n\t\t\t\"perm\":6,\n\t\t\t\"readQueueNums\":4,\n\t\t\t\"topicFilterType\":\"SINGLE_TAG\",\n\t\t\t\"topicName\":\"T\",\n\t\t\t\"topicSysFlag\":0,\n\t\t\t\"writeQueueNums\":4\n\t\t}\n\t}\n}",
        )
        .unwrap();
        let t = topics(dir.path());
        assert_eq!(t.get("T").unwrap().read_queue_nums, 4);
        assert_eq!(t.snapshot().data_version.counter, 3);
    }

    #[test]
    fn given_the_topic_limit_should_refuse_new_topics_but_update_existing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let t =
            TopicConfigs::load_with_limit(dir.path(), Arc::new(ManualClock::new(1)), 16).unwrap();
        for i in 0..16 {
            t.ensure(&format!("T{i}"), 1, Perm::READ_WRITE.0).unwrap();
        }
        let err = t.ensure("T16", 1, Perm::READ_WRITE.0).unwrap_err();
        assert!(err.to_string().contains("topics_max"), "{err}");
        let mut existing = t.get("T3").unwrap();
        existing.write_queue_nums = 2;
        t.put(existing).unwrap();
        assert_eq!(t.len(), 16);
    }

    #[tokio::test]
    async fn given_a_burst_of_creates_should_be_journaled_then_saved_by_the_writer_thread() {
        let dir = tempfile::tempdir().unwrap();
        let t = topics(dir.path());
        for i in 0..200 {
            t.ensure(&format!("Burst{i}"), 1, Perm::READ_WRITE.0)
                .unwrap();
        }
        t.persisted().await.unwrap();
        let journal = dir.path().join("topics.journal");
        t.saved().await.unwrap();
        let text = std::fs::read_to_string(dir.path().join("topics.json")).unwrap();
        assert!(text.contains("\"Burst199\""));
        // The save that holds every change empties the journal.
        assert_eq!(std::fs::metadata(&journal).unwrap().len(), 0);
    }
}
