//! Periodic upkeep: drop clients silent for `channelExpiredTimeout` (closing their
//! connections and telling their groups), and write consumer offsets to disk.

use std::sync::Arc;
use std::time::Duration;

use apogee_runtime::{Clock, Shutdown};

use crate::live::LiveSettings;
use crate::manager::client_registry::ClientRegistry;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::subscription_group::SubscriptionGroups;
use crate::processor::notify_ids_changed;

/// What the upkeep loop touches.
pub struct Housekeeping {
    pub clients: ClientRegistry,
    pub groups: SubscriptionGroups,
    pub offsets: ConsumerOffsets,
    pub clock: Arc<dyn Clock>,
    pub channel_expired: Duration,
    /// `flushConsumerOffsetInterval`, which UPDATE_BROKER_CONFIG may change.
    pub live: LiveSettings,
}

impl Housekeeping {
    pub async fn run(self, shutdown: Shutdown) {
        loop {
            let period = self
                .live
                .flush_offsets_interval()
                .min(Duration::from_secs(10));
            tokio::select! {
                () = tokio::time::sleep(period) => {}
                () = shutdown.wait() => break,
            }
            self.expire_clients();
            self.persist_offsets().await;
        }
        self.persist_offsets().await;
    }

    /// Writes `consumerOffset.json` on a blocking thread (it fsyncs).
    async fn persist_offsets(&self) {
        let offsets = self.offsets.clone();
        match tokio::task::spawn_blocking(move || offsets.persist()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot write consumerOffset.json"),
            Err(e) => tracing::error!(error = %e, "writing consumerOffset.json panicked"),
        }
    }

    fn expire_clients(&self) {
        let timeout = i64::try_from(self.channel_expired.as_millis()).unwrap_or(i64::MAX);
        let (changed, dropped) = self.clients.expire(self.clock.now_ms(), timeout);
        for connection in dropped {
            tracing::info!(peer = %connection.peer(), "client channel expired; closing");
            connection.close();
        }
        for group in changed {
            notify_ids_changed(&self.clients, &self.groups, &group);
        }
    }
}
