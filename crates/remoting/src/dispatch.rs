//! Request dispatch: a table from request code to processor, plus what happens for codes
//! nobody registered and for processors that panic.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use futures::FutureExt;

use crate::Connection;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Handles requests of one or more codes. Returns the response; for oneway requests the
/// transport drops it.
pub trait RequestProcessor: Send + Sync + 'static {
    fn process(
        &self,
        connection: Connection,
        request: RemotingCommand,
    ) -> BoxFuture<RemotingCommand>;
}

type CloseHook = Arc<dyn Fn(&Connection) + Send + Sync>;

/// Runs before every request's processor (access control): `Err((code, remark))` answers the
/// request instead of it.
pub type RequestGuard =
    Arc<dyn Fn(&Connection, &RemotingCommand) -> Result<(), (ResponseCode, String)> + Send + Sync>;

/// Runs on every request sent over the connections this dispatcher serves (request signing).
pub type OutboundHook = Arc<dyn Fn(&mut RemotingCommand) + Send + Sync>;

/// Told about every request once it is answered (metrics): its code, the response code,
/// whether it was oneway, and how long dispatch took.
pub type RequestObserver = Arc<dyn Fn(RequestCode, ResponseCode, bool, Duration) + Send + Sync>;

/// Code → processor table, built once before serving.
#[derive(Default, Clone)]
pub struct Dispatcher {
    processors: HashMap<RequestCode, Arc<dyn RequestProcessor>>,
    on_close: Option<CloseHook>,
    guard: Option<RequestGuard>,
    outbound: Option<OutboundHook>,
    observer: Option<RequestObserver>,
    pass_end: Option<PassEndHook>,
}

/// Runs after the requests a connection read in one pass have each been served as far as
/// they go without waiting (see [`crate::more_requests_follow`]).
pub type PassEndHook = Arc<dyn Fn() + Send + Sync>;

impl Dispatcher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes `codes` to `processor`.
    pub fn register(&mut self, codes: &[RequestCode], processor: Arc<dyn RequestProcessor>) {
        for code in codes {
            self.processors.insert(*code, Arc::clone(&processor));
        }
    }

    /// This table without `codes` (they get REQUEST_CODE_NOT_SUPPORTED), for a second listener
    /// that serves all but them (the broker's VIP port serves everything but pulls).
    #[must_use]
    pub fn without(&self, codes: &[RequestCode]) -> Self {
        let mut copy = self.clone();
        for code in codes {
            copy.processors.remove(code);
        }
        copy
    }

    /// Every request passes `guard` first, whatever its code (known or not).
    pub fn guard(&mut self, guard: RequestGuard) {
        self.guard = Some(guard);
    }

    /// Every request sent over this dispatcher's connections passes `hook` (e.g. to be signed).
    pub fn on_outbound(&mut self, hook: OutboundHook) {
        self.outbound = Some(hook);
    }

    pub(crate) fn outbound_hook(&self) -> Option<OutboundHook> {
        self.outbound.clone()
    }

    /// Every answered request is reported to `observer`.
    pub fn observe(&mut self, observer: RequestObserver) {
        self.observer = Some(observer);
    }

    /// After every pass of requests a connection reads, `hook` runs (once they have been
    /// served as far as they go without waiting). A handler that leaves work to it while
    /// [`crate::more_requests_follow`] is true has it done for the whole pass at once.
    pub fn on_pass_end(&mut self, hook: PassEndHook) {
        self.pass_end = Some(hook);
    }

    pub(crate) fn has_pass_end(&self) -> bool {
        self.pass_end.is_some()
    }

    pub(crate) fn pass_end(&self) {
        if let Some(hook) = &self.pass_end {
            hook();
        }
    }

    /// Called once when any connection served by this dispatcher closes.
    pub fn on_close(&mut self, hook: impl Fn(&Connection) + Send + Sync + 'static) {
        self.on_close = Some(Arc::new(hook));
    }

    pub(crate) fn connection_closed(&self, connection: &Connection) {
        if let Some(hook) = &self.on_close {
            hook(connection);
        }
    }

    /// Runs the request through its processor (and reports it to the observer, if any).
    pub(crate) async fn dispatch(
        &self,
        connection: Connection,
        request: RemotingCommand,
    ) -> RemotingCommand {
        let Some(observer) = &self.observer else {
            return self.process(connection, request).await;
        };
        let (code, oneway, started) = (request.request_code(), request.is_oneway(), Instant::now());
        let response = self.process(connection, request).await;
        observer(code, response.response_code(), oneway, started.elapsed());
        response
    }

    /// Unknown codes, guard refusals and panics become error responses.
    async fn process(&self, connection: Connection, request: RemotingCommand) -> RemotingCommand {
        let code = request.request_code();
        if let Some(guard) = &self.guard
            && let Err((refusal, remark)) = guard(&connection, &request)
        {
            return RemotingCommand::response_to(&request, refusal, Some(remark));
        }
        let Some(processor) = self.processors.get(&code) else {
            let remark = format!(" request type {} not supported", code.0);
            return RemotingCommand::response_to(
                &request,
                ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
                Some(remark),
            );
        };
        let probe = RemotingCommand::response_to(&request, ResponseCode::SYSTEM_ERROR, None);
        match AssertUnwindSafe(processor.process(connection, request))
            .catch_unwind()
            .await
        {
            Ok(response) => response,
            Err(_) => {
                tracing::error!(%code, "processor panicked; answering SYSTEM_ERROR");
                probe.with_remark(format!("internal error while processing {code}"))
            }
        }
    }
}
