//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361): checks, server-side tag filtering, the
//! status → code table of REMOTING.md §3.2, the piggy-backed offset commit, and long polling:
//! a pull that would answer PULL_NOT_FOUND with FLAG_SUSPEND waits (without holding a thread)
//! until a message reaches its queue or its suspend time runs out, then reads again.
//!
//! A server-side offset reset (INVOKE_BROKER_TO_RESET_OFFSET) parks a target offset for the
//! group's queue and wakes the queue's waiters; the next read of that queue by that group,
//! suspended or not, answers PULL_OFFSET_MOVED with `nextBeginOffset` = the target instead
//! (Java's `OFFSET_RESET` status), which makes the client move there.

use apogee_protocol::header::message::{
    PullMessageRequestHeader, PullMessageResponseHeader, pull_sys_flag,
};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::Connection;
use apogee_store::{GetMessageResult, GetMessageStatus};
use bytes::BytesMut;
use tokio::time::Instant;

use super::Handler;
use crate::BrokerError;
use crate::ha::Replication;
use crate::ops::get::{GetPlan, Getter};
use crate::service::long_polling::PullWaiters;

/// The pull family.
pub struct PullProcessor {
    /// The checks, the subscription's filter and the read (shared with other ways of reading).
    pub get: Getter,
    pub waiters: PullWaiters,
    /// The role (a slave never takes a pull's commit offset nor answers OFFSET_MOVED) and
    /// `slaveReadEnable` (which broker id consumers are told to pull from next).
    pub replication: Replication,
}

impl Handler for PullProcessor {
    const CODES: &'static [RequestCode] =
        &[RequestCode::PULL_MESSAGE, RequestCode::LITE_PULL_MESSAGE];

    async fn handle(
        &self,
        connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let header: PullMessageRequestHeader = request.header()?;
        tracing::trace!(
            group = header.consumer_group,
            topic = header.topic,
            queue = header.queue_id,
            offset = header.queue_offset,
            sys_flag = header.sys_flag,
            "pull"
        );
        let plan = self.get.plan(&header)?;
        self.commit_piggybacked(&header);
        let suspend = header.sys_flag & pull_sys_flag::SUSPEND != 0 && parkable(request);
        let deadline = Instant::now() + self.get.hold(&header);
        let notify = self.waiters.notifier(&header.topic, header.queue_id);
        let mut ticket = None;
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(target) =
                self.get
                    .offsets
                    .take_reset(&header.consumer_group, &header.topic, header.queue_id)
            {
                return Ok(self.reset_response(request, &header, &plan, target));
            }
            let mut result = self.get.read(&header, &plan).await?;
            let code = self.code_for(&mut result, header.queue_offset);
            if !(suspend && code == ResponseCode::PULL_NOT_FOUND && Instant::now() < deadline) {
                return Ok(self.response(
                    request,
                    (&header.topic, &header.consumer_group, header.queue_id),
                    &plan,
                    result,
                    code,
                ));
            }
            if ticket.is_none() {
                let Some(parked) = self.waiters.try_park() else {
                    // Too many pulls wait already. SYSTEM_BUSY, not an empty answer: clients
                    // retry an empty answer at once (a busy loop), an error only after a pause.
                    return Err(BrokerError::SystemBusy(format!(
                        "[PULL_SUSPEND_FULL]broker busy: {} pulls already wait for messages (suspended_pulls_max); pull again later",
                        self.waiters.parked()
                    )));
                };
                ticket = Some(parked);
                // A parked pull does not hold up its connection's other requests.
                apogee_remoting::release_in_flight_slot();
            }
            tokio::select! {
                woken = tokio::time::timeout_at(deadline, notified) => {
                    if woken.is_err() {
                        let mut result = self.get.read(&header, &plan).await?;
                        let code = self.code_for(&mut result, header.queue_offset);
                        return Ok(self.response(request, (&header.topic, &header.consumer_group, header.queue_id), &plan, result, code));
                    }
                }
                // Nobody is left to answer: stop waiting (and free the parking place).
                () = connection.closed() => {
                    return Ok(self.response(request, (&header.topic, &header.consumer_group, header.queue_id), &plan, result, code));
                }
            }
        }
    }
}

/// Whether a pull may park: its frame carries no body (a pull never needs one) and small
/// headers, so a parked pull holds little memory.
fn parkable(request: &RemotingCommand) -> bool {
    const PARKED_HEADER_BYTES_MAX: usize = 16 * 1024;
    let header_bytes: usize = request
        .ext_fields
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum::<usize>()
        + request.remark.as_ref().map_or(0, String::len);
    request.body.is_empty() && header_bytes <= PARKED_HEADER_BYTES_MAX
}

impl PullProcessor {
    /// The consumed offset a pull carries (FLAG_COMMIT_OFFSET), taken on a master unless a
    /// reset is pending (the client's position is then the old one).
    fn commit_piggybacked(&self, header: &PullMessageRequestHeader) {
        if header.sys_flag & pull_sys_flag::COMMIT_OFFSET != 0
            && header.commit_offset >= 0
            && !self.replication.is_slave()
        {
            self.get.offsets.commit_unless_reset(
                &header.consumer_group,
                &header.topic,
                header.queue_id,
                header.commit_offset,
            );
        }
    }

    /// PULL_OFFSET_MOVED to a reset's target (Java's `OFFSET_RESET` status).
    fn reset_response(
        &self,
        request: &RemotingCommand,
        header: &PullMessageRequestHeader,
        plan: &GetPlan,
        target: i64,
    ) -> RemotingCommand {
        tracing::info!(
            group = header.consumer_group,
            topic = header.topic,
            queue = header.queue_id,
            from = header.queue_offset,
            to = target,
            "pull answered with a reset offset"
        );
        let response_header = PullMessageResponseHeader {
            suggest_which_broker_id: apogee_model::MASTER_ID,
            next_begin_offset: target,
            min_offset: self
                .get
                .store
                .min_offset_in_queue(&header.topic, header.queue_id),
            max_offset: self
                .get
                .store
                .max_offset_in_queue(&header.topic, header.queue_id),
            offset_delta: None,
            topic_sys_flag: Some(plan.topic_sys_flag),
            group_sys_flag: Some(plan.group_sys_flag),
            forbidden_type: None,
        };
        RemotingCommand::response_to(
            request,
            ResponseCode::PULL_OFFSET_MOVED,
            Some("OFFSET_RESET".into()),
        )
        .with_header(&response_header)
    }

    /// §3.2's code, except that a slave never answers PULL_OFFSET_MOVED: it may simply not
    /// have the data yet (Java's `offsetCheckInSlave` = false), so the consumer keeps its
    /// offset and retries, at the master.
    fn code_for(&self, result: &mut GetMessageResult, requested: i64) -> ResponseCode {
        let code = response_code(result, requested);
        if code == ResponseCode::PULL_OFFSET_MOVED && self.replication.is_slave() {
            result.next_begin_offset = requested;
            return ResponseCode::PULL_RETRY_IMMEDIATELY;
        }
        code
    }

    /// Which broker of the group the consumer should pull from next (Java's table,
    /// docs/ha-facts.md §3.1): the master unless `slaveReadEnable`; then the group's
    /// `whichBrokerWhenConsumeSlowly` when the data read is no longer in memory, else its
    /// `brokerId`.
    fn suggest(
        &self,
        (topic, group, queue_id): (&str, &str, i32),
        result: &GetMessageResult,
    ) -> i64 {
        if !self.replication.slave_read_enable() {
            return apogee_model::MASTER_ID;
        }
        let Some(config) = self.get.groups.get(group) else {
            return apogee_model::MASTER_ID;
        };
        let slow = result
            .queue_offsets
            .last()
            .is_some_and(|last| self.get.store.is_cold(topic, queue_id, *last));
        if slow {
            config.which_broker_when_consume_slowly
        } else {
            config.broker_id
        }
    }

    fn response(
        &self,
        request: &RemotingCommand,
        (topic, group, queue_id): (&str, &str, i32),
        plan: &GetPlan,
        result: GetMessageResult,
        code: ResponseCode,
    ) -> RemotingCommand {
        let suggest = if code == ResponseCode::PULL_RETRY_IMMEDIATELY && self.replication.is_slave()
        {
            apogee_model::MASTER_ID
        } else {
            self.suggest((topic, group, queue_id), &result)
        };
        let header = PullMessageResponseHeader {
            suggest_which_broker_id: suggest,
            next_begin_offset: result.next_begin_offset,
            min_offset: result.min_offset,
            max_offset: result.max_offset,
            offset_delta: None,
            topic_sys_flag: Some(plan.topic_sys_flag),
            group_sys_flag: Some(plan.group_sys_flag),
            forbidden_type: None,
        };
        let response =
            RemotingCommand::response_to(request, code, Some(status_name(result.status).into()))
                .with_header(&header);
        if code != ResponseCode::SUCCESS {
            return response;
        }
        self.get.stats.record_transferred(
            (topic, group),
            u64::try_from(result.messages.len()).unwrap_or(0),
            u64::try_from(result.total_bytes()).unwrap_or(0),
        );
        // One copy into a single body: the frame carries one contiguous body.
        let mut body = BytesMut::with_capacity(result.total_bytes());
        for message in &result.messages {
            body.extend_from_slice(message);
        }
        response.with_body(body.freeze())
    }
}

/// §3.2's status → response code table.
fn response_code(result: &GetMessageResult, requested: i64) -> ResponseCode {
    use GetMessageStatus as S;
    match result.status {
        S::Found => ResponseCode::SUCCESS,
        S::NoMatchedMessage | S::MessageWasRemoving => ResponseCode::PULL_RETRY_IMMEDIATELY,
        S::NoMessageInQueue | S::NoMatchedLogicQueue => {
            if requested == 0 {
                ResponseCode::PULL_NOT_FOUND
            } else {
                ResponseCode::PULL_OFFSET_MOVED
            }
        }
        S::OffsetTooSmall | S::OffsetOverflowBadly => ResponseCode::PULL_OFFSET_MOVED,
        S::OffsetOverflowOne | S::OffsetFoundNull => ResponseCode::PULL_NOT_FOUND,
        // An error, not PULL_OFFSET_MOVED: clients keep their offset and pull again later.
        S::QueueUnavailable => ResponseCode::SYSTEM_ERROR,
    }
}

/// Java's `GetMessageStatus` names, sent as the remark.
fn status_name(status: GetMessageStatus) -> &'static str {
    use GetMessageStatus as S;
    match status {
        S::Found => "FOUND",
        S::NoMatchedMessage => "NO_MATCHED_MESSAGE",
        S::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
        S::OffsetFoundNull => "OFFSET_FOUND_NULL",
        S::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
        S::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
        S::OffsetTooSmall => "OFFSET_TOO_SMALL",
        S::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
        S::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
        S::QueueUnavailable => "the consume queue cannot be opened now; pull again later",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_queue_that_cannot_be_opened_should_answer_an_error_not_an_offset_move() {
        let unavailable = GetMessageResult {
            status: GetMessageStatus::QueueUnavailable,
            next_begin_offset: 7,
            min_offset: 0,
            max_offset: 0,
            messages: Vec::new(),
            queue_offsets: Vec::new(),
        };
        assert_eq!(response_code(&unavailable, 7), ResponseCode::SYSTEM_ERROR);
        let absent = GetMessageResult {
            status: GetMessageStatus::NoMatchedLogicQueue,
            ..unavailable
        };
        assert_eq!(response_code(&absent, 7), ResponseCode::PULL_OFFSET_MOVED);
    }
}
