//! One TCP connection (plaintext or TLS), used the same way by server and client: a reader task
//! ([`crate::read`]) that decodes frames, completes waiting callers and serves requests, and a
//! writer task ([`crate::write`]) that drains a bounded queue, batching frames into as few
//! writes as it can.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apogee_protocol::RemotingCommand;
use apogee_runtime::Shutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use crate::dispatch::OutboundHook;
use crate::{Dispatcher, RemotingError, TransportConfig};

/// Process-unique id of a connection.
pub type ConnectionId = u64;

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

type Pending = Mutex<HashMap<i32, oneshot::Sender<Result<RemotingCommand, RemotingError>>>>;

struct Inner {
    id: ConnectionId,
    peer: SocketAddr,
    outbound: mpsc::Sender<RemotingCommand>,
    pending: Pending,
    next_opaque: AtomicI32,
    closed: Shutdown,
    sign: Option<OutboundHook>,
}

/// A cloneable handle to a live connection: send requests over it, or wait for it to close.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.inner.id)
            .field("peer", &self.inner.peer)
            .finish()
    }
}

impl Connection {
    pub fn id(&self) -> ConnectionId {
        self.inner.id
    }

    pub fn peer(&self) -> SocketAddr {
        self.inner.peer
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.is_triggered()
    }

    /// Completes once the connection is closed, by either side.
    pub async fn closed(&self) {
        self.inner.closed.wait().await;
    }

    /// Closes the connection; pending calls fail with `ConnectionClosed`.
    pub fn close(&self) {
        self.inner.closed.trigger();
    }

    /// Sends a request and waits for its response (the whole call bounded by `timeout`).
    pub async fn invoke(
        &self,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        if let Some(sign) = &self.inner.sign {
            sign(&mut request);
        }
        let opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.opaque = opaque;
        request.flag &= !0b11;
        let (tx, rx) = oneshot::channel();
        self.pending().insert(opaque, tx);
        let outcome = tokio::time::timeout(timeout, async {
            self.inner
                .outbound
                .send(request)
                .await
                .map_err(|_| self.closed_error())?;
            rx.await.map_err(|_| self.closed_error())?
        })
        .await;
        match outcome {
            Ok(result) => result,
            Err(_) => {
                self.pending().remove(&opaque);
                Err(RemotingError::Timeout {
                    addr: self.inner.peer.to_string(),
                    timeout,
                })
            }
        }
    }

    /// Sends a request that gets no response.
    pub async fn send_oneway(
        &self,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<(), RemotingError> {
        if let Some(sign) = &self.inner.sign {
            sign(&mut request);
        }
        request.opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        request = request.into_oneway();
        match tokio::time::timeout(timeout, self.inner.outbound.send(request)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(self.closed_error()),
            Err(_) => Err(RemotingError::Timeout {
                addr: self.inner.peer.to_string(),
                timeout,
            }),
        }
    }

    fn closed_error(&self) -> RemotingError {
        RemotingError::ConnectionClosed {
            addr: self.inner.peer.to_string(),
        }
    }

    pub(crate) fn pending(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        HashMap<i32, oneshot::Sender<Result<RemotingCommand, RemotingError>>>,
    > {
        self.inner
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a frame for the writer (waiting while its queue is full); dropped if closed.
    pub(crate) async fn queue(&self, frame: RemotingCommand) {
        let _ = self.inner.outbound.send(frame).await;
    }

    /// Hands a response to the caller waiting for it.
    pub(crate) fn complete(&self, response: RemotingCommand) {
        let waiter = self.pending().remove(&response.opaque);
        match waiter {
            Some(tx) => {
                let _ = tx.send(Ok(response));
            }
            None => {
                tracing::debug!(peer = %self.inner.peer, opaque = response.opaque, "response for no pending request (late or unknown)")
            }
        }
    }
}

/// Starts the reader and writer tasks for a plaintext `stream`; `parent` closes the
/// connection when fired.
pub(crate) fn spawn(
    stream: TcpStream,
    peer: SocketAddr,
    dispatcher: Arc<Dispatcher>,
    config: TransportConfig,
    parent: &Shutdown,
) -> Connection {
    let _ = stream.set_nodelay(true);
    let (read_half, write_half) = stream.into_split();
    spawn_halves((read_half, write_half), peer, dispatcher, config, parent)
}

/// [`spawn`] for any stream (a TLS session), split into halves that share it.
pub(crate) fn spawn_stream<S>(
    stream: S,
    peer: SocketAddr,
    dispatcher: Arc<Dispatcher>,
    config: TransportConfig,
    parent: &Shutdown,
) -> Connection
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    spawn_halves(tokio::io::split(stream), peer, dispatcher, config, parent)
}

fn spawn_halves<R, W>(
    (read_half, write_half): (R, W),
    peer: SocketAddr,
    dispatcher: Arc<Dispatcher>,
    config: TransportConfig,
    parent: &Shutdown,
) -> Connection
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let (tx, rx) = mpsc::channel(config.write_queue_frames_max.max(1));
    let connection = Connection {
        inner: Arc::new(Inner {
            id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
            peer,
            outbound: tx,
            pending: Mutex::new(HashMap::new()),
            next_opaque: AtomicI32::new(0),
            closed: parent.child(),
            sign: dispatcher.outbound_hook(),
        }),
    };
    tokio::spawn(crate::write::write_loop(
        connection.clone(),
        write_half,
        rx,
        config,
    ));
    tokio::spawn(crate::read::read_loop(
        connection.clone(),
        read_half,
        dispatcher,
        config,
    ));
    connection
}
