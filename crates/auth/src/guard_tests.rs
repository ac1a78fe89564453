use super::*;
use crate::policy::{Acl, Policy, PolicyEntry, PolicyType};
use crate::registry::Managed;
use crate::resource::ResourcePattern;
use crate::signature::sign_request;
use crate::user::{User, UserType};
use crate::{Credentials, plain_acl};
use apogee_protocol::RequestCode;

const ALICE: (&str, &str) = ("alice", "alice-secret");
const HOME: [u8; 4] = [10, 0, 0, 7];

fn guard(whitelist: &str) -> Guard {
    let mut alice = User::new(ALICE.0, ALICE.1, UserType::Normal);
    let mut bob = User::new("bob", "bob-secret", UserType::Normal);
    bob.user_status = UserStatus::Disabled;
    alice.user_status = UserStatus::Enabled;
    let entry = |r: &str, a: Actions, d: Decision| {
        PolicyEntry::new(ResourcePattern::parse(r).unwrap(), a, vec![], d).unwrap()
    };
    let managed = Managed {
        users: vec![alice, bob],
        acls: vec![Acl {
            subject: "User:alice".into(),
            policies: vec![Policy {
                policy_type: PolicyType::Custom,
                entries: vec![
                    entry("Topic:orders*", Actions::PUB, Decision::Allow),
                    entry("Topic:orders-secret", Actions::ALL, Decision::Deny),
                ],
            }],
        }],
    };
    let settings = GuardSettings {
        authentication: true,
        authorization: true,
        authentication_whitelist: parse_code_list(whitelist).unwrap(),
        authorization_whitelist: parse_code_list(whitelist).unwrap(),
        cluster: "C".into(),
    };
    let root = Credentials::new("root", "root-secret");
    Guard::new(settings, Registry::build(&managed, None, &[root]))
}

fn send(topic: &str, who: Option<(&str, &str)>) -> RemotingCommand {
    let mut r = RemotingCommand::bare_request(RequestCode::SEND_MESSAGE_V2);
    r.ext_fields.insert("a", "pg");
    r.ext_fields.insert("b", topic);
    r.body = bytes::Bytes::from_static(b"hello");
    if let Some((ak, sk)) = who {
        sign_request(&mut r, &Credentials::new(ak, sk));
    }
    r
}

fn remark(g: &Guard, r: &RemotingCommand) -> String {
    match g.check(IpAddr::from(HOME), r) {
        Ok(()) => "allowed".into(),
        Err(refusal) => {
            assert_eq!(refusal.code, ResponseCode::NO_PERMISSION);
            refusal.remark
        }
    }
}

#[test]
fn given_the_matrix_should_refuse_each_case_with_rocketmq_remarks() {
    let g = guard("");
    assert_eq!(remark(&g, &send("orders-1", Some(ALICE))), "allowed");
    assert_eq!(
        remark(&g, &send("orders-1", None)),
        "username cannot be null."
    );
    assert_eq!(
        remark(&g, &send("orders-1", Some(("mallory", "x")))),
        "User:mallory is not found."
    );
    assert_eq!(
        remark(&g, &send("orders-1", Some(("alice", "wrong")))),
        "check signature failed."
    );
    assert_eq!(
        remark(&g, &send("orders-1", Some(("bob", "bob-secret")))),
        "User:bob is disabled."
    );
    assert_eq!(
        remark(&g, &send("payments", Some(ALICE))),
        "User:alice has no permission to access Topic:payments from 10.0.0.7, no matched policies."
    );
    assert_eq!(
        remark(&g, &send("orders-secret", Some(ALICE))),
        "User:alice has no permission to access Topic:orders-secret from 10.0.0.7, the decision is deny."
    );
    assert_eq!(
        remark(&g, &send("anything", Some(("root", "root-secret")))),
        "allowed"
    );
    assert_eq!(
        remark(&g, &send("RMQ_SYS_TRACE_TOPIC", Some(ALICE))),
        "allowed"
    );
}

#[test]
fn given_a_tampered_body_or_field_should_fail_the_signature() {
    let g = guard("");
    let mut r = send("orders-1", Some(ALICE));
    r.body = bytes::Bytes::from_static(b"hellO");
    assert_eq!(remark(&g, &r), "check signature failed.");
    let mut r = send("orders-1", Some(ALICE));
    r.ext_fields.insert("b", "payments");
    assert_eq!(remark(&g, &r), "check signature failed.");
    let mut r = send("orders-1", Some(ALICE));
    r.ext_fields.remove(SIGNATURE);
    assert_eq!(remark(&g, &r), "check signature failed.");
}

#[test]
fn given_whitelisted_codes_should_skip_both_stages() {
    let g = guard("310");
    assert_eq!(remark(&g, &send("payments", None)), "allowed");
}

#[test]
fn given_admin_codes_should_refuse_normal_users_and_pass_super_users() {
    let g = guard("");
    let mut r = RemotingCommand::bare_request(RequestCode::UPDATE_BROKER_CONFIG);
    r.body = bytes::Bytes::from_static(b"fileReservedTime=0");
    let mut as_alice = r.clone();
    sign_request(&mut as_alice, &Credentials::new(ALICE.0, ALICE.1));
    assert_eq!(
        remark(&g, &as_alice),
        "User:alice has no permission to access Cluster:C from 10.0.0.7, no matched policies."
    );
    sign_request(&mut r, &Credentials::new("root", "root-secret"));
    assert_eq!(remark(&g, &r), "allowed");
}

#[test]
fn given_plain_acl_white_addresses_should_skip_signatures_or_everything() {
    let plain = plain_acl::parse(
        "globalWhiteRemoteAddresses: [192.168.9.*]\naccounts:\n  - accessKey: RocketMQ\n    secretKey: '12345678'\n    whiteRemoteAddress: 10.0.0.*\n    topicPerms: [orders=PUB]\n",
    )
    .unwrap();
    let settings = GuardSettings {
        authentication: true,
        authorization: true,
        cluster: "C".into(),
        ..GuardSettings::default()
    };
    let g = Guard::new(
        settings,
        Registry::build(&Managed::default(), Some(&plain), &[]),
    );
    let mut unsigned = send("orders", None);
    unsigned.ext_fields.insert(ACCESS_KEY, "RocketMQ");
    assert_eq!(
        remark(&g, &unsigned),
        "allowed",
        "account white address: no signature"
    );
    let mut elsewhere = unsigned.clone();
    elsewhere.ext_fields.insert("b", "payments");
    assert!(
        remark(&g, &elsewhere).contains("no matched policies"),
        "permissions still apply"
    );
    let from_white = g.check(IpAddr::from([192, 168, 9, 1]), &send("payments", None));
    assert_eq!(from_white, Ok(()));
    let outside = g.check(IpAddr::from([172, 16, 0, 1]), &unsigned);
    assert_eq!(outside.unwrap_err().remark, "check signature failed.");
}
