//! Where transaction checks go when no remoting producer of the group is online: producers
//! connected another way (the v5 endpoint's Telemetry streams) register a sink; the check
//! service offers each check to them.

use std::sync::{Arc, PoisonError, RwLock};

use bytes::Bytes;

/// One orphaned transaction to ask a producer about.
#[derive(Debug, Clone)]
pub struct OrphanCheck {
    /// The half message's `PGROUP`.
    pub group: String,
    /// The topic the message will have once committed.
    pub real_topic: String,
    /// The message as its producer sent it (a stored record on the real topic).
    pub record: Bytes,
    /// The broker id (offset message id) of the half message copy to answer about.
    pub transaction_id: String,
    /// The message's `UNIQ_KEY`.
    pub msg_id: String,
}

/// A way to reach producers.
pub trait OrphanSink: Send + Sync {
    /// Hands the check to one producer; false when none could take it.
    fn check(&self, check: &OrphanCheck) -> bool;
}

/// The registered sinks.
#[derive(Clone, Default)]
pub struct OrphanChecks(Arc<RwLock<Vec<Arc<dyn OrphanSink>>>>);

impl OrphanChecks {
    pub fn add(&self, sink: Arc<dyn OrphanSink>) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sink);
    }

    /// Offers the check to each sink until one takes it.
    pub fn deliver(&self, check: &OrphanCheck) -> bool {
        let sinks = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        sinks.iter().any(|sink| sink.check(check))
    }
}
