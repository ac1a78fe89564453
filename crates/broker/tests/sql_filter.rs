//! SQL92 subscriptions over real sockets: a pull keeps only the messages whose properties
//! match; an expression that does not compile is refused with SUBSCRIPTION_PARSE_FAILED at
//! HEART_BEAT, PULL_MESSAGE and CHECK_CLIENT_CONFIG; with `enablePropertyFilter` off, SQL92 is
//! refused with Java's SYSTEM_ERROR remark.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_protocol::body::client::{ConsumerData, HeartbeatData, MessageModel, SubscriptionData};
use apogee_protocol::header::message::PullMessageResponseHeader;
use apogee_protocol::record::find_property;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use common::*;

fn sql_subscription(topic: &str, text: &str) -> SubscriptionData {
    let mut sub = SubscriptionData::from_tag_expression(topic, "*", 1);
    sub.expression_type = Some("SQL92".into());
    sub.sub_string = text.into();
    sub
}

fn heartbeat(group: &str, sub: SubscriptionData) -> RemotingCommand {
    let body = HeartbeatData {
        client_id: "sql-client".into(),
        consumer_data_set: vec![ConsumerData {
            consume_from_where: "CONSUME_FROM_FIRST_OFFSET".into(),
            consume_type: "CONSUME_PASSIVELY".into(),
            group_name: group.into(),
            message_model: MessageModel::Clustering,
            subscription_data_set: vec![sub],
            unit_mode: false,
        }],
        ..HeartbeatData::default()
    };
    RemotingCommand::bare_request(RequestCode::HEART_BEAT)
        .with_body(serde_json::to_vec(&body).unwrap())
}

fn check_config(sub: &SubscriptionData) -> RemotingCommand {
    let body = serde_json::json!({"clientId": "c", "group": "G", "subscriptionData": sub});
    RemotingCommand::bare_request(RequestCode::CHECK_CLIENT_CONFIG)
        .with_body(serde_json::to_vec(&body).unwrap())
}

fn sql_pull(topic: &str, offset: i64, text: &str) -> RemotingCommand {
    let mut request = pull(topic, 0, offset, text, 0);
    request.ext_fields.insert("expressionType", "SQL92");
    request
}

#[tokio::test]
async fn given_an_sql92_pull_should_return_only_matching_messages_and_move_past_the_rest() {
    let c = cluster(|_| {}).await;
    for i in 0..10 {
        let props = format!(
            "TAGS\u{1}{}\u{2}amount\u{1}{i}\u{2}",
            if i % 2 == 0 { "even" } else { "odd" }
        );
        let body: &'static [u8] = Box::leak(format!("m{i}").into_bytes().into_boxed_slice());
        assert_eq!(
            c.call(send_v2("Orders", 0, &props, body))
                .await
                .response_code(),
            ResponseCode::SUCCESS
        );
    }
    c.wait_max_offset("Orders", 0, 10).await;
    let r = c
        .call(sql_pull(
            "Orders",
            0,
            "amount BETWEEN 3 AND 8 AND TAGS = 'even'",
        ))
        .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let got: Vec<String> = records(&r.body)
        .iter()
        .map(|m| {
            find_property(std::str::from_utf8(&m.properties).unwrap(), "amount")
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(got, ["4", "6", "8"]);
    let h: PullMessageResponseHeader = r.header().unwrap();
    assert_eq!(h.next_begin_offset, 10, "the unmatched tail is skipped too");
    let r = c.call(sql_pull("Orders", 0, "amount > 100")).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::PULL_RETRY_IMMEDIATELY,
        "nothing matched"
    );
    let r = c.call(sql_pull("Orders", 0, "amount >")).await;
    assert_eq!(r.response_code(), ResponseCode::SUBSCRIPTION_PARSE_FAILED);
    let remark = r.remark.unwrap();
    assert!(
        remark.starts_with("parse the consumer's subscription[amount >; "),
        "{remark}"
    );
}

#[tokio::test]
async fn given_a_bad_expression_should_refuse_it_at_heartbeat_and_check_client_config() {
    let c = cluster(|_| {}).await;
    let good = sql_subscription("Orders", "region IN ('eu', 'us')");
    let bad = sql_subscription("Orders", "region IN (");
    assert_eq!(
        c.call(heartbeat("G", good.clone())).await.response_code(),
        ResponseCode::SUCCESS
    );
    let r = c.call(heartbeat("G", bad.clone())).await;
    assert_eq!(
        r.response_code(),
        ResponseCode::SUBSCRIPTION_PARSE_FAILED,
        "{:?}",
        r.remark
    );
    assert_eq!(
        c.call(check_config(&good)).await.response_code(),
        ResponseCode::SUCCESS
    );
    let r = c.call(check_config(&bad)).await;
    assert_eq!(r.response_code(), ResponseCode::SUBSCRIPTION_PARSE_FAILED);

    let off = cluster(|raw| raw.enable_property_filter = false).await;
    let sent = off.call(send_v2("Orders", 0, "a\u{1}2\u{2}", b"x")).await;
    assert_eq!(sent.response_code(), ResponseCode::SUCCESS);
    let r = off.call(check_config(&good)).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        r.remark.as_deref(),
        Some("The broker does not support consumer to filter message by SQL92")
    );
    let r = off.call(sql_pull("Orders", 0, "a > 1")).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
}
