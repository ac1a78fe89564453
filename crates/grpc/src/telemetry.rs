//! Telemetry: each client keeps one stream open; it sends its settings, the endpoint answers
//! with the settings it applies (server-side values merged in: retry policy, batch size, long
//! polling, FIFO from the group, maximum body size), and uses the stream to ask producers about
//! orphaned transactions (`RecoverOrphanedTransactionCommand`; the producer answers with
//! EndTransaction, source SERVER_CHECK).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use apogee_broker::manager::orphan_checks::{OrphanCheck, OrphanSink};
use apogee_broker::manager::other_calls::{OtherCalls, Pending};
use apogee_broker::messaging::Messaging;
use apogee_protocol::body::client::SubscriptionData;
use apogee_protocol::record::{RecordAt, decode_record};
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tonic::Status;

use crate::convert::{self, Delivery, duration};
use crate::pb;
use crate::status::ok;

/// Commands waiting to be written to one client's stream.
const STREAM_BUFFER: usize = 64;
/// Sessions kept at most (one per client id).
const SESSIONS_MAX: usize = 100_000;
/// Topics or subscriptions of one client's settings kept at most.
const LIST_MAX: usize = 1024;

type Outbox = mpsc::Sender<Result<pb::TelemetryCommand, Status>>;

struct Session {
    settings: Option<pb::Settings>,
    outbox: Outbox,
    /// Which stream of this client id it is (a reconnect opens a new one).
    generation: u64,
}

/// Verify-message commands waiting for their result, by nonce.
type Waiting = HashMap<String, oneshot::Sender<()>>;

/// The open Telemetry streams, by client id, and the verify-message commands in flight.
#[derive(Clone, Default)]
pub struct Sessions(
    Arc<Mutex<HashMap<String, Session>>>,
    Arc<Mutex<Waiting>>,
    Arc<AtomicU64>,
);

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn waiting(&self) -> MutexGuard<'_, Waiting> {
        self.1.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A client's VerifyMessageResult: the command with that nonce is answered.
    pub fn verified(&self, nonce: &str) {
        if let Some(waiter) = self.waiting().remove(nonce) {
            let _ = waiter.send(());
        }
    }

    /// A new stream for `client_id` and its generation; the receiver feeds the response
    /// stream.
    pub fn open(
        &self,
        client_id: &str,
    ) -> Option<(mpsc::Receiver<Result<pb::TelemetryCommand, Status>>, u64)> {
        let mut sessions = self.lock();
        if sessions.len() >= SESSIONS_MAX && !sessions.contains_key(client_id) {
            return None;
        }
        let (outbox, inbox) = mpsc::channel(STREAM_BUFFER);
        let generation = self.2.fetch_add(1, Ordering::Relaxed);
        sessions.insert(
            client_id.to_owned(),
            Session {
                settings: None,
                outbox,
                generation,
            },
        );
        Some((inbox, generation))
    }

    /// Forgets the client (it said goodbye).
    pub fn close(&self, client_id: &str) {
        self.lock().remove(client_id);
    }

    /// Forgets the client's stream `generation` when it ends, unless a newer one replaced it;
    /// true when it was forgotten.
    pub fn close_stream(&self, client_id: &str, generation: u64) -> bool {
        let mut sessions = self.lock();
        if sessions
            .get(client_id)
            .is_some_and(|s| s.generation == generation)
        {
            sessions.remove(client_id);
            return true;
        }
        false
    }

    /// The client's last settings.
    pub fn settings(&self, client_id: &str) -> Option<pb::Settings> {
        self.lock().get(client_id).and_then(|s| s.settings.clone())
    }

    /// Stores the client's settings (at most 1,024 topics or subscriptions kept) and answers
    /// with the ones applied.
    pub fn apply(&self, client_id: &str, mut settings: pb::Settings, messaging: &Messaging) {
        match settings.pub_sub.as_mut() {
            Some(pb::settings::PubSub::Publishing(p)) => p.topics.truncate(LIST_MAX),
            Some(pb::settings::PubSub::Subscription(s)) => s.subscriptions.truncate(LIST_MAX),
            None => {}
        }
        settings.client_properties.clear();
        let merged = merged(settings, messaging);
        let mut sessions = self.lock();
        let Some(session) = sessions.get_mut(client_id) else {
            return;
        };
        session.settings = Some(merged.clone());
        let answer = pb::TelemetryCommand {
            status: Some(ok()),
            command: Some(pb::telemetry_command::Command::Settings(merged)),
        };
        let _ = session.outbox.try_send(Ok(answer));
    }
}

/// The client's settings with the server's values.
fn merged(mut settings: pb::Settings, messaging: &Messaging) -> pb::Settings {
    match settings.pub_sub.as_mut() {
        Some(pb::settings::PubSub::Publishing(publishing)) => {
            publishing.max_body_size = 4 << 20;
            settings.backoff_policy = Some(pb::RetryPolicy {
                max_attempts: 3,
                strategy: Some(pb::retry_policy::Strategy::ExponentialBackoff(
                    pb::ExponentialBackoff {
                        initial: Some(duration(10)),
                        max: Some(duration(1000)),
                        multiplier: 2.0,
                    },
                )),
            });
        }
        Some(pb::settings::PubSub::Subscription(subscription)) => {
            let group = subscription.group.as_ref().map(|g| g.name.clone());
            let config = group.and_then(|g| messaging.groups.get(&g));
            subscription.fifo = Some(config.as_ref().is_some_and(|c| c.consume_message_orderly));
            subscription.receive_batch_size = Some(32);
            subscription.long_polling_timeout = Some(duration(20_000));
            let attempts = config.map_or(17, |c| c.retry_max_times.saturating_add(1));
            let next = [
                1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600,
                7200,
            ]
            .map(|s| duration(s * 1000))
            .to_vec();
            settings.backoff_policy = Some(pb::RetryPolicy {
                max_attempts: attempts,
                strategy: Some(pb::retry_policy::Strategy::CustomizedBackoff(
                    pb::CustomizedBackoff { next },
                )),
            });
        }
        None => {}
    }
    settings
}

impl OrphanSink for Sessions {
    /// Asks one producer publishing the message's topic (else any producer) about it.
    fn check(&self, check: &OrphanCheck) -> bool {
        let Ok((RecordAt::Message(record), _)) = decode_record(&check.record, 0, false) else {
            return false;
        };
        let message = convert::incoming(
            &record,
            &Delivery {
                topic: &check.real_topic,
                receipt_handle: None,
                invisible_ms: None,
                attempts: 0,
            },
        );
        let command = pb::TelemetryCommand {
            status: None,
            command: Some(
                pb::telemetry_command::Command::RecoverOrphanedTransactionCommand(
                    pb::RecoverOrphanedTransactionCommand {
                        message: Some(message),
                        transaction_id: check.transaction_id.clone(),
                    },
                ),
            ),
        };
        let sessions = self.lock();
        // Only a producer that publishes the topic may learn of (and decide) its transaction.
        let Some(session) = sessions.values().find(|s| {
            publishing(s).is_some_and(|p| p.topics.iter().any(|t| t.name == check.real_topic))
        }) else {
            return false;
        };
        session.outbox.try_send(Ok(command)).is_ok()
    }
}

fn publishing(session: &Session) -> Option<&pb::Publishing> {
    match session.settings.as_ref()?.pub_sub.as_ref()? {
        pb::settings::PubSub::Publishing(p) => Some(p),
        pb::settings::PubSub::Subscription(_) => None,
    }
}

/// The subscriptions a consumer's settings name (a v5 simple consumer names none).
pub fn subscriptions(settings: &pb::Settings) -> Vec<SubscriptionData> {
    let Some(pb::settings::PubSub::Subscription(subscription)) = &settings.pub_sub else {
        return Vec::new();
    };
    subscription
        .subscriptions
        .iter()
        .filter_map(|entry| {
            let topic = entry.topic.as_ref()?.name.clone();
            let filter = entry.expression.clone().unwrap_or_default();
            Some(crate::consume::subscription(&topic, &filter))
        })
        .collect()
}

impl OtherCalls for Sessions {
    /// CONSUME_MESSAGE_DIRECTLY for a v5 client: a VerifyMessageCommand on its stream; done
    /// when the client answers with the same nonce.
    fn consume_directly(&self, client_id: &str, topic: &str, record: Bytes) -> Option<Pending> {
        let Ok((RecordAt::Message(stored), _)) = decode_record(&record, 0, false) else {
            return None;
        };
        let delivery = Delivery {
            topic,
            receipt_handle: None,
            invisible_ms: None,
            attempts: stored.reconsume_times,
        };
        let message = convert::incoming(&stored, &delivery);
        let nonce = format!("verify-{}", self.2.fetch_add(1, Ordering::Relaxed));
        let command = pb::TelemetryCommand {
            status: None,
            command: Some(pb::telemetry_command::Command::VerifyMessageCommand(
                pb::VerifyMessageCommand {
                    nonce: nonce.clone(),
                    message: Some(message),
                },
            )),
        };
        let outbox = self.lock().get(client_id)?.outbox.clone();
        let (done, answered) = oneshot::channel();
        self.waiting().insert(nonce.clone(), done);
        if outbox.try_send(Ok(command)).is_err() {
            self.waiting().remove(&nonce);
            return None;
        }
        let sessions = self.clone();
        Some(Box::pin(async move {
            let _forget = Forget(sessions, nonce);
            answered
                .await
                .map_err(|_| "the client's stream closed before it answered".to_owned())
        }))
    }
}

/// Forgets a verify-message command when its waiter goes away (answered or timed out).
struct Forget(Sessions, String);

impl Drop for Forget {
    fn drop(&mut self) {
        self.0.waiting().remove(&self.1);
    }
}
