//! Which brokers are alive, by their heartbeats (BROKER_HEARTBEAT, 904). Every controller keeps
//! its own table (brokers beat to all of them), so a newly elected leader already knows who is
//! alive. A broker is alive while its last beat is younger than the timeout it announced; its
//! connection closing ends it at once.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use apogee_remoting::ConnectionId;

use crate::BrokerId;
use crate::decide::{Heartbeat, Liveness};

/// A broker's timeout when it announces none (Java's default `controllerHeartBeatTimeoutMills`).
pub const DEFAULT_TIMEOUT_MS: i64 = 10_000;

/// What one heartbeat says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beat {
    pub cluster: String,
    pub broker_name: String,
    pub broker_id: BrokerId,
    pub address: String,
    pub epoch: i32,
    pub max_offset: i64,
    pub confirm_offset: i64,
    pub timeout_ms: i64,
    pub election_priority: i32,
}

#[derive(Debug, Clone)]
struct Entry {
    beat: Beat,
    last_ms: i64,
    connection: Option<ConnectionId>,
}

/// A broker that stopped being alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gone {
    pub broker_name: String,
    pub broker_id: BrokerId,
}

/// The heartbeat table, keyed by (broker name, id).
#[derive(Default)]
pub struct LiveTable {
    entries: Mutex<BTreeMap<(String, BrokerId), Entry>>,
}

/// The table as seen at one instant (what `decide` asks about).
pub struct LiveAt<'a> {
    table: &'a LiveTable,
    now_ms: i64,
}

impl LiveTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, BrokerId), Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a beat. The latest report counts (RocketMQ keeps the highest epoch and offset
    /// ever reported, so a broker that truncated its log keeps looking longer than it is).
    pub fn beat(&self, beat: Beat, now_ms: i64, connection: Option<ConnectionId>) {
        let key = (beat.broker_name.clone(), beat.broker_id);
        self.lock().insert(
            key,
            Entry {
                beat,
                last_ms: now_ms,
                connection,
            },
        );
    }

    pub fn at(&self, now_ms: i64) -> LiveAt<'_> {
        LiveAt {
            table: self,
            now_ms,
        }
    }

    /// The last beat of a broker, if it is alive.
    pub fn alive(&self, broker_name: &str, broker_id: BrokerId, now_ms: i64) -> Option<Beat> {
        self.lock()
            .get(&(broker_name.to_owned(), broker_id))
            .filter(|e| now_ms - e.last_ms <= e.beat.timeout_ms)
            .map(|e| e.beat.clone())
    }

    /// Drops brokers past their timeout.
    pub fn expire(&self, now_ms: i64) -> Vec<Gone> {
        self.remove_where(|e| now_ms - e.last_ms > e.beat.timeout_ms)
    }

    /// Drops the brokers that beat over a connection that closed.
    pub fn connection_closed(&self, connection: ConnectionId) -> Vec<Gone> {
        self.remove_where(|e| e.connection == Some(connection))
    }

    fn remove_where(&self, gone: impl Fn(&Entry) -> bool) -> Vec<Gone> {
        let mut entries = self.lock();
        let keys: Vec<_> = entries
            .iter()
            .filter(|(_, e)| gone(e))
            .map(|(k, _)| k.clone())
            .collect();
        keys.into_iter()
            .inspect(|k| {
                entries.remove(k);
            })
            .map(|(broker_name, broker_id)| Gone {
                broker_name,
                broker_id,
            })
            .collect()
    }
}

impl Liveness for LiveAt<'_> {
    fn heartbeat(&self, broker_name: &str, broker_id: BrokerId) -> Option<Heartbeat> {
        self.table
            .alive(broker_name, broker_id, self.now_ms)
            .map(|b| Heartbeat {
                epoch: b.epoch,
                max_offset: b.max_offset,
                election_priority: b.election_priority,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(id: BrokerId, timeout_ms: i64) -> Beat {
        Beat {
            cluster: "c".into(),
            broker_name: "b".into(),
            broker_id: id,
            address: format!("10.0.0.{id}:10911"),
            epoch: 1,
            max_offset: 100,
            confirm_offset: 100,
            timeout_ms,
            election_priority: 0,
        }
    }

    #[test]
    fn given_beats_should_be_alive_until_each_own_timeout() {
        let table = LiveTable::default();
        table.beat(beat(1, 1000), 0, None);
        table.beat(beat(2, 3000), 0, None);
        assert!(table.at(1000).heartbeat("b", 1).is_some());
        assert!(table.at(1001).heartbeat("b", 1).is_none());
        assert!(table.at(1001).heartbeat("b", 2).is_some());
        let gone = table.expire(2000);
        assert_eq!(
            gone,
            vec![Gone {
                broker_name: "b".into(),
                broker_id: 1
            }]
        );
        assert!(table.alive("b", 2, 2000).is_some());
    }

    #[test]
    fn given_closed_connection_should_drop_its_brokers_at_once() {
        let table = LiveTable::default();
        let conn = 7;
        table.beat(beat(1, 10_000), 0, Some(conn));
        table.beat(beat(2, 10_000), 0, Some(8));
        assert_eq!(table.connection_closed(conn).len(), 1);
        assert!(table.alive("b", 1, 1).is_none());
        assert!(table.alive("b", 2, 1).is_some());
    }
}
