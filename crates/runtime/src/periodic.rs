//! Background work that runs every so often on a blocking thread until shutdown (re-reading a
//! file, for example), so it never stalls a network worker.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::Shutdown;

/// Runs `work` every `period` on a blocking thread until `shutdown` fires.
pub fn spawn_periodic_blocking(
    period: Duration,
    shutdown: &Shutdown,
    work: impl Fn() + Send + Sync + 'static,
) -> JoinHandle<()> {
    let (work, shutdown) = (Arc::new(work), shutdown.clone());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.wait() => return,
                () = tokio::time::sleep(period) => {}
            }
            let work = Arc::clone(&work);
            let _ = tokio::task::spawn_blocking(move || work()).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn given_a_period_should_run_repeatedly_and_stop_at_shutdown() {
        let runs = Arc::new(AtomicUsize::new(0));
        let shutdown = Shutdown::new();
        let counter = Arc::clone(&runs);
        let task = spawn_periodic_blocking(Duration::from_millis(20), &shutdown, move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        for _ in 0..100 {
            if runs.load(Ordering::SeqCst) >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(runs.load(Ordering::SeqCst) >= 2);
        shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("stops at shutdown")
            .unwrap();
    }
}
