//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320): validate, resolve the
//! topic (auto-creating it from the template), check its `message.type` when asked
//! (`ops::message_type`), send the message through the redirect pipeline (`ops::redirect`:
//! dead letters, half messages, delay levels, timers), store it (`ops::put`: flow control,
//! append, flush and replica waits), answer with the full response header (REMOTING.md §3.1).

use std::sync::Arc;

use apogee_model::system_topic::{group_of_retry, is_retry_topic};
use apogee_model::{Perm, TopicName};
use apogee_protocol::batch::decode_batch;
use apogee_protocol::header::message::{
    SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use apogee_protocol::message_id::{UniqIdGenerator, ms_since_month_start, offset_msg_id};
use apogee_protocol::record::find_property;
use apogee_protocol::{Properties, RemotingCommand, RequestCode, ResponseCode, property};
use apogee_remoting::Connection;
use apogee_replication::ReplicaStatus;
use apogee_runtime::Clock;
use apogee_store::{MessageToStore, PutStatus};
use bytes::Bytes;

use super::{Handler, Identity};
use crate::BrokerError;
use crate::config::Limits;
use crate::ha::Replication;
use crate::live::LiveSettings;
use crate::manager::client_registry::ClientRegistry;
use crate::manager::subscription_group::SubscriptionGroups;
use crate::manager::topic_config::{SEND_FORBIDDEN, TopicConfigs};
use crate::ops::message_type;
use crate::ops::put::{PutOutcome, Putter};
use crate::ops::redirect::{self, Destination, Policy, Redirect, SendFacts};

/// Java's `MessageConst` limit on the properties string.
const PROPERTIES_BYTES_MAX: usize = i16::MAX as usize;
/// Properties that make a message wait; a batch may carry none of them.
const SCHEDULING_KEYS: [&str; 5] = [
    property::DELAY,
    property::TIMER_DELIVER_MS,
    property::TIMER_DELAY_SEC,
    property::TIMER_DELAY_MS,
    property::START_DELIVER_TIME,
];
/// Most messages one batch request may carry.
const BATCH_MESSAGES_MAX: usize = 10_000;

/// The send family.
pub struct SendProcessor {
    /// Gate, append, flush and replica waits, put statistics.
    pub put: Putter,
    pub topics: TopicConfigs,
    pub groups: SubscriptionGroups,
    /// Remembers which connections send to which topic (topic deletion checks it).
    pub clients: ClientRegistry,
    pub identity: Identity,
    pub limits: Arc<Limits>,
    pub uniq_ids: Arc<UniqIdGenerator>,
    pub clock: Arc<dyn Clock>,
    /// Permission and `maxMessageSize`, which UPDATE_BROKER_CONFIG may change.
    pub live: LiveSettings,
    /// The role (a slave refuses sends).
    pub replication: Replication,
}

impl Handler for SendProcessor {
    const CODES: &'static [RequestCode] = &[
        RequestCode::SEND_MESSAGE,
        RequestCode::SEND_MESSAGE_V2,
        RequestCode::SEND_BATCH_MESSAGE,
    ];

    async fn handle(
        &self,
        connection: Connection,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, BrokerError> {
        if self.replication.is_slave() {
            return Err(BrokerError::slave_refuses_writes());
        }
        let code = request.request_code();
        let header: SendMessageRequestHeader = if code == RequestCode::SEND_MESSAGE {
            request.header()?
        } else {
            request.header::<SendMessageRequestHeaderV2>()?.into()
        };
        // Java decides by the header's `batch` flag; C++ clients send batches with code 10 or
        // 310 and `batch=1`.
        let batch = code == RequestCode::SEND_BATCH_MESSAGE || header.batch == Some(true);
        let (target, put) = self
            .store(&header, &request.body, batch, connection.peer())
            .await?;
        self.clients.note_sender(&header.topic, &connection);
        Ok(self.response(request, &target, &put.messages, &put))
    }
}

/// How one send went, for callers other than the remoting answer (the v5 endpoint).
#[derive(Debug, Clone)]
pub struct Sent {
    /// SUCCESS, or the flush / replica timeout code (the message is stored either way).
    pub code: ResponseCode,
    pub queue_id: i32,
    pub queue_offset: i64,
    /// The broker's id of the (first) stored record: store host + CommitLog offset.
    pub offset_msg_id: String,
    pub commit_log_offset: i64,
}

impl SendProcessor {
    /// A send as a remoting SEND_MESSAGE would make it: the same checks, redirects and
    /// waits. `body` is one message, or an encoded batch when `batch`.
    pub async fn send(
        &self,
        header: &SendMessageRequestHeader,
        body: &Bytes,
        batch: bool,
        peer: std::net::SocketAddr,
    ) -> Result<Sent, BrokerError> {
        if self.replication.is_slave() {
            return Err(BrokerError::slave_refuses_writes());
        }
        let (target, put) = self.store(header, body, batch, peer).await?;
        let commit_log_offset = put.append.records.first().map_or(-1, |(o, _)| *o);
        Ok(Sent {
            code: result_code(put.replica, put.flush),
            queue_id: target.reported_queue_id,
            queue_offset: put.append.queue_offset,
            offset_msg_id: offset_msg_id(self.identity.store_host, commit_log_offset),
            commit_log_offset,
        })
    }

    async fn store(
        &self,
        header: &SendMessageRequestHeader,
        body: &Bytes,
        batch: bool,
        peer: std::net::SocketAddr,
    ) -> Result<(Target, PutOutcome), BrokerError> {
        let mut target = self.resolve(header)?;
        let messages = if batch {
            self.batch_messages(header, &target, body, peer)?
        } else {
            self.single_message(header, &mut target, body, peer)?
        };
        let put = self.put.put(messages, &header.topic).await?;
        Ok((target, put))
    }
}

/// The answer code for a stored message: the replica's status wins when both fail (Java sets
/// it last).
fn result_code(replica: ReplicaStatus, status: PutStatus) -> ResponseCode {
    match (replica, status) {
        (ReplicaStatus::SlaveNotAvailable, _) => ResponseCode::SLAVE_NOT_AVAILABLE,
        (ReplicaStatus::Timeout, _) => ResponseCode::FLUSH_SLAVE_TIMEOUT,
        (ReplicaStatus::Ok, PutStatus::Ok) => ResponseCode::SUCCESS,
        (ReplicaStatus::Ok, PutStatus::FlushDiskTimeout | PutStatus::FlushFailed) => {
            ResponseCode::FLUSH_DISK_TIMEOUT
        }
    }
}

/// Where a send goes after validation.
struct Target {
    topic: String,
    queue_id: i32,
    /// The type sends must have, when the check is on (`message.type`).
    typed: Option<message_type::MessageType>,
    /// Queue the client asked for (reported back even when redirected).
    reported_queue_id: i32,
}

impl SendProcessor {
    /// Steps 1–5 of §3.1: permission, name, forbidden topics, auto-creation, queue id.
    fn resolve(&self, header: &SendMessageRequestHeader) -> Result<Target, BrokerError> {
        if !self.live.permission().is_writeable() {
            return Err(BrokerError::NoPermission(format!(
                "the broker[{}] sending message is forbidden",
                self.identity.store_host
            )));
        }
        let name = TopicName::new(&header.topic)
            .map_err(|e| BrokerError::InvalidParameter(format!("illegal topic: {e}")))?;
        if SEND_FORBIDDEN.contains(&header.topic.as_str()) {
            return Err(BrokerError::NoPermission(format!(
                "Sending message to topic[{}] is forbidden.",
                header.topic
            )));
        }
        let retry_group = group_of_retry(name.as_str());
        let config = match (self.topics.get(name.as_str()), retry_group) {
            (Some(config), _) => config,
            (None, Some(group)) => {
                let group_config = self.groups.find_or_create(group)?;
                self.topics.ensure(
                    name.as_str(),
                    group_config.retry_queue_nums.max(1),
                    Perm::READ_WRITE.0,
                )?
            }
            (None, None) => self.topics.create_from_template(
                &name,
                &header.default_topic,
                header.default_topic_queue_nums,
            )?,
        };
        if !Perm(config.perm).is_writeable() {
            return Err(BrokerError::NoPermission(format!(
                "the topic[{}] sending message is forbidden",
                header.topic
            )));
        }
        let queues = config.read_queue_nums.max(config.write_queue_nums);
        let queue_id = if header.queue_id < 0 {
            i32::try_from(rand_below(
                u64::try_from(config.write_queue_nums.max(1)).unwrap_or(1),
            ))
            .unwrap_or(0)
        } else if header.queue_id >= queues {
            return Err(BrokerError::InvalidParameter(format!(
                "request queueId[{}] is illegal, {} Producer: {}",
                header.queue_id, header.topic, header.producer_group
            )));
        } else {
            header.queue_id
        };
        Ok(Target {
            topic: header.topic.clone(),
            queue_id,
            typed: self
                .limits
                .message_type_check
                .then(|| message_type::expected(&config))
                .flatten(),
            reported_queue_id: queue_id,
        })
    }

    fn single_message(
        &self,
        header: &SendMessageRequestHeader,
        target: &mut Target,
        body: &Bytes,
        peer: std::net::SocketAddr,
    ) -> Result<Vec<MessageToStore>, BrokerError> {
        check_body(body, self.live.max_message_size())?;
        let mut props = Properties::from_wire(header.properties.clone().unwrap_or_default());
        let reconsume_times = header.reconsume_times.unwrap_or(0);
        let retry_max = match group_of_retry(&target.topic) {
            Some(group) => Some(
                header
                    .max_reconsume_times
                    .unwrap_or(self.groups.find_or_create(group)?.retry_max_times),
            ),
            None => None,
        };
        if let Some(expected) = target.typed {
            message_type::check(expected, &props)?;
        }
        self.stamp_properties(&mut props);
        let mut dest = Destination {
            topic: std::mem::take(&mut target.topic),
            queue_id: target.queue_id,
            sys_flag: header.sys_flag,
        };
        let facts = SendFacts {
            reconsume_times,
            retry_max,
        };
        let redirect = redirect::for_send(&mut props, &mut dest, &self.redirect_policy(), facts)?;
        match redirect {
            Redirect::DeadLetter => {
                self.topics.ensure(&dest.topic, 1, Perm::READ_WRITE.0)?;
                tracing::info!(
                    reconsume_times,
                    "retry message exhausted; moved to {}",
                    dest.topic
                );
            }
            Redirect::Half if self.limits.reject_transaction_message => {
                return Err(BrokerError::NoPermission(format!(
                    "the broker[{}] sending transaction message is forbidden",
                    self.identity.store_host.ip()
                )));
            }
            _ => {}
        }
        check_properties(props.as_str())?;
        target.topic = dest.topic;
        target.queue_id = dest.queue_id;
        Ok(vec![MessageToStore {
            topic: target.topic.clone(),
            queue_id: target.queue_id,
            flag: header.flag,
            sys_flag: dest.sys_flag,
            born_timestamp: header.born_timestamp,
            born_host: peer,
            store_host: self.identity.store_host,
            reconsume_times,
            prepared_transaction_offset: 0,
            body: body.clone(),
            properties: props.into_string(),
        }])
    }

    /// The settings the redirect steps read, now.
    fn redirect_policy(&self) -> Policy {
        Policy {
            delay_levels: self.limits.delay_levels_ms.len(),
            timer_enabled: self.limits.timer.enabled,
            timer_max_delay_ms: self.limits.timer.max_delay_ms,
            now_ms: self.clock.now_ms(),
        }
    }

    fn batch_messages(
        &self,
        header: &SendMessageRequestHeader,
        target: &Target,
        body: &Bytes,
        peer: std::net::SocketAddr,
    ) -> Result<Vec<MessageToStore>, BrokerError> {
        if is_retry_topic(&target.topic) {
            return Err(BrokerError::MessageIllegal(
                "batch request does not support retry group".into(),
            ));
        }
        let entries = decode_batch(body, BATCH_MESSAGES_MAX)
            .map_err(|e| BrokerError::MessageIllegal(e.to_string()))?;
        if entries.is_empty() {
            return Err(BrokerError::MessageIllegal("the batch is empty".into()));
        }
        entries
            .into_iter()
            .map(|entry| {
                check_body(&entry.body, self.live.max_message_size())?;
                let mut props = Properties::from_wire(entry.properties);
                if let Some(expected) = target.typed {
                    message_type::check(expected, &props)?;
                }
                if props.contains_any(&SCHEDULING_KEYS) {
                    return Err(BrokerError::MessageIllegal(
                        "a batch cannot carry delay or timer messages".into(),
                    ));
                }
                self.stamp_properties(&mut props);
                check_properties(props.as_str())?;
                Ok(MessageToStore {
                    topic: target.topic.clone(),
                    queue_id: target.queue_id,
                    flag: entry.flag,
                    sys_flag: header.sys_flag,
                    born_timestamp: header.born_timestamp,
                    born_host: peer,
                    store_host: self.identity.store_host,
                    reconsume_times: 0,
                    prepared_transaction_offset: 0,
                    body: entry.body,
                    properties: props.into_string(),
                })
            })
            .collect()
    }

    /// §3.1 step 7: a missing `UNIQ_KEY` is generated; `CLUSTER` is added.
    fn stamp_properties(&self, props: &mut Properties) {
        if !props.contains(property::UNIQ_KEY) {
            let id = self
                .uniq_ids
                .next(ms_since_month_start(self.clock.now_ms()));
            props.push(property::UNIQ_KEY, &id);
        }
        if !props.contains(property::CLUSTER) {
            props.push(property::CLUSTER, &self.identity.cluster);
        }
    }

    fn response(
        &self,
        request: &RemotingCommand,
        target: &Target,
        messages: &[MessageToStore],
        put: &PutOutcome,
    ) -> RemotingCommand {
        let (outcome, status, replica) = (&put.append, put.flush, put.replica);
        let msg_id = outcome
            .records
            .iter()
            .map(|(offset, _)| offset_msg_id(self.identity.store_host, *offset))
            .collect::<Vec<_>>()
            .join(",");
        let transaction_id = messages
            .first()
            .and_then(|m| find_property(&m.properties, "UNIQ_KEY"))
            .map(str::to_owned);
        // The message is stored and the header filled whatever the code.
        let code = result_code(replica, status);
        let mut response = RemotingCommand::response_to(request, code, None).with_header(
            &SendMessageResponseHeader {
                msg_id,
                queue_id: target.reported_queue_id,
                queue_offset: outcome.queue_offset,
                transaction_id,
                batch_uniq_id: None,
                recall_handle: None,
            },
        );
        response
            .ext_fields
            .insert("MSG_REGION", self.limits.region_id.clone());
        response
            .ext_fields
            .insert("TRACE_ON", self.limits.trace_on.to_string());
        response
    }
}

fn check_body(body: &Bytes, max: usize) -> Result<(), BrokerError> {
    if body.len() > max {
        return Err(BrokerError::MessageIllegal(format!(
            "the message body size over max value, MAX: {max}, actual: {}",
            body.len()
        )));
    }
    Ok(())
}

fn check_properties(props: &str) -> Result<(), BrokerError> {
    if props.len() > PROPERTIES_BYTES_MAX {
        return Err(BrokerError::MessageIllegal(format!(
            "the message properties length is too long, max: {PROPERTIES_BYTES_MAX}, actual: {}",
            props.len()
        )));
    }
    Ok(())
}

/// A number in `0..n` without a dependency: the low bits of a hashed clock reading are
/// enough to spread queue picks.
fn rand_below(n: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish() % n.max(1)
}
