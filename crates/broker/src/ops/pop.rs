//! POP consumption, whatever asked (POP_MESSAGE over remoting, the v5 endpoint's
//! ReceiveMessage, the HTTP endpoint): pick the queues (a random start over the topic's
//! queues, the group's retry topic first one time in five), claim each, read from its cursor
//! with the subscription's filter, and record what was popped as in flight
//! (`manager::pop_state`). Long polling waits on the topic's and the retry topic's wake-ups.
//! Acks and invisible-time changes name a message by its receipt handle
//! (`apogee_protocol::pop_info::ExtraInfo`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apogee_model::system_topic::{is_retry_topic, pop_retry_topic};
use apogee_protocol::ResponseCode;
use apogee_protocol::body::client::SubscriptionData;
use apogee_protocol::header::pop::{ORDER_REVIVE_QUEUE, init_mode};
use apogee_protocol::pop_info::{ExtraInfo, OffsetInfo, topic_type};
use apogee_protocol::record::{RecordAt, decode_record, encode_properties};
use apogee_runtime::Clock;
use apogee_store::GetMessageResult;
use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use crate::BrokerError;
use crate::manager::pop_state::{Claim, HandleError, PopStates, Popped, QueueKey};
use crate::ops::get::{GetPlan, Getter};
use crate::service::long_polling::PullWaiters;

/// Most messages one pop returns (RocketMQ's limit).
pub const POP_BATCH_MAX: i32 = 32;
/// Longest invisible time a pop or a change may ask for (12 hours, the v5 proxy's limit).
pub const INVISIBLE_MAX_MS: i64 = 12 * 3_600_000;
/// Revive queues named in handles (`reviveQueueNum`).
const REVIVE_QUEUES: u64 = 8;

/// What popping needs.
#[derive(Clone)]
pub struct Popper {
    pub get: Getter,
    pub states: PopStates,
    pub waiters: PullWaiters,
    pub clock: Arc<dyn Clock>,
    /// `enableRetryTopicV2`: retry topics named `%RETRY%group+topic` instead of `_`.
    pub retry_v2: bool,
    pub ticks: Arc<AtomicU64>,
    /// Pops waiting now, by (topic, group, queue id).
    pub polling: Polling,
}

/// Pops waiting for messages, by (topic, group, queue id) (POLLING_INFO).
#[derive(Clone, Default)]
pub struct Polling(Arc<Mutex<HashMap<PollKey, usize>>>);

/// (topic, group, queue id).
type PollKey = (String, String, i32);

/// One waiting pop; dropping it stops counting it.
struct PollingGuard(Polling, PollKey);

impl Polling {
    fn enter(&self, key: PollKey) -> PollingGuard {
        *self.lock().entry(key.clone()).or_insert(0) += 1;
        PollingGuard(self.clone(), key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PollKey, usize>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pops of `group` waiting on `topic`'s queue (or on all its queues, -1).
    pub fn count(&self, topic: &str, group: &str, queue_id: i32) -> usize {
        let key = (topic.to_owned(), group.to_owned(), queue_id);
        self.lock().get(&key).copied().unwrap_or(0)
    }
}

impl Drop for PollingGuard {
    fn drop(&mut self) {
        let mut table = self.0.lock();
        if let Some(count) = table.get_mut(&self.1) {
            *count -= 1;
            if *count == 0 {
                table.remove(&self.1);
            }
        }
    }
}

/// One pop.
#[derive(Debug, Clone)]
pub struct PopRequest {
    pub group: String,
    pub subscription: SubscriptionData,
    /// A queue, or every queue when negative.
    pub queue_id: i32,
    pub max: usize,
    pub invisible_ms: i64,
    pub orderly: bool,
    pub init_mode: i32,
}

/// One popped message.
#[derive(Debug, Clone)]
pub struct PoppedMessage {
    /// The record as stored; a retried one carries the original topic and its `POP_CK`.
    pub record: Bytes,
    /// The queue it was popped from (the retry topic for a retried message).
    pub real_topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    /// Its receipt handle (nine fields: the commit-log offset last).
    pub handle: ExtraInfo,
    /// Earlier deliveries of an orderly message.
    pub attempts: i32,
}

/// What a pop found.
#[derive(Debug, Default)]
pub struct PopOutcome {
    pub pop_time: i64,
    pub invisible_ms: i64,
    pub revive_qid: i32,
    pub messages: Vec<PoppedMessage>,
    /// Messages left behind in the queues looked at.
    pub rest: i64,
    pub offsets: OffsetInfo,
}

/// One queue's read, before it is recorded.
struct QueueRead<'a> {
    topic: &'a str,
    queue_id: i32,
    plan: &'a GetPlan,
}

impl Popper {
    /// The group's retry topic for `topic`.
    pub fn retry_topic(&self, topic: &str, group: &str) -> String {
        pop_retry_topic(topic, group, self.retry_v2)
    }

    /// Pops, waiting up to `poll` for messages when none are there (until `closed` resolves).
    pub async fn pop(
        &self,
        request: &PopRequest,
        poll: Duration,
        closed: impl std::future::Future<Output = ()>,
    ) -> Result<PopOutcome, BrokerError> {
        let deadline = Instant::now() + poll;
        let topic = &request.subscription.topic;
        let own = self.waiters.notifier(topic, -1);
        let retry = self
            .waiters
            .notifier(&self.retry_topic(topic, &request.group), -1);
        tokio::pin!(closed);
        let mut ticket = None;
        loop {
            let (woken, retried) = (own.notified(), retry.notified());
            tokio::pin!(woken, retried);
            woken.as_mut().enable();
            retried.as_mut().enable();
            let outcome = self.pop_once(request).await?;
            if !outcome.messages.is_empty() || Instant::now() >= deadline {
                return Ok(outcome);
            }
            if ticket.is_none() {
                let Some(parked) = self.waiters.try_park() else {
                    return Err(BrokerError::Refused {
                        code: ResponseCode::POLLING_FULL,
                        remark: "polling full: too many pops wait for messages".into(),
                    });
                };
                ticket = Some((
                    parked,
                    self.polling.enter((
                        topic.clone(),
                        request.group.clone(),
                        request.queue_id.max(-1),
                    )),
                ));
                // A parked pop does not hold up its connection's other requests.
                apogee_remoting::release_in_flight_slot();
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = &mut woken => {}
                () = &mut retried => {}
                () = &mut closed => return Ok(outcome),
            }
        }
    }

    /// Pops what is there now, without waiting.
    pub async fn pop_once(&self, request: &PopRequest) -> Result<PopOutcome, BrokerError> {
        let topic = request.subscription.topic.clone();
        let (plan, read_queues) = self.get.plan_with(&request.group, &request.subscription)?;
        if request.queue_id >= read_queues {
            return Err(BrokerError::InvalidParameter(format!(
                "queueId[{}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{read_queues}] consumer:[{}]",
                request.queue_id, request.group
            )));
        }
        let tick = self.ticks.fetch_add(1, Ordering::Relaxed);
        let mut outcome = PopOutcome {
            pop_time: self.clock.now_ms(),
            invisible_ms: request.invisible_ms,
            revive_qid: if request.orderly {
                ORDER_REVIVE_QUEUE
            } else {
                i32::try_from(tick % REVIVE_QUEUES).unwrap_or(0)
            },
            ..PopOutcome::default()
        };
        let retry = (!request.orderly)
            .then(|| self.retry_plan(&topic, &request.group))
            .transpose()?
            .flatten();
        let retry_first = tick.is_multiple_of(5);
        let own = (topic.as_str(), &plan, read_queues, request.queue_id);
        let retry = retry
            .as_ref()
            .map(|(name, plan, queues)| (name.as_str(), plan, *queues, -1));
        let order = if retry_first {
            [retry, Some(own)]
        } else {
            [Some(own), retry]
        };
        for topic in order.into_iter().flatten() {
            if let Err(e) = self.pop_topic(request, topic, tick, &mut outcome).await {
                // Messages already recorded in flight go out with the answer; without them
                // they would wait for their invisible time.
                if outcome.messages.is_empty() {
                    return Err(e);
                }
                tracing::debug!(error = %e, "a pop stopped early; answering what it has");
                break;
            }
        }
        Ok(outcome)
    }

    /// The group's retry topic for `topic`, when it exists: its name, plan (every message)
    /// and queue count.
    fn retry_plan(
        &self,
        topic: &str,
        group: &str,
    ) -> Result<Option<(String, GetPlan, i32)>, BrokerError> {
        let name = self.retry_topic(topic, group);
        if self.get.topics.get(&name).is_none() {
            return Ok(None);
        }
        let all = SubscriptionData::from_tag_expression(&name, "*", 0);
        let (plan, queues) = self.get.plan_with(group, &all)?;
        Ok(Some((name, plan, queues)))
    }

    /// Pops the queues of one topic (one queue when `only` ≥ 0), from a random start.
    async fn pop_topic(
        &self,
        request: &PopRequest,
        (topic, plan, queues, only): (&str, &GetPlan, i32, i32),
        tick: u64,
        outcome: &mut PopOutcome,
    ) -> Result<(), BrokerError> {
        let queue_ids: Vec<i32> = if only >= 0 {
            vec![only]
        } else {
            let n = u64::try_from(queues.max(0)).unwrap_or(0);
            (0..n)
                .map(|i| i32::try_from((tick.wrapping_mul(7) + i) % n).unwrap_or(0))
                .collect()
        };
        for queue_id in queue_ids {
            if outcome.messages.len() >= request.max {
                let store = &self.get.store;
                let left = store.max_offset_in_queue(topic, queue_id)
                    - self
                        .get
                        .offsets
                        .query(&request.group, topic, queue_id)
                        .unwrap_or(0);
                outcome.rest += left.max(0);
                continue;
            }
            let read = QueueRead {
                topic,
                queue_id,
                plan,
            };
            self.pop_queue(request, &read, outcome).await?;
        }
        Ok(())
    }

    /// Claims one queue, reads it, records what was popped.
    async fn pop_queue(
        &self,
        request: &PopRequest,
        read: &QueueRead<'_>,
        outcome: &mut PopOutcome,
    ) -> Result<(), BrokerError> {
        // A queue that cannot be opened now is skipped: its offsets are unknown, and a group
        // starting on it would start from 0.
        let Ok(range) = self.get.store.queue_offset_range(read.topic, read.queue_id) else {
            tracing::debug!(
                topic = read.topic,
                queue_id = read.queue_id,
                "pop skips a queue that cannot be opened now"
            );
            return Ok(());
        };
        let key = QueueKey::new(&request.group, read.topic, read.queue_id);
        let offsets = &self.get.offsets;
        let reset = || offsets.take_reset(&request.group, read.topic, read.queue_id);
        let Some(claim) = self.states.claim(&key, request.orderly, reset, || {
            self.initial_offset(read.topic, read.queue_id, range, request.init_mode)
        }) else {
            return Ok(());
        };
        let want = request.max - outcome.messages.len();
        let topic = read.topic.to_owned();
        let result = self
            .get
            .read_at(
                (&topic, read.queue_id, claim.start),
                (want, self.get.limits.pull_bytes_max),
                read.plan,
            )
            .await?;
        outcome.rest += (result.max_offset - result.next_begin_offset).max(0);
        self.record(request, read, claim, result, outcome);
        Ok(())
    }

    /// Puts the read messages in flight and adds them, with their handles, to the outcome.
    fn record(
        &self,
        request: &PopRequest,
        read: &QueueRead<'_>,
        claim: Claim,
        result: GetMessageResult,
        outcome: &mut PopOutcome,
    ) {
        let start = claim.start;
        let popped: Vec<Popped> = result
            .messages
            .iter()
            .zip(&result.queue_offsets)
            .map(|(record, offset)| Popped {
                queue_offset: *offset,
                commit_log_offset: commit_log_offset(record),
            })
            .collect();
        let attempts = self.states.finish(
            claim,
            &popped,
            result.next_begin_offset,
            (outcome.pop_time, outcome.invisible_ms),
            request.orderly,
        );
        if popped.is_empty() {
            return;
        }
        self.get.stats.record_transferred(
            (read.topic, &request.group),
            u64::try_from(popped.len()).unwrap_or(0),
            u64::try_from(result.total_bytes()).unwrap_or(0),
        );
        outcome
            .offsets
            .add_queue(read.topic, read.queue_id, start, &result.queue_offsets);
        if request.orderly {
            let counts: Vec<(i64, i32)> = result
                .queue_offsets
                .iter()
                .copied()
                .zip(attempts.iter().copied())
                .collect();
            outcome
                .offsets
                .add_order_counts(read.topic, read.queue_id, &counts);
        }
        let retried = is_retry_topic(read.topic);
        for ((record, popped), attempts) in result.messages.into_iter().zip(popped).zip(attempts) {
            let handle = ExtraInfo {
                ck_offset: start,
                pop_time: outcome.pop_time,
                invisible_time: outcome.invisible_ms,
                revive_qid: outcome.revive_qid,
                topic_type: topic_type(read.topic).to_owned(),
                broker_name: self.get.identity.broker_name.clone(),
                queue_id: read.queue_id,
                queue_offset: Some(popped.queue_offset),
                commit_log_offset: Some(popped.commit_log_offset),
            };
            let record = if retried {
                as_original(&record, &request.subscription.topic, &handle).unwrap_or(record)
            } else {
                record
            };
            outcome.messages.push(PoppedMessage {
                record,
                real_topic: read.topic.to_owned(),
                queue_id: read.queue_id,
                queue_offset: popped.queue_offset,
                handle,
                attempts,
            });
        }
    }

    /// Where a group with no committed offset starts: the first message for MIN mode and for
    /// retry topics; else the first message if the queue still starts at 0 and it is in
    /// memory, otherwise the last message (RocketMQ's `initPopOffsetByCheckMsgInMem`).
    fn initial_offset(&self, topic: &str, queue_id: i32, (min, max): (i64, i64), mode: i32) -> i64 {
        if mode == init_mode::MIN || is_retry_topic(topic) {
            return min;
        }
        if min <= 0 && !self.get.store.is_cold(topic, queue_id, 0) {
            return 0;
        }
        (max - 1).max(0)
    }

    /// Acks the message a handle names, popped by `group` from `real_topic`.
    pub fn ack(
        &self,
        group: &str,
        real_topic: &str,
        handle: &ExtraInfo,
    ) -> Result<(), HandleError> {
        let key = QueueKey::new(group, real_topic, handle.queue_id);
        self.states.ack(&key, handle.offset(), handle.pop_time)?;
        if handle.revive_qid == ORDER_REVIVE_QUEUE {
            self.waiters.notifier(real_topic, -1).notify_waiters();
        }
        Ok(())
    }

    /// Makes the message a handle names invisible for `invisible_ms` from now; returns the
    /// new handle.
    pub fn change_invisible(
        &self,
        group: &str,
        real_topic: &str,
        handle: &ExtraInfo,
        invisible_ms: i64,
    ) -> Result<ExtraInfo, HandleError> {
        let key = QueueKey::new(group, real_topic, handle.queue_id);
        let now = self.clock.now_ms();
        let pop_time = self.states.change_invisible(
            &key,
            handle.offset(),
            handle.pop_time,
            (now, invisible_ms),
        )?;
        Ok(ExtraInfo {
            ck_offset: handle.offset(),
            pop_time,
            invisible_time: invisible_ms,
            queue_offset: Some(handle.offset()),
            ..handle.clone()
        })
    }
}

/// The commit-log offset a stored record carries (bytes 28..36).
fn commit_log_offset(record: &Bytes) -> i64 {
    record
        .get(28..36)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(-1, i64::from_be_bytes)
}

/// A message popped from a retry topic as its consumer sees it: the original topic, and its
/// handle in `POP_CK` (a remoting client could not build it from the offsets alone).
fn as_original(record: &Bytes, topic: &str, handle: &ExtraInfo) -> Option<Bytes> {
    let (RecordAt::Message(mut message), _) = decode_record(record, 0, false).ok()? else {
        return None;
    };
    let mut properties = message.properties_map();
    let mut ck = handle.clone();
    ck.commit_log_offset = None;
    properties.insert("POP_CK".into(), ck.to_string());
    message.topic = Bytes::copy_from_slice(topic.as_bytes());
    message.properties = Bytes::from(encode_properties(&properties));
    if message.properties.len() > i16::MAX as usize {
        return None;
    }
    let mut out = BytesMut::with_capacity(message.encoded_len());
    message.encode(&mut out);
    Some(out.freeze())
}
