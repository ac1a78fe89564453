//! A v5 client reached by CONSUME_MESSAGE_DIRECTLY: the broker turns it into a
//! VerifyMessageCommand on the client's Telemetry stream and answers the caller with what the
//! client replied. Driven by a raw gRPC client (Apache's v5 Rust client does not serve that
//! command).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use apogee_client::{ClientConfig, Message, Producer, ProducerConfig};
use apogee_grpc::pb;
use apogee_grpc::pb::messaging_service_client::MessagingServiceClient;
use apogee_protocol::header::admin::ConsumeMessageDirectlyResultRequestHeader;
use apogee_protocol::{RemotingCommand, RequestCode, ResponseCode};
use apogee_remoting::{Dispatcher, RemotingClient, TransportConfig};
use apogee_runtime::Shutdown;
use common::{CLIENT, WAIT, resource, with_id};
use tokio_stream::StreamExt;

/// A v5 simple consumer of group GVerify: its Telemetry stream open (settings sent) and one
/// heartbeat, as a client starts.
async fn open_consumer(
    addr: std::net::SocketAddr,
) -> (
    tokio::sync::mpsc::Sender<pb::TelemetryCommand>,
    tonic::Streaming<pb::TelemetryCommand>,
) {
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = MessagingServiceClient::new(channel);
    let (commands, outgoing) = tokio::sync::mpsc::channel(8);
    let settings = pb::Settings {
        client_type: Some(pb::ClientType::SimpleConsumer as i32),
        pub_sub: Some(pb::settings::PubSub::Subscription(pb::Subscription {
            group: Some(resource("GVerify")),
            ..pb::Subscription::default()
        })),
        ..pb::Settings::default()
    };
    commands
        .send(pb::TelemetryCommand {
            status: None,
            command: Some(pb::telemetry_command::Command::Settings(settings)),
        })
        .await
        .unwrap();
    let stream = tokio_stream::wrappers::ReceiverStream::new(outgoing);
    let incoming = client
        .telemetry(with_id(stream))
        .await
        .unwrap()
        .into_inner();
    let heartbeat = pb::HeartbeatRequest {
        group: Some(resource("GVerify")),
        client_type: pb::ClientType::SimpleConsumer as i32,
    };
    let answer = client
        .heartbeat(with_id(heartbeat))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.status.unwrap().code, pb::Code::Ok as i32);

    (commands, incoming)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_directly_reaches_a_v5_client_as_verify_message() {
    let cluster = apogee_testkit::start(|_| {}).await;
    let shutdown = Shutdown::new();
    let grpc = apogee_grpc::serve(
        cluster.broker.messaging(),
        "127.0.0.1:0".parse().unwrap(),
        &shutdown,
    )
    .await
    .unwrap();
    // The NameServer learns the auto-create template's route before the first send.
    cluster.broker.register_now().await;
    let producer = Producer::start(
        ClientConfig::new(&cluster.namesrv_addr),
        ProducerConfig::new("p"),
    )
    .await
    .unwrap();
    let sent = producer
        .send(Message::new("Verified", "check me"))
        .await
        .unwrap();

    let (commands, mut incoming) = open_consumer(grpc.local_addr()).await;

    let admin = RemotingClient::new(Dispatcher::new(), TransportConfig::default());
    let header = ConsumeMessageDirectlyResultRequestHeader {
        consumer_group: "GVerify".into(),
        client_id: Some(CLIENT.into()),
        msg_id: Some(sent.offset_msg_id.clone()),
        broker_name: None,
        topic: Some("Verified".into()),
        topic_sys_flag: None,
        group_sys_flag: None,
    };
    let call = RemotingCommand::request(RequestCode::CONSUME_MESSAGE_DIRECTLY, &header);
    let broker = cluster.broker_addr.clone();
    let asked = tokio::spawn(async move { admin.invoke(&broker, call, WAIT).await.unwrap() });

    let verify = loop {
        let command = tokio::time::timeout(WAIT, incoming.next())
            .await
            .expect("a telemetry command in time")
            .expect("the stream stays open")
            .unwrap();
        if let Some(pb::telemetry_command::Command::VerifyMessageCommand(verify)) = command.command
        {
            break verify;
        }
    };
    let message = verify.message.expect("the message to verify");
    assert_eq!(message.body, b"check me");
    assert_eq!(message.topic.unwrap().name, "Verified");
    commands
        .send(pb::TelemetryCommand {
            status: None,
            command: Some(pb::telemetry_command::Command::VerifyMessageResult(
                pb::VerifyMessageResult {
                    nonce: verify.nonce,
                },
            )),
        })
        .await
        .unwrap();
    let answer = tokio::time::timeout(WAIT, asked).await.unwrap().unwrap();
    assert_eq!(
        answer.response_code(),
        ResponseCode::SUCCESS,
        "{:?}",
        answer.remark
    );
    let result: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(result["consumeResult"], "CR_SUCCESS");
}
