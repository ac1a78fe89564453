//! Calls to consumers that are not remoting clients (v5 clients of the gRPC endpoint): the
//! endpoint registers how to reach them, and CONSUME_MESSAGE_DIRECTLY for such a client becomes
//! the v5 `VerifyMessageCommand` on its Telemetry stream.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};

use bytes::Bytes;

/// A reply that may take a while.
pub type Pending = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// A way to reach clients that are not remoting clients.
pub trait OtherCalls: Send + Sync {
    /// Hands `record` (a stored message shown on `topic`) to `client_id` to consume; `None`
    /// when that client is not reachable this way.
    fn consume_directly(&self, client_id: &str, topic: &str, record: Bytes) -> Option<Pending>;
}

/// The registered way, if any.
#[derive(Clone, Default)]
pub struct OtherClients(Arc<RwLock<Option<Arc<dyn OtherCalls>>>>);

impl OtherClients {
    pub fn set(&self, calls: Arc<dyn OtherCalls>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Some(calls);
    }

    pub fn consume_directly(&self, client_id: &str, topic: &str, record: Bytes) -> Option<Pending> {
        let calls = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        calls.consume_directly(client_id, topic, record)
    }
}
