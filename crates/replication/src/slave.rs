//! The slave's HA client: connects to the master's HA address (from configuration or the
//! NameServer's registration reply), reports its CommitLog end, appends every frame at the
//! offset the master gives, and reports again. A frame that does not continue the log (the
//! master's log moved, or this one was cut) drops the connection; the next one starts from
//! this log's end again.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use apogee_protocol::body::ha::HaClientRuntimeInfo;
use apogee_protocol::ha::{TRANSFER_HEADER_BYTES, TransferHeader, encode_report};
use apogee_runtime::Shutdown;
use apogee_store::ReplicaLog;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

use crate::HaSettings;

/// What the slave's side of replication looks like now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaveStatus {
    pub master_addr: Option<String>,
    pub connected: bool,
    pub last_read_ms: i64,
    pub last_report_ms: i64,
    pub bytes_per_second: i64,
    /// Bytes received since start.
    pub received: u64,
}

/// Copies a master's CommitLog into this broker's.
pub struct HaSlave {
    log: Arc<dyn ReplicaLog>,
    master: watch::Receiver<Option<String>>,
    settings: HaSettings,
    status: Mutex<SlaveStatus>,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Follows whichever master `master` names: one `session` per connection (it returns why it
/// ended), a pause of `reconnect` between them, a new session when the name changes, until
/// `shutdown` (shared by the classic and the AutoSwitch slave).
pub(crate) async fn follow<F, Fut>(
    master: &watch::Receiver<Option<String>>,
    status: &Mutex<SlaveStatus>,
    reconnect: std::time::Duration,
    shutdown: &Shutdown,
    mut session: F,
) where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let mut master = master.clone();
    let set_status = |f: &dyn Fn(&mut SlaveStatus)| {
        f(&mut status.lock().unwrap_or_else(PoisonError::into_inner))
    };
    loop {
        let addr = tokio::select! {
            a = master.wait_for(Option::is_some) => match a {
                Ok(a) => a.clone().unwrap_or_default(),
                Err(_) => return,
            },
            () = shutdown.wait() => return,
        };
        set_status(&|s| s.master_addr = Some(addr.clone()));
        let why = tokio::select! {
            r = session(addr.clone()) => r,
            _ = master.changed() => "the master changed".to_owned(),
            () = shutdown.wait() => return,
        };
        set_status(&|s| s.connected = false);
        tracing::warn!(master = %addr, reason = %why, "HA connection to the master ended; reconnecting");
        tokio::select! {
            () = tokio::time::sleep(reconnect) => {}
            () = shutdown.wait() => return,
        }
    }
}

/// A slave's reports: its log's end at once, whenever it grows, and every `heartbeat`, each
/// encoded by `encode` (the classic and AutoSwitch protocols differ only there).
pub(crate) async fn report_loop(
    mut writer: OwnedWriteHalf,
    mut progress: watch::Receiver<i64>,
    heartbeat: std::time::Duration,
    status: &Mutex<SlaveStatus>,
    encode: impl Fn(i64) -> Vec<u8>,
) -> String {
    loop {
        let end = *progress.borrow_and_update();
        if let Err(e) = writer.write_all(&encode(end)).await {
            return format!("report failed: {e}");
        }
        status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_report_ms = now_ms();
        tokio::select! {
            changed = progress.changed() => if changed.is_err() {
                return "reader gone".to_owned();
            },
            () = tokio::time::sleep(heartbeat) => {}
        }
    }
}

impl HaSlave {
    /// `master` carries the master's HA address; a change reconnects.
    pub fn new(
        log: Arc<dyn ReplicaLog>,
        master: watch::Receiver<Option<String>>,
        settings: HaSettings,
    ) -> Self {
        Self {
            log,
            master,
            settings,
            status: Mutex::new(SlaveStatus::default()),
        }
    }

    fn status_mut(&self) -> std::sync::MutexGuard<'_, SlaveStatus> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn status(&self) -> SlaveStatus {
        self.status_mut().clone()
    }

    /// GET_BROKER_HA_STATUS's slave part.
    pub fn runtime_info(&self) -> HaClientRuntimeInfo {
        let s = self.status();
        HaClientRuntimeInfo {
            master_addr: s.master_addr.unwrap_or_default(),
            transferred_byte_in_second: s.bytes_per_second,
            max_offset: self.log.max_offset(),
            last_read_timestamp: s.last_read_ms,
            last_write_timestamp: s.last_report_ms,
            master_flush_offset: 0,
        }
    }

    /// Connects, copies, reconnects, until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let this = Arc::clone(&self);
        follow(
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

    async fn session(&self, addr: &str) -> String {
        let connect = tokio::time::timeout(self.settings.heartbeat, TcpStream::connect(addr));
        let stream = match connect.await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return format!("connect failed: {e}"),
            Err(_) => return "connect timed out".to_owned(),
        };
        let _ = stream.set_nodelay(true);
        self.status_mut().connected = true;
        tracing::info!(master = %addr, offset = self.log.max_offset(), "connected to the master for HA");
        let (reader, writer) = stream.into_split();
        let (progress, reports) = watch::channel(self.log.max_offset());
        tokio::select! {
            r = self.apply_frames(reader, progress) => r,
            r = self.report(writer, reports) => r,
        }
    }

    /// Sends this log's end at once, whenever it grows, and every heartbeat interval.
    async fn report(&self, writer: OwnedWriteHalf, progress: watch::Receiver<i64>) -> String {
        report_loop(
            writer,
            progress,
            self.settings.heartbeat,
            &self.status,
            |end| encode_report(end).to_vec(),
        )
        .await
    }

    /// Reads frames and appends them until the master goes quiet, closes, or sends a frame
    /// that does not continue this log.
    async fn apply_frames(
        &self,
        mut reader: OwnedReadHalf,
        progress: watch::Sender<i64>,
    ) -> String {
        let mut body = Vec::new();
        let (mut window_start, mut window_bytes) = (std::time::Instant::now(), 0i64);
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
            let header = match TransferHeader::decode(&head) {
                Ok(h) => h,
                Err(e) => return e.to_string(),
            };
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
            {
                let mut status = self.status_mut();
                status.last_read_ms = now_ms();
                status.received += header.size as u64;
            }
            if header.size == 0 {
                continue;
            }
            match self.log.append_at(header.offset, &body) {
                Ok(new_end) => {
                    progress.send_replace(new_end);
                }
                Err(e) => return format!("append failed: {e}"),
            }
            window_bytes += i64::try_from(header.size).unwrap_or(i64::MAX);
            if window_start.elapsed().as_secs() >= 1 {
                self.status_mut().bytes_per_second = window_bytes;
                (window_start, window_bytes) = (std::time::Instant::now(), 0);
            }
        }
    }
}
