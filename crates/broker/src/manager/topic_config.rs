//! Topic configurations of this broker, persisted as `topics.json` (REMOTING.md §6.11), with
//! auto-creation from a template topic (TBW102) and the system topics created at start-up.
//! Every change bumps the data version and wakes the NameServer registration task.

use std::collections::BTreeMap;
use std::sync::Arc;

use apogee_model::{DataVersion, Perm, TopicConfig, TopicName};
use apogee_protocol::body::register::TopicConfigSerializeWrapper;
use apogee_runtime::Clock;
use tokio::sync::Notify;

use crate::BrokerError;
use crate::persist::JsonTable;

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
    clock: Arc<dyn Clock>,
    changed: Notify,
    /// Most topics the table may hold (`topics_max`).
    topics_max: usize,
}

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
        Ok(Self {
            inner: Arc::new(Inner {
                table,
                clock,
                changed: Notify::new(),
                topics_max,
            }),
        })
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
        {
            let mut table = self.write();
            let name = config.topic_name.as_str();
            if !table.topic_config_table.contains_key(name) {
                self.check_room(table.topic_config_table.len(), name)?;
            }
            table.topic_config_table.insert(name.to_owned(), config);
            table.data_version.next(self.inner.clock.now_ms());
        }
        self.persist()?;
        self.inner.changed.notify_one();
        Ok(())
    }

    /// Bumps the table's version without changing a topic (the broker's permission changed,
    /// which changes what is registered), persists it and wakes the registration task.
    pub fn touch(&self) -> Result<(), BrokerError> {
        self.write().data_version.next(self.inner.clock.now_ms());
        self.persist()?;
        self.inner.changed.notify_one();
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
        self.inner.changed.notify_one();
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
        self.inner.changed.notify_one();
        true
    }

    /// Removes a topic and persists the table; `None` when it did not exist.
    pub fn delete(&self, topic: &str) -> Result<Option<TopicConfig>, BrokerError> {
        let removed = {
            let mut table = self.write();
            let removed = table.topic_config_table.remove(topic);
            if removed.is_some() {
                table.data_version.next(self.inner.clock.now_ms());
            }
            removed
        };
        if removed.is_some() {
            tracing::info!(topic, "deleted topic");
            self.persist()?;
            self.inner.changed.notify_one();
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
        {
            let mut table = self.write();
            if let Some(raced) = table.topic_config_table.get(topic) {
                return Ok(raced.clone());
            }
            self.check_room(table.topic_config_table.len(), topic)?;
            table
                .topic_config_table
                .insert(topic.to_owned(), config.clone());
            table.data_version.next(self.inner.clock.now_ms());
        }
        tracing::info!(
            topic,
            queues = config.write_queue_nums,
            perm = config.perm,
            "created topic"
        );
        self.persist()?;
        self.inner.changed.notify_one();
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

    /// Waits until every change so far is on disk (admin changes answer after it).
    pub async fn persisted(&self) -> Result<(), BrokerError> {
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
    async fn given_a_burst_of_creates_should_be_saved_by_the_writer_thread() {
        let dir = tempfile::tempdir().unwrap();
        let t = topics(dir.path());
        for i in 0..200 {
            t.ensure(&format!("Burst{i}"), 1, Perm::READ_WRITE.0)
                .unwrap();
        }
        t.persisted().await.unwrap();
        let text = std::fs::read_to_string(dir.path().join("topics.json")).unwrap();
        assert!(text.contains("\"Burst199\""));
    }
}
