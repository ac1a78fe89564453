//! `MessagingService`: each RPC decodes its request and hands it to the module that does the
//! work; refusals are in-band statuses.

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use apogee_broker::messaging::Messaging;
use futures::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::convert::peer_or_unspecified;
use crate::pb;
use crate::pb::messaging_service_server::MessagingService;
use crate::route::Routes;
use crate::status::{fail, ok};
use crate::telemetry::Sessions;
use crate::{consume, offsets, produce};

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

fn peer<T>(request: &Request<T>) -> SocketAddr {
    peer_or_unspecified(request.remote_addr())
}

#[tonic::async_trait]
impl MessagingService for Endpoint {
    async fn query_route(
        &self,
        request: Request<pb::QueryRouteRequest>,
    ) -> Result<Response<pb::QueryRouteResponse>, Status> {
        let topic = request
            .into_inner()
            .topic
            .map(|t| t.name)
            .unwrap_or_default();
        let answer = match self.routes.queues(&topic).await {
            Ok(message_queues) => pb::QueryRouteResponse {
                status: Some(ok()),
                message_queues,
            },
            Err(status) => pb::QueryRouteResponse {
                status: Some(status),
                message_queues: Vec::new(),
            },
        };
        Ok(Response::new(answer))
    }

    async fn heartbeat(
        &self,
        _request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        Ok(Response::new(pb::HeartbeatResponse { status: Some(ok()) }))
    }

    async fn send_message(
        &self,
        request: Request<pb::SendMessageRequest>,
    ) -> Result<Response<pb::SendMessageResponse>, Status> {
        let from = peer(&request);
        let answer = produce::send(&self.messaging, request.into_inner(), from).await;
        Ok(Response::new(answer))
    }

    async fn query_assignment(
        &self,
        request: Request<pb::QueryAssignmentRequest>,
    ) -> Result<Response<pb::QueryAssignmentResponse>, Status> {
        let topic = request
            .into_inner()
            .topic
            .map(|t| t.name)
            .unwrap_or_default();
        let answer = match self.routes.assignments(&topic).await {
            Ok(assignments) => pb::QueryAssignmentResponse {
                status: Some(ok()),
                assignments,
            },
            Err(status) => pb::QueryAssignmentResponse {
                status: Some(status),
                assignments: Vec::new(),
            },
        };
        Ok(Response::new(answer))
    }

    type ReceiveMessageStream = Streamed<pb::ReceiveMessageResponse>;

    async fn receive_message(
        &self,
        request: Request<pb::ReceiveMessageRequest>,
    ) -> Result<Response<Self::ReceiveMessageStream>, Status> {
        let left = deadline(&request);
        let fifo = self
            .sessions
            .settings(&client_id(&request))
            .and_then(|s| match s.pub_sub {
                Some(pb::settings::PubSub::Subscription(sub)) => sub.fifo,
                _ => None,
            })
            .unwrap_or(false);
        let request = request.into_inner();
        let group = request
            .group
            .as_ref()
            .map(|g| g.name.clone())
            .unwrap_or_default();
        let fifo = fifo
            || self
                .messaging
                .groups
                .get(&group)
                .is_some_and(|g| g.consume_message_orderly);
        let items = consume::receive(&self.messaging, request, left, fifo).await;
        Ok(Response::new(Box::pin(tokio_stream::iter(
            items.into_iter().map(Ok),
        ))))
    }

    async fn ack_message(
        &self,
        request: Request<pb::AckMessageRequest>,
    ) -> Result<Response<pb::AckMessageResponse>, Status> {
        Ok(Response::new(consume::ack(
            &self.messaging,
            request.into_inner(),
        )))
    }

    async fn forward_message_to_dead_letter_queue(
        &self,
        request: Request<pb::ForwardMessageToDeadLetterQueueRequest>,
    ) -> Result<Response<pb::ForwardMessageToDeadLetterQueueResponse>, Status> {
        let answer = consume::forward_to_dlq(&self.messaging, request.into_inner()).await;
        Ok(Response::new(answer))
    }

    type PullMessageStream = Streamed<pb::PullMessageResponse>;

    async fn pull_message(
        &self,
        request: Request<pb::PullMessageRequest>,
    ) -> Result<Response<Self::PullMessageStream>, Status> {
        let items = offsets::pull(&self.messaging, request.into_inner()).await;
        Ok(Response::new(Box::pin(tokio_stream::iter(
            items.into_iter().map(Ok),
        ))))
    }

    async fn update_offset(
        &self,
        request: Request<pb::UpdateOffsetRequest>,
    ) -> Result<Response<pb::UpdateOffsetResponse>, Status> {
        Ok(Response::new(offsets::update(
            &self.messaging,
            request.into_inner(),
        )))
    }

    async fn get_offset(
        &self,
        request: Request<pb::GetOffsetRequest>,
    ) -> Result<Response<pb::GetOffsetResponse>, Status> {
        Ok(Response::new(offsets::get(
            &self.messaging,
            request.into_inner(),
        )))
    }

    async fn query_offset(
        &self,
        request: Request<pb::QueryOffsetRequest>,
    ) -> Result<Response<pb::QueryOffsetResponse>, Status> {
        Ok(Response::new(offsets::query(
            &self.messaging,
            request.into_inner(),
        )))
    }

    async fn end_transaction(
        &self,
        request: Request<pb::EndTransactionRequest>,
    ) -> Result<Response<pb::EndTransactionResponse>, Status> {
        let answer = produce::end_transaction(&self.messaging, request.into_inner()).await;
        Ok(Response::new(answer))
    }

    type TelemetryStream = Streamed<pb::TelemetryCommand>;

    async fn telemetry(
        &self,
        request: Request<Streaming<pb::TelemetryCommand>>,
    ) -> Result<Response<Self::TelemetryStream>, Status> {
        let id = client_id(&request);
        if id.is_empty() {
            return Err(Status::invalid_argument("x-mq-client-id is required"));
        }
        let inbox = self
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
                    other => {
                        tracing::debug!(client = id, command = ?other.is_some(), "telemetry command")
                    }
                }
            }
            sessions.close(&id);
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(inbox))))
    }

    async fn notify_client_termination(
        &self,
        request: Request<pb::NotifyClientTerminationRequest>,
    ) -> Result<Response<pb::NotifyClientTerminationResponse>, Status> {
        self.sessions.close(&client_id(&request));
        Ok(Response::new(pb::NotifyClientTerminationResponse {
            status: Some(ok()),
        }))
    }

    async fn change_invisible_duration(
        &self,
        request: Request<pb::ChangeInvisibleDurationRequest>,
    ) -> Result<Response<pb::ChangeInvisibleDurationResponse>, Status> {
        let answer = consume::change_invisible(&self.messaging, request.into_inner());
        Ok(Response::new(answer))
    }

    async fn recall_message(
        &self,
        _request: Request<pb::RecallMessageRequest>,
    ) -> Result<Response<pb::RecallMessageResponse>, Status> {
        Ok(Response::new(pb::RecallMessageResponse {
            status: Some(fail(
                pb::Code::Unsupported,
                "recalling messages is not supported: cancel a timer message by sending TIMER_DEL_UNIQKEY",
            )),
            message_id: String::new(),
        }))
    }
}
