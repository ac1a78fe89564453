//! `config/timercheck`: RocketMQ's `TimerCheckpoint`, 56 bytes big-endian:
//!
//! ```text
//! i64 last read time · i64 timerlog flush position · i64 timer queue offset ·
//! i64 master timer queue offset · i64 state version · i64 timestamp · i64 counter
//! ```
//!
//! Apogee's meaning of the first field is exact: every timer in the log before the flush
//! position due before it has been delivered, durably. The file is replaced atomically (a
//! temporary file, fsync, rename), never written in place.

use std::io;
use std::path::{Path, PathBuf};

/// Bytes of the encoded checkpoint.
pub const CHECKPOINT_BYTES: usize = 56;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerCheckpoint {
    /// Timers due before this were delivered.
    pub last_read_time_ms: i64,
    /// The timerlog is durable up to here.
    pub last_timer_log_flush_pos: i64,
    /// Next offset of `rmq_sys_wheel_timer` queue 0 to enqueue.
    pub last_timer_queue_offset: i64,
    /// A slave's view of its master's queue offset (kept for the layout).
    pub master_timer_queue_offset: i64,
    pub state_version: i64,
    pub timestamp: i64,
    pub counter: i64,
}

impl TimerCheckpoint {
    pub fn encode(&self) -> [u8; CHECKPOINT_BYTES] {
        let mut out = [0u8; CHECKPOINT_BYTES];
        let fields = [
            self.last_read_time_ms,
            self.last_timer_log_flush_pos,
            self.last_timer_queue_offset,
            self.master_timer_queue_offset,
            self.state_version,
            self.timestamp,
            self.counter,
        ];
        for (chunk, value) in out.chunks_exact_mut(8).zip(fields) {
            chunk.copy_from_slice(&value.to_be_bytes());
        }
        out
    }

    /// Reads the 32-byte (older) or 56-byte form; `None` when shorter.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < 32 {
            return None;
        }
        let at = |i: usize| {
            bytes
                .get(i * 8..i * 8 + 8)
                .and_then(|b| b.try_into().ok())
                .map_or(0, i64::from_be_bytes)
        };
        Some(Self {
            last_read_time_ms: at(0),
            last_timer_log_flush_pos: at(1),
            last_timer_queue_offset: at(2),
            master_timer_queue_offset: at(3),
            state_version: at(4),
            timestamp: at(5),
            counter: at(6),
        })
    }
}

/// Where the checkpoint lives.
pub struct CheckpointFile {
    path: PathBuf,
}

impl CheckpointFile {
    pub fn new(config_dir: &Path) -> Self {
        Self {
            path: config_dir.join("timercheck"),
        }
    }

    /// The saved checkpoint; the default (nothing delivered, nothing enqueued) when absent.
    /// An unreadable file is an error: starting from zero would deliver every timer again.
    pub fn load(&self) -> io::Result<TimerCheckpoint> {
        match std::fs::read(&self.path) {
            Ok(bytes) => TimerCheckpoint::decode(&bytes).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} is {} bytes, not a timer checkpoint",
                        self.path.display(),
                        bytes.len()
                    ),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(TimerCheckpoint::default()),
            Err(e) => Err(e),
        }
    }

    /// Replaces the file atomically and durably.
    pub fn save(&self, checkpoint: &TimerCheckpoint) -> io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("tmp");
        {
            let file = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut &file, &checkpoint.encode())?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_checkpoint_should_round_trip_through_the_file_and_read_the_short_form() {
        let dir = tempfile::tempdir().unwrap();
        let file = CheckpointFile::new(dir.path());
        assert_eq!(file.load().unwrap(), TimerCheckpoint::default());
        let cp = TimerCheckpoint {
            last_read_time_ms: 5,
            last_timer_log_flush_pos: 104,
            last_timer_queue_offset: 2,
            counter: 9,
            ..TimerCheckpoint::default()
        };
        file.save(&cp).unwrap();
        assert_eq!(file.load().unwrap(), cp);
        let short = TimerCheckpoint::decode(&cp.encode()[..32]).unwrap();
        assert_eq!(short.last_timer_queue_offset, 2);
        assert_eq!(short.counter, 0);
        std::fs::write(dir.path().join("timercheck"), b"bad").unwrap();
        assert!(file.load().is_err());
    }
}
