//! Reading a queue for a consumer, whatever asked (PULL_MESSAGE today; POP and the v5 gRPC
//! endpoint next): every check of REMOTING.md §3.2 that can refuse a read, in Java's order, the
//! subscription (the request's own or the one registered by heartbeat) compiled into a tag or
//! SQL92 filter, how long an empty read may wait, and the read itself (on a blocking thread
//! when it likely touches the disk). The remoting answer and the long-poll loop stay in
//! `processor::pull`.

use std::collections::HashSet;
use std::sync::Arc;

use apogee_model::sql92::Expression;
use apogee_model::{Perm, TopicConfig};
use apogee_protocol::body::client::{MessageModel, SubscriptionData};
use apogee_protocol::header::message::{PullMessageRequestHeader, pull_sys_flag};
use apogee_store::read::ReadFilter;
use apogee_store::{GetMessageResult, GetMessageStatus, QueueReader};
use bytes::Bytes;

use crate::BrokerError;
use crate::config::Limits;
use crate::filter::{self, SqlFilters};
use crate::live::LiveSettings;
use crate::manager::client_registry::ClientRegistry;
use crate::manager::consumer_offset::ConsumerOffsets;
use crate::manager::subscription_group::{SubscriptionGroupConfig, SubscriptionGroups};
use crate::manager::topic_config::TopicConfigs;
use crate::processor::{Identity, blocking};
use crate::stats::BrokerStats;

/// What reading for a consumer needs.
#[derive(Clone)]
pub struct Getter {
    pub store: Arc<dyn QueueReader>,
    pub topics: TopicConfigs,
    pub groups: SubscriptionGroups,
    pub clients: ClientRegistry,
    pub offsets: ConsumerOffsets,
    pub identity: Identity,
    pub limits: Arc<Limits>,
    pub stats: BrokerStats,
    /// Permission and polling settings, which UPDATE_BROKER_CONFIG may change.
    pub live: LiveSettings,
    /// Compiled SQL92 subscriptions.
    pub filters: SqlFilters,
}

/// What one read needs besides the store.
pub struct GetPlan {
    pub topic_sys_flag: i32,
    pub group_sys_flag: i32,
    /// Tag codes to keep; `None` keeps everything.
    pub codes: Option<HashSet<i64>>,
    /// An SQL92 subscription's compiled filter.
    pub sql: Option<Arc<Expression>>,
}

/// Java's `ForbiddenType`, sent with NO_PERMISSION answers to pulls.
pub mod forbidden_type {
    pub const BROKER: i32 = 1;
    pub const GROUP: i32 = 2;
    pub const TOPIC: i32 = 3;
    pub const BROADCASTING: i32 = 4;
    pub const SUBSCRIPTION: i32 = 5;
}

pub(crate) fn forbidden(remark: String, forbidden_type: i32) -> BrokerError {
    BrokerError::PullForbidden {
        remark,
        forbidden_type,
    }
}

impl Getter {
    /// How long a pull that finds nothing may wait: the client's suspend time, cut to
    /// `long_polling_suspend_max_ms`; or the short-polling time when long polling is off.
    pub fn hold(&self, header: &PullMessageRequestHeader) -> std::time::Duration {
        if !self.live.long_polling() {
            return self.live.short_polling();
        }
        let asked = u64::try_from(header.suspend_timeout_millis).unwrap_or(0);
        std::time::Duration::from_millis(asked).min(self.limits.growth.suspend_max)
    }

    /// Every check of §3.2 that can refuse a pull, in Java's order.
    pub fn plan(&self, header: &PullMessageRequestHeader) -> Result<GetPlan, BrokerError> {
        let (group, topic) = self.readable(&header.consumer_group, &header.topic)?;
        if header.queue_id < 0 || header.queue_id >= topic.read_queue_nums {
            return Err(BrokerError::InvalidParameter(format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                header.queue_id, header.topic, topic.read_queue_nums, header.consumer_group
            )));
        }
        let subscription = self.subscription(header, group.consume_broadcast_enable)?;
        self.compile(&header.consumer_group, &subscription, (&group, &topic))
    }

    /// The checks for a read by a group that names its own subscription (POP, the v5
    /// endpoint): broker, group and topic permissions, the group's read ban on the topic, the
    /// expression compiled. Returns the plan and the topic's readable queue count.
    pub fn plan_with(
        &self,
        group_name: &str,
        subscription: &SubscriptionData,
    ) -> Result<(GetPlan, i32), BrokerError> {
        let (group, topic) = self.readable(group_name, &subscription.topic)?;
        let plan = self.compile(group_name, subscription, (&group, &topic))?;
        Ok((plan, topic.read_queue_nums))
    }

    /// Broker, group and topic readable.
    fn readable(
        &self,
        group_name: &str,
        topic_name: &str,
    ) -> Result<(SubscriptionGroupConfig, TopicConfig), BrokerError> {
        if !self.live.permission().is_readable() {
            return Err(forbidden(
                format!(
                    "the broker[{}] pulling message is forbidden",
                    self.identity.store_host
                ),
                forbidden_type::BROKER,
            ));
        }
        let group = self.groups.find_or_create(group_name)?;
        if !group.consume_enable {
            return Err(forbidden(
                format!("subscription group no permission, {group_name}"),
                forbidden_type::GROUP,
            ));
        }
        let topic = self
            .topics
            .get(topic_name)
            .ok_or_else(|| BrokerError::TopicNotExist(topic_name.to_owned()))?;
        if !Perm(topic.perm).is_readable() {
            return Err(forbidden(
                format!("the topic[{topic_name}] pulling message is forbidden"),
                forbidden_type::TOPIC,
            ));
        }
        Ok((group, topic))
    }

    /// The group's read ban on the topic, then the subscription compiled into a filter.
    fn compile(
        &self,
        group_name: &str,
        subscription: &SubscriptionData,
        (group, topic): (&SubscriptionGroupConfig, &TopicConfig),
    ) -> Result<GetPlan, BrokerError> {
        // Java checks this only for subscriptions registered by heartbeat; it holds for all.
        if self.groups.read_forbidden(group_name, &subscription.topic) {
            return Err(forbidden(
                format!(
                    "the consumer group[{group_name}] is forbidden for topic[{}]",
                    subscription.topic
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
        Ok(GetPlan {
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
    pub async fn read(
        &self,
        header: &PullMessageRequestHeader,
        plan: &GetPlan,
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
        let result = self
            .read_at(
                (&header.topic, header.queue_id, header.queue_offset),
                (count, bytes),
                plan,
            )
            .await?;
        if matches!(result.status, GetMessageStatus::Found) {
            self.offsets.note_pulled(
                &header.consumer_group,
                &header.topic,
                header.queue_id,
                result.next_begin_offset,
            );
        }
        Ok(result)
    }

    /// Reads at most `count` messages / `bytes` from a queue with the plan's filter.
    pub async fn read_at(
        &self,
        (topic, queue_id, offset): (&String, i32, i64),
        (count, bytes): (usize, usize),
        plan: &GetPlan,
    ) -> Result<GetMessageResult, BrokerError> {
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
        self.stats
            .record_get(matches!(result.status, GetMessageStatus::Found));
        Ok(result)
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
