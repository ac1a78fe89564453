//! Consumer-group settings (`SubscriptionGroupConfig`), persisted as `subscriptionGroup.json`
//! (REMOTING.md §3.8, §6.11), auto-created on first use when `autoCreateSubscriptionGroup`.

use std::collections::BTreeMap;
use std::sync::Arc;

use apogee_model::{DataVersion, GroupName};
use apogee_runtime::Clock;
use serde::{Deserialize, Serialize};

use crate::BrokerError;
use crate::persist::JsonTable;

/// One group's settings with RocketMQ's defaults. Fields in fastjson's alphabetical order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupConfig {
    pub attributes: BTreeMap<String, String>,
    pub broker_id: i64,
    pub consume_broadcast_enable: bool,
    pub consume_enable: bool,
    pub consume_from_min_enable: bool,
    pub consume_message_orderly: bool,
    pub consume_timeout_minute: i32,
    pub group_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_retry_policy: Option<serde_json::Value>,
    pub group_sys_flag: i32,
    pub notify_consumer_ids_changed_enable: bool,
    pub retry_max_times: i32,
    pub retry_queue_nums: i32,
    pub which_broker_when_consume_slowly: i64,
}

impl Default for SubscriptionGroupConfig {
    fn default() -> Self {
        Self {
            attributes: BTreeMap::new(),
            broker_id: 0,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            consume_message_orderly: false,
            consume_timeout_minute: 15,
            group_name: String::new(),
            group_retry_policy: None,
            group_sys_flag: 0,
            notify_consumer_ids_changed_enable: true,
            retry_max_times: 16,
            retry_queue_nums: 1,
            which_broker_when_consume_slowly: 1,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Wrapper {
    data_version: DataVersion,
    subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

/// Shared handle to the group table.
#[derive(Clone)]
pub struct SubscriptionGroups {
    inner: Arc<Inner>,
}

struct Inner {
    table: JsonTable<Wrapper>,
    clock: Arc<dyn Clock>,
    auto_create: bool,
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
        let table = JsonTable::load(config_dir.join("subscriptionGroup.json"), || Wrapper {
            data_version: DataVersion::new(clock.now_ms()),
            ..Wrapper::default()
        })?;
        for group in SYSTEM_GROUPS {
            table
                .write()
                .subscription_group_table
                .entry((*group).to_owned())
                .or_insert_with(|| SubscriptionGroupConfig {
                    group_name: (*group).to_owned(),
                    ..SubscriptionGroupConfig::default()
                });
        }
        Ok(Self {
            inner: Arc::new(Inner {
                table,
                clock,
                auto_create,
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
        let config = SubscriptionGroupConfig {
            group_name: group.to_owned(),
            ..SubscriptionGroupConfig::default()
        };
        self.put(config.clone())?;
        tracing::info!(group, "created subscription group");
        Ok(config)
    }

    pub fn put(&self, config: SubscriptionGroupConfig) -> Result<(), BrokerError> {
        {
            let mut table = self.inner.table.write();
            table
                .subscription_group_table
                .insert(config.group_name.clone(), config);
            table.data_version.next(self.inner.clock.now_ms());
        }
        self.inner.table.save()
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
