//! Delivering alert events: a JSON POST to the rule's `http://` webhook, tried three times
//! (after 0.5 s and 2 s) in the background; the event is marked delivered on a 2xx answer.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::rules::{self, Event};
use crate::history::HistoryStore;

const BACKOFF: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(2)];
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Webhook {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for Webhook {
    fn default() -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }
}

impl Webhook {
    /// POSTs `event` to `url` in the background.
    pub fn deliver(&self, url: String, event: Event, store: Arc<HistoryStore>) {
        let client = self.client.clone();
        tokio::spawn(async move {
            let body = match serde_json::to_vec(&event) {
                Ok(b) => Bytes::from(b),
                Err(_) => return,
            };
            for attempt in 0..=BACKOFF.len() {
                if attempt > 0 {
                    tokio::time::sleep(BACKOFF[attempt - 1]).await;
                }
                let request = hyper::Request::post(&url)
                    .header(hyper::header::CONTENT_TYPE, "application/json")
                    .body(Full::new(body.clone()));
                let Ok(request) = request else {
                    tracing::warn!(%url, "alert webhook URL is not usable");
                    return;
                };
                match tokio::time::timeout(ATTEMPT_TIMEOUT, client.request(request)).await {
                    Ok(Ok(answer)) if answer.status().is_success() => {
                        let id = event.id;
                        if let Err(e) = store.run(move |c| rules::mark_delivered(c, id)).await {
                            tracing::warn!(error = %e, "alert delivery not recorded");
                        }
                        return;
                    }
                    Ok(Ok(answer)) => {
                        tracing::warn!(%url, status = %answer.status(), attempt, "alert webhook refused")
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(%url, error = %e, attempt, "alert webhook unreachable")
                    }
                    Err(_) => tracing::warn!(%url, attempt, "alert webhook timed out"),
                }
            }
        });
    }
}
