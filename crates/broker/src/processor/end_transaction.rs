//! END_TRANSACTION (37, REMOTING.md §3.6): the producer's verdict on a half message. The half
//! message is found by its CommitLog offset — only a record that really starts there and that
//! the half queue lists (a forged record inside some message body is never one) — and must
//! match the request (producer group, queue offset, CommitLog offset; SYSTEM_ERROR with
//! Java's remarks otherwise). Its real topic must be a valid, existing, writable topic. Commit stores the
//! real message then an op record; rollback only the op record; "unknown" changes nothing and
//! leaves the half message to the check service. Producers send it oneway, so the response
//! is usually dropped by the transport.

use std::sync::Arc;

use apogee_model::{Perm, TopicName};
use apogee_protocol::header::transaction::{EndTransactionRequestHeader, TransactionResolution};
use apogee_protocol::record::StoredRecord;
use apogee_protocol::{RemotingCommand, RequestCode};
use apogee_remoting::Connection;
use apogee_runtime::Clock;

use super::{Handler, Identity, success};
use crate::BrokerError;
use crate::live::LiveSettings;
use crate::manager::topic_config::TopicConfigs;
use crate::ops::put::Putter;
use crate::ops::redirect;
use crate::transaction::{
    HALF_TOPIC, committed_message, immunity_ms, op_message, properties_of, property,
};

/// The END_TRANSACTION family.
pub struct EndTransactionProcessor {
    /// Gate, append, flush and replica waits (the committed message and the op record).
    pub put: Putter,
    /// The record a request names by offset, validated before use.
    pub records: Arc<dyn apogee_store::RecordReader>,
    pub topics: TopicConfigs,
    pub identity: Identity,
    pub clock: Arc<dyn Clock>,
    /// `transactionTimeOut` (the immunity of a message whose property is unreadable).
    pub live: LiveSettings,
    /// A slave answers SLAVE_NOT_AVAILABLE with no remark, as Java's does.
    pub replication: crate::ha::Replication,
    /// A committed timer message goes to the timer topic.
    pub timer: crate::config::TimerLimits,
    /// Delay levels configured (a committed `DELAY` message waits on its level).
    pub delay_levels: usize,
}

impl Handler for EndTransactionProcessor {
    const CODES: &'static [RequestCode] = &[RequestCode::END_TRANSACTION];

    async fn handle(
        &self,
        connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        if self.replication.is_slave() {
            return Ok(RemotingCommand::response_to(
                request,
                apogee_protocol::ResponseCode::SLAVE_NOT_AVAILABLE,
                None,
            ));
        }
        let h: EndTransactionRequestHeader = request.header()?;
        tracing::debug!(peer = %connection.peer(), msg_id = %h.msg_id, "end transaction");
        self.end(&h).await?;
        Ok(success(request))
    }
}

impl EndTransactionProcessor {
    /// The verdict on a half message, whoever carried it (END_TRANSACTION, the v5 endpoint).
    pub async fn end(&self, h: &EndTransactionRequestHeader) -> Result<(), BrokerError> {
        let resolution = h
            .resolution()
            .ok_or_else(|| BrokerError::SystemError("commitOrRollback field wrong".into()))?;
        let from_check = h.from_transaction_check.unwrap_or(false);
        if resolution == TransactionResolution::Unknown {
            // Java answers nothing at all; a (oneway) Java producer never waits for it.
            return Ok(());
        }
        let half = self.prepared(h, from_check)?;
        if resolution == TransactionResolution::Commit {
            self.commit(&half).await?;
        }
        let op = op_message(
            half.queue_offset,
            self.clock.now_ms(),
            self.identity.store_host,
        );
        // Straight to the log, never refused by the send gate: a lost op record would have
        // the check ask again and a second commit store the message twice.
        if let Err(e) = self.put.store.append(std::slice::from_ref(&op)) {
            // As in Java the verdict stands; the check service will ask the producer again.
            tracing::warn!(error = %e, half_offset = half.queue_offset, "op record not written");
        }
        Ok(())
    }

    /// The committed message's topic must be a valid topic this broker has, writable, and its
    /// queue one of the topic's.
    fn check_real_destination(&self, topic: &str, queue_id: i32) -> Result<(), BrokerError> {
        TopicName::new(topic)
            .map_err(|e| BrokerError::SystemError(format!("illegal REAL_TOPIC: {e}")))?;
        let config = self
            .topics
            .get(topic)
            .ok_or_else(|| BrokerError::TopicNotExist(topic.to_owned()))?;
        if !Perm(config.perm).is_writeable() {
            return Err(BrokerError::NoPermission(format!(
                "the topic[{topic}] sending message is forbidden"
            )));
        }
        if queue_id < 0 || queue_id >= config.write_queue_nums.max(config.read_queue_nums) {
            return Err(BrokerError::SystemError(format!(
                "REAL_QID {queue_id} is not a queue of topic {topic}"
            )));
        }
        Ok(())
    }

    /// The half message the request names, checked against it (Java's `checkPrepareMessage`,
    /// plus that the record really is on the half queue).
    fn prepared(
        &self,
        h: &EndTransactionRequestHeader,
        from_check: bool,
    ) -> Result<StoredRecord, BrokerError> {
        let half = self
            .records
            .lookup_record(h.commit_log_offset)
            .filter(|r| r.topic_str() == HALF_TOPIC)
            .ok_or_else(|| {
                BrokerError::SystemError("Find prepared transaction message failed".into())
            })?;
        let props = properties_of(&half);
        if !from_check && let Some(value) = props.get(property::CHECK_IMMUNITY_SECONDS) {
            let age = self.clock.now_ms().saturating_sub(half.born_timestamp);
            if age > immunity_ms(value, self.live.transaction_timeout_ms()) {
                return Err(BrokerError::IllegalOperation(
                    "the check immunity time has passed; the transaction waits for its check"
                        .into(),
                ));
            }
        }
        if props.get(property::PRODUCER_GROUP) != Some(&h.producer_group) {
            return Err(BrokerError::SystemError("The producer group wrong".into()));
        }
        if half.queue_offset != h.tran_state_table_offset {
            return Err(BrokerError::SystemError(
                "The transaction state table offset wrong".into(),
            ));
        }
        if half.physical_offset != h.commit_log_offset {
            return Err(BrokerError::SystemError(
                "The commit log offset wrong".into(),
            ));
        }
        Ok(half)
    }

    /// Stores the real message (a `DELAY` or timer it carries takes effect now, as a COMMIT-type put
    /// does in Java's CommitLog). A flush timeout still counts as stored, as in Java.
    async fn commit(&self, half: &StoredRecord) -> Result<(), BrokerError> {
        if !self.live.permission().is_writeable() {
            return Err(BrokerError::NoPermission(format!(
                "the broker[{}] sending message is forbidden",
                self.identity.store_host
            )));
        }
        let mut message = committed_message(half, self.identity.store_host).ok_or_else(|| {
            BrokerError::SystemError("the half message names no REAL_TOPIC/REAL_QID".into())
        })?;
        self.check_real_destination(&message.topic, message.queue_id)?;
        let mut props =
            apogee_protocol::Properties::from_wire(std::mem::take(&mut message.properties));
        let mut dest = redirect::Destination {
            topic: std::mem::take(&mut message.topic),
            queue_id: message.queue_id,
            sys_flag: message.sys_flag,
        };
        let policy = redirect::Policy {
            delay_levels: self.delay_levels,
            timer_enabled: self.timer.enabled,
            timer_max_delay_ms: self.timer.max_delay_ms,
            now_ms: self.clock.now_ms(),
        };
        redirect::schedule(&mut props, &mut dest, &policy)?;
        let topic = dest.topic.clone();
        (message.topic, message.queue_id) = (dest.topic, dest.queue_id);
        message.properties = props.into_string();
        self.put.put(vec![message], &topic).await?;
        Ok(())
    }
}
