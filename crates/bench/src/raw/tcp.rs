//! Loopback TCP echo. A server task echoes every byte it reads; each client connection
//! writes frames of `size` bytes through a buffered writer, with at most `in_flight` frames
//! not yet echoed (a semaphore the reader refills), and counts whole frames coming back.
//!
//! ```text
//!  writer ─ frames (window in_flight) ─► echo server ─► reader ─ permits ─┐
//!    ▲                                                                    │
//!    └────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Frames go both ways in full, so the loopback carries twice the reported MB/s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apogee_runtime::Shutdown;
use serde_json::{Map, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::config::{IN_FLIGHT_MAX, Limit, MESSAGE_BYTES_MAX, TASKS_MAX, check_range};
use crate::error::{BenchError, Result};
use crate::pacing::share;
use crate::progress::{Follow, Progress};
use crate::report::Report;
use crate::stats::{Counters, ErrorTally, Throughput};

const BUFFER_BYTES: usize = 64 * 1024;
/// Longest a connection may go without progress before it is given up.
const STALL: Duration = Duration::from_secs(30);

/// A loopback echo run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConfig {
    /// Bytes per frame.
    pub size: usize,
    pub connections: usize,
    /// Frames written but not yet echoed, per connection.
    pub in_flight: usize,
    pub limit: Limit,
    pub progress: bool,
}

impl Default for TcpConfig {
    fn default() -> Self {
        Self {
            size: 1024,
            connections: 4,
            in_flight: 32,
            limit: Limit::default(),
            progress: false,
        }
    }
}

impl TcpConfig {
    pub fn validate(&self) -> Result<()> {
        check_range("--size", self.size, 1, MESSAGE_BYTES_MAX)?;
        check_range("--connections", self.connections, 1, TASKS_MAX)?;
        check_range("--in-flight", self.in_flight, 1, IN_FLIGHT_MAX)?;
        if self.limit.messages == Some(0) || self.limit.duration.is_some_and(|d| d.is_zero()) {
            return Err(BenchError::Config(
                "--messages and --duration must be positive".into(),
            ));
        }
        Ok(())
    }

    fn settings(&self) -> Map<String, serde_json::Value> {
        let mut map = Map::new();
        map.insert("size".into(), json!(self.size));
        map.insert("connections".into(), json!(self.connections));
        map.insert("in_flight".into(), json!(self.in_flight));
        if let Some(m) = self.limit.producer_messages() {
            map.insert("messages".into(), json!(m));
        }
        if let Some(d) = self.limit.duration {
            map.insert("duration_s".into(), json!(d.as_secs_f64()));
        }
        map
    }
}

/// Echoes frames over loopback TCP and reports frames per second.
pub async fn tcp(config: &TcpConfig, stop: Shutdown) -> Result<Report> {
    config.validate()?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| BenchError::io("binding a loopback port", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| BenchError::io("loopback address", e))?;
    let server = tokio::spawn(serve(listener));
    let counters = Arc::new(Counters::default());
    let total = config.limit.producer_messages();
    let progress = Progress::start(
        config.progress,
        total,
        Arc::clone(&counters),
        Follow::Received,
    );
    let start = Instant::now();
    let deadline = config.limit.duration.map(|d| start + d);
    let connections: Vec<_> = (0..config.connections)
        .map(|index| {
            let plan = Connection {
                size: config.size,
                in_flight: config.in_flight,
                quota: total.map(|t| share(t, config.connections, index)),
                deadline,
                stop: stop.clone(),
                counters: Arc::clone(&counters),
            };
            tokio::spawn(plan.run(addr))
        })
        .collect();
    let mut errors = ErrorTally::default();
    let mut frames = 0;
    for connection in connections {
        match connection.await {
            Ok(Ok(echoed)) => frames += echoed,
            Ok(Err(e)) => errors.add(format!("io {:?}", e.kind()), 1),
            Err(e) => errors.add(format!("connection task failed: {e}"), 1),
        }
    }
    let elapsed = start.elapsed();
    server.abort();
    progress.finish();
    let mut report = Report::new("raw-tcp", config.settings());
    report.elapsed_s = elapsed.as_secs_f64();
    report.sent = Some(Throughput::new(
        frames,
        frames * config.size as u64,
        elapsed,
    ));
    report.add_errors(&errors);
    report
        .notes
        .push("each frame is echoed back in full: loopback carries twice the MB/s shown".into());
    Ok(report)
}

/// Echoes every connection's bytes back until it half-closes.
async fn serve(listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let (mut r, mut w) = stream.into_split();
            let mut buf = vec![0u8; BUFFER_BYTES];
            loop {
                match r.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if w.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = w.shutdown().await;
        });
    }
}

/// One client connection's share of the run.
struct Connection {
    size: usize,
    in_flight: usize,
    quota: Option<u64>,
    deadline: Option<Instant>,
    stop: Shutdown,
    counters: Arc<Counters>,
}

impl Connection {
    /// Returns the frames echoed back.
    async fn run(self, addr: std::net::SocketAddr) -> std::io::Result<u64> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        let window = Arc::new(Semaphore::new(self.in_flight));
        let reader = tokio::spawn(read_echoes(
            r,
            Arc::clone(&window),
            self.size,
            Arc::clone(&self.counters),
        ));
        let written = self.write_frames(w, &window).await;
        let echoed = reader
            .await
            .map_err(|e| std::io::Error::other(format!("reader task: {e}")))??;
        written?;
        Ok(echoed)
    }

    async fn write_frames(&self, w: OwnedWriteHalf, window: &Semaphore) -> std::io::Result<()> {
        let mut out = BufWriter::with_capacity(BUFFER_BYTES, w);
        let frame = vec![7u8; self.size];
        let mut sent = 0u64;
        while self.quota.is_none_or(|q| sent < q)
            && !self.stop.is_triggered()
            && self.deadline.is_none_or(|d| Instant::now() < d)
        {
            match window.try_acquire() {
                Ok(permit) => permit.forget(),
                Err(_) => {
                    // Window full: push out what is buffered, then wait for echoes.
                    out.flush().await?;
                    match tokio::time::timeout(STALL, window.acquire()).await {
                        Ok(Ok(permit)) => permit.forget(),
                        _ => return Err(stalled()),
                    }
                }
            }
            out.write_all(&frame).await?;
            sent += 1;
        }
        // Flushes, then half-closes: the server echoes the rest and closes, ending the reader.
        out.shutdown().await
    }
}

/// Counts whole frames echoed back and reopens the window for them. Ends at EOF.
async fn read_echoes(
    mut r: OwnedReadHalf,
    window: Arc<Semaphore>,
    size: usize,
    counters: Arc<Counters>,
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; BUFFER_BYTES];
    let (mut bytes, mut frames) = (0u64, 0u64);
    loop {
        let n = match tokio::time::timeout(STALL, r.read(&mut buf)).await {
            Ok(read) => read?,
            Err(_) => return Err(stalled()),
        };
        if n == 0 {
            return Ok(frames);
        }
        bytes += n as u64;
        let done = bytes / size as u64 - frames;
        if done > 0 {
            frames += done;
            window.add_permits(done as usize);
            counters.add_received(done, done * size as u64);
        }
    }
}

fn stalled() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("no progress for {STALL:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn given_frames_when_echoed_should_count_every_frame_once() {
        let config = TcpConfig {
            size: 1000,
            connections: 3,
            in_flight: 4,
            limit: Limit::messages(3001),
            progress: false,
        };
        let report = tokio::time::timeout(Duration::from_secs(30), tcp(&config, Shutdown::new()))
            .await
            .unwrap()
            .unwrap();
        let sent = report.sent.unwrap();
        assert_eq!(sent.messages, 3001);
        assert_eq!(sent.bytes, 3_001_000);
        assert_eq!(report.error_total, 0);
    }

    #[tokio::test]
    async fn given_stop_signal_should_end_a_duration_run() {
        let config = TcpConfig {
            size: 64,
            limit: Limit::duration(Duration::from_secs(3600)),
            ..TcpConfig::default()
        };
        let stop = Shutdown::new();
        stop.trigger();
        let report = tokio::time::timeout(Duration::from_secs(30), tcp(&config, stop))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(report.sent.unwrap().messages, 0);
    }

    #[test]
    fn given_bad_settings_should_refuse() {
        let config = TcpConfig {
            connections: 0,
            ..TcpConfig::default()
        };
        assert!(config.validate().is_err());
    }
}
