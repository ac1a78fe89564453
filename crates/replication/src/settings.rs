//! The HA knobs, with Java's names and defaults (docs/ha-facts.md §6).

use std::time::Duration;

/// How the HA connections behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HaSettings {
    /// The slave's report period and the master's idle heartbeat (`haSendHeartbeatInterval`).
    pub heartbeat: Duration,
    /// A peer silent this long is dropped (`haHousekeepingInterval`).
    pub housekeeping: Duration,
    /// Most CommitLog bytes per frame (`haTransferBatchSize`).
    pub batch_bytes: usize,
    /// A SYNC_MASTER answers SLAVE_NOT_AVAILABLE when no slave is within this many bytes
    /// (`haSlaveFallbehindMax`).
    pub fallbehind_max: i64,
    /// How long a SYNC_MASTER send waits for a slave (`slaveTimeout`).
    pub slave_timeout: Duration,
    /// A slave's pause between connection attempts (Java: 5 s, fixed).
    pub reconnect: Duration,
    /// How long a master's writer, woken by an append while its slave is caught up, waits
    /// for more appends before sending: one frame then carries many messages instead of one
    /// (Java's writer polls every 100 ms unless a SYNC_MASTER send wakes it). Zero sends at
    /// once.
    pub linger: Duration,
}

impl Default for HaSettings {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_millis(5000),
            housekeeping: Duration::from_millis(20_000),
            batch_bytes: 32 * 1024,
            fallbehind_max: 256 * 1024 * 1024,
            slave_timeout: Duration::from_millis(3000),
            reconnect: Duration::from_millis(1000),
            linger: Duration::ZERO,
        }
    }
}
