//! Apache's v5 Rust client against the v5 endpoint with the broker's access control on
//! (REMOTING.md §10.6): a user's signed calls pass under its policies; a wrong secret cannot
//! even start a client; a topic the user may not use is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use apogee_auth::Credentials;
use apogee_auth::signature::sign_request;
use apogee_protocol::header::admin::CreateTopicRequestHeader;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{Dispatcher, RemotingClient, TransportConfig};
use apogee_runtime::Shutdown;
use rocketmq::conf::{ClientOption, ProducerOption, SimpleConsumerOption};
use rocketmq::model::common::{FilterExpression, FilterType};
use rocketmq::model::message::MessageBuilder;
use rocketmq::{Producer, SimpleConsumer};

const WAIT: Duration = Duration::from_secs(60);
const ROOT: (&str, &str) = ("root", "root-secret-1");
const PLAIN: &str = r#"
accounts:
  - accessKey: app
    secretKey: "app-secret-1"
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - V5Acl=PUB|SUB
"#;

async fn create_topic(cluster: &apogee_testkit::InProcess, topic: &str) {
    let header = CreateTopicRequestHeader {
        topic: topic.into(),
        default_topic: "TBW102".into(),
        read_queue_nums: 2,
        write_queue_nums: 2,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".into(),
        topic_sys_flag: Some(0),
        order: false,
        attributes: None,
        force: None,
    };
    let mut request = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC, &header);
    sign_request(&mut request, &Credentials::new(ROOT.0, ROOT.1));
    let admin = RemotingClient::new(Dispatcher::new(), TransportConfig::default());
    let r = admin
        .invoke(&cluster.broker_addr, request, WAIT)
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
}

fn option(access_url: &str, who: (&str, &str)) -> ClientOption {
    let mut option = ClientOption::default();
    option.set_access_url(access_url);
    option.set_timeout(Duration::from_secs(5));
    option.set_long_polling_timeout(Duration::from_secs(3));
    option.set_access_key(who.0);
    option.set_secret_key(who.1);
    option
}

/// A broker with authentication and authorization on: `root` a super user, `app` (from
/// plain_acl.yml) allowed V5Acl only.
async fn guarded() -> apogee_testkit::InProcess {
    apogee_testkit::start(|raw| {
        raw.authentication_enabled = true;
        raw.authorization_enabled = true;
        raw.init_authentication_user =
            format!(r#"{{"username":"{}","password":"{}"}}"#, ROOT.0, ROOT.1);
        let config_dir = raw.store_path_root_dir.join("config");
        std::fs::create_dir_all(&config_dir).unwrap();
        std::fs::write(config_dir.join("plain_acl.yml"), PLAIN).unwrap();
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_calls_pass_under_the_users_policies_and_nothing_else_does() {
    let cluster = guarded().await;
    let shutdown = Shutdown::new();
    let grpc = apogee_grpc::serve(
        cluster.broker.messaging(),
        "127.0.0.1:0".parse().unwrap(),
        &shutdown,
    )
    .await
    .unwrap();
    let url = grpc.local_addr().to_string();
    create_topic(&cluster, "V5Acl").await;
    create_topic(&cluster, "V5Denied").await;

    let mut wrong = ProducerOption::default();
    wrong.set_topics(vec!["V5Acl"]);
    let mut intruder = Producer::new(wrong, option(&url, ("app", "not-the-secret"))).unwrap();
    let refused = intruder
        .start()
        .await
        .expect_err("a wrong secret cannot start a client");
    let text = format!("{refused:?}");
    assert!(text.contains("check signature failed"), "{text}");

    let mut topics = ProducerOption::default();
    topics.set_topics(vec!["V5Acl"]);
    let mut producer = Producer::new(topics, option(&url, ("app", "app-secret-1"))).unwrap();
    producer.start().await.unwrap();
    let allowed = MessageBuilder::builder()
        .set_topic("V5Acl")
        .set_body(b"allowed".to_vec())
        .build()
        .unwrap();
    producer.send(allowed).await.unwrap();
    let denied = MessageBuilder::builder()
        .set_topic("V5Denied")
        .set_body(b"denied".to_vec())
        .build()
        .unwrap();
    let refused = producer
        .send(denied)
        .await
        .expect_err("no permission on V5Denied");
    let text = format!("{refused:?}");
    assert!(
        text.contains("no permission") && text.contains("V5Denied"),
        "{text}"
    );

    let mut consumer_option = SimpleConsumerOption::default();
    consumer_option.set_consumer_group("V5AclGroup");
    consumer_option.set_topics(vec!["V5Acl"]);
    let mut consumer =
        SimpleConsumer::new(consumer_option, option(&url, ("app", "app-secret-1"))).unwrap();
    consumer.start().await.unwrap();
    let filter = FilterExpression::new(FilterType::Tag, "*");
    let deadline = Instant::now() + WAIT;
    loop {
        let got = consumer
            .receive_with("V5Acl", &filter, 16, Duration::from_secs(30))
            .await
            .unwrap();
        if let Some(m) = got.iter().find(|m| m.body() == b"allowed") {
            consumer.ack(m).await.unwrap();
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the allowed message never arrived"
        );
    }
}
