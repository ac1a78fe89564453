//! The timer store's figures (REMOTING.md §6.7), which a slave copies from its master:
//!
//! * GET_TIMER_CHECK_POINT (60): the 56-byte `timercheck` (Java's `TimerCheckpoint.encode`).
//! * GET_TIMER_METRICS (61): `timermetrics` JSON, pending timers per real topic
//!   (`{"dataVersion":…,"timingCount":{"T":{"count":3,"timeStamp":…}}}`).

use std::sync::Arc;

use apogee_protocol::{RemotingCommand, RequestCode};
use apogee_remoting::Connection;
use bytes::Bytes;

use super::{Handler, blocking, success};
use crate::BrokerError;
use crate::service::timer::TimerService;

/// The timer family.
pub struct TimerAdminProcessor {
    pub timer: Arc<TimerService>,
}

impl Handler for TimerAdminProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::GET_TIMER_CHECK_POINT,
        RequestCode::GET_TIMER_METRICS,
    ];

    async fn handle(
        &self,
        _connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let timer = Arc::clone(&self.timer);
        let body = if request.request_code() == RequestCode::GET_TIMER_CHECK_POINT {
            let checkpoint = blocking(move || timer.checkpoint()).await??;
            Bytes::copy_from_slice(&checkpoint.encode())
        } else {
            Bytes::from(blocking(move || timer.metrics_json()).await?)
        };
        Ok(success(request).with_body(body))
    }
}
