//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361): checks, server-side tag filtering, the
//! status → code table of REMOTING.md §3.2, the piggy-backed offset commit, and long polling:
//! a pull that would answer PULL_NOT_FOUND with FLAG_SUSPEND waits (without holding a thread)
//! until a message reaches its queue or its suspend time runs out, then reads again.
//!
//! A server-side offset reset (INVOKE_BROKER_TO_RESET_OFFSET) parks a target offset for the
//! group's queue and wakes the queue's waiters; the next read of that queue by that group,
//! suspended or not, answers PULL_OFFSET_MOVED with `nextBeginOffset` = the target instead
//! (Java's `OFFSET_RESET` status), which makes the client move there.

use std::collections::HashSet;
use std::sync::Arc;

use apogee_model::Perm;
use apogee_model::sql92::Expression;
use apogee_protocol::body::client::{MessageModel, SubscriptionData};
use apogee_protocol::header::message::{
    PullMessageRequestHeader, PullMessageResponseHeader, pull_sys_flag,
};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::Connection;
use apogee_store::read::ReadFilter;
use apogee_store::{GetMessageResult, GetMessageStatus, QueueReader};
use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use super::{Handler, Identity, blocking};
use crate::BrokerError;
use crate::config::Limits;
use crate::filter::{self, SqlFilters};
use crate::ha::Replication;
use crate::live::LiveSettings;
use crate::manager::client_registry::ClientRegistry;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::subscription_group::SubscriptionGroups;
use crate::manager::topic_config::TopicConfigs;
use crate::service::long_polling::PullWaiters;
use crate::stats::BrokerStats;

/// The pull family.
pub struct PullProcessor {
    pub store: Arc<dyn QueueReader>,
    pub topics: TopicConfigs,
    pub groups: SubscriptionGroups,
    pub clients: ClientRegistry,
    pub offsets: ConsumerOffsets,
    pub waiters: PullWaiters,
    pub identity: Identity,
    pub limits: Arc<Limits>,
    pub stats: BrokerStats,
    /// Permission and polling settings, which UPDATE_BROKER_CONFIG may change.
    pub live: LiveSettings,
    /// The role (a slave never takes a pull's commit offset nor answers OFFSET_MOVED) and
    /// `slaveReadEnable` (which broker id consumers are told to pull from next).
    pub replication: Replication,
    /// Compiled SQL92 subscriptions.
    pub filters: SqlFilters,
}

/// What one read needs besides the store.
struct PullPlan {
    topic_sys_flag: i32,
    group_sys_flag: i32,
    /// Tag codes to keep; `None` keeps everything.
    codes: Option<HashSet<i64>>,
    /// An SQL92 subscription's compiled filter.
    sql: Option<Arc<Expression>>,
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
        let plan = self.plan(&header)?;
        if header.sys_flag & pull_sys_flag::COMMIT_OFFSET != 0
            && header.commit_offset >= 0
            && !self.replication.is_slave()
        {
            // Ignored while a reset is pending: the client's position is the old one.
            self.offsets.commit_unless_reset(
                &header.consumer_group,
                &header.topic,
                header.queue_id,
                header.commit_offset,
            );
        }
        let suspend = header.sys_flag & pull_sys_flag::SUSPEND != 0 && parkable(request);
        let deadline = Instant::now() + self.hold(&header);
        let notify = self.waiters.notifier(&header.topic, header.queue_id);
        let mut ticket = None;
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(target) =
                self.offsets
                    .take_reset(&header.consumer_group, &header.topic, header.queue_id)
            {
                return Ok(self.reset_response(request, &header, &plan, target));
            }
            let mut result = self.read(&header, &plan).await?;
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
                        let mut result = self.read(&header, &plan).await?;
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

/// Java's `ForbiddenType`, sent with NO_PERMISSION answers to pulls.
mod forbidden_type {
    pub const BROKER: i32 = 1;
    pub const GROUP: i32 = 2;
    pub const TOPIC: i32 = 3;
    pub const BROADCASTING: i32 = 4;
    pub const SUBSCRIPTION: i32 = 5;
}

fn forbidden(remark: String, forbidden_type: i32) -> BrokerError {
    BrokerError::PullForbidden {
        remark,
        forbidden_type,
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
    /// How long a pull that finds nothing may wait: the client's suspend time, cut to
    /// `long_polling_suspend_max_ms`; or the short-polling time when long polling is off.
    fn hold(&self, header: &PullMessageRequestHeader) -> std::time::Duration {
        if !self.live.long_polling() {
            return self.live.short_polling();
        }
        let asked = u64::try_from(header.suspend_timeout_millis).unwrap_or(0);
        std::time::Duration::from_millis(asked).min(self.limits.growth.suspend_max)
    }

    /// Every check of §3.2 that can refuse a pull, in Java's order.
    fn plan(&self, header: &PullMessageRequestHeader) -> Result<PullPlan, BrokerError> {
        if !self.live.permission().is_readable() {
            return Err(forbidden(
                format!(
                    "the broker[{}] pulling message is forbidden",
                    self.identity.store_host
                ),
                forbidden_type::BROKER,
            ));
        }
        let group = self.groups.find_or_create(&header.consumer_group)?;
        if !group.consume_enable {
            return Err(forbidden(
                format!(
                    "subscription group no permission, {}",
                    header.consumer_group
                ),
                forbidden_type::GROUP,
            ));
        }
        let topic = self
            .topics
            .get(&header.topic)
            .ok_or_else(|| BrokerError::TopicNotExist(header.topic.clone()))?;
        if !Perm(topic.perm).is_readable() {
            return Err(forbidden(
                format!("the topic[{}] pulling message is forbidden", header.topic),
                forbidden_type::TOPIC,
            ));
        }
        if header.queue_id < 0 || header.queue_id >= topic.read_queue_nums {
            return Err(BrokerError::InvalidParameter(format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                header.queue_id, header.topic, topic.read_queue_nums, header.consumer_group
            )));
        }
        let subscription = self.subscription(header, group.consume_broadcast_enable)?;
        // Java checks this only for subscriptions registered by heartbeat; it holds for all.
        if self
            .groups
            .read_forbidden(&header.consumer_group, &header.topic)
        {
            return Err(forbidden(
                format!(
                    "the consumer group[{}] is forbidden for topic[{}]",
                    header.consumer_group, header.topic
                ),
                forbidden_type::SUBSCRIPTION,
            ));
        }
        let sql = self.filters.of(
            subscription.expression_type.as_deref(),
            &subscription.sub_string,
        )?;
        let codes = (sql.is_none() && !subscription.matches_all()).then(|| {
            subscription
                .tag_codes()
                .into_iter()
                .map(i64::from)
                .collect()
        });
        Ok(PullPlan {
            topic_sys_flag: topic.topic_sys_flag,
            group_sys_flag: group.group_sys_flag,
            codes,
            sql,
        })
    }

    /// The request's own expression (FLAG_SUBSCRIPTION) or the one registered by heartbeat.
    fn subscription(
        &self,
        header: &PullMessageRequestHeader,
        broadcast_enabled: bool,
    ) -> Result<SubscriptionData, BrokerError> {
        if header.sys_flag & pull_sys_flag::SUBSCRIPTION != 0 {
            let expression = header.subscription.as_deref().unwrap_or("*");
            let mut sub = SubscriptionData::from_tag_expression(
                &header.topic,
                expression,
                header.sub_version,
            );
            sub.expression_type = header.expression_type.clone().or(sub.expression_type);
            return Ok(sub);
        }
        let not_exist = || BrokerError::SubscriptionNotExist {
            group: header.consumer_group.clone(),
            topic: header.topic.clone(),
        };
        let info = self
            .clients
            .consumer_group(&header.consumer_group)
            .ok_or_else(not_exist)?;
        if info.message_model == MessageModel::Broadcasting && !broadcast_enabled {
            return Err(forbidden(
                format!(
                    "the consumer group[{}] can not consume by broadcast way",
                    header.consumer_group
                ),
                forbidden_type::BROADCASTING,
            ));
        }
        let sub = info
            .subscriptions
            .get(&header.topic)
            .cloned()
            .ok_or_else(not_exist)?;
        if sub.sub_version < header.sub_version {
            return Err(BrokerError::SubscriptionNotLatest {
                group: header.consumer_group.clone(),
                topic: header.topic.clone(),
            });
        }
        Ok(sub)
    }

    /// Reads the queue; a read of messages likely on disk (not in the page cache) runs on a
    /// blocking thread so it never stalls the network workers.
    async fn read(
        &self,
        header: &PullMessageRequestHeader,
        plan: &PullPlan,
    ) -> Result<GetMessageResult, BrokerError> {
        let count = usize::try_from(header.max_msg_nums.max(1))
            .unwrap_or(1)
            .min(self.limits.pull_messages_max);
        let bytes = header
            .max_msg_bytes
            .and_then(|b| usize::try_from(b).ok())
            .filter(|b| *b > 0)
            .map_or(self.limits.pull_bytes_max, |b| {
                b.min(self.limits.pull_bytes_max)
            });
        let (topic, queue_id, offset) = (&header.topic, header.queue_id, header.queue_offset);
        let result = if self.store.is_cold(topic, queue_id, offset) {
            let (store, topic) = (Arc::clone(&self.store), topic.clone());
            let (codes, sql) = (plan.codes.clone(), plan.sql.clone());
            blocking(move || {
                read_queue(
                    &*store,
                    (&topic, queue_id, offset),
                    (count, bytes),
                    (codes.as_ref(), sql.as_deref()),
                )
            })
            .await?
        } else {
            read_queue(
                &*self.store,
                (topic, queue_id, offset),
                (count, bytes),
                (plan.codes.as_ref(), plan.sql.as_deref()),
            )
        };
        let found = matches!(result.status, GetMessageStatus::Found);
        self.stats.record_get(found);
        if found {
            self.offsets.note_pulled(
                &header.consumer_group,
                &header.topic,
                header.queue_id,
                result.next_begin_offset,
            );
        }
        Ok(result)
    }

    /// PULL_OFFSET_MOVED to a reset's target (Java's `OFFSET_RESET` status).
    fn reset_response(
        &self,
        request: &RemotingCommand,
        header: &PullMessageRequestHeader,
        plan: &PullPlan,
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
                .store
                .min_offset_in_queue(&header.topic, header.queue_id),
            max_offset: self
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
        let Some(config) = self.groups.get(group) else {
            return apogee_model::MASTER_ID;
        };
        let slow = result
            .queue_offsets
            .last()
            .is_some_and(|last| self.store.is_cold(topic, queue_id, *last));
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
        plan: &PullPlan,
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
        self.stats.record_transferred(
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

/// One store read with the plan's tag or SQL92 filter.
fn read_queue(
    store: &dyn QueueReader,
    (topic, queue_id, offset): (&str, i32, i64),
    limits: (usize, usize),
    (codes, sql): (Option<&HashSet<i64>>, Option<&Expression>),
) -> GetMessageResult {
    let tags = codes.map(|codes| move |code: i64| codes.contains(&code));
    let record = sql.map(|sql| move |record: &Bytes| filter::record_matches(sql, record));
    let filter = ReadFilter {
        tags: tags.as_ref().map(|f| f as &dyn Fn(i64) -> bool),
        record: record.as_ref().map(|f| f as &dyn Fn(&Bytes) -> bool),
    };
    store.get_messages_filtered(topic, queue_id, offset, limits, filter)
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
    }
}
