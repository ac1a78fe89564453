//! The master's HA listener: one task pair per slave connection. The reader takes the
//! slave's offset reports (the newest of those buffered) and records them in [`Acks`]; the
//! writer waits for the first report, then streams CommitLog frames from there, and sends a
//! header-only heartbeat when idle for `haSendHeartbeatInterval`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use apogee_protocol::ha::{TransferHeader, take_last_report};
use apogee_runtime::Shutdown;
use apogee_store::ReplicaLog;
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::{Acks, HaSettings};

/// Most slave connections a master keeps at once (RocketMQ has no bound; a broker set rarely
/// has more than a few slaves). Further connections are closed at once.
pub const SLAVES_MAX: usize = 64;

/// Most report bytes buffered before the oldest are dropped (Java: a 1 MiB buffer).
const READ_BUFFER_MAX: usize = 64 * 1024;

/// Serves slaves from a master's CommitLog.
pub struct HaMaster {
    log: Arc<dyn ReplicaLog>,
    acks: Arc<Acks>,
    settings: HaSettings,
}

/// Accepts slave connections until `shutdown`, handing each to `spawn` while `admit` says
/// yes and fewer than [`SLAVES_MAX`] are connected (others are closed at once).
pub(crate) async fn accept_slaves(
    listener: TcpListener,
    shutdown: &Shutdown,
    acks: &Acks,
    admit: impl Fn() -> bool,
    mut spawn: impl FnMut(TcpStream, SocketAddr),
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = shutdown.wait() => return,
        };
        match accepted {
            Ok((_, peer)) if !admit() => {
                tracing::debug!(%peer, "HA connection closed: this broker is not master");
            }
            Ok((_, peer)) if acks.connected() >= SLAVES_MAX => {
                tracing::warn!(%peer, "HA connection refused: {SLAVES_MAX} slaves are connected already");
            }
            Ok((stream, peer)) => spawn(stream, peer),
            Err(e) => {
                tracing::warn!(error = %e, "HA accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Where streaming starts for a slave's first report: where it is, or for an empty slave the
/// start of the master's last file (older history is not copied).
pub(crate) fn start_offset(log: &dyn ReplicaLog, reported: i64) -> i64 {
    if reported > 0 {
        return reported;
    }
    let max = log.max_offset();
    let size = i64::try_from(log.file_size()).unwrap_or(i64::MAX);
    (max - max % size).max(0)
}

impl HaMaster {
    pub fn new(log: Arc<dyn ReplicaLog>, acks: Arc<Acks>, settings: HaSettings) -> Self {
        Self {
            log,
            acks,
            settings,
        }
    }

    /// Accepts slaves on `listener` until `shutdown`.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: Shutdown) {
        let acks = Arc::clone(&self.acks);
        accept_slaves(
            listener,
            &shutdown,
            &acks,
            || true,
            |stream, peer| {
                let this = Arc::clone(&self);
                let shutdown = shutdown.clone();
                tokio::spawn(async move { this.connection(stream, peer, shutdown).await });
            },
        )
        .await;
    }

    async fn connection(self: Arc<Self>, stream: TcpStream, peer: SocketAddr, shutdown: Shutdown) {
        let _ = stream.set_nodelay(true);
        let id = self.acks.join(peer.to_string());
        tracing::info!(%peer, "slave connected");
        let (reader, writer) = stream.into_split();
        let (first, reported) = watch::channel(-1i64);
        let why = tokio::select! {
            r = self.read_reports(reader, id, first) => r,
            r = self.stream_log(writer, id, reported) => r,
            () = shutdown.wait() => "shutting down".to_owned(),
        };
        self.acks.leave(id);
        tracing::info!(%peer, reason = %why, "slave connection closed");
    }

    /// Reads offset reports until the slave closes or stays silent past housekeeping.
    async fn read_reports(
        &self,
        mut reader: OwnedReadHalf,
        id: u64,
        first: watch::Sender<i64>,
    ) -> String {
        let mut buf = BytesMut::with_capacity(1024);
        loop {
            if buf.len() >= READ_BUFFER_MAX {
                buf.clear();
            }
            buf.reserve(1024);
            let read = tokio::time::timeout(self.settings.housekeeping, reader.read_buf(&mut buf));
            match read.await {
                Err(_) => return "no report within haHousekeepingInterval".to_owned(),
                Ok(Ok(0)) => return "closed by the slave".to_owned(),
                Ok(Err(e)) => return format!("read failed: {e}"),
                Ok(Ok(_)) => {}
            }
            if let Some(offset) = take_last_report(&mut buf) {
                if offset < 0 {
                    return format!("negative offset report {offset}");
                }
                self.acks.report(id, offset);
                first.send_if_modified(|v| {
                    let fresh = *v < 0;
                    if fresh {
                        *v = offset;
                    }
                    fresh
                });
            }
        }
    }

    async fn stream_log(
        &self,
        mut writer: OwnedWriteHalf,
        id: u64,
        mut reported: watch::Receiver<i64>,
    ) -> String {
        let Ok(first) = reported.wait_for(|v| *v >= 0).await.map(|v| *v) else {
            return "reader gone".to_owned();
        };
        let mut next = start_offset(self.log.as_ref(), first);
        let mut appended = self.log.appended();
        let mut last_write = Instant::now();
        let (mut window_start, mut window_bytes) = (Instant::now(), 0i64);
        self.acks.sending(id, next, None);
        loop {
            appended.borrow_and_update();
            if let Some(body) = self.log.read_from(next, self.settings.batch_bytes) {
                let header = TransferHeader {
                    offset: next,
                    size: body.len(),
                };
                let encoded = header.encode();
                let mut frame = Buf::chain(&encoded[..], body);
                if let Err(e) = writer.write_all_buf(&mut frame).await {
                    return format!("write failed: {e}");
                }
                let sent = i64::try_from(header.size).unwrap_or(i64::MAX);
                next += sent;
                window_bytes += sent;
                last_write = Instant::now();
                let rate = (window_start.elapsed().as_secs() >= 1).then(|| {
                    let rate = window_bytes;
                    (window_start, window_bytes) = (Instant::now(), 0);
                    rate
                });
                self.acks.sending(id, next, rate);
                continue;
            }
            let idle = self.settings.heartbeat.saturating_sub(last_write.elapsed());
            tokio::select! {
                changed = appended.changed() => {
                    if changed.is_err() {
                        return "store closed".to_owned();
                    }
                    if !self.settings.linger.is_zero() {
                        tokio::time::sleep(self.settings.linger).await;
                    }
                },
                () = tokio::time::sleep(idle) => {
                    let beat = TransferHeader { offset: next, size: 0 }.encode();
                    if let Err(e) = writer.write_all(&beat).await {
                        return format!("heartbeat failed: {e}");
                    }
                    last_write = Instant::now();
                    if window_start.elapsed().as_secs() >= 1 {
                        (window_start, window_bytes) = (Instant::now(), 0);
                        self.acks.sending(id, next, Some(0));
                    }
                }
            }
        }
    }
}
