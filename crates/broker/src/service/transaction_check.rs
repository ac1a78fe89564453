//! Transaction check (REMOTING.md §6.10; Java's `TransactionalMessageCheckService` and
//! `TransactionalMessageServiceImpl.check`): every `transactionCheckInterval` the half queue is
//! walked from the check progress and each half message still unresolved is decided:
//!
//! ```text
//! op queue (from op progress) ──► half offsets already committed / rolled back
//! half queue (from half progress, up to its end when the pass began) ──► decide():
//!   Resolved / Skip ─► step over
//!   Wait            ─► stop the pass (younger than transactionTimeOut; later ones are too)
//!   Check           ─► re-append with TRANSACTION_CHECK_TIMES + 1, then CHECK_TRANSACTION_STATE
//!                      (oneway) about that copy to one live producer of its PGROUP
//!   Renew           ─► re-append with TRAN_PREPARED_QUEUE_OFFSET (inside its check immunity)
//!   Discard         ─► copy to TRANS_CHECK_MAX_TIME_TOPIC (checked transactionCheckMax times,
//!                      or older than fileReservedTime)
//! ```
//!
//! Progress is the consumer offset of group `CID_RMQ_SYS_TRANS` on the half and op queues, as
//! in Java, so it lands in `consumerOffset.json` and survives a restart. Re-appending (Java's
//! approach) makes the check count part of the stored message, so it survives too. A crash
//! before the offsets are written repeats checks: producers must answer idempotently, as
//! with RocketMQ.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use apogee_model::Perm;
use apogee_protocol::header::transaction::CheckTransactionStateRequestHeader;
use apogee_protocol::message_id::offset_msg_id;
use apogee_protocol::record::{RecordAt, StoredRecord, decode_record, find_property};
use apogee_protocol::{RemotingCommand, RequestCode};
use apogee_remoting::Connection;
use apogee_runtime::{Clock, Shutdown};
use apogee_store::{MessageStore, PutStatus};

use crate::BrokerError;
use crate::config::TransactionLimits;
use crate::live::LiveSettings;
use crate::manager::client_registry::ClientRegistry;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::orphan_checks::OrphanCheck;
use crate::manager::topic_config::TopicConfigs;
use crate::processor::Identity;
use crate::service::internal_queue::InternalQueue;
use crate::transaction::{
    CHECK_GROUP, CHECK_MAX_TIME_TOPIC, HALF_QUEUE_ID, HALF_TOPIC, OP_REMOVE_TAG, OP_TOPIC,
    check_body, copy_to, decode_op_body, immunity_ms, properties_of, property, real_destination,
};

/// Half messages read per store call.
const HALF_BATCH: usize = 32;
/// Op records read per store call, and at most per pass (a bound on memory; ops past it are
/// read by the next pass).
const OP_BATCH: usize = 256;
const OPS_PER_PASS_MAX: usize = 100_000;
/// Bound on handing one CHECK_TRANSACTION_STATE to a producer connection.
const SEND_TIMEOUT: Duration = Duration::from_secs(3);

/// What to do with one half message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An op record resolved it (or the original of this copy).
    Resolved,
    /// Its immunity is longer than all checks would take: never checked (Java logs and steps
    /// over it).
    Skip,
    /// Too young to check; so are the messages after it.
    Wait,
    /// Still inside its check immunity: store it again, remembering the original queue offset.
    Renew { prepared_queue_offset: i64 },
    /// Ask the producer; this will be check number `check_times`.
    Check { check_times: i32 },
    /// Give up: move it to TRANS_CHECK_MAX_TIME_TOPIC.
    Discard,
}

/// The facts about a half message a decision rests on.
#[derive(Debug, Clone, Copy)]
pub struct HalfFacts<'a> {
    pub queue_offset: i64,
    pub born_timestamp: i64,
    pub check_times: Option<&'a str>,
    pub immunity_seconds: Option<&'a str>,
    pub prepared_queue_offset: Option<&'a str>,
}

impl<'a> HalfFacts<'a> {
    pub fn of(record: &StoredRecord, props: &'a BTreeMap<String, String>) -> Self {
        Self {
            queue_offset: record.queue_offset,
            born_timestamp: record.born_timestamp,
            check_times: props.get(property::CHECK_TIMES).map(String::as_str),
            immunity_seconds: props
                .get(property::CHECK_IMMUNITY_SECONDS)
                .map(String::as_str),
            prepared_queue_offset: props
                .get(property::PREPARED_QUEUE_OFFSET)
                .map(String::as_str),
        }
    }
}

/// Java's per-message rules, in its order: resolved by an op record; checked too often or
/// older than the retention → discard; inside the check immunity → renew; younger than the
/// timeout → wait; otherwise check (also when born "in the future", i.e. clocks disagree).
pub fn decide(
    half: &HalfFacts<'_>,
    resolved: &HashSet<i64>,
    limits: &TransactionLimits,
    now_ms: i64,
) -> Decision {
    let prepared = half
        .prepared_queue_offset
        .and_then(|p| p.trim().parse::<i64>().ok());
    if resolved.contains(&half.queue_offset) || prepared.is_some_and(|p| resolved.contains(&p)) {
        return Decision::Resolved;
    }
    let times = half
        .check_times
        .map(|t| t.trim().parse::<i32>().unwrap_or(0));
    let age = now_ms.saturating_sub(half.born_timestamp);
    if times.is_some_and(|t| t >= limits.check_max) || age > limits.file_reserved_ms {
        return Decision::Discard;
    }
    match half.immunity_seconds {
        Some(value) => {
            let immunity = immunity_ms(value, limits.timeout_ms);
            let window = i64::from(limits.check_max)
                .saturating_mul(i64::try_from(limits.check_interval.as_millis()).unwrap_or(0));
            if immunity > window {
                return Decision::Skip;
            }
            if age <= immunity {
                return Decision::Renew {
                    prepared_queue_offset: prepared.unwrap_or(half.queue_offset),
                };
            }
        }
        None if (0..=limits.timeout_ms).contains(&age) => return Decision::Wait,
        None => {}
    }
    Decision::Check {
        check_times: times.map_or(1, |t| t.saturating_add(1)),
    }
}

/// One op record: its queue offset and the half offsets it resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpRecord {
    pub op_offset: i64,
    pub half_offsets: Vec<i64>,
}

/// Where the op progress may move: to the first op record still naming a half offset at or
/// past the new half progress, or past everything read (Java's `calculateOpOffset`).
pub fn next_op_offset(ops: &[OpRecord], read_end: i64, half_progress: i64) -> i64 {
    ops.iter()
        .find(|op| op.half_offsets.iter().any(|h| *h >= half_progress))
        .map_or(read_end, |op| op.op_offset)
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub resolved: usize,
    pub checked: usize,
    pub renewed: usize,
    pub discarded: usize,
    pub skipped: usize,
    /// Why the pass stopped early (a store write failed); the next pass resumes there.
    pub stopped_by: Option<String>,
}

/// The check service.
pub struct TransactionCheckService {
    pub store: Arc<MessageStore>,
    pub topics: TopicConfigs,
    pub offsets: ConsumerOffsets,
    pub clients: ClientRegistry,
    pub clock: Arc<dyn Clock>,
    pub identity: Identity,
    /// The start-up limits; the timeout, interval and reserved time come from `live`.
    pub limits: TransactionLimits,
    pub live: LiveSettings,
    /// One pass at a time (the timer and [`check_now`](Self::check_now) callers).
    pub pass: tokio::sync::Mutex<()>,
    /// Producers reached other than by remoting (v5 clients).
    pub orphans: crate::manager::orphan_checks::OrphanChecks,
}

impl TransactionCheckService {
    /// A pass every `check_interval` until `shutdown`; the progress is written at the end.
    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        self.correct_progress();
        loop {
            tokio::select! {
                () = tokio::time::sleep(self.current_limits().check_interval) => {}
                () = shutdown.wait() => break,
            }
            let report = self.check_now().await;
            if report != CheckReport::default() {
                tracing::info!(?report, "transaction check pass");
            }
        }
        let offsets = self.offsets.clone();
        let persisted = tokio::task::spawn_blocking(move || offsets.persist()).await;
        if !matches!(persisted, Ok(Ok(()))) {
            tracing::warn!("cannot write the transaction check progress");
        }
    }

    /// Pulls the stored half and op progress into their queues' bounds, as the delay service
    /// does: after a crash the offsets file may be ahead of the recovered queues, and half
    /// messages in that gap would never be checked.
    pub fn correct_progress(&self) {
        for topic in [HALF_TOPIC, OP_TOPIC] {
            let Some(stored) = self.offsets.query(CHECK_GROUP, topic, HALF_QUEUE_ID) else {
                continue;
            };
            let corrected = self.progress(topic);
            if corrected != stored {
                tracing::warn!(
                    topic,
                    from = stored,
                    to = corrected,
                    "transaction check progress outside its queue; corrected"
                );
                self.offsets
                    .commit(CHECK_GROUP, topic, HALF_QUEUE_ID, corrected);
            }
        }
    }

    fn current_limits(&self) -> TransactionLimits {
        self.live.transaction_limits(self.limits)
    }

    /// One pass now; the checks it decides are handed to the producers' connections before
    /// it returns. The scan (store reads and re-puts) runs on a blocking thread.
    pub async fn check_now(self: &Arc<Self>) -> CheckReport {
        let _pass = self.pass.lock().await;
        let service = Arc::clone(self);
        let scanned =
            tokio::task::spawn_blocking(move || service.scan(service.clock.now_ms())).await;
        let Ok((report, outgoing)) = scanned else {
            tracing::error!("transaction check pass panicked");
            return CheckReport::default();
        };
        for (connection, request) in outgoing {
            if let Err(e) = connection.send_oneway(request, SEND_TIMEOUT).await {
                tracing::debug!(error = %e, "CHECK_TRANSACTION_STATE not delivered");
            }
        }
        report
    }

    /// Walks the half queue; returns the report and the checks to send.
    fn scan(&self, now_ms: i64) -> (CheckReport, Vec<(Connection, RemotingCommand)>) {
        let half_start = self.progress(HALF_TOPIC);
        let half_end = self.store.max_offset_in_queue(HALF_TOPIC, HALF_QUEUE_ID);
        let op_start = self.progress(OP_TOPIC);
        let (ops, op_end) = self.read_ops(op_start);
        let resolved: HashSet<i64> = ops
            .iter()
            .flat_map(|op| op.half_offsets.iter().copied())
            .collect();
        let mut pass = Pass {
            now_ms,
            resolved,
            report: CheckReport::default(),
            outgoing: Vec::new(),
            last_append: None,
        };
        let mut half_progress = self.walk(half_start, half_end, &mut pass);
        // Progress moves past re-put copies only once they are durable (SYNC_FLUSH): a lost
        // copy must leave its original to be checked again.
        if let Some(last) = &pass.last_append
            && self.store.durable_blocking(last) != PutStatus::Ok
        {
            pass.report.stopped_by = Some("re-put half messages not durable yet".into());
            half_progress = half_start;
        }
        if half_progress != half_start {
            self.offsets
                .commit(CHECK_GROUP, HALF_TOPIC, HALF_QUEUE_ID, half_progress);
        }
        let op_progress = next_op_offset(&ops, op_end, half_progress);
        if op_progress != op_start {
            self.offsets
                .commit(CHECK_GROUP, OP_TOPIC, HALF_QUEUE_ID, op_progress);
        }
        (pass.report, pass.outgoing)
    }

    /// Decides half messages from `offset` until `end` or the first that must wait; returns
    /// the new half progress.
    fn walk(&self, mut offset: i64, end: i64, pass: &mut Pass) -> i64 {
        let queue = InternalQueue {
            topic: HALF_TOPIC,
            queue_id: HALF_QUEUE_ID,
        };
        while offset < end {
            let read = queue.read(&self.store, offset, HALF_BATCH);
            for (queue_offset, record) in &read.records {
                if *queue_offset >= end {
                    return offset;
                }
                match self.handle(record, pass) {
                    Ok(true) => offset = queue_offset + 1,
                    Ok(false) => return offset,
                    Err(e) => {
                        tracing::warn!(error = %e, queue_offset, "transaction check stopped; retried next pass");
                        pass.report.stopped_by = Some(e.to_string());
                        return offset;
                    }
                }
            }
            // Past unreadable units and files cleaned away, never past `end`.
            let next = read.next.min(end);
            if next > offset {
                offset = next;
            } else if read.records.is_empty() {
                break;
            }
        }
        offset
    }

    /// Acts on one half message; false when the pass must stop before it.
    fn handle(&self, half: &StoredRecord, pass: &mut Pass) -> Result<bool, BrokerError> {
        let mut props = properties_of(half);
        let decision = decide(
            &HalfFacts::of(half, &props),
            &pass.resolved,
            &self.current_limits(),
            pass.now_ms,
        );
        let host = self.identity.store_host;
        match decision {
            Decision::Wait => return Ok(false),
            Decision::Resolved => pass.report.resolved += 1,
            Decision::Skip => {
                tracing::warn!(
                    queue_offset = half.queue_offset,
                    "check immunity exceeds the whole check window; the message will never be checked"
                );
                pass.report.skipped += 1;
            }
            Decision::Discard => {
                self.topics
                    .ensure(CHECK_MAX_TIME_TOPIC, 1, Perm::READ_WRITE.0)?;
                let copy = copy_to(half, CHECK_MAX_TIME_TOPIC, 0, &props, host);
                pass.last_append = Some(self.store.append(std::slice::from_ref(&copy))?);
                tracing::warn!(
                    queue_offset = half.queue_offset,
                    uniq_key = props.get(property::UNIQ_KEY).map(String::as_str),
                    "half message checked too many times; moved to {CHECK_MAX_TIME_TOPIC}"
                );
                pass.report.discarded += 1;
            }
            Decision::Renew {
                prepared_queue_offset,
            } => {
                props.insert(
                    property::PREPARED_QUEUE_OFFSET.into(),
                    prepared_queue_offset.to_string(),
                );
                let copy = copy_to(half, HALF_TOPIC, HALF_QUEUE_ID, &props, host);
                pass.last_append = Some(self.store.append(std::slice::from_ref(&copy))?);
                pass.report.renewed += 1;
            }
            Decision::Check { check_times } => {
                props.insert(property::CHECK_TIMES.into(), check_times.to_string());
                let copy = copy_to(half, HALF_TOPIC, HALF_QUEUE_ID, &props, host);
                let outcome = self.store.append(std::slice::from_ref(&copy))?;
                pass.report.checked += 1;
                if let Some(stored) = self.store.record_at(outcome.physical_offset) {
                    pass.outgoing.extend(self.check_request(&stored, &props));
                }
                pass.last_append = Some(outcome);
            }
        }
        Ok(true)
    }

    /// CHECK_TRANSACTION_STATE about `copy` (the re-appended half message), for one live
    /// producer connection of its group; `None` (logged) when none is online.
    fn check_request(
        &self,
        copy: &StoredRecord,
        props: &BTreeMap<String, String>,
    ) -> Option<(Connection, RemotingCommand)> {
        let (real_topic, real_queue_id) = real_destination(props)?;
        let group = props.get(property::PRODUCER_GROUP)?;
        let uniq_key = props.get(property::UNIQ_KEY).cloned();
        let Some(connection) = self.clients.producer_connection(group) else {
            let check = OrphanCheck {
                group: group.clone(),
                real_topic: real_topic.clone(),
                record: check_body(copy, &real_topic, real_queue_id),
                transaction_id: offset_msg_id(self.identity.store_host, copy.physical_offset),
                msg_id: uniq_key.unwrap_or_default(),
            };
            if !self.orphans.deliver(&check) {
                tracing::warn!(
                    group,
                    "transaction check not sent: no producer of the group online"
                );
            }
            return None;
        };
        let header = CheckTransactionStateRequestHeader {
            topic: Some(HALF_TOPIC.to_owned()),
            tran_state_table_offset: copy.queue_offset,
            commit_log_offset: copy.physical_offset,
            msg_id: uniq_key.clone(),
            transaction_id: uniq_key,
            offset_msg_id: Some(offset_msg_id(
                self.identity.store_host,
                copy.physical_offset,
            )),
            broker_name: Some(self.identity.broker_name.clone()),
        };
        let request = RemotingCommand::request(RequestCode::CHECK_TRANSACTION_STATE, &header)
            .with_body(check_body(copy, &real_topic, real_queue_id));
        Some((connection, request))
    }

    /// Op records from `start` on (at most [`OPS_PER_PASS_MAX`]) and where reading stopped.
    fn read_ops(&self, start: i64) -> (Vec<OpRecord>, i64) {
        let mut ops = Vec::new();
        let mut offset = start;
        while ops.len() < OPS_PER_PASS_MAX {
            let batch = self.store.get_messages(
                OP_TOPIC,
                HALF_QUEUE_ID,
                offset,
                (OP_BATCH, usize::MAX),
                None,
            );
            if batch.messages.is_empty() {
                if batch.next_begin_offset > offset {
                    offset = batch.next_begin_offset;
                    continue;
                }
                break;
            }
            for (bytes, &op_offset) in batch.messages.iter().zip(&batch.queue_offsets) {
                let half_offsets = match decode_record(bytes, 0, false) {
                    Ok((RecordAt::Message(op), _)) => {
                        let props = std::str::from_utf8(&op.properties).unwrap_or_default();
                        if find_property(props, "TAGS") == Some(OP_REMOVE_TAG) {
                            decode_op_body(&op.body)
                        } else {
                            tracing::warn!(op_offset, "op record with an unknown tag ignored");
                            Vec::new()
                        }
                    }
                    _ => Vec::new(),
                };
                ops.push(OpRecord {
                    op_offset,
                    half_offsets,
                });
                offset = op_offset + 1;
            }
        }
        (ops, offset)
    }

    /// The check group's offset on `topic`, within the queue's current bounds.
    fn progress(&self, topic: &str) -> i64 {
        let min = self.store.min_offset_in_queue(topic, HALF_QUEUE_ID);
        let max = self.store.max_offset_in_queue(topic, HALF_QUEUE_ID);
        self.offsets
            .query(CHECK_GROUP, topic, HALF_QUEUE_ID)
            .unwrap_or(min)
            .clamp(min, max.max(min))
    }
}

/// State of one pass.
struct Pass {
    now_ms: i64,
    resolved: HashSet<i64>,
    report: CheckReport,
    outgoing: Vec<(Connection, RemotingCommand)>,
    /// The last copy this pass stored (durability is waited for once, for all).
    last_append: Option<apogee_store::AppendOutcome>,
}

#[cfg(test)]
#[path = "transaction_check_tests.rs"]
mod tests;
