//! A request turned into the checks it must pass: each a resource and the actions of which the
//! caller needs one. What a code needs comes from the request code table's `access` column.

use std::borrow::Cow;

use apogee_model::{Actions, ResourceKind};
use apogee_protocol::RemotingCommand;
use apogee_protocol::access::{Access, Field};
use apogee_protocol::body::client::{HeartbeatData, LockBatchRequestBody};
use apogee_protocol::body::from_json;

use apogee_model::system_topic::{DLQ_PREFIX, RETRY_PREFIX};

/// One resource and the actions needed on it (any one suffices). Names taken from header
/// fields are borrowed from the request; only names read from a body are owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check<'a> {
    pub kind: ResourceKind,
    pub name: Cow<'a, str>,
    pub actions: Actions,
}

impl<'a> Check<'a> {
    fn new(kind: ResourceKind, name: &'a str, actions: Actions) -> Self {
        let (kind, name) = Self::resolve(kind, name);
        Self {
            kind,
            name: Cow::Borrowed(name),
            actions,
        }
    }

    /// A check on a topic (a retry or dead-letter topic: on its group).
    pub fn topic(name: &str, actions: Actions) -> Check<'static> {
        Self::owned(ResourceKind::Topic, name, actions)
    }

    /// A check on a group.
    pub fn group(name: &str, actions: Actions) -> Check<'static> {
        Self::owned(ResourceKind::Group, name, actions)
    }

    fn owned(kind: ResourceKind, name: &str, actions: Actions) -> Check<'static> {
        let (kind, name) = Self::resolve(kind, name);
        Check {
            kind,
            name: Cow::Owned(name.to_owned()),
            actions,
        }
    }

    fn resolve(kind: ResourceKind, name: &str) -> (ResourceKind, &str) {
        // A retry or dead-letter topic belongs to its group.
        let (kind, name) = match kind {
            ResourceKind::Topic | ResourceKind::Group => match group_of_system_topic(name) {
                Some(group) => (ResourceKind::Group, group),
                None => (kind, name),
            },
            _ => (kind, name),
        };
        (kind, name)
    }

    /// `Topic:orders`, as in refusal remarks.
    pub fn resource_key(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.name)
    }
}

fn group_of_system_topic(name: &str) -> Option<&str> {
    name.strip_prefix(RETRY_PREFIX)
        .or_else(|| name.strip_prefix(DLQ_PREFIX))
}

/// The checks `request` must pass on a server of cluster `cluster`; `Err` when the body a rule
/// reads cannot be parsed.
pub fn checks_of<'a>(
    request: &'a RemotingCommand,
    cluster: &'a str,
) -> Result<Vec<Check<'a>>, String> {
    let fields = &request.ext_fields;
    let value = |name: &str| fields.get(name).filter(|v| !v.is_empty());
    let mut out = Vec::with_capacity(2);
    match request.request_code().access() {
        Access::Open => {}
        Access::Cluster(actions) => out.push(Check::new(ResourceKind::Cluster, cluster, actions)),
        Access::Fields {
            fields: named,
            actions,
            cluster_otherwise,
        } => {
            for field in named {
                let Some(v) = value(field.name) else { continue };
                push_field(&mut out, field, v, actions);
            }
            if out.is_empty() && cluster_otherwise {
                out.push(Check::new(ResourceKind::Cluster, cluster, actions));
            }
        }
        Access::Send { topic } => match value(topic) {
            Some(t) if group_of_system_topic(t).is_some() => {
                out.push(Check::new(ResourceKind::Group, t, Actions::SUB));
            }
            Some(t) => out.push(Check::new(ResourceKind::Topic, t, Actions::PUB)),
            None => out.push(Check::new(ResourceKind::Cluster, cluster, Actions::PUB)),
        },
        Access::Heartbeat => {
            let data: HeartbeatData =
                from_json("HeartbeatData", &request.body).map_err(|e| e.to_string())?;
            for consumer in &data.consumer_data_set {
                out.push(Check::owned(
                    ResourceKind::Group,
                    &consumer.group_name,
                    Actions::SUB,
                ));
                for sub in &consumer.subscription_data_set {
                    out.push(Check::owned(ResourceKind::Topic, &sub.topic, Actions::SUB));
                }
            }
        }
        Access::LockBatch => {
            let body: LockBatchRequestBody =
                from_json("LockBatchRequestBody", &request.body).map_err(|e| e.to_string())?;
            out.push(Check::owned(
                ResourceKind::Group,
                &body.consumer_group,
                Actions::SUB,
            ));
            for mq in &body.mq_set {
                out.push(Check::owned(ResourceKind::Topic, &mq.topic, Actions::SUB));
            }
        }
    }
    out.dedup();
    Ok(out)
}

fn push_field<'a>(out: &mut Vec<Check<'a>>, field: &Field, value: &'a str, actions: Actions) {
    match field.split {
        Some(sep) => out.extend(
            value
                .split(sep)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| Check::new(field.kind, v, actions)),
        ),
        None => out.push(Check::new(field.kind, value, actions)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apogee_protocol::RequestCode;
    use bytes::Bytes;

    fn request(code: RequestCode, fields: &[(&str, &str)], body: &str) -> RemotingCommand {
        let mut r = RemotingCommand::bare_request(code);
        for (k, v) in fields {
            r.ext_fields.insert(*k, *v);
        }
        r.body = Bytes::from(body.to_owned());
        r
    }

    fn keys(checks: &[Check]) -> Vec<String> {
        checks
            .iter()
            .map(|c| format!("{} {}", c.resource_key(), c.actions))
            .collect()
    }

    #[test]
    fn given_sends_should_need_pub_on_the_topic_or_sub_on_a_retry_topics_group() {
        let send = request(
            RequestCode::SEND_MESSAGE_V2,
            &[("a", "pg"), ("b", "orders")],
            "",
        );
        assert_eq!(keys(&checks_of(&send, "C").unwrap()), ["Topic:orders Pub"]);
        let retry = request(RequestCode::SEND_MESSAGE, &[("topic", "%RETRY%cg")], "");
        assert_eq!(keys(&checks_of(&retry, "C").unwrap()), ["Group:cg Sub"]);
    }

    #[test]
    fn given_pulls_and_offsets_should_name_topic_and_group() {
        let pull = request(
            RequestCode::PULL_MESSAGE,
            &[("topic", "orders"), ("consumerGroup", "cg")],
            "",
        );
        assert_eq!(
            keys(&checks_of(&pull, "C").unwrap()),
            ["Topic:orders Sub", "Group:cg Sub"]
        );
        let retry_pull = request(
            RequestCode::PULL_MESSAGE,
            &[("topic", "%RETRY%cg"), ("consumerGroup", "cg")],
            "",
        );
        assert_eq!(
            keys(&checks_of(&retry_pull, "C").unwrap()),
            ["Group:cg Sub"]
        );
        // No field at all: the cluster is required, not nothing.
        let bare = request(RequestCode::VIEW_MESSAGE_BY_ID, &[("offset", "1")], "");
        assert_eq!(keys(&checks_of(&bare, "C").unwrap()), ["Cluster:C Sub,Get"]);
    }

    #[test]
    fn given_admin_codes_should_need_the_cluster_and_unknown_codes_too() {
        let config = request(RequestCode::UPDATE_BROKER_CONFIG, &[], "x=1");
        assert_eq!(
            keys(&checks_of(&config, "C").unwrap()),
            ["Cluster:C Update"]
        );
        let unknown = request(RequestCode(4242), &[], "");
        assert_eq!(
            keys(&checks_of(&unknown, "C").unwrap()),
            ["Cluster:C Update"]
        );
        let open = request(RequestCode::GET_CLIENT_CONFIG, &[], "");
        assert!(checks_of(&open, "C").unwrap().is_empty());
    }

    #[test]
    fn given_bodies_should_name_every_consumer_group_and_topic() {
        let hb = request(
            RequestCode::HEART_BEAT,
            &[],
            r#"{"clientID":"c","consumerDataSet":[{"groupName":"cg","subscriptionDataSet":[{"topic":"orders"},{"topic":"%RETRY%cg"}]}],"producerDataSet":[{"groupName":"pg"}]}"#,
        );
        assert_eq!(
            keys(&checks_of(&hb, "C").unwrap()),
            ["Group:cg Sub", "Topic:orders Sub", "Group:cg Sub"]
        );
        let lock = request(
            RequestCode::LOCK_BATCH_MQ,
            &[],
            r#"{"consumerGroup":"cg","clientId":"c","mqSet":[{"topic":"t","brokerName":"b","queueId":0}]}"#,
        );
        assert_eq!(
            keys(&checks_of(&lock, "C").unwrap()),
            ["Group:cg Sub", "Topic:t Sub"]
        );
        assert!(checks_of(&request(RequestCode::HEART_BEAT, &[], "{oops"), "C").is_err());
    }

    #[test]
    fn given_split_fields_should_check_each_name() {
        let r = request(
            RequestCode::QUERY_CORRECTION_OFFSET,
            &[
                ("topic", "t"),
                ("compareGroup", "a"),
                ("filterGroups", "b, c"),
            ],
            "",
        );
        assert_eq!(
            keys(&checks_of(&r, "C").unwrap()),
            ["Topic:t Get", "Group:a Get", "Group:b Get", "Group:c Get"]
        );
    }
}
