//! Apogee's RocketMQ client: talks the remoting protocol to any RocketMQ-compatible NameServer
//! and broker (Apogee or Apache RocketMQ).
//!
//! * [`Producer`]: sync, callback, oneway, ordered and batch sends, retried on other brokers.
//! * [`PushConsumer`]: clustering or broadcasting, concurrent or orderly listeners, rebalance,
//!   flow control, retries through the broker, periodic offset commits.
//! * [`LitePullConsumer`]: the application polls; subscribe or assign, seek, commit.
//! * [`Admin`]: topics, groups, routes, consumer progress, connections, offset resets.
//!
//! Producers and consumers with the same client id (`ip@instance`) share one
//! [`ClientInstance`]: one connection pool, route cache and heartbeat loop per process.
//!
//! ```no_run
//! # async fn demo() -> Result<(), apogee_client::ClientError> {
//! use apogee_client::{ClientConfig, Message, Producer, ProducerConfig};
//! let producer = Producer::start(ClientConfig::new("127.0.0.1:9876"), ProducerConfig::new("orders")).await?;
//! let result = producer.send(Message::new("Orders", "hello").with_tags("created")).await?;
//! println!("stored as {} in {:?}", result.msg_id, result.queue);
//! # Ok(()) }
//! ```

mod admin;
mod admin_acl;
mod admin_acl_file;
mod admin_broker;
mod admin_controller;
mod admin_ops;
mod config;
mod consumer;
mod error;
mod inbound;
mod instance;
mod message;
mod namesrv;
mod producer;
mod query;
pub mod redeliver;
mod route;
mod trace_query;
mod trace_writer;

pub use admin::{Admin, TopicSpec};
pub use admin_controller::{ControllerMetadata, ElectedMaster};
pub use admin_ops::{CqQuery, ORDER_TOPIC_CONFIG, StoreCleaning};
pub use apogee_model::TopicConfig;
pub use apogee_protocol::body::admin::{
    ConsumeDirectlyOutcome, ConsumeMessageDirectlyResult, ConsumeStats, ConsumerConnection,
    ConsumerRunningInfo, GroupForbidden, OffsetWrapper, ProducerConnection,
    SubscriptionGroupConfig, TopicStatsTable,
};
pub use apogee_protocol::body::auth::{
    AclConfig, AclInfo, PlainAccessConfig, PolicyEntryInfo, PolicyInfo, UserInfo,
};
pub use apogee_protocol::body::client::{MessageModel, MessageQueue};
pub use apogee_protocol::body::controller::{
    BrokerReplicasInfo, EpochEntry, EpochEntryCache, ReplicaIdentity, ReplicasInfo,
};
pub use apogee_protocol::body::ha::{HaClientRuntimeInfo, HaConnectionInfo, HaRuntimeInfo};
pub use apogee_protocol::body::inspect::{
    ProducerInfo, ProducerTableInfo, QueryConsumeQueueResponseBody,
};
pub use apogee_protocol::body::route::{BrokerData, ClusterInfo, TopicRouteData};
pub use apogee_protocol::body::stats::{BrokerStatsData, BrokerStatsItem, ConsumeStatsList};
pub use apogee_protocol::body::trace::{TRACE_TOPIC, TraceEvent, decode as decode_trace};
pub use apogee_protocol::header::auth::{
    CreateAccessConfigRequestHeader, GetBrokerAclConfigResponseHeader,
};
pub use apogee_protocol::pop_info::ExtraInfo as ReceiptHandle;
pub use config::{ClientConfig, DEFAULT_INSTANCE_NAME, NameServerSource};
pub use consumer::parse_handle as parse_receipt_handle;
pub use consumer::{
    AllocateStrategy, ConsumeFrom, ConsumeResult, LitePullConsumer, LitePullConsumerConfig,
    MessageListener, MessageSelector, OrderlyListener, OrderlyResult, POP_CK, PullResult,
    PullStatus, PushConsumer, PushConsumerBuilder, PushConsumerConfig, QueueStat, SimpleConsumer,
    SimpleConsumerConfig, default_offset_dir,
};
pub use error::{ClientError, Result};
pub use instance::{AUTO_CREATE_TOPIC_KEY, ClientInstance};
pub use message::{Message, MessageExt, SendResult, SendStatus, property};
pub use producer::{
    LocalTransactionState, Producer, ProducerConfig, QueueSelector, SelectByHash,
    TransactionListener, TransactionProducer, TransactionSendResult,
};
pub use query::TOOLS_CONSUMER_GROUP;
pub use route::TopicRoute;
