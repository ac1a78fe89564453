//! Access control on the broker over real sockets: every refusal of the matrix with its code
//! and remark, every allowed case working, ACL 1.0's plain_acl.yml mapped and reloaded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use apogee_auth::Credentials;
use apogee_auth::signature::sign_request;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use bytes::Bytes;
use common::*;

const ROOT: (&str, &str) = ("root", "root-secret-1");
const ALICE: (&str, &str) = ("alice", "alice-secret-1");
const CAROL: (&str, &str) = ("carol", "carol-secret-1");

/// alice publishes to orders* (not orders-secret); carol consumes orders* as group cg, only
/// from 10.0.0.0/8 for group "remote"; bob is disabled.
const MANAGED: &str = r#"{
  "users": [
    {"username":"alice","password":"alice-secret-1","userType":"Normal","userStatus":"enable"},
    {"username":"bob","password":"bob-secret-1","userType":"Normal","userStatus":"disable"},
    {"username":"carol","password":"carol-secret-1","userType":"Normal","userStatus":"enable"}
  ],
  "acls": [
    {"subject":"User:alice","policies":[{"policyType":"Custom","entries":[
      {"resource":"Topic:orders*","actions":["Pub"],"decision":"Allow"},
      {"resource":"Topic:orders-secret","actions":["All"],"decision":"Deny"}]}]},
    {"subject":"User:carol","policies":[{"policyType":"Custom","entries":[
      {"resource":"Topic:orders*","actions":["Sub"],"decision":"Allow"},
      {"resource":"Group:cg","actions":["Sub"],"decision":"Allow"},
      {"resource":"Group:remote","actions":["Sub"],"sourceIps":["10.0.0.0/8"],"decision":"Allow"}]}]}
  ]
}"#;

async fn guarded(plain_acl: Option<&str>) -> Cluster {
    let plain = plain_acl.map(str::to_owned);
    cluster(move |raw| {
        raw.authentication_enabled = true;
        raw.authorization_enabled = true;
        raw.init_authentication_user =
            format!(r#"{{"username":"{}","password":"{}"}}"#, ROOT.0, ROOT.1);
        let config_dir = raw.store_path_root_dir.join("config");
        std::fs::create_dir_all(&config_dir).unwrap();
        std::fs::write(config_dir.join("acl.json"), MANAGED).unwrap();
        if let Some(text) = plain {
            std::fs::write(config_dir.join("plain_acl.yml"), text).unwrap();
        }
    })
    .await
}

fn signed(mut request: RemotingCommand, who: (&str, &str)) -> RemotingCommand {
    sign_request(&mut request, &Credentials::new(who.0, who.1));
    request
}

fn refused(response: &RemotingCommand) -> String {
    assert_eq!(
        response.response_code(),
        ResponseCode::NO_PERMISSION,
        "{:?}",
        response.remark
    );
    response.remark.clone().unwrap_or_default()
}

fn ok(response: &RemotingCommand) {
    assert_eq!(
        response.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        response.remark
    );
}

fn pull_as(topic: &str, group: &str) -> RemotingCommand {
    let mut r = pull(topic, 0, 0, "*", 0);
    r.ext_fields.insert("consumerGroup", group);
    r
}

#[tokio::test]
async fn given_the_matrix_should_refuse_each_case_with_its_remark_and_allow_the_rest() {
    let c = guarded(None).await;
    ok(&c
        .call(signed(create_topic("orders-1", 1, None), ROOT))
        .await);
    ok(&c
        .call(signed(create_topic("orders-secret", 1, None), ROOT))
        .await);

    // Allowed: alice publishes, carol consumes.
    ok(&c
        .call(signed(send_v2("orders-1", 0, "", b"a"), ALICE))
        .await);
    wait_stored(&c, "orders-1", "1").await;
    let pulled = c.call(signed(pull_as("orders-1", "cg"), CAROL)).await;
    ok(&pulled);
    assert_eq!(records(&pulled.body).len(), 1);

    let send = || send_v2("orders-1", 0, "", b"x");
    assert_eq!(refused(&c.call(send()).await), "username cannot be null.");
    assert_eq!(
        refused(&c.call(signed(send(), ("mallory", "whatever"))).await),
        "User:mallory is not found."
    );
    assert_eq!(
        refused(&c.call(signed(send(), (ALICE.0, "wrong-secret"))).await),
        "check signature failed."
    );
    let mut tampered = signed(send(), ALICE);
    tampered.body = Bytes::from_static(b"y");
    assert_eq!(refused(&c.call(tampered).await), "check signature failed.");
    assert_eq!(
        refused(&c.call(signed(send(), ("bob", "bob-secret-1"))).await),
        "User:bob is disabled."
    );
    // Missing action: alice may publish, not consume; carol may consume, not publish.
    assert_eq!(
        refused(&c.call(signed(pull_as("orders-1", "cg"), ALICE)).await),
        "User:alice has no permission to access Topic:orders-1 from 127.0.0.1, no matched policies."
    );
    assert_eq!(
        refused(&c.call(signed(send(), CAROL)).await),
        "User:carol has no permission to access Topic:orders-1 from 127.0.0.1, no matched policies."
    );
    // Missing group.
    assert_eq!(
        refused(&c.call(signed(pull_as("orders-1", "other"), CAROL)).await),
        "User:carol has no permission to access Group:other from 127.0.0.1, no matched policies."
    );
    // Source address outside the entry's block.
    assert_eq!(
        refused(&c.call(signed(pull_as("orders-1", "remote"), CAROL)).await),
        "User:carol has no permission to access Group:remote from 127.0.0.1, no matched policies."
    );
    // Explicit Deny over a broader Allow.
    assert_eq!(
        refused(
            &c.call(signed(send_v2("orders-secret", 0, "", b"x"), ALICE))
                .await
        ),
        "User:alice has no permission to access Topic:orders-secret from 127.0.0.1, the decision is deny."
    );
    // Nothing was stored by any refused send.
    let max = c.call(signed(max_offset("orders-1"), ROOT)).await;
    ok(&max);
    assert_eq!(max.ext_fields.get("offset"), Some("1"));
}

async fn wait_stored(c: &Cluster, topic: &str, offset: &str) {
    apogee_testkit::wait_until(&format!("{topic} at offset {offset}"), WAIT, || async {
        let r = c.call(signed(max_offset(topic), ROOT)).await;
        r.ext_fields.get("offset") == Some(offset)
    })
    .await;
}

fn max_offset(topic: &str) -> RemotingCommand {
    let mut r = RemotingCommand::bare_request(RequestCode::GET_MAX_OFFSET);
    r.ext_fields.insert("topic", topic);
    r.ext_fields.insert("queueId", "0");
    r
}

#[tokio::test]
async fn given_admin_codes_should_need_the_cluster_so_retention_cannot_be_wiped_by_a_user() {
    let c = guarded(None).await;
    let before = c.broker().retention();
    let wipe = || {
        RemotingCommand::bare_request(RequestCode::UPDATE_BROKER_CONFIG)
            .with_body(Bytes::from_static(b"fileReservedTime=1\n"))
    };
    assert_eq!(
        refused(&c.call(signed(wipe(), ALICE)).await),
        format!(
            "User:alice has no permission to access Cluster:{} from 127.0.0.1, no matched policies.",
            c.raw.broker_cluster_name
        )
    );
    assert_eq!(refused(&c.call(wipe()).await), "username cannot be null.");
    assert_eq!(c.broker().retention(), before);
    // Deleting a topic or a group needs Delete on it.
    let mut delete = RemotingCommand::bare_request(RequestCode::DELETE_TOPIC_IN_BROKER);
    delete.ext_fields.insert("topic", "orders-1");
    assert!(refused(&c.call(signed(delete.clone(), ALICE)).await).contains("Topic:orders-1"));
    // Unknown codes are refused before REQUEST_CODE_NOT_SUPPORTED can say they do not exist.
    let unknown = RemotingCommand::bare_request(RequestCode(4242));
    assert!(refused(&c.call(signed(unknown.clone(), ALICE)).await).contains("Cluster:"));
    // A super user passes all of it.
    ok(&c.call(signed(wipe(), ROOT)).await);
    assert_ne!(c.broker().retention(), before);
    ok(&c.call(signed(delete, ROOT)).await);
    let r = c.call(signed(unknown, ROOT)).await;
    assert_eq!(r.response_code(), ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
}

const PLAIN: &str = r#"
globalWhiteRemoteAddresses:
  - 10.99.*.*
accounts:
  - accessKey: RocketMQ
    secretKey: "12345678"
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - legacy=PUB|SUB
"#;

#[tokio::test]
async fn given_plain_acl_yml_should_map_its_accounts_and_reload_a_change_without_restart() {
    let c = guarded(Some(PLAIN)).await;
    let legacy = ("RocketMQ", "12345678");
    ok(&c.call(signed(create_topic("legacy", 1, None), ROOT)).await);
    ok(&c
        .call(signed(send_v2("legacy", 0, "", b"v1"), legacy))
        .await);
    assert!(
        refused(
            &c.call(signed(send_v2("orders-1", 0, "", b"x"), legacy))
                .await
        )
        .ends_with("the decision is deny."),
        "defaultTopicPerm DENY"
    );
    // Revoke the topic in the file: the broker applies it within seconds.
    let path = c.raw.store_path_root_dir.join("config/plain_acl.yml");
    std::fs::write(&path, PLAIN.replace("legacy=PUB|SUB", "legacy=SUB")).unwrap();
    let refused = || async {
        let r = c
            .call(signed(send_v2("legacy", 0, "", b"v2"), legacy))
            .await;
        r.response_code() == ResponseCode::NO_PERMISSION
    };
    apogee_testkit::wait_until("the plain_acl.yml change", Duration::from_secs(20), refused).await;
}

#[tokio::test]
async fn given_a_guarded_namesrv_should_take_registrations_signed_with_the_inner_credentials_only()
{
    let inner = r#"{"accessKey":"inner","secretKey":"inner-secret-1"}"#;
    let dir = tempfile::tempdir().unwrap();
    let namesrv = apogee_testkit::start_namesrv_with(&dir.path().join("ns"), |raw| {
        raw.authentication_enabled = true;
        raw.authorization_enabled = true;
        raw.inner_client_authentication_credentials = inner.into();
    })
    .await;
    let ns = namesrv.local_addr().to_string();
    let mut signed_raw = raw_config(&dir.path().join("a"), &ns);
    signed_raw.broker_name = "broker-signed".into();
    signed_raw.inner_client_authentication_credentials = inner.into();
    let signed_broker = start_broker(signed_raw).await;
    let mut unsigned_raw = raw_config(&dir.path().join("b"), &ns);
    unsigned_raw.broker_name = "broker-unsigned".into();
    let unsigned_broker = start_broker(unsigned_raw).await;
    signed_broker.register_now().await;
    unsigned_broker.register_now().await;
    let table = namesrv.route_table().read();
    let names: Vec<String> = table
        .cluster_info()
        .broker_addr_table
        .keys()
        .map(ToString::to_string)
        .collect();
    assert_eq!(names, ["broker-signed"]);
}
