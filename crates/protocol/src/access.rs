//! What each request code touches, for access control: the `access` column of the request
//! code table. A server's guard reads it to turn a request into checks of (resource, actions);
//! nothing else decides what a code needs.
//!
//! Facts (per-code resources and actions of RocketMQ 5.3's `@RocketMQAction` annotations and
//! hand-written rules) are in `docs/acl-facts.md` §1; where RocketMQ checks nothing for a code
//! that changes state, Apogee requires the cluster instead (see `docs/security.md`).

use apogee_model::{Actions, ResourceKind};

/// A header field that names a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The ext-field key, as on the wire (`topic`, `consumerGroup`, `b`, …).
    pub name: &'static str,
    pub kind: ResourceKind,
    /// The value holds several names separated by this character.
    pub split: Option<char>,
}

impl Field {
    pub const fn topic(name: &'static str) -> Self {
        Self {
            name,
            kind: ResourceKind::Topic,
            split: None,
        }
    }

    pub const fn group(name: &'static str) -> Self {
        Self {
            name,
            kind: ResourceKind::Group,
            split: None,
        }
    }

    pub const fn groups(name: &'static str, split: char) -> Self {
        Self {
            name,
            kind: ResourceKind::Group,
            split: Some(split),
        }
    }
}

/// What a request with some code needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any authenticated caller; the request names nothing worth guarding (client bookkeeping).
    Open,
    /// Each named field is a resource the caller needs one of `actions` on. A topic field
    /// holding a retry or DLQ topic names its group. When the request carries none of the
    /// fields: `cluster_otherwise` requires the same actions on the cluster, else nothing.
    Fields {
        fields: &'static [Field],
        actions: Actions,
        cluster_otherwise: bool,
    },
    /// The server's cluster (`Cluster:<name>`): administration and maintenance.
    Cluster(Actions),
    /// A send: Pub on the topic in `topic`, or Sub on the group for a retry topic.
    Send { topic: &'static str },
    /// HEART_BEAT: Sub on every consumer group in the body and on each subscribed topic.
    Heartbeat,
    /// LOCK_BATCH_MQ / UNLOCK_BATCH_MQ: Sub on the body's group and on each queue's topic.
    LockBatch,
}

impl Access {
    /// Fields that must be present; without any of them the cluster is required.
    pub const fn fields(fields: &'static [Field], actions: Actions) -> Self {
        Self::Fields {
            fields,
            actions,
            cluster_otherwise: true,
        }
    }

    /// Fields that are checked when present; a request without them needs nothing more.
    pub const fn optional(fields: &'static [Field], actions: Actions) -> Self {
        Self::Fields {
            fields,
            actions,
            cluster_otherwise: false,
        }
    }

    /// Administration: the cluster with `actions`.
    pub const fn admin(actions: Actions) -> Self {
        Self::Cluster(actions)
    }
}

/// Field lists and action sets the code table uses.
pub(crate) mod rules {
    use super::{Access, Field};
    use apogee_model::Actions;

    const TOPIC: &[Field] = &[Field::topic("topic")];
    const TOPIC_GROUP: &[Field] = &[Field::topic("topic"), Field::group("group")];
    const TOPIC_CONSUMER_GROUP: &[Field] = &[Field::topic("topic"), Field::group("consumerGroup")];
    const CONSUMER_GROUP: &[Field] = &[Field::group("consumerGroup")];
    const GROUP: &[Field] = &[Field::group("group")];
    const GROUP_NAME: &[Field] = &[Field::group("groupName")];
    const CORRECTION: &[Field] = &[
        Field::topic("topic"),
        Field::group("compareGroup"),
        Field::groups("filterGroups", ','),
    ];
    const CLONE: &[Field] = &[
        Field::topic("topic"),
        Field::group("srcGroup"),
        Field::group("destGroup"),
    ];

    const SUB_GET: Actions = Actions::SUB.or(Actions::GET);
    const SUB_UPDATE: Actions = Actions::SUB.or(Actions::UPDATE);
    const GET_LIST: Actions = Actions::GET.or(Actions::LIST);
    const CREATE_UPDATE: Actions = Actions::CREATE.or(Actions::UPDATE);

    pub const OPEN: Access = Access::Open;
    pub const SEND_V1: Access = Access::Send { topic: "topic" };
    pub const SEND_V2: Access = Access::Send { topic: "b" };
    pub const HEARTBEAT: Access = Access::Heartbeat;
    pub const LOCK: Access = Access::LockBatch;
    pub const PULL: Access = Access::fields(TOPIC_CONSUMER_GROUP, Actions::SUB);
    pub const TOPIC_PUB: Access = Access::fields(TOPIC, Actions::PUB);
    /// Reading a topic's messages or offsets: a consumer's Sub is enough (RocketMQ asks for
    /// Get alone on 29–32, which refuses consumers granted only Sub).
    pub const TOPIC_READ: Access = Access::fields(TOPIC, SUB_GET);
    pub const TOPIC_GET: Access = Access::fields(TOPIC, Actions::GET);
    pub const TOPIC_CREATE: Access = Access::fields(TOPIC, Actions::CREATE);
    pub const TOPIC_DELETE: Access = Access::fields(TOPIC, Actions::DELETE);
    pub const TOPIC_UPDATE: Access = Access::fields(TOPIC, Actions::UPDATE);
    pub const OFFSET_READ: Access = Access::fields(TOPIC_CONSUMER_GROUP, SUB_GET);
    pub const OFFSET_WRITE: Access = Access::fields(TOPIC_CONSUMER_GROUP, SUB_UPDATE);
    pub const CONSUMER_STATS: Access = Access::fields(TOPIC_CONSUMER_GROUP, Actions::GET);
    pub const CONSUMER_GROUP_READ: Access = Access::fields(CONSUMER_GROUP, SUB_GET);
    pub const CONSUMER_GROUP_GET: Access = Access::fields(CONSUMER_GROUP, Actions::GET);
    pub const UNREGISTER: Access = Access::optional(CONSUMER_GROUP, Actions::SUB);
    pub const SEND_BACK: Access = Access::fields(GROUP, Actions::SUB);
    pub const END_TRANSACTION: Access = Access::optional(TOPIC, Actions::PUB);
    pub const GROUP_GET: Access = Access::fields(GROUP, Actions::GET);
    pub const GROUP_DELETE: Access = Access::fields(GROUP_NAME, Actions::DELETE);
    pub const TOPIC_GROUP_GET: Access = Access::fields(TOPIC_GROUP, Actions::GET);
    pub const TOPIC_GROUP_UPDATE: Access = Access::fields(TOPIC_GROUP, Actions::UPDATE);
    pub const DIRECT: Access = Access::fields(TOPIC_CONSUMER_GROUP, Actions::SUB);
    pub const CORRECTION_GET: Access = Access::fields(CORRECTION, Actions::GET);
    pub const CLONE_UPDATE: Access = Access::fields(CLONE, Actions::UPDATE);
    pub const POP: Access = Access::fields(TOPIC_CONSUMER_GROUP, Actions::SUB);
    pub const POP_INFO: Access = Access::fields(TOPIC_CONSUMER_GROUP, SUB_GET);
    pub const ROUTE: Access = Access::fields(TOPIC, Actions::PUB.or(SUB_GET));
    pub const CLUSTER_GET: Access = Access::admin(Actions::GET);
    pub const CLUSTER_LIST: Access = Access::admin(GET_LIST);
    pub const CLUSTER_UPDATE: Access = Access::admin(Actions::UPDATE);
    pub const CLUSTER_CREATE: Access = Access::admin(CREATE_UPDATE);
    /// A code a server never serves (a server → client call, or one Apogee does not know):
    /// only an administrator may even send it.
    pub const NOT_SERVED: Access = Access::admin(Actions::UPDATE);
}
