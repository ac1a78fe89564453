//! Shared by the endpoint's tests: an in-process NameServer + broker with the v5 endpoint in
//! front, and a raw gRPC client of it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use apogee_grpc::pb;
use apogee_grpc::pb::messaging_service_client::MessagingServiceClient;
use apogee_runtime::Shutdown;
use tonic::Request;
use tonic::transport::Channel;

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(30);
/// The raw client's id.
pub const CLIENT: &str = "raw-client@1#0";

pub struct Endpoint {
    pub cluster: apogee_testkit::InProcess,
    pub grpc: apogee_grpc::GrpcServer,
    pub client: MessagingServiceClient<Channel>,
    _shutdown: Shutdown,
}

pub async fn start() -> Endpoint {
    let cluster = apogee_testkit::start(|_| {}).await;
    let shutdown = Shutdown::new();
    let grpc = apogee_grpc::serve(
        cluster.broker.messaging(),
        "127.0.0.1:0".parse().unwrap(),
        &shutdown,
    )
    .await
    .unwrap();
    let channel = Channel::from_shared(format!("http://{}", grpc.local_addr()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    Endpoint {
        cluster,
        grpc,
        client: MessagingServiceClient::new(channel),
        _shutdown: shutdown,
    }
}

/// A request carrying the raw client's id.
pub fn with_id<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("x-mq-client-id", CLIENT.parse().unwrap());
    request
}

pub fn resource(name: &str) -> pb::Resource {
    pb::Resource {
        resource_namespace: String::new(),
        name: name.into(),
    }
}
