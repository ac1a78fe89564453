//! How POP is put together: one [`Popper`] shared by the remoting processors (and the v5 and
//! HTTP endpoints through `Broker::messaging`), and the revive loop.

use std::sync::Arc;

use apogee_remoting::Dispatcher;
use apogee_runtime::Clock;
use apogee_store::MessageStore;

use crate::Managers;
use crate::config::BrokerConfig;
use crate::ops::get::Getter;
use crate::ops::pop::Popper;
use crate::processor::{self, Identity};
use crate::service::pop_revive::PopRevive;

pub(crate) fn popper(
    config: &BrokerConfig,
    get: Getter,
    m: &Managers,
    clock: &Arc<dyn Clock>,
) -> Popper {
    Popper {
        get,
        states: m.pop.clone(),
        waiters: m.waiters.clone(),
        clock: Arc::clone(clock),
        retry_v2: config.raw.enable_retry_topic_v2,
        ticks: Arc::default(),
        polling: crate::ops::pop::Polling::default(),
    }
}

pub(crate) fn register(dispatcher: &mut Dispatcher, popper: &Popper, m: &Managers) {
    processor::register(
        dispatcher,
        processor::PopProcessor {
            pop: popper.clone(),
            replication: m.replication.clone(),
        },
    );
    processor::register(
        dispatcher,
        processor::AckProcessor {
            pop: popper.clone(),
            replication: m.replication.clone(),
        },
    );
}

/// The revive loop (spawned with the other delivery services).
pub(crate) fn revive(
    config: &BrokerConfig,
    store: &Arc<MessageStore>,
    m: &Managers,
    (identity, clock): (&Identity, &Arc<dyn Clock>),
) -> PopRevive {
    PopRevive {
        states: m.pop.clone(),
        records: store.clone(),
        put: m.putter(store, clock),
        topics: m.topics.clone(),
        groups: m.groups.clone(),
        clock: Arc::clone(clock),
        store_host: identity.store_host,
        retry_v2: config.raw.enable_retry_topic_v2,
        waiters: m.waiters.clone(),
    }
}
