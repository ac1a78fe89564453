//! Request processors, one file per family. Each handler decodes its typed header/body,
//! calls the managers or the store, and builds a typed response; errors become responses in
//! `error::respond`, the only place codes are chosen. Access control runs before them, as the
//! dispatcher's guard (`crate::access`).

mod ack;
mod admin_acl;
mod admin_acl_file;
mod admin_config;
mod admin_consumer;
mod admin_group;
mod admin_ha;
mod admin_inspect;
mod admin_maintenance;
mod admin_reset;
mod admin_runtime;
mod admin_stats;
mod admin_timer;
mod admin_topic;
mod client;
mod end_transaction;
mod offset;
mod pop;
mod pull;
mod query;
mod send;
mod send_back;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{BoxFuture, Connection, Dispatcher, RequestProcessor};

pub use crate::ops::put::SendGate;
pub use ack::AckProcessor;
pub use admin_acl::AclAdminProcessor;
pub use admin_acl_file::AclFileProcessor;
pub use admin_config::ConfigAdminProcessor;
pub use admin_consumer::ConsumerCallProcessor;
pub use admin_group::GroupAdminProcessor;
pub use admin_ha::{ControllerModeProcessor, HaStatusProcessor};
pub use admin_inspect::InspectProcessor;
pub use admin_maintenance::MaintenanceProcessor;
pub use admin_reset::ResetOffsetProcessor;
pub use admin_runtime::RuntimeInfoProcessor;
pub use admin_stats::StatsProcessor;
pub use admin_timer::TimerAdminProcessor;
pub use admin_topic::TopicAdminProcessor;
pub use client::ClientProcessor;
pub(crate) use client::notify_ids_changed;
pub use end_transaction::EndTransactionProcessor;
pub use offset::OffsetProcessor;
pub use pop::PopProcessor;
pub use pull::PullProcessor;
pub use query::QueryProcessor;
pub use send::SendProcessor;
pub use send_back::SendBackProcessor;

use crate::BrokerError;
use crate::error::respond;

/// What every processor may know about the broker itself.
#[derive(Debug, Clone)]
pub struct Identity {
    pub cluster: String,
    pub broker_name: String,
    /// Client-reachable address, written into records and message ids.
    pub store_host: SocketAddr,
}

/// A handler family.
pub trait Handler: Send + Sync + 'static {
    /// Codes this family serves.
    const CODES: &'static [RequestCode];

    fn handle(
        &self,
        connection: Connection,
        request: &RemotingCommand,
    ) -> impl Future<Output = Result<RemotingCommand, BrokerError>> + Send;
}

struct HandlerProcessor<H> {
    handler: Arc<H>,
}

impl<H: Handler> RequestProcessor for HandlerProcessor<H> {
    fn process(
        &self,
        connection: Connection,
        request: RemotingCommand,
    ) -> BoxFuture<RemotingCommand> {
        let handler = Arc::clone(&self.handler);
        Box::pin(async move {
            let outcome = handler.handle(connection, &request).await;
            respond(&request, outcome)
        })
    }
}

/// Adds a handler family to the dispatcher under its codes.
pub fn register<H: Handler>(dispatcher: &mut Dispatcher, handler: H) {
    register_shared(dispatcher, Arc::new(handler));
}

/// [`register`] for a handler other endpoints use too.
pub fn register_shared<H: Handler>(dispatcher: &mut Dispatcher, handler: Arc<H>) {
    dispatcher.register(H::CODES, Arc::new(HandlerProcessor { handler }));
}

/// Runs `work` (store reads that may touch the disk) on a blocking thread, never on a network
/// worker.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, BrokerError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BrokerError::SystemError(format!("a blocking read failed: {e}")))
}

/// SUCCESS with no header and no body.
pub(crate) fn success(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::SUCCESS, None)
}
