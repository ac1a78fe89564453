//! Operator requests over real sockets: UPDATE_AND_GET_GROUP_FORBIDDEN (353) stops and
//! restarts one group's pulls of one topic, across a restart; CLEAN_UNUSED_TOPIC (316),
//! CLEAN_EXPIRED_CONSUMEQUEUE (306), DELETE_EXPIRED_COMMITLOG (329) and TRIGGER_DELETE_FILES
//! (27) answer SUCCESS and
//! delete only what they name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_protocol::body::admin::{GroupForbidden, SubscriptionGroupWrapper};
use apogee_protocol::body::from_json;
use apogee_protocol::header::admin::UpdateGroupForbiddenRequestHeader;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use common::*;

fn forbid(group: &str, topic: &str, readable: Option<bool>) -> RemotingCommand {
    RemotingCommand::request(
        RequestCode::UPDATE_AND_GET_GROUP_FORBIDDEN,
        &UpdateGroupForbiddenRequestHeader {
            group: group.into(),
            topic: topic.into(),
            readable,
        },
    )
}

async fn forbidden_state(c: &Cluster, readable: Option<bool>) -> GroupForbidden {
    let r = c.call(forbid("cg", "Guarded", readable)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    assert_eq!(r.remark.as_deref(), Some(""));
    from_json("GroupForbidden", &r.body).unwrap()
}

#[tokio::test]
async fn given_a_forbidden_pair_should_refuse_its_pulls_with_the_subscription_type_until_allowed() {
    let mut c = cluster(|_| {}).await;
    for topic in ["Guarded", "Other"] {
        let r = c.call(send_v2(topic, 0, "", b"kept")).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
        c.wait_max_offset(topic, 0, 1).await;
    }
    assert!(forbidden_state(&c, None).await.readable, "allowed at first");

    let state = forbidden_state(&c, Some(false)).await;
    assert_eq!(
        (state.group.as_str(), state.topic.as_str(), state.readable),
        ("cg", "Guarded", false)
    );
    let r = c.call(pull("Guarded", 0, 0, "*", 0)).await;
    assert_eq!(r.response_code(), ResponseCode::NO_PERMISSION);
    assert_eq!(
        r.remark.as_deref(),
        Some("the consumer group[cg] is forbidden for topic[Guarded]")
    );
    assert_eq!(r.ext_fields.get("forbiddenType"), Some("5"));
    let r = c.call(pull("Other", 0, 0, "*", 0)).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::SUCCESS,
        "other topics are not affected: {:?}",
        r.remark
    );

    // Kept in subscriptionGroup.json (and shown by GET_ALL_SUBSCRIPTIONGROUP_CONFIG).
    c.restart_broker().await;
    let r = c
        .call(RemotingCommand::bare_request(
            RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
        ))
        .await;
    let wrapper: SubscriptionGroupWrapper = from_json("wrapper", &r.body).unwrap();
    assert_eq!(wrapper.forbidden_table["cg"]["Guarded"], 4);
    assert!(!forbidden_state(&c, None).await.readable);

    assert!(forbidden_state(&c, Some(true)).await.readable);
    let r = c.call(pull("Guarded", 0, 0, "*", 0)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    assert_eq!(records(&r.body)[0].body.as_ref(), b"kept");

    let r = c.call(forbid("cg", "bad/topic", Some(false))).await;
    assert_eq!(r.response_code(), ResponseCode::INVALID_PARAMETER);
}

#[tokio::test]
async fn given_a_topic_without_config_when_unused_topics_cleaned_should_delete_only_its_queues() {
    let mut c = cluster(|_| {}).await;
    for topic in ["Unused", "Used"] {
        let r = c.call(send_v2(topic, 0, "", b"x")).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
        c.wait_max_offset(topic, 0, 1).await;
    }
    // The config goes while the broker is down (as after a failed delete).
    c.broker.take().unwrap().stop().await;
    let topics = c.raw.store_path_root_dir.join("config").join("topics.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&topics).unwrap()).unwrap();
    json["topicConfigTable"]
        .as_object_mut()
        .unwrap()
        .remove("Unused");
    std::fs::write(&topics, serde_json::to_vec(&json).unwrap()).unwrap();
    c.broker = Some(start_broker(c.raw.clone()).await);
    c.client.close_connection(&c.addr);
    c.addr = c.broker().local_addr().to_string();

    let queues = c.raw.store_path_root_dir.join("consumequeue");
    assert!(queues.join("Unused").exists());
    let r = c
        .call(RemotingCommand::bare_request(
            RequestCode::CLEAN_UNUSED_TOPIC,
        ))
        .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    assert!(!queues.join("Unused").exists());
    assert!(queues.join("Used").exists());

    // Nothing has expired here: both other cleanings leave every queue in place.
    for code in [
        RequestCode::CLEAN_EXPIRED_CONSUMEQUEUE,
        RequestCode::DELETE_EXPIRED_COMMITLOG,
        RequestCode::TRIGGER_DELETE_FILES,
    ] {
        let r = c.call(RemotingCommand::bare_request(code)).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{code}");
    }
    let r = c.call(pull("Used", 0, 0, "*", 0)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
}
