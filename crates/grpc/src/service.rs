//! `MessagingService`: each RPC decodes its request and hands it to the module that does the
//! work; refusals are in-band statuses.

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use apogee_broker::manager::client_registry::OtherClient;
use apogee_broker::messaging::Messaging;
use apogee_protocol::LanguageCode;
use futures::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::auth::{self, Check};
use crate::convert::peer_or_unspecified;
use crate::pb;
use crate::pb::messaging_service_server::MessagingService;
use crate::route::Routes;
use crate::status::ok;
use crate::telemetry::Sessions;
use crate::{consume, offsets, produce, recall};

type Streamed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The v5 endpoint.
#[derive(Clone)]
pub struct Endpoint {
    pub messaging: Messaging,
    pub routes: Routes,
    pub sessions: Sessions,
}

fn client_id<T>(request: &Request<T>) -> String {
    request
        .metadata()
        .get("x-mq-client-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// What is left of the call's `grpc-timeout`, when the client set one.
fn deadline<T>(request: &Request<T>) -> Option<Duration> {
    let text = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    let (value, unit) = text.split_at(text.len().checked_sub(1)?);
    let value: u64 = value.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(value.saturating_mul(3600)),
        "M" => Duration::from_secs(value.saturating_mul(60)),
        "S" => Duration::from_secs(value),
        "m" => Duration::from_millis(value),
        "u" => Duration::from_micros(value),
        "n" => Duration::from_nanos(value),
        _ => return None,
    })
}

/// A resource's name, empty when absent.
fn name(resource: Option<&pb::Resource>) -> String {
    resource.map(|r| r.name.clone()).unwrap_or_default()
}

/// The topic of a request's message queue.
fn queue_topic(queue: Option<&pb::MessageQueue>) -> String {
    name(queue.and_then(|q| q.topic.as_ref()))
}

/// An answer carrying only a refusal.
macro_rules! refused {
    ($ty:ty, $status:expr) => {
        Ok(Response::new(<$ty>::from_status($status)))
    };
}

/// Responses that carry a status in field `status`.
trait FromStatus: Default {
    fn set(&mut self, status: pb::Status);
    fn from_status(status: pb::Status) -> Self {
        let mut answer = Self::default();
        answer.set(status);
        answer
    }
}

macro_rules! from_status {
    ($($ty:ty),*) => {$(
        impl FromStatus for $ty {
            fn set(&mut self, status: pb::Status) {
                self.status = Some(status);
            }
        }
    )*};
}

from_status!(
    pb::QueryRouteResponse,
    pb::HeartbeatResponse,
    pb::SendMessageResponse,
    pb::QueryAssignmentResponse,
    pb::AckMessageResponse,
    pb::ForwardMessageToDeadLetterQueueResponse,
    pb::UpdateOffsetResponse,
    pb::GetOffsetResponse,
    pb::QueryOffsetResponse,
    pb::EndTransactionResponse,
    pb::NotifyClientTerminationResponse,
    pb::ChangeInvisibleDurationResponse,
    pb::RecallMessageResponse
);

fn peer<T>(request: &Request<T>) -> SocketAddr {
    peer_or_unspecified(request.remote_addr())
}

impl Endpoint {
    /// A consumer's heartbeat: it shows among its group's members (consumerConnection, the
    /// console), with the subscriptions its settings name.
    fn note_consumer(&self, request: &Request<pb::HeartbeatRequest>) {
        let heartbeat = request.get_ref();
        let consumer = matches!(
            pb::ClientType::try_from(heartbeat.client_type),
            Ok(pb::ClientType::SimpleConsumer
                | pb::ClientType::PushConsumer
                | pb::ClientType::PullConsumer)
        );
        let (Some(group), true) = (heartbeat.group.as_ref(), consumer) else {
            return;
        };
        let id = client_id(request);
        let language = request
            .metadata()
            .get("x-mq-language")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("OTHER");
        let subscriptions = self
            .sessions
            .settings(&id)
            .map(|s| crate::telemetry::subscriptions(&s))
            .unwrap_or_default();
        let client = OtherClient {
            client_id: id,
            addr: peer(request).to_string(),
            language: LanguageCode::from_name(language),
            version: apogee_protocol::version::V5_0_0,
            last_update_ms: self.messaging.clock.now_ms(),
        };
        self.messaging
            .clients
            .register_other_consumer(&group.name, client, &subscriptions);
    }
}

#[tonic::async_trait]
impl MessagingService for Endpoint {
    async fn query_route(
        &self,
        request: Request<pb::QueryRouteRequest>,
    ) -> Result<Response<pb::QueryRouteResponse>, Status> {
        let topic = name(request.get_ref().topic.as_ref());
        if let Err(status) = auth::allow(&self.messaging, &request, &auth::route(&topic)) {
            return refused!(pb::QueryRouteResponse, status);
        }
        let answer = match self.routes.queues(&topic).await {
            Ok(message_queues) => pb::QueryRouteResponse {
                status: Some(ok()),
                message_queues,
            },
            Err(status) => pb::QueryRouteResponse::from_status(status),
        };
        Ok(Response::new(answer))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let group = request.get_ref().group.as_ref();
        let checks: Vec<Check> = group
            .map(|g| Check::group(&g.name, apogee_model::Actions::SUB))
            .into_iter()
            .collect();
        let status = auth::allow(&self.messaging, &request, &checks)
            .err()
            .unwrap_or_else(ok);
        if crate::status::is_ok(&status) {
            self.note_consumer(&request);
        }
        Ok(Response::new(pb::HeartbeatResponse::from_status(status)))
    }

    async fn send_message(
        &self,
        request: Request<pb::SendMessageRequest>,
    ) -> Result<Response<pb::SendMessageResponse>, Status> {
        let from = peer(&request);
        let mut topics: Vec<String> = request
            .get_ref()
            .messages
            .iter()
            .map(|m| name(m.topic.as_ref()))
            .collect();
        topics.sort();
        topics.dedup();
        let checks: Vec<Check> = topics.iter().flat_map(|t| auth::publish(t)).collect();
        if let Err(status) = auth::allow(&self.messaging, &request, &checks) {
            return refused!(pb::SendMessageResponse, status);
        }
        let answer = produce::send(&self.messaging, request.into_inner(), from).await;
        Ok(Response::new(answer))
    }

    async fn query_assignment(
        &self,
        request: Request<pb::QueryAssignmentRequest>,
    ) -> Result<Response<pb::QueryAssignmentResponse>, Status> {
        let topic = name(request.get_ref().topic.as_ref());
        let checks = auth::subscribe(&topic, &name(request.get_ref().group.as_ref()));
        if let Err(status) = auth::allow(&self.messaging, &request, &checks) {
            return refused!(pb::QueryAssignmentResponse, status);
        }
        let answer = match self.routes.assignments(&topic).await {
            Ok(assignments) => pb::QueryAssignmentResponse {
                status: Some(ok()),
                assignments,
            },
            Err(status) => pb::QueryAssignmentResponse::from_status(status),
        };
        Ok(Response::new(answer))
    }

    type ReceiveMessageStream = Streamed<pb::ReceiveMessageResponse>;

    async fn receive_message(
        &self,
        request: Request<pb::ReceiveMessageRequest>,
    ) -> Result<Response<Self::ReceiveMessageStream>, Status> {
        let left = deadline(&request);
        let group = name(request.get_ref().group.as_ref());
        let topic = queue_topic(request.get_ref().message_queue.as_ref());
        if let Err(status) =
            auth::allow(&self.messaging, &request, &auth::subscribe(&topic, &group))
        {
            let items = [consume::status_item(status)];
            return Ok(Response::new(Box::pin(tokio_stream::iter(items.map(Ok)))));
        }
        let fifo = self
            .sessions
            .settings(&client_id(&request))
            .and_then(|s| match s.pub_sub {
                Some(pb::settings::PubSub::Subscription(sub)) => sub.fifo,
                _ => None,
            })
            .unwrap_or(false)
            || self
                .messaging
                .groups
                .get(&group)
                .is_some_and(|g| g.consume_message_orderly);
        let items = consume::receive(&self.messaging, request.into_inner(), left, fifo).await;
        Ok(Response::new(Box::pin(tokio_stream::iter(
            items.into_iter().map(Ok),
        ))))
    }

    async fn ack_message(
        &self,
        request: Request<pb::AckMessageRequest>,
    ) -> Result<Response<pb::AckMessageResponse>, Status> {
        let r = request.get_ref();
        let checks = auth::subscribe(&name(r.topic.as_ref()), &name(r.group.as_ref()));
        if let Err(status) = auth::allow(&self.messaging, &request, &checks) {
            return refused!(pb::AckMessageResponse, status);
        }
        Ok(Response::new(consume::ack(
            &self.messaging,
            request.into_inner(),
        )))
    }

    async fn forward_message_to_dead_letter_queue(
        &self,
        request: Request<pb::ForwardMessageToDeadLetterQueueRequest>,
    ) -> Result<Response<pb::ForwardMessageToDeadLetterQueueResponse>, Status> {
        let r = request.get_ref();
        let checks = auth::subscribe(&name(r.topic.as_ref()), &name(r.group.as_ref()));
        if let Err(status) = auth::allow(&self.messaging, &request, &checks) {
            return refused!(pb::ForwardMessageToDeadLetterQueueResponse, status);
        }
        let answer = consume::forward_to_dlq(&self.messaging, request.into_inner()).await;
        Ok(Response::new(answer))
    }

    type PullMessageStream = Streamed<pb::PullMessageResponse>;

    async fn pull_message(
        &self,
        request: Request<pb::PullMessageRequest>,
    ) -> Result<Response<Self::PullMessageStream>, Status> {
        let r = request.get_ref();
        let checks = auth::subscribe(
            &queue_topic(r.message_queue.as_ref()),
            &name(r.group.as_ref()),
        );
        let items = match auth::allow(&self.messaging, &request, &checks) {
            Ok(()) => offsets::pull(&self.messaging, request.into_inner()).await,
            Err(status) => vec![pb::PullMessageResponse {
                content: Some(pb::pull_message_response::Content::Status(status)),
            }],
        };
        Ok(Response::new(Box::pin(tokio_stream::iter(
            items.into_iter().map(Ok),
        ))))
    }

    async fn update_offset(
        &self,
        request: Request<pb::UpdateOffsetRequest>,
    ) -> Result<Response<pb::UpdateOffsetResponse>, Status> {
        let r = request.get_ref();
        let checks = auth::subscribe(
            &queue_topic(r.message_queue.as_ref()),
            &name(r.group.as_ref()),
        );
        if let Err(status) = auth::allow(&self.messaging, &request, &checks) {
            return refused!(pb::UpdateOffsetResponse, status);
        }
        Ok(Response::new(offsets::update(
            &self.messaging,
            request.into_inner(),
        )))
    }

    async fn get_offset(
        &self,
        request: Request<pb::GetOffsetRequest>,
    ) -> Result<Response<pb::GetOffsetResponse>, Status> {
        let r = request.get_ref();
        let checks = auth::subscribe(
            &queue_topic(r.message_queue.as_ref()),
            &name(r.group.as_ref()),
        );
        if let Err(status) = auth::allow(&self.messaging, &request, &checks) {
            return refused!(pb::GetOffsetResponse, status);
        }
        Ok(Response::new(offsets::get(
            &self.messaging,
            request.into_inner(),
        )))
    }

    async fn query_offset(
        &self,
        request: Request<pb::QueryOffsetRequest>,
    ) -> Result<Response<pb::QueryOffsetResponse>, Status> {
        let topic = queue_topic(request.get_ref().message_queue.as_ref());
        if let Err(status) = auth::allow(&self.messaging, &request, &auth::route(&topic)) {
            return refused!(pb::QueryOffsetResponse, status);
        }
        Ok(Response::new(offsets::query(
            &self.messaging,
            request.into_inner(),
        )))
    }

    async fn end_transaction(
        &self,
        request: Request<pb::EndTransactionRequest>,
    ) -> Result<Response<pb::EndTransactionResponse>, Status> {
        let checks = auth::publish(&name(request.get_ref().topic.as_ref()));
        if let Err(status) = auth::allow(&self.messaging, &request, &checks) {
            return refused!(pb::EndTransactionResponse, status);
        }
        let answer = produce::end_transaction(&self.messaging, request.into_inner()).await;
        Ok(Response::new(answer))
    }

    type TelemetryStream = Streamed<pb::TelemetryCommand>;

    async fn telemetry(
        &self,
        request: Request<Streaming<pb::TelemetryCommand>>,
    ) -> Result<Response<Self::TelemetryStream>, Status> {
        if let Err(status) = auth::allow(&self.messaging, &request, &[]) {
            return Err(Status::unauthenticated(status.message));
        }
        let id = client_id(&request);
        if id.is_empty() {
            return Err(Status::invalid_argument("x-mq-client-id is required"));
        }
        let (inbox, generation) = self
            .sessions
            .open(&id)
            .ok_or_else(|| Status::resource_exhausted("too many clients"))?;
        let mut commands = request.into_inner();
        let (sessions, messaging) = (self.sessions.clone(), self.messaging.clone());
        tokio::spawn(async move {
            while let Ok(Some(command)) = commands.message().await {
                match command.command {
                    Some(pb::telemetry_command::Command::Settings(settings)) => {
                        sessions.apply(&id, settings, &messaging);
                    }
                    Some(pb::telemetry_command::Command::VerifyMessageResult(result)) => {
                        sessions.verified(&result.nonce);
                    }
                    other => {
                        tracing::debug!(client = id, command = ?other.is_some(), "telemetry command")
                    }
                }
            }
            if sessions.close_stream(&id, generation) {
                messaging.clients.unregister_other(&id);
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(inbox))))
    }

    async fn notify_client_termination(
        &self,
        request: Request<pb::NotifyClientTerminationRequest>,
    ) -> Result<Response<pb::NotifyClientTerminationResponse>, Status> {
        if let Err(status) = auth::allow(&self.messaging, &request, &[]) {
            return refused!(pb::NotifyClientTerminationResponse, status);
        }
        let id = client_id(&request);
        self.sessions.close(&id);
        self.messaging.clients.unregister_other(&id);
        Ok(Response::new(
            pb::NotifyClientTerminationResponse::from_status(ok()),
        ))
    }

    async fn change_invisible_duration(
        &self,
        request: Request<pb::ChangeInvisibleDurationRequest>,
    ) -> Result<Response<pb::ChangeInvisibleDurationResponse>, Status> {
        let r = request.get_ref();
        let checks = auth::subscribe(&name(r.topic.as_ref()), &name(r.group.as_ref()));
        if let Err(status) = auth::allow(&self.messaging, &request, &checks) {
            return refused!(pb::ChangeInvisibleDurationResponse, status);
        }
        let answer = consume::change_invisible(&self.messaging, request.into_inner());
        Ok(Response::new(answer))
    }

    async fn recall_message(
        &self,
        request: Request<pb::RecallMessageRequest>,
    ) -> Result<Response<pb::RecallMessageResponse>, Status> {
        let checks = auth::publish(&name(request.get_ref().topic.as_ref()));
        if let Err(status) = auth::allow(&self.messaging, &request, &checks) {
            return refused!(pb::RecallMessageResponse, status);
        }
        let from = peer(&request);
        let answer = recall::recall(&self.messaging, request.into_inner(), from).await;
        Ok(Response::new(answer))
    }
}
