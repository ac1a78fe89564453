//! The reading side of a [`Connection`]: one task that decodes frames, completes the callers
//! waiting for responses, and serves requests.
//!
//! Requests are served inside this task, not each in a task of its own: their futures live in
//! a `FuturesUnordered` the loop polls between reads. A request whose processor answers
//! without waiting (most sends, offsets, heartbeats) is answered in the same pass that read
//! it, with no task spawned, scheduled or stolen by another worker (a spawn per request woke
//! an idle worker for every frame of a pipelined batch). One connection's requests therefore
//! share a core; different connections still run on every worker, and processors hand disk
//! reads to blocking threads.

use std::cell::RefCell;
use std::future::Future;
use std::future::poll_fn;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;

use apogee_protocol::RemotingCommand;
use apogee_protocol::frame::decode_frame;
use bytes::BytesMut;
use futures::FutureExt;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::{Connection, Dispatcher, TransportConfig};

/// A request with a body this large (a batch of messages) is served on a task of its own, so
/// that another worker can take it: its work outweighs the spawn, and one connection's batches
/// (every producer of a client process shares it) then use more than one core.
const OWN_TASK_BODY_BYTES: usize = 8 * 1024;

tokio::task_local! {
    /// The request being served: its in-flight slot (see [`release_in_flight_slot`]) and its
    /// place in the pass that read it (see [`more_requests_follow`]).
    static SERVING: Serving;
}

struct Serving {
    slot: RefCell<Option<OwnedSemaphorePermit>>,
    /// This request's number on its connection (0: served on a task of its own).
    seq: u64,
    /// The number of the last request of the pass whose first serving round is running (0
    /// outside that round, and when the dispatcher has no pass-end hook).
    pass_last: Arc<AtomicU64>,
}

/// Gives back the per-connection in-flight slot held by the request being served. A handler
/// about to park for a long time (a long-polling pull) calls it, so the requests the same
/// client sends meanwhile (heartbeats, offset commits, other pulls) are not held up behind
/// it. The handler's own limits then bound how many may park. Does nothing outside a request
/// or when already released.
pub fn release_in_flight_slot() {
    let _ = SERVING.try_with(|serving| serving.slot.borrow_mut().take());
}

/// Whether requests read in the same pass as the one being served are still to be served
/// after it, with the dispatcher's pass-end hook run once they have been (see
/// [`Dispatcher::on_pass_end`]): a handler may leave work for that hook to do for all of them
/// at once. False outside a request, and for a request served on a task of its own.
pub fn more_requests_follow() -> bool {
    SERVING
        .try_with(|serving| {
            serving.seq != 0 && serving.seq < serving.pass_last.load(Ordering::Acquire)
        })
        .unwrap_or(false)
}

/// Reads `reader` until the connection closes, fails, idles out or sends a malformed frame;
/// then closes it, fails its pending calls, and leaves the requests still being served to
/// finish on their own task.
pub(crate) async fn read_loop<R: AsyncRead + Unpin>(
    conn: Connection,
    mut reader: R,
    dispatcher: Arc<Dispatcher>,
    config: TransportConfig,
) {
    let in_flight = Arc::new(Semaphore::new(config.in_flight_requests_max.max(1)));
    let mut serving = FuturesUnordered::new();
    let pass_last = Arc::new(AtomicU64::new(0));
    let mut seq = 0u64;
    // A request read while every in-flight slot was taken: it waits for one, and reading stops.
    let mut held: Option<RemotingCommand> = None;
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut last_read = Instant::now();
    let idle = tokio::time::sleep_until(last_read + config.idle_timeout);
    tokio::pin!(idle);
    'outer: loop {
        let pass_first = seq + 1;
        while held.is_none() {
            match decode_frame(&mut buf, &config.limits) {
                Ok(Some(cmd)) if cmd.is_response() => conn.complete(cmd),
                Ok(Some(cmd)) => match Arc::clone(&in_flight).try_acquire_owned() {
                    Ok(permit) if cmd.body.len() >= OWN_TASK_BODY_BYTES => {
                        tokio::spawn(serve(&dispatcher, &conn, cmd, (permit, 0, &pass_last)));
                    }
                    Ok(permit) => {
                        seq += 1;
                        serving.push(serve(&dispatcher, &conn, cmd, (permit, seq, &pass_last)));
                    }
                    Err(_) => held = Some(cmd),
                },
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(peer = %conn.peer(), error = %e, "closing connection: malformed frame");
                    break 'outer;
                }
            }
        }
        if seq >= pass_first && dispatcher.has_pass_end() {
            end_pass(&mut serving, (&pass_last, seq), &dispatcher).await;
        }
        tokio::select! {
            biased;
            () = conn.closed() => break,
            Some(()) = serving.next(), if !serving.is_empty() => {}
            permit = Arc::clone(&in_flight).acquire_owned(), if held.is_some() => {
                let (Ok(permit), Some(cmd)) = (permit, held.take()) else { break };
                // Served alone (not part of a pass); the idle clock stood still meanwhile.
                serving.push(serve(&dispatcher, &conn, cmd, (permit, 0, &pass_last)));
                last_read = Instant::now();
            }
            read = reader.read_buf(&mut buf), if held.is_none() => match read {
                Ok(0) => break,
                Ok(_) => last_read = Instant::now(),
                Err(e) => {
                    tracing::debug!(peer = %conn.peer(), error = %e, "read failed");
                    break;
                }
            },
            () = &mut idle, if held.is_none() => {
                let deadline = last_read + config.idle_timeout;
                if Instant::now() >= deadline {
                    tracing::info!(peer = %conn.peer(), idle = ?config.idle_timeout, "closing idle connection");
                    break;
                }
                idle.as_mut().reset(deadline);
            }
        }
    }
    conn.close();
    conn.pending().clear();
    dispatcher.connection_closed(&conn);
    if !serving.is_empty() {
        // As when each request had its own task: what was accepted runs to its end.
        tokio::spawn(async move { while serving.next().await.is_some() {} });
    }
}

/// Serves the requests a pass read (up to `last`) as far as they go without waiting, then
/// runs the pass-end hook for the work they left to it (sends written together).
async fn end_pass<F: Future<Output = ()>>(
    serving: &mut FuturesUnordered<F>,
    (pass_last, last): (&AtomicU64, u64),
    dispatcher: &Dispatcher,
) {
    pass_last.store(last, Ordering::Release);
    poll_fn(|cx| {
        while let Poll::Ready(Some(())) = serving.poll_next_unpin(cx) {}
        Poll::Ready(())
    })
    .await;
    // A request of this pass polled again later is served as if alone.
    pass_last.store(0, Ordering::Release);
    dispatcher.pass_end();
}

/// Serves one request in its in-flight slot and queues its answer (none for a oneway).
fn serve(
    dispatcher: &Arc<Dispatcher>,
    conn: &Connection,
    cmd: RemotingCommand,
    (permit, seq, pass_last): (OwnedSemaphorePermit, u64, &Arc<AtomicU64>),
) -> impl Future<Output = ()> + Send + 'static {
    let (dispatcher, conn) = (Arc::clone(dispatcher), conn.clone());
    let serving = Serving {
        slot: RefCell::new(Some(permit)),
        seq,
        pass_last: Arc::clone(pass_last),
    };
    let work = SERVING.scope(serving, async move {
        let oneway = cmd.is_oneway();
        let response = dispatcher.dispatch(conn.clone(), cmd).await;
        if !oneway {
            conn.queue(response).await;
        }
    });
    // The dispatcher turns a processor's panic into SYSTEM_ERROR; this keeps one in a hook
    // (guard, observer) from taking the connection's other requests with it.
    AssertUnwindSafe(work).catch_unwind().map(|outcome| {
        if outcome.is_err() {
            tracing::error!("request hook panicked; the request is not answered");
        }
    })
}
