//! Consumer-group settings (`SubscriptionGroupConfig`), persisted as `subscriptionGroup.json`
//! (REMOTING.md §3.8, §6.11), auto-created on first use when `autoCreateSubscriptionGroup`.

use std::sync::Arc;

use apogee_model::{DataVersion, GroupName};
pub use apogee_protocol::body::admin::SubscriptionGroupConfig;
use apogee_protocol::body::admin::SubscriptionGroupWrapper as Wrapper;
use apogee_runtime::Clock;

use crate::BrokerError;
use crate::persist::JsonTable;

/// Shared handle to the group table.
#[derive(Clone)]
pub struct SubscriptionGroups {
    inner: Arc<Inner>,
}

struct Inner {
    table: JsonTable<Wrapper>,
    clock: Arc<dyn Clock>,
    auto_create: bool,
    /// Most groups the table may hold (`subscription_groups_max`).
    groups_max: usize,
}

/// Groups every broker has (`SubscriptionGroupManager.init`).
const SYSTEM_GROUPS: &[&str] = &[
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
];

impl SubscriptionGroups {
    pub fn load(
        config_dir: &std::path::Path,
        clock: Arc<dyn Clock>,
        auto_create: bool,
    ) -> Result<Self, BrokerError> {
        Self::load_with_limit(config_dir, clock, auto_create, 100_000)
    }

    /// Loads `subscriptionGroup.json`; new groups are refused once `groups_max` exist.
    pub fn load_with_limit(
        config_dir: &std::path::Path,
        clock: Arc<dyn Clock>,
        auto_create: bool,
        groups_max: usize,
    ) -> Result<Self, BrokerError> {
        let table = JsonTable::load(config_dir.join("subscriptionGroup.json"), || Wrapper {
            data_version: DataVersion::new(clock.now_ms()),
            forbidden_table: std::collections::BTreeMap::new(),
            subscription_group_table: std::collections::BTreeMap::new(),
        })?;
        for group in SYSTEM_GROUPS {
            table
                .write()
                .subscription_group_table
                .entry((*group).to_owned())
                .or_insert_with(|| SubscriptionGroupConfig::named(group));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                table,
                clock,
                auto_create,
                groups_max,
            }),
        })
    }

    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.read().subscription_group_table.get(group).cloned()
    }

    /// The group's config; created with defaults when absent and auto-creation is on,
    /// otherwise SUBSCRIPTION_GROUP_NOT_EXIST.
    pub fn find_or_create(&self, group: &str) -> Result<SubscriptionGroupConfig, BrokerError> {
        if let Some(config) = self.get(group) {
            return Ok(config);
        }
        if !self.inner.auto_create {
            return Err(BrokerError::GroupNotExist(group.to_owned()));
        }
        GroupName::new(group).map_err(|e| BrokerError::InvalidParameter(e.to_string()))?;
        let config = SubscriptionGroupConfig::named(group);
        self.put(config.clone())?;
        tracing::info!(group, "created subscription group");
        Ok(config)
    }

    pub fn put(&self, config: SubscriptionGroupConfig) -> Result<(), BrokerError> {
        {
            let mut table = self.inner.table.write();
            let count = table.subscription_group_table.len();
            if !table
                .subscription_group_table
                .contains_key(&config.group_name)
                && count >= self.inner.groups_max
            {
                return Err(BrokerError::SystemError(format!(
                    "cannot create group {}: the broker already holds {count} groups, its limit (subscription_groups_max)",
                    config.group_name
                )));
            }
            table
                .subscription_group_table
                .insert(config.group_name.clone(), config);
            table.data_version.next(self.inner.clock.now_ms());
        }
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

    /// Removes a group and persists; false when it did not exist (not an error, as in Java).
    pub fn delete(&self, group: &str) -> Result<bool, BrokerError> {
        {
            let mut table = self.inner.table.write();
            if table.subscription_group_table.remove(group).is_none() {
                return Ok(false);
            }
            table.data_version.next(self.inner.clock.now_ms());
        }
        self.inner.table.request_save();
        Ok(true)
    }

    /// Whether `group` may not pull `topic` (UPDATE_AND_GET_GROUP_FORBIDDEN).
    pub fn read_forbidden(&self, group: &str, topic: &str) -> bool {
        self.read()
            .forbidden_table
            .get(group)
            .and_then(|topics| topics.get(topic))
            .is_some_and(|bits| bits & Wrapper::READ_FORBIDDEN != 0)
    }

    /// Forbids or allows `group` to pull `topic`, and persists. Allowing clears only this
    /// topic's bit (Java drops every topic of the group). Pairs are bounded by
    /// `subscription_groups_max`.
    pub fn set_read_forbidden(
        &self,
        group: &str,
        topic: &str,
        forbidden: bool,
    ) -> Result<(), BrokerError> {
        {
            let mut table = self.inner.table.write();
            let old = table
                .forbidden_table
                .get(group)
                .and_then(|t| t.get(topic))
                .copied()
                .unwrap_or(0);
            let bits = if forbidden {
                old | Wrapper::READ_FORBIDDEN
            } else {
                old & !Wrapper::READ_FORBIDDEN
            };
            if bits == old {
                return Ok(());
            }
            let pairs: usize = table.forbidden_table.values().map(|t| t.len()).sum();
            if old == 0 && pairs >= self.inner.groups_max {
                return Err(BrokerError::SystemError(format!(
                    "cannot forbid {group}@{topic}: the broker already holds {pairs} forbidden pairs, its limit (subscription_groups_max)"
                )));
            }
            let topics = table.forbidden_table.entry(group.to_owned()).or_default();
            if bits == 0 {
                topics.remove(topic);
                if topics.is_empty() {
                    table.forbidden_table.remove(group);
                }
            } else {
                topics.insert(topic.to_owned(), bits);
            }
            table.data_version.next(self.inner.clock.now_ms());
        }
        tracing::info!(group, topic, forbidden, "group read permission changed");
        self.inner.table.request_save();
        Ok(())
    }

    /// The whole table with its version (GET_ALL_SUBSCRIPTIONGROUP_CONFIG).
    pub fn snapshot(&self) -> Wrapper {
        self.read().clone()
    }

    /// A slave takes its master's groups when their version differs (Java's
    /// SlaveSynchronize); returns whether they changed.
    pub fn adopt(&self, master: Wrapper) -> bool {
        {
            let mut table = self.inner.table.write();
            if table.data_version == master.data_version {
                return false;
            }
            *table = master;
        }
        self.inner.table.request_save();
        true
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Wrapper> {
        self.inner.table.read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apogee_runtime::ManualClock;

    #[test]
    fn given_auto_create_should_create_with_java_defaults_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(5));
        let groups = SubscriptionGroups::load(dir.path(), clock.clone(), true).unwrap();
        let g = groups.find_or_create("g1").unwrap();
        groups.save_now().unwrap();
        assert_eq!(
            (g.retry_max_times, g.retry_queue_nums, g.consume_enable),
            (16, 1, true)
        );
        let text = std::fs::read_to_string(dir.path().join("subscriptionGroup.json")).unwrap();
        assert!(
            text.contains(r#""g1":{"attributes":{},"brokerId":0,"consumeBroadcastEnable":true"#),
            "{text}"
        );
        let again = SubscriptionGroups::load(dir.path(), clock, false).unwrap();
        assert_eq!(again.get("g1"), Some(g));
    }

    #[test]
    fn given_deleted_group_should_be_gone_after_reload_and_bump_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(5));
        let groups = SubscriptionGroups::load(dir.path(), clock.clone(), true).unwrap();
        groups.put(SubscriptionGroupConfig::named("g1")).unwrap();
        let before = groups.snapshot().data_version.counter;
        assert!(groups.delete("g1").unwrap());
        assert!(!groups.delete("g1").unwrap());
        assert_eq!(groups.snapshot().data_version.counter, before + 1);
        groups.save_now().unwrap();
        let again = SubscriptionGroups::load(dir.path(), clock, false).unwrap();
        assert!(again.get("g1").is_none());
        assert!(
            again
                .snapshot()
                .subscription_group_table
                .contains_key("TOOLS_CONSUMER")
        );
    }

    #[test]
    fn given_forbidden_pairs_should_persist_clear_one_topic_only_and_stay_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(5));
        let groups =
            SubscriptionGroups::load_with_limit(dir.path(), clock.clone(), true, 2).unwrap();
        groups.set_read_forbidden("g", "A", true).unwrap();
        groups.set_read_forbidden("g", "B", true).unwrap();
        assert!(groups.set_read_forbidden("h", "A", true).is_err(), "limit");
        groups.set_read_forbidden("g", "B", true).unwrap();
        groups.set_read_forbidden("g", "A", false).unwrap();
        assert!(!groups.read_forbidden("g", "A"));
        assert!(groups.read_forbidden("g", "B"), "only A was allowed again");
        groups.save_now().unwrap();
        let again = SubscriptionGroups::load(dir.path(), clock, false).unwrap();
        assert!(again.read_forbidden("g", "B"));
        assert!(!again.read_forbidden("g", "A"));
        again.set_read_forbidden("g", "B", false).unwrap();
        assert!(again.snapshot().forbidden_table.is_empty());
    }

    #[test]
    fn given_auto_create_off_should_refuse_unknown_groups() {
        let dir = tempfile::tempdir().unwrap();
        let groups =
            SubscriptionGroups::load(dir.path(), Arc::new(ManualClock::new(5)), false).unwrap();
        assert!(matches!(
            groups.find_or_create("nope"),
            Err(BrokerError::GroupNotExist(_))
        ));
        assert!(groups.get("TOOLS_CONSUMER").is_some());
    }
}
