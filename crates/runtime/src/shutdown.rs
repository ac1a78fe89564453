//! A cloneable shutdown signal. `run(config, shutdown)` functions stop accepting work when it
//! fires and return once their tasks have wound down.

use tokio_util::sync::CancellationToken;

/// Fires once; every clone observes it. Child tokens fire with their parent.
#[derive(Debug, Clone, Default)]
pub struct Shutdown(CancellationToken);

impl Shutdown {
    pub fn new() -> Self {
        Self(CancellationToken::new())
    }

    /// Asks everything holding this token (or a child of it) to stop.
    pub fn trigger(&self) {
        self.0.cancel();
    }

    pub fn is_triggered(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Completes when the signal fires.
    pub async fn wait(&self) {
        self.0.cancelled().await;
    }

    /// A token that fires with this one, or on its own (for one connection or task).
    pub fn child(&self) -> Shutdown {
        Shutdown(self.0.child_token())
    }

    /// Fires this token on SIGINT or SIGTERM. Spawns a task; call from inside a runtime.
    pub fn trigger_on_signals(&self) {
        let token = self.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown signal received");
            token.trigger();
        });
    }
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn given_parent_triggered_when_child_waits_should_complete() {
        let parent = Shutdown::new();
        let child = parent.child();
        parent.trigger();
        tokio::time::timeout(std::time::Duration::from_secs(1), child.wait())
            .await
            .unwrap();
        assert!(child.is_triggered());
    }

    #[test]
    fn given_child_triggered_should_not_fire_parent() {
        let parent = Shutdown::new();
        parent.child().trigger();
        assert!(!parent.is_triggered());
    }
}
