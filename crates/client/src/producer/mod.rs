//! The producer: sync, callback-async, oneway, ordered (selector) and batch sends with
//! retries on other brokers, fault-latency avoidance, compression and UNIQ_KEY ids.

mod fault;
mod selector;
mod trace;
mod transaction;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apogee_model::TopicName;
use apogee_protocol::batch::{BatchEntry, encode_batch};
use apogee_protocol::body::client::MessageQueue;
use apogee_protocol::header::message::{
    SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use apogee_protocol::record::{encode_properties, sys_flag};
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use bytes::Bytes;

pub use selector::{QueueSelector, SelectByHash};
pub use transaction::{
    LocalTransactionState, TransactionListener, TransactionProducer, TransactionSendResult,
};

use crate::config::ClientConfig;
use crate::instance::{AUTO_CREATE_TOPIC_KEY, ClientInstance, ProducerHandle, now_ms};
use crate::message::{Message, SendResult, SendStatus, deflate, property};
use crate::route::TopicRoute;
use crate::trace_writer::TraceWriter;
use crate::{ClientError, Result};
use apogee_protocol::body::trace::TRACE_TOPIC;
use fault::FaultTracker;

/// Producer settings; `ProducerConfig::new(group)` gives the Java defaults.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    pub group: String,
    /// Budget of one send including its retries (`sendMsgTimeout`, 3 s).
    pub send_timeout: Duration,
    /// Extra attempts of a sync send on other brokers (`retryTimesWhenSendFailed`, 2).
    pub retry_times_when_send_failed: u32,
    /// Extra attempts of a callback send (`retryTimesWhenSendAsyncFailed`, 2).
    pub retry_times_when_send_async_failed: u32,
    /// Also retry when the broker stored the message but could not flush/replicate in time.
    pub retry_another_broker_when_not_store_ok: bool,
    /// Bodies at least this long are zlib-compressed (4096).
    pub compress_over: usize,
    pub compress_level: u32,
    /// Largest body accepted (4 MiB), checked before anything is sent.
    pub max_message_size: usize,
    /// Queues per broker of a topic created through the `TBW102` template (4).
    pub default_topic_queue_nums: usize,
    /// Avoid brokers that were slow or failing (`sendLatencyFaultEnable`).
    pub send_latency_fault_enable: bool,
    /// Write a `Pub` trace of every send (`enableMsgTrace`, off).
    pub enable_trace: bool,
    /// The trace topic (`customizedTraceTopic`; `RMQ_SYS_TRACE_TOPIC` when unset).
    pub trace_topic: Option<String>,
}

impl ProducerConfig {
    pub fn new(group: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            send_timeout: Duration::from_secs(3),
            retry_times_when_send_failed: 2,
            retry_times_when_send_async_failed: 2,
            retry_another_broker_when_not_store_ok: false,
            compress_over: 4096,
            compress_level: 5,
            max_message_size: 4 * 1024 * 1024,
            default_topic_queue_nums: 4,
            send_latency_fault_enable: true,
            enable_trace: false,
            trace_topic: None,
        }
    }
}

/// A started producer. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Producer {
    pub(crate) inner: Arc<ProducerInner>,
}

pub(crate) struct ProducerInner {
    pub(crate) config: ProducerConfig,
    pub(crate) instance: Arc<ClientInstance>,
    faults: FaultTracker,
    next_queue: AtomicUsize,
    closed: AtomicBool,
    /// Set once for a transactional producer.
    pub(crate) transaction: std::sync::OnceLock<Arc<dyn TransactionListener>>,
    /// The trace writer, when `enable_trace` is on.
    pub(crate) trace: Option<Arc<TraceWriter>>,
}

/// How a send is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Sync,
    Oneway,
}

impl Producer {
    /// Starts a producer of `config.group`, sharing the process's client instance for
    /// `client`'s client id. Fails if the group is already started in this instance.
    pub async fn start(client: ClientConfig, config: ProducerConfig) -> Result<Producer> {
        validate_group(&config.group)?;
        let instance = ClientInstance::get(&client).await?;
        let trace = config.enable_trace.then(|| {
            let topic = config
                .trace_topic
                .clone()
                .unwrap_or_else(|| TRACE_TOPIC.to_owned());
            TraceWriter::start(&client, &config.group, topic)
        });
        let inner = Arc::new(ProducerInner {
            config,
            instance: Arc::clone(&instance),
            faults: FaultTracker::default(),
            next_queue: AtomicUsize::new(crate::instance::process_random() as usize),
            closed: AtomicBool::new(false),
            transaction: std::sync::OnceLock::new(),
            trace,
        });
        let handle: Arc<dyn ProducerHandle> = Arc::new(HandleRef(Arc::downgrade(&inner)));
        instance.register_producer(&inner.config.group, handle)?;
        Ok(Producer { inner })
    }

    pub fn group(&self) -> &str {
        &self.inner.config.group
    }

    /// Trace records dropped because the trace queue was full (0 with tracing off).
    pub fn traces_dropped(&self) -> u64 {
        self.inner.trace.as_ref().map_or(0, |t| t.dropped())
    }

    /// The shared client instance (route cache, client id).
    pub fn instance(&self) -> &Arc<ClientInstance> {
        &self.inner.instance
    }

    /// Sends and waits for the broker's answer, retrying on other brokers (3 attempts by
    /// default) within the send timeout.
    pub async fn send(&self, msg: Message) -> Result<SendResult> {
        let attempts = 1 + self.inner.config.retry_times_when_send_failed;
        self.inner.send_retrying(msg, attempts, Mode::Sync).await
    }

    /// Sends in the background and hands the outcome to `callback` (retried
    /// `retry_times_when_send_async_failed` times).
    pub fn send_with_callback(
        &self,
        msg: Message,
        callback: impl FnOnce(Result<SendResult>) + Send + 'static,
    ) {
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            let attempts = 1 + inner.config.retry_times_when_send_async_failed;
            callback(inner.send_retrying(msg, attempts, Mode::Sync).await);
        });
    }

    /// Sends without waiting for the broker: no result, no retry.
    pub async fn send_oneway(&self, msg: Message) -> Result<()> {
        self.inner
            .send_retrying(msg, 1, Mode::Oneway)
            .await
            .map(|_| ())
    }

    /// Sends to one queue (no retry on another queue: the caller chose this one).
    pub async fn send_to_queue(&self, msg: Message, queue: &MessageQueue) -> Result<SendResult> {
        let msg = self.inner.prepare(msg)?;
        let deadline = Instant::now() + self.inner.config.send_timeout;
        let request = self.inner.single_request(&msg, queue, None)?;
        self.inner
            .send_request(queue, request, &msg, deadline, Mode::Sync)
            .await
    }

    /// Sends to the queue `selector` picks among the topic's writable queues: messages with
    /// the same `arg` keep their order.
    pub async fn send_with_selector(
        &self,
        msg: Message,
        selector: &dyn QueueSelector,
        arg: &str,
    ) -> Result<SendResult> {
        let route = self
            .inner
            .instance
            .publish_route(&msg.topic, self.inner.config.default_topic_queue_nums)
            .await?;
        let queues = &route.publish_queues;
        let index = selector.select(queues, &msg, arg) % queues.len();
        let queue = queues[index].clone();
        self.send_to_queue(msg, &queue).await
    }

    /// Partition-ordered send: every message with the same `sharding_key` goes to the same
    /// queue (Java's hash selector, so Java and Rust producers agree).
    pub async fn send_orderly(&self, msg: Message, sharding_key: &str) -> Result<SendResult> {
        self.send_with_selector(msg, &SelectByHash, sharding_key)
            .await
    }

    /// Sends several messages of one topic in one request (SEND_BATCH_MESSAGE). They land in
    /// one queue with consecutive offsets.
    pub async fn send_batch(&self, msgs: Vec<Message>) -> Result<SendResult> {
        let inner = &self.inner;
        let batch = inner.prepare_batch(msgs)?;
        let attempts = 1 + inner.config.retry_times_when_send_failed;
        let deadline = Instant::now() + inner.config.send_timeout;
        let route = inner
            .instance
            .publish_route(&batch.topic, inner.config.default_topic_queue_nums)
            .await?;
        let mut last_broker: Option<String> = None;
        let mut last_error = None;
        for _ in 0..attempts {
            if Instant::now() >= deadline {
                break;
            }
            let queue = inner.select_queue(&route, last_broker.as_deref());
            let request = inner.batch_request(&batch, &queue);
            match inner
                .send_request(&queue, request, &batch.as_message(), deadline, Mode::Sync)
                .await
            {
                Ok(mut result) => {
                    result.msg_id = batch.ids.join(",");
                    return Ok(result);
                }
                Err(e) if e.is_retryable() => {
                    last_broker = Some(queue.broker_name.clone());
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| send_timeout(inner.config.send_timeout)))
    }

    /// Leaves the group: stops heartbeats for it and tells the brokers.
    pub async fn shutdown(&self) {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(trace) = &self.inner.trace {
            trace.close().await;
        }
        self.inner
            .instance
            .unregister(Some(&self.inner.config.group), None)
            .await;
    }
}

fn send_timeout(timeout: Duration) -> ClientError {
    ClientError::Remoting(apogee_remoting::RemotingError::Timeout {
        addr: "(send)".into(),
        timeout,
    })
}

fn validate_group(group: &str) -> Result<()> {
    apogee_model::GroupName::new(group)
        .map(|_| ())
        .map_err(|e| ClientError::Config(format!("group `{group}`: {e}")))
}

/// A batch ready to encode.
struct PreparedBatch {
    topic: String,
    body: Bytes,
    ids: Vec<String>,
    properties: String,
}

impl PreparedBatch {
    /// A stand-in message for size accounting and logging.
    fn as_message(&self) -> Message {
        Message::new(self.topic.clone(), Bytes::new())
    }
}

impl ProducerInner {
    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) || self.instance.is_shut_down() {
            return Err(ClientError::Shutdown);
        }
        Ok(())
    }

    /// Validates `msg` and gives it a UNIQ_KEY if it has none.
    fn prepare(&self, mut msg: Message) -> Result<Message> {
        self.check_open()?;
        validate_message(&msg, self.config.max_message_size)?;
        if msg.uniq_key().is_none() {
            msg.set_property(property::UNIQ_KEY, self.instance.next_uniq_id());
        }
        Ok(msg)
    }

    fn prepare_batch(&self, msgs: Vec<Message>) -> Result<PreparedBatch> {
        self.check_open()?;
        let first = msgs
            .first()
            .ok_or_else(|| ClientError::InvalidMessage("the batch is empty".into()))?;
        let topic = first.topic.clone();
        let wait = first.property(property::WAIT).map(str::to_owned);
        let mut entries = Vec::with_capacity(msgs.len());
        let mut ids = Vec::with_capacity(msgs.len());
        let mut total = 0usize;
        for mut msg in msgs {
            validate_message(&msg, self.config.max_message_size)?;
            if msg.topic != topic {
                return Err(ClientError::InvalidMessage(format!(
                    "a batch holds one topic; found `{}` and `{topic}`",
                    msg.topic
                )));
            }
            if msg.property(property::WAIT).map(str::to_owned) != wait {
                return Err(ClientError::InvalidMessage(
                    "all messages of a batch need the same WAIT setting".into(),
                ));
            }
            if msg.property(property::DELAY).is_some() {
                return Err(ClientError::InvalidMessage(
                    "delay messages cannot be sent in a batch".into(),
                ));
            }
            if apogee_model::system_topic::is_retry_topic(&topic) {
                return Err(ClientError::InvalidMessage(
                    "retry-topic messages cannot be sent in a batch".into(),
                ));
            }
            if msg.uniq_key().is_none() {
                msg.set_property(property::UNIQ_KEY, self.instance.next_uniq_id());
            }
            ids.push(msg.uniq_key().unwrap_or_default().to_owned());
            total += msg.body.len();
            entries.push(BatchEntry {
                flag: msg.flag,
                properties: encode_properties(msg.properties()),
                body: msg.body,
            });
        }
        if total > self.config.max_message_size {
            return Err(ClientError::InvalidMessage(format!(
                "the batch body is {total} bytes, over the {} byte limit",
                self.config.max_message_size
            )));
        }
        let mut body = Vec::with_capacity(total + entries.len() * 64);
        encode_batch(&entries, &mut body);
        let mut props = std::collections::BTreeMap::new();
        props.insert(property::UNIQ_KEY.to_owned(), self.instance.next_uniq_id());
        if let Some(w) = wait {
            props.insert(property::WAIT.to_owned(), w);
        }
        Ok(PreparedBatch {
            topic,
            body: Bytes::from(body),
            ids,
            properties: encode_properties(&props),
        })
    }

    async fn send_retrying(&self, msg: Message, attempts: u32, mode: Mode) -> Result<SendResult> {
        let msg = self.prepare(msg)?;
        let started = Instant::now();
        let deadline = started + self.config.send_timeout;
        let route = self
            .instance
            .publish_route(&msg.topic, self.config.default_topic_queue_nums)
            .await?;
        let mut last_broker: Option<String> = None;
        let mut last_error = None;
        for attempt in 0..attempts {
            if Instant::now() >= deadline {
                break;
            }
            let queue = self.select_queue(&route, last_broker.as_deref());
            let request = self.single_request(&msg, &queue, None)?;
            match self
                .send_request(&queue, request, &msg, deadline, mode)
                .await
            {
                Ok(result)
                    if result.status != SendStatus::SendOk
                        && self.config.retry_another_broker_when_not_store_ok
                        && attempt + 1 < attempts =>
                {
                    last_broker = Some(queue.broker_name.clone());
                }
                Ok(result) => return Ok(result),
                Err(e) if e.is_retryable() => {
                    tracing::debug!(topic = %msg.topic, broker = %queue.broker_name, attempt, error = %e, "send failed; retrying");
                    last_broker = Some(queue.broker_name.clone());
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| send_timeout(self.config.send_timeout)))
    }

    /// Round-robin over the route's queues, skipping the broker that just failed and (with
    /// fault avoidance) brokers that were slow; falls back to any queue.
    fn select_queue(&self, route: &TopicRoute, avoid: Option<&str>) -> MessageQueue {
        let queues = &route.publish_queues;
        let n = queues.len();
        let start = self.next_queue.fetch_add(1, Ordering::Relaxed);
        let pick = |ok: &dyn Fn(&MessageQueue) -> bool| {
            (0..n)
                .map(|i| &queues[(start + i) % n])
                .find(|q| ok(q))
                .cloned()
        };
        if self.config.send_latency_fault_enable
            && let Some(q) = pick(&|q| {
                Some(q.broker_name.as_str()) != avoid && self.faults.is_available(&q.broker_name)
            })
        {
            return q;
        }
        pick(&|q| Some(q.broker_name.as_str()) != avoid)
            .unwrap_or_else(|| queues[start % n].clone())
    }

    fn single_request(
        &self,
        msg: &Message,
        queue: &MessageQueue,
        sys_flag_extra: Option<i32>,
    ) -> Result<RemotingCommand> {
        let mut flag = sys_flag_extra.unwrap_or(0);
        let mut body = msg.body.clone();
        if body.len() >= self.config.compress_over {
            let packed = deflate(&body, self.config.compress_level).map_err(|e| {
                ClientError::InvalidMessage(format!("cannot compress the body: {e}"))
            })?;
            if packed.len() < body.len() {
                body = Bytes::from(packed);
                // COMPRESSED plus the ZLIB type bits, as 5.x producers write.
                flag |= sys_flag::COMPRESSED | 0x300;
            }
        }
        if msg.property(property::TRAN_MSG) == Some("true") {
            flag |= sys_flag::TRANSACTION_PREPARED;
        }
        let reconsume_times = msg
            .property(property::RECONSUME_TIME)
            .and_then(|v| v.parse().ok());
        let max_reconsume_times = msg
            .property(property::MAX_RECONSUME_TIMES)
            .and_then(|v| v.parse().ok());
        let header = SendMessageRequestHeader {
            producer_group: self.config.group.clone(),
            topic: msg.topic.clone(),
            default_topic: AUTO_CREATE_TOPIC_KEY.into(),
            default_topic_queue_nums: i32::try_from(self.config.default_topic_queue_nums)
                .unwrap_or(4),
            queue_id: queue.queue_id,
            sys_flag: flag,
            born_timestamp: now_ms(),
            flag: msg.flag,
            properties: Some(encode_properties(msg.properties())),
            reconsume_times: reconsume_times.or(Some(0)),
            unit_mode: Some(false),
            max_reconsume_times,
            batch: Some(false),
            broker_name: Some(queue.broker_name.clone()),
        };
        Ok(RemotingCommand::request(
            RequestCode::SEND_MESSAGE_V2,
            &SendMessageRequestHeaderV2::from(header),
        )
        .with_body(body))
    }

    fn batch_request(&self, batch: &PreparedBatch, queue: &MessageQueue) -> RemotingCommand {
        let header = SendMessageRequestHeader {
            producer_group: self.config.group.clone(),
            topic: batch.topic.clone(),
            default_topic: AUTO_CREATE_TOPIC_KEY.into(),
            default_topic_queue_nums: i32::try_from(self.config.default_topic_queue_nums)
                .unwrap_or(4),
            queue_id: queue.queue_id,
            sys_flag: 0,
            born_timestamp: now_ms(),
            flag: 0,
            properties: Some(batch.properties.clone()),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            max_reconsume_times: None,
            batch: Some(true),
            broker_name: Some(queue.broker_name.clone()),
        };
        RemotingCommand::request(
            RequestCode::SEND_BATCH_MESSAGE,
            &SendMessageRequestHeaderV2::from(header),
        )
        .with_body(batch.body.clone())
    }

    /// One attempt: to `queue`'s broker master, within what is left until `deadline`.
    async fn send_request(
        &self,
        queue: &MessageQueue,
        request: RemotingCommand,
        msg: &Message,
        deadline: Instant,
        mode: Mode,
    ) -> Result<SendResult> {
        let addr = self
            .instance
            .find_broker_addr(&queue.broker_name, &queue.topic)
            .await?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(send_timeout(self.config.send_timeout));
        }
        let started = Instant::now();
        if mode == Mode::Oneway {
            let outcome = self
                .instance
                .invoke_oneway(&addr, request.into_oneway(), remaining)
                .await;
            self.faults
                .record(&queue.broker_name, started.elapsed(), outcome.is_err());
            outcome?;
            let result = SendResult {
                status: SendStatus::SendOk,
                msg_id: msg.uniq_key().unwrap_or_default().to_owned(),
                offset_msg_id: String::new(),
                queue: queue.clone(),
                queue_offset: -1,
                transaction_id: None,
            };
            self.trace_send(msg, &result, (&addr, None), started);
            return Ok(result);
        }
        let outcome = self.instance.invoke(&addr, request, remaining).await;
        let failed = match &outcome {
            Ok(r) => !matches!(
                r.response_code(),
                ResponseCode::SUCCESS
                    | ResponseCode::FLUSH_DISK_TIMEOUT
                    | ResponseCode::FLUSH_SLAVE_TIMEOUT
                    | ResponseCode::SLAVE_NOT_AVAILABLE
            ),
            Err(_) => true,
        };
        self.faults
            .record(&queue.broker_name, started.elapsed(), failed);
        let response = outcome?;
        let status = match response.response_code() {
            ResponseCode::SUCCESS => SendStatus::SendOk,
            ResponseCode::FLUSH_DISK_TIMEOUT => SendStatus::FlushDiskTimeout,
            ResponseCode::FLUSH_SLAVE_TIMEOUT => SendStatus::FlushSlaveTimeout,
            ResponseCode::SLAVE_NOT_AVAILABLE => SendStatus::SlaveNotAvailable,
            _ => return Err(ClientError::refused(&addr, &response)),
        };
        let header: SendMessageResponseHeader = response
            .header()
            .map_err(|e| ClientError::bad_response(&addr, e))?;
        let region = response.ext_fields.get("MSG_REGION").map(str::to_owned);
        let result = SendResult {
            status,
            msg_id: msg
                .uniq_key()
                .map_or_else(|| header.msg_id.clone(), str::to_owned),
            offset_msg_id: header.msg_id,
            queue: MessageQueue {
                topic: queue.topic.clone(),
                broker_name: queue.broker_name.clone(),
                queue_id: header.queue_id,
            },
            queue_offset: header.queue_offset,
            transaction_id: header.transaction_id,
        };
        self.trace_send(msg, &result, (&addr, region), started);
        Ok(result)
    }
}

/// Client-side checks before anything is sent.
fn validate_message(msg: &Message, max_size: usize) -> Result<()> {
    TopicName::new(msg.topic.clone())
        .map_err(|e| ClientError::InvalidMessage(format!("topic `{}`: {e}", msg.topic)))?;
    if msg.body.is_empty() {
        return Err(ClientError::InvalidMessage(
            "the message body is empty".into(),
        ));
    }
    if msg.body.len() > max_size {
        return Err(ClientError::InvalidMessage(format!(
            "the message body is {} bytes, over the {max_size} byte limit",
            msg.body.len()
        )));
    }
    Ok(())
}

/// The registry's view of a producer; weak so the registry never keeps a producer alive.
struct HandleRef(std::sync::Weak<ProducerInner>);

impl ProducerHandle for HandleRef {
    fn check_transaction(&self, broker_addr: String, request: RemotingCommand) {
        if let Some(inner) = self.0.upgrade() {
            transaction::answer_check(inner, broker_addr, request);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_bad_messages_should_refuse_before_sending() {
        let err = validate_message(&Message::new("T", ""), 10).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
        let err = validate_message(&Message::new("T", vec![0u8; 11]), 10).unwrap_err();
        assert!(err.to_string().contains("over the 10 byte limit"), "{err}");
        let err = validate_message(&Message::new("bad topic!", "x"), 10).unwrap_err();
        assert!(err.to_string().contains("bad topic!"), "{err}");
        assert!(validate_message(&Message::new("T", "x"), 10).is_ok());
    }
}
