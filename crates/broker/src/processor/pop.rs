//! POP_MESSAGE (200050), PEEK_MESSAGE (200052), NOTIFICATION (200054) and POLLING_INFO
//! (200055) over remoting, on `ops::pop`. Answers as RocketMQ 5.x's broker does: messages
//! with `startOffsetInfo`/`msgOffsetInfo` (from which clients build each receipt handle),
//! POLLING_TIMEOUT when nothing came within the poll time (never PULL_NOT_FOUND), POLLING_FULL
//! when too many wait, PULL_NOT_FOUND only for an empty peek.

use std::time::Duration;

use apogee_protocol::body::client::SubscriptionData;
use apogee_protocol::header::pop::{
    NotificationRequestHeader, NotificationResponseHeader, PeekMessageRequestHeader,
    PollingInfoRequestHeader, PollingInfoResponseHeader, PopMessageRequestHeader,
    PopMessageResponseHeader,
};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::Connection;
use bytes::BytesMut;

use super::Handler;
use crate::BrokerError;
use crate::ha::Replication;
use crate::manager::pop_state::QueueKey;
use crate::ops::pop::{INVISIBLE_MAX_MS, POP_BATCH_MAX, PopOutcome, PopRequest, Popper};

/// How late past `bornTime + pollTime` a pop may arrive before it is refused.
const LATE_MAX_MS: i64 = 500;

/// The POP family.
pub struct PopProcessor {
    pub pop: Popper,
    /// A slave pops nothing (popping moves offsets).
    pub replication: Replication,
}

impl Handler for PopProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::POP_MESSAGE,
        RequestCode::PEEK_MESSAGE,
        RequestCode::NOTIFICATION,
        RequestCode::POLLING_INFO,
    ];

    async fn handle(
        &self,
        connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        match request.request_code() {
            RequestCode::POP_MESSAGE => self.pop_message(connection, request).await,
            RequestCode::PEEK_MESSAGE => self.peek(request).await,
            RequestCode::NOTIFICATION => self.notification(connection, request).await,
            _ => self.polling_info(request),
        }
    }
}

impl PopProcessor {
    async fn pop_message(
        &self,
        connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let h: PopMessageRequestHeader = request.header()?;
        if self.replication.is_slave() {
            return Err(BrokerError::slave_refuses_writes());
        }
        let now = self.pop.clock.now_ms();
        let born = if h.born_time > 0 { h.born_time } else { now };
        let host = self.pop.get.identity.store_host;
        if now.saturating_sub(born).saturating_sub(h.poll_time) > LATE_MAX_MS {
            return Ok(empty(
                request,
                ResponseCode::POLLING_TIMEOUT,
                &format!("the broker[{host}] pop message is timeout too much"),
            ));
        }
        if h.max_msg_nums > POP_BATCH_MAX || h.max_msg_nums < 1 {
            return Err(BrokerError::InvalidParameter(format!(
                "the broker[{host}] pop message's num is greater than 32 or less than 1"
            )));
        }
        if !(0..=INVISIBLE_MAX_MS).contains(&h.invisible_time) {
            return Err(BrokerError::InvalidParameter(format!(
                "invisibleTime {} is out of [0, {INVISIBLE_MAX_MS}]",
                h.invisible_time
            )));
        }
        let pop = PopRequest {
            group: h.consumer_group.clone(),
            subscription: subscription(&h.topic, h.exp_type.as_deref(), h.exp.as_deref()),
            queue_id: h.queue_id.max(-1),
            max: usize::try_from(h.max_msg_nums).unwrap_or(1),
            invisible_ms: h.invisible_time,
            orderly: h.order.unwrap_or(false),
            init_mode: h.init_mode,
        };
        let wait = born.saturating_add(h.poll_time).saturating_sub(now).max(0);
        let wait = Duration::from_millis(u64::try_from(wait).unwrap_or(0))
            .min(self.pop.get.limits.growth.suspend_max);
        let outcome = self.pop.pop(&pop, wait, connection.closed()).await?;
        Ok(answer(request, outcome))
    }

    /// Messages from the group's position without popping them.
    async fn peek(&self, request: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
        let h: PeekMessageRequestHeader = request.header()?;
        let all = subscription(&h.topic, None, None);
        let (plan, queues) = self.pop.get.plan_with(&h.consumer_group, &all)?;
        let max = usize::try_from(h.max_msg_nums.clamp(1, POP_BATCH_MAX)).unwrap_or(1);
        let ids: Vec<i32> = if h.queue_id >= 0 {
            vec![h.queue_id]
        } else {
            (0..queues).collect()
        };
        let mut body = BytesMut::new();
        let (mut found, mut rest) = (0, 0);
        for queue_id in ids {
            let store = &self.pop.get.store;
            let start = self
                .pop
                .get
                .offsets
                .query(&h.consumer_group, &h.topic, queue_id)
                .unwrap_or_else(|| store.min_offset_in_queue(&h.topic, queue_id));
            if found >= max {
                rest += (store.max_offset_in_queue(&h.topic, queue_id) - start).max(0);
                continue;
            }
            let result = self
                .pop
                .get
                .read_at(
                    (&h.topic, queue_id, start),
                    (max - found, self.pop.get.limits.pull_bytes_max),
                    &plan,
                )
                .await?;
            rest += (result.max_offset - result.next_begin_offset).max(0);
            found += result.messages.len();
            for message in &result.messages {
                body.extend_from_slice(message);
            }
        }
        let header = PopMessageResponseHeader {
            pop_time: 0,
            invisible_time: 0,
            revive_qid: 0,
            rest_num: rest,
            start_offset_info: None,
            msg_offset_info: None,
            order_count_info: None,
        };
        let code = if found == 0 {
            ResponseCode::PULL_NOT_FOUND
        } else {
            ResponseCode::SUCCESS
        };
        Ok(RemotingCommand::response_to(request, code, None)
            .with_header(&header)
            .with_body(body.freeze()))
    }

    /// Whether the group has messages to pop, waiting up to the poll time for one.
    async fn notification(
        &self,
        connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        let h: NotificationRequestHeader = request.header()?;
        let all = subscription(&h.topic, None, None);
        let (_, queues) = self.pop.get.plan_with(&h.consumer_group, &all)?;
        let now = self.pop.clock.now_ms();
        let born = if h.born_time > 0 { h.born_time } else { now };
        let wait = Duration::from_millis(
            u64::try_from(born.saturating_add(h.poll_time).saturating_sub(now).max(0)).unwrap_or(0),
        )
        .min(self.pop.get.limits.growth.suspend_max);
        let deadline = tokio::time::Instant::now() + wait;
        let notify = self.pop.waiters.notifier(&h.topic, -1);
        let closed = connection.closed();
        tokio::pin!(closed);
        let has_msg = loop {
            let woken = notify.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let has = self.has_messages(&h, queues);
            if has || tokio::time::Instant::now() >= deadline {
                break has;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = &mut woken => {}
                () = &mut closed => break false,
            }
        };
        let header = NotificationResponseHeader {
            has_msg,
            polling_full: None,
        };
        Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None).with_header(&header))
    }

    /// A queue holds messages past the group's position (an orderly queue with messages in
    /// flight counts as empty).
    fn has_messages(&self, h: &NotificationRequestHeader, queues: i32) -> bool {
        let ids: Vec<i32> = if h.queue_id >= 0 {
            vec![h.queue_id]
        } else {
            (0..queues).collect()
        };
        let store = &self.pop.get.store;
        let orderly = h.order.unwrap_or(false);
        ids.into_iter().any(|queue_id| {
            let key = QueueKey::new(&h.consumer_group, &h.topic, queue_id);
            if orderly && self.pop.states.inflight_of(&key) > 0 {
                return false;
            }
            let position = self
                .pop
                .states
                .cursor(&key)
                .or_else(|| {
                    self.pop
                        .get
                        .offsets
                        .query(&h.consumer_group, &h.topic, queue_id)
                })
                .unwrap_or_else(|| store.min_offset_in_queue(&h.topic, queue_id));
            store.max_offset_in_queue(&h.topic, queue_id) > position
        })
    }

    fn polling_info(&self, request: &RemotingCommand) -> Result<RemotingCommand, BrokerError> {
        let h: PollingInfoRequestHeader = request.header()?;
        let count = self
            .pop
            .polling
            .count(&h.topic, &h.consumer_group, h.queue_id.max(-1));
        let header = PollingInfoResponseHeader {
            polling_num: i32::try_from(count).unwrap_or(i32::MAX),
        };
        Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None).with_header(&header))
    }
}

/// A pop's subscription: its expression (a tag expression unless `exp_type` says SQL92).
pub fn subscription(topic: &str, exp_type: Option<&str>, exp: Option<&str>) -> SubscriptionData {
    let mut sub = SubscriptionData::from_tag_expression(topic, exp.unwrap_or("*"), 0);
    if let Some(kind) = exp_type.filter(|k| !k.is_empty()) {
        sub.expression_type = Some(kind.to_owned());
    }
    sub
}

/// SUCCESS with the messages, or POLLING_TIMEOUT when none came.
fn answer(request: &RemotingCommand, outcome: PopOutcome) -> RemotingCommand {
    let (start, messages, orders) = outcome.offsets.render();
    let header = PopMessageResponseHeader {
        pop_time: outcome.pop_time,
        invisible_time: outcome.invisible_ms,
        revive_qid: outcome.revive_qid,
        rest_num: outcome.rest,
        start_offset_info: Some(start),
        msg_offset_info: Some(messages),
        order_count_info: orders,
    };
    if outcome.messages.is_empty() {
        return RemotingCommand::response_to(
            request,
            ResponseCode::POLLING_TIMEOUT,
            Some("NO_MESSAGE_IN_QUEUE".into()),
        )
        .with_header(&header);
    }
    let size = outcome.messages.iter().map(|m| m.record.len()).sum();
    let mut body = BytesMut::with_capacity(size);
    for message in &outcome.messages {
        body.extend_from_slice(&message.record);
    }
    RemotingCommand::response_to(request, ResponseCode::SUCCESS, Some("FOUND".into()))
        .with_header(&header)
        .with_body(body.freeze())
}

/// An answer with an empty POP header.
fn empty(request: &RemotingCommand, code: ResponseCode, remark: &str) -> RemotingCommand {
    let header = PopMessageResponseHeader {
        pop_time: 0,
        invisible_time: 0,
        revive_qid: 0,
        rest_num: 0,
        start_offset_info: Some(String::new()),
        msg_offset_info: Some(String::new()),
        order_count_info: None,
    };
    RemotingCommand::response_to(request, code, Some(remark.to_owned())).with_header(&header)
}
