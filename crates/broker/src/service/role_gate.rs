//! In controller mode the role changes while the broker runs: services that write (delay-level
//! delivery, transaction checks) run only while this broker is master, started and stopped as
//! the role changes.

use std::future::Future;

use apogee_runtime::Shutdown;

use crate::ha::Replication;

/// Runs `start(stop)` whenever this broker becomes master and triggers `stop` (waiting for the
/// run to end) whenever it stops being master, until `shutdown`.
pub async fn while_master<F, Fut>(replication: Replication, shutdown: Shutdown, mut start: F)
where
    F: FnMut(Shutdown) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut roles = replication.role_changes();
    loop {
        while replication.is_slave() {
            tokio::select! {
                changed = roles.changed() => if changed.is_err() { return },
                () = shutdown.wait() => return,
            }
        }
        let stop = shutdown.child();
        let task = tokio::spawn(start(stop.clone()));
        while !replication.is_slave() {
            tokio::select! {
                changed = roles.changed() => if changed.is_err() { break },
                () = shutdown.wait() => break,
            }
        }
        stop.trigger();
        let _ = task.await;
        if shutdown.is_triggered() {
            return;
        }
    }
}
