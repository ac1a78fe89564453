//! The master's side: accepts slaves while this broker is master, answers each handshake with
//! the epoch history, then streams frames that never cross an epoch boundary.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use apogee_protocol::ha_autoswitch::{
    MasterHandshake, SLAVE_HANDSHAKE_REST, SLAVE_REPORT_REST, STATE_HANDSHAKE, STATE_TRANSFER,
    SlaveHandshake, TransferHeader,
};
use apogee_runtime::Shutdown;
use apogee_store::ReplicaLog;
use bytes::Buf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::{Acks, HaSettings, SharedEpochs};

/// Serves slaves from this broker's CommitLog while `serving` says it is master.
pub struct AsMaster {
    log: Arc<dyn ReplicaLog>,
    acks: Arc<Acks>,
    epochs: Arc<SharedEpochs>,
    settings: HaSettings,
    serving: watch::Receiver<bool>,
}

impl AsMaster {
    pub fn new(
        log: Arc<dyn ReplicaLog>,
        acks: Arc<Acks>,
        epochs: Arc<SharedEpochs>,
        settings: HaSettings,
        serving: watch::Receiver<bool>,
    ) -> Self {
        Self {
            log,
            acks,
            epochs,
            settings,
            serving,
        }
    }

    /// Accepts slaves on `listener` until `shutdown`; connections made while this broker is
    /// not master are closed at once.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: Shutdown) {
        let acks = Arc::clone(&self.acks);
        let serving = self.serving.clone();
        crate::master::accept_slaves(
            listener,
            &shutdown,
            &acks,
            || *serving.borrow(),
            |stream, peer| {
                let this = Arc::clone(&self);
                let shutdown = shutdown.clone();
                tokio::spawn(async move { this.connection(stream, peer, shutdown).await });
            },
        )
        .await;
    }

    async fn handshake(&self, reader: &mut OwnedReadHalf) -> Result<SlaveHandshake, String> {
        let mut state = [0u8; 4];
        let mut rest = [0u8; SLAVE_HANDSHAKE_REST];
        let read = async {
            reader.read_exact(&mut state).await?;
            reader.read_exact(&mut rest).await
        };
        match tokio::time::timeout(self.settings.housekeeping, read).await {
            Err(_) => return Err("no handshake within haHousekeepingInterval".into()),
            Ok(Err(e)) => return Err(format!("handshake read failed: {e}")),
            Ok(Ok(_)) => {}
        }
        if i32::from_be_bytes(state) != STATE_HANDSHAKE {
            return Err("the first message is not a handshake (a classic HA slave?)".into());
        }
        Ok(SlaveHandshake::decode_rest(&rest))
    }

    async fn connection(self: Arc<Self>, stream: TcpStream, peer: SocketAddr, shutdown: Shutdown) {
        let _ = stream.set_nodelay(true);
        let (mut reader, mut writer) = stream.into_split();
        let hello = match self.handshake(&mut reader).await {
            Ok(h) => h,
            Err(why) => {
                tracing::warn!(%peer, reason = %why, "HA connection refused");
                return;
            }
        };
        let epochs = self.epochs.snapshot();
        let answer = MasterHandshake {
            max_offset: self.log.max_offset(),
            last_epoch: epochs.last_epoch(),
            entries: epochs.entries().to_vec(),
        };
        if let Err(e) = writer.write_all(&answer.encode()).await {
            tracing::warn!(%peer, error = %e, "HA handshake answer failed");
            return;
        }
        let id = self
            .acks
            .join_broker(peer.to_string(), Some(hello.broker_id));
        tracing::info!(%peer, broker_id = hello.broker_id, "slave connected (AutoSwitch HA)");
        let (first, reported) = watch::channel(-1i64);
        let mut serving = self.serving.clone();
        let why = tokio::select! {
            r = self.read_reports(reader, id, first) => r,
            r = self.stream_log(writer, id, reported) => r,
            _ = serving.wait_for(|s| !*s) => "this broker is no longer master".to_owned(),
            () = shutdown.wait() => "shutting down".to_owned(),
        };
        self.acks.leave(id);
        tracing::info!(%peer, broker_id = hello.broker_id, reason = %why, "slave connection closed");
    }

    async fn read_reports(
        &self,
        mut reader: OwnedReadHalf,
        id: u64,
        first: watch::Sender<i64>,
    ) -> String {
        loop {
            let mut state = [0u8; 4];
            let mut offset = [0u8; SLAVE_REPORT_REST];
            let read = async {
                reader.read_exact(&mut state).await?;
                if i32::from_be_bytes(state) == STATE_TRANSFER {
                    reader.read_exact(&mut offset).await?;
                }
                Ok::<_, std::io::Error>(())
            };
            match tokio::time::timeout(self.settings.housekeeping, read).await {
                Err(_) => return "no report within haHousekeepingInterval".to_owned(),
                Ok(Err(e)) => return format!("read failed: {e}"),
                Ok(Ok(())) => {}
            }
            if i32::from_be_bytes(state) != STATE_TRANSFER {
                return format!(
                    "unexpected state {} from the slave",
                    i32::from_be_bytes(state)
                );
            }
            let offset = i64::from_be_bytes(offset);
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

    /// The next frame from `next`: never across an epoch boundary.
    fn frame_at(&self, next: i64) -> (TransferHeader, Option<bytes::Bytes>) {
        let (epoch, epoch_start, bound) =
            self.epochs.snapshot().span_at(next).unwrap_or((0, 0, None));
        let room = bound.map_or(self.settings.batch_bytes, |b| {
            usize::try_from(b - next)
                .unwrap_or(0)
                .min(self.settings.batch_bytes)
        });
        let body = (room > 0).then(|| self.log.read_from(next, room)).flatten();
        let end = self.log.max_offset();
        let header = TransferHeader {
            size: body.as_ref().map_or(0, bytes::Bytes::len),
            offset: next,
            epoch,
            epoch_start,
            confirm_offset: self.acks.quorum_ack().min(end),
        };
        (header, body)
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
        let mut next = crate::master::start_offset(self.log.as_ref(), first);
        let mut appended = self.log.appended();
        let mut last_write = Instant::now();
        self.acks.sending(id, next, None);
        loop {
            appended.borrow_and_update();
            if let (header, Some(body)) = self.frame_at(next) {
                let encoded = header.encode();
                let mut frame = Buf::chain(&encoded[..], body);
                if let Err(e) = writer.write_all_buf(&mut frame).await {
                    return format!("write failed: {e}");
                }
                next += i64::try_from(header.size).unwrap_or(i64::MAX);
                last_write = Instant::now();
                self.acks.sending(id, next, None);
                continue;
            }
            let idle = self.settings.heartbeat.saturating_sub(last_write.elapsed());
            tokio::select! {
                changed = appended.changed() => if changed.is_err() {
                    return "store closed".to_owned();
                },
                () = tokio::time::sleep(idle) => {
                    let (beat, _) = self.frame_at(next);
                    let beat = TransferHeader { size: 0, ..beat };
                    if let Err(e) = writer.write_all(&beat.encode()).await {
                        return format!("heartbeat failed: {e}");
                    }
                    last_write = Instant::now();
                }
            }
        }
    }
}
