//! Periodic upkeep: drop clients silent for `channelExpiredTimeout` (closing their
//! connections and telling their groups), and write consumer offsets and the POP checkpoint to
//! disk.

use std::sync::Arc;
use std::time::Duration;

use apogee_runtime::{Clock, Shutdown};

use crate::live::LiveSettings;
use crate::manager::client_registry::ClientRegistry;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::pop_state::PopStates;
use crate::manager::subscription_group::SubscriptionGroups;
use crate::processor::notify_ids_changed;

/// What the upkeep loop touches.
pub struct Housekeeping {
    pub clients: ClientRegistry,
    pub groups: SubscriptionGroups,
    pub offsets: ConsumerOffsets,
    /// POP cursors and messages in flight, checkpointed with the offsets.
    pub pop: PopStates,
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

    /// Writes `consumerOffset.json`, then the POP checkpoint, on a blocking thread (both
    /// fsync).
    async fn persist_offsets(&self) {
        let (offsets, pop) = (self.offsets.clone(), self.pop.clone());
        let written = tokio::task::spawn_blocking(move || (offsets.persist(), pop.persist())).await;
        match written {
            Ok((offsets, pop)) => {
                if let Err(e) = offsets {
                    tracing::warn!(error = %e, "cannot write consumerOffset.json");
                }
                if let Err(e) = pop {
                    tracing::warn!(error = %e, "cannot write popCheckpoint.json");
                }
            }
            Err(e) => tracing::error!(error = %e, "writing consumer offsets panicked"),
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
