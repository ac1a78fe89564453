//! The v5 pull consumer's RPCs: PullMessage (offset-based reads through the broker's read
//! checks and filters), UpdateOffset / GetOffset (the group's committed offsets) and
//! QueryOffset (beginning, end, or by store time).

use apogee_broker::messaging::Messaging;
use apogee_protocol::record::{RecordAt, decode_record};

use crate::convert::{self, Delivery, millis_of};
use crate::pb;
use crate::status::{self, fail, ok};

fn queue_of(queue: Option<&pb::MessageQueue>) -> (String, i32) {
    let topic = queue
        .and_then(|q| q.topic.as_ref())
        .map(|t| t.name.clone())
        .unwrap_or_default();
    (topic, queue.map_or(0, |q| q.id))
}

pub async fn pull(
    messaging: &Messaging,
    request: pb::PullMessageRequest,
) -> Vec<pb::PullMessageResponse> {
    let group = request
        .group
        .as_ref()
        .map(|g| g.name.clone())
        .unwrap_or_default();
    let (topic, queue_id) = queue_of(request.message_queue.as_ref());
    let status = |s| pb::PullMessageResponse {
        content: Some(pb::pull_message_response::Content::Status(s)),
    };
    let filter = request.filter_expression.clone().unwrap_or_default();
    let mut subscription = apogee_protocol::body::client::SubscriptionData::from_tag_expression(
        &topic,
        if filter.expression.is_empty() {
            "*"
        } else {
            &filter.expression
        },
        0,
    );
    if filter.r#type == pb::FilterType::Sql as i32 {
        subscription.expression_type = Some("SQL92".into());
    }
    let get = &messaging.pop.get;
    let plan = match get.plan_with(&group, &subscription) {
        Ok((plan, queues)) if (0..queues).contains(&queue_id) => plan,
        Ok(_) => return vec![status(fail(pb::Code::BadRequest, "no such queue"))],
        Err(e) => return vec![status(status::of_broker(&e))],
    };
    let count = usize::try_from(request.batch_size.clamp(1, 32)).unwrap_or(1);
    let result = match get
        .read_at(
            (&topic, queue_id, request.offset),
            (count, get.limits.pull_bytes_max),
            &plan,
        )
        .await
    {
        Ok(result) => result,
        Err(e) => return vec![status(status::of_broker(&e))],
    };
    let mut items = vec![status(if result.messages.is_empty() {
        fail(pb::Code::MessageNotFound, "no new message")
    } else {
        ok()
    })];
    for bytes in &result.messages {
        if let Ok((RecordAt::Message(record), _)) = decode_record(bytes, 0, false) {
            let delivery = Delivery {
                topic: &topic,
                receipt_handle: None,
                invisible_ms: None,
                attempts: record.reconsume_times,
            };
            items.push(pb::PullMessageResponse {
                content: Some(pb::pull_message_response::Content::Message(
                    convert::incoming(&record, &delivery),
                )),
            });
        }
    }
    items.push(pb::PullMessageResponse {
        content: Some(pb::pull_message_response::Content::NextOffset(
            result.next_begin_offset,
        )),
    });
    items
}

pub fn update(messaging: &Messaging, request: pb::UpdateOffsetRequest) -> pb::UpdateOffsetResponse {
    let group = request.group.map(|g| g.name).unwrap_or_default();
    let (topic, queue_id) = queue_of(request.message_queue.as_ref());
    let Some(config) = messaging.topics.get(&topic) else {
        return pb::UpdateOffsetResponse {
            status: Some(fail(pb::Code::TopicNotFound, "no such topic")),
        };
    };
    if apogee_model::GroupName::new(&group).is_err()
        || !(0..config.read_queue_nums).contains(&queue_id)
    {
        return pb::UpdateOffsetResponse {
            status: Some(fail(pb::Code::BadRequest, "no such group name or queue")),
        };
    }
    messaging
        .offsets
        .commit(&group, &topic, queue_id, request.offset.max(0));
    pb::UpdateOffsetResponse { status: Some(ok()) }
}

pub fn get(messaging: &Messaging, request: pb::GetOffsetRequest) -> pb::GetOffsetResponse {
    let group = request.group.map(|g| g.name).unwrap_or_default();
    let (topic, queue_id) = queue_of(request.message_queue.as_ref());
    match messaging.offsets.query(&group, &topic, queue_id) {
        Some(offset) => pb::GetOffsetResponse {
            status: Some(ok()),
            offset,
        },
        None => pb::GetOffsetResponse {
            status: Some(fail(
                pb::Code::OffsetNotFound,
                "the group has no offset there",
            )),
            offset: 0,
        },
    }
}

pub fn query(messaging: &Messaging, request: pb::QueryOffsetRequest) -> pb::QueryOffsetResponse {
    let (topic, queue_id) = queue_of(request.message_queue.as_ref());
    let store = &messaging.store;
    let offset = match pb::QueryOffsetPolicy::try_from(request.query_offset_policy) {
        Ok(pb::QueryOffsetPolicy::Beginning) => store.min_offset_in_queue(&topic, queue_id),
        Ok(pb::QueryOffsetPolicy::End) => store.max_offset_in_queue(&topic, queue_id),
        Ok(pb::QueryOffsetPolicy::Timestamp) => {
            let at = request.timestamp.as_ref().map_or(0, millis_of);
            store.offset_by_time(&topic, queue_id, at)
        }
        Err(_) => {
            return pb::QueryOffsetResponse {
                status: Some(fail(pb::Code::BadRequest, "unknown offset policy")),
                offset: 0,
            };
        }
    };
    pb::QueryOffsetResponse {
        status: Some(ok()),
        offset,
    }
}
