//! The store cleanings an operator asks for (mqadmin cleanExpiredCQ, cleanUnusedTopic,
//! deleteExpiredCommitLog):
//!
//! * CLEAN_EXPIRED_CONSUMEQUEUE (306): deletes the consume queues of non-system topics whose
//!   every message has left the CommitLog (retention keeps each queue's last file).
//! * CLEAN_UNUSED_TOPIC (316): deletes the consume queues of topics the broker has no config
//!   for, except system and LMQ topics.
//! * DELETE_EXPIRED_COMMITLOG (329): the next 20 retention passes, the first at once, delete
//!   expired CommitLog files whatever the `deleteWhen` hour. TRIGGER_DELETE_FILES (27), which
//!   RocketMQ defines but serves nowhere, does the same here.
//!
//! All answer SUCCESS with no remark, as Java; the work runs on a blocking thread.

use std::sync::Arc;

use apogee_protocol::{RemotingCommand, RequestCode};
use apogee_remoting::Connection;
use apogee_store::StoreAdmin;

use super::{Handler, blocking, success};
use crate::BrokerError;
use crate::manager::topic_config::{TopicConfigs, is_system_topic};

/// Light message queues (LMQ) are never cleaned as unused: they have no topic config.
const LMQ_PREFIX: &str = "%LMQ%";

/// The store-cleaning family.
pub struct MaintenanceProcessor {
    pub store: Arc<dyn StoreAdmin>,
    pub topics: TopicConfigs,
}

impl Handler for MaintenanceProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::CLEAN_EXPIRED_CONSUMEQUEUE,
        RequestCode::CLEAN_UNUSED_TOPIC,
        RequestCode::DELETE_EXPIRED_COMMITLOG,
        RequestCode::TRIGGER_DELETE_FILES,
    ];

    async fn handle(
        &self,
        connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let store = Arc::clone(&self.store);
        let caller = connection.peer();
        match request.request_code() {
            RequestCode::CLEAN_EXPIRED_CONSUMEQUEUE => {
                let removed =
                    blocking(move || store.clean_expired_queues(&|t| !is_system_topic(t)))
                        .await??;
                tracing::info!(removed, %caller, "clean expired consume queues");
            }
            RequestCode::CLEAN_UNUSED_TOPIC => {
                let topics = self.topics.clone();
                let removed = blocking(move || {
                    store.clean_unused_topics(&|t| {
                        topics.get(t).is_none() && !is_system_topic(t) && !t.starts_with(LMQ_PREFIX)
                    })
                })
                .await??;
                tracing::info!(removed, %caller, "clean unused topics");
            }
            _ => {
                tracing::info!(%caller, "delete expired commit-log files manually");
                store.delete_expired_files_manually();
            }
        }
        Ok(success(request))
    }
}
