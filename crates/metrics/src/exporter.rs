//! The `/metrics` listener: every GET encodes the registry (OpenMetrics text, which Prometheus
//! scrapes natively). Anything else is 404. The listener stops with the server's shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use apogee_runtime::Shutdown;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::registry::Registry;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A running exporter.
pub struct Exporter {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Exporter {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits until the listener has stopped (after the shutdown it was started with).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Binds `bind` and serves `registry` on `/metrics` until `shutdown` fires.
pub async fn serve(
    bind: &str,
    registry: Arc<Registry>,
    shutdown: &Shutdown,
) -> std::io::Result<Exporter> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(registry);
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.wait().await })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "metrics exporter stopped");
        }
    });
    tracing::info!(%addr, "Prometheus exporter listening (GET /metrics)");
    Ok(Exporter { addr, task })
}

async fn scrape(State(registry): State<Arc<Registry>>) -> impl IntoResponse {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &registry) {
        Ok(()) => (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], text),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "metrics could not be encoded\n".to_owned(),
        ),
    }
}
