//! The transactional producer: send a half message, run the local transaction, then commit or
//! roll back; answer the broker's later CHECK_TRANSACTION_STATE for transactions left unknown.

use std::sync::Arc;

use apogee_protocol::header::transaction::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader, TransactionResolution,
};
use apogee_protocol::message_id::decode_offset_msg_id;
use apogee_protocol::record::{RecordAt, decode_record};
use apogee_protocol::{RemotingCommand, RequestCode};

use super::{Producer, ProducerConfig, ProducerInner};
use crate::config::ClientConfig;
use crate::message::{Message, MessageExt, SendResult, SendStatus, property};
use crate::{ClientError, Result};

/// The outcome of a local transaction (or of a check of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalTransactionState {
    CommitMessage,
    RollbackMessage,
    /// Not decided yet: the broker will ask again through `check_local_transaction`.
    Unknown,
}

impl LocalTransactionState {
    fn resolution(self) -> TransactionResolution {
        match self {
            LocalTransactionState::CommitMessage => TransactionResolution::Commit,
            LocalTransactionState::RollbackMessage => TransactionResolution::Rollback,
            LocalTransactionState::Unknown => TransactionResolution::Unknown,
        }
    }
}

/// The application's side of a transaction. Both methods run on the blocking pool.
pub trait TransactionListener: Send + Sync + 'static {
    /// Runs the local transaction for a half message the broker has stored.
    fn execute_local_transaction(&self, msg: &Message, arg: &str) -> LocalTransactionState;
    /// Says what became of the transaction of `msg` (asked when it was left unknown, or its
    /// END_TRANSACTION was lost).
    fn check_local_transaction(&self, msg: &MessageExt) -> LocalTransactionState;
}

/// What `send_in_transaction` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionSendResult {
    pub send: SendResult,
    pub state: LocalTransactionState,
}

/// A producer whose group answers transaction checks.
#[derive(Clone)]
pub struct TransactionProducer {
    producer: Producer,
}

impl TransactionProducer {
    pub async fn start(
        client: ClientConfig,
        config: ProducerConfig,
        listener: impl TransactionListener,
    ) -> Result<TransactionProducer> {
        let producer = Producer::start(client, config).await?;
        // A fresh producer: the cell is empty.
        let _ = producer.inner.transaction.set(Arc::new(listener));
        Ok(TransactionProducer { producer })
    }

    /// The plain producer of the same group (for non-transactional sends).
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// Sends `msg` as a half message, runs the local transaction with `arg`, then commits or
    /// rolls back. Delay levels are not allowed in a transaction and are removed.
    pub async fn send_in_transaction(
        &self,
        mut msg: Message,
        arg: &str,
    ) -> Result<TransactionSendResult> {
        let inner = &self.producer.inner;
        let listener = inner
            .transaction
            .get()
            .cloned()
            .ok_or_else(|| ClientError::Config("no transaction listener".into()))?;
        msg.remove_property(property::DELAY);
        msg.set_property(property::TRAN_MSG, "true");
        msg.set_property(property::PGROUP, inner.config.group.clone());
        if msg.uniq_key().is_none() {
            // The listener sees the id the consumers will see.
            msg.set_property(property::UNIQ_KEY, inner.instance.next_uniq_id());
        }
        let send = self.producer.send(msg.clone()).await?;
        let state = if send.status == SendStatus::SendOk {
            let (listener, msg, arg) = (Arc::clone(&listener), msg.clone(), arg.to_owned());
            tokio::task::spawn_blocking(move || listener.execute_local_transaction(&msg, &arg))
                .await
                .unwrap_or_else(|_| {
                    tracing::warn!("the local transaction panicked; leaving it unknown");
                    LocalTransactionState::Unknown
                })
        } else {
            LocalTransactionState::RollbackMessage
        };
        let (_, commit_log_offset) =
            decode_offset_msg_id(&send.offset_msg_id).ok_or_else(|| {
                ClientError::bad_response(
                    "(send)",
                    format!("bad offset msg id {}", send.offset_msg_id),
                )
            })?;
        let header = EndTransactionRequestHeader {
            topic: Some(send.queue.topic.clone()),
            producer_group: inner.config.group.clone(),
            tran_state_table_offset: send.queue_offset,
            commit_log_offset,
            commit_or_rollback: state.resolution().to_wire(),
            from_transaction_check: Some(false),
            msg_id: send.msg_id.clone(),
            transaction_id: send.transaction_id.clone(),
            broker_name: Some(send.queue.broker_name.clone()),
        };
        let addr = inner
            .instance
            .find_broker_addr(&send.queue.broker_name, &send.queue.topic)
            .await?;
        // Oneway, as Java: if it is lost the broker asks again.
        if let Err(e) = end_transaction(inner, &addr, &header).await {
            tracing::warn!(%addr, error = %e, "END_TRANSACTION not sent; the broker will check back");
        }
        Ok(TransactionSendResult { send, state })
    }

    pub async fn shutdown(&self) {
        self.producer.shutdown().await;
    }
}

async fn end_transaction(
    inner: &ProducerInner,
    addr: &str,
    header: &EndTransactionRequestHeader,
) -> Result<()> {
    inner.trace_end_transaction(header, addr);
    let request = RemotingCommand::request(RequestCode::END_TRANSACTION, header).into_oneway();
    inner
        .instance
        .invoke_oneway(addr, request, inner.instance.config.request_timeout)
        .await
}

/// Answers a CHECK_TRANSACTION_STATE from `broker_addr` in the background.
pub(crate) fn answer_check(
    inner: Arc<ProducerInner>,
    broker_addr: String,
    request: RemotingCommand,
) {
    let Some(listener) = inner.transaction.get().cloned() else {
        tracing::warn!(group = %inner.config.group, %broker_addr, "transaction check for a producer without a transaction listener");
        return;
    };
    tokio::spawn(async move {
        let header: CheckTransactionStateRequestHeader = match request.header() {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(%broker_addr, error = %e, "bad CHECK_TRANSACTION_STATE header");
                return;
            }
        };
        let record = match decode_record(&request.body, 0, false) {
            Ok((RecordAt::Message(r), _)) => r,
            other => {
                tracing::warn!(%broker_addr, ?other, "CHECK_TRANSACTION_STATE without a message");
                return;
            }
        };
        let broker_name = header.broker_name.clone().unwrap_or_default();
        let msg = MessageExt::from_record(record, &broker_name);
        let uniq = msg
            .property(property::UNIQ_KEY)
            .map(str::to_owned)
            .or_else(|| header.msg_id.clone())
            .unwrap_or_default();
        let checked = msg.clone();
        let state = tokio::task::spawn_blocking(move || listener.check_local_transaction(&checked))
            .await
            .unwrap_or(LocalTransactionState::Unknown);
        let end = EndTransactionRequestHeader {
            topic: Some(msg.topic.clone()),
            producer_group: inner.config.group.clone(),
            tran_state_table_offset: header.tran_state_table_offset,
            commit_log_offset: header.commit_log_offset,
            commit_or_rollback: state.resolution().to_wire(),
            from_transaction_check: Some(true),
            msg_id: uniq.clone(),
            transaction_id: header.transaction_id.clone().or(Some(uniq)),
            broker_name: header.broker_name.clone(),
        };
        if let Err(e) = end_transaction(&inner, &broker_addr, &end).await {
            tracing::warn!(%broker_addr, error = %e, "cannot answer the transaction check");
        }
    });
}
