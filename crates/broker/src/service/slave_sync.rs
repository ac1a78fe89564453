//! A slave copies its master's metadata (Java's SlaveSynchronize, docs/ha-facts.md §4):
//! topics (GET_ALL_TOPIC_CONFIG 21), consumer offsets (43), delay offsets (45) and
//! subscription groups (201), every `slave_sync_interval_ms` (Java 4.9: 10 s), from the
//! master address the NameServers' registration reply gave.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use apogee_protocol::body::admin::SubscriptionGroupWrapper;
use apogee_protocol::body::from_json;
use apogee_protocol::body::register::TopicConfigSerializeWrapper;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::RemotingClient;
use apogee_runtime::Shutdown;
use bytes::Bytes;
use serde::Deserialize;

use crate::BrokerError;
use crate::ha::Replication;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::subscription_group::SubscriptionGroups;
use crate::manager::topic_config::TopicConfigs;
use crate::service::schedule::ScheduleService;

const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// What a slave copies, and from where.
#[derive(Clone)]
pub struct SlaveSync {
    pub client: RemotingClient,
    pub replication: Replication,
    pub topics: TopicConfigs,
    pub groups: SubscriptionGroups,
    pub offsets: ConsumerOffsets,
    pub schedule: Arc<ScheduleService>,
    pub timer: Arc<crate::service::timer::TimerService>,
    pub interval: Duration,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct OffsetDocument {
    offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

impl SlaveSync {
    /// Copies at once, then every interval, until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) {
        loop {
            if let Err(e) = self.sync_now().await {
                tracing::warn!(error = %e, "copying metadata from the master failed; retrying next period");
            }
            tokio::select! {
                () = tokio::time::sleep(self.interval) => {}
                () = shutdown.wait() => return,
            }
        }
    }

    /// One copy of everything; `Ok(false)` when the master is not known yet.
    pub async fn sync_now(&self) -> Result<bool, BrokerError> {
        let Some(master) = self.replication.master_addr() else {
            return Ok(false);
        };
        if let Some(body) = self
            .fetch(&master, RequestCode::GET_ALL_TOPIC_CONFIG)
            .await?
        {
            let table: TopicConfigSerializeWrapper = from_json("topic configs", &body)?;
            if self.topics.adopt(table) {
                tracing::info!(%master, "topic configs copied from the master");
            }
        }
        if let Some(body) = self
            .fetch(&master, RequestCode::GET_ALL_CONSUMER_OFFSET)
            .await?
        {
            let doc: OffsetDocument = from_json("consumer offsets", &body)?;
            self.offsets.adopt(doc.offset_table);
            self.offsets.persist()?;
        }
        if let Some(body) = self
            .fetch(&master, RequestCode::GET_ALL_DELAY_OFFSET)
            .await?
        {
            self.schedule.adopt(&body)?;
        }
        if let Some(body) = self
            .fetch(&master, RequestCode::GET_TIMER_CHECK_POINT)
            .await?
        {
            let timer = Arc::clone(&self.timer);
            tokio::task::spawn_blocking(move || timer.adopt(&body))
                .await
                .map_err(|e| BrokerError::SystemError(format!("timer checkpoint copy: {e}")))??;
        }
        let code = RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG;
        if let Some(body) = self.fetch(&master, code).await? {
            let groups: SubscriptionGroupWrapper = from_json("subscription groups", &body)?;
            if self.groups.adopt(groups) {
                tracing::info!(%master, "subscription groups copied from the master");
            }
        }
        Ok(true)
    }

    /// The body of a successful answer; `None` when the master has nothing of that kind
    /// (it answers SYSTEM_ERROR "No … in this broker" for empty offset tables).
    async fn fetch(&self, master: &str, code: RequestCode) -> Result<Option<Bytes>, BrokerError> {
        let request = RemotingCommand::bare_request(code);
        let response = self.client.invoke(master, request, CALL_TIMEOUT).await?;
        match response.response_code() {
            ResponseCode::SUCCESS => Ok(Some(response.body)),
            ResponseCode::SYSTEM_ERROR => Ok(None),
            other => Err(BrokerError::SystemError(format!(
                "the master answered {code} with {other}: {}",
                response.remark.unwrap_or_default()
            ))),
        }
    }
}
