//! Request processors, one file per family. Each handler decodes its typed header/body,
//! calls one method on the route table or KV store, and encodes a typed response; errors
//! become responses in `error::respond`, the only place codes are chosen.

mod broker;
mod config;
mod kv;
mod route;

use std::sync::Arc;

use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{BoxFuture, Connection, Dispatcher, RequestProcessor};

pub use broker::BrokerProcessor;
pub use config::ConfigProcessor;
pub use kv::KvProcessor;
pub use route::RouteProcessor;

use crate::NamesrvError;
use crate::error::respond;

/// A synchronous handler family; none of the NameServer's requests wait on IO of their own.
pub trait Handler: Send + Sync + 'static {
    /// Codes this family serves.
    const CODES: &'static [RequestCode];

    fn handle(
        &self,
        connection: &Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError>;
}

struct SyncProcessor<H>(H);

impl<H: Handler> RequestProcessor for SyncProcessor<H> {
    fn process(
        &self,
        connection: Connection,
        request: RemotingCommand,
    ) -> BoxFuture<RemotingCommand> {
        // The handler runs here, before the future exists, so the dispatcher's own panic
        // guard would not cover it: a panic is caught here and answered like the broker's.
        let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.0.handle(&connection, &request)
        }));
        let response = match handled {
            Ok(outcome) => respond(&request, outcome),
            Err(_) => {
                tracing::error!(code = %request.request_code(), "handler panicked; answering SYSTEM_ERROR");
                RemotingCommand::response_to(
                    &request,
                    ResponseCode::SYSTEM_ERROR,
                    Some(format!(
                        "internal error while processing {}",
                        request.request_code()
                    )),
                )
            }
        };
        Box::pin(std::future::ready(response))
    }
}

/// Adds a handler family to the dispatcher under its codes.
pub fn register<H: Handler>(dispatcher: &mut Dispatcher, handler: H) {
    dispatcher.register(H::CODES, Arc::new(SyncProcessor(handler)));
}

/// SUCCESS with no header and no body.
pub(crate) fn success(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::SUCCESS, None)
}
