//! The slave's side: connects to the master named by the controller, names itself, reads the
//! master's epoch history, cuts its own log back to the last point both share, then appends
//! frames at the master's offsets, recording each new epoch as it arrives.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use apogee_protocol::ha_autoswitch::{
    MASTER_HANDSHAKE_BYTES, MasterHandshake, STATE_HANDSHAKE, STATE_TRANSFER, SlaveHandshake,
    TRANSFER_HEADER_BYTES, TransferHeader, encode_slave_report,
};
use apogee_runtime::Shutdown;
use apogee_store::ReplicaLog;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

use crate::{HaSettings, SharedEpochs, SlaveStatus, common_point};

/// Copies the master's CommitLog while `master` names one.
pub struct AsSlave {
    log: Arc<dyn ReplicaLog>,
    epochs: Arc<SharedEpochs>,
    master: watch::Receiver<Option<String>>,
    broker_id: AtomicI64,
    settings: HaSettings,
    status: Mutex<SlaveStatus>,
    /// The master's confirm offset from the last frame.
    confirm: AtomicI64,
}

impl AsSlave {
    pub fn new(
        log: Arc<dyn ReplicaLog>,
        epochs: Arc<SharedEpochs>,
        master: watch::Receiver<Option<String>>,
        settings: HaSettings,
    ) -> Self {
        Self {
            log,
            epochs,
            master,
            broker_id: AtomicI64::new(-1),
            settings,
            status: Mutex::new(SlaveStatus::default()),
            confirm: AtomicI64::new(0),
        }
    }

    /// The controller-assigned id this slave names in its handshake.
    pub fn set_broker_id(&self, id: i64) {
        self.broker_id.store(id, Ordering::Release);
    }

    fn status_mut(&self) -> std::sync::MutexGuard<'_, SlaveStatus> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn status(&self) -> SlaveStatus {
        self.status_mut().clone()
    }

    /// The master's confirm offset as last heard.
    pub fn confirm_offset(&self) -> i64 {
        self.confirm.load(Ordering::Acquire)
    }

    /// Connects, copies, reconnects while a master is named, until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let this = Arc::clone(&self);
        crate::slave::follow(
            &self.master,
            &self.status,
            self.settings.reconnect,
            &shutdown,
            |addr: String| {
                let this = Arc::clone(&this);
                async move { this.session(&addr).await }
            },
        )
        .await;
    }

    /// Reads the master's handshake: its end and epoch history.
    async fn read_handshake(&self, reader: &mut OwnedReadHalf) -> Result<MasterHandshake, String> {
        let mut head = [0u8; MASTER_HANDSHAKE_BYTES];
        let read = tokio::time::timeout(self.settings.housekeeping, reader.read_exact(&mut head));
        read.await
            .map_err(|_| "no handshake from the master".to_owned())?
            .map_err(|e| format!("handshake read failed: {e}"))?;
        let (state, size, max_offset, last_epoch) =
            MasterHandshake::decode_header(&head).map_err(|e| e.to_string())?;
        if state != STATE_HANDSHAKE {
            return Err(format!(
                "the master answered state {state}, not a handshake"
            ));
        }
        let mut body = vec![0u8; size];
        reader
            .read_exact(&mut body)
            .await
            .map_err(|e| format!("handshake read failed: {e}"))?;
        Ok(MasterHandshake {
            max_offset,
            last_epoch,
            entries: MasterHandshake::decode_entries(&body),
        })
    }

    /// Cuts this log back to where it and the master's agree.
    fn align(&self, master: &MasterHandshake) -> Result<(), String> {
        let local = self.epochs.snapshot();
        let end = self.log.max_offset();
        let Some(point) = common_point(&local, end, &master.entries, master.max_offset) else {
            return Err(format!(
                "this log (epochs {:?}) shares no epoch with the master's ({:?}); it cannot follow it without an operator clearing the store",
                local.entries(),
                master.entries
            ));
        };
        if point < end {
            let cut = self.log.truncate_tail(point).map_err(|e| e.to_string())?;
            tracing::warn!(
                from = cut,
                to = end,
                "cut the log's tail the new master does not have"
            );
        }
        self.epochs
            .update(|c| c.cut(point))
            .map_err(|e| format!("saving the epoch file: {e}"))
    }

    async fn session(&self, addr: &str) -> String {
        let connect = tokio::time::timeout(self.settings.heartbeat, TcpStream::connect(addr));
        let stream = match connect.await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return format!("connect failed: {e}"),
            Err(_) => return "connect timed out".to_owned(),
        };
        let _ = stream.set_nodelay(true);
        let (mut reader, mut writer) = stream.into_split();
        let hello = SlaveHandshake {
            sync_from_last_file: false,
            async_learner: false,
            broker_id: self.broker_id.load(Ordering::Acquire),
        };
        if let Err(e) = writer.write_all(&hello.encode()).await {
            return format!("handshake failed: {e}");
        }
        let master = match self.read_handshake(&mut reader).await {
            Ok(m) => m,
            Err(why) => return why,
        };
        if let Err(why) = self.align(&master) {
            return why;
        }
        self.status_mut().connected = true;
        tracing::info!(master = %addr, offset = self.log.max_offset(), epoch = master.last_epoch, "following the master (AutoSwitch HA)");
        let (progress, reports) = watch::channel(self.log.max_offset());
        tokio::select! {
            r = self.apply_frames(reader, progress) => r,
            r = self.report(writer, reports) => r,
        }
    }

    async fn report(&self, writer: OwnedWriteHalf, progress: watch::Receiver<i64>) -> String {
        crate::slave::report_loop(
            writer,
            progress,
            self.settings.heartbeat,
            &self.status,
            |end| encode_slave_report(end).to_vec(),
        )
        .await
    }

    async fn apply_frames(
        &self,
        mut reader: OwnedReadHalf,
        progress: watch::Sender<i64>,
    ) -> String {
        let mut body = Vec::new();
        loop {
            let mut head = [0u8; TRANSFER_HEADER_BYTES];
            let read =
                tokio::time::timeout(self.settings.housekeeping, reader.read_exact(&mut head));
            match read.await {
                Err(_) => {
                    return "nothing from the master within haHousekeepingInterval".to_owned();
                }
                Ok(Err(e)) => return format!("read failed: {e}"),
                Ok(Ok(_)) => {}
            }
            let (state, header) = match TransferHeader::decode(&head) {
                Ok(h) => h,
                Err(e) => return e.to_string(),
            };
            if state != STATE_TRANSFER {
                return format!("the master sent state {state} during transfer");
            }
            let end = self.log.max_offset();
            if end != 0 && header.offset != end {
                return format!(
                    "the master sent offset {} but this log ends at {end}",
                    header.offset
                );
            }
            body.resize(header.size, 0);
            let read =
                tokio::time::timeout(self.settings.housekeeping, reader.read_exact(&mut body));
            match read.await {
                Err(_) => return "a frame stalled past haHousekeepingInterval".to_owned(),
                Ok(Err(e)) => return format!("read failed: {e}"),
                Ok(Ok(_)) => {}
            }
            self.status_mut().last_read_ms = crate::slave::now_ms();
            self.confirm.store(header.confirm_offset, Ordering::Release);
            // Consumers of this slave see only what the master's in-sync replicas all have.
            self.log.set_dispatch_limit(header.confirm_offset);
            // A new epoch is recorded from any frame, heartbeats too: a slave that copied
            // nothing under it still shares the history (and a common point) with its master.
            if header.epoch > self.epochs.last_epoch() && header.epoch_start <= header.offset {
                let recorded = self
                    .epochs
                    .update(|c| c.begin(header.epoch, header.epoch_start));
                if let Err(e) = recorded {
                    return format!("saving the epoch file: {e}");
                }
            }
            if header.size == 0 {
                continue;
            }
            match self.log.append_at(header.offset, &body) {
                Ok(new_end) => {
                    self.status_mut().received += header.size as u64;
                    progress.send_replace(new_end);
                }
                Err(e) => return format!("append failed: {e}"),
            }
        }
    }
}
